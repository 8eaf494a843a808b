"""The Lesson page in a real Chromium shows the lesson's numbers: [[19, 25], [37, 43]], the 6x7 edge
map, all zeros for the transposed image once the learner has predicted, and ten "epoch i, loss x"
lines that match training the 1x2 kernel with lr 3e-2 in this process.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
from browser_helpers import (
    APP_COLD_MS,
    expect_no_exception,
    keyed,
    wait_for_chart,
    wait_for_trace_close,
)
from playwright.sync_api import Page, expect

from convlab import corr2d
from convlab.images import image_preset
from convlab.kernels import kernel_preset
from convlab.training import KernelTrainer, TrainConfig

STRIPES = image_preset("stripes")
EDGE = kernel_preset("edge")


def test_the_lessons_numbers(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/lesson")
    wait_for_chart(page, "l1.Y = corr2d(X, K)", APP_COLD_MS)

    # 1. The 3x3 example, as a heatmap and as text.
    wait_for_trace_close(page, keyed(page, "l1.Y = corr2d(X, K)"), [[19, 25], [37, 43]])
    expect(page.get_by_text("[[19, 25], [37, 43]]").first).to_be_visible()

    # 3. Edge detection on the stripes: the 6x7 map of +1 (white to black) and -1 (black to white).
    edges = np.zeros((6, 7))
    edges[:, 1], edges[:, 5] = 1.0, -1.0
    np.testing.assert_array_equal(corr2d(STRIPES, EDGE), edges)  # the lesson's printed tensor
    wait_for_trace_close(page, keyed(page, "l3.Y = corr2d(X, K)"), edges)

    # 4. The transposed image: nothing until the learner predicts, then all zeros.
    expect(page.get_by_text("Make a prediction to reveal the answer.")).to_be_visible()
    expect(keyed(page, "l4b.corr2d(X.T, K)")).to_have_count(0)
    keyed(page, "l4.guess").get_by_text("Nothing: all zeros").click()
    expect(page.get_by_text("Right!")).to_be_visible()
    wait_for_chart(page, "l4b.corr2d(X.T, K)")
    wait_for_trace_close(page, keyed(page, "l4b.corr2d(X.T, K)"), np.zeros((8, 5)))
    # ... and the transposed kernel finds the horizontal edges instead.
    wait_for_trace_close(page, keyed(page, "l4b.corr2d(X.T, K.T)"), corr2d(STRIPES.T, EDGE.T))

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
    expect_no_exception(page)
