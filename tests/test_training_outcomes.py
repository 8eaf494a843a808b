"""The predict-first question's answers (convlab.outcomes): what a run does, told with its numbers."""

from __future__ import annotations

import numpy as np
import pytest

from convlab.images import image_preset
from convlab.kernels import kernel_preset
from convlab.ops import corr2d
from convlab.outcomes import CRAWL_FRACTION, OUTCOMES, feedback, outcome
from convlab.training import KernelTrainer, TrainConfig

X = image_preset("stripes")
Y = corr2d(X, kernel_preset("edge"))


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        # The issue: at the lesson's settings momentum oscillates, Adam barely moves, the mean loss crawls.
        ({}, "smooth"),
        ({"optimizer": "momentum"}, "zigzag"),
        ({"optimizer": "adam"}, "crawl"),
        ({"loss": "mean"}, "crawl"),
        ({"lr": 0.1}, "diverge"),
        ({"bias": True}, "diverge"),
    ],
)
def test_the_lessons_settings_do_what_the_issue_says(options, kind):
    for seed in range(3):
        assert outcome(X, Y, TrainConfig(seed=seed, **options)).kind == kind


def test_the_outcome_is_read_off_the_real_run():
    config = TrainConfig(optimizer="momentum")
    o = outcome(X, Y, config)
    trainer = KernelTrainer(X, Y, config)
    losses = [trainer.step().loss for _ in range(10)]
    assert o.losses == tuple(losses) and o.final == trainer.loss()
    rises = [k + 1 for k in range(1, 10) if losses[k] > losses[k - 1]]
    assert o.rises == rises and rises  # epochs (1-based) whose loss rose
    mean = outcome(X, Y, TrainConfig(loss="mean"))
    assert not mean.rises and mean.fraction > CRAWL_FRACTION
    assert outcome(X, Y, TrainConfig(epochs=5000)).epochs == 100  # a long budget: its first 100 epochs


def test_feedback_explains_with_curvature_and_step_size():
    config = TrainConfig(optimizer="adam")
    o = outcome(X, Y, config)
    right, text = feedback(o, "crawl", config)
    assert right and text.startswith("Yes — the loss fell at every epoch, to ")
    assert "every weight moves by about lr = 0.03 per epoch" in text
    right, text = feedback(o, "smooth", config)
    assert not right and text.startswith("Not this time: “it falls at every epoch, quickly” did not happen")

    mean = TrainConfig(loss="mean")
    _, text = feedback(outcome(X, Y, mean), "smooth", mean)
    assert "by the 42 output cells: the steepest curvature is 60/42 = 1.43" in text

    _, text = feedback(outcome(X, Y, TrainConfig()), "zigzag", TrainConfig())
    assert "1 − lr·λmax = -0.8" in text and "1 − lr·λ = 0.64" in text  # 1 − 0.03·60, 1 − 0.03·12

    momentum = TrainConfig(optimizer="momentum")
    _, text = feedback(outcome(X, Y, momentum), "smooth", momentum)
    assert "the loss rose at epochs" in text and "√0.9 ≈ 0.95" in text

    fast = TrainConfig(lr=0.1)
    _, text = feedback(outcome(X, Y, fast), "smooth", fast)
    assert "the run stopped at epoch 4" in text and "lr 0.1 is above 0.0333" in text

    valley = TrainConfig()
    XT = X.T.copy()
    _, text = feedback(outcome(XT, corr2d(XT, kernel_preset("edge")), valley), "diverge", valley)
    assert "the curvature is 0: the loss is a valley there" in text


def test_every_prediction_gets_an_answer_and_nonsense_is_refused():
    o = outcome(X, Y, TrainConfig())
    answers = {p: feedback(o, p, TrainConfig()) for p in OUTCOMES}
    assert [p for p, (right, _) in answers.items() if right] == ["smooth"]
    assert len({text.split(" — ")[0] for _, text in answers.values()}) == len(OUTCOMES)  # per-answer
    with pytest.raises(ValueError, match="unknown prediction 'fast'"):
        feedback(o, "fast", TrainConfig())


def test_a_flat_input_neither_moves_nor_fails():
    flat = np.zeros((4, 4))
    o = outcome(flat, np.zeros((4, 3)), TrainConfig())
    assert o.kind in OUTCOMES and o.stability.limit is None
    assert "the loss stayed at 0: no step changed it" in feedback(o, "smooth", TrainConfig())[1]
