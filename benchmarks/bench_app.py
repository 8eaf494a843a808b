"""The app's own numbers in headless Chromium, against PRODUCT.md's targets.

Usage: python benchmarks/bench_app.py [--strokes 20] [--loads 5] [--post-script-gc {config,true,false}]
                                      [--no-reference] [--json PATH]

Starts `streamlit run streamlit_app.py` on a free loopback port and measures:

- paint stroke -> updated output heatmap, 8x8 and 64x64 inputs: from the pointerup event to the
  moment the output heatmap's trace holds the expected numbers (`corr2d` of the painted grid),
  timed inside the page with the events' own clock (performance.now), so Playwright's round trips
  are not counted. Strokes alternate paint/erase and wait for the previous rerun to end;
- page load, navigation start -> Playground output heatmap drawn (Plotly's `_fullData` set), timed
  in the page: the very first load after the server started, then fresh browser contexts (no HTTP
  cache, as a new visitor), then new tabs of a context that loaded the app once (a returning one);
- training chart updates per second while playing at 1000 epochs/s, counted in the page over ~5 s
  as changes of the loss curve's last point (its point count stops growing at 2000: the figure
  decimates long runs);
- server RSS (the server process and its children, psutil) before any session, with one session,
  and per further idle session (5 more fresh contexts on the Playground);
- as a reference timed in the same run, the same strokes on the paint-grid test harness
  (`tests/browser/apps/paint_harness.py`: the grid and one bare heatmap of it), i.e. what the
  framework and this machine cost for a stroke round trip without the Playground's page around it.

It prints medians, p95 and a table, writes the numbers as JSON with --json, and exits 0 whatever
the numbers: a target missed is reported, not raised. The machine is shared in development, so the
load average is printed with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere
sys.path.insert(0, str(REPO / "tests" / "browser"))  # the browser tests' server launcher

from browser_helpers import StreamlitServer  # noqa: E402

from convlab import corr2d  # noqa: E402
from convlab.images import image_preset  # noqa: E402
from convlab.kernels import kernel_preset  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 60_000
TARGETS = {
    "stroke_p50_ms": 150.0,
    "stroke_p95_ms": 250.0,
    "load_ms": 2500.0,
    "chart_updates_per_s": 20.0,
    "rss_one_session_mb": 400.0,
    "rss_per_idle_session_mb": 5.0,
}


# --- server -------------------------------------------------------------------------------------------


class Server(StreamlitServer):
    """The browser tests' `streamlit run` server, as a context manager that also reports its memory."""

    def __init__(self, *flags: str, name: str = "bench", script: str = "streamlit_app.py") -> None:
        super().__init__(REPO / script, flags=flags, name=name)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def errors(self) -> list[str]:
        """Lines of the server log that report a problem."""
        words = ("Traceback", "Error", "Exception", "WARNING")
        return [line for line in self.log_text().splitlines() if any(w in line for w in words)]

    def rss_mb(self) -> float:
        """Resident memory of the server and its children, MB."""
        assert self.process is not None
        proc = psutil.Process(self.process.pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


# --- page helpers ---------------------------------------------------------------------------------------

# Decodes Plotly 6+ `{dtype, bdata, shape}` arrays (and plain/typed arrays) to flat numbers.
DECODE_FLAT_JS = """function flat(v) {
  const types = {f8: Float64Array, f4: Float32Array, i1: Int8Array, u1: Uint8Array, i2: Int16Array,
                 u2: Uint16Array, i4: Int32Array, u4: Uint32Array};
  if (v === undefined || v === null) return [];
  if (ArrayBuffer.isView(v)) return Array.from(v);
  if (Array.isArray(v)) return v.flatMap((x) => (Array.isArray(x) || ArrayBuffer.isView(x) ? flat(x) : [x]));
  if (typeof v.bdata === 'string') {
    const bytes = Uint8Array.from(atob(v.bdata), (ch) => ch.charCodeAt(0));
    return Array.from(new types[v.dtype](bytes.buffer));
  }
  return [];
}"""

# Records, from the first script on, when the Playground's output heatmap is first drawn.
DRAWN_PROBE_JS = """(() => {
  window.__drawnAt = 0;
  const check = () => {
    const gd = document.querySelector('.st-key-pg-output .js-plotly-plot');
    if (gd && Array.isArray(gd._fullData) && gd._fullData.length) {
      window.__drawnAt = performance.now();
      return;
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();"""

# Stroke probe: t0 at pointerup, t1 when the heatmap under `selector` holds `want` in its z. It
# looks on every DOM mutation and animation frame after the pointerup, but decodes z only when
# Plotly holds a new z object, so the probe itself costs the page next to nothing.
STROKE_PROBE_JS = f"""(selector) => {{
  {DECODE_FLAT_JS};
  const p = window.__stroke = {{want: null, t0: 0, t1: 0, seen: null}};
  const check = () => {{
    if (!p.t0 || p.t1 || !p.want) return;
    const gd = document.querySelector(selector);
    if (!gd || !gd._fullData || !gd.data || !gd.data[0]) return;
    const z = gd.data[0].z;
    if (z === p.seen) return;
    p.seen = z;
    const got = flat(z);
    if (got.length === p.want.length && got.every((v, i) => Math.abs(v - p.want[i]) < 1e-9)) {{
      p.t1 = performance.now();
    }}
  }};
  window.addEventListener('pointerup', (e) => {{ p.t0 = e.timeStamp; p.t1 = 0; }}, true);
  new MutationObserver(check).observe(document.body, {{subtree: true, childList: true, attributes: true}});
  const frame = () => {{ check(); requestAnimationFrame(frame); }};
  requestAnimationFrame(frame);
}}"""
OUTPUT_PLOT = ".st-key-pg-output .js-plotly-plot"


def keyed(page: Page, key: str):
    cls = "st-key-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in key)
    return page.locator(f".{cls}").first


def wait_drawn(page: Page, key: str = "pg.output") -> None:
    cls = "st-key-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in key)
    page.wait_for_function(
        """sel => { const gd = document.querySelector(sel);
                    return !!gd && !!gd._fullData && gd._fullData.length > 0; }""",
        arg=f".{cls} .js-plotly-plot",
        timeout=TIMEOUT_MS,
    )


def wait_script_end(page: Page, polling: float | str = "raf") -> None:
    page.wait_for_function(
        """() => document.querySelector('[data-testid="stApp"]')
                   ?.getAttribute('data-test-script-state') === 'notRunning'""",
        timeout=TIMEOUT_MS,
        polling=polling,
    )


def set_number(page: Page, key: str, value: float) -> None:
    box = keyed(page, key).locator("input")
    box.fill(f"{value:g}")
    box.press("Enter")


def canvas_grid(page: Page) -> np.ndarray:
    """The Playground input grid as drawn (gray 0..255 -> 0..1; the page maps 0/1 grids that way)."""
    levels = page.locator("canvas.pg-canvas").first.evaluate(
        """canvas => {
          const rows = +canvas.dataset.rows, cols = +canvas.dataset.cols;
          const image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          const cw = canvas.width / cols, ch = canvas.height / rows;
          return Array.from({length: rows}, (_, r) => Array.from({length: cols}, (_, c) =>
            image[(Math.floor((r + 0.3) * ch) * canvas.width + Math.floor((c + 0.3) * cw)) * 4]));
        }"""
    )
    return np.array(levels) / 255.0


def cell_points(page: Page, cells: list[tuple[int, int]]) -> list[tuple[float, float]]:
    box = page.locator("canvas.pg-canvas").first.evaluate(
        """el => { el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect();
                   return {x: r.left, y: r.top, w: r.width, h: r.height, rows: +el.dataset.rows,
                           cols: +el.dataset.cols}; }"""
    )
    return [(box["x"] + (c + 0.5) * box["w"] / box["cols"], box["y"] + (r + 0.5) * box["h"] / box["rows"])
            for r, c in cells]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# --- measurements ------------------------------------------------------------------------------------------


@dataclass
class Load:
    label: str
    drawn_ms: float
    dom_ms: float
    server_ms: float  # last websocket frame before the heatmap was drawn, from navigation start


def measure_load(context: BrowserContext, url: str, label: str) -> tuple[Page, Load]:
    """Open the Playground in a new tab of `context`; navigation start -> output heatmap drawn."""
    page = context.new_page()
    page.add_init_script(DRAWN_PROBE_JS)
    frames: list[float] = []
    start = time.perf_counter()
    page.on("websocket", lambda ws: ws.on("framereceived", lambda _: frames.append(time.perf_counter())))
    page.goto(url)
    page.wait_for_function("() => window.__drawnAt > 0", timeout=TIMEOUT_MS, polling=50)
    drawn = page.evaluate("() => window.__drawnAt")
    dom = page.evaluate("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    drawn_wall = start + drawn / 1000
    last_frame = max((t for t in frames if t <= drawn_wall), default=start)
    return page, Load(label, drawn, dom, (last_frame - start) * 1000)


def time_strokes(page: Page, selector: str, cells: list[tuple[int, int]], wants: list[np.ndarray],
                 strokes: int) -> list[float]:
    """Paint `cells` (even strokes) and erase them (odd strokes); ms from pointerup until the heatmap
    under `selector` holds wants[0] (after painting) or wants[1] (after erasing)."""
    canvas = page.locator("canvas.pg-canvas").first
    page.evaluate(STROKE_PROBE_JS, selector)
    latencies = []
    for k in range(strokes):
        page.evaluate("want => Object.assign(window.__stroke, {want, t0: 0, seen: null})",
                      np.asarray(wants[k % 2], dtype=np.float64).ravel().tolist())
        (x0, y0), (x1, y1) = cell_points(page, cells)
        button = "left" if k % 2 == 0 else "right"
        page.mouse.move(x0, y0)
        page.mouse.down(button=button)
        page.mouse.move(x1, y1, steps=3)
        page.mouse.up(button=button)
        page.wait_for_function("() => window.__stroke.t1 > 0", timeout=TIMEOUT_MS, polling=50)
        latencies.append(page.evaluate("() => window.__stroke.t1 - window.__stroke.t0"))
        # The rerun has finished and Python acknowledged the stroke: strokes never queue. (Polled
        # every 50 ms, not every frame, so the waiting does not load the page being measured.)
        page.wait_for_function("el => el.dataset.pending === '0'", arg=canvas.element_handle(),
                               timeout=TIMEOUT_MS, polling=50)
        wait_script_end(page, polling=50)
    return latencies


def wait_canvas(page: Page, size: int) -> None:
    canvas = page.locator("canvas.pg-canvas").first
    page.wait_for_function(
        """([el, n]) => el.dataset.rows === String(n) && el.dataset.cols === String(n)
                       && el.dataset.pending === '0'""",
        arg=[canvas.element_handle(), size],
        timeout=TIMEOUT_MS,
    )


def stroke_latencies(page: Page, size: int, strokes: int) -> list[float]:
    """Resize the Playground input to size x size, then time `strokes` strokes (ms each)."""
    set_number(page, "pg.rows", size)
    set_number(page, "pg.cols", size)
    wait_canvas(page, size)
    wait_drawn(page)
    wait_script_end(page)
    K = kernel_preset("edge")
    # The lesson's stripes redrawn at the new size, as the page does for a preset nobody painted on;
    # the canvas must show it (row 0 is left out: the explained cell's window outline covers it).
    X = image_preset("stripes", (size, size))
    shown = canvas_grid(page)
    if not np.array_equal(shown[1:], X[1:]):
        raise RuntimeError(f"the {size}x{size} canvas does not show the stripes:\n{shown}")
    Y = corr2d(X, K)
    try:
        page.wait_for_function(  # the heatmap shows this grid's output before the first stroke
            f"""want => {{ {DECODE_FLAT_JS};
              const gd = document.querySelector('{OUTPUT_PLOT}');
              const z = gd && gd.data && gd.data[0] ? flat(gd.data[0].z) : [];
              return z.length === want.length && z.every((v, i) => Math.abs(v - want[i]) < 1e-9); }}""",
            arg=Y.ravel().tolist(),
            timeout=TIMEOUT_MS,
        )
    except Exception:
        z = page.evaluate(f"""() => {{ {DECODE_FLAT_JS};
            return flat(document.querySelector('{OUTPUT_PLOT}').data[0].z); }}""")
        raise RuntimeError(f"the heatmap shows {z}, not corr2d of the canvas grid\n{X}") from None
    # Three neighbouring black cells away from row 0 (the explained window sits there).
    r, c = next((r, c) for r in range(1, size) for c in range(size - 2) if not X[r, c : c + 3].any())
    painted = X.copy()
    painted[r, c : c + 3] = 1.0
    return time_strokes(page, OUTPUT_PLOT, [(r, c), (r, c + 2)], [corr2d(painted, K), Y], strokes)


HARNESS = "tests/browser/apps/paint_harness.py"


def reference_latencies(browser: Browser, strokes: int) -> dict[str, list[float]]:
    """The same strokes on the paint-grid test harness: the grid and a bare heatmap of it, nothing else.

    What the framework and this machine cost for a stroke round trip, timed in the same run.
    """
    results = {}
    with Server(name="bench-harness", script=HARNESS) as server:
        context = browser.new_context(viewport=VIEWPORT)
        for size in (8, 64):
            page = context.new_page()
            page.goto(server.url)
            page.get_by_text("Heatmap", exact=True).click()
            wait_drawn(page, "heatmap_chart")
            if size != 8:
                page.get_by_text(f"{size}x{size}", exact=True).click()
            wait_canvas(page, size)
            wait_script_end(page)
            blank = np.zeros((size, size))
            painted = blank.copy()
            painted[2, 1:4] = 1.0
            results[f"{size}x{size}"] = time_strokes(page, ".st-key-heatmap_chart .js-plotly-plot",
                                                     [(2, 1), (2, 3)], [painted, blank], strokes)
            page.close()
        context.close()
    return results


# Counts changes of the loss curve's last epoch while sampling for `duration` ms; the curve's x array
# is decoded only when Plotly holds a new one, so counting costs the page next to nothing.
# The streaming loss chart's canvas (ui/loss_chart.py), inside its component's shadow root. It
# carries data-last-epoch and data-draws.
LOSS_CANVAS_JS = """function lossCanvas() {
  const stack = [...document.querySelectorAll('.st-key-tr-loss_chart')];
  while (stack.length) {
    const node = stack.pop();
    const found = node.querySelector('canvas.lc-canvas');
    if (found) return found;
    for (const child of node.querySelectorAll('*')) if (child.shadowRoot) stack.push(child.shadowRoot);
  }
  return null;
}"""
# Counts redraws that show a new last epoch, looking once per animation frame.
CHART_UPDATES_JS = f"""(duration) => new Promise((resolve) => {{
  {LOSS_CANVAS_JS};
  let last = null, changes = 0, first = null;
  const look = () => {{
    const canvas = lossCanvas();
    if (!canvas || canvas.dataset.lastEpoch === undefined) return;
    const now = Number(canvas.dataset.lastEpoch);
    if (first === null) first = now;
    else if (now !== last) changes += 1;
    last = now;
  }};
  const t0 = performance.now();
  const frame = () => {{
    look();
    if (performance.now() - t0 < duration) requestAnimationFrame(frame);
    else resolve({{changes, seconds: (performance.now() - t0) / 1000, first, last}});
  }};
  frame();
}})"""


def loss_chart_ready(page: Page, attribute: str) -> None:
    """Wait until the loss chart's canvas has `attribute` (a data-* name in camelCase) above 0."""
    script = f"(name) => {{ {LOSS_CANVAS_JS}; return Number(lossCanvas()?.dataset[name]) > 0; }}"
    page.wait_for_function(script, arg=attribute, timeout=TIMEOUT_MS)


SPEEDS = [1, 5, 20, 100, 1000]  # the Train page's speed slider, epochs per second


def chart_updates(page: Page, url: str, seconds: float, speed: int = 1000) -> dict[str, float]:
    page.goto(f"{url}/train")
    loss_chart_ready(page, "draws")
    wait_script_end(page)
    set_number(page, "tr.epochs", 100_000)
    page.wait_for_function(
        "() => document.querySelector('.st-key-tr-epochs input')?.value === '100000'", timeout=TIMEOUT_MS
    )
    wait_script_end(page)
    slider = keyed(page, "tr.speed").get_by_role("slider")
    slider.focus()
    slider.press("End")
    for _ in range(len(SPEEDS) - 1 - SPEEDS.index(speed)):
        slider.press("ArrowLeft")
    page.wait_for_function(
        "() => document.querySelector('.st-key-tr-speed input[type=range]')?.getAttribute('aria-valuetext')"
        f" === '{speed} epochs/s'",
        timeout=TIMEOUT_MS,
    )
    wait_script_end(page)
    keyed(page, "tr.play").get_by_role("button").click()
    loss_chart_ready(page, "lastEpoch")
    result = page.evaluate(CHART_UPDATES_JS, seconds * 1000)
    keyed(page, "tr.pause").get_by_role("button").click()
    epochs = (result["last"] or 0) - (result["first"] or 0)
    return {
        "updates_per_s": result["changes"] / result["seconds"],
        "epochs_per_s": epochs / result["seconds"],
        "seconds": result["seconds"],
    }


# --- main ------------------------------------------------------------------------------------------------


@dataclass
class Results:
    machine: dict[str, Any] = field(default_factory=dict)
    loads: list[Load] = field(default_factory=list)
    strokes: dict[str, list[float]] = field(default_factory=dict)
    reference: dict[str, list[float]] = field(default_factory=dict)
    training: dict[str, float] = field(default_factory=dict)
    rss: dict[str, float] = field(default_factory=dict)
    log_errors: list[str] = field(default_factory=list)


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def run(args: argparse.Namespace) -> Results:
    res = Results(machine=machine())
    flags = [] if args.post_script_gc == "config" else ["--runner.postScriptGC", args.post_script_gc]
    with Server(*flags) as server, sync_playwright() as pw:
        browser: Browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        res.rss["server_start_mb"] = server.rss_mb()

        first_ctx = browser.new_context(viewport=VIEWPORT)
        first_page, load = measure_load(first_ctx, server.url, "first after server start")
        res.loads.append(load)
        wait_script_end(first_page)
        res.rss["one_session_mb"] = server.rss_mb()

        idle: list[BrowserContext] = []
        for k in range(args.loads):
            ctx = browser.new_context(viewport=VIEWPORT)
            page, load = measure_load(ctx, server.url, f"fresh context {k + 1}")
            wait_script_end(page)
            res.loads.append(load)
            idle.append(ctx)
        res.rss["six_sessions_mb"] = server.rss_mb()
        res.rss["per_idle_session_mb"] = (res.rss["six_sessions_mb"] - res.rss["one_session_mb"]) / args.loads
        for ctx in idle:
            ctx.close()

        warm_ctx = browser.new_context(viewport=VIEWPORT)
        page, _load = measure_load(warm_ctx, server.url, "warm-up")
        page.close()
        for k in range(args.loads):
            page, load = measure_load(warm_ctx, server.url, f"new tab, cached {k + 1}")
            res.loads.append(load)
            page.close()

        for size in (8, 64):
            page = warm_ctx.new_page()
            page.goto(server.url)
            wait_drawn(page)
            wait_script_end(page)
            res.strokes[f"{size}x{size}"] = stroke_latencies(page, size, args.strokes)
            page.close()

        page = warm_ctx.new_page()
        res.training = chart_updates(page, server.url, args.train_seconds)
        page.close()
        res.rss["after_all_mb"] = server.rss_mb()
        first_ctx.close()
        warm_ctx.close()
        if args.reference:
            res.reference = reference_latencies(browser, args.strokes)
        browser.close()
    res.log_errors = server.errors()
    res.machine["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return res


def verdict(value: float, target: float, higher_is_better: bool = False) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "ok" if ok else "MISSED"


def report(res: Results, args: argparse.Namespace) -> None:
    m = res.machine
    print(f"\nMachine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}; "
          f"load average {m['load_avg']} at start, {m['load_avg_end']} at end; "
          f"postScriptGC: {args.post_script_gc}")
    print("\nPage loads (navigation start -> output heatmap drawn; 'server' = last websocket frame "
          "before it):")
    for load in res.loads:
        print(f"  {load.label:26s} drawn {load.drawn_ms:7.0f} ms   DOMContentLoaded {load.dom_ms:6.0f} ms   "
              f"server {load.server_ms:6.0f} ms")
    rows: list[tuple[str, str, str, str]] = []
    for size, lat in res.strokes.items():
        p50, p95 = statistics.median(lat), percentile(lat, 95)
        print(f"\nStroke -> heatmap {size} ({len(lat)} strokes), ms: " + ", ".join(f"{v:.0f}" for v in lat))
        rows.append((f"stroke -> heatmap {size}, p50", f"{p50:.0f} ms", "≤ 150 ms",
                     verdict(p50, TARGETS["stroke_p50_ms"])))
        rows.append((f"stroke -> heatmap {size}, p95", f"{p95:.0f} ms", "≤ 250 ms",
                     verdict(p95, TARGETS["stroke_p95_ms"])))
    for size, lat in res.reference.items():
        rows.append((f"reference: paint-grid harness {size}, p50 (p95)",
                     f"{statistics.median(lat):.0f} ms ({percentile(lat, 95):.0f})", "(framework floor)", ""))
    first = res.loads[0]
    rows.append(("first load after server start", f"{first.drawn_ms:.0f} ms", "≤ 2500 ms",
                 verdict(first.drawn_ms, TARGETS["load_ms"])))
    for prefix, label in (("fresh context", "cold load, new visitor"), ("new tab", "load, cached frontend")):
        values = [ld.drawn_ms for ld in res.loads if ld.label.startswith(prefix)]
        if values:
            p50, p95 = statistics.median(values), percentile(values, 95)
            rows.append((f"{label}, p50 (p95)", f"{p50:.0f} ms ({p95:.0f})", "≤ 2500 ms",
                         verdict(p50, TARGETS["load_ms"])))
    t = res.training
    rows.append(("training chart updates/s at 1000 epochs/s", f"{t['updates_per_s']:.1f}/s "
                 f"({t['epochs_per_s']:.0f} epochs/s)", "≥ 20/s",
                 verdict(t["updates_per_s"], TARGETS["chart_updates_per_s"], higher_is_better=True)))
    r = res.rss
    rows.append(("server RSS, no session", f"{r['server_start_mb']:.0f} MB", "", ""))
    rows.append(("server RSS, one session", f"{r['one_session_mb']:.0f} MB", "≤ 400 MB",
                 verdict(r["one_session_mb"], TARGETS["rss_one_session_mb"])))
    rows.append(("RSS per further idle session (5 more)", f"{r['per_idle_session_mb']:.1f} MB", "≤ 5 MB",
                 verdict(r["per_idle_session_mb"], TARGETS["rss_per_idle_session_mb"])))
    rows.append(("server RSS at the end (all of the above)", f"{r['after_all_mb']:.0f} MB", "", ""))
    rows.append(("server log errors/warnings", str(len(res.log_errors)), "0",
                 "ok" if not res.log_errors else "MISSED"))
    width = max(len(row[0]) for row in rows)
    print(f"\n| {'measure':{width}s} | result | target | |")
    print(f"|{'-' * (width + 2)}|---|---|---|")
    for name, value, target, ok in rows:
        print(f"| {name:{width}s} | {value} | {target} | {ok} |")
    for line in res.log_errors[:20]:
        print(f"server log: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strokes", type=int, default=20, help="strokes per grid size (default 20)")
    parser.add_argument("--loads", type=int, default=5,
                        help="fresh contexts and cached tabs to load (default 5)")
    parser.add_argument("--train-seconds", type=float, default=5.0, help="seconds to count chart updates")
    parser.add_argument("--post-script-gc", choices=["config", "true", "false"], default="config",
                        help="override runner.postScriptGC (default: as .streamlit/config.toml says)")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip timing the same strokes on the bare paint-grid harness")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args()
    res = run(args)
    report(res, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "machine": res.machine, "post_script_gc": args.post_script_gc,
            "loads": [vars(ld) for ld in res.loads], "strokes_ms": res.strokes,
            "reference_strokes_ms": res.reference, "training": res.training,
            "rss_mb": res.rss, "log_errors": res.log_errors,
        }, indent=2))


if __name__ == "__main__":
    main()
