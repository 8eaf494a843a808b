"""ConvLab's one grid component, for every grid in the app: paint (input), edit (kernel), view (outputs).

The component's JS and CSS are files (`convlab/web/grid.js`, `grid.css`) that Streamlit serves by
path because `convlab` is installed with a component manifest (pyproject.toml): a data change sends
only data. Colours come from `convlab.colour` as a `Scale`, so a colour means one number everywhere.

Paint and edit are *controlled*: the page keeps the authoritative grid in `st.session_state` with a
`revision` counter that it bumps whenever Python replaces the grid (preset, upload, transform,
resize). A finished stroke or typed number is sent once as `{id, seq, revision, grid}`;
`paint_grid`/`edit_grid` return that grid exactly once and ignore strokes painted on an older
revision. Python acknowledges the last stroke it handled (`ack` in the data), and the browser keeps
its own grid until that acknowledgement covers its latest stroke, so a late rerun never wipes a
newer stroke while a new revision always shows. View mode sends picks `{id, seq, row, col}`.

Testing with AppTest, where custom components are unknown elements and their callbacks never fire:
set the component's state before `run()` with `inject_stroke(at.session_state, key, grid, revision)`
or `inject_pick(at.session_state, key, (i, j))`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import streamlit as st

from convlab.colour import Scale

MAX_SIDE = 64
LIMIT = 1e6  # the largest magnitude a typed number may have: beyond it sums stop meaning anything here
STROKE, PICK = "stroke", "pick"  # the component's state values
APPTEST_INSTANCE = "apptest"  # the instance id `inject_stroke` and `inject_pick` write



@functools.cache
def _component() -> Callable[..., Any]:
    """The registered component. Registered on first use: Streamlit finds the files through the installed
    package's manifest, which it scans when its runtime (or AppTest) starts, not at import."""
    return st.components.v2.component("convlab.grid", js="grid.js", css="grid.css")


class _ItemStore(Protocol):
    """`st.session_state` or AppTest's `at.session_state`."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def __setitem__(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class Stroke:
    """A finished stroke as the browser sends it; `grid` is None when it is not a usable (H, W) grid."""

    id: str
    seq: int
    revision: int
    grid: np.ndarray | None


def _is_int(value: object) -> bool:
    """An int from JSON; `True` is an int to Python but never a sequence number."""
    return isinstance(value, int) and not isinstance(value, bool)


def parse_stroke(raw: object, limit: float = LIMIT) -> Stroke | None:
    """Read the component's `stroke` state; None if absent or malformed; a cell beyond ±limit voids it."""
    if not isinstance(raw, dict):
        return None
    stroke_id, seq, revision = raw.get("id"), raw.get("seq"), raw.get("revision")
    if not (isinstance(stroke_id, str) and _is_int(seq) and _is_int(revision)):
        return None
    try:
        grid = np.asarray(raw.get("grid"), dtype=np.float64)
    except (TypeError, ValueError):
        grid = None
    if grid is not None and (grid.ndim != 2 or grid.size == 0 or not np.isfinite(grid).all()
                             or np.abs(grid).max() > limit):
        grid = None
    return Stroke(stroke_id, seq, revision, grid)


def parse_pick(raw: object, shape: tuple[int, int]) -> tuple[int, int, str, int] | None:
    """The component's `pick` state -> (row, col, id, seq) inside `shape`; None if absent or malformed."""
    if not isinstance(raw, dict):
        return None
    row, col, pick_id, seq = raw.get("row"), raw.get("col"), raw.get("id"), raw.get("seq")
    if not (_is_int(row) and _is_int(col) and isinstance(pick_id, str) and _is_int(seq)):
        return None
    if not (0 <= row < shape[0] and 0 <= col < shape[1]):
        return None
    return row, col, pick_id, seq


def is_new(event_id: str, seq: int, last: object) -> bool:
    """True unless `last` (an ack `{id, seq}`) already covers the event (id, seq)."""
    if not isinstance(last, dict) or last.get("id") != event_id:
        return True
    last_seq = last.get("seq")
    return not _is_int(last_seq) or seq > last_seq


def _ack_key(key: str) -> str:
    """Session-state key holding the last event the grid `key` handled."""
    return f"_grid.ack.{key}"


def _as_grid(values: np.ndarray) -> np.ndarray:
    """`values` as an (H, W) float64 grid of finite numbers within the size the component draws."""
    grid = np.asarray(values, dtype=np.float64)
    if grid.ndim != 2 or not (1 <= grid.shape[0] <= MAX_SIDE and 1 <= grid.shape[1] <= MAX_SIDE):
        raise ValueError(f"a grid has 1 to {MAX_SIDE} rows and columns, got shape {grid.shape}")
    if not np.isfinite(grid).all():
        raise ValueError("the grid contains NaN or infinity: every cell needs a finite number")
    return grid


def _state(key: str, name: str) -> object:
    """The component's state value `name`, readable before the component is mounted in this run."""
    state = st.session_state.get(key)
    return state.get(name) if isinstance(state, dict) else None


def _draw(key: str, grid: np.ndarray, scale: Scale, mode: str, **extra: Any) -> None:
    data = {
        "name": key,  # the page's key, as data-name on the grid's root, for tests and benchmarks
        "mode": mode,
        "rows": int(grid.shape[0]),
        "cols": int(grid.shape[1]),
        "values": grid.ravel().tolist(),
        "scale": scale.to_data(),
        **{k: v for k, v in extra.items() if v is not None},
    }
    callbacks = {"on_stroke_change": _noop} if mode != "view" else {"on_pick_change": _noop}
    _component()(key=key, data=data, **callbacks)


def _noop() -> None:
    """The grid functions read the state themselves; a callback only declares the state name."""


def _marks(taps: np.ndarray | Sequence | None) -> list[list[int]] | None:
    return None if taps is None else [[int(r), int(c)] for r, c in np.asarray(taps, dtype=int).reshape(-1, 2)]


def take_stroke(key: str, shape: tuple[int, int], revision: int, limit: float = LIMIT) -> np.ndarray | None:
    """The (H, W) grid of a new stroke painted on `revision` of the grid `key`, once; else None.

    Every stroke read is acknowledged. A page that must know a stroke before it draws other grids (the
    output, titles) calls this first; `paint_grid` then finds the stroke already taken.
    """
    stroke = parse_stroke(_state(key, STROKE), limit)
    ack_key = _ack_key(key)
    if stroke is None or not is_new(stroke.id, stroke.seq, st.session_state.get(ack_key)):
        return None
    st.session_state[ack_key] = {"id": stroke.id, "seq": stroke.seq}
    if stroke.revision == revision and stroke.grid is not None and stroke.grid.shape == tuple(shape):
        return stroke.grid
    return None


def paint_grid(
    values: np.ndarray,
    *,
    key: str,
    scale: Scale,
    revision: int = 0,
    brush: float = 1.0,
    title: str = "",
    pad: tuple[int, int] = (0, 0),
    taps: np.ndarray | None = None,
    show_values: bool | None = None,
    height: int = 360,
    legend: bool = True,
    caption: str | None = None,
    mode: str = "paint",
    limit: float = LIMIT,
) -> np.ndarray | None:
    """Show an (H, W) grid the learner paints (mode="edit": types into); return the new grid once per stroke.

    Args:
        values: the grid, (H, W) with 1 <= H, W <= 64, finite.
        key: widget key; `st.session_state[key]` becomes the component's state, so keep the grid elsewhere.
        scale: the colour scale (`convlab.colour`).
        revision: bump it whenever Python replaces `values`, so the browser shows them and strokes
            painted on the old grid are ignored.
        brush: the value a drag paints; right-drag paints 0.
        pad: zero padding (rows, columns) drawn as a hatched border around the grid.
        taps: (n, 2) cells to outline, in the grid's coordinates (negative or beyond: in the padding).
        show_values: write each value in its cell; None writes them when cells are large enough.
        height: the grid's largest height in px; it also fits its column's width.
        mode: "paint" or "edit" (click a cell and type a number; dragging paints too).
        limit: the largest magnitude a cell may take; strokes beyond it are ignored.

    Returns:
        The new grid, (H, W) float64, once per new stroke on the current revision; else None.
    """
    grid = _as_grid(values)
    if mode not in ("paint", "edit"):
        raise ValueError(f"paint_grid's mode is 'paint' or 'edit', got {mode!r}")
    if not (np.isfinite(brush) and abs(brush) <= limit):
        raise ValueError(f"the brush value must be a finite number within ±{limit:g}, got {brush}")
    new = take_stroke(key, grid.shape, revision, limit)
    shown = grid if new is None else new
    _draw(key, shown, scale, mode, revision=int(revision), ack=st.session_state.get(_ack_key(key)),
          brush=float(brush), title=title, pad=[int(pad[0]), int(pad[1])], taps=_marks(taps),
          showValues=show_values, maxHeight=int(height), maxCell=72, legend=legend, caption=caption,
          limit=float(limit))
    return new


def edit_grid(
    values: np.ndarray, *, key: str, scale: Scale, revision: int = 0, **kwargs: Any
) -> np.ndarray | None:
    """`paint_grid` in edit mode: click a cell (or Enter, or a digit) and type an exact number."""
    return paint_grid(values, key=key, scale=scale, revision=revision, mode="edit", **kwargs)


def view_grid(
    values: np.ndarray,
    *,
    key: str,
    scale: Scale,
    title: str = "",
    picked: tuple[int, int] | None = None,
    pickable: bool = False,
    decimals: int = 2,
    show_values: bool | None = None,
    height: int = 240,
    max_cell: int = 72,
    legend: bool = True,
    caption: str | None = None,
    label: str | None = None,
    bare: bool = False,
) -> tuple[int, int] | None:
    """Show an (H, W) grid of numbers; with `pickable`, return the (row, col) the learner newly picked, once.

    `bare` drops the caption line (size and hint) except for the hover readout: for small grids in a row.
    """
    grid = _as_grid(values)
    new = take_pick(key, grid.shape) if pickable else None
    picked = new or picked
    mark = None if picked is None else [int(picked[0]), int(picked[1])]
    _draw(key, grid, scale, "view", title=title, picked=mark,
          pickable=pickable, decimals=int(decimals), showValues=show_values, maxHeight=int(height),
          maxCell=int(max_cell), legend=legend, caption=caption, label=label, bare=bare or None)
    return new


def take_pick(key: str, shape: tuple[int, int]) -> tuple[int, int] | None:
    """The (row, col) newly picked in the grid `key` of this shape, once; None if there is no new pick.

    A page that must know the pick before it draws other grids calls this first; `view_grid` then
    finds the pick already taken.
    """
    pick = parse_pick(_state(key, PICK), shape)
    ack_key = _ack_key(key)
    if pick is None or not is_new(pick[2], pick[3], st.session_state.get(ack_key)):
        return None
    st.session_state[ack_key] = {"id": pick[2], "seq": pick[3]}
    return pick[0], pick[1]


def inject_stroke(
    session_state: _ItemStore, key: str, grid: np.ndarray, revision: int, *, seq: int | None = None
) -> None:
    """Make the next AppTest run see `grid` painted on `revision`, as if the browser had sent it.

    Each call is a new stroke (seq one past the previous one) unless `seq` is given.
    """
    if seq is None:
        previous = session_state.get(key)
        last = parse_stroke(previous.get(STROKE)) if isinstance(previous, dict) else None
        seq = 1 if last is None else last.seq + 1
    stroke = {"id": APPTEST_INSTANCE, "seq": seq, "revision": int(revision),
              "grid": np.asarray(grid, dtype=np.float64).tolist()}
    session_state[key] = {STROKE: stroke}


def inject_pick(session_state: _ItemStore, key: str, cell: tuple[int, int]) -> None:
    """Make the next AppTest run see output cell `cell` clicked in the grid `key`."""
    previous = session_state.get(key)
    last = previous.get(PICK) if isinstance(previous, dict) else None
    seq = last["seq"] + 1 if isinstance(last, dict) and _is_int(last.get("seq")) else 1
    pick = {"id": APPTEST_INSTANCE, "seq": seq, "row": int(cell[0]), "col": int(cell[1])}
    session_state[key] = {PICK: pick}
