"""The Lesson page in a real Chromium shows the lesson's numbers: [[19, 25], [37, 43]], the 6x7 edge
map once predicted, all zeros for the transposed image once the learner has predicted, the notebook's
own printouts beside ConvLab's replay of them (its ten losses, its learned weights, its first example),
and no Plotly until the landscape is asked for; "Open in the Playground" opens that example there, and
one Back press returns to the Lesson.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from browser_helpers import (
    APP_COLD_MS,
    click_button,
    expect_no_exception,
    grid,
    keyed,
    metric_value,
    set_number,
    wait_for_chart,
    wait_for_grid,
    wait_for_script_end,
)
from playwright.sync_api import Page, expect

from convlab import conv2d, corr2d
from convlab.images import image_preset
from convlab.kernels import kernel_preset
from convlab.lesson import NOTEBOOK
from convlab.training import KernelTrainer, TrainConfig

STRIPES = image_preset("stripes")
EDGE = kernel_preset("edge")
LESSON_X = np.arange(9.0).reshape(3, 3)
LESSON_K = np.array([[0.0, 1.0], [2.0, 3.0]])


@pytest.fixture
def page(tab: Page) -> Page:
    return tab


def open_lesson(page: Page, url: str) -> None:
    page.goto(f"{url}/lesson")
    wait_for_grid(page, "l1.Y = corr2d(X, K)", [[19, 25], [37, 43]], timeout_ms=APP_COLD_MS)
    wait_for_script_end(page)
    expect_no_exception(page)


def predict(page: Page, key: str, answer: str) -> None:
    keyed(page, f"{key}.choices").get_by_role("button", name=answer, exact=True).click()
    expect(page.get_by_text("Right!").first).to_be_visible()


def go_step(page: Page, step: int) -> None:
    """Show a step of the lesson with its button in the stepper."""
    click_button(page, f"l.step{step}")
    expect(page.get_by_role("heading", level=2).first).to_contain_text(f"{step} · ")
    wait_for_script_end(page)


def test_the_lessons_numbers(page: Page, app_url: str) -> None:
    open_lesson(page, app_url)
    # The first screen is light: no Plotly chart anywhere until the landscape is asked for.
    assert page.locator(".js-plotly-plot").count() == 0

    # 1. The 3x3 example, as grids and as text.
    wait_for_grid(page, "l1.X", LESSON_X)
    wait_for_grid(page, "l1.K", LESSON_K)
    expect(page.get_by_text("[[19, 25], [37, 43]]").first).to_be_visible()
    go_step(page, 2)

    # 2. The notebook's first example, printed by the kernel ConvLab recovered, beside the notebook's text.
    first = page.locator("pre.cl-printout").filter(has_text="grad_fn=<AddBackward0>")
    expect(first).to_have_count(3)  # the notebook's, the replay, and the family's current kernel
    assert {t.strip() for t in first.all_inner_texts()} == {NOTEBOOK["first example"]}
    wait_for_grid(page, "l2.output", [[3.6293, 5.1562], [8.2101, 9.7370]], atol=5e-5)

    # 3. Convolution is correlation with the kernel turned by 180°.
    go_step(page, 3)
    set_number(page, "l3.guess", 5)
    expect(page.get_by_text("Right!").first).to_be_visible()
    wait_for_grid(page, "l3.K flipped", LESSON_K[::-1, ::-1])
    wait_for_grid(page, "l3.corr2d(X, K)", corr2d(LESSON_X, LESSON_K))
    wait_for_grid(page, "l3.conv2d(X, K)", conv2d(LESSON_X, LESSON_K))

    # 4. Edge detection on the stripes: predict, then the 6x7 map of +1 (white to black) and -1.
    edges = np.zeros((6, 7))
    edges[:, 1], edges[:, 5] = 1.0, -1.0
    np.testing.assert_array_equal(corr2d(STRIPES, EDGE), edges)  # the lesson's printed tensor
    go_step(page, 4)
    wait_for_grid(page, "l4a.X", STRIPES)
    expect(grid(page, "l4.Y = corr2d(X, K)")).to_have_count(0)
    predict(page, "l4.guess", "In columns 1 and 5: the two vertical edges")
    wait_for_grid(page, "l4.Y = corr2d(X, K)", edges)

    # 5. The transposed image: nothing until the learner predicts, then all zeros.
    go_step(page, 5)
    expect(grid(page, "l5b.corr2d(X.T, K)")).to_have_count(0)
    predict(page, "l5.guess", "Nothing: all zeros")
    wait_for_grid(page, "l5b.corr2d(X.T, K)", np.zeros((8, 5)))
    # ... and the transposed kernel finds the horizontal edges instead.
    wait_for_grid(page, "l5b.corr2d(X.T, K.T)", corr2d(STRIPES.T, EDGE.T))

    # 6. The notebook's ten epochs, replayed from the recovered start, beside the notebook's printout.
    go_step(page, 6)
    log = page.locator("pre.cl-printout").filter(has_text="epoch 1, loss 14.700")
    expect(log).to_have_count(2)
    for text in log.all_inner_texts():
        lines = text.strip().splitlines()
        assert all(re.fullmatch(r"epoch \d+, loss \d+\.\d{3}", line) for line in lines), lines
        assert "\n".join(lines) == NOTEBOOK["training"]
    weights = page.locator("pre.cl-printout").filter(has_text="tensor([[ 0.9524, -1.0302]])")
    expect(weights).to_have_count(2)
    wait_for_grid(page, "l6.target [1, −1]", EDGE)
    expect_no_exception(page)

    # Why learning works, and the landscape only when asked for.
    predict(page, "l6.guess", "At [1, −1]")
    assert page.locator(".js-plotly-plot").count() == 0
    keyed(page, "l6.landscape_on").locator("label").click()
    wait_for_chart(page, "l6.landscape", timeout_ms=APP_COLD_MS)
    expect(page.get_by_text("1 − 0.03·60 = −0.8")).to_be_visible()

    # Your own random start, in its tab: ten lines that match training with that seed in this process.
    page.get_by_role("tab", name="Your own random start").click()
    trainer = KernelTrainer(STRIPES, corr2d(STRIPES, EDGE), TrainConfig(seed=0, lr=3e-2, epochs=10))
    want = [f"epoch {i + 1}, loss {trainer.step().loss:.3f}" for i in range(10)]
    own = page.locator("pre.cl-printout").filter(has_text=want[0]).filter(has_not_text="14.700")
    expect(own).to_have_count(1)
    assert own.inner_text().strip().splitlines() == want
    losses = [float(line.rsplit(" ", 1)[1]) for line in want]
    assert all(a > b for a, b in itertools.pairwise(losses)), "the loss falls every epoch"
    wait_for_grid(page, "l6.own.learned", trainer.weight, atol=1e-6)
    expect_no_exception(page)


def test_open_in_the_playground_and_back(page: Page, app_url: str) -> None:
    # Issue 8: after "Open in the Playground" the browser's Back needed two presses.
    open_lesson(page, app_url)
    go_step(page, 4)
    predict(page, "l4.guess", "In columns 1 and 5: the two vertical edges")
    click_button(page, "l4.open")
    wait_for_grid(page, "pg.output", corr2d(STRIPES, EDGE))
    wait_for_grid(page, "pg.paint", STRIPES)
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    wait_for_script_end(page)
    # The Playground writes its share link into the address bar (replacing, not adding, entries).
    page.wait_for_function("() => location.search.includes('x=')")
    page.go_back()
    expect(page.get_by_role("heading", name="Convolutions for images")).to_be_visible()
    assert page.evaluate("() => location.pathname").endswith("/lesson")
    wait_for_grid(page, "l4.Y = corr2d(X, K)", corr2d(STRIPES, EDGE))  # back on the step left
    expect_no_exception(page)
    go_step(page, 1)

    # The first example opens with its own grids too.
    click_button(page, "l1.open")
    wait_for_grid(page, "pg.paint", LESSON_X)
    wait_for_grid(page, "pg.output", corr2d(LESSON_X, LESSON_K))
    expect_no_exception(page)


def test_train_it_yourself(page: Page, app_url: str) -> None:
    # Issue 8: "Train it yourself" logged a Session State warning; a finished run said "paused".
    open_lesson(page, app_url)
    go_step(page, 6)
    page.get_by_role("tab", name="Your own random start").click()
    click_button(page, "l6.open")
    expect(page.get_by_role("heading", name="Train a kernel")).to_be_visible()
    wait_for_grid(page, "tr.target_fig", corr2d(STRIPES, EDGE), timeout_ms=APP_COLD_MS)
    wait_for_script_end(page)
    expect(page.get_by_text("Session State")).to_have_count(0)
    expect(metric_value(page, "State")).to_have_text("ready")
    click_button(page, "tr.play")
    expect(metric_value(page, "State")).to_have_text("finished")
    expect(metric_value(page, "Epoch")).to_have_text("10")
    trainer = KernelTrainer(STRIPES, corr2d(STRIPES, EDGE), TrainConfig(seed=0, lr=3e-2, epochs=10))
    want = [f"epoch {i + 1}, loss {trainer.step().loss:.3f}" for i in range(10)]
    log = page.locator("pre.cl-printout").filter(has_text="epoch 1, loss")
    assert log.inner_text().strip().splitlines() == want  # the lesson's own ten lines
    wait_for_grid(page, "tr.learned", trainer.weight, atol=1e-6)
    expect(page.get_by_text("Session State")).to_have_count(0)
    expect_no_exception(page)


def test_next_at_the_end_of_a_step_shows_the_next_one(page: Page, app_url: str) -> None:
    open_lesson(page, app_url)
    page.mouse.wheel(0, 5000)  # to the end of step 1, where Next is
    click_button(page, "l.next")
    expect(page.get_by_role("heading", level=2).first).to_contain_text("2 · ")
    expect(page.get_by_role("heading", level=2).first).to_be_in_viewport()
    wait_for_grid(page, "l2.output", [[3.6293, 5.1562], [8.2101, 9.7370]], atol=5e-5)
    assert page.evaluate("() => location.search") == "?step=2"
    expect_no_exception(page)


def _heading(page: Page, step: int) -> None:
    expect(page.get_by_role("heading", level=2).first).to_contain_text(f"{step} · ")
    wait_for_script_end(page)


def test_back_and_forward_walk_the_steps(page: Page, app_url: str) -> None:
    open_lesson(page, app_url)
    predict(page, "l1.size", "6×7")  # progress goes into the link too (an entry of its own)
    for step in (2, 3):
        click_button(page, "l.next")
        _heading(page, step)
    page.go_back()
    _heading(page, 2)
    page.go_back()
    _heading(page, 1)
    page.go_back()  # the lesson's first entry, before the answer: still step 1, not the session's step
    _heading(page, 1)
    assert "step" not in page.evaluate("() => location.search")
    for step in (1, 2, 3):
        page.go_forward()
        _heading(page, step)
    # From another page the lesson opens on the step left, and writes it into the link (a reload keeps it).
    page.get_by_test_id("stTopNavLink").filter(has_text="Playground").click()
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    wait_for_script_end(page)
    page.get_by_test_id("stTopNavLink").filter(has_text="Lesson").click()
    _heading(page, 3)
    page.wait_for_function("() => location.search.includes('step=3')")
    click_button(page, "l.next")
    _heading(page, 4)
    page.go_back()
    _heading(page, 3)
    playground = page.get_by_role("heading", name="Playground")
    for _ in range(3):  # the entries of the arrival (its link rewritten) show step 3, then the Playground
        page.go_back()
        page.wait_for_timeout(300)
        wait_for_script_end(page)
        if playground.is_visible():
            break
        _heading(page, 3)
    expect(playground).to_be_visible()
    expect_no_exception(page)
