"""The paint grid: an (H, W) grid of numbers the learner paints by dragging, as a Streamlit component.

It is a *controlled* component. The page keeps the authoritative grid in `st.session_state` with a
`revision` counter that it bumps whenever Python replaces the grid (preset, upload, transform,
resize, clear). The browser shows `values` for the current revision; a finished stroke is sent once,
on pointerup, as `{id, seq, revision, grid}` (the mount's instance id, the stroke's sequence number,
the revision it was painted on, the full grid). `paint_grid` returns that grid exactly once and
ignores strokes painted on an older revision. Python acknowledges the last stroke it handled
(`ack` in the data), and the browser keeps its own grid until that acknowledgement covers its
latest stroke, so a late rerun never wipes a newer stroke while a new revision always shows.

Usage on a page::

    X = paint_grid(st.session_state.X, key="input_grid", revision=st.session_state.X_rev)
    if X is not None:
        st.session_state.X = X

Testing with AppTest, where custom components are unknown elements and their callbacks never fire:
a stroke is the component's state, `at.session_state[key] == {"stroke": {...}}`. Set it before
`run()` with `inject_stroke(at.session_state, key, grid, revision)`; the next run returns `grid`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import streamlit as st

from convlab.figures import ACCENT

MAX_SIDE = 64
STATE_NAME = "stroke"  # the component's state value holding the last finished stroke
APPTEST_INSTANCE = "apptest"  # the instance id `inject_stroke` writes

_CSS = """
.pg-root {
  width: 100%;
  font-family: var(--st-font, sans-serif);
  color: var(--st-text-color, inherit);
}
.pg-canvas {
  display: block;
  cursor: crosshair;
  /* Without these a touch drag scrolls the page and a mouse drag selects text. */
  touch-action: none;
  user-select: none;
  -webkit-user-select: none;
}
.pg-caption {
  margin-top: 0.25rem;
  min-height: 1.5em;
  font-size: 0.875rem;
  font-variant-numeric: tabular-nums;
  opacity: 0.8;
}
"""

_HTML = """
<div class="pg-root">
  <canvas class="pg-canvas" role="img" aria-label="Paint grid"></canvas>
  <div class="pg-caption"></div>
</div>
"""

_JS = r"""
// One entry per mounted component. Streamlit re-calls the default export whenever `data` changes
// (same parentElement) and runs a returned cleanup only on unmount, so events are wired once here.
const MOUNTS = new WeakMap();
const FALLBACK_ACCENT = "#ff4b4b";
const HALO = "rgba(20, 20, 20, 0.85)";
// Mid-gray at half opacity stays visible on both black and white cells.
const GRID_LINE = "rgba(128, 128, 128, 0.55)";

function newInstanceId() {
  // crypto.randomUUID needs a secure context; a classroom server on a LAN address is not one.
  return Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
}

function fmtCell(v) {
  if (Number.isInteger(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return String(Number(v.toPrecision(2)));
}

function fmtFull(v) {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function finite(v, fallback) {
  return Number.isFinite(v) ? v : fallback;
}

function mount(parentElement) {
  const root = parentElement.querySelector(".pg-root");
  if (!root) throw new Error("paint grid: markup missing");
  const canvas = root.querySelector(".pg-canvas");
  const caption = root.querySelector(".pg-caption");
  const ctx = canvas.getContext("2d");
  const pixels = document.createElement("canvas");
  const pixelsCtx = pixels.getContext("2d");
  const s = {
    id: newInstanceId(),
    seq: 0, // last stroke sent
    pending: 0, // last stroke sent and not yet acknowledged by Python (0: none)
    rev: null,
    rows: 0,
    cols: 0,
    grid: new Float64Array(0),
    highlight: null,
    data: null,
    stroke: null, // {pointerId, value, last: [row, col], changed}
    hover: null, // [row, col] under the pointer
    cell: 0,
    dpr: 1,
    accent: FALLBACK_ACCENT,
    setStateValue: null,
  };

  function adopt(data) {
    s.rows = data.rows;
    s.cols = data.cols;
    s.rev = data.revision;
    s.grid = Float64Array.from(data.values, (v) => finite(v, 0));
  }

  function ackCovers(ack) {
    return s.pending === 0 || (ack != null && ack.id === s.id && ack.seq >= s.pending);
  }

  function layout() {
    const d = s.data;
    const width = root.clientWidth || d.height;
    const cell = Math.max(1, Math.floor(Math.min(width / s.cols, d.height / s.rows)));
    const dpr = window.devicePixelRatio || 1;
    const w = cell * s.cols;
    const h = cell * s.rows;
    if (cell === s.cell && dpr === s.dpr && canvas.width === Math.round(w * dpr)
        && canvas.height === Math.round(h * dpr)) return;
    s.cell = cell;
    s.dpr = dpr;
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
    // A backing store in device pixels keeps cell edges and digits crisp on HiDPI screens.
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }

  function draw() {
    const d = s.data;
    if (!d || s.rows === 0) return;
    const { rows, cols, cell, grid } = s;
    const w = cell * cols;
    const h = cell * rows;
    const span = d.vmax - d.vmin;
    // One pixel per cell, scaled up without smoothing: ~10x faster than a fillRect per cell at
    // 64x64, which matters because a drag redraws on every pointer move.
    if (pixels.width !== cols || pixels.height !== rows) {
      pixels.width = cols;
      pixels.height = rows;
    }
    const image = pixelsCtx.createImageData(cols, rows);
    for (let i = 0; i < rows * cols; i++) {
      const g = Math.round(255 * Math.min(1, Math.max(0, (grid[i] - d.vmin) / span)));
      image.data[4 * i] = g;
      image.data[4 * i + 1] = g;
      image.data[4 * i + 2] = g;
      image.data[4 * i + 3] = 255;
    }
    pixelsCtx.putImageData(image, 0, 0);
    ctx.setTransform(s.dpr, 0, 0, s.dpr, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(pixels, 0, 0, w, h);
    // One device pixel: thin on HiDPI screens, never blurred across two pixels.
    const lw = 1 / s.dpr;
    ctx.fillStyle = GRID_LINE;
    // Below 8 px the lines would turn an image into a mesh; the outer border still frames it.
    if (cell >= 8) {
      for (let c = 1; c < cols; c++) ctx.fillRect(c * cell, 0, lw, h);
      for (let r = 1; r < rows; r++) ctx.fillRect(0, r * cell, w, lw);
    }
    ctx.fillRect(0, 0, w, lw);
    ctx.fillRect(0, h - lw, w, lw);
    ctx.fillRect(0, 0, lw, h);
    ctx.fillRect(w - lw, 0, lw, h);
    if (d.showValues ?? cell >= 28) drawValues();
    if (s.highlight) drawHighlight();
  }

  function drawValues() {
    const d = s.data;
    const { rows, cols, cell, grid } = s;
    const family = getComputedStyle(root).fontFamily || "sans-serif";
    const maxSize = Math.min(16, Math.floor(cell * 0.42));
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = grid[r * cols + c];
        const text = fmtCell(v);
        let size = maxSize;
        ctx.font = `${size}px ${family}`;
        while (size > 6 && ctx.measureText(text).width > cell - 3) {
          size -= 1;
          ctx.font = `${size}px ${family}`;
        }
        if (size < 6) continue;
        const t = (v - d.vmin) / (d.vmax - d.vmin);
        ctx.fillStyle = t > 0.5 ? "#000" : "#fff";
        ctx.fillText(text, (c + 0.5) * cell, (r + 0.5) * cell + 0.5);
      }
    }
  }

  function drawHighlight() {
    const { rows, cols, cell, highlight } = s;
    const on = (r, c) => r >= 0 && r < rows && c >= 0 && c < cols && highlight[r * cols + c] === 1;
    const lw = Math.max(2, Math.min(5, Math.round(cell * 0.12)));
    // Outline the union of the marked cells, inset so an edge window is not half clipped: first a
    // dark band (so the accent shows on white cells too), then the accent on the cells' edge.
    for (const [style, width] of [[HALO, lw + Math.max(1, Math.round(lw / 2))], [s.accent, lw]]) {
      ctx.fillStyle = style;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          if (!on(r, c)) continue;
          const x = c * cell;
          const y = r * cell;
          if (!on(r - 1, c)) ctx.fillRect(x, y, cell, width);
          if (!on(r + 1, c)) ctx.fillRect(x, y + cell - width, cell, width);
          if (!on(r, c - 1)) ctx.fillRect(x, y, width, cell);
          if (!on(r, c + 1)) ctx.fillRect(x + cell - width, y, width, cell);
        }
      }
    }
  }

  function expose() {
    canvas.dataset.rows = String(s.rows);
    canvas.dataset.cols = String(s.cols);
    canvas.dataset.revision = String(s.rev);
    canvas.dataset.seq = String(s.seq);
    canvas.dataset.pending = String(s.pending);
    canvas.dataset.cell = String(s.cell);
  }

  function showCaption() {
    const d = s.data;
    if (s.hover) {
      const [r, c] = s.hover;
      caption.textContent = `row ${r}, col ${c} = ${fmtFull(s.grid[r * s.cols + c])}`;
    } else {
      caption.textContent =
        `${s.rows} × ${s.cols} · drag paints ${fmtFull(d.brush)}, right-drag erases`;
    }
  }

  function cellAt(ev) {
    const rect = canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) return null;
    return [
      Math.floor(((ev.clientY - rect.top) / rect.height) * s.rows),
      Math.floor(((ev.clientX - rect.left) / rect.width) * s.cols),
    ];
  }

  function inside(cell) {
    return cell !== null && cell[0] >= 0 && cell[0] < s.rows && cell[1] >= 0 && cell[1] < s.cols;
  }

  function paintCell(r, c) {
    if (r < 0 || r >= s.rows || c < 0 || c >= s.cols) return;
    const i = r * s.cols + c;
    if (s.grid[i] !== s.stroke.value) {
      s.grid[i] = s.stroke.value;
      s.stroke.changed = true;
    }
  }

  // Bresenham between consecutive pointer positions, so a fast drag leaves no gaps.
  function paintLine(from, to) {
    let [r0, c0] = from;
    const [r1, c1] = to;
    const dc = Math.abs(c1 - c0);
    const dr = -Math.abs(r1 - r0);
    const sc = c0 < c1 ? 1 : -1;
    const sr = r0 < r1 ? 1 : -1;
    let err = dc + dr;
    for (;;) {
      paintCell(r0, c0);
      if (r0 === r1 && c0 === c1) break;
      const e2 = 2 * err;
      if (e2 >= dr) {
        err += dr;
        c0 += sc;
      }
      if (e2 <= dc) {
        err += dc;
        r0 += sr;
      }
    }
  }

  function finishStroke(ev) {
    const stroke = s.stroke;
    if (!stroke || ev.pointerId !== stroke.pointerId) return;
    s.stroke = null;
    if (!stroke.changed) return;
    s.seq += 1;
    s.pending = s.seq;
    expose();
    const grid = [];
    for (let r = 0; r < s.rows; r++) grid.push(Array.from(s.grid.subarray(r * s.cols, (r + 1) * s.cols)));
    s.setStateValue("stroke", { id: s.id, seq: s.seq, revision: s.rev, grid });
  }

  function onPointerDown(ev) {
    if (ev.button !== 0 && ev.button !== 2) return;
    const cell = cellAt(ev);
    if (!inside(cell) || s.stroke) return;
    ev.preventDefault();
    canvas.setPointerCapture(ev.pointerId);
    const value = ev.button === 2 ? 0 : s.data.brush;
    s.stroke = { pointerId: ev.pointerId, value, last: cell, changed: false };
    paintLine(cell, cell);
    s.hover = cell;
    draw();
    showCaption();
  }

  function onPointerMove(ev) {
    const stroke = s.stroke;
    if (stroke && ev.pointerId === stroke.pointerId) {
      // Coalesced events keep the true path when the browser batches moves into one frame.
      const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [];
      for (const e of events.length ? events : [ev]) {
        const cell = cellAt(e);
        if (cell === null) continue;
        paintLine(stroke.last, cell);
        stroke.last = cell;
      }
      draw();
    }
    const cell = cellAt(ev);
    s.hover = inside(cell) ? cell : null;
    showCaption();
  }

  function onPointerLeave() {
    if (s.stroke) return;
    s.hover = null;
    showCaption();
  }

  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", finishStroke);
  canvas.addEventListener("pointercancel", finishStroke);
  canvas.addEventListener("lostpointercapture", finishStroke);
  canvas.addEventListener("pointerleave", onPointerLeave);
  canvas.addEventListener("contextmenu", (ev) => ev.preventDefault());

  let lastWidth = -1;
  const resizeObserver = new ResizeObserver(() => {
    if (!root.isConnected) {
      teardown();
      return;
    }
    if (root.clientWidth === lastWidth || !s.data) return;
    lastWidth = root.clientWidth;
    layout();
    draw();
    expose();
  });
  resizeObserver.observe(root);

  function teardown() {
    resizeObserver.disconnect();
    if (MOUNTS.get(parentElement) === entry) MOUNTS.delete(parentElement);
  }

  function update(data) {
    s.data = data;
    const reshaped = data.rows !== s.rows || data.cols !== s.cols;
    if (reshaped || data.revision !== s.rev) {
      // Python replaced the grid: always show it; a stroke in flight continues on the new grid.
      adopt(data);
      s.pending = 0;
    } else if (ackCovers(data.ack)) {
      s.pending = 0;
      if (!s.stroke) adopt(data);
    }
    // Otherwise Python has not seen our latest stroke yet: keep the local grid.
    s.highlight = data.highlight ? Int8Array.from(data.highlight) : null;
    s.accent = data.accent || getComputedStyle(root).getPropertyValue("--st-primary-color").trim()
      || FALLBACK_ACCENT;
    layout();
    draw();
    expose();
    showCaption();
  }

  const entry = {
    canvas,
    update,
    teardown,
    setSender(fn) {
      s.setStateValue = fn;
    },
    // Streamlit also calls the cleanup of a superseded call while still mounted: only a
    // detached component is torn down.
    cleanup: () => {
      if (!parentElement.isConnected) teardown();
    },
  };
  return entry;
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let entry = MOUNTS.get(parentElement);
  if (entry && !parentElement.contains(entry.canvas)) {
    entry.teardown();
    entry = undefined;
  }
  if (!entry) {
    entry = mount(parentElement);
    MOUNTS.set(parentElement, entry);
  }
  entry.setSender(setStateValue);
  entry.update(data);
  return entry.cleanup;
}
"""

_component = st.components.v2.component("convlab_paint_grid", html=_HTML, css=_CSS, js=_JS)


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


def _ack_key(key: str) -> str:
    """Session-state key holding the last stroke `paint_grid` handled for the component `key`."""
    return f"paint_grid.ack.{key}"


def _is_int(value: object) -> bool:
    """An int from JSON; `True` is an int to Python but never a sequence number."""
    return isinstance(value, int) and not isinstance(value, bool)


def parse_stroke(raw: object) -> Stroke | None:
    """Read the component's `stroke` state; None if absent or malformed."""
    if not isinstance(raw, dict):
        return None
    stroke_id, seq, revision = raw.get("id"), raw.get("seq"), raw.get("revision")
    if not (isinstance(stroke_id, str) and _is_int(seq) and _is_int(revision)):
        return None
    try:
        grid = np.asarray(raw.get("grid"), dtype=np.float64)
    except (TypeError, ValueError):
        grid = None
    if grid is not None and (grid.ndim != 2 or grid.size == 0 or not np.isfinite(grid).all()):
        grid = None
    return Stroke(stroke_id, seq, revision, grid)


def is_new_stroke(stroke: Stroke, last: object) -> bool:
    """True unless `last` (an ack `{id, seq}`) already covers `stroke`."""
    if not isinstance(last, dict) or last.get("id") != stroke.id:
        return True
    last_seq = last.get("seq")
    return not _is_int(last_seq) or stroke.seq > last_seq


def _as_grid(values: np.ndarray) -> np.ndarray:
    """`values` as an (H, W) float64 grid within the size the component draws."""
    grid = np.asarray(values, dtype=np.float64)
    if grid.ndim != 2 or not (1 <= grid.shape[0] <= MAX_SIDE and 1 <= grid.shape[1] <= MAX_SIDE):
        raise ValueError(
            f"the paint grid takes a 2D grid with 1 to {MAX_SIDE} rows and columns, got shape {grid.shape}"
        )
    return grid


def _finite_values(grid: np.ndarray, vmin: float, vmax: float) -> list[float]:
    """Flat cell values safe for the browser's JSON parser, which rejects Python's `NaN`/`Infinity`."""
    return np.nan_to_num(grid, nan=0.0, posinf=vmax, neginf=vmin).ravel().tolist()


def paint_grid(
    values: np.ndarray,
    *,
    key: str,
    brush: float = 1.0,
    revision: int = 0,
    vmin: float = 0.0,
    vmax: float = 1.0,
    show_values: bool | None = None,
    highlight: np.ndarray | None = None,
    height: int = 360,
) -> np.ndarray | None:
    """Show an (H, W) grid the learner paints by dragging; return the grid after a new stroke, else None.

    Args:
        values: the grid to show, (H, W) with 1 <= H, W <= 64. Non-finite cells are shown (and
            painted over) as 0, vmax (+inf) or vmin (-inf).
        key: unique widget key. `st.session_state[key]` becomes the component's state, so keep the
            grid itself under another key.
        brush: the value left-drag paints; right-drag paints 0.
        revision: bump it whenever Python replaces `values`, so the browser shows them and strokes
            painted on the old grid are ignored.
        vmin, vmax: values drawn black and white; cells outside are clipped in colour only.
        show_values: write each value in its cell; None writes them when cells are >= 28 px.
        highlight: optional (H, W) bool mask outlined in the heatmaps' accent colour (gold).
        height: maximum canvas height in px; the canvas also fits the container's width.

    Returns:
        The painted grid, (H, W) float64, once per new stroke on the current revision; else None.

    Raises:
        ValueError: on a wrongly shaped grid or mask, or non-finite or inverted brush/vmin/vmax.
    """
    grid = _as_grid(values)
    if not all(np.isfinite([brush, vmin, vmax])):
        raise ValueError(f"brush, vmin and vmax must be finite numbers, got {brush}, {vmin}, {vmax}")
    if not vmin < vmax:
        raise ValueError(f"vmin must be below vmax, got vmin={vmin}, vmax={vmax}")
    if height < 16:
        raise ValueError(f"the paint grid needs at least 16 px of height, got {height}")
    mask = None
    if highlight is not None:
        mask = np.asarray(highlight, dtype=bool)
        if mask.shape != grid.shape:
            raise ValueError(f"highlight mask has shape {mask.shape}, the grid has shape {grid.shape}")

    new_grid = None
    # The component's state is readable before it is mounted in this run, so the data sent
    # below can already carry the stroke's grid and its acknowledgement.
    state = st.session_state.get(key)
    stroke = parse_stroke(state.get(STATE_NAME)) if isinstance(state, dict) else None
    ack_key = _ack_key(key)
    if stroke is not None and is_new_stroke(stroke, st.session_state.get(ack_key)):
        st.session_state[ack_key] = {"id": stroke.id, "seq": stroke.seq}
        if stroke.revision == revision and stroke.grid is not None and stroke.grid.shape == grid.shape:
            new_grid = stroke.grid

    shown = grid if new_grid is None else new_grid
    data = {
        "rows": int(shown.shape[0]),
        "cols": int(shown.shape[1]),
        "values": _finite_values(shown, float(vmin), float(vmax)),
        "revision": int(revision),
        "ack": st.session_state.get(ack_key),
        "brush": float(brush),
        "vmin": float(vmin),
        "vmax": float(vmax),
        "showValues": None if show_values is None else bool(show_values),
        "highlight": None if mask is None else mask.astype(np.int8).ravel().tolist(),
        "height": int(height),
        "accent": ACCENT,  # the heatmaps' outline colour, so the window matches its output cell
    }
    _component(key=key, data=data, on_stroke_change=_on_stroke)
    return new_grid


def _on_stroke() -> None:
    """Nothing to do: `paint_grid` reads the stroke itself. Declares `stroke` as a state value."""


def inject_stroke(
    session_state: _ItemStore, key: str, grid: np.ndarray, revision: int, *, seq: int | None = None
) -> None:
    """Make the next AppTest run see `grid` painted on `revision`, as if the browser had sent it.

    Use `inject_stroke(at.session_state, key, grid, revision)` before `at.run()`. Each call is a new
    stroke (seq one past the previous one) unless `seq` is given.
    """
    if seq is None:
        previous = session_state.get(key)
        last = parse_stroke(previous.get(STATE_NAME)) if isinstance(previous, dict) else None
        seq = 1 if last is None else last.seq + 1
    stroke = {
        "id": APPTEST_INSTANCE,
        "seq": seq,
        "revision": int(revision),
        "grid": np.asarray(grid, dtype=np.float64).tolist(),
    }
    session_state[key] = {STATE_NAME: stroke}
