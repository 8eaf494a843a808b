"""The app's own numbers in headless Chromium, each against a reference measured in the same run.

Usage: python benchmarks/bench_app.py [--strokes 20] [--loads 5] [--train-seconds 5] [--json PATH]

Four servers run side by side on free loopback ports (the browser tests' `StreamlitServer`): the app
(`streamlit_app.py`), the bare grid harness (`tests/browser/apps/paint_harness.py`: the paint grid and
one view grid of its `corr2d` with [1, −1], nothing else but one button), a bare page
(`benchmarks/apps/bare.py`: a title and a line of text) and the same bare page at a sub-path
(`benchmarks/apps/bare_pages.py`). Measured, in one run:

- **stroke → output drawn**, 8x8 and 64x64 inputs, Playground against the harness: from the
  `pointerup` event to the moment the output grid's canvas carries `data-values` equal to `corr2d` of
  the painted grid (set right after it is drawn), timed inside the page with the events' own clock,
  so Playwright's round trips are not counted. Strokes alternate paint/erase, wait for the previous
  rerun to end, and the two apps take turns in blocks so that a busy spell hits both. Target: p50
  ratio ≤ 1.2x.
- **cold load** of each page (Playground, Lesson, Train): a fresh browser context each time (no HTTP
  cache, a new session), from navigation start until every grid of the page is drawn (the Train page:
  also the loss chart) or, for a bare page, its line of text is shown. Pages take turns. Target: p50
  ratio ≤ 1.5x a bare page (`benchmarks/apps/bare.py`). The Playground, the default page, is served at
  `/` like the bare page. Lesson (`/lesson`) and Train (`/train`) are served at a sub-path, where
  Streamlit's browser code first probes `/lesson/_stcore/health`, gets a 404 and retries at `/` after a
  fixed 100 ms, whatever the page holds. So a fourth server serves the same bare page at a sub-path of a
  two-page app (`benchmarks/apps/bare_pages.py`, `/sub`), and for Lesson and Train the ratio is their
  load less that fixed cost (bare at `/sub` − bare at `/`), over the bare page at `/`. Their plain
  ratios against either bare page are printed too, for information, as is the Train page's Plotly
  landscape (below the first screen).
- **training**: playing at 1000 epochs/s with a 100,000-epoch budget, the loss chart's animation
  frames per second (`data-frames` delta / time; target ≥ 30) and the server ticks per second (the
  chart's updates: distinct `data-last-epoch` values seen once per animation frame; target ≤ 10),
  with epochs per second for information.
- **server RSS** of the app (server and children, psutil): before any session, with one session,
  at the end; and the lines of the server log that report a problem.

It prints every sample, a table with the ratios, writes the numbers as JSON with --json, and exits 0
whatever the numbers: a target missed is reported, not raised. The machine is shared in development,
so the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from playwright.sync_api import Browser, Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere
sys.path.insert(0, str(REPO / "tests" / "browser"))  # the browser tests' server launcher and grid reads

from browser_helpers import (  # noqa: E402
    CHROMIUM_ARGS,
    FIND_GRID_JS,
    LOSS_DATA_JS,
    StreamlitServer,
    cell_points,
    keyed,
    revealed,
    set_number,
    wait_for_grid,
)

from convlab import corr2d  # noqa: E402
from convlab.images import image_preset  # noqa: E402
from convlab.kernels import kernel_preset  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 60_000
HARNESS = "tests/browser/apps/paint_harness.py"
BARE = "benchmarks/apps/bare.py"
BARE_PAGES = "benchmarks/apps/bare_pages.py"  # the same page at a sub-path (/sub) of a two-page app
BARE_TEXT = "A title and one line of text"
EDGE = kernel_preset("edge")
TARGETS = {"stroke_ratio": 1.2, "load_ratio": 1.5, "frames_per_s": 30.0, "ticks_per_s": 10.0}
# What "drawn" means for each page of a cold load: every grid shown on arrival has drawn its values.
# "reference": the bare page served at the same kind of address (the default page at "/", the others at
# a sub-path, where Streamlit's browser code first probes for the server at that path and retries at "/";
# that fixed cost is taken off their loads, see `report`).
PAGES: dict[str, dict[str, Any]] = {
    "bare": {"path": "", "grids": [], "text": BARE_TEXT},
    "bare at /sub": {"path": "/sub", "grids": [], "text": BARE_TEXT},
    "playground": {"path": "", "grids": ["pg.paint", "pg.kedit", "pg.output", "pg.ex_w", "pg.ex_k",
                                         "pg.ex_p"], "reference": "bare"},
    # The lesson's first screen is its step 1 (one step is shown at a time).
    "lesson": {"path": "/lesson", "grids": ["l1.X", "l1.K", "l1.Y = corr2d(X, K)"],
               "reference": "bare at /sub"},
    "train": {"path": "/train", "grids": ["tr.paint_x", "tr.learned", "tr.target_fig", "tr.pred"],
              "loss_chart": True, "reference": "bare at /sub"},
}


class Server(StreamlitServer):
    """A `streamlit run` server as a context manager that also reports its memory and log problems."""

    def __init__(self, script: str, name: str) -> None:
        super().__init__(REPO / script, name=name)

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


# --- page probes (JavaScript run inside the page) ---------------------------------------------------------

# Installed before the page's own scripts: sets window.__drawnAt (ms since navigation start) once every
# grid in WANT.grids has drawn its values (and WANT.text is shown, and the loss chart is drawn, if
# asked); window.__plotlyAt once a Plotly chart is drawn. Looks once per animation frame.
LOAD_PROBE_JS = """(() => {
  const want = __WANT__;
  window.__drawnAt = 0;
  window.__plotlyAt = 0;
  const drawnGrids = () => {
    const names = new Set();
    const roots = [document];
    for (const host of document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
      if (host.shadowRoot) roots.push(host.shadowRoot);
    }
    for (const root of roots) {
      for (const g of root.querySelectorAll('div.cl-grid')) {
        const c = g.querySelector('canvas.cl-canvas');
        if (c && c.dataset.values) names.add(g.dataset.name);
      }
    }
    return names;
  };
  const lossChart = __LOSS__;
  const check = () => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    if (!window.__plotlyAt && plots.some((gd) => Array.isArray(gd._fullData) && gd._fullData.length)) {
      window.__plotlyAt = performance.now();
    }
    if (!window.__drawnAt) {
      let ok = true;
      if (want.grids.length) {
        const names = drawnGrids();
        ok = want.grids.every((n) => names.has(n));
      }
      if (ok && want.text) {
        ok = [...document.querySelectorAll('[data-testid="stMarkdown"]')]
          .some((el) => el.textContent.includes(want.text));
      }
      if (ok && want.loss_chart) ok = !!lossChart();
      if (ok) window.__drawnAt = performance.now();
    }
    if (!window.__drawnAt || (want.loss_chart && !window.__plotlyAt)) requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();"""

# Stroke probe: t0 at pointerup, t1 when the grid `name` carries data-values equal to `want` (within
# 1e-9; on the Playground the browser's own preview draws it, see grid.js "live preview"), t2 when
# Python's answer has arrived: the painted grid `paint` reports no stroke pending (data-pending "0"
# after having been non-zero since t0). MutationObservers on the canvases catch the attributes as
# they are set; the canvases are looked up again every animation frame (a remount replaces them).
STROKE_PROBE_JS = f"""([name, paint]) => {{
  {FIND_GRID_JS};
  const p = window.__stroke = {{want: null, t0: 0, t1: 0, t2: 0, sent: false, seen: null}};
  const check = () => {{
    if (!p.t0 || !p.want) return;
    const pc = gridCanvas(paint);
    if (pc && !p.t2) {{
      if (pc.dataset.pending !== '0') p.sent = true;
      else if (p.sent) p.t2 = performance.now();
    }}
    const c = gridCanvas(name);
    if (p.t1 || !c || c.dataset.values === p.seen) return;
    p.seen = c.dataset.values;
    const got = JSON.parse(p.seen);
    if (got.length === p.want.length && got.every((v, i) => Math.abs(v - p.want[i]) < 1e-9)) {{
      p.t1 = performance.now();
    }}
  }};
  window.addEventListener('pointerup', (e) => {{ p.t0 = e.timeStamp; p.t1 = 0; p.t2 = 0; p.sent = false; }},
                          true);
  const observer = new MutationObserver(check);
  let watched = [null, null];
  const frame = () => {{
    const c = gridCanvas(name);
    const pc = gridCanvas(paint);
    if (c && pc && (c !== watched[0] || pc !== watched[1])) {{
      observer.disconnect();
      observer.observe(c, {{attributes: true, attributeFilter: ['data-values']}});
      observer.observe(pc, {{attributes: true, attributeFilter: ['data-pending']}});
      watched = [c, pc];
    }}
    check();
    requestAnimationFrame(frame);
  }};
  requestAnimationFrame(frame);
}}"""

# Samples the loss chart once per animation frame for `duration` ms: animation frames drawn
# (data-frames), server updates (distinct data-last-epoch values: every tick brings new epochs at
# 1000 epochs/s), draws, and the epochs covered.
# Sampled once per animation frame; a remounted chart restarts its counters, so counts are summed
# over the samples (a drop is a restart) rather than taken end to end.
TRAINING_PROBE_JS = f"""(duration) => new Promise((resolve) => {{
  const data = {LOSS_DATA_JS};
  let prev = data(), updates = 0, frames = 0, draws = 0, restarts = 0;
  const first = prev;
  const t0 = performance.now();
  const frame = () => {{
    const d = data();
    if (d) {{
      if (d.lastEpoch !== prev.lastEpoch) updates += 1;
      const restarted = Number(d.frames) < Number(prev.frames) || Number(d.draws) < Number(prev.draws);
      restarts += restarted ? 1 : 0;
      frames += restarted ? Number(d.frames) : Number(d.frames) - Number(prev.frames);
      draws += restarted ? Number(d.draws) : Number(d.draws) - Number(prev.draws);
      prev = d;
    }}
    if (performance.now() - t0 < duration) requestAnimationFrame(frame);
    else resolve({{seconds: (performance.now() - t0) / 1000, updates, frames, draws, restarts,
                   epochs: Number(prev.lastEpoch) - Number(first.lastEpoch)}});
  }};
  requestAnimationFrame(frame);
}})"""


def wait_script_end(page: Page) -> None:
    page.wait_for_function(
        """() => document.querySelector('[data-testid="stApp"]')
                   ?.getAttribute('data-test-script-state') === 'notRunning'""",
        timeout=TIMEOUT_MS,
        polling=50,
    )


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# --- cold loads ------------------------------------------------------------------------------------------


@dataclass
class Load:
    page: str
    drawn_ms: float
    dom_ms: float
    plotly_ms: float | None = None


def cold_load(browser: Browser, url: str, name: str) -> Load:
    """A fresh context (no cache, new session): navigation start -> the page's grids drawn."""
    spec = PAGES[name]
    want = {"grids": spec["grids"], "text": spec.get("text"), "loss_chart": bool(spec.get("loss_chart"))}
    probe = LOAD_PROBE_JS.replace("__WANT__", json.dumps(want)).replace("__LOSS__", LOSS_DATA_JS)
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.add_init_script(probe)
        page.goto(url + spec["path"])
        page.wait_for_function("() => window.__drawnAt > 0", timeout=TIMEOUT_MS, polling=50)
        if spec.get("loss_chart"):
            page.wait_for_function("() => window.__plotlyAt > 0", timeout=TIMEOUT_MS, polling=50)
        drawn, plotly = page.evaluate("() => [window.__drawnAt, window.__plotlyAt]")
        dom = page.evaluate("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
        wait_script_end(page)  # the session's run is over before the context goes
        return Load(name, drawn, dom, plotly or None)
    finally:
        context.close()


# --- strokes ---------------------------------------------------------------------------------------------


@dataclass
class StrokeTarget:
    """A page ready for timed strokes: paint `cells` on grid `paint`, watch grid `output`."""

    page: Page
    paint: str
    output: str
    cells: list[tuple[int, int]]
    wants: tuple[np.ndarray, np.ndarray]  # the output after painting, after erasing


def playground_target(page: Page, url: str, size: int) -> StrokeTarget:
    """The Playground resized to size x size (the lesson's stripes redrawn at that size)."""
    page.goto(url)
    X0 = image_preset("stripes")
    wait_for_grid(page, "pg.output", corr2d(X0, EDGE), timeout_ms=TIMEOUT_MS)
    wait_script_end(page)
    set_number(page, "pg.rows", size)
    set_number(page, "pg.cols", size)
    X = image_preset("stripes", (size, size))
    wait_for_grid(page, "pg.paint", X, timeout_ms=TIMEOUT_MS)
    Y = corr2d(X, EDGE)
    wait_for_grid(page, "pg.output", Y, timeout_ms=TIMEOUT_MS)
    wait_script_end(page)
    # Three neighbouring black cells away from row 0 (the explained window sits there).
    r, c = next((r, c) for r in range(1, size) for c in range(size - 2) if not X[r, c : c + 3].any())
    painted = X.copy()
    painted[r, c : c + 3] = 1.0
    page.evaluate(STROKE_PROBE_JS, ["pg.output", "pg.paint"])
    return StrokeTarget(page, "pg.paint", "pg.output", [(r, c), (r, c + 2)], (corr2d(painted, EDGE), Y))


def harness_target(page: Page, url: str, size: int) -> StrokeTarget:
    """The bare harness with a blank size x size grid."""
    page.goto(f"{url}?n={size}")
    blank = np.zeros((size, size))
    wait_for_grid(page, "out", corr2d(blank, EDGE), timeout_ms=TIMEOUT_MS)
    wait_script_end(page)
    painted = blank.copy()
    painted[2, 1:4] = 1.0
    page.evaluate(STROKE_PROBE_JS, ["out", "paint"])
    return StrokeTarget(page, "paint", "out", [(2, 1), (2, 3)], (corr2d(painted, EDGE), corr2d(blank, EDGE)))


def time_strokes(target: StrokeTarget, strokes: int, start: int) -> list[tuple[float, float]]:
    """Paint the cells (even strokes) and erase them (odd ones); ms from pointerup to the output drawn,
    and to Python's answer (the stroke acknowledged).

    `start` is the number of strokes this target has had already (so paint and erase keep alternating).
    """
    page = target.page
    latencies = []
    for k in range(start, start + strokes):
        page.evaluate("want => Object.assign(window.__stroke, {want, t0: 0, t1: 0, seen: null})",
                      target.wants[k % 2].ravel().tolist())
        (x0, y0), (x1, y1) = cell_points(page, target.paint, target.cells)
        button = "left" if k % 2 == 0 else "right"
        page.mouse.move(x0, y0)
        page.mouse.down(button=button)
        page.mouse.move(x1, y1, steps=3)
        page.mouse.up(button=button)
        page.wait_for_function("() => window.__stroke.t1 > 0 && window.__stroke.t2 > 0", timeout=TIMEOUT_MS,
                               polling=50)
        latencies.append(tuple(page.evaluate("() => [window.__stroke.t1 - window.__stroke.t0, "
                                             "window.__stroke.t2 - window.__stroke.t0]")))
        # Python acknowledged the stroke and the rerun ended: strokes never queue. (Polled every 50 ms,
        # not every frame, so the waiting does not load the page being measured.)
        page.wait_for_function(
            f"(name) => {{ {FIND_GRID_JS}; return gridCanvas(name)?.dataset.pending === '0'; }}",
            arg=target.paint, timeout=TIMEOUT_MS, polling=50,
        )
        wait_script_end(page)
    return latencies


# --- training --------------------------------------------------------------------------------------------

SPEEDS = [1, 5, 20, 100, 1000]  # the Train page's speed slider, epochs per second


def training(browser: Browser, url: str, seconds: float) -> dict[str, float]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{url}/train")
        wait_for_grid(page, "tr.pred", timeout_ms=TIMEOUT_MS)
        page.wait_for_function(LOSS_DATA_JS, timeout=TIMEOUT_MS)
        wait_script_end(page)
        set_number(page, "tr.epochs", 100_000)  # in the optimiser's popover, labelled "… · 100000 epochs"
        expect(page.get_by_test_id("stPopover").filter(has_text=" · lr ")).to_contain_text(
            "100000 epochs", timeout=TIMEOUT_MS)
        wait_script_end(page)
        with revealed(page, "tr.speed") as speed:
            slider = speed.get_by_role("slider")
            slider.focus()
            slider.press("End")  # 1000 epochs/s
            expect(slider).to_have_attribute("aria-valuetext", "1000 epochs/s", timeout=TIMEOUT_MS)
            wait_script_end(page)
        keyed(page, "tr.play").get_by_role("button").click()
        page.wait_for_function(f"() => Number(({LOSS_DATA_JS})()?.lastEpoch) >= 100", timeout=TIMEOUT_MS)
        r = page.evaluate(TRAINING_PROBE_JS, seconds * 1000)
        keyed(page, "tr.pause").get_by_role("button").click()
        wait_script_end(page)
    finally:
        context.close()
    s = r["seconds"]
    return {"seconds": s, "frames_per_s": r["frames"] / s, "ticks_per_s": r["updates"] / s,
            "draws_per_s": r["draws"] / s, "epochs_per_s": r["epochs"] / s, "chart_remounts": r["restarts"]}


# --- main ------------------------------------------------------------------------------------------------


@dataclass
class Results:
    machine: dict[str, Any] = field(default_factory=dict)
    first_loads: list[Load] = field(default_factory=list)
    loads: list[Load] = field(default_factory=list)
    strokes: dict[str, list[float]] = field(default_factory=dict)  # "playground 8x8" -> ms, output drawn
    answers: dict[str, list[float]] = field(default_factory=dict)  # ... -> ms, Python's answer arrived
    training: dict[str, float] = field(default_factory=dict)
    rss: dict[str, float] = field(default_factory=dict)
    log_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "load_avg": [round(x, 2) for x in os.getloadavg()]}


def phase(res: Results, name: str, measure: Callable[[], None]) -> None:
    """Run one measurement; a failure is reported (and the run exits 1) without losing the others."""
    try:
        measure()
    except Exception as error:  # a page that never drew, a server that died: say so, keep the rest
        res.failures.append(f"{name}: {type(error).__name__}: {str(error).splitlines()[0]}")
        print(f"  {name} FAILED: {error}", flush=True)


def run(args: argparse.Namespace) -> Results:
    res = Results(machine=machine())
    with (Server("streamlit_app.py", "bench-app") as app, Server(HARNESS, "bench-harness") as harness,
          Server(BARE, "bench-bare") as bare, Server(BARE_PAGES, "bench-bare-pages") as bare_pages,
          sync_playwright() as pw):
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        urls = {"bare": bare.url, "bare at /sub": bare_pages.url, "playground": app.url, "lesson": app.url,
                "train": app.url}
        res.rss["app_start_mb"] = app.rss_mb()

        def loads() -> None:
            # The first visit of each server imports its modules: timed, but not a cold load's sample.
            for name in PAGES:
                res.first_loads.append(cold_load(browser, urls[name], name))
            res.rss["app_one_session_mb"] = app.rss_mb()
            for _ in range(args.loads):
                for name in PAGES:  # the pages take turns, so a busy spell of the machine hits all of them
                    res.loads.append(cold_load(browser, urls[name], name))
                    print(f"  cold load {name:10s} {res.loads[-1].drawn_ms:6.0f} ms", flush=True)

        def strokes() -> None:
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(TIMEOUT_MS)
            blocks = 2  # each app's strokes come in two blocks, in turns with the other app
            per_block = [args.strokes // blocks + (k < args.strokes % blocks) for k in range(blocks)]
            try:
                for size in (8, 64):
                    targets = {"harness": harness_target(context.new_page(), harness.url, size),
                               "playground": playground_target(context.new_page(), app.url, size)}
                    done = dict.fromkeys(targets, 0)
                    for n in per_block:
                        for name, target in targets.items():
                            target.page.bring_to_front()
                            lat = time_strokes(target, n, done[name])
                            done[name] += n
                            res.strokes.setdefault(f"{name} {size}x{size}", []).extend(d for d, _ in lat)
                            res.answers.setdefault(f"{name} {size}x{size}", []).extend(a for _, a in lat)
                            print(f"  strokes {name} {size}x{size} (drawn/answer): "
                                  + ", ".join(f"{d:.0f}/{a:.0f}" for d, a in lat), flush=True)
                    for target in targets.values():
                        target.page.close()
            finally:
                context.close()

        def train() -> None:
            res.training = training(browser, app.url, args.train_seconds)

        phase(res, "cold loads", loads)
        phase(res, "strokes", strokes)
        phase(res, "training", train)
        res.rss["app_end_mb"] = app.rss_mb()
        browser.close()
    res.log_errors = app.errors() + harness.errors() + bare.errors() + bare_pages.errors()
    res.machine["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return res


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(res: Results) -> list[tuple[str, ...]]:
    m = res.machine
    print(f"\nMachine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}; "
          f"load average {m['load_avg']} at start, {m['load_avg_end']} at end")
    print("\nFirst visit after each server started (not counted): "
          + ", ".join(f"{ld.page} {ld.drawn_ms:.0f} ms" for ld in res.first_loads))
    rows: list[tuple[str, ...]] = []
    for size in ("8x8", "64x64"):
        app, ref = res.strokes.get(f"playground {size}", []), res.strokes.get(f"harness {size}", [])
        if not app or not ref:
            continue
        ratio = statistics.median(app) / statistics.median(ref)
        rows.append((f"stroke → output drawn {size}, p50 (p95)",
                     f"{statistics.median(app):.0f} ms ({percentile(app, 95):.0f})",
                     f"harness {statistics.median(ref):.0f} ms ({percentile(ref, 95):.0f})",
                     f"{ratio:.2f}x", f"≤ {TARGETS['stroke_ratio']}x",
                     verdict(ratio <= TARGETS["stroke_ratio"])))
        app, ref = res.answers.get(f"playground {size}", []), res.answers.get(f"harness {size}", [])
        if app and ref:
            rows.append((f"  {size}: stroke → Python's answer in, p50 (p95)",
                         f"{statistics.median(app):.0f} ms ({percentile(app, 95):.0f})",
                         f"harness {statistics.median(ref):.0f} ms ({percentile(ref, 95):.0f})",
                         f"{statistics.median(app) / statistics.median(ref):.2f}x", "(info)", ""))
    def p50(page: str) -> float | None:
        values = [ld.drawn_ms for ld in res.loads if ld.page == page]
        return statistics.median(values) if values else None

    def p95(page: str) -> float:
        return percentile([ld.drawn_ms for ld in res.loads if ld.page == page], 95)

    bare, sub = p50("bare"), p50("bare at /sub")
    for name in ("playground", "lesson", "train"):
        app = p50(name)
        if app is None or bare is None:
            continue
        if PAGES[name]["reference"] == "bare":
            ratio, label, reference = app / bare, "", f"bare {bare:.0f} ms ({p95('bare'):.0f})"
        elif sub is not None:
            # The sub-path's own cost is a fixed delay (Streamlit's probe, then 100 ms): subtracted, not
            # divided out, so the page is held to a bare page at "/" for all it adds beyond it.
            ratio, label = (app - (sub - bare)) / bare, ", less the sub-path's cost"
            reference = f"bare {bare:.0f} ms; sub-path cost {sub - bare:.0f} ms"
        else:
            continue
        rows.append((f"cold load {name}{label}, p50 (p95)", f"{app:.0f} ms ({p95(name):.0f})", reference,
                     f"{ratio:.2f}x", f"≤ {TARGETS['load_ratio']}x", verdict(ratio <= TARGETS["load_ratio"])))
    if bare is not None and sub is not None:
        rows.append(("  bare page at a sub-path (/sub), p50", f"{sub:.0f} ms", f"bare {bare:.0f} ms",
                     f"{sub / bare:.2f}x", "(info)", ""))
        for name in ("lesson", "train"):  # served at a sub-path: the plain ratios, against either bare page
            app = p50(name)
            if app is not None:
                rows.append((f"  {name} against the bare page at / and at /sub", "",
                             f"bare {bare:.0f} ms, at /sub {sub:.0f} ms",
                             f"{app / bare:.2f}x / {app / sub:.2f}x", "(info)", ""))
    plotly = [ld.plotly_ms for ld in res.loads if ld.page == "train" and ld.plotly_ms]
    if plotly and bare is not None:
        rows.append(("  train: loss landscape (Plotly) drawn, p50", f"{statistics.median(plotly):.0f} ms", "",
                     f"{statistics.median(plotly) / bare:.2f}x", "(info)", ""))
    t = res.training
    if t:
        fps, ticks = t["frames_per_s"], t["ticks_per_s"]
        rows.append(("training at 1000 epochs/s: chart frames/s", f"{fps:.1f}/s", "", "",
                     f"≥ {TARGETS['frames_per_s']:.0f}/s", verdict(fps >= TARGETS["frames_per_s"])))
        rows.append(("training: server ticks/s (chart updates)", f"{ticks:.1f}/s", "", "",
                     f"≤ {TARGETS['ticks_per_s']:.0f}/s", verdict(ticks <= TARGETS["ticks_per_s"])))
        rows.append(("training: epochs/s (chart draws/s)",
                     f"{t['epochs_per_s']:.0f}/s ({t['draws_per_s']:.1f})", "", "", "(info)", ""))
    rss = " / ".join(f"{res.rss[k]:.0f}" if k in res.rss else "?"
                     for k in ("app_start_mb", "app_one_session_mb", "app_end_mb"))
    rows.append(("app server RSS: start / one session / end", f"{rss} MB", "", "", "(info)", ""))
    rows.append(("server log problems (4 servers)", str(len(res.log_errors)), "", "", "0",
                 verdict(not res.log_errors)))
    header = ("measure", "app", "reference, same run", "ratio", "target", "")
    widths = [max(len(row[k]) for row in [header, *rows]) for k in range(len(header))]
    print()
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
    for line in res.log_errors[:20]:
        print(f"server log: {line}")
    for failure in res.failures:
        print(f"NOT MEASURED: {failure}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strokes", type=int, default=20, help="strokes per app and grid size (default 20)")
    parser.add_argument("--loads", type=int, default=5, help="cold loads per page (default 5)")
    parser.add_argument("--train-seconds", type=float, default=5.0,
                        help="seconds to watch the training chart (default 5)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args()
    res = run(args)
    report(res)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "machine": res.machine, "first_loads": [vars(ld) for ld in res.first_loads],
            "loads": [vars(ld) for ld in res.loads], "strokes_ms": res.strokes, "answers_ms": res.answers,
            "training": res.training,
            "rss_mb": res.rss, "log_errors": res.log_errors, "failures": res.failures,
        }, indent=2))
    sys.exit(1 if res.failures else 0)  # missed targets exit 0; only a measurement that failed exits 1


if __name__ == "__main__":
    main()
