"""Helpers for the browser tests: a Streamlit server per script, robust waits, Plotly and paint-grid reads.

Every wait here waits for content (Playwright's `expect` or `wait_for_function`), never a sleep.
"""

from __future__ import annotations

import base64
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


def open_app(page: Page, url: str, expected_text: str) -> None:
    """Load the app and wait until it has rendered `expected_text`."""
    page.goto(url)
    expect(page.get_by_text(expected_text).first).to_be_visible()


def expect_no_exception(page: Page) -> None:
    """No Streamlit exception box on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)


# --- Plotly -------------------------------------------------------------------------------------

def _plot_div(chart: Locator) -> Locator:
    """The Plotly graph div inside a `stPlotlyChart` element."""
    return chart.locator(".js-plotly-plot").first


def wait_for_plotly(page: Page, chart: Locator) -> None:
    """Wait until Plotly has drawn the chart: its graph div carries `_fullData`."""
    div = _plot_div(chart)
    div.wait_for(state="attached")
    page.wait_for_function("gd => Array.isArray(gd._fullData) && gd._fullData.length > 0", arg=div.element_handle())


def decode_plotly_array(value: Any) -> Any:
    """Plotly 6+ ships numeric arrays as `{dtype, bdata, shape}` (base64, little-endian): unpack them."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]).newbyteorder("<"))
        shape = value.get("shape")
        if shape:
            dims = [int(part) for part in str(shape).split(",")] if isinstance(shape, str) else list(shape)
            array = array.reshape(dims)
        return array.tolist()
    if isinstance(value, list):
        return [decode_plotly_array(item) for item in value]
    return value


def plotly_traces(chart: Locator) -> list[dict[str, Any]]:
    """The chart's traces as Python data (`gd.data`), numeric arrays decoded."""
    traces = _plot_div(chart).evaluate(
        """gd => JSON.parse(JSON.stringify(gd.data, (k, v) => ArrayBuffer.isView(v) ? Array.from(v) : v))"""
    )
    return [{name: decode_plotly_array(value) for name, value in trace.items()} for trace in traces]


# --- Paint grid -----------------------------------------------------------------------------------

def grid_canvas(page: Page) -> Locator:
    """The paint grid's canvas (Playwright's CSS locators pierce the component's shadow root)."""
    return page.locator("canvas.pg-canvas").first


def grid_caption(page: Page) -> Locator:
    """The line under the canvas that shows the hovered cell."""
    return page.locator(".pg-caption").first


def cell_point(canvas: Locator, row: float, col: float) -> tuple[float, float]:
    """Page coordinates of the centre of cell (row, col); fractional cells are allowed."""
    box = canvas.bounding_box()
    assert box is not None, "the paint grid canvas is not visible"
    rows, cols = int(canvas.get_attribute("data-rows") or 0), int(canvas.get_attribute("data-cols") or 0)
    return box["x"] + (col + 0.5) * box["width"] / cols, box["y"] + (row + 0.5) * box["height"] / rows


def drag(
    page: Page, canvas: Locator, cells: list[tuple[int, int]], *, steps: int = 5, button: MouseButton = "left"
) -> None:
    """Press on the first cell, move through the others (`steps` pointer moves per leg), release."""
    x, y = cell_point(canvas, *cells[0])
    page.mouse.move(x, y)
    page.mouse.down(button=button)
    for cell in cells[1:]:
        x, y = cell_point(canvas, *cell)
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
    page.wait_for_function(
        f"""([canvas, want]) => {{
          const read = {_READ_CELLS_JS};
          const got = read(canvas);
          return got.length === want.length && got.every((row, r) => row.every((v, c) => v === want[r][c]));
        }}""",
        arg=[canvas.element_handle(), np.asarray(levels).astype(int).tolist()],
    )
