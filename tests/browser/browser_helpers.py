"""Helpers for the browser tests: a Streamlit server per script, robust waits, Plotly and paint-grid reads.

Every wait here waits for content (Playwright's `expect` or `wait_for_function`), never a sleep.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Literal

import numpy as np
from playwright.sync_api import Locator, Page, expect
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

    def __init__(self, script: Path) -> None:
        self.script = script
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = ARTIFACTS / "logs" / f"streamlit-{script.stem}-{self.port}.log"
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


def wait_for_canvas_attribute(page: Page, canvas: Locator, name: str, value: str) -> None:
    """Wait until the canvas carries `data-<name>="<value>"`."""
    wait_until(
        page,
        "([el, name, value]) => el.dataset[name] === value",
        [canvas.element_handle(), name, value],
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
              const got = ({_READ_CELLS_JS})(canvas);
              return got.length === want.length
                && got.every((row, r) => row.every((v, c) => v === want[r][c]));
            }}""",
            [canvas.element_handle(), want.tolist()],
            what="the canvas to show the expected cells",
        )
    except AssertionError as error:
        raise AssertionError(f"{error}; it shows\n{canvas_levels(canvas)}\nexpected\n{want}") from None
