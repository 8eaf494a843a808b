// ConvLab's one grid component: every grid of the app (input, kernel, output, explanation, training).
//
// Drawing is a pure function of the data Python sends (values, colour scale, marks) plus the local
// interaction state (hover, focus, a stroke in flight). Three modes:
//   paint: drag with the brush value, right-drag erases (0); keyboard Space paints, Delete erases;
//          with a finger or a pen (no right button) a drag that starts on a cell holding the brush
//          value erases, so a tap toggles a cell;
//   edit:  click a cell (or Enter, F2, a digit) and type a number: 0.5, -2/3, 1e-3 are accepted,
//          anything else is refused in place and the old value kept; dragging paints the brush;
//   view:  click or use the keyboard to pick a cell; hover reads a value.
// Paint and edit send the whole grid once per stroke as the state value "stroke": {id, seq,
// revision, grid}. Python acknowledges the last stroke it handled (data.ack) and the browser keeps
// its own grid until that acknowledgement covers its latest stroke, so a late rerun never wipes a
// newer stroke while a new revision (a preset, an upload) always shows. View sends "pick":
// {id, seq, row, col}.
//
// Streamlit re-calls the default export whenever `data` changes (same parentElement) and runs the
// returned cleanup only on unmount, so events are wired once per mount (MOUNTS).

const MOUNTS = new WeakMap();
const ACCENT = "#FFB000"; // gold: stands out on red, blue, black and white cells
const HALO = "rgba(20, 20, 20, 0.85)";
const GRID_LINE = "rgba(128, 128, 128, 0.55)";
const PAD_HATCH = "rgba(128, 128, 128, 0.75)";
const DARK_TEXT = [0, 0, 0];
const NOT_YET = [205, 205, 205]; // an output cell the sliding-window animation has not reached
const LIGHT_TEXT = [255, 255, 255];
const KEY_SEND_DELAY = 250; // ms of keyboard quiet before painted cells are sent
const PICK_DELAY = 120; // ms: arrows held down pick once they settle

function newInstanceId() {
  // crypto.randomUUID needs a secure context; a classroom server on a LAN address is not one.
  return Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
}

// Numbers as the learner types them: decimals, signs (also the typographic minus), exponents and
// fractions such as 1/9 or -2/3. Returns a finite number or null.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
export function parseNumber(text) {
  const t = String(text).trim().replace(/\u2212/g, "-").replace(/\s+/g, "");
  if (!t) return null;
  const parts = t.split("/");
  if (parts.length > 2 || !parts.every((p) => DECIMAL.test(p))) return null;
  const value = parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(parts[0]);
  return Number.isFinite(value) ? value : null;
}

// The shortest text for a value, as the cells write it: `decimals` places, no trailing zeros, no "-0".
function cellText(v, decimals) {
  if (Math.abs(v) >= 1e5) return v.toExponential(1).replace("e+", "e");
  let text = v.toFixed(decimals);
  if (decimals > 0) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return text === "-0" ? "0" : text.replace("-", "\u2212");
}

// Readouts and accessible names: four significant digits, typographic minus.
function fullText(v) {
  const text = Number.isInteger(v) && Math.abs(v) < 1e9 ? String(v) : String(Number(v.toPrecision(4)));
  return text.replace("-", "\u2212");
}

function luminance([r, g, b]) {
  const lin = (c) => {
    c /= 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

// Black or white, whichever contrasts more (convlab.colour.text_colour does the same).
function textOn(rgb) {
  return contrast(rgb, DARK_TEXT) >= contrast(rgb, LIGHT_TEXT) ? DARK_TEXT : LIGHT_TEXT;
}

// Position along the scale in 0..1 -> RGB, linear between evenly spaced stops, rounded half up
// (convlab.colour.Scale.colours does the same).
function colourAt(stops, t) {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i;
  return [0, 1, 2].map((k) => Math.floor(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]) + 0.5));
}

// A new element of this tag and class.
function element(tag, className) {
  const el = document.createElement(tag);
  el.className = className;
  return el;
}

function mountGrid(host) {
  const root = element("div", "cl-grid");
  const title = element("div", "cl-title");
  const frame = element("div", "cl-frame");
  frame.tabIndex = 0;
  frame.setAttribute("role", "grid");
  // One hidden row and cell carry the focused cell's accessible name (a virtualised ARIA grid).
  const ariaRow = document.createElement("div");
  ariaRow.setAttribute("role", "row");
  ariaRow.className = "cl-sr";
  const ariaCell = document.createElement("div");
  ariaCell.setAttribute("role", "gridcell");
  ariaCell.id = `cl-cell-${newInstanceId()}`;
  ariaRow.appendChild(ariaCell);
  const canvas = element("canvas", "cl-canvas");
  const editor = element("input", "cl-editor");
  editor.type = "text";
  editor.inputMode = "decimal";
  editor.autocomplete = "off";
  editor.spellcheck = false;
  editor.hidden = true;
  frame.append(canvas, editor, ariaRow);
  const caption = element("div", "cl-caption");
  const message = element("div", "cl-message");
  message.setAttribute("role", "status");
  const legend = element("div", "cl-legend");
  root.append(title, frame, caption, message, legend);
  host.appendChild(root);

  const ctx = canvas.getContext("2d");
  const pixels = document.createElement("canvas");
  const pixelsCtx = pixels.getContext("2d");
  const touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  const s = {
    id: newInstanceId(),
    seq: 0, // last stroke or pick sent
    pending: 0, // last stroke sent and not yet acknowledged by Python (0: none)
    rev: null,
    rows: 0,
    cols: 0,
    grid: new Float64Array(0),
    data: null,
    stroke: null, // {pointerId, value, start, last, moved, changed}
    hover: null, // [row, col] under the pointer
    focus: [0, 0],
    keyboard: false, // show the focus ring: the last interaction was a key
    cell: 0,
    dpr: 1,
    width: 0, // the root's width, from the ResizeObserver
    family: "", // the font family, read once
    legendKey: null,
    editing: null, // [row, col] while the number editor is open
    keyTimer: null,
    pickTimer: null,
    send: null, // (state name, value): Streamlit's setStateValue, or the group's merge of it
    onLocal: null, // (): the local grid changed (a group previews what depends on it)
    onHover: null, // ([r, c] | null): the cell under the pointer (or the keyboard focus) changed
    onPick: null, // ([r, c]): the learner picked a cell here
    // Marks a group draws from the browser's own state (hover, the sliding-window animation):
    // taps: an outline replacing data.taps; marks: [r, c, weight] cells outlined dashed with their
    // weight written small; shown: only the first `shown` cells (row by row) are filled in.
    overlay: { taps: null, marks: null, shown: null },
  };

  const padOf = () => (s.data && s.data.pad ? s.data.pad : [0, 0]);

  function adopt(data) {
    s.rows = data.rows;
    s.cols = data.cols;
    s.rev = data.revision;
    s.grid = Float64Array.from(data.values, (v) => (Number.isFinite(v) ? v : 0));
    s.focus = [Math.min(s.focus[0], s.rows - 1), Math.min(s.focus[1], s.cols - 1)];
  }

  function ackCovers(ack) {
    return s.pending === 0 || (ack != null && ack.id === s.id && ack.seq >= s.pending);
  }

  function layout() {
    const d = s.data;
    const [ph, pw] = padOf();
    const rows = s.rows + 2 * ph;
    const cols = s.cols + 2 * pw;
    // The width comes from the ResizeObserver: reading clientWidth here would force a layout of the
    // whole page for every grid of every update.
    const width = s.width || (s.width = root.clientWidth) || d.maxHeight; // read once, at mount
    const cell = Math.max(2, Math.floor(Math.min(width / cols, d.maxHeight / rows, d.maxCell ?? 72)));
    const dpr = window.devicePixelRatio || 1;
    if (cell === s.cell && dpr === s.dpr && canvas.width === Math.round(cell * cols * dpr)
        && canvas.height === Math.round(cell * rows * dpr)) return;
    s.cell = cell;
    s.dpr = dpr;
    canvas.style.width = `${cell * cols}px`;
    canvas.style.height = `${cell * rows}px`;
    frame.style.width = `${cell * cols}px`;
    // A backing store in device pixels keeps cell edges and digits crisp on HiDPI screens.
    canvas.width = Math.round(cell * cols * dpr);
    canvas.height = Math.round(cell * rows * dpr);
  }

  function colourOf(v) {
    // The same arithmetic as convlab.colour.Scale.position, to the last bit, so a colour on screen and
    // in a PNG export round alike.
    const sc = s.data.scale;
    return colourAt(sc.stops, sc.kind === "signed" ? 0.5 + 0.5 * (v / sc.hi) : (v - sc.lo) / (sc.hi - sc.lo));
  }

  function draw() {
    const d = s.data;
    if (!d || s.rows === 0) return;
    const { rows, cols, cell, grid } = s;
    const [ph, pw] = padOf();
    const R = rows + 2 * ph;
    const C = cols + 2 * pw;
    // One pixel per cell, scaled up without smoothing: ~10x faster than a fillRect per cell at
    // 64x64, which matters because a drag redraws on every pointer move.
    if (pixels.width !== C || pixels.height !== R) {
      pixels.width = C;
      pixels.height = R;
    }
    const image = pixelsCtx.createImageData(C, R);
    const zero = colourOf(0);
    const shown = s.overlay.shown ?? Infinity;
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        const i = r - ph;
        const j = c - pw;
        const inside = i >= 0 && i < rows && j >= 0 && j < cols;
        const rgb = !inside ? zero : i * cols + j < shown ? colourOf(grid[i * cols + j]) : NOT_YET;
        const k = 4 * (r * C + c);
        image.data[k] = rgb[0];
        image.data[k + 1] = rgb[1];
        image.data[k + 2] = rgb[2];
        image.data[k + 3] = 255;
      }
    }
    pixelsCtx.putImageData(image, 0, 0);
    ctx.setTransform(s.dpr, 0, 0, s.dpr, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, C * cell, R * cell);
    ctx.drawImage(pixels, 0, 0, C * cell, R * cell);
    if (ph || pw) drawPadding(R, C);
    drawLines(R, C);
    if (d.showValues ?? cell >= 26) drawValues();
    if (d.scale.kind === "image") drawOutOfRange();
    const taps = s.overlay.taps || d.taps;
    if (taps) drawOutline(taps.map(([r, c]) => [r + ph, c + pw]), true);
    if (d.picked) drawOutline([[d.picked[0] + ph, d.picked[1] + pw]], false);
    if (s.overlay.marks) drawMarks(s.overlay.marks);
    if (s.keyboard && document.activeElement === frame && s.data.mode) drawFocus();
    expose();
  }

  function drawPadding(R, C) {
    // Zero padding: hatched cells around the input, so the border reads as "added zeros".
    const { cell } = s;
    const [ph, pw] = padOf();
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, 0, C * cell, R * cell);
    ctx.rect(pw * cell, ph * cell, s.cols * cell, s.rows * cell);
    ctx.clip("evenodd");
    ctx.strokeStyle = PAD_HATCH;
    ctx.lineWidth = 1;
    const step = Math.max(4, cell / 3);
    ctx.beginPath();
    for (let x = -R * cell; x < C * cell; x += step) {
      ctx.moveTo(x, 0);
      ctx.lineTo(x + R * cell, R * cell);
    }
    ctx.stroke();
    ctx.restore();
    // The input's own edge, so the padded frame is unmistakable.
    ctx.strokeStyle = GRID_LINE;
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 2;
    ctx.strokeRect(pw * cell + 1, ph * cell + 1, s.cols * cell - 2, s.rows * cell - 2);
    ctx.setLineDash([]);
  }

  function drawLines(R, C) {
    const { cell } = s;
    const w = C * cell;
    const h = R * cell;
    // One device pixel: thin on HiDPI screens, never blurred across two pixels.
    const lw = 1 / s.dpr;
    ctx.fillStyle = GRID_LINE;
    // Below 8 px the lines would turn an image into a mesh; the outer border still frames it.
    if (cell >= 8) {
      for (let c = 1; c < C; c++) ctx.fillRect(c * cell, 0, lw, h);
      for (let r = 1; r < R; r++) ctx.fillRect(0, r * cell, w, lw);
    }
    ctx.fillRect(0, 0, w, lw);
    ctx.fillRect(0, h - lw, w, lw);
    ctx.fillRect(0, 0, lw, h);
    ctx.fillRect(w - lw, 0, lw, h);
  }

  function drawValues() {
    const d = s.data;
    const { rows, cols, cell, grid } = s;
    const [ph, pw] = padOf();
    const decimals = d.decimals ?? 2;
    const family = s.family || (s.family = getComputedStyle(root).fontFamily || "sans-serif");
    const texts = Array.from(grid, (v) => cellText(v, decimals));
    const longest = Math.max(1, ...texts.map((t) => t.length));
    const size = Math.floor(Math.min(d.maxFont || 22, cell * 0.45, (cell * 0.9) / (0.6 * longest)));
    if (size < 9) return; // unreadable: the colour and the hover readout carry the value
    ctx.font = `${size}px ${family}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    const shown = s.overlay.shown ?? Infinity;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        if (i * cols + j >= shown) continue; // not computed yet in the animation
        const [r, g, b] = textOn(colourOf(grid[i * cols + j]));
        ctx.fillStyle = `rgb(${r},${g},${b})`;
        ctx.fillText(texts[i * cols + j], (j + pw + 0.5) * cell, (i + ph + 0.5) * cell + 0.5);
      }
    }
  }

  function drawOutOfRange() {
    // Images are drawn on 0..1: a cell above 1 or below 0 gets a gold corner, so a clipped colour
    // never passes for the number it hides.
    const { rows, cols, cell, grid } = s;
    const [ph, pw] = padOf();
    const sc = s.data.scale;
    const t = Math.max(3, Math.round(cell * 0.35));
    ctx.fillStyle = ACCENT;
    ctx.strokeStyle = HALO;
    ctx.lineWidth = 1;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const v = grid[i * cols + j];
        if (v >= sc.lo && v <= sc.hi) continue;
        const x = (j + pw) * cell;
        const y = (i + ph) * cell;
        ctx.beginPath();
        if (v > sc.hi) {
          ctx.moveTo(x + cell, y);
          ctx.lineTo(x + cell - t, y);
          ctx.lineTo(x + cell, y + t);
        } else {
          ctx.moveTo(x, y + cell);
          ctx.lineTo(x + t, y + cell);
          ctx.lineTo(x, y + cell - t);
        }
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
      }
    }
  }

  function drawOutline(cells, union) {
    // Outline the union of the marked cells (drawn-frame coordinates), inset so an edge cell is not
    // half clipped: first a dark band (so the gold shows on white cells too), then the gold.
    const { cell } = s;
    const [ph, pw] = padOf();
    const C = s.cols + 2 * pw;
    const on = new Set(cells.map(([r, c]) => r * C + c));
    const has = (r, c) => union && r >= 0 && c >= 0 && c < C && on.has(r * C + c);
    const lw = Math.max(2, Math.min(5, Math.round(cell * 0.12)));
    for (const [style, width] of [[HALO, lw + Math.max(1, Math.round(lw / 2))], [ACCENT, lw]]) {
      ctx.fillStyle = style;
      for (const [r, c] of cells) {
        const x = c * cell;
        const y = r * cell;
        if (!has(r - 1, c)) ctx.fillRect(x, y, cell, width);
        if (!has(r + 1, c)) ctx.fillRect(x, y + cell - width, cell, width);
        if (!has(r, c - 1)) ctx.fillRect(x, y, width, cell);
        if (!has(r, c + 1)) ctx.fillRect(x + cell - width, y, width, cell);
      }
    }
  }

  function drawMarks(marks) {
    // The output cells that read the hovered input cell: a dashed outline and the weight they use.
    const { cell } = s;
    const [ph, pw] = padOf();
    const size = Math.max(9, Math.min(14, Math.floor(cell * 0.28)));
    ctx.save();
    ctx.lineWidth = Math.max(2, Math.round(cell * 0.08));
    ctx.setLineDash([4, 3]);
    ctx.font = `600 ${size}px ${s.family || "sans-serif"}`;
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    for (const [r, c, w] of marks) {
      const x = (c + pw) * cell;
      const y = (r + ph) * cell;
      ctx.strokeStyle = HALO;
      ctx.strokeRect(x + 2, y + 2, cell - 4, cell - 4);
      ctx.strokeStyle = ACCENT;
      ctx.strokeRect(x + 3, y + 3, cell - 6, cell - 6);
      if (cell >= 30) {
        const text = `×${fullText(w)}`;
        const tw = ctx.measureText(text).width;
        ctx.fillStyle = HALO;
        ctx.fillRect(x + 3, y + 3, tw + 4, size + 2);
        ctx.fillStyle = ACCENT;
        ctx.fillText(text, x + 5, y + 4);
      }
    }
    ctx.restore();
  }

  function drawFocus() {
    const { cell } = s;
    const [ph, pw] = padOf();
    const [r, c] = s.focus;
    const primary = getComputedStyle(root).getPropertyValue("--st-primary-color").trim() || "#ff4b4b";
    ctx.strokeStyle = primary;
    ctx.lineWidth = 3;
    ctx.setLineDash([5, 3]);
    ctx.strokeRect((c + pw) * cell + 1.5, (r + ph) * cell + 1.5, cell - 3, cell - 3);
    ctx.setLineDash([]);
  }

  function expose() {
    // For tests and the benchmarks: what is drawn, read without parsing pixels.
    canvas.dataset.rows = String(s.rows);
    canvas.dataset.cols = String(s.cols);
    canvas.dataset.revision = String(s.rev);
    canvas.dataset.seq = String(s.seq);
    canvas.dataset.pending = String(s.pending);
    canvas.dataset.cell = String(s.cell);
    canvas.dataset.pad = padOf().join(",");
    canvas.dataset.picked = s.data && s.data.picked ? s.data.picked.join(",") : "";
    const o = s.overlay;
    canvas.dataset.shown = o.shown == null ? "" : String(o.shown);
    canvas.dataset.marks = o.marks ? JSON.stringify(o.marks) : "";
    canvas.dataset.taps = o.taps ? JSON.stringify(o.taps) : "";
  }

  function exposeValues() {
    // The numbers drawn, once per update or sent stroke (not per pointer move).
    canvas.dataset.values = JSON.stringify(Array.from(s.grid));
  }

  function hint() {
    const d = s.data;
    if (d.hint) return d.hint;
    if (d.mode === "paint") {
      const b = fullText(d.brush);
      if (!touch) return `drag paints ${b}, right-drag erases`;
      return d.brush === 0 ? "drag paints 0" : `drag paints ${b}; a drag that starts on ${b} erases`;
    }
    if (d.mode === "edit") return touch ? "tap a cell and type a number (1/9 and −2/3 work)"
      : "click a cell and type a number (1/9, −2/3, 1e-3 work), or drag to paint";
    if (d.mode === "view" && d.pickable) return touch ? "tap a cell to explain it" : "click a cell to explain it";
    return "";
  }

  function showCaption() {
    const d = s.data;
    const dims = `${s.rows} × ${s.cols}`;
    if (s.hover) {
      const [r, c] = s.hover;
      caption.textContent = `row ${r}, col ${c} = ${fullText(s.grid[r * s.cols + c])}`;
    } else if (d.bare) {
      caption.textContent = ""; // small grids in a row: the readout appears on hover only
    } else {
      const h = hint();
      caption.textContent = h ? `${dims} · ${h}` : dims;
    }
    if (d.caption && !s.hover) caption.textContent += caption.textContent ? ` · ${d.caption}` : d.caption;
  }

  function showAria() {
    const [r, c] = s.focus;
    ariaCell.setAttribute("aria-label", `row ${r}, column ${c}, value ${fullText(s.grid[r * s.cols + c] ?? 0)}`);
    ariaCell.setAttribute("aria-rowindex", String(r + 1));
    ariaCell.setAttribute("aria-colindex", String(c + 1));
    ariaRow.setAttribute("aria-rowindex", String(r + 1));
    frame.setAttribute("aria-rowcount", String(s.rows));
    frame.setAttribute("aria-colcount", String(s.cols));
    frame.setAttribute("aria-activedescendant", ariaCell.id);
    frame.setAttribute("aria-label", s.data.label || s.data.title || "grid");
    frame.setAttribute("aria-readonly", s.data.mode === "view" ? "true" : "false");
  }

  function showLegend() {
    const d = s.data;
    const key = d.legend === false ? "" : `${d.scale.kind}|${d.scale.lo}|${d.scale.hi}`;
    if (key === s.legendKey) return; // rebuilt only when the scale changes
    s.legendKey = key;
    legend.replaceChildren();
    if (d.legend === false) return;
    const sc = d.scale;
    const bar = element("span", "cl-bar");
    const stops = sc.stops.map((rgb, k) => `rgb(${rgb.join(",")}) ${(100 * k) / (sc.stops.length - 1)}%`);
    bar.style.background = `linear-gradient(to right, ${stops.join(", ")})`;
    const lo = document.createElement("span");
    const hi = document.createElement("span");
    lo.textContent = fullText(sc.lo);
    hi.textContent = sc.kind === "signed" ? `+${fullText(sc.hi)}` : fullText(sc.hi);
    legend.append(lo, bar, hi);
    const words = element("span", "cl-words");
    words.textContent = sc.kind === "signed" ? "0 is white" : "outside 0..1: gold corner";
    legend.append(words);
  }

  function showMessage(text) {
    message.textContent = text || "";
  }

  // -------------------------------------------------------------------------------- sending

  function sendGrid() {
    s.seq += 1;
    s.pending = s.seq;
    expose();
    exposeValues();
    const grid = [];
    for (let r = 0; r < s.rows; r++) grid.push(Array.from(s.grid.subarray(r * s.cols, (r + 1) * s.cols)));
    s.send("stroke", { id: s.id, seq: s.seq, revision: s.rev, grid });
    if (s.onLocal) s.onLocal();
  }

  function changedLocally() {
    if (s.onLocal) s.onLocal();
  }

  function sendPick(r, c) {
    s.seq += 1;
    expose();
    s.send("pick", { id: s.id, seq: s.seq, row: r, col: c });
  }

  function pickLocally(cell) {
    s.data = { ...s.data, picked: cell };
    draw();
    sendPick(cell[0], cell[1]);
    if (s.onPick) s.onPick(cell);
  }

  function schedule(kind, fn, delay) {
    clearTimeout(s[kind]);
    s[kind] = setTimeout(() => {
      s[kind] = null;
      fn();
    }, delay);
  }

  // --------------------------------------------------------------------------------- pointer

  function cellAt(ev) {
    const rect = canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) return null;
    const [ph, pw] = padOf();
    return [
      Math.floor(((ev.clientY - rect.top) / rect.height) * (s.rows + 2 * ph)) - ph,
      Math.floor(((ev.clientX - rect.left) / rect.width) * (s.cols + 2 * pw)) - pw,
    ];
  }

  function inside(cell) {
    return cell !== null && cell[0] >= 0 && cell[0] < s.rows && cell[1] >= 0 && cell[1] < s.cols;
  }

  function setCell(r, c, value) {
    if (r < 0 || r >= s.rows || c < 0 || c >= s.cols) return false;
    const i = r * s.cols + c;
    if (s.grid[i] === value) return false;
    s.grid[i] = value;
    return true;
  }

  // Bresenham between consecutive pointer positions, so a fast drag leaves no gaps.
  function paintLine(from, to, value) {
    let [r0, c0] = from;
    const [r1, c1] = to;
    const dc = Math.abs(c1 - c0);
    const dr = -Math.abs(r1 - r0);
    const sc = c0 < c1 ? 1 : -1;
    const sr = r0 < r1 ? 1 : -1;
    let err = dc + dr;
    let changed = false;
    for (;;) {
      changed = setCell(r0, c0, value) || changed;
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
    return changed;
  }

  const editable = () => s.data && (s.data.mode === "paint" || s.data.mode === "edit");

  function onPointerDown(ev) {
    if (ev.button !== 0 && ev.button !== 2) return;
    const cell = cellAt(ev);
    if (!inside(cell) || s.stroke) return;
    s.keyboard = false;
    s.focus = cell;
    if (s.data.mode === "view") {
      if (ev.button === 0 && s.data.pickable) pickLocally(cell);
      return;
    }
    if (!editable()) return;
    ev.preventDefault();
    if (s.editing) commitEdit(false);
    canvas.setPointerCapture(ev.pointerId);
    // A finger or a pen has no right button: such a paint stroke starting on the brush value erases.
    const [r, c] = cell;
    const erase = ev.button === 2 || (ev.pointerType !== "mouse" && s.data.mode === "paint"
      && s.data.brush !== 0 && s.grid[r * s.cols + c] === s.data.brush);
    const value = erase ? 0 : s.data.brush;
    s.stroke = { pointerId: ev.pointerId, value, erase, start: cell, last: cell, moved: false, changed: false };
    // Edit mode: a click (no drag) opens the editor; only a drag paints, starting from its first cell.
    if (s.data.mode === "paint" || erase) s.stroke.changed = paintLine(cell, cell, value);
    s.hover = cell;
    draw();
    if (s.stroke.changed) changedLocally();
    showCaption();
  }

  function onPointerMove(ev) {
    const stroke = s.stroke;
    if (stroke && ev.pointerId === stroke.pointerId) {
      // Coalesced events keep the true path when the browser batches moves into one frame.
      const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [];
      let changed = false;
      for (const e of events.length ? events : [ev]) {
        const cell = cellAt(e);
        if (cell === null) continue;
        if (!stroke.moved && (cell[0] !== stroke.start[0] || cell[1] !== stroke.start[1])) {
          stroke.moved = true;
          changed = paintLine(stroke.start, stroke.start, stroke.value) || changed;
        }
        if (stroke.moved) changed = paintLine(stroke.last, cell, stroke.value) || changed;
        stroke.last = cell;
      }
      stroke.changed = changed || stroke.changed;
      draw();
      if (changed) changedLocally();
    }
    const cell = cellAt(ev);
    setHover(inside(cell) ? cell : null);
    showCaption();
  }

  function setHover(cell) {
    const same = cell === s.hover || (cell && s.hover && cell[0] === s.hover[0] && cell[1] === s.hover[1]);
    s.hover = cell;
    if (!same && s.onHover) s.onHover(cell);
  }

  function finishStroke(ev) {
    const stroke = s.stroke;
    if (!stroke || ev.pointerId !== stroke.pointerId) return;
    s.stroke = null;
    if (s.data.mode === "edit" && !stroke.moved && !stroke.erase && ev.type === "pointerup") {
      openEditor(stroke.start, null);
      return;
    }
    if (stroke.changed) sendGrid();
  }

  function onPointerLeave() {
    if (s.stroke) return;
    setHover(null);
    showCaption();
  }

  // ---------------------------------------------------------------------------------- editor

  function openEditor(cell, initial) {
    const [r, c] = cell;
    const [ph, pw] = padOf();
    s.editing = cell;
    s.focus = cell;
    editor.hidden = false;
    const size = Math.max(s.cell, 56);
    editor.style.left = `${Math.max(0, (c + pw) * s.cell + (s.cell - size) / 2)}px`;
    editor.style.top = `${(r + ph) * s.cell + (s.cell - Math.min(s.cell, 40)) / 2}px`;
    editor.style.width = `${size}px`;
    editor.style.height = `${Math.min(Math.max(s.cell, 28), 40)}px`;
    editor.value = initial ?? fullText(s.grid[r * s.cols + c]).replace("\u2212", "-");
    editor.setAttribute("aria-label", `new value for row ${r}, column ${c}`);
    editor.focus();
    if (initial == null) editor.select();
    else editor.setSelectionRange(editor.value.length, editor.value.length);
  }

  function closeEditor(refocus) {
    s.editing = null;
    editor.hidden = true;
    if (refocus) frame.focus();
    draw();
  }

  // Returns true when the editor closed (a number was taken, or nothing changed).
  function commitEdit(refocus) {
    if (!s.editing) return true;
    const [r, c] = s.editing;
    const old = s.grid[r * s.cols + c];
    const text = editor.value;
    const value = parseNumber(text);
    const limit = s.data.limit ?? 1e6;
    if (value === null || Math.abs(value) > limit) {
      const why = value === null ? `“${text.slice(0, 24)}” is not a number`
        : `${fullText(value)} is too large (the limit is ±${fullText(limit)})`;
      showMessage(`${why}: type e.g. 0.5, −2/3 or 1e-3. Row ${r}, column ${c} keeps ${fullText(old)}.`);
      closeEditor(refocus);
      return false;
    }
    showMessage("");
    closeEditor(refocus);
    if (setCell(r, c, value)) {
      draw();
      sendGrid();
    }
    return true;
  }

  editor.addEventListener("keydown", (ev) => {
    ev.stopPropagation();
    if (ev.key === "Enter" || ev.key === "Tab") {
      ev.preventDefault();
      const cell = s.editing;
      if (commitEdit(true) && ev.key === "Tab" && cell) {
        moveFocus(0, ev.shiftKey ? -1 : 1);
      }
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      showMessage("");
      closeEditor(true);
    }
  });
  editor.addEventListener("blur", () => {
    if (s.editing) commitEdit(false);
  });

  // -------------------------------------------------------------------------------- keyboard

  function moveFocus(dr, dc, to) {
    const [r, c] = to || [s.focus[0] + dr, s.focus[1] + dc];
    s.focus = [Math.max(0, Math.min(s.rows - 1, r)), Math.max(0, Math.min(s.cols - 1, c))];
    s.keyboard = true;
    if (s.hover) setHover(null); // the keyboard leads now: a pointer resting on a cell no longer counts
    showAria();
    draw();
    if (s.data.mode !== "view" && s.onHover) s.onHover(s.focus.slice()); // the keyboard's "hover"
  }

  function keyPaint(value) {
    const [r, c] = s.focus;
    if (setCell(r, c, value)) {
      draw();
      changedLocally();
      schedule("keyTimer", sendGrid, KEY_SEND_DELAY);
    }
    showAria();
  }

  frame.addEventListener("keydown", (ev) => {
    const d = s.data;
    if (!d || ev.target !== frame) return;
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const [r, c] = s.focus;
    let handled = true;
    if (moves[ev.key]) {
      moveFocus(...moves[ev.key]);
      if (ev.shiftKey && editable()) keyPaint(d.brush); // Shift+arrows paint as they move
    } else if (ev.key === "Home") moveFocus(0, 0, ev.ctrlKey ? [0, 0] : [r, 0]);
    else if (ev.key === "End") moveFocus(0, 0, ev.ctrlKey ? [s.rows - 1, s.cols - 1] : [r, s.cols - 1]);
    else if (ev.key === "PageUp") moveFocus(-5, 0);
    else if (ev.key === "PageDown") moveFocus(5, 0);
    else if (d.mode === "view") {
      if ((ev.key === "Enter" || ev.key === " ") && d.pickable) pickLocally([r, c]);
      else handled = false;
    } else if (ev.key === " ") keyPaint(d.brush);
    else if (ev.key === "Delete" || ev.key === "Backspace") keyPaint(0);
    else if (d.mode === "edit" && (ev.key === "Enter" || ev.key === "F2")) openEditor([r, c], null);
    else if (d.mode === "edit" && ev.key.length === 1 && /[0-9.+\-\u2212]/.test(ev.key) && !ev.ctrlKey
             && !ev.metaKey) openEditor([r, c], ev.key);
    else handled = false;
    if (handled) ev.preventDefault();
    if (handled && moves[ev.key] && d.mode === "view" && d.pickable) {
      s.data = { ...s.data, picked: s.focus };
      draw();
      const [pr, pc] = s.focus;
      schedule("pickTimer", () => sendPick(pr, pc), PICK_DELAY);
      if (s.onPick) s.onPick(s.focus);
    }
  });
  frame.addEventListener("focus", () => {
    showAria();
    draw();
  });
  frame.addEventListener("blur", () => draw());

  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", finishStroke);
  canvas.addEventListener("pointercancel", finishStroke);
  canvas.addEventListener("lostpointercapture", finishStroke);
  canvas.addEventListener("pointerleave", onPointerLeave);
  canvas.addEventListener("contextmenu", (ev) => ev.preventDefault());

  const resizeObserver = new ResizeObserver((entries) => {
    if (!root.isConnected) {
      teardown();
      return;
    }
    const width = Math.floor(entries[entries.length - 1].contentRect.width);
    if (width === s.width || !s.data) return;
    s.width = width;
    layout();
    draw();
  });
  resizeObserver.observe(root);

  function teardown() {
    resizeObserver.disconnect();
    clearTimeout(s.keyTimer);
    clearTimeout(s.pickTimer);
  }

  function update(data) {
    const reshaped = data.rows !== s.rows || data.cols !== s.cols;
    const local = s.data && s.data.picked && data.pickable && s.pickTimer;
    s.data = local ? { ...data, picked: s.data.picked } : data;
    if (reshaped || data.revision !== s.rev) {
      // Python replaced the grid: always show it; a stroke in flight continues on the new grid.
      adopt(data);
      s.pending = 0;
      if (s.editing) closeEditor(false);
    } else if (ackCovers(data.ack)) {
      s.pending = 0;
      if (!s.stroke && !s.keyTimer) adopt(data);
    }
    // Otherwise Python has not seen our latest stroke yet: keep the local grid.
    if (data.picked && !s.keyboard && data.mode === "view") s.focus = data.picked.slice();
    if (title.textContent !== (data.title || "")) title.textContent = data.title || "";
    title.hidden = !data.title;
    root.dataset.mode = data.mode;
    root.dataset.name = data.name || "";
    layout();
    draw();
    exposeValues();
    showCaption();
    showAria();
    showLegend();
    if (data.message !== undefined) showMessage(data.message);
  }

  const entry = {
    root,
    update,
    teardown,
    setSender(fn) {
      s.send = fn;
    },
    onLocal(fn) {
      s.onLocal = fn;
    },
    onHover(fn) {
      s.onHover = fn;
    },
    onPick(fn) {
      s.onPick = fn;
    },
    picked() {
      return s.data && s.data.picked ? s.data.picked : null;
    },
    shape() {
      return [s.rows, s.cols];
    },
    pick(cell) {
      if (s.data && s.data.pickable) pickLocally(cell);
    },
    showPicked(cell) {
      // Draw a pick without sending it (Python's answer for an earlier pick must not pull it back).
      if (!s.data || (s.data.picked && s.data.picked[0] === cell[0] && s.data.picked[1] === cell[1])) return;
      s.data = { ...s.data, picked: cell };
      draw();
    },
    setOverlay(part) {
      const o = { ...s.overlay, ...part };
      const same = JSON.stringify(o) === JSON.stringify(s.overlay);
      s.overlay = o;
      if (same || !s.data) return;
      draw();
    },
    // The grid as the learner sees it now, and whether Python has yet to see it (a stroke in flight).
    local() {
      return { rows: s.rows, cols: s.cols, grid: s.grid, dirty: s.pending !== 0 || !!s.stroke || !!s.keyTimer };
    },
    // Values computed in the browser from grids Python has not seen yet (same shape), drawn until
    // Python's own answer arrives.
    preview(values, scale) {
      if (!s.data || values.length !== s.rows * s.cols) return;
      s.grid = values;
      s.data = { ...s.data, scale: { ...s.data.scale, ...scale } };
      draw();
      showLegend();
      exposeValues();
    },
  };
  return entry;
}

// ------------------------------------------------------------------------------------ groups
// A group draws several panels of grids in one element: the Playground's live workspace (input,
// kernel, output, explanation) is one group, so a stroke reruns one element instead of twenty.
// Panels flow side by side and wrap on narrow screens. Every grid keeps its own root (data-name)
// and sends its state under its name: {"stroke": {name: stroke, ...}, "pick": {name: pick, ...}}.

function reconcile(container, items, existing, create, update) {
  // Keep one child per item name, in the items' order; drop the rest.
  const seen = new Set();
  items.forEach((item, i) => {
    let child = existing.get(item.name);
    if (!child) {
      child = create(item);
      existing.set(item.name, child);
    }
    if (container.children[i] !== child.el) container.insertBefore(child.el, container.children[i] || null);
    update(child, item);
    seen.add(item.name);
  });
  for (const [name, child] of existing) {
    if (seen.has(name)) continue;
    child.remove();
    existing.delete(name);
  }
}

// ------------------------------------------------------------------------------ live preview
// A group may declare `live`: its output grid is X ⋆ K (+ bias) of two of its grids. While a stroke or
// a typed kernel number is on its way to Python, the browser computes that output itself and draws
// it at once (also during a drag), so the answer follows the pointer; panels that only Python
// computes (the explanation) are dimmed until its answer arrives, and then Python's numbers — the
// same sums, checked equal in the browser tests — replace the preview.

// The same rule as convlab.colour.nice_limit: the smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8
// times a power of ten that is ≥ m; 1 for 0.
export function niceLimit(m) {
  if (m === 0) return 1;
  const exponent = Math.floor(Math.log10(m));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    const limit = step * 10 ** exponent;
    if (limit >= m * (1 - 1e-12)) return Math.max(limit, m);
  }
  return m;
}

// convlab.colour.signed_scale of one grid: symmetric around 0, ±niceLimit(max |value|).
function signedRange(values) {
  let top = 0;
  for (const v of values) if (Number.isFinite(v) && Math.abs(v) > top) top = Math.abs(v);
  const hi = top < 1e300 ? niceLimit(top) : 1e300;
  return { kind: "signed", lo: -hi, hi };
}

// Cross-correlation of X (H, W) with K (h, w) — flipped first for a true convolution — with zero
// padding, stride and dilation per axis, plus a bias: the lesson's loop, as convlab.ops.corr2d
// defines it. Returns {rows, cols, values} or null when no output fits.
export function correlate(X, K, spec) {
  const [ph, pw] = spec.pad || [0, 0];
  const [sh, sw] = spec.stride || [1, 1];
  const [dh, dw] = spec.dilation || [1, 1];
  const { rows: H, cols: W } = X;
  const { rows: h, cols: w } = K;
  const rows = Math.floor((H + 2 * ph - dh * (h - 1) - 1) / sh) + 1;
  const cols = Math.floor((W + 2 * pw - dw * (w - 1) - 1) / sw) + 1;
  if (rows < 1 || cols < 1) return null;
  const k = spec.flip ? Float64Array.from(K.grid).reverse() : K.grid;
  const values = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let a = 0; a < h; a++) {
        const r = i * sh - ph + a * dh;
        if (r < 0 || r >= H) continue;
        for (let b = 0; b < w; b++) {
          const c = j * sw - pw + b * dw;
          if (c >= 0 && c < W) sum += X.grid[r * W + c] * k[a * w + b];
        }
      }
      values[i * cols + j] = sum + (spec.bias || 0);
    }
  }
  return { rows, cols, values };
}

// The input cells window (i, j) reads, one per tap, padding included (indices outside the input).
export function windowTaps(spec, K, i, j) {
  const [ph, pw] = spec.pad || [0, 0];
  const [sh, sw] = spec.stride || [1, 1];
  const [dh, dw] = spec.dilation || [1, 1];
  const taps = [];
  for (let a = 0; a < K.rows; a++) {
    for (let b = 0; b < K.cols; b++) taps.push([i * sh - ph + a * dh, j * sw - pw + b * dw]);
  }
  return taps;
}

// The output cells (of an rows x cols output) that read input cell (r, c), each with the weight of
// K (flipped for a convolution) that multiplies X[r, c] there: [i, j, weight].
export function readers(spec, K, rows, cols, r, c) {
  const [ph, pw] = spec.pad || [0, 0];
  const [sh, sw] = spec.stride || [1, 1];
  const [dh, dw] = spec.dilation || [1, 1];
  const k = spec.flip ? Float64Array.from(K.grid).reverse() : K.grid;
  const out = [];
  for (let i = 0; i < rows; i++) {
    const a = (r + ph - i * sh) / dh;
    if (!Number.isInteger(a) || a < 0 || a >= K.rows) continue;
    for (let j = 0; j < cols; j++) {
      const b = (c + pw - j * sw) / dw;
      if (Number.isInteger(b) && b >= 0 && b < K.cols) out.push([i, j, k[a * K.cols + b]]);
    }
  }
  return out;
}

// Hover and animation marks, from the group's state: the input outlines the window of the hovered
// (or picked, or animated) output cell; the output outlines the cells that read the hovered input
// cell, with their weights, and during the animation shows only the cells computed so far.
function refreshOverlays(group) {
  const spec = group.live;
  const x = spec && group.grids.get(spec.x);
  const k = spec && group.grids.get(spec.k);
  const out = spec && group.grids.get(spec.out);
  if (!x || !k || !out) return;
  const K = k.local();
  const [rows, cols] = out.shape();
  const anim = group.anim;
  if (anim.k != null && anim.k >= rows * cols) anim.k = null; // the output shrank
  const animCell = anim.k == null ? null : [Math.floor(anim.k / cols), anim.k % cols];
  if (animCell) out.showPicked(animCell);
  const cell = group.hoverOut || out.picked();
  x.setOverlay({ taps: cell ? windowTaps(spec, K, cell[0], cell[1]) : null });
  const hx = group.hoverX;
  out.setOverlay({
    marks: hx ? readers(spec, K, rows, cols, hx[0], hx[1]) : null,
    shown: anim.k == null ? null : anim.k + 1,
  });
  showAnimation(group, rows * cols, animCell);
}

// ------------------------------------------------------------------------- the sliding window
// Play / Pause / Step and a scrubber over every output cell: each step picks the next cell (so
// Python explains it: window, products, sum) and the output fills in cell by cell.
const SPEEDS = [1, 2, 4, 8];

function animationBar(group) {
  const bar = element("div", "cl-anim");
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "Slide the window over the input");
  const play = element("button", "cl-anim-play");
  play.type = "button";
  const step = element("button", "cl-anim-step");
  step.type = "button";
  step.textContent = "Step";
  step.title = "Compute the next output cell";
  const scrub = element("input", "cl-anim-scrub");
  scrub.type = "range";
  scrub.min = "0";
  scrub.setAttribute("aria-label", "output cell being computed");
  const text = element("span", "cl-anim-text");
  text.setAttribute("aria-live", "polite");
  const speed = element("select", "cl-anim-speed");
  speed.setAttribute("aria-label", "cells per second");
  for (const v of SPEEDS) speed.append(Object.assign(document.createElement("option"), { value: String(v), textContent: `${v}/s` }));
  speed.value = String(group.anim.speed);
  bar.append(play, step, speed, scrub, text);
  play.addEventListener("click", () => (group.anim.playing ? pause(group) : playAnimation(group)));
  step.addEventListener("click", () => {
    pause(group);
    const n = cellCount(group);
    goTo(group, group.anim.k == null || group.anim.k >= n - 1 ? 0 : group.anim.k + 1);
  });
  scrub.addEventListener("input", () => {
    const k = Number(scrub.value); // read first: pausing redraws the bar from the old position
    pause(group);
    goTo(group, k);
  });
  speed.addEventListener("change", () => {
    group.anim.speed = Number(speed.value);
    if (group.anim.playing) {
      pause(group);
      playAnimation(group);
    }
  });
  return { bar, play, scrub, text };
}

function cellCount(group) {
  const out = group.grids.get(group.live.out);
  const [rows, cols] = out ? out.shape() : [0, 0];
  return rows * cols;
}

function goTo(group, k) {
  const out = group.grids.get(group.live.out);
  const [, cols] = out.shape();
  group.anim.k = k;
  group.stepping = true; // the animation's own pick, not the learner's
  out.pick([Math.floor(k / cols), k % cols]);
  group.stepping = false;
  refreshOverlays(group);
}

function playAnimation(group) {
  const anim = group.anim;
  if (anim.k == null || anim.k >= cellCount(group) - 1) anim.k = -1; // from the first cell again
  anim.playing = true;
  const tick = () => {
    if (!anim.playing || !group.el.isConnected) return;
    const n = cellCount(group);
    if (anim.k + 1 >= n) {
      anim.playing = false;
      refreshOverlays(group);
      return;
    }
    goTo(group, anim.k + 1);
    anim.timer = setTimeout(tick, 1000 / anim.speed);
  };
  tick();
}

function pause(group) {
  group.anim.playing = false;
  clearTimeout(group.anim.timer);
  refreshOverlays(group);
}

function showAnimation(group, n, cell) {
  const ui = group.animUi;
  if (!ui) return;
  const anim = group.anim;
  ui.play.textContent = anim.playing ? "Pause ❚❚" : "Play ▶";
  ui.play.setAttribute("aria-pressed", anim.playing ? "true" : "false");
  ui.scrub.max = String(Math.max(0, n - 1));
  ui.scrub.value = String(anim.k == null ? 0 : anim.k);
  ui.text.textContent = cell ? `cell ${anim.k + 1} of ${n}: Y[${cell[0]}, ${cell[1]}]`
    : `${n} output cells: Play slides the window over them`;
  ui.bar.dataset.k = anim.k == null ? "" : String(anim.k);
  ui.bar.dataset.playing = anim.playing ? "1" : "0";
}

function placeAnimation(group) {
  const spec = group.live;
  if (!spec || !spec.animate) {
    if (group.animUi) group.animUi.bar.remove();
    return;
  }
  if (!group.animUi) group.animUi = animationBar(group);
  // The bar sits under the output grid, in the output's panel.
  for (const panel of group.panels.values()) {
    if (!panel.entries.has(spec.out)) continue;
    if (group.animUi.bar.parentElement !== panel.el) panel.el.insertBefore(group.animUi.bar, panel.lines);
  }
}

function livePreview(group) {
  const spec = group.live;
  const x = spec && group.grids.get(spec.x);
  const k = spec && group.grids.get(spec.k);
  const out = spec && group.grids.get(spec.out);
  if (!x || !k || !out) return;
  const X = x.local();
  const K = k.local();
  if (!X.dirty && !K.dirty) return; // Python's answer is the latest: nothing to preview
  const Y = correlate(X, K, spec);
  if (!Y) return;
  out.preview(Y.values, signedRange(Y.values));
  k.preview(K.grid, signedRange(K.grid)); // a typed 5 widens the kernel's own range at once
  const flipped = spec.flipped && group.grids.get(spec.flipped);
  if (flipped) flipped.preview(Float64Array.from(K.grid).reverse(), signedRange(K.grid));
  for (const name of spec.stale || []) group.panels.get(name)?.el.classList.add("cl-stale");
}

function mountGroup(parentElement) {
  const el = element("div", "cl-group");
  parentElement.appendChild(el);
  const group = { el, root: el, panels: new Map(), grids: new Map(), live: null, sent: { stroke: {}, pick: {} },
                  wire: null, syncs: 0, id: newInstanceId(), strokes: new Map(),
                  setStateValue: null, hoverX: null, hoverOut: null, animUi: null,
                  anim: { k: null, playing: false, timer: null, speed: 2 } };
  group.send = (gridName) => (stateName, value) => {
    group.sent[stateName] = { ...group.sent[stateName], [gridName]: value };
    if (stateName === "stroke") {
      // Kept until Python answers: its patch may say "your stroke" instead of sending the values back.
      const kept = (group.strokes.get(gridName) || []).slice(-STROKES_KEPT + 1);
      group.strokes.set(gridName, [...kept, { id: value.id, seq: value.seq, values: value.grid.flat() }]);
    }
    group.setStateValue(stateName, group.sent[stateName]);
  };
  return group;
}

function createPanel(group) {
  const el = element("section", "cl-panel");
  const title = element("div", "cl-panel-title");
  const grids = element("div", "cl-panel-grids");
  const error = element("div", "cl-error");
  error.setAttribute("role", "alert");
  const lines = element("div", "cl-lines");
  el.append(title, grids, error, lines);
  const panel = { el, title, grids, error, lines, entries: new Map() };
  panel.remove = () => {
    panel.entries.forEach((g) => g.remove());
    el.remove();
  };
  return panel;
}

function updatePanel(group, panel, p) {
  panel.el.style.flexGrow = String(p.weight ?? 1);
  panel.el.dataset.name = p.name;
  panel.title.textContent = p.title || "";
  panel.title.hidden = !p.title;
  panel.grids.classList.toggle("cl-row", Boolean(p.row));
  panel.error.textContent = p.error || "";
  panel.lines.replaceChildren(...(p.lines || []).map((line) => {
    const div = document.createElement("div");
    div.textContent = line.text;
    if (line.strong) div.className = "cl-strong";
    return div;
  }));
  reconcile(panel.grids, p.grids || [], panel.entries, (g) => {
    const box = element("div", "cl-cell-box");
    const entry = mountGrid(box);
    entry.el = box;
    entry.remove = () => {
      entry.teardown();
      box.remove();
      if (group.grids.get(g.name) === entry) group.grids.delete(g.name);
    };
    entry.setSender(group.send(g.name));
    entry.onLocal(() => {
      livePreview(group);
      refreshOverlays(group);
    });
    entry.onHover((cell) => {
      if (!group.live) return;
      if (g.name === group.live.x) group.hoverX = cell;
      else if (g.name === group.live.out) group.hoverOut = cell;
      else return;
      refreshOverlays(group);
    });
    entry.onPick(() => {
      if (!group.stepping && group.anim.k != null) {
        // The learner picked a cell: the animation stops and the whole output shows again.
        group.anim.playing = false;
        clearTimeout(group.anim.timer);
        group.anim.k = null;
      }
      refreshOverlays(group);
    });
    group.grids.set(g.name, entry);
    return entry;
  }, (entry, g) => entry.update(g));
}

// Python sends compact JSON as bytes (ui/grid.py `encode`): cheaper for the server than a dict.
const UTF8 = new TextDecoder();
function readData(raw) {
  return raw instanceof ArrayBuffer || ArrayBuffer.isView(raw) ? JSON.parse(UTF8.decode(raw)) : raw;
}

// Each scale's colour stops travel once, by kind ("stops"); every grid's scale gets them back here.
function withStops(data) {
  if (data.stops) {
    const grids = data.panels ? data.panels.flatMap((p) => p.grids || []) : [data];
    for (const g of grids) g.scale.stops = data.stops[g.scale.kind] || g.scale.stops;
  }
  return data;
}

// A group's rerun that only its fragment made sends a patch of the version the browser drew last
// (ui/grid.py `diff`): {v, base, set: {path: value}, del: [path]}, paths "panels/2/grids/0/values".
// Objects along a patched path are copied, so data a grid still holds is never changed under it.
// A painted grid that Python took as it is comes back as {stroke: [name, id, seq]}: `strokes(ref)`
// gives that stroke's values, or null (then the patch cannot be applied: null is returned).
export function applyPatch(old, patch, strokes = () => null) {
  const root = { ...old };
  const parent = (path) => {
    const keys = path.split("/");
    const last = keys.pop();
    let node = root;
    for (const key of keys) {
      const child = node[key];
      node = node[key] = Array.isArray(child) ? child.slice() : { ...child };
    }
    return [node, last];
  };
  for (const [path, value] of Object.entries(patch.set || {})) {
    const kept = value && value.stroke ? strokes(value.stroke) : undefined;
    if (kept === null) return null;
    const [node, key] = parent(path);
    node[key] = kept === undefined ? value : kept;
  }
  for (const path of patch.del || []) {
    const [node, key] = parent(path);
    delete node[key];
  }
  root.v = patch.v;
  return root;
}

// The strokes a group keeps per grid, for patches that refer to them ("your stroke").
const STROKES_KEPT = 16;

function strokeValues(group, [name, id, seq]) {
  const found = (group.strokes.get(name) || []).find((kept) => kept.id === id && kept.seq === seq);
  return found ? found.values : null;
}

// A patch of a version this mount does not hold (the element was drawn anew, a run was cut short):
// ask Python for the whole data, which the next run sends. Each request is a new event.
function requestSync(group) {
  group.syncs += 1;
  group.el.dataset.syncs = String(group.syncs);
  group.setStateValue("sync", { id: group.id, seq: group.syncs });
}

export default function (component) {
  const { parentElement, setStateValue } = component;
  let data = readData(component.data);
  let entry = MOUNTS.get(parentElement);
  if (entry && !parentElement.contains(entry.root)) {
    entry.teardown();
    entry = undefined;
  }
  // Streamlit also calls the cleanup of a superseded call while still mounted: only a detached
  // component is torn down.
  const cleanup = () => {
    if (!parentElement.isConnected) {
      entry.teardown();
      MOUNTS.delete(parentElement);
    }
  };
  if (data.panels || data.base != null) {
    if (entry && !entry.panels) {
      entry.teardown();
      entry.root.remove();
      entry = undefined;
    }
    if (!entry) {
      entry = mountGroup(parentElement);
      entry.teardown = () => {
        entry.anim.playing = false;
        clearTimeout(entry.anim.timer);
        entry.panels.forEach((p) => p.remove());
      };
      MOUNTS.set(parentElement, entry);
    }
    entry.setStateValue = setStateValue;
    if (data.base != null) {
      const group = entry;
      const patched = group.wire && group.wire.v === data.base
        ? applyPatch(group.wire, data, (ref) => strokeValues(group, ref)) : null;
      if (!patched) {
        requestSync(group);
        return cleanup;
      }
      data = patched;
      group.el.dataset.patches = String((Number(group.el.dataset.patches) || 0) + 1); // for the tests
    }
    entry.wire = data;
    data = withStops(data);
    entry.live = data.live || null;
    reconcile(entry.el, data.panels, entry.panels, () => createPanel(entry), (panel, p) => updatePanel(entry, panel, p));
    // Python's answer is drawn; while a newer stroke is still on its way, the preview stays.
    entry.panels.forEach((panel) => panel.el.classList.remove("cl-stale"));
    livePreview(entry);
    placeAnimation(entry);
    refreshOverlays(entry);
    if (data.link != null && window.location.search !== `?${data.link}`) {
      // The share link: the address bar follows every change, in place (Back leaves the page).
      window.history.replaceState(window.history.state, "", `${window.location.pathname}?${data.link}`);
    }
  } else {
    if (!entry) {
      entry = mountGrid(parentElement);
      MOUNTS.set(parentElement, entry);
    }
    entry.setSender(setStateValue);
    entry.update(withStops(data));
  }
  return cleanup;
}
