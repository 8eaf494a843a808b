"""The Lesson page in a real Chromium shows the lesson's numbers: [[19, 25], [37, 43]], the 6x7 edge
map, all zeros for the transposed image once the learner has predicted, and ten "epoch i, loss x"
lines that match training the 1x2 kernel with lr 3e-2 in this process; "Open in the Playground"
opens that example there, and one Back press returns to the Lesson.
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
    wait_for_grid,
    wait_for_script_end,
)
from playwright.sync_api import Page, expect

from convlab import conv2d, corr2d
from convlab.images import image_preset
from convlab.kernels import kernel_preset
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


def test_the_lessons_numbers(page: Page, app_url: str) -> None:
    open_lesson(page, app_url)

    # 1. The 3x3 example, as grids and as text.
    wait_for_grid(page, "l1.X", LESSON_X)
    wait_for_grid(page, "l1.K", LESSON_K)
    expect(page.get_by_text("[[19, 25], [37, 43]]").first).to_be_visible()

    # 2. Convolution is correlation with the kernel turned by 180°.
    wait_for_grid(page, "l2.K flipped", LESSON_K[::-1, ::-1])
    wait_for_grid(page, "l2.corr2d(X, K)", corr2d(LESSON_X, LESSON_K))
    wait_for_grid(page, "l2.conv2d(X, K)", conv2d(LESSON_X, LESSON_K))

    # 3. Edge detection on the stripes: the 6x7 map of +1 (white to black) and -1 (black to white).
    edges = np.zeros((6, 7))
    edges[:, 1], edges[:, 5] = 1.0, -1.0
    np.testing.assert_array_equal(corr2d(STRIPES, EDGE), edges)  # the lesson's printed tensor
    wait_for_grid(page, "l3.X", STRIPES)
    wait_for_grid(page, "l3.Y = corr2d(X, K)", edges)

    # 4. The transposed image: nothing until the learner predicts, then all zeros.
    expect(page.get_by_text("Make a prediction to reveal the answer.")).to_be_visible()
    expect(grid(page, "l4b.corr2d(X.T, K)")).to_have_count(0)
    keyed(page, "l4.guess").get_by_text("Nothing: all zeros").click()
    expect(page.get_by_text("Right!")).to_be_visible()
    wait_for_grid(page, "l4b.corr2d(X.T, K)", np.zeros((8, 5)))
    # ... and the transposed kernel finds the horizontal edges instead.
    wait_for_grid(page, "l4b.corr2d(X.T, K.T)", corr2d(STRIPES.T, EDGE.T))

    # 5. Ten epochs of the lesson's training, printed the lesson's way.
    trainer = KernelTrainer(STRIPES, corr2d(STRIPES, EDGE), TrainConfig(seed=0, lr=3e-2, epochs=10))
    want = [f"epoch {i + 1}, loss {trainer.step().loss:.3f}" for i in range(10)]
    log = page.get_by_test_id("stCode").filter(has_text="epoch 1, loss")
    expect(log).to_have_count(1)
    lines = log.inner_text().strip().splitlines()
    assert all(re.fullmatch(r"epoch \d+, loss \d+\.\d{3}", line) for line in lines), lines
    assert lines == want
    losses = [float(line.rsplit(" ", 1)[1]) for line in lines]
    assert all(a > b for a, b in itertools.pairwise(losses)), "the loss falls every epoch"
    wait_for_grid(page, "l5.learned", trainer.weight, atol=1e-6)
    wait_for_grid(page, "l5.target [1, −1]", EDGE)
    expect_no_exception(page)


def test_open_in_the_playground_and_back(page: Page, app_url: str) -> None:
    # Issue 8: after "Open in the Playground" the browser's Back needed two presses.
    open_lesson(page, app_url)
    click_button(page, "l3.open")
    wait_for_grid(page, "pg.output", corr2d(STRIPES, EDGE))
    wait_for_grid(page, "pg.paint", STRIPES)
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    wait_for_script_end(page)
    # The Playground writes its share link into the address bar (replacing, not adding, entries).
    page.wait_for_function("() => location.search.includes('x=')")
    page.go_back()
    expect(page.get_by_role("heading", name="Convolutions for images")).to_be_visible()
    assert page.evaluate("() => location.pathname").endswith("/lesson")
    wait_for_grid(page, "l1.Y = corr2d(X, K)", [[19, 25], [37, 43]])
    expect_no_exception(page)

    # The first example opens with its own grids too.
    click_button(page, "l1.open")
    wait_for_grid(page, "pg.paint", LESSON_X)
    wait_for_grid(page, "pg.output", corr2d(LESSON_X, LESSON_K))
    expect_no_exception(page)


def test_train_it_yourself(page: Page, app_url: str) -> None:
    # Issue 8: "Train it yourself" logged a Session State warning; a finished run said "paused".
    open_lesson(page, app_url)
    click_button(page, "l5.open")
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
    log = page.get_by_test_id("stCode").filter(has_text="epoch 1, loss")
    assert log.inner_text().strip().splitlines() == want  # the lesson's own ten lines
    wait_for_grid(page, "tr.learned", trainer.weight, atol=1e-6)
    expect(page.get_by_text("Session State")).to_have_count(0)
    expect_no_exception(page)
