"""Helpers for the browser tests: a Streamlit server per script, robust waits, Plotly and paint-grid reads.

Every wait here waits for content (Playwright's `expect` or `wait_for_function`), never a sleep.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium reaches for the network (updates, sync, QUIC probes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HEALTH_TIMEOUT_S = 60.0
MouseButton = Literal["left", "middle", "right"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StreamlitServer:
    """`streamlit run <script>` on a free port, its output in a log file under `test-artifacts/`."""

    def __init__(self, script: Path, *, flags: Sequence[str] = (), name: str | None = None) -> None:
        """`flags`: extra `streamlit run` options; `name`: the log file's stem (default: the script's)."""
        self.script = script
        self.flags = list(flags)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = ARTIFACTS / "logs" / f"streamlit-{name or script.stem}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start the server and wait until its health endpoint answers `ok`; return the base URL."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        # Scripts under tests/ import `ui` and `convlab` from the repo root.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        command = [
            sys.executable, "-m", "streamlit", "run", str(self.script),
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(self.port),
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
            *self.flags,
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            # Its own process group: Ctrl-C on pytest does not hit the server mid-teardown.
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_healthy()
        return self.url

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)  # polling a process that is still booting; no page state to wait on yet
        self.stop()
        raise RuntimeError(f"streamlit not healthy after {HEALTH_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server by its PID: terminate, wait, kill."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_text(self) -> str:
        """Everything the server wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log, for failure messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])


def wait_until(page: Page, predicate_js: str, arg: Any = None, *, what: str) -> None:
    """Wait (polling every animation frame) until `predicate_js(arg)` is truthy; fail saying `what`.

    `expect(...)` re-checks after 100, 250, 500, 1000 ms, which adds up to a second per wait;
    waits on the hot path of a test use this instead.
    """
    try:
        page.wait_for_function(predicate_js, arg=arg)
    except PlaywrightTimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def wait_for_markdown(page: Page, text: str) -> None:
    """Wait until some `st.write`/`st.markdown` element shows exactly `text`."""
    wait_until(
        page,
        """text => [...document.querySelectorAll('[data-testid="stMarkdown"]')]
                     .some((el) => el.textContent.trim() === text)""",
        text,
        what=f"a markdown element reading {text!r}",
    )


def wait_for_code(page: Page, text: str) -> None:
    """Wait until some `st.code` element shows exactly `text`."""
    try:
        wait_until(
            page,
            """text => [...document.querySelectorAll('[data-testid="stCode"] code')]
                         .some((el) => el.textContent.trim() === text)""",
            text,
            what=f"a code block reading {text!r}",
        )
    except AssertionError as error:
        shown = page.get_by_test_id("stCode").locator("code").all_text_contents()
        raise AssertionError(f"{error}; code blocks show {shown}") from None


def open_app(page: Page, url: str, expected_text: str) -> None:
    """Load the app and wait until it has rendered a markdown element reading `expected_text`."""
    page.goto(url)
    wait_for_markdown(page, expected_text)


def wait_for_script_end(page: Page) -> None:
    """Wait until the app reports no script running (only after the content you expect is there:
    this attribute can miss a fast rerun, so it is no proof that a rerun happened)."""
    wait_until(
        page,
        """() => document.querySelector('[data-testid="stApp"]')
                   ?.getAttribute('data-test-script-state') === 'notRunning'""",
        what="the script run to end",
    )


def expect_no_exception(page: Page) -> None:
    """No Streamlit exception box on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)


# --- Plotly -------------------------------------------------------------------------------------

# Plotly 6+ ships numeric arrays as `{dtype, bdata, shape}` (base64, little-endian); the browser
# may also hold typed arrays. Both become nested plain arrays here.
_DECODE_JS = """function decode(v) {
  const types = {f8: Float64Array, f4: Float32Array, i1: Int8Array, u1: Uint8Array, u1c: Uint8ClampedArray,
                 i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array};
  if (ArrayBuffer.isView(v)) return Array.from(v);
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === 'object' && typeof v.bdata === 'string' && types[v.dtype]) {
    const bytes = Uint8Array.from(atob(v.bdata), (ch) => ch.charCodeAt(0));
    const flat = Array.from(new types[v.dtype](bytes.buffer));
    const shape = v.shape === undefined ? [flat.length] : String(v.shape).split(',').map(Number);
    const build = (offset, dims) => {
      if (dims.length === 1) return flat.slice(offset, offset + dims[0]);
      const step = dims.slice(1).reduce((a, b) => a * b, 1);
      return Array.from({length: dims[0]}, (_, i) => build(offset + i * step, dims.slice(1)));
    };
    return build(0, shape);
  }
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}"""


def _plot_div(chart: Locator) -> Locator:
    """The Plotly graph div inside a `stPlotlyChart` element."""
    return chart.locator(".js-plotly-plot").first


def wait_for_plotly(page: Page, chart: Locator) -> None:
    """Wait until Plotly has drawn the chart: its graph div carries `_fullData`."""
    div = _plot_div(chart)
    div.wait_for(state="attached")
    page.wait_for_function(
        "gd => Array.isArray(gd._fullData) && gd._fullData.length > 0", arg=div.element_handle()
    )


def plotly_traces(chart: Locator) -> list[dict[str, Any]]:
    """The chart's traces (`gd.data`) as plain Python data, numeric arrays decoded."""
    return _plot_div(chart).evaluate(f"gd => {{ {_DECODE_JS}; return decode(gd.data); }}")


def wait_for_trace_data(page: Page, chart: Locator, name: str, expected: Any, trace: int = 0) -> None:
    """Wait until Plotly has drawn trace `trace` with `name` (e.g. "z") equal to `expected`."""
    wait_for_plotly(page, chart)
    page.wait_for_function(
        f"""([gd, trace, name, want]) => {{
          {_DECODE_JS};
          const t = gd._fullData && gd.data[trace];
          return !!t && JSON.stringify(decode(t[name])) === JSON.stringify(want);
        }}""",
        arg=[_plot_div(chart).element_handle(), trace, name, expected],
    )


# --- Paint grid -----------------------------------------------------------------------------------


def grid_canvas(page: Page) -> Locator:
    """The paint grid's canvas (Playwright's CSS locators pierce the component's shadow root)."""
    return page.locator("canvas.pg-canvas").first


def grid_caption(page: Page) -> Locator:
    """The line under the canvas that shows the hovered cell."""
    return page.locator(".pg-caption").first


# Streamlit remounts a component when elements above it come or go (an alert at the top of the
# page), which leaves an element handle pointing at a detached canvas. Waits therefore look the
# canvas up again on every poll, through its container's `st-key-...` class and shadow root.
_LIVE_CANVAS_JS = """function live([el, keyClass]) {
  if (el && el.isConnected) return el;
  const host = keyClass && document.querySelector('.' + keyClass);
  const stack = host ? [host] : [];
  while (stack.length) {
    const node = stack.pop();
    const found = node.querySelector('canvas.pg-canvas');
    if (found) return found;
    for (const child of node.querySelectorAll('*')) if (child.shadowRoot) stack.push(child.shadowRoot);
  }
  return el;
}"""


def _live_canvas(canvas: Locator) -> list[Any]:
    """[handle, key class] for `_LIVE_CANVAS_JS`'s `live`."""
    key = canvas.evaluate(
        """el => {
          const host = el.getRootNode().host || el;
          const keyed = host.closest('[class*="st-key-"]');
          return keyed ? [...keyed.classList].find((c) => c.startsWith('st-key-')) : null;
        }"""
    )
    return [canvas.element_handle(), key]


def wait_for_canvas_attribute(page: Page, canvas: Locator, name: str, value: str) -> None:
    """Wait until the canvas carries `data-<name>="<value>"`."""
    wait_until(
        page,
        f"([el, name, value]) => {{ {_LIVE_CANVAS_JS}; return live(el).dataset[name] === value; }}",
        [_live_canvas(canvas), name, value],
        what=f"the paint grid's data-{name} to be {value!r}",
    )


def cell_point(canvas: Locator, row: float, col: float) -> tuple[float, float]:
    """Page coordinates of the centre of cell (row, col); fractional cells are allowed."""
    return _cell_points(canvas, [(row, col)])[0]


def _cell_points(canvas: Locator, cells: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Page coordinates of several cell centres, from one read of the canvas's box and shape."""
    box = canvas.evaluate(
        """el => {
          const r = el.getBoundingClientRect();
          const [rows, cols] = [+el.dataset.rows, +el.dataset.cols];
          return {x: r.left, y: r.top, w: r.width, h: r.height, rows, cols};
        }"""
    )
    assert box["w"] > 0 and box["rows"] > 0, "the paint grid canvas is not drawn"
    return [
        (box["x"] + (col + 0.5) * box["w"] / box["cols"], box["y"] + (row + 0.5) * box["h"] / box["rows"])
        for row, col in cells
    ]


def drag(
    page: Page, canvas: Locator, cells: list[tuple[int, int]], *, steps: int = 5, button: MouseButton = "left"
) -> None:
    """Press on the first cell, move through the others (`steps` pointer moves per leg), release."""
    canvas.scroll_into_view_if_needed()
    points = _cell_points(canvas, cells)
    page.mouse.move(*points[0])
    page.mouse.down(button=button)
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=steps)
    page.mouse.up(button=button)


# Reads each cell's gray level from the canvas pixels at 30% into the cell, clear of the value
# written at the centre, of the grid line on the cell's first pixel and of the highlight outline.
_READ_CELLS_JS = """canvas => {
  const rows = +canvas.dataset.rows, cols = +canvas.dataset.cols;
  const image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const cw = canvas.width / cols, ch = canvas.height / rows;
  const out = [];
  for (let r = 0; r < rows; r++) {
    const row = [];
    for (let c = 0; c < cols; c++) {
      const x = Math.floor((c + 0.3) * cw), y = Math.floor((r + 0.3) * ch);
      row.push(image[(y * canvas.width + x) * 4]);
    }
    out.push(row);
  }
  return out;
}"""


def canvas_levels(canvas: Locator) -> np.ndarray:
    """The gray level (0-255) the canvas shows for each cell, (H, W)."""
    return np.array(canvas.evaluate(_READ_CELLS_JS))


def wait_for_canvas(page: Page, canvas: Locator, levels: np.ndarray) -> None:
    """Wait until the canvas shows exactly `levels` (gray 0-255 per cell)."""
    want = np.asarray(levels).astype(int)
    try:
        wait_until(
            page,
            f"""([canvas, want]) => {{
              {_LIVE_CANVAS_JS};
              const got = ({_READ_CELLS_JS})(live(canvas));
              return got.length === want.length
                && got.every((row, r) => row.every((v, c) => v === want[r][c]));
            }}""",
            [_live_canvas(canvas), want.tolist()],
            what="the canvas to show the expected cells",
        )
    except AssertionError as error:
        raise AssertionError(f"{error}; it shows\n{canvas_levels(canvas)}\nexpected\n{want}") from None


# --- The real app: keyed widgets, charts, clicks, layout ----------------------------------------------

APP_COLD_MS = 60_000  # a fresh server's first page imports torch and loads every frontend chunk


def key_class(key: str) -> str:
    """The CSS class Streamlit gives a keyed element's container: `pg.kedit.1` -> `st-key-pg-kedit-1`."""
    return "st-key-" + "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in key)


def keyed(page: Page, key: str) -> Locator:
    """The container of the element with widget key `key`."""
    return page.locator(f".{key_class(key)}").first


def wait_for_chart(page: Page, key: str, timeout_ms: float | None = None) -> Locator:
    """Wait until the Plotly chart with key `key` is drawn; return its container."""
    try:
        page.wait_for_function(
            """selector => { const gd = document.querySelector(selector);
                             return !!gd && Array.isArray(gd._fullData) && gd._fullData.length > 0; }""",
            arg=f".{key_class(key)} .js-plotly-plot",
            timeout=timeout_ms,
        )
    except PlaywrightTimeoutError:
        raise AssertionError(f"timed out waiting for the chart {key!r} to be drawn") from None
    return keyed(page, key)


def chart_array(chart: Locator, name: str = "z", trace: int = 0) -> np.ndarray:
    """Trace `trace`'s `name` array of a drawn chart, as float64 (None, i.e. NaN in JSON, -> nan)."""
    values = plotly_traces(chart)[trace].get(name)
    return np.array(values if values is not None else [], dtype=np.float64)


def _live_plot_selector(chart: Locator) -> str:
    """A CSS selector for the chart's graph div that survives React replacing the element.

    An element handle can go stale when Streamlit remounts a chart, so waits look the div up anew
    on every poll, through the container's `st-key-...` class.
    """
    key = chart.evaluate(
        """el => [...(el.closest('[class*="st-key-"]') || el).classList]
                  .find((c) => c.startsWith('st-key-'))"""
    )
    if not key:
        raise ValueError("wait_for_trace_close needs a keyed chart: pass keyed(page, key)")
    return f".{key} .js-plotly-plot"


def wait_for_trace_close(
    page: Page, chart: Locator, expected: Any, *, name: str = "z", trace: int = 0, atol: float = 1e-9
) -> None:
    """Wait until trace `trace`'s `name` array has `expected`'s shape and values within `atol`.

    `chart` is a keyed chart container (`keyed(page, key)`). Plotly 6+ ships float64 arrays bit for
    bit, so `atol` only absorbs float32 figures.
    """
    want = np.asarray(expected, dtype=np.float64)
    try:
        wait_until(
            page,
            f"""([selector, trace, name, want, shape, atol]) => {{
              {_DECODE_JS};
              const gd = document.querySelector(selector);
              if (!gd || !gd._fullData || !gd.data || !gd.data[trace]) return false;
              const got = decode(gd.data[trace][name]);
              const flat = [], dims = [];
              let level = got;
              while (Array.isArray(level)) {{ dims.push(level.length); level = level[0]; }}
              if (JSON.stringify(dims) !== JSON.stringify(shape)) return false;
              (function walk(v) {{ if (Array.isArray(v)) v.forEach(walk); else flat.push(v); }})(got);
              return flat.every((v, i) => typeof v === 'number' && Math.abs(v - want[i]) <= atol);
            }}""",
            [_live_plot_selector(chart), trace, name, want.ravel().tolist(), list(want.shape), atol],
            what=f"trace {trace}'s {name} to equal the expected {want.shape} array",
        )
    except AssertionError as error:
        try:
            got = chart_array(chart, name, trace)
        except Exception:  # the chart may not be drawn at all; the timeout says enough then
            got = "(not drawn)"
        raise AssertionError(f"{error}; it holds\n{got}\nexpected\n{want}") from None


def click_chart_point(page: Page, chart: Locator, x: float, y: float) -> None:
    """Click the data point (x, y) of a drawn Plotly chart (for a grid heatmap: column x, row y)."""
    chart.scroll_into_view_if_needed()
    point = _plot_div(chart).evaluate(
        """(gd, [x, y]) => {
          const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
          return [r.left + xa._offset + xa.l2p(x), r.top + ya._offset + ya.l2p(y)];
        }""",
        [x, y],
    )
    page.mouse.click(*point)


def chart_shape_cells(chart: Locator, name: str) -> list[tuple[int, int]]:
    """(row, col) of each layout shape called `name` on a grid heatmap (e.g. "marker", "highlight")."""
    rects = _plot_div(chart).evaluate(
        "(gd, name) => (gd.layout.shapes || []).filter((s) => s.name === name).map((s) => [s.y0, s.x0])", name
    )
    return [(round(y0 + 0.5), round(x0 + 0.5)) for y0, x0 in rects]


# Per cell, a 4-bit mask of its edges (1 top, 2 bottom, 4 left, 8 right) drawn in a colour: the
# window outline. The grid itself is gray (r = g = b) and so are the written values.
_READ_OUTLINE_JS = """canvas => {
  const rows = +canvas.dataset.rows, cols = +canvas.dataset.cols;
  const image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const cw = canvas.width / cols, ch = canvas.height / rows;
  const inset = Math.max(1, Math.round(window.devicePixelRatio || 1));
  const coloured = (x, y) => {
    const i = (Math.floor(y) * canvas.width + Math.floor(x)) * 4;
    const [r, g, b] = [image[i], image[i + 1], image[i + 2]];
    return Math.max(r, g, b) - Math.min(r, g, b) > 60;
  };
  const out = [];
  for (let r = 0; r < rows; r++) {
    const row = [];
    for (let c = 0; c < cols; c++) {
      const [x0, y0, xm, ym] = [c * cw, r * ch, (c + 0.5) * cw, (r + 0.5) * ch];
      row.push((coloured(xm, y0 + inset) ? 1 : 0) | (coloured(xm, y0 + ch - 1 - inset) ? 2 : 0)
               | (coloured(x0 + inset, ym) ? 4 : 0) | (coloured(x0 + cw - 1 - inset, ym) ? 8 : 0));
    }
    out.push(row);
  }
  return out;
}"""


def outline_edges(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool mask -> per cell the 4-bit mask of the edges its outline draws (see canvas_outline)."""
    m = np.pad(np.asarray(mask, dtype=bool), 1)
    inner = m[1:-1, 1:-1]
    edges = (
        (inner & ~m[:-2, 1:-1]) * 1
        | (inner & ~m[2:, 1:-1]) * 2
        | (inner & ~m[1:-1, :-2]) * 4
        | (inner & ~m[1:-1, 2:]) * 8
    )
    return edges.astype(int)


def canvas_outline(canvas: Locator) -> np.ndarray:
    """The outlined cells' edges the paint grid draws (its highlight), (H, W) 4-bit masks."""
    return np.array(canvas.evaluate(_READ_OUTLINE_JS))


def wait_for_canvas_outline(page: Page, canvas: Locator, mask: np.ndarray) -> None:
    """Wait until the paint grid outlines exactly the cells of the (H, W) bool `mask`."""
    want = outline_edges(mask)
    try:
        wait_until(
            page,
            f"""([canvas, want]) => {{
              {_LIVE_CANVAS_JS};
              const got = ({_READ_OUTLINE_JS})(live(canvas));
              return got.length === want.length
                && got.every((row, r) => row.every((v, c) => v === want[r][c]));
            }}""",
            [_live_canvas(canvas), want.tolist()],
            what="the paint grid to outline the expected window",
        )
    except AssertionError as error:
        raise AssertionError(f"{error}; it shows edges\n{canvas_outline(canvas)}\nexpected\n{want}") from None


def watch(page: Page, getter_js: str, arg: Any = None, *, duration_ms: float) -> list[Any]:
    """Every distinct value `getter_js(arg)` returned, in order, sampled every 20 ms for `duration_ms`.

    For asserting that something does *not* change over a stretch of time (a paused chart): the
    window is what is measured, not a wait for something to happen.
    """
    return page.evaluate(
        f"""([arg, duration]) => new Promise((resolve) => {{
          const get = {getter_js};
          const seen = [];
          const t0 = performance.now();
          const sample = () => {{
            const v = JSON.stringify(get(arg));
            if (seen[seen.length - 1] !== v) seen.push(v);
            if (performance.now() - t0 >= duration) resolve(seen.map((s) => JSON.parse(s ?? 'null')));
            else setTimeout(sample, 20);
          }};
          sample();
        }})""",
        [arg, duration_ms],
    )


def metric_value(page: Page, label: str) -> Locator:
    """The value of the `st.metric` labelled `label`."""
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    ).get_by_test_id("stMetricValue")


def set_number(page: Page, key: str, value: float) -> None:
    """Type `value` into the number input with key `key` and commit it (Enter)."""
    box = keyed(page, key).locator("input")
    box.fill(f"{value:g}")
    box.press("Enter")


def choose_option(page: Page, key: str, option: str) -> None:
    """Pick `option` (its label) in the selectbox with key `key`."""
    keyed(page, key).get_by_role("combobox").click()
    page.get_by_role("option", name=option, exact=True).click()


def horizontal_overflow(page: Page) -> dict[str, Any]:
    """How far the page and the main block scroll sideways, and which visible elements stick out.

    Returns {"document": scrollWidth - clientWidth, "main": same for the main block, "outside":
    [descriptions of widgets/charts/images whose right edge passes the viewport's]}.
    """
    return page.evaluate(
        """() => {
          const doc = document.documentElement;
          const main = document.querySelector('[data-testid="stMainBlockContainer"]');
          const vw = doc.clientWidth;
          const selectors = ['[data-testid="stElementContainer"]', '[data-testid^="stWidget"]',
                             '.stButton', '[data-testid="stPlotlyChart"]', 'canvas.pg-canvas',
                             '[data-testid="stHeading"]', '[data-testid="stMarkdownContainer"]'];
          const outside = [];
          for (const el of document.querySelectorAll(selectors.join(','))) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) continue;
            if (r.right > vw + 1 || r.left < -1) {
              const key = [...(el.closest('[class*="st-key-"]')?.classList || [])]
                .find((c) => c.startsWith('st-key-'));
              outside.push(`${el.dataset.testid || el.className} ${key || ''} `
                           + `[${Math.round(r.left)}, ${Math.round(r.right)}] of ${vw}`);
            }
          }
          return {document: doc.scrollWidth - doc.clientWidth,
                  main: main ? main.scrollWidth - main.clientWidth : null, outside};
        }"""
    )


def screenshot_whole_page(page: Page, path: Path) -> None:
    """Screenshot the whole app: Streamlit scrolls inside its main section, so grow the viewport."""
    size = page.viewport_size or {"width": 1280, "height": 800}
    height = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
                          ...[...document.querySelectorAll('[data-testid="stMain"], section.main')]
                              .map((el) => el.scrollHeight))"""
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 16_000)})
    try:
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)


def page_in(context: BrowserContext, name: str, failed: Callable[[], bool]) -> Iterator[Page]:
    """A new tab (so a new Streamlit session) in a shared context; screenshot it if `failed()`.

    Tabs of one context share the HTTP cache, so the app's frontend (about 11 MB of scripts) is
    fetched and compiled once per module instead of once per test; sessions stay separate.
    """
    page = context.new_page()
    try:
        yield page
    finally:
        if failed():
            stem = re.sub(r"[^\w.-]+", "_", name)
            path = ARTIFACTS / "screenshots" / f"{stem}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                screenshot_whole_page(page, path)
            except Exception as error:  # a crashed page has no screenshot; the test's own error says why
                print(f"no failure screenshot: {error}")
        page.close()


def new_app_context(browser: Browser, **options: Any) -> BrowserContext:
    """A context like the `page` fixture's: 1280x800 unless `options` say otherwise, 15 s timeouts."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
    context.set_default_timeout(15_000)
    return context


def call_failed(request: Any) -> bool:
    """Whether the test of this `request` failed in its call phase (reports kept by the conftest)."""
    report = getattr(request.node, "rep_call", None)
    return report is not None and report.failed


# --- canvas components of the Train page (ui/loss_chart.py, ui/grid_view.py) ---------------------------

# The dataset of the canvas matching `selector` inside the component keyed `keyClass` (through its
# shadow root), or null before it is drawn. Looked up afresh on every call: components remount.
COMPONENT_DATA_JS = """([keyClass, selector]) => {
  const stack = [...document.querySelectorAll('.' + keyClass)];
  while (stack.length) {
    const node = stack.pop();
    const found = node.querySelector(selector);
    if (found) return {...found.dataset};
    for (const child of node.querySelectorAll('*')) if (child.shadowRoot) stack.push(child.shadowRoot);
  }
  return null;
}"""


def component_data(page: Page, key: str, selector: str) -> dict[str, str] | None:
    """The data-* attributes of the canvas `selector` in the component with key `key`."""
    return page.evaluate(COMPONENT_DATA_JS, [key_class(key), selector])


def grid_view_values(page: Page, key: str) -> np.ndarray | None:
    """The (H, W) values a grid_view component with key `key` has drawn, or None before it is drawn."""
    data = component_data(page, key, "canvas.gv-canvas")
    if not data or "values" not in data:
        return None
    rows, cols = (int(n) for n in data["shape"].split("x"))
    return np.array(json.loads(data["values"]), dtype=np.float64).reshape(rows, cols)


def read_grid_view(page: Page, key: str) -> np.ndarray:
    """The values of the grid_view `key`, once it is drawn."""
    wait_until(page, f"(args) => !!({COMPONENT_DATA_JS})(args)?.values", [key_class(key), "canvas.gv-canvas"],
               what=f"the grid {key} to be drawn")
    values = grid_view_values(page, key)
    assert values is not None
    return values


def wait_for_grid_view(page: Page, key: str, expected: Any, *, atol: float = 1e-6) -> None:
    """Wait until the grid_view `key` shows `expected` (same shape, values within `atol`)."""
    want = np.asarray(expected, dtype=np.float64)
    wait_until(
        page,
        f"""([args, want, shape, atol]) => {{
          const data = ({COMPONENT_DATA_JS})(args);
          if (!data || data.shape !== shape) return false;
          const got = JSON.parse(data.values);
          return got.length === want.length && got.every((v, i) => Math.abs(v - want[i]) <= atol);
        }}""",
        [[key_class(key), "canvas.gv-canvas"], want.ravel().tolist(), "x".join(map(str, want.shape)), atol],
        what=f"the grid {key} to show {want.tolist()}",
    )


def loss_curves(page: Page, key: str = "tr.loss_chart") -> list[dict[str, Any]] | None:
    """The runs the loss chart has drawn: [{label, x, y}], oldest first; None before it is drawn."""
    data = component_data(page, key, "canvas.lc-canvas")
    return json.loads(data["curves"]) if data and "curves" in data else None
