"""The streaming loss chart: loss per epoch on a canvas, as a Streamlit component.

Why not Plotly: Streamlit mounts a new Plotly chart whenever a figure's data change, so a chart
that streams is rebuilt from scratch many times a second, and on a classroom laptop that work
crowds out the ticks themselves. This component keeps one canvas per mount and only redraws it
when new data arrive (a few milliseconds for 2000 points per run).

The data are what `convlab.figures.loss_curve_data` computes (the same runs, colours, decimation
and log-scale rules as `loss_curve_figure`). The canvas carries `data-last-epoch` and
`data-points` (of the current run) so that browser tests and benchmarks can read what is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from convlab.figures import loss_curve_data
from ui.canvas_js import MOUNT_ONCE_JS

_CSS = """
.lc-root { width: 100%; font-family: var(--st-font, sans-serif); color: var(--st-text-color, inherit); }
.lc-legend { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; min-height: 1.4em; font-size: 0.875rem; }
.lc-legend span { display: inline-flex; align-items: center; gap: 0.35rem; }
.lc-legend i { display: inline-block; width: 1.4rem; height: 0; border-top: 3px solid; }
.lc-canvas { display: block; width: 100%; }
.lc-readout {
  min-height: 1.5em; font-size: 0.875rem; font-variant-numeric: tabular-nums; opacity: 0.85;
}
"""

_HTML = """
<div class="lc-root">
  <div class="lc-legend"></div>
  <canvas class="lc-canvas" role="img" aria-label="Loss per epoch"></canvas>
  <div class="lc-readout"></div>
</div>
"""

_JS = MOUNT_ONCE_JS + r"""
// One entry per mounted component: Streamlit re-calls the default export whenever `data` changes
// and runs the returned cleanup only on unmount.
const PAD = { left: 64, right: 16, top: 12, bottom: 40 };

function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace("e+", "e");
  return String(Number(v.toPrecision(3)));
}

function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

function ticks(lo, hi, count) {
  const step = niceStep(hi - lo, count);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

function mount(parentElement) {
  const root = parentElement.querySelector(".lc-root");
  const canvas = root.querySelector(".lc-canvas");
  const legend = root.querySelector(".lc-legend");
  const readout = root.querySelector(".lc-readout");
  const entry = { canvas, data: null, draws: 0, hover: null };

  function layout() {
    const d = entry.data;
    const runs = d.runs.filter((r) => r.x.length);
    let xmax = Math.max(10, ...runs.map((r) => r.x[r.x.length - 1]));
    const ys = runs.flatMap((r) => r.y);
    if (d.target !== null) ys.push(d.target);
    let ylo, yhi;
    if (d.log) {
      const pos = ys.filter((v) => v > 0);
      ylo = pos.length ? Math.log10(Math.min(...pos)) : -1;
      yhi = pos.length ? Math.log10(Math.max(...pos)) : 1;
      if (yhi - ylo < 1) { ylo -= 0.5; yhi += 0.5; }
    } else {
      ylo = 0;
      yhi = ys.length ? Math.max(...ys) : 1;
      if (!(yhi > 0)) yhi = 1;
      yhi *= 1.05;
    }
    return { runs, xmax, ylo, yhi };
  }

  function draw() {
    const d = entry.data;
    if (!d) return;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(120, root.clientWidth);
    const height = d.height;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.height = height + "px";
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(root);
    const text = style.color || "#31333f";
    const family = style.fontFamily || "sans-serif";
    const L = layout();
    entry.layout = L;
    const pw = width - PAD.left - PAD.right, ph = height - PAD.top - PAD.bottom;
    const sx = (x) => PAD.left + ((x - 1) / Math.max(1, L.xmax - 1)) * pw;
    const sy = (y) => {
      const v = d.log ? Math.log10(y) : y;
      return PAD.top + (1 - (v - L.ylo) / (L.yhi - L.ylo)) * ph;
    };
    entry.scale = { sx, sy };

    ctx.font = `13px ${family}`;
    ctx.fillStyle = text;
    ctx.strokeStyle = "rgba(128,128,128,0.25)";
    ctx.lineWidth = 1;
    // Grid and tick labels.
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const decades = Math.ceil(L.yhi) - Math.floor(L.ylo);
    const yt = d.log
      ? ticks(Math.floor(L.ylo), Math.ceil(L.yhi), Math.min(6, decades))
          .filter((v) => v >= L.ylo - 1e-9 && v <= L.yhi + 1e-9)
      : ticks(L.ylo, L.yhi, 5);
    if (!d.empty) {
      for (const v of yt) {
        const y = d.log ? sy(Math.pow(10, v)) : sy(v);
        ctx.beginPath(); ctx.moveTo(PAD.left, y); ctx.lineTo(PAD.left + pw, y); ctx.stroke();
        ctx.fillText(d.log ? fmt(Math.pow(10, v)) : fmt(v), PAD.left - 6, y);
      }
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const xt = ticks(1, L.xmax, Math.max(2, Math.floor(pw / 80)))
      .filter((v) => v >= 1 && Number.isInteger(v));
    for (const v of xt) {
      const x = sx(v);
      ctx.beginPath(); ctx.moveTo(x, PAD.top); ctx.lineTo(x, PAD.top + ph); ctx.stroke();
      ctx.fillText(String(v), x, PAD.top + ph + 6);
    }
    ctx.fillText("epoch", PAD.left + pw / 2, height - 16);
    ctx.save();
    ctx.translate(14, PAD.top + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText(d.log ? "loss (log scale)" : "loss", 0, 0);
    ctx.restore();

    // Clip the lines to the plot area.
    ctx.save();
    ctx.beginPath(); ctx.rect(PAD.left, PAD.top, pw, ph); ctx.clip();
    if (d.target !== null && (!d.log || d.target > 0)) {
      ctx.setLineDash([6, 5]);
      ctx.strokeStyle = "gray";
      ctx.lineWidth = 2;
      const y = sy(d.target);
      ctx.beginPath(); ctx.moveTo(PAD.left, y); ctx.lineTo(PAD.left + pw, y); ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "gray";
      ctx.textAlign = "right";
      ctx.textBaseline = "bottom";
      ctx.fillText(`target ${fmt(d.target)}`, PAD.left + pw - 4, y - 2);
    }
    for (const r of L.runs) {
      ctx.globalAlpha = r.last ? 1 : 0.55;
      ctx.strokeStyle = r.color;
      ctx.fillStyle = r.color;
      ctx.lineWidth = r.last ? 3.5 : 1.5;
      ctx.lineJoin = "round";
      ctx.beginPath();
      r.x.forEach((x, i) => (i ? ctx.lineTo(sx(x), sy(r.y[i])) : ctx.moveTo(sx(x), sy(r.y[i]))));
      ctx.stroke();
      if (r.x.length <= 60) {
        const size = r.last ? 3.5 : 2;
        r.x.forEach((x, i) => {
          ctx.beginPath();
          ctx.arc(sx(x), sy(r.y[i]), size, 0, 2 * Math.PI);
          ctx.fill();
        });
      }
    }
    ctx.globalAlpha = 1;
    if (entry.hover && L.runs.length) {
      const r = L.runs[L.runs.length - 1];
      const p = entry.hover;
      ctx.fillStyle = r.color;
      ctx.strokeStyle = text;
      ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(sx(r.x[p]), sy(r.y[p]), 6, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
    ctx.restore();
    ctx.strokeStyle = "rgba(128,128,128,0.6)";
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD.left, PAD.top, pw, ph);
    if (d.empty) {
      ctx.fillStyle = text;
      ctx.font = `18px ${family}`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(d.message, PAD.left + pw / 2, PAD.top + ph / 2);
    }
    const current = d.runs.length ? d.runs[d.runs.length - 1] : null;
    canvas.dataset.lastEpoch = current && current.x.length ? String(current.x[current.x.length - 1]) : "0";
    canvas.dataset.points = current ? String(current.x.length) : "0";
    canvas.dataset.curves = JSON.stringify(d.runs.map((r) => ({ label: r.label, x: r.x, y: r.y })));
    canvas.dataset.draws = String(++entry.draws);
  }

  function onMove(event) {
    const d = entry.data, L = entry.layout;
    if (!d || !L || !L.runs.length || !entry.scale) return;
    const r = L.runs[L.runs.length - 1];
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    let best = 0, dist = Infinity;
    r.x.forEach((x, i) => {
      const dd = Math.abs(entry.scale.sx(x) - px);
      if (dd < dist) { dist = dd; best = i; }
    });
    entry.hover = best;
    readout.textContent = `${r.label}: epoch ${r.x[best]}, loss ${Number(r.y[best].toPrecision(4))}`;
    draw();
  }
  function onLeave() {
    entry.hover = null;
    readout.textContent = "";
    draw();
  }
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerleave", onLeave);
  const observer = new ResizeObserver(() => draw());
  observer.observe(root);

  entry.update = (data) => {
    entry.data = data;
    entry.hover = null;
    legend.replaceChildren(...(data.runs.length > 1 ? data.runs : []).map((r) => {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.borderColor = r.color;
      swatch.style.opacity = r.last ? "1" : "0.55";
      item.append(swatch, document.createTextNode(r.label));
      return item;
    }));
    readout.textContent = "";
    draw();
  };
  entry.cleanup = () => {
    observer.disconnect();
    canvas.removeEventListener("pointermove", onMove);
    canvas.removeEventListener("pointerleave", onLeave);
    MOUNTS.delete(parentElement);
  };
  return entry;
}
"""

_component = st.components.v2.component("convlab_loss_chart", html=_HTML, css=_CSS, js=_JS)


def loss_chart(
    runs: Sequence[tuple[str, Sequence[float]]],
    *,
    key: str,
    log_y: bool = False,
    target_loss: float | None = None,
    height: int = 300,
) -> None:
    """Draw the loss per epoch of each (label, losses) run; the last run bold, earlier ones faded.

    Raises:
        ValueError: a negative or non-finite target_loss, or a height under 120 px.
    """
    if height < 120:
        raise ValueError(f"the loss chart needs at least 120 px of height, got {height}")
    data = loss_curve_data(runs, log_y=log_y, target_loss=target_loss)
    _component(key=key, data={**data, "height": int(height)})
