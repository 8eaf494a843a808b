"""The Train page in a real Chromium: Play streams the loss, Pause stops it, Step adds one epoch,
Reset returns to the same initial weights, a divergent learning rate stops with an explanation, and the
targets (a hidden preset, a typed kernel, a painted output) are what the grids show.

What is read is what the learner sees: the Epoch/Loss/State metrics, the printout, the loss chart's
curves (what its canvas reports it drew) and the numbers each grid drew.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from browser_helpers import (
    APP_COLD_MS,
    LOSS_DATA_JS,
    click_button,
    click_cell,
    drag,
    expect_no_exception,
    grid,
    grid_values,
    loss_curves,
    metric_value,
    revealed,
    set_number,
    wait_for_acknowledged,
    wait_for_grid,
    wait_for_script_end,
    wait_until,
    watch,
)
from playwright.sync_api import Page, expect

from convlab import corr2d
from convlab.images import image_preset
from convlab.kernels import kernel_preset

PAUSED_WINDOW_MS = 1_000  # 10 ticks of the page's 100 ms timer: long enough to see a stray epoch
STRIPES = image_preset("stripes")
EDGE = kernel_preset("edge")

# Points of the current run's curve (the loss chart's last run), -1 before the chart is drawn.
_CURVE_POINTS_JS = f"() => {{ const d = ({LOSS_DATA_JS})(); return d ? Number(d.points) : -1; }}"


@pytest.fixture
def page(tab: Page) -> Page:
    """The tests here share one browser context (conftest's `tabs`), a tab each."""
    return tab


def curve_points(page: Page) -> int:
    return page.evaluate(_CURVE_POINTS_JS)


def wait_for_points(page: Page, n: int) -> None:
    wait_until(page, f"() => ({_CURVE_POINTS_JS})() === {n}", what=f"the loss curve to have {n} points")


def epoch(page: Page) -> int:
    return int(metric_value(page, "Epoch").inner_text())


def printout(page: Page) -> list[str]:
    return page.locator("pre.cl-printout").filter(has_text="epoch ").inner_text().strip().splitlines()


def open_train(page: Page, url: str) -> None:
    page.goto(f"{url}/train")
    wait_for_grid(page, "tr.pred", timeout_ms=APP_COLD_MS)
    wait_until(page, f"() => ({_CURVE_POINTS_JS})() === 0", what="the empty loss chart")
    expect(metric_value(page, "State")).to_have_text("ready")
    wait_for_script_end(page)
    expect_no_exception(page)


def test_play_pause_step_reset(page: Page, app_url: str) -> None:
    open_train(page, app_url)
    initial = wait_for_grid(page, "tr.learned")
    assert initial.shape == (1, 2)  # the lesson's 1x2 kernel, from the seeded start
    set_number(page, "tr.epochs", 5000)  # so Play keeps running while we watch
    expect(page.get_by_test_id("stPopover").filter(has_text=" · lr ")).to_contain_text("5000 epochs")
    wait_for_script_end(page)
    initial = wait_for_grid(page, "tr.learned", initial)

    click_button(page, "tr.play")
    expect(metric_value(page, "State")).to_have_text("training…")
    wait_until(page, f"() => ({_CURVE_POINTS_JS})() >= 3", what="the loss curve to gain points")
    first = curve_points(page)
    wait_until(page, f"() => ({_CURVE_POINTS_JS})() >= {first + 3}", what="the loss curve to keep growing")

    click_button(page, "tr.pause")
    expect(metric_value(page, "State")).to_have_text("paused")
    paused_at = epoch(page)
    wait_for_points(page, paused_at)
    seen = watch(page, _CURVE_POINTS_JS, duration_ms=PAUSED_WINDOW_MS)
    assert seen == [paused_at], f"the paused curve changed: {seen}"
    expect(metric_value(page, "Epoch")).to_have_text(str(paused_at))
    assert printout(page)[-1].startswith(f"epoch {paused_at}, loss ")

    click_button(page, "tr.step")
    expect(metric_value(page, "Epoch")).to_have_text(str(paused_at + 1))
    wait_for_points(page, paused_at + 1)
    last_line = printout(page)[-1]
    assert last_line.startswith(f"epoch {paused_at + 1}, loss "), last_line
    # The loss metric says the printout's last loss, labelled as the loss before that update (issues 8, 11).
    printed = float(last_line.rsplit(" ", 1)[1])
    shown = float(metric_value(page, f"Loss before update {paused_at + 1}").inner_text())
    assert abs(shown - printed) <= 1e-3 * max(1.0, abs(printed)), (shown, last_line)
    seen = watch(page, _CURVE_POINTS_JS, duration_ms=PAUSED_WINDOW_MS / 2)
    assert seen == [paused_at + 1], f"Step ran more than one epoch: {seen}"
    wait_for_grid(page, "tr.grad")  # the gradient of the last update is shown once there is one

    click_button(page, "tr.reset")
    expect(metric_value(page, "Epoch")).to_have_text("0")
    expect(metric_value(page, "State")).to_have_text("ready")
    wait_for_grid(page, "tr.learned", initial, atol=0)
    # The finished run stays on the chart, faded, to compare with; the new one has no points yet.
    wait_for_points(page, 0)
    curves = loss_curves(page)
    assert curves is not None and len(curves) == 2 and len(curves[0]["x"]) == paused_at + 1
    assert curves[0]["label"] != curves[1]["label"], "two runs with one label"
    expect_no_exception(page)


# Retried once: in 2 of 9 full browser runs on 2 Dec (never alone, nor in 12 scripted Play/Pause
# rounds under CPU load), the page went empty a moment after Pause, with no error in the server's log;
# a failing try prints the page's own errors (browser_helpers.page_in) for whoever takes it up.
@pytest.mark.flaky(reruns=1)
def test_the_chart_animates_between_server_ticks(page: Page, app_url: str) -> None:
    open_train(page, app_url)
    set_number(page, "tr.epochs", 100_000)
    expect(page.get_by_test_id("stPopover").filter(has_text=" · lr ")).to_contain_text("100000 epochs")
    wait_for_script_end(page)
    with revealed(page, "tr.speed") as speed:
        slider = speed.get_by_role("slider")
        slider.focus()
        slider.press("End")  # 1000 epochs/s
        expect(slider).to_have_attribute("aria-valuetext", "1000 epochs/s")
        wait_for_script_end(page)
    click_button(page, "tr.play")
    wait_until(page, f"() => ({_CURVE_POINTS_JS})() >= 50", what="the run to be under way")
    # Sampled in the page for the 1.5 s being measured. A rerun of the page may mount the chart
    # afresh (its counters restart), so the counts are summed over the samples, not taken end to end.
    getter = f"() => {{ const d = ({LOSS_DATA_JS})(); return d && [+d.frames, +d.draws, +d.points]; }}"
    samples = [s for s in watch(page, getter, duration_ms=1_500) if s]
    click_button(page, "tr.pause")
    expect(metric_value(page, "State")).to_have_text("paused")
    frames = draws = points = 0
    for prev, cur in pairwise(samples):
        restarted = cur[0] < prev[0] or cur[1] < prev[1]
        frames += cur[0] if restarted else cur[0] - prev[0]
        draws += cur[1] if restarted else cur[1] - prev[1]
        points += max(cur[2] - prev[2], 0)
    # Epochs arrive in batches with each server tick and are drawn in frame by frame in between.
    assert frames > draws / 2 and frames >= 10, f"{frames} animation frames for {draws} draws in 1.5 s"
    assert points > 0, samples
    expect_no_exception(page)


def test_a_divergent_learning_rate_stops_with_an_explanation(page: Page, app_url: str) -> None:
    open_train(page, app_url)
    set_number(page, "tr.epochs", 1000)
    expect(page.get_by_test_id("stPopover").filter(has_text=" · lr ")).to_contain_text("1000 epochs")
    with revealed(page, "tr.lr") as lr:
        slider = lr.get_by_role("slider")
        slider.focus()
        slider.press("End")  # the largest learning rate on the log scale
        expect(slider).to_have_attribute("aria-valuetext", "10")
        wait_for_script_end(page)

    click_button(page, "tr.play")
    alert = page.get_by_test_id("stAlert").filter(has_text="Training diverged at epoch")
    expect(alert).to_contain_text("The learning rate 10 is too large")
    expect(metric_value(page, "State")).to_have_text("diverged")
    n = int(alert.inner_text().split("Training diverged at epoch ", 1)[1].split(":", 1)[0])
    # The metric, the printout and the alert name the same epoch (issue 8: 8 in the alert, 7 elsewhere).
    expect(metric_value(page, "Epoch")).to_have_text(str(n))
    assert printout(page)[-1].startswith(f"epoch {n}, loss "), printout(page)
    curves = loss_curves(page) or []
    losses = np.array([y for c in curves for y in c["y"]], dtype=np.float64)
    assert losses.size > 0 and np.isfinite(losses).all(), f"the loss chart holds {losses}"
    assert curve_points(page) < 1000  # it stopped on its own
    # No grid shows cells without numbers: every grid drawn holds finite numbers.
    for name in ("tr.learned", "tr.pred", "tr.grad"):
        if grid(page, name).count():
            assert np.isfinite(grid_values(page, name)).all(), name
    expect_no_exception(page)


def test_the_hidden_kernel_is_hidden_until_revealed(page: Page, app_url: str) -> None:
    open_train(page, app_url)
    wait_for_grid(page, "tr.target_fig", corr2d(STRIPES, EDGE))
    expect(grid(page, "tr.answer")).to_have_count(0)
    with revealed(page, "tr.reveal") as reveal:
        reveal.get_by_text("Reveal the hidden kernel").click()
        wait_for_grid(page, "tr.answer", EDGE)
        reveal.get_by_text("Reveal the hidden kernel").click()
        expect(grid(page, "tr.answer")).to_have_count(0)
    expect_no_exception(page)


def test_a_typed_kernel_makes_the_target(page: Page, app_url: str) -> None:
    open_train(page, app_url)
    with revealed(page, "tr.target") as target:
        target.get_by_text("A kernel I type in").click()
        wait_for_script_end(page)
    K = wait_for_grid(page, "tr.kedit")
    wait_for_grid(page, "tr.answer", K)  # a typed kernel is no secret
    click_cell(page, "tr.kedit", 0, 0)
    editor = grid(page, "tr.kedit").locator("input.cl-editor")
    expect(editor).to_be_visible()
    editor.fill("-2/3")
    editor.press("Enter")
    K = K.copy()
    K[0, 0] = -2 / 3
    wait_for_acknowledged(page, "tr.kedit")
    wait_for_grid(page, "tr.answer", K)
    X = wait_for_grid(page, "tr.paint_x")
    wait_for_grid(page, "tr.target_fig", corr2d(X, K), atol=1e-6)
    expect_no_exception(page)


def test_a_painted_target_is_learned_from(page: Page, app_url: str) -> None:
    open_train(page, app_url)
    with revealed(page, "tr.target") as target:
        target.get_by_text("A target output I paint").click()
        wait_for_script_end(page)
    Y = wait_for_grid(page, "tr.paint_y")
    wait_for_grid(page, "tr.target_fig", Y)
    wait_for_script_end(page)
    drag(page, "tr.paint_y", [(0, 0), (0, Y.shape[1] - 1)])  # brush 1 paints the top row
    Y = Y.copy()
    Y[0, :] = 1.0
    wait_for_acknowledged(page, "tr.paint_y")
    wait_for_grid(page, "tr.target_fig", Y)
    expect(grid(page, "tr.answer")).to_have_count(0)  # a painted target has no true kernel
    click_button(page, "tr.step")
    expect(metric_value(page, "Epoch")).to_have_text("1")
    wait_for_grid(page, "tr.target_fig", Y)
    expect_no_exception(page)
