"""The Train page's run in `st.session_state`: one KernelTrainer, its history, earlier runs.

Play/Pause/Step/Reset are callbacks that only flip this state; the page's live fragment does the
epochs. A change of data or settings starts a new run from the same seeded weights, and the
finished run's loss curve is kept for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import streamlit as st

from convlab.training import (
    KernelTrainer,
    Landscape,
    TrainConfig,
    TrainingDiverged,
    TrainStep,
    least_squares_kernel,
    loss_landscape,
)

RUN = "tr.run"
EARLIER = "tr.earlier"  # [(label, losses)] of finished runs, oldest first
MAX_EARLIER = 6


@dataclass
class Run:
    """One training run: the data it learns from, its trainer, and every step so far."""

    X: np.ndarray
    Y: np.ndarray
    config: TrainConfig
    trainer: KernelTrainer
    steps: list[TrainStep] = field(default_factory=list)
    running: bool = False
    error: str | None = None  # why the run stopped on its own (divergence)
    target_loss: float = 0.0
    last_tick: float | None = None  # time.monotonic() of the last timed tick while playing
    owed: float = 0.0  # the fraction of an epoch carried to the next tick

    @property
    def label(self) -> str:
        c = self.config
        return f"{c.optimizer} lr={c.lr:g} {c.loss}" + (" +bias" if c.bias else "")

    @cached_property
    def best_kernel(self) -> np.ndarray:
        """The least-squares kernel (h, w): the answer gradient descent is heading for."""
        return least_squares_kernel(self.X, self.Y, self.config.kernel_shape)

    @cached_property
    def landscape(self) -> Landscape:
        """The loss over both weights of a two-weight kernel, around the start and the optimum."""
        start, optimum = self.trainer.initial_weight.ravel(), self.best_kernel.ravel()
        span = float(max(np.abs(optimum - start).max(), 1.0)) * 1.6
        return loss_landscape(self.X, self.Y, loss=self.config.loss, center=tuple((optimum + start) / 2),
                              span=span)

    @property
    def losses(self) -> list[float]:
        return [s.loss for s in self.steps]

    @property
    def finished(self) -> bool:
        """True once the epoch budget is spent, the target loss is reached, or training diverged."""
        if self.error or self.trainer.epoch >= self.config.epochs:
            return True
        return bool(self.steps) and self.target_loss > 0 and self.steps[-1].loss <= self.target_loss

    def advance(self, epochs: int) -> None:
        """Run up to `epochs` more epochs, stopping early when the run finishes."""
        for _ in range(epochs):
            if self.finished:
                break
            self.step_once()
        if self.finished:
            self.running = False

    def epochs_due(self, speed: float, now: float, tick: float) -> int:
        """Whole epochs owed at `speed` epochs/s since the last tick (one tick's worth at first).

        Ticks fire late when the browser is busy; paying by the clock keeps the speed the learner
        chose. A stall longer than four ticks is not paid back, so a run never lurches ahead.
        """
        elapsed = tick if self.last_tick is None else min(max(now - self.last_tick, 0.0), 4 * tick)
        self.last_tick = now
        self.owed += speed * elapsed
        due = int(self.owed + 1e-6)  # 0.9999999 epochs owed is one: clock sums are inexact
        self.owed -= due
        return due

    def step_once(self) -> None:
        """One epoch, whatever the budget; a divergence ends the run with its explanation."""
        if self.error:
            return
        try:
            self.steps.append(self.trainer.step())
        except TrainingDiverged as exc:
            self.error = str(exc)
            self.running = False


def current() -> Run | None:
    """This session's run, if any."""
    return st.session_state.get(RUN)


def ensure(X: np.ndarray, Y: np.ndarray, config: TrainConfig, target_loss: float) -> Run:
    """The run for this data and config; a different one archives the old run and starts afresh."""
    run = current()
    same = (
        run is not None
        and run.config == config
        and run.X.shape == X.shape
        and run.Y.shape == Y.shape
        and np.array_equal(run.X, X)
        and np.array_equal(run.Y, Y)
    )
    if not same:
        archive()
        run = Run(X=X.copy(), Y=Y.copy(), config=config, trainer=KernelTrainer(X, Y, config))
        st.session_state[RUN] = run
    run.target_loss = target_loss
    return run


def archive() -> None:
    """Keep the current run's loss curve among the earlier runs (if it trained at all)."""
    run = current()
    if run is not None and run.steps:
        earlier = st.session_state.setdefault(EARLIER, [])
        earlier.append((run.label, run.losses))
        del earlier[:-MAX_EARLIER]


def play() -> None:
    """Play: run continuously (restarting a finished run from the same initial weights)."""
    run = current()
    if run is None:
        return
    if run.finished:
        reset()
        run = current()
    run.running = True
    run.last_tick, run.owed = None, 0.0


def pause() -> None:
    """Pause: stop after the current tick."""
    if (run := current()) is not None:
        run.running = False


def step() -> None:
    """Step: exactly one epoch more."""
    if (run := current()) is not None:
        run.running = False
        run.step_once()


def reset() -> None:
    """Reset: back to the same initial weights (same seed), keeping this run's curve to compare."""
    run = current()
    if run is None:
        return
    archive()
    st.session_state[RUN] = Run(
        X=run.X, Y=run.Y, config=run.config, trainer=KernelTrainer(run.X, run.Y, run.config),
        target_loss=run.target_loss,
    )


def clear_earlier() -> None:
    """Forget the earlier runs' curves."""
    st.session_state[EARLIER] = []
