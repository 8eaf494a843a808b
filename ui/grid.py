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

A *group* (`grid_group`) draws several panels of grids as one element: the Playground's live
workspace is one group, so a stroke reruns one element instead of twenty. Each grid of a group has a
`name`; its events come back under it (`take_stroke(key, ..., name=...)`).

Testing with AppTest, where custom components are unknown elements and their callbacks never fire:
set the component's state before `run()` with `inject_stroke(at.session_state, key, grid, revision)`
or `inject_pick(at.session_state, key, (i, j))` (with `name=` for a grid of a group).
"""

from __future__ import annotations

import functools
import json
import re
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


def _ack_key(key: str, name: str | None) -> str:
    """Session-state key holding the last event the grid (key, name) handled."""
    return f"_grid.ack.{key}" if name is None else f"_grid.ack.{key}/{name}"


def last_ack(key: str, name: str | None = None) -> dict | None:
    """The acknowledgement {id, seq} to send back to the grid (key, name): the last event Python handled."""
    return st.session_state.get(_ack_key(key, name))


def _as_grid(values: np.ndarray) -> np.ndarray:
    """`values` as an (H, W) float64 grid of finite numbers within the size the component draws."""
    grid = np.asarray(values, dtype=np.float64)
    if grid.ndim != 2 or not (1 <= grid.shape[0] <= MAX_SIDE and 1 <= grid.shape[1] <= MAX_SIDE):
        raise ValueError(f"a grid has 1 to {MAX_SIDE} rows and columns, got shape {grid.shape}")
    if not np.isfinite(grid).all():
        raise ValueError("the grid contains NaN or infinity: every cell needs a finite number")
    return grid


def _state(key: str, state_name: str, name: str | None) -> object:
    """The component's state value (of the grid `name` in a group), readable before the component is
    mounted in this run."""
    state = st.session_state.get(key)
    value = state.get(state_name) if isinstance(state, dict) else None
    if name is None:
        return value
    return value.get(name) if isinstance(value, dict) else None


def _marks(taps: np.ndarray | Sequence | None) -> list[list[int]] | None:
    return None if taps is None else [[int(r), int(c)] for r, c in np.asarray(taps, dtype=int).reshape(-1, 2)]


# Options the browser assumes when they are left out (grid.js), so a rerun sends only what differs.
_DEFAULTS = {"maxCell": 72, "decimals": 2, "legend": True, "limit": LIMIT, "pad": [0, 0], "pickable": False}


def _data(name: str, grid: np.ndarray, scale: Scale, mode: str, **extra: Any) -> dict:
    return {
        "name": name,  # data-name on the grid's root, for tests and benchmarks
        "mode": mode,
        "rows": int(grid.shape[0]),
        "cols": int(grid.shape[1]),
        "values": grid.ravel().tolist(),
        "scale": scale.to_data(),
        **{k: v for k, v in extra.items() if v is not None and _DEFAULTS.get(k, ...) != v},
    }


def _noop() -> None:
    """The grid functions read the state themselves; a callback only declares the state name."""


_WHOLE = re.compile(r"(?<=\d)\.0(?=[,\]])")  # "1.0," -> "1,": the same number to JSON.parse, 2 bytes fewer


_PLACEHOLDER = re.compile(r'"values":(\d+)')


def _values_json(values: list[float]) -> str:
    return _WHOLE.sub("", json.dumps(values, separators=(",", ":"), allow_nan=False))


def encode(data: dict) -> bytes:
    """The component's data as compact JSON bytes (what the browser parses).

    Bytes, not a dict: Streamlit sends bytes as they are, where a dict is walked for dataframes and
    serialised twice (once more to hash it) on every rerun. Compact JSON, whole numbers in the grids'
    values written as integers, and each scale's colour stops written once ("stops" by kind, which
    the browser puts back into every scale) make it about a third of the size.
    """
    arrays: list[str] = []
    stops: dict[str, list] = {}

    def placeholder(grid: dict) -> dict:  # each grid's values are written apart: no text field is touched
        arrays.append(_values_json(grid["values"]))
        scale = dict(grid["scale"])
        stops[scale["kind"]] = scale.pop("stops")
        return {**grid, "values": len(arrays) - 1, "scale": scale}

    if "panels" in data:
        panels = [{**p, "grids": [placeholder(g) for g in p["grids"]]} for p in data["panels"]]
        data = {**data, "panels": panels}
    else:
        data = placeholder(data)
    text = json.dumps({**data, "stops": stops}, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return _PLACEHOLDER.sub(lambda m: f'"values":{arrays[int(m.group(1))]}', text).encode()


def decode(payload: bytes) -> dict:
    """The data `encode` was given, from its bytes (as the browser's `parseData` reads them)."""
    data = json.loads(payload)
    stops = data.pop("stops", {})
    for grid in [g for p in data["panels"] for g in p["grids"]] if "panels" in data else [data]:
        grid["scale"]["stops"] = stops[grid["scale"]["kind"]]
    return data


def _send(key: str, data: dict, **callbacks: Callable[[], None]) -> None:
    _component()(key=key, data=encode(data), **callbacks)


def take_stroke(
    key: str, shape: tuple[int, int], revision: int, limit: float = LIMIT, *, name: str | None = None
) -> np.ndarray | None:
    """The (H, W) grid of a new stroke painted on `revision` of the grid (key, name), once; else None.

    Every stroke read is acknowledged. A page that must know a stroke before it draws other grids (the
    output, titles) calls this first; `paint_grid` then finds the stroke already taken.
    """
    stroke = parse_stroke(_state(key, STROKE, name), limit)
    ack_key = _ack_key(key, name)
    if stroke is None or not is_new(stroke.id, stroke.seq, st.session_state.get(ack_key)):
        return None
    st.session_state[ack_key] = {"id": stroke.id, "seq": stroke.seq}
    if stroke.revision == revision and stroke.grid is not None and stroke.grid.shape == tuple(shape):
        return stroke.grid
    return None


def take_pick(key: str, shape: tuple[int, int], *, name: str | None = None) -> tuple[int, int] | None:
    """The (row, col) newly picked in the grid (key, name) of this shape, once; None if there is none.

    A page that must know the pick before it draws other grids calls this first; `view_grid` then
    finds the pick already taken.
    """
    pick = parse_pick(_state(key, PICK, name), shape)
    ack_key = _ack_key(key, name)
    if pick is None or not is_new(pick[2], pick[3], st.session_state.get(ack_key)):
        return None
    st.session_state[ack_key] = {"id": pick[2], "seq": pick[3]}
    return pick[0], pick[1]


def paint_data(
    values: np.ndarray,
    *,
    name: str,
    scale: Scale,
    revision: int = 0,
    ack: dict | None = None,
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
    bare: bool = False,
) -> dict:
    """The data of an (H, W) grid the learner paints (mode="edit": types into), for `paint_grid` or a group.

    Args:
        values: the grid, (H, W) with 1 <= H, W <= 64, finite.
        name: the grid's name (its key, or its name in a group).
        scale: the colour scale (`convlab.colour`).
        revision: bump it whenever Python replaces `values`, so the browser shows them and strokes
            painted on the old grid are ignored.
        ack: `last_ack(...)` of this grid, so the browser knows which of its strokes Python has seen.
        brush: the value a drag paints; right-drag paints 0.
        pad: zero padding (rows, columns) drawn as a hatched border around the grid.
        taps: (n, 2) cells to outline, in the grid's coordinates (negative or beyond: in the padding).
        show_values: write each value in its cell; None writes them when cells are large enough.
        height: the grid's largest height in px; it also fits its column's width.
        mode: "paint" or "edit" (click a cell and type a number; dragging paints too).
        limit: the largest magnitude a cell may take; strokes beyond it are ignored.
        bare: no caption line (size and hint) except the hover readout: for small grids in a row.
    """
    grid = _as_grid(values)
    if mode not in ("paint", "edit"):
        raise ValueError(f"paint_grid's mode is 'paint' or 'edit', got {mode!r}")
    if not (np.isfinite(brush) and abs(brush) <= limit):
        raise ValueError(f"the brush value must be a finite number within ±{limit:g}, got {brush}")
    return _data(name, grid, scale, mode, revision=int(revision), ack=ack, brush=float(brush), title=title,
                 pad=[int(pad[0]), int(pad[1])], taps=_marks(taps), showValues=show_values,
                 maxHeight=int(height), maxCell=72, legend=legend, caption=caption, limit=float(limit),
                 bare=bare or None)


def view_data(
    values: np.ndarray,
    *,
    name: str,
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
    taps: np.ndarray | None = None,
    pad: tuple[int, int] = (0, 0),
) -> dict:
    """The data of an (H, W) grid of numbers to read (and, `pickable`, to pick a cell of).

    `bare` drops the caption line (size and hint) except for the hover readout: for small grids in a row.
    `taps` and `pad` outline cells and draw zero padding as in `paint_data`.
    """
    grid = _as_grid(values)
    mark = None if picked is None else [int(picked[0]), int(picked[1])]
    return _data(name, grid, scale, "view", title=title, picked=mark, pickable=pickable,
                 decimals=int(decimals), showValues=show_values, maxHeight=int(height), maxCell=int(max_cell),
                 legend=legend, caption=caption, label=label, bare=bare or None, taps=_marks(taps),
                 pad=[int(pad[0]), int(pad[1])])


def paint_grid(
    values: np.ndarray, *, key: str, scale: Scale, revision: int = 0, **options: Any
) -> np.ndarray | None:
    """Show one grid the learner paints (options as `paint_data`); return the new (H, W) grid once."""
    new = take_stroke(key, np.shape(values), revision, options.get("limit", LIMIT))
    data = paint_data(values if new is None else new, name=key, scale=scale, revision=revision,
                      ack=last_ack(key), **options)
    _send(key, data, on_stroke_change=_noop)
    return new


def edit_grid(
    values: np.ndarray, *, key: str, scale: Scale, revision: int = 0, **options: Any
) -> np.ndarray | None:
    """`paint_grid` in edit mode: click a cell (or Enter, or a digit) and type an exact number."""
    return paint_grid(values, key=key, scale=scale, revision=revision, mode="edit", **options)


def view_grid(values: np.ndarray, *, key: str, scale: Scale, picked: tuple[int, int] | None = None,
              pickable: bool = False, **options: Any) -> tuple[int, int] | None:
    """Show one grid of numbers (options as `view_data`); `pickable`: return a new pick (row, col) once."""
    new = take_pick(key, np.shape(values)) if pickable else None
    data = view_data(values, name=key, scale=scale, picked=new or picked, pickable=pickable, **options)
    _send(key, data, on_pick_change=_noop)
    return new


def panel(
    name: str,
    grids: Sequence[dict],
    *,
    title: str = "",
    weight: float = 1.0,
    row: bool = False,
    lines: Sequence[str | tuple[str, bool]] = (),
    error: str | None = None,
) -> dict:
    """One panel of a group: a title, grids (stacked, or side by side with `row`), lines of text under
    them ((text, strong) pairs or plain text), or an error in place of the grids. `weight` is its share
    of the row's width."""
    text = [{"text": line, "strong": False} if isinstance(line, str)
            else {"text": line[0], "strong": bool(line[1])} for line in lines]
    return {"name": name, "title": title, "weight": float(weight), "row": bool(row), "grids": list(grids),
            "lines": text, "error": error}


def live_spec(*, x: str, k: str, out: str, flip: bool = False, padding: tuple[int, int] = (0, 0),
              stride: tuple[int, int] = (1, 1), dilation: tuple[int, int] = (1, 1), bias: float = 0.0,
              flipped: str | None = None, stale: Sequence[str] = (), animate: bool = False) -> dict:
    """How a group's grid `out` follows its grids `x` and `k`: out = x ⋆ k + bias (k flipped first for a
    convolution), as `convlab.ops.corr2d` computes it, so the browser can draw it before Python answers.

    `flipped`: a grid showing k flipped; `stale`: panels that only Python recomputes (dimmed meanwhile).
    The browser also outlines, on hover, the window an output cell reads and the output cells that read
    an input cell (with their weights); `animate` adds Play/Pause/Step and a scrubber that slide the
    window over every output cell, picking each in turn (`out` must be pickable).
    """
    return {"x": x, "k": k, "out": out, "flip": bool(flip), "pad": [int(v) for v in padding],
            "stride": [int(v) for v in stride], "dilation": [int(v) for v in dilation], "bias": float(bias),
            "flipped": flipped, "stale": list(stale), "animate": bool(animate)}


def grid_group(key: str, panels: Sequence[dict], *, link: str | None = None,
               live: dict | None = None) -> None:
    """Draw panels of grids as one element (one rerun message for all of them).

    `link`: a query string the browser puts in the address bar, replacing the history entry (Streamlit's
    query params would add one per change and re-render the whole page). `live` (`live_spec`): an output
    the browser recomputes while a stroke is on its way to Python.
    """
    data = {"panels": list(panels)}
    if link is not None:
        data["link"] = link
    if live is not None:
        data["live"] = live
    _send(key, data, on_stroke_change=_noop, on_pick_change=_noop)


def _event_seq(previous: object, state_name: str, name: str | None) -> int:
    last = previous.get(state_name) if isinstance(previous, dict) else None
    if name is not None:
        last = last.get(name) if isinstance(last, dict) else None
    return last["seq"] + 1 if isinstance(last, dict) and _is_int(last.get("seq")) else 1


def _inject(session_state: _ItemStore, key: str, state_name: str, event: dict, name: str | None) -> None:
    previous = session_state.get(key)
    state = dict(previous) if isinstance(previous, dict) else {}
    if name is None:
        state[state_name] = event
    else:
        events = state.get(state_name)
        state[state_name] = {**(events if isinstance(events, dict) else {}), name: event}
    session_state[key] = state


def inject_stroke(
    session_state: _ItemStore, key: str, grid: np.ndarray, revision: int, *, seq: int | None = None,
    name: str | None = None,
) -> None:
    """Make the next AppTest run see `grid` painted on `revision` of the grid (key, name), as if the browser
    had sent it. Each call is a new stroke (seq one past the previous one) unless `seq` is given."""
    seq = _event_seq(session_state.get(key), STROKE, name) if seq is None else seq
    stroke = {"id": APPTEST_INSTANCE, "seq": seq, "revision": int(revision),
              "grid": np.asarray(grid, dtype=np.float64).tolist()}
    _inject(session_state, key, STROKE, stroke, name)


def inject_pick(
    session_state: _ItemStore, key: str, cell: tuple[int, int], *, name: str | None = None
) -> None:
    """Make the next AppTest run see cell `cell` clicked in the grid (key, name)."""
    seq = _event_seq(session_state.get(key), PICK, name)
    pick = {"id": APPTEST_INSTANCE, "seq": seq, "row": int(cell[0]), "col": int(cell[1])}
    _inject(session_state, key, PICK, pick, name)
