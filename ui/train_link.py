"""The Train page's link: settings <-> query parameters and a marker of the run under way. Pure, no Streamlit.

A reconnected browser (a replica died, a reload) starts a fresh session from its address bar, so the page
keeps there every setting that defines a run, each only when it differs from the default:
`?opt=adam&lr=0.1&epochs=500&run=37`. Values are the widgets' own (session-state keys `tr.*`). A value
that cannot be read is refused alone, in a learner's words that never repeat it, and the default kept.

`run` says a run was under way: `run=37` (stopped after 37 epochs) or `run=37-playing` (playing; 37 is
the epoch when the marker was last written, at Play, Pause, Step or the end, never by the ticking fragment).
Painted grids are not kept (each stroke would add a history entry): `input=painted` only says that the
input was painted, so the page can say it was not restored.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convlab.images import IMAGES
from convlab.kernels import KERNELS, MAX_KERNEL_SIDE, kernel_preset
from convlab.training import INITS, LOSSES, MAX_EPOCHS, OPTIMIZER_NAMES, OPTIMIZERS
from ui.share import decode_grid, encode_grid

LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
SPEEDS = (1, 5, 20, 100, 1000)  # epochs per second
TARGETS = ("preset", "kernel", "output")
MAX_SEED = 2**31 - 1
NOISE_STEP = 0.05
MAX_VALUE_CHARS = 400  # far above any value the page writes (a 7x7 kernel of distinct numbers is ~300)
DEFAULT_INPUT = "stripes"
DEFAULT_KERNEL = kernel_preset("edge")  # the typed true kernel before any typing: the lesson's [1, -1]
PAINTED = "painted"
RUN_PARAM, INPUT_PARAM, KERNEL_PARAM = "run", "input", "kernel"
_RUN = re.compile(r"([0-9]{1,6})(-playing)?")


def _choice(options: Any, what: str) -> Callable[[str], str]:
    def read(text: str) -> str:
        if text not in options:
            raise ValueError(f"it is not one of the {what}")
        return text

    return read


def _whole(lo: int, hi: int) -> Callable[[str], int]:
    def read(text: str) -> int:
        if not re.fullmatch(r"[0-9]{1,10}", text) or not lo <= int(text) <= hi:
            raise ValueError(f"it is not a whole number from {lo} to {hi:,}")
        return int(text)

    return read


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("it is not a number") from None
    if not math.isfinite(value):
        raise ValueError("it is not a finite number")
    return value


def _one_of(values: tuple[float, ...], what: str) -> Callable[[str], Any]:
    def read(text: str) -> Any:
        value = _number(text)
        for option in values:
            if math.isclose(value, option, rel_tol=1e-9):
                return option
        raise ValueError(f"it is not one of the {what}")

    return read


def _noise(text: str) -> float:
    value = _number(text)
    steps = round(value / NOISE_STEP)
    if not 0 <= steps <= round(1 / NOISE_STEP) or not math.isclose(value, steps * NOISE_STEP, abs_tol=1e-9):
        raise ValueError(f"it is not a step of {NOISE_STEP:g} from 0 to 1")
    return round(steps * NOISE_STEP, 2)


def _loss(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise ValueError("it is negative")
    return value


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError("it is 1 (on) or 0 (off)")
    return text == "1"


def _shown(value: Any) -> str:
    """A default as the page shows it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Field:
    """One setting: its query parameter, its widget's session-state key, its name in a refusal."""

    param: str
    key: str
    name: str
    default: Any
    read: Callable[[str], Any]  # text -> value; ValueError(reason) in a learner's words, never the text
    shown: str = ""  # the default in a refusal, when not the value itself

    @property
    def default_text(self) -> str:
        return self.shown or _shown(self.default)

    def write(self, value: Any) -> str:
        if isinstance(self.default, bool):
            return "1" if value else "0"
        if isinstance(self.default, float):
            return f"{float(value):.12g}"  # the slider's 0.15000000000000002 is 0.15
        return str(int(value)) if isinstance(self.default, int) else str(value)


FIELDS = (
    Field("target", "tr.target", "the target choice", "preset", _choice(TARGETS, "page's targets"),
          "a hidden preset kernel"),
    Field("hidden", "tr.true_preset", "the hidden kernel", "edge", _choice(KERNELS, "preset kernels"),
          f"the {KERNELS['edge'].label.lower()}"),
    Field("rows", "tr.out_rows", "the kernel rows", 1, _whole(1, MAX_KERNEL_SIDE)),
    Field("cols", "tr.out_cols", "the kernel columns", 2, _whole(1, MAX_KERNEL_SIDE)),
    Field("noise", "tr.noise", "the noise", 0.0, _noise),
    Field("opt", "tr.optimizer", "the optimizer", "sgd", _choice(OPTIMIZERS, "page's optimizers"),
          OPTIMIZER_NAMES["sgd"]),
    Field("loss", "tr.loss", "the loss", "sum", _choice(LOSSES, "page's losses"), "the sum of squares"),
    Field("lr", "tr.lr", "the learning rate", 3e-2, _one_of(LEARNING_RATES, "slider's learning rates")),
    Field("seed", "tr.seed", "the seed", 0, _whole(0, MAX_SEED)),
    Field("init", "tr.init", "the initial weights", "uniform", _choice(INITS, "page's initial weights")),
    Field("epochs", "tr.epochs", "the number of epochs", 10, _whole(1, MAX_EPOCHS)),
    Field("stop", "tr.target_loss", "the loss to stop at", 0.0, _loss),
    Field("bias", "tr.bias", "the bias switch", False, _flag),
    Field("speed", "tr.speed", "the speed", 20, _one_of(SPEEDS, "slider's speeds")),
    Field("log", "tr.log", "the log-scale switch", False, _flag),
    Field("reveal", "tr.reveal", "the reveal switch", False, _flag),
)
PARAMS = frozenset({f.param for f in FIELDS} | {RUN_PARAM, INPUT_PARAM, KERNEL_PARAM})


@dataclass(frozen=True)
class RunMarker:
    """A run under way when the link was last written: its epoch then, and whether it was playing."""

    epoch: int
    playing: bool = False

    def text(self) -> str:
        return f"{self.epoch}-playing" if self.playing else str(self.epoch)


def run_marker(epoch: int, running: bool) -> RunMarker | None:
    """The marker of a run at `epoch` (None for a run that has not started: nothing to restart)."""
    return RunMarker(int(epoch), bool(running)) if running or epoch > 0 else None


def decode_run(text: str) -> RunMarker:
    """`37` or `37-playing` -> RunMarker; ValueError in a learner's words otherwise."""
    match = _RUN.fullmatch(text)
    if match is None or int(match[1]) > MAX_EPOCHS:
        raise ValueError("it is not an epoch of a run")
    return RunMarker(int(match[1]), match[2] is not None)


@dataclass
class Restored:
    """What a link restores: session-state values by key, the input `image` preset (or PAINTED, or None when
    the link names none), the typed kernel, the run marker, and a sentence per refused value."""

    values: dict[str, Any] = field(default_factory=dict)
    image: str | None = None
    kernel: np.ndarray | None = None
    run: RunMarker | None = None
    problems: list[str] = field(default_factory=list)


def encode(values: Mapping[str, Any], *, image: str | None = DEFAULT_INPUT,
           kernel: np.ndarray | None = None, run: RunMarker | None = None) -> dict[str, str]:
    """The settings (session-state values by key; a missing key is its default), the input's preset (None:
    a painted input), the typed true kernel and the run marker -> query parameters, defaults left out."""
    params: dict[str, str] = {}
    for f in FIELDS:
        value = values.get(f.key, f.default)
        if value is not None and f.write(value) != f.write(f.default):
            params[f.param] = f.write(value)
    if image != DEFAULT_INPUT:
        params[INPUT_PARAM] = PAINTED if image is None else image
    if kernel is not None and not (kernel.shape == DEFAULT_KERNEL.shape
                                   and np.array_equal(kernel, DEFAULT_KERNEL)):
        params[KERNEL_PARAM] = encode_grid(kernel)
    if run is not None:
        params[RUN_PARAM] = run.text()
    return params


def decode(params: Mapping[str, str]) -> Restored:
    """Query parameters -> Restored. Parameters of other pages are ignored; each value that cannot be
    read is left out with a sentence saying which setting it was and that the default is kept."""
    out = Restored()

    def refuse(name: str, reason: str, default: str) -> None:
        out.problems.append(f"{name} in this link could not be read ({reason}), so it is {default}")

    for f in FIELDS:
        if f.param not in params:
            continue
        try:
            out.values[f.key] = f.read(_short(params[f.param]))
        except ValueError as exc:
            refuse(f.name.capitalize(), str(exc), f.default_text)
    if INPUT_PARAM in params:
        text = params[INPUT_PARAM]
        if text == PAINTED or text in IMAGES:
            out.image = text
        else:
            stripes = f"the {IMAGES[DEFAULT_INPUT].label.lower()}"
            refuse("The input", "it is not one of the image presets", stripes)
    if KERNEL_PARAM in params:
        try:
            out.kernel = decode_grid(_short(params[KERNEL_PARAM]), max_side=MAX_KERNEL_SIDE,
                                     name="the typed kernel")
        except ValueError:  # ShareLinkError's reasons speak of the Playground's grids
            side = MAX_KERNEL_SIDE
            refuse("The typed kernel", f"it is damaged, or not a grid of up to {side}×{side} numbers",
                   "the lesson's [1, −1]")
    if RUN_PARAM in params:
        # Only a note depends on the marker: a mangled one means no note, not a refusal.
        with contextlib.suppress(ValueError):
            marker = decode_run(_short(params[RUN_PARAM]))
            out.run = run_marker(marker.epoch, marker.playing)  # `run=0` is no run under way
    return out


def _short(text: str) -> str:
    if not isinstance(text, str) or len(text) > MAX_VALUE_CHARS:
        raise ValueError(f"it is longer than {MAX_VALUE_CHARS} characters")
    return text
