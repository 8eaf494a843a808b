// The Train page's streaming loss chart: loss per epoch on a canvas, drawn in place (no remounts).
// Epochs arrive in batches with each server tick; the newest points are animated in frame by frame, so
// the curve moves at the screen's rate while the server ticks a few times a second. The canvas carries
// data-last-epoch, data-points, data-curves, data-draws and data-frames for tests and benchmarks.

const MOUNTS = new WeakMap();

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
  const root = document.createElement("div");
  root.className = "lc-root";
  const legend = document.createElement("div");
  legend.className = "lc-legend";
  const canvas = document.createElement("canvas");
  canvas.className = "lc-canvas";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "Loss per epoch");
  const readout = document.createElement("div");
  readout.className = "lc-readout";
  root.append(legend, canvas, readout);
  parentElement.appendChild(root);
  // `shown`: the epoch the current run is drawn up to (fractional while new epochs animate in).
  const entry = { canvas, data: null, draws: 0, frames: 0, hover: null, shown: 0, anim: null, lastUpdate: 0,
                  runKey: null, raf: 0 };

  function visible(r) {
    // The current run up to epoch `entry.shown`, its last point part of the way to the next: new
    // epochs arrive in batches (a few server ticks a second) and are drawn in frame by frame. By epoch,
    // not by point, so a long run (thinned to 2000 points) still moves smoothly.
    if (!r.last || !r.x.length || entry.shown >= r.x[r.x.length - 1]) return r;
    let whole = 0;
    while (whole < r.x.length && r.x[whole] <= entry.shown) whole += 1;
    const x = r.x.slice(0, whole);
    const y = r.y.slice(0, whole);
    if (whole > 0 && whole < r.x.length) {
      const f = (entry.shown - r.x[whole - 1]) / (r.x[whole] - r.x[whole - 1]);
      const [y0, y1] = [r.y[whole - 1], r.y[whole]];
      x.push(entry.shown);
      y.push(entry.data.log && y0 > 0 && y1 > 0 ? y0 * Math.pow(y1 / y0, f) : y0 + f * (y1 - y0));
    }
    return { ...r, x, y };
  }

  function layout() {
    const d = entry.data;
    const runs = d.runs.map(visible).filter((r) => r.x.length);
    const xmax = Math.max(10, ...runs.map((r) => r.x[r.x.length - 1]));
    // The y range comes from Python when given: it leaves out earlier runs that diverged (1e33), which
    // would otherwise flatten every other curve.
    const ys = d.yRange ? [...d.yRange] : runs.flatMap((r) => r.y);
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
    canvas.dataset.frames = String(entry.frames);
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

  function animate() {
    entry.raf = 0;
    const a = entry.anim;
    if (!a) return;
    const p = Math.min(1, (performance.now() - a.t0) / a.dur);
    entry.shown = a.from + (a.to - a.from) * p;
    entry.frames += 1;
    draw();
    if (p < 1) entry.raf = requestAnimationFrame(animate);
    else entry.anim = null;
  }

  entry.update = (data) => {
    const now = performance.now();
    const current = data.runs.length ? data.runs[data.runs.length - 1] : null;
    const n = current && current.x.length ? current.x[current.x.length - 1] : 0; // the last epoch
    const key = current ? `${data.runs.length}|${current.label}|${data.log}` : "";
    if (entry.data && key === entry.runKey && n > entry.shown) {
      // Spread the new points over about the time until the next batch: smooth at the screen's rate.
      const gap = entry.lastUpdate ? now - entry.lastUpdate : 100;
      entry.anim = { from: entry.shown, to: n, t0: now, dur: Math.min(400, Math.max(60, gap)) };
      if (!entry.raf) entry.raf = requestAnimationFrame(animate);
    } else {
      entry.anim = null;
      entry.shown = n;
    }
    entry.runKey = key;
    entry.lastUpdate = now;
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
    cancelAnimationFrame(entry.raf);
    observer.disconnect();
    canvas.removeEventListener("pointermove", onMove);
    canvas.removeEventListener("pointerleave", onLeave);
    MOUNTS.delete(parentElement);
  };
  return entry;
}

const UTF8 = new TextDecoder();

export default function (component) {
  const { parentElement } = component;
  // Python sends compact JSON bytes (ui/loss_chart.py): Streamlit passes bytes through untouched.
  const raw = component.data;
  const data = raw instanceof ArrayBuffer || ArrayBuffer.isView(raw) ? JSON.parse(UTF8.decode(raw)) : raw;
  let entry = MOUNTS.get(parentElement);
  if (entry && !parentElement.contains(entry.canvas)) {
    entry.cleanup();
    entry = undefined;
  }
  if (!entry) {
    entry = mount(parentElement);
    MOUNTS.set(parentElement, entry);
  }
  entry.update(data);
  return () => {
    if (!parentElement.isConnected) entry.cleanup();
  };
}
