"""The Train page in a real Chromium: Play streams the loss, Pause stops it, Step adds one epoch,
Reset returns to the same initial weights, and a divergent learning rate stops with an explanation.

What is read is what the learner sees: the Epoch/State metrics, the loss chart's curves and the
learned kernel's grid (what the canvas components report they drew).
"""

from __future__ import annotations

import numpy as np
import pytest
from browser_helpers import (
    APP_COLD_MS,
    COMPONENT_DATA_JS,
    expect_no_exception,
    grid_view_values,
    key_class,
    keyed,
    loss_curves,
    metric_value,
    set_number,
    wait_for_chart,
    wait_for_grid_view,
    wait_until,
    watch,
)
from playwright.sync_api import Page, expect

PAUSED_WINDOW_MS = 1_000  # 20 ticks of the page's 50 ms timer: long enough to see a stray epoch

# Points of the current run's curve (the loss chart's last run), -1 before the chart is drawn.
_CURVE_POINTS_JS = f"""() => {{
  const data = ({COMPONENT_DATA_JS})(["{key_class("tr.loss_chart")}", "canvas.lc-canvas"]);
  return data && data.points !== undefined ? Number(data.points) : -1;
}}"""


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


def open_train(page: Page, url: str) -> None:
    page.goto(f"{url}/train")
    wait_for_chart(page, "tr.landscape", APP_COLD_MS)
    wait_until(page, f"() => ({_CURVE_POINTS_JS})() === 0", what="the empty loss chart")
    expect(metric_value(page, "State")).to_have_text("ready")
    expect_no_exception(page)


def click(page: Page, key: str) -> None:
    keyed(page, key).get_by_role("button").click()


def test_play_pause_step_reset(page: Page, app_url: str) -> None:
    open_train(page, app_url)
    wait_until(page, f"() => ({COMPONENT_DATA_JS})(['{key_class('tr.learned')}', 'canvas.gv-canvas'])",
               what="the learned kernel")
    initial = grid_view_values(page, "tr.learned")
    assert initial is not None and initial.shape == (1, 2)  # the lesson's 1x2 kernel, from the seeded start
    set_number(page, "tr.epochs", 5000)  # so Play keeps running while we watch
    expect(keyed(page, "tr.epochs").locator("input")).to_have_value("5000")

    click(page, "tr.play")
    expect(metric_value(page, "State")).to_have_text("training…")
    wait_until(page, f"() => ({_CURVE_POINTS_JS})() >= 3", what="the loss curve to gain points")
    first = curve_points(page)
    wait_until(page, f"() => ({_CURVE_POINTS_JS})() >= {first + 3}", what="the loss curve to keep growing")

    click(page, "tr.pause")
    expect(metric_value(page, "State")).to_have_text("paused")
    paused_at = epoch(page)
    wait_for_points(page, paused_at)
    seen = watch(page, _CURVE_POINTS_JS, duration_ms=PAUSED_WINDOW_MS)
    assert seen == [paused_at], f"the paused curve changed: {seen}"
    expect(metric_value(page, "Epoch")).to_have_text(str(paused_at))

    click(page, "tr.step")
    expect(metric_value(page, "Epoch")).to_have_text(str(paused_at + 1))
    wait_for_points(page, paused_at + 1)
    last_line = page.get_by_test_id("stCode").filter(has_text="epoch ").inner_text().splitlines()[-1]
    assert last_line.startswith(f"epoch {paused_at + 1}, loss "), last_line
    seen = watch(page, _CURVE_POINTS_JS, duration_ms=PAUSED_WINDOW_MS / 2)
    assert seen == [paused_at + 1], f"Step ran more than one epoch: {seen}"

    click(page, "tr.reset")
    expect(metric_value(page, "Epoch")).to_have_text("0")
    expect(metric_value(page, "State")).to_have_text("ready")
    wait_for_grid_view(page, "tr.learned", initial, atol=0)
    # The finished run stays on the chart, faded, to compare with; the new one has no points yet.
    curves = loss_curves(page)
    assert curves is not None and len(curves) == 2 and len(curves[0]["x"]) == paused_at + 1
    assert curve_points(page) == 0
    expect_no_exception(page)


def test_a_divergent_learning_rate_stops_with_an_explanation(page: Page, app_url: str) -> None:
    open_train(page, app_url)
    set_number(page, "tr.epochs", 1000)
    expect(keyed(page, "tr.epochs").locator("input")).to_have_value("1000")
    slider = keyed(page, "tr.lr").get_by_role("slider")
    slider.focus()
    slider.press("End")  # the largest learning rate on the log scale
    expect(slider).to_have_attribute("aria-valuetext", "10")

    click(page, "tr.play")
    alert = page.get_by_test_id("stAlert").filter(has_text="Training diverged")
    expect(alert).to_contain_text("The learning rate 10 is too large")
    expect(metric_value(page, "State")).to_have_text("diverged")
    expect(metric_value(page, "Loss")).to_have_text("—")
    curves = loss_curves(page) or []
    losses = np.array([y for c in curves for y in c["y"]], dtype=np.float64)
    assert losses.size > 0 and np.isfinite(losses).all(), f"the loss chart holds {losses}"
    assert curve_points(page) < 1000  # it stopped on its own
    expect_no_exception(page)
