"""What a training run will do, for the Train page's predict-first question, and why.

`outcome` runs the settings for real (a few milliseconds: the runs are short and tiny) and names what
the loss did as one of OUTCOMES; `feedback` answers a learner's prediction with that fact and an
explanation in terms of curvature and step size, with this input's numbers (the loss's curvature is
known exactly: `convlab.training.stability`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from convlab.training import (
    ADAM_BETAS,
    MOMENTUM,
    OPTIMIZER_NAMES,
    KernelTrainer,
    Stability,
    TrainConfig,
    TrainingDiverged,
)

__all__ = ["CRAWL_FRACTION", "MAX_PREDICTED_EPOCHS", "OUTCOMES", "Outcome", "feedback", "outcome"]

# What the loss can do, as a learner would predict it; the keys are what `outcome` returns.
OUTCOMES = {
    "smooth": "It falls at every epoch, quickly",
    "zigzag": "It goes up and down on the way",
    "crawl": "It falls at every epoch, but slowly",
    "diverge": "It blows up: the run diverges",
}
# "Slowly": after the run, the loss is still above this fraction of where it started.
CRAWL_FRACTION = 0.25
MAX_PREDICTED_EPOCHS = 100  # a longer budget is predicted over its first 100 epochs


@dataclass(frozen=True)
class Outcome:
    """What a run did: `kind` (a key of OUTCOMES), the losses it printed and the loss it ended at."""

    kind: str
    losses: tuple[float, ...]  # each epoch's loss before its update, epoch 1 first
    final: float  # the loss after the last update (inf when the run diverged)
    epochs: int  # the epochs the prediction is about
    stability: Stability
    distance: float  # largest change of a weight (or the bias) from the start to the best fit
    diverged_at: int | None = None

    @property
    def fraction(self) -> float:
        """The final loss as a fraction of the first."""
        return self.final / self.losses[0] if self.losses and self.losses[0] > 0 else 0.0

    @property
    def rises(self) -> list[int]:
        """The epochs whose loss was higher than the epoch before."""
        return [k + 2 for k, (a, b) in enumerate(itertools.pairwise(self.losses)) if b > a]


def _best_fit_distance(X: np.ndarray, Y: np.ndarray, trainer: KernelTrainer) -> float:
    """Largest |best − start| over the weights (and the bias): how far the optimiser must travel."""
    shape = trainer.config.kernel_shape
    P = np.lib.stride_tricks.sliding_window_view(np.asarray(X, float), shape).reshape(-1, shape[0] * shape[1])
    start = trainer.initial_weight.ravel().astype(float)
    if trainer.config.bias:
        P = np.hstack([P, np.ones((P.shape[0], 1))])
        start = np.append(start, trainer.initial_bias)
    best, *_ = np.linalg.lstsq(P, np.asarray(Y, float).ravel(), rcond=None)
    return float(np.abs(best - start).max())


def outcome(X: np.ndarray, Y: np.ndarray, config: TrainConfig) -> Outcome:
    """Run `config` on X (H, W) and Y (H', W') for its epochs (at most MAX_PREDICTED_EPOCHS) and say
    what the loss did: diverge, zigzag (it rose at some epoch), crawl (it ended above CRAWL_FRACTION of
    its start) or smooth, checked in that order.

    Raises:
        ValueError: what KernelTrainer refuses.
    """
    trainer = KernelTrainer(X, Y, config)
    epochs = min(config.epochs, MAX_PREDICTED_EPOCHS)
    losses: list[float] = []
    diverged_at = None
    try:
        for _ in range(epochs):
            losses.append(trainer.step().loss)
        final = trainer.loss()
    except TrainingDiverged as exc:
        diverged_at, final = exc.epoch, math.inf
    result = dict(losses=tuple(losses), final=final, epochs=epochs, stability=trainer.stability,
                  distance=_best_fit_distance(X, Y, trainer), diverged_at=diverged_at)
    if diverged_at is not None:
        return Outcome(kind="diverge", **result)
    probe = Outcome(kind="smooth", **result)
    if probe.rises:
        return Outcome(kind="zigzag", **result)
    if probe.fraction > CRAWL_FRACTION:
        return Outcome(kind="crawl", **result)
    return probe


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.2g}%"


def _what_happened(o: Outcome) -> str:
    """The fact that settles the prediction, in numbers."""
    if o.kind == "diverge":
        return f"the loss grew until the run stopped at epoch {o.diverged_at}"
    if len(set(o.losses)) == 1 and o.final == o.losses[0]:
        return f"the loss stayed at {o.final:.4g}: no step changed it"
    rises = o.rises
    if rises:
        shown = ", ".join(str(e) for e in rises[:5]) + (", …" if len(rises) > 5 else "")
        return (f"the loss rose at epoch{'s' if len(rises) > 1 else ''} {shown} and ended at "
                f"{_percent(o.fraction)} of its start")
    return f"the loss fell at every epoch, to {_percent(o.fraction)} of its start after {o.epochs} epochs"


def _why(o: Outcome, config: TrainConfig) -> str:
    """Why the loss did that: curvature and step size, with this input's numbers."""
    s, lr = o.stability, config.lr
    lam_max, lam_min = s.steepest, s.curvatures[-1]
    parts = []
    if config.loss == "mean" and config.optimizer == "adam":
        parts.append(f"Dividing the loss by the {s.cells} output cells changes nothing for Adam: its steps "
                     "do not depend on the gradient's size.")
    elif config.loss == "mean":
        parts.append(
            f"The mean divides the loss, and so its curvature, by the {s.cells} output cells: the steepest "
            f"curvature is {lam_max * s.cells:.3g}/{s.cells} = {lam_max:.3g}, so every step is {s.cells}x "
            "smaller than with the summed loss at the same lr."
        )
    if config.optimizer == "sgd":
        parts.append(_gradient_descent_why(o.kind, lr, lam_max, lam_min))
    elif config.optimizer == "momentum":
        parts.append(
            f"Momentum adds {MOMENTUM:g} of the last step to each new one: the weights keep their speed, "
            f"overshoot the bottom of the steep direction (curvature λmax = {lam_max:.3g}) and swing back, "
            f"and the swings die out only by about √{MOMENTUM:g} ≈ {math.sqrt(MOMENTUM):.2f} per epoch."
        )
        if lr * lam_max < 0.5:
            parts.append(f"Here lr·λmax = {lr * lam_max:.2g}: the steps are small, and momentum needs about "
                         f"{1 / (1 - MOMENTUM):.0f} epochs to build up speed.")
    else:
        parts.append(
            f"Adam (β₁ = {ADAM_BETAS[0]:g}, β₂ = {ADAM_BETAS[1]:g}) divides each step by the gradient's own "
            f"recent size, so every weight moves by about lr = {lr:g} per epoch, whatever the curvature. "
            f"The best fit is {o.distance:.2g} away from the start (the largest change of one weight): "
            f"{math.ceil(o.distance / lr)} steps of lr."
        )
    if s.limit is not None:
        relation = "above" if s.diverges else "below"
        parts.append(f"lr {lr:g} is {relation} {s.limit:.3g}, the largest learning rate at which "
                     f"{OPTIMIZER_NAMES[config.optimizer]} converges on this input.")
    return " ".join(parts)


def _gradient_descent_why(kind: str, lr: float, lam_max: float, lam_min: float) -> str:
    """Each step multiplies the error along a curvature-λ direction by 1 − lr·λ: the whole story of GD."""
    steep = (f"Each gradient-descent step multiplies the error along the steepest direction (curvature "
             f"λmax = {lam_max:.3g}) by 1 − lr·λmax = {1 - lr * lam_max:.3g}")
    if lam_min <= 1e-9 * lam_max:  # a valley (e.g. on X.T): a direction the loss does not depend on
        shallow = ("; along the flattest the curvature is 0: the loss is a valley there, and no step moves "
                   "the weights along it")
    else:
        shallow = f", and along the shallowest (λ = {lam_min:.3g}) by 1 − lr·λ = {1 - lr * lam_min:.3g}"
    ending = {
        "diverge": "A factor beyond ±1 makes the error grow at every step.",
        "crawl": "A factor close to 1 shrinks the error only a little per epoch.",
    }.get(kind, "Factors inside ±1 shrink the error at every epoch.")
    return f"{steep}{shallow}. {ending}"


def feedback(o: Outcome, prediction: str, config: TrainConfig) -> tuple[bool, str]:
    """(right?, the answer to a learner who predicted `prediction`): what happened, and why.

    Raises:
        ValueError: a prediction that is not a key of OUTCOMES.
    """
    if prediction not in OUTCOMES:
        raise ValueError(f"unknown prediction {prediction!r}: choose one of {', '.join(OUTCOMES)}")
    right = prediction == o.kind
    verdict = "Yes" if right else f"Not this time: “{OUTCOMES[prediction].lower()}” did not happen"
    return right, f"{verdict} — {_what_happened(o)}. {_why(o, config)}"
