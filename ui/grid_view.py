"""A read-only grid heatmap on a canvas, as a Streamlit component, for grids that change while training.

Why not Plotly: Streamlit mounts a new Plotly chart whenever its figure changes, and a changed chart
inside a ticking fragment keeps being remounted on later ticks, which starves the ticks. This
component keeps one canvas per mount and redraws it (well under a millisecond) when the values change.

It draws what `convlab.figures.grid_heatmap` draws for small grids: a title, square cells in the
same diverging scale (red positive, blue negative, white 0, symmetric around 0), and the value in
each cell when it fits. The canvas carries `data-values` (JSON) so browser tests can read it.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from convlab.figures import DIVERGING_SCALE, cell_text
from ui.canvas_js import MOUNT_ONCE_JS

_CSS = """
.gv-root { width: 100%; font-family: var(--st-font, sans-serif); color: var(--st-text-color, inherit); }
.gv-title { text-align: center; font-size: 1.05rem; min-height: 1.5em; }
.gv-canvas { display: block; margin: 0 auto; }
"""

_HTML = """
<div class="gv-root">
  <div class="gv-title"></div>
  <canvas class="gv-canvas" role="img"></canvas>
</div>
"""

_JS = MOUNT_ONCE_JS + r"""

function parse(colour) {
  const m = colour.match(/\d+(\.\d+)?/g).map(Number);
  return m.slice(0, 3);
}

function colourAt(scale, t) {
  // scale: [[pos, [r, g, b]], ...] sorted by pos; t in [0, 1].
  for (let i = 1; i < scale.length; i++) {
    const [p1, c1] = scale[i];
    const [p0, c0] = scale[i - 1];
    if (t <= p1) {
      const f = p1 > p0 ? (t - p0) / (p1 - p0) : 0;
      return c0.map((c, k) => Math.round(c + f * (c1[k] - c)));
    }
  }
  return scale[scale.length - 1][1];
}

function mount(parentElement) {
  const root = parentElement.querySelector(".gv-root");
  const canvas = root.querySelector(".gv-canvas");
  const title = root.querySelector(".gv-title");
  const entry = { canvas, data: null };

  function draw() {
    const d = entry.data;
    if (!d) return;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(40, root.clientWidth);
    const cell = Math.max(4, Math.min(d.maxCell, width / d.cols, d.maxHeight / d.rows));
    const w = cell * d.cols, h = cell * d.rows;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.width = w + "px";
    canvas.style.height = h + "px";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const scale = d.scale.map(([p, c]) => [p, parse(c)]);
    const family = getComputedStyle(root).fontFamily || "sans-serif";
    const texts = d.texts;
    const longest = Math.max(...texts.map((t) => t.length));
    const font = Math.min(24, cell * 0.8, (cell * 0.9) / (0.6 * longest));
    const showText = d.showValues && font >= 10;
    ctx.font = `${Math.round(font)}px ${family}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    const gap = cell >= 12 ? 1 : 0;
    for (let i = 0; i < d.rows; i++) {
      for (let j = 0; j < d.cols; j++) {
        const v = d.values[i * d.cols + j];
        const t = Math.max(0, Math.min(1, (v + d.zmax) / (2 * d.zmax)));
        const [r, g, b] = colourAt(scale, t);
        ctx.fillStyle = `rgb(${r},${g},${b})`;
        ctx.fillRect(j * cell + gap / 2, i * cell + gap / 2, cell - gap, cell - gap);
        if (showText) {
          ctx.fillStyle = 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#111" : "#fff";
          ctx.fillText(texts[i * d.cols + j], (j + 0.5) * cell, (i + 0.5) * cell);
        }
      }
    }
    canvas.dataset.values = JSON.stringify(d.values);
    canvas.dataset.shape = `${d.rows}x${d.cols}`;
  }

  const observer = new ResizeObserver(() => draw());
  observer.observe(root);
  entry.update = (data) => {
    entry.data = data;
    title.textContent = data.title;
    canvas.setAttribute("aria-label", data.title);
    draw();
  };
  entry.cleanup = () => {
    observer.disconnect();
    MOUNTS.delete(parentElement);
  };
  return entry;
}
"""

_component = st.components.v2.component("convlab_grid_view", html=_HTML, css=_CSS, js=_JS)


def grid_view(
    Z: np.ndarray,
    *,
    key: str,
    title: str = "",
    decimals: int = 2,
    max_height: int = 220,
    show_values: bool = True,
) -> None:
    """Draw an (H, W) grid of finite numbers as a diverging heatmap with its values in the cells.

    Raises:
        ValueError: Z not a non-empty finite 2-D grid.
    """
    a = np.asarray(Z, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"the grid must be a non-empty 2-D array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("the grid contains NaN or infinity: every cell needs a finite number")
    top = float(np.abs(a).max()) or 1.0
    data = {
        "rows": int(a.shape[0]),
        "cols": int(a.shape[1]),
        "values": a.ravel().tolist(),
        "texts": cell_text(a, decimals).ravel().tolist(),  # as the Plotly heatmaps write them
        "zmax": top if math.isfinite(top) else 1.0,
        "title": str(title),
        "maxHeight": int(max_height),
        "maxCell": 72,
        "showValues": bool(show_values),
        "scale": DIVERGING_SCALE,
    }
    _component(key=key, data=data)
