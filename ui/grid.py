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
`name`; its events come back under it (`take_stroke(key, ..., name=...)`). When only a fragment reruns,
a group sends a patch of the version the browser drew last (`diff`), in which a painted grid Python took
as it is comes back as a reference to the browser's own stroke; a browser holding another version asks
for the whole data (its "sync" state) and gets it on the next run.

Testing with AppTest, where custom components are unknown elements and their callbacks never fire:
set the component's state before `run()` with `inject_stroke(at.session_state, key, grid, revision)`
or `inject_pick(at.session_state, key, (i, j))` (with `name=` for a grid of a group).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

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
SYNC = "sync"  # the group's state asking for whole data: it got a patch it could not apply
_SENT = "_grid.sent.{}"  # session key: (version, wire form) of the last data a group sent
_TAKEN = "_grid.taken.{}"  # session key: {grid name: (id, seq, grid)} of strokes taken since the group drew


class _Raw(str):
    """JSON text that travels as it is: a grid's values, written once and compared as text."""


def _values_json(values: list[float]) -> _Raw:
    return _Raw(_WHOLE.sub("", json.dumps(values, separators=(",", ":"), allow_nan=False)))


def _wire(data: dict) -> dict:
    """`data` as it travels: each grid's values as compact JSON text, each scale's colour stops once by kind
    ("stops", which the browser puts back into every scale)."""
    stops: dict[str, list] = {}

    def grid(g: dict) -> dict:
        scale = dict(g["scale"])
        stops[scale["kind"]] = scale.pop("stops")
        return {**g, "values": _values_json(g["values"]), "scale": scale}

    if "panels" in data:
        data = {**data, "panels": [{**p, "grids": [grid(g) for g in p["grids"]]} for p in data["panels"]]}
    else:
        data = grid(data)
    return {**data, "stops": stops}


def _dumps(node: Any) -> str:
    """Compact JSON of a wire form, its `_Raw` texts written as they are."""
    if isinstance(node, _Raw):
        return node
    if isinstance(node, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dumps(v)}" for k, v in node.items()) + "}"
    if isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
        return "[" + ",".join(_dumps(v) for v in node) + "]"
    return json.dumps(node, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def encode(data: dict) -> bytes:
    """The component's data as compact JSON bytes (what the browser parses).

    Bytes, not a dict: Streamlit sends bytes as they are, where a dict is walked for dataframes and
    serialised twice (once more to hash it) on every rerun. Compact JSON, whole numbers in the grids'
    values written as integers, and each scale's colour stops written once make it about a third of
    the size.
    """
    return _dumps(_wire(data)).encode()


def diff(old: Any, new: Any, path: str = "") -> tuple[dict[str, Any], list[str]]:
    """The patch taking wire form `old` to `new`: ({path: new value}, [paths removed]).

    Paths join keys and list indices with "/" ("panels/2/grids/0/values"); a list is patched item by
    item only when its length is unchanged and it holds dicts, else replaced whole.
    """
    sets: dict[str, Any] = {}
    gone: list[str] = []

    def walk(a: Any, b: Any, at: str) -> None:
        if a is b or (type(a) is type(b) and a == b):
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k, v in b.items():
                if k in a:
                    walk(a[k], v, f"{at}{k}/")
                else:
                    sets[f"{at}{k}"] = v
            gone.extend(f"{at}{k}" for k in a if k not in b)
        elif (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
              and any(isinstance(v, dict) for v in b)):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{at}{i}/")
        else:
            sets[at.rstrip("/")] = b

    walk(old, new, path)
    return sets, gone


def apply_patch(old: dict, sets: dict[str, Any], gone: Sequence[str] = ()) -> dict:
    """`old` with a patch from `diff` applied (copies along the patched paths; `old` is not changed)."""
    root = dict(old)

    def parent(path: str) -> tuple[Any, str | int]:
        *keys, last = path.split("/")
        node = root
        for key in keys:
            index: str | int = int(key) if isinstance(node, list) else key
            child = node[index]
            node[index] = child = list(child) if isinstance(child, list) else dict(child)
            node = child
        return node, (int(last) if isinstance(node, list) else last)

    for path, value in sets.items():
        node, key = parent(path)
        node[key] = value
    for path in gone:
        node, key = parent(path)
        del node[key]
    return root


def _grids_of(data: dict) -> list[dict]:
    return [g for p in data["panels"] for g in p["grids"]] if "panels" in data else [data]


def decode(payload: bytes, base: dict | None = None,
           strokes: Mapping[tuple[str, str, int], list] | None = None) -> dict:
    """The data `encode` was given, from its bytes (as the browser reads them). A group's patch needs the
    data of the version it patches (`base`, as decoded before) and the strokes sent since, as
    {(grid name, id, seq): grid}, for the values it says are "your stroke"."""
    data = json.loads(payload)
    if "base" in data:
        if base is None or base.get("v") != data["base"]:
            raise ValueError(f"a patch of version {data['base']} needs that version's data")
        sets = data["set"]
        for path, value in sets.items():
            if isinstance(value, dict) and "stroke" in value:
                grid = (strokes or {}).get(tuple(value["stroke"]))
                if grid is None:
                    raise ValueError(f"the patch refers to a stroke not sent: {value['stroke']}")
                sets[path] = np.asarray(grid, dtype=np.float64).ravel().tolist()
        stops = {g["scale"]["kind"]: g["scale"]["stops"] for g in _grids_of(base)}
        data = {**apply_patch({**base, "stops": stops}, sets, data.get("del", [])), "v": data["v"]}
    stops = data.pop("stops", {})
    for grid in _grids_of(data):
        scale = grid["scale"]
        grid["scale"] = {**scale, "stops": stops.get(scale["kind"], scale.get("stops"))}
    return data


def _send(key: str, data: dict, **callbacks: Callable[[], None]) -> None:
    _component()(key=key, data=encode(data), **callbacks)


def _in_fragment_run() -> bool:
    """True while only fragments rerun (a stroke, a timer tick), not the whole page."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "fragment_ids_this_run", None))


def _send_group(key: str, data: dict) -> None:
    """Send a group's data, as a patch of what it sent last when only its fragment reruns.

    A fragment's rerun (a stroke, a pick, a training tick) changes a few grids of the group; the
    browser keeps the last data it drew and applies the patch, so the kernel, the colour stops and
    the unchanged panels are not sent again. A whole-page run always sends everything (the element
    may be new in the browser); a browser that cannot apply a patch (it holds another version) asks
    for everything with its "sync" state, which makes the next run send it.
    """
    wire = _wire(data)
    sent_key = _SENT.format(key)
    sent = st.session_state.get(sent_key)
    version = sent[0] + 1 if sent else 1
    sync = _take_event(key, SYNC)
    taken = st.session_state.pop(_TAKEN.format(key), {})
    if sent and not sync and _in_fragment_run():
        sets, gone = diff(sent[1], wire)
        # A painted grid that Python took as it is: the browser holds those values already.
        as_is = {g["name"]: [g["name"], *taken[g["name"]][:2]] for g in _grids_of(data)
                 if g["name"] in taken and taken[g["name"]][2].ravel().tolist() == g["values"]}
        for path in sets:
            if (name := _grid_name(wire, path)) in as_is:
                sets[path] = {"stroke": as_is[name]}
        message: dict[str, Any] = {"v": version, "base": sent[0], "set": sets}
        if gone:
            message["del"] = gone
    else:
        message = {**wire, "v": version}
    _component()(key=key, data=_dumps(message).encode(), on_stroke_change=_noop, on_pick_change=_noop,
                 on_sync_change=_noop)
    # Recorded once sent: a run cut short raises inside the call above, before its message is queued.
    st.session_state[sent_key] = (version, wire)


def _grid_name(wire: dict, path: str) -> str | None:
    """The name of the grid whose values `path` is ("panels/i/grids/j/values"), else None."""
    parts = path.split("/")
    if len(parts) != 5 or parts[0] != "panels" or parts[4] != "values":
        return None
    return wire["panels"][int(parts[1])]["grids"][int(parts[3])]["name"]


def _take_event(key: str, state_name: str) -> bool:
    """True once for each new group-level event `{id, seq}` under `state_name` (e.g. a sync request)."""
    raw = _state(key, state_name, None)
    if not (isinstance(raw, dict) and isinstance(raw.get("id"), str) and _is_int(raw.get("seq"))):
        return False
    ack_key = _ack_key(key, state_name)
    if not is_new(raw["id"], raw["seq"], st.session_state.get(ack_key)):
        return False
    st.session_state[ack_key] = {"id": raw["id"], "seq": raw["seq"]}
    return True


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
        if name is not None:  # a group's patch may say "your stroke" instead of sending the grid back
            st.session_state.setdefault(_TAKEN.format(key), {})[name] = (stroke.id, stroke.seq, stroke.grid)
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
    _send_group(key, data)


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
