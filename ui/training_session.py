"""The Train page's run in `st.session_state`: one KernelTrainer, its history, earlier runs.

Play/Pause/Step/Reset are callbacks that only flip this state; the page's live fragment does the
epochs. A change of data or settings starts a new run from the same seeded weights, and the
finished run's loss curve is kept for comparison. A run's memory is bounded whatever its length
(see Run); the Run and loss_y_range need no Streamlit session and are tested directly.

The page's settings and a marker of the run under way live in the address bar too (`ui.train_link`):
`restore_link()` reads them once per session (a reload, or a browser that reconnected to another server
after its own died), `keep_link()` writes them from full runs only, never from the ticking fragment.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import streamlit as st

from convlab.images import IMAGES, image_preset
from convlab.outcomes import Outcome, outcome
from convlab.training import (
    MOMENTUM,
    OPTIMIZER_NAMES,
    KernelTrainer,
    Landscape,
    Stability,
    TrainConfig,
    TrainingDiverged,
    TrainStep,
    least_squares_kernel,
    loss_landscape,
)
from ui import train_link

RUN = "tr.run"
EARLIER = "tr.earlier"  # [(label, losses)] of finished runs, oldest first
EARLIER_DIVERGED = "tr.earlier_diverged"  # labels of the earlier runs that diverged
COUNT = "tr.count"  # runs started in this session, so every run's label is unique
INPUT_NAME = "tr.x_name"  # the image preset the input was loaded from (None once painted)
LINK_READ = "tr.link_read"  # the address bar has been read in this session
LINK_NOTES = "tr.link_notes"  # what reading it has to tell: shown until the run trains
RESTARTED, INFO = ":material/restart_alt:", ":material/info:"
MAX_EARLIER = 6
RECENT_STEPS = 100  # steps kept whole: the printout, the last gradient, the path's last stretch
PATH_POINTS = 1000  # older weights kept for the landscape path, evenly thinned as a run grows
STATES = ("ready", "training…", "paused", "finished", "diverged")
# Training time one session may spend per server tick, whatever its speed: at 1000 epochs/s a tick
# owes 110 epochs (≈ 45 ms here), which would starve the other learners served by the same process.
TICK_BUDGET = 0.025
RATE_WINDOW = 10  # ticks over which the achieved epochs/s is measured
# Every session of a process shares one core (scripts run under the GIL): training, whoever asks, may
# take at most this share of it, split between the sessions playing at the moment, so that painters
# always keep the rest (ten trainers at 1000 epochs/s would otherwise want 2.5 cores of one).
TRAINING_SHARE = 0.2
PLAYING_WINDOW = 3.0  # s: a session that ticked this recently is playing
# A tick costs the server ≈ 15 ms beyond its training (the fragment's run: metrics, chart data, grids), so
# the ticks of all the sessions playing on a process are spread to at most this many a second.
PROCESS_TICKS = 12.0
# Short names for the chart's legend (the page names each optimizer in full).
SHORT_NAMES = {"sgd": "GD", "momentum": f"momentum β={MOMENTUM:g}", "adam": "Adam"}


class TrainingShare:
    """The process's training time, split evenly between the sessions playing now (thread-safe).

    Sessions run in threads of one process, so this object is shared by design; it holds only when each
    session last ticked (an opaque key), nothing a learner entered.
    """

    def __init__(self, share: float = TRAINING_SHARE, window: float = PLAYING_WINDOW) -> None:
        self.share, self.window = share, window
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def budget(self, session: str, tick: float, now: float) -> float:
        """Seconds of training the session `session` may spend in a tick of `tick` seconds at time `now`:
        its even part of `share` of a core, and never more than TICK_BUDGET."""
        with self._lock:
            self._last[session] = now
            for key in [k for k, t in self._last.items() if now - t > self.window]:
                del self._last[key]
            playing = len(self._last)
        return min(TICK_BUDGET, self.share * tick / playing)

    def interval(self, now: float) -> float:
        """The shortest tick interval (s) a playing session should use now: PROCESS_TICKS a second in all."""
        return self.playing(now) / PROCESS_TICKS

    def playing(self, now: float) -> int:
        """Sessions that ticked within the window before `now`."""
        with self._lock:
            return sum(1 for t in self._last.values() if now - t <= self.window)


SHARE = TrainingShare()  # this process's


@dataclass
class Run:
    """One training run: the data it learns from, its trainer, and a bounded history.

    Every epoch's loss is kept (float32, 4 bytes an epoch, exactly the float32 loss the step
    reported); whole steps only for the last RECENT_STEPS epochs; older weights thinned to at
    most about 2 * PATH_POINTS, so a 100,000-epoch run holds well under a megabyte.
    """

    X: np.ndarray
    Y: np.ndarray
    config: TrainConfig
    trainer: KernelTrainer
    running: bool = False
    error: str | None = None  # why the run stopped on its own (divergence)
    target_loss: float = 0.0
    last_tick: float | None = None  # time.monotonic() of the last timed tick while playing
    owed: float = 0.0  # the fraction of an epoch carried to the next tick
    number: int = 1  # this run's number in the session, shown in its label
    diverged: TrainingDiverged | None = None
    _recent: deque[TrainStep] = field(default_factory=lambda: deque(maxlen=RECENT_STEPS), repr=False)
    _losses: np.ndarray = field(default_factory=lambda: np.empty(64, dtype=np.float32), repr=False)
    _count: int = 0
    _path: list[np.ndarray] = field(default_factory=list, repr=False)  # weights at epochs every, 2*every...
    _every: int = 1
    _ticks: deque[tuple[float, int, int]] = field(  # (time, epochs due, epochs done) of recent ticks
        default_factory=lambda: deque(maxlen=RATE_WINDOW), repr=False
    )

    @property
    def label(self) -> str:
        """Unique in the session: 'run 2 · GD lr=0.03 sum'."""
        c = self.config
        bias = " +bias" if c.bias else ""
        return f"run {self.number} · {SHORT_NAMES[c.optimizer]} lr={c.lr:g} {c.loss}{bias}"

    @property
    def stability(self) -> Stability:
        """The loss's curvature on this input and the learning-rate limit it sets (known upfront)."""
        return self.trainer.stability

    @cached_property
    def best_kernel(self) -> np.ndarray:
        """The least-squares kernel (h, w): the answer gradient descent is heading for."""
        return least_squares_kernel(self.X, self.Y, self.config.kernel_shape)

    @cached_property
    def outcome(self) -> Outcome:
        """What these settings do over the run's first epochs (for the predict-first question)."""
        return outcome(self.X, self.Y, self.config)

    @cached_property
    def landscape(self) -> Landscape:
        """The loss over both weights of a two-weight kernel, around the start and the optimum."""
        start, optimum = self.trainer.initial_weight.ravel(), self.best_kernel.ravel()
        span = float(max(np.abs(optimum - start).max(), 1.0)) * 1.6
        return loss_landscape(self.X, self.Y, loss=self.config.loss, center=tuple((optimum + start) / 2),
                              span=span)

    @property
    def steps(self) -> list[TrainStep]:
        """The last RECENT_STEPS epochs' steps, oldest first (all of them in a shorter run)."""
        return list(self._recent)

    @property
    def loss_array(self) -> np.ndarray:
        """(epochs,) float32, read-only: every epoch's loss (before its update), epoch 1 first."""
        view = self._losses[: self._count]
        view.flags.writeable = False
        return view

    @property
    def losses(self) -> list[float]:
        """Every epoch's loss as the steps reported it (before each update), epoch 1 first."""
        return self.loss_array.tolist()

    @property
    def path(self) -> np.ndarray:
        """(n, h*w) float32 weights for the landscape: the start, then every epoch's weights after
        its update, older epochs evenly thinned; the last RECENT_STEPS epochs are all there."""
        first_recent = self._recent[0].epoch if self._recent else self._count + 1
        older = [w.ravel() for k, w in enumerate(self._path, start=1) if k * self._every < first_recent]
        rows = [self.trainer.initial_weight.ravel(), *older, *(s.weight.ravel() for s in self._recent)]
        return np.array(rows, dtype=np.float32)

    @property
    def epoch(self) -> int:
        """The last epoch run: the trainer's epoch, or the one that diverged (its update not applied)."""
        return self.diverged.epoch if self.diverged is not None else self.trainer.epoch

    @property
    def shown_loss(self) -> float:
        """The loss to show beside the printout: its last line's (the loss an epoch computed before
        its update, as the lesson prints it); before any epoch, the loss of the initial weights."""
        if self.diverged is not None:
            return self.diverged.loss
        return self._recent[-1].loss if self._recent else self.trainer.loss()

    @property
    def loss_after(self) -> float | None:
        """The loss of the current weights: after the last update (what the next epoch will print);
        None when the last epoch diverged, since its update was not applied."""
        return None if self.diverged is not None else self.trainer.loss()

    def verdict(self) -> tuple[str, str] | None:
        """How the run ended, as ("success" | "warning" | "error", sentence); None while it has not.

        Only a run that finished with its loss lower than at the start, at a learning rate the theory
        calls stable, is a success: a run that is heading for a blow-up is never shown in green.
        """
        if self.error:
            return "error", self.error
        if self.state != "finished":
            return None
        c = self.config
        losses = self.loss_array
        if self.target_loss > 0 and losses[-1] <= self.target_loss:
            done = f"reached the target loss ({losses[-1]:.4g} ≤ {self.target_loss:g}) at epoch {self.epoch}"
        else:
            done = f"finished {c.epochs} epochs"
        more = "Press Step for one more epoch, or raise “Stop after epochs”."
        s = self.stability
        if s.diverges:
            return "warning", (
                f"Training {done}, but it is not converging: the learning rate {c.lr:g} is above "
                f"{s.limit:.3g}, the largest at which {OPTIMIZER_NAMES[c.optimizer]} converges on this "
                f"input, so more epochs would make the loss grow without bound."
            )
        if losses[-1] >= losses[0]:
            return "warning", (
                f"Training {done}, but the loss did not go down (epoch 1: {losses[0]:.4g}, epoch "
                f"{self.epoch}: {losses[-1]:.4g}). {more}"
            )
        return "success", f"Training {done}: the loss fell from {losses[0]:.4g} to {losses[-1]:.4g}. {more}"

    def log_lines(self, n: int = 10) -> list[str]:
        """The last n lines of the lesson's printout, 'epoch 7, loss 0.123', ending with the epoch
        that diverged, if one did; huge losses in 4 significant digits."""
        lines = [_log_line(s.epoch, s.loss) for s in self._recent]
        if self.diverged is not None:
            lines.append(f"{_log_line(self.diverged.epoch, self.diverged.loss)} (diverged)")
        return lines[-n:] if n > 0 else []

    @property
    def finished(self) -> bool:
        """True once the epoch budget is spent, the target loss is reached, or training diverged."""
        if self.error or self.trainer.epoch >= self.config.epochs:
            return True
        return bool(self._recent) and self.target_loss > 0 and self._recent[-1].loss <= self.target_loss

    @property
    def state(self) -> str:
        """One of STATES: "ready", "training…", "paused", "finished", "diverged"."""
        if self.error:
            return "diverged"
        if self.running:
            return "training…"
        if not self._recent:
            return "ready"
        return "finished" if self.finished else "paused"

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

    def play_tick(
        self,
        speed: float,
        now: float,
        tick: float,
        *,
        budget: float = TICK_BUDGET,
        clock: Callable[[], float] = time.thread_time,
    ) -> int:
        """One server tick while playing: the epochs owed at `speed` (see epochs_due), but for at most
        `budget` seconds of `clock`, so no session starves the others; returns the epochs done. The clock is
        this thread's CPU time: while other sessions hold the interpreter, the wall clock runs on but the
        budget does not (torch runs on this thread: `ui.state.init_process` sets one thread).

        Epochs the budget cuts are dropped, not owed to the next tick (the run would never catch up):
        the run then goes slower than asked, and `achieved_rate` says how fast.
        """
        due = self.epochs_due(speed, now, tick)
        deadline = clock() + budget
        done = 0
        while done < due and not self.finished:
            if done and clock() >= deadline:
                break
            self.step_once()
            done += 1
        if self.finished:
            self.running = False
        self._ticks.append((now, due, done))
        return done

    @property
    def achieved_rate(self) -> float | None:
        """Epochs per second over the last RATE_WINDOW ticks (None before two ticks)."""
        if len(self._ticks) < 2:
            return None
        span = self._ticks[-1][0] - self._ticks[0][0]
        done = sum(d for _, _, d in list(self._ticks)[1:])  # the epochs done after the first tick's time
        return done / span if span > 0 else None

    @property
    def behind(self) -> bool:
        """True when the time budget cut epochs in recent ticks: the run is slower than asked."""
        return any(done < due for _, due, done in self._ticks) and not self.finished

    def step_once(self) -> None:
        """One epoch, whatever the budget; a divergence ends the run with its explanation."""
        if self.error:
            return
        try:
            step = self.trainer.step()
        except TrainingDiverged as exc:
            self.diverged = exc.with_traceback(None)  # the traceback would keep the step's tensors
            self.error = str(exc)
            self.running = False
            return
        self._record(step)

    def _record(self, step: TrainStep) -> None:
        if self._count == self._losses.size:
            self._losses = np.concatenate([self._losses, np.empty_like(self._losses)])
        self._losses[self._count] = step.loss
        self._count += 1
        self._recent.append(step)
        if step.epoch % self._every == 0:
            self._path.append(step.weight)
            if len(self._path) >= 2 * PATH_POINTS:  # halve: keep epochs 2*every, 4*every, ...
                self._path = self._path[1::2]
                self._every *= 2


def _log_line(epoch: int, loss: float) -> str:
    return f"epoch {epoch}, loss {loss:.3f}" if abs(loss) < 1e5 else f"epoch {epoch}, loss {loss:.4g}"


def loss_y_range(
    runs: Sequence[tuple[str, Sequence[float]]], *, skip: Collection[str] = (), log_y: bool = False
) -> tuple[float, float] | None:
    """(lowest, highest) finite loss over the runs whose labels are not in `skip` (positive ones on a
    log scale), to fix the chart's y range so that a diverged earlier run (losses near 1e33)
    cannot flatten every other curve; None when there is nothing to show."""
    lo, hi = math.inf, -math.inf
    for label, losses in runs:
        if label in skip:
            continue
        y = np.asarray(losses, dtype=np.float64)
        y = y[np.isfinite(y) & (y > 0)] if log_y else y[np.isfinite(y)]
        if y.size:
            lo, hi = min(lo, float(y.min())), max(hi, float(y.max()))
    return (lo, hi) if lo <= hi else None


def chart_runs() -> list[tuple[str, Sequence[float]]]:
    """The loss chart's runs: the earlier ones, then the current one (label, losses), oldest first."""
    runs: list[tuple[str, Sequence[float]]] = list(st.session_state.get(EARLIER, []))
    run = current()
    if run is not None:
        runs.append((run.label, run.loss_array))
    return runs


def chart_y_range(log_y: bool = False) -> tuple[float, float] | None:
    """loss_y_range of chart_runs(), leaving out earlier runs that diverged."""
    return loss_y_range(chart_runs(), skip=set(st.session_state.get(EARLIER_DIVERGED, [])), log_y=log_y)


def _next_number() -> int:
    st.session_state[COUNT] = st.session_state.get(COUNT, 0) + 1
    return st.session_state[COUNT]


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
        run = Run(X=X.copy(), Y=Y.copy(), config=config, trainer=KernelTrainer(X, Y, config),
                  number=_next_number())
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
        kept = {label for label, _ in earlier}
        diverged = [label for label in st.session_state.get(EARLIER_DIVERGED, []) if label in kept]
        st.session_state[EARLIER_DIVERGED] = diverged + ([run.label] if run.error else [])


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
    run._ticks.clear()


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
        target_loss=run.target_loss, number=_next_number(),
    )


def clear_earlier() -> None:
    """Forget the earlier runs' curves."""
    st.session_state[EARLIER] = []
    st.session_state[EARLIER_DIVERGED] = []


def restore_link() -> None:
    """Once per session, before the page's widgets: the settings in the address bar, and a note when its
    marker says a run was under way (the run itself starts again at epoch 0) or a value was refused."""
    ss = st.session_state
    if ss.get(LINK_READ):
        return
    ss[LINK_READ] = True
    link = train_link.decode(st.query_params.to_dict())
    notes = []
    if link.run is not None:
        if link.run.playing:
            lost = f"while it was training (past epoch {link.run.epoch})"
        else:
            lost = f"at epoch {link.run.epoch}"
        notes.append((RESTARTED, f"This run restarted: the connection to the server was lost {lost}, by "
                      "a reload or a server restart. Your settings are restored; press **Play** to train "
                      "again."))
    if link.image == train_link.PAINTED:
        notes.append((INFO, "The input had been painted, and a painted grid is not kept in the link: it "
                      "starts as the lesson's stripes again."))
    elif link.image is not None:
        ss["tr.X"], ss[INPUT_NAME] = image_preset(link.image), link.image
        ss["tr.X_rev"] = ss.get("tr.X_rev", 0) + 1
    if link.kernel is not None:
        ss["tr.K_true"] = link.kernel
        ss["tr.k_rows"], ss["tr.k_cols"] = link.kernel.shape
        ss["tr.K_rev"] = ss.get("tr.K_rev", 0) + 1
    X = ss.get("tr.X", image_preset(train_link.DEFAULT_INPUT))
    for key, side, name in (("tr.out_rows", X.shape[0], "rows"), ("tr.out_cols", X.shape[1], "columns")):
        if link.values.get(key, 1) > side:
            del link.values[key]
            link.problems.append(f"The kernel {name} in this link are more than the input has, so they are "
                                 "the default")
    ss.update(link.values)
    if link.problems:
        notes.append((INFO, ". ".join(link.problems) + "."))
    ss[LINK_NOTES] = notes


def link_notes(run: Run) -> list[tuple[str, str]]:
    """What restoring the link has to say, (icon, Markdown) with nothing from the link itself, until the
    run trains."""
    ss = st.session_state
    if run.running or run.epoch > 0:
        ss.pop(LINK_NOTES, None)
    return ss.get(LINK_NOTES, [])


def keep_link() -> None:
    """Write the page's settings and the run's marker into the address bar, only what changed.

    Called by the page's full runs only (Play, Pause, Step, Reset, a setting, the end of a run): every
    change of the query string is a history entry, so the ticking fragment never writes it, and a playing
    run's marker keeps the epoch at which Play was pressed.
    """
    ss = st.session_state
    name, X = ss.get(INPUT_NAME), ss.get("tr.X")
    image = name if name in IMAGES and X is not None and np.array_equal(X, image_preset(name)) else None
    run = current()
    marker = None if run is None else train_link.run_marker(run.epoch, run.running)
    params = st.query_params
    if marker is not None and marker.playing and train_link.RUN_PARAM in params:
        with contextlib.suppress(ValueError):
            written = train_link.decode_run(params[train_link.RUN_PARAM])
            marker = written if written.playing else marker
    wanted = train_link.encode(ss, image=image, kernel=ss.get("tr.K_true"), run=marker)
    now = params.to_dict()
    new = {k: v for k, v in now.items() if k not in train_link.PARAMS} | wanted
    if new != now:
        params.from_dict(new)  # one message: one history entry
