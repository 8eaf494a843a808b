"""Helpers for the browser tests: a Streamlit server per script, robust waits, reads of the grid component.

Every wait here waits for content (Playwright's `expect` or `wait_for_function`), never a sleep.
"""

from __future__ import annotations

import contextlib
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
    # A camera that needs no device or permission prompt: st.camera_input gets Chromium's test pattern.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
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
    """Wait until some printout (`ui.widgets.printout`, or an `st.code`) shows exactly `text`."""
    try:
        wait_until(
            page,
            """text => [...document.querySelectorAll('pre.cl-printout, [data-testid="stCode"] code')]
                         .some((el) => el.textContent.trim() === text)""",
            text,
            what=f"a code block reading {text!r}",
        )
    except AssertionError as error:
        shown = page.locator('pre.cl-printout, [data-testid="stCode"] code').all_text_contents()
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


def settle(page: Page) -> None:
    """After a widget change: wait for the rerun it asked for to start (if it is seen within 0.5 s) and to
    end. A popover closed while that rerun is under way can reopen showing its widgets' values from before
    it, and send them with the next change (seen under load: a picked mode or a padding undone)."""
    with contextlib.suppress(PlaywrightTimeoutError):  # a run too fast to be seen, or none
        page.wait_for_function(
            """() => document.querySelector('[data-testid="stApp"]')
                       ?.getAttribute('data-test-script-state') !== 'notRunning'""",
            timeout=500,
        )
    wait_for_script_end(page)


def expect_no_exception(page: Page) -> None:
    """No Streamlit exception box on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)


# --- The one grid component (ui/grid.py, convlab/web/grid.js) ----------------------------------------
#
# Every grid is a `div.cl-grid[data-name=<key>]` inside its component's open shadow root; its
# `canvas.cl-canvas` carries rows, cols, pad ("ph,pw"), cell (CSS px per cell), picked, seq, pending,
# revision and values (JSON, row-major). Playwright's CSS locators pierce open shadow roots; the
# JavaScript below walks them itself and looks the grid up anew on every call, because Streamlit
# remounts a component when elements above it come or go.

Cell = tuple[int, int]
GOLD = (255, 176, 0)  # the outline of the explained window (grid.js ACCENT)

# `findGrid(name)`: the grid root called `name`, or null; `gridData(name)`: its canvas's dataset.
FIND_GRID_JS = """function findGrid(name) {
  const roots = [document];
  for (const host of document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
    if (host.shadowRoot) roots.push(host.shadowRoot);
  }
  for (const root of roots) {
    for (const g of root.querySelectorAll('div.cl-grid')) if (g.dataset.name === name) return g;
  }
  return null;
}
function gridCanvas(name) { const g = findGrid(name); return g ? g.querySelector('canvas.cl-canvas') : null; }
function gridData(name) {
  const c = gridCanvas(name);
  return c && c.dataset.values ? {...c.dataset} : null;
}"""


def grid(page: Page, name: str) -> Locator:
    """The root `div.cl-grid` of the grid whose Streamlit key is `name`."""
    return page.locator(f'div.cl-grid[data-name="{name}"]')


def grid_canvas(page: Page, name: str) -> Locator:
    return grid(page, name).locator("canvas.cl-canvas")


def grid_frame(page: Page, name: str) -> Locator:
    """The grid's keyboard focus (`div.cl-frame`, role=grid)."""
    return grid(page, name).locator("div.cl-frame")


def grid_caption(page: Page, name: str) -> Locator:
    return grid(page, name).locator("div.cl-caption")


def grid_message(page: Page, name: str) -> Locator:
    return grid(page, name).locator("div.cl-message")


def grid_names(page: Page) -> list[str]:
    """The keys of every grid on the page, in document order."""
    return page.evaluate(
        """() => {
          const roots = [document];
          for (const host of document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
            if (host.shadowRoot) roots.push(host.shadowRoot);
          }
          return roots.flatMap((r) => [...r.querySelectorAll('div.cl-grid')].map((g) => g.dataset.name));
        }"""
    )


def grid_data(page: Page, name: str) -> dict[str, str] | None:
    """The data-* attributes of the grid's canvas, or None before it is drawn."""
    return page.evaluate(f"(name) => {{ {FIND_GRID_JS}; return gridData(name); }}", name)


def _values(data: dict[str, str]) -> np.ndarray:
    shape = int(data["rows"]), int(data["cols"])
    return np.array(json.loads(data["values"]), dtype=np.float64).reshape(shape)


def grid_values(page: Page, name: str) -> np.ndarray | None:
    """The (H, W) numbers the grid has drawn, or None before it is drawn."""
    data = grid_data(page, name)
    return None if data is None else _values(data)


def wait_for_grid(page: Page, name: str, expected: Any = None, *, atol: float = 1e-9,
                  timeout_ms: float | None = None) -> np.ndarray:
    """Wait until the grid `name` is drawn (and, given `expected`, shows its shape and values within
    `atol`); return what it shows."""
    want = None if expected is None else np.asarray(expected, dtype=np.float64)
    arg = [name, None, None, atol] if want is None else [name, want.ravel().tolist(), list(want.shape), atol]
    try:
        page.wait_for_function(
            f"""([name, want, shape, atol]) => {{
              {FIND_GRID_JS};
              const d = gridData(name);
              if (!d) return false;
              if (want === null) return true;
              if (+d.rows !== shape[0] || +d.cols !== shape[1]) return false;
              const got = JSON.parse(d.values);
              return got.length === want.length && got.every((v, i) => Math.abs(v - want[i]) <= atol);
            }}""",
            arg=arg,
            timeout=timeout_ms,
        )
    except PlaywrightTimeoutError:
        got = grid_values(page, name)
        what = "to be drawn" if want is None else f"to show\n{want}"
        raise AssertionError(f"timed out waiting for the grid {name!r} {what}; it shows\n{got}") from None
    values = grid_values(page, name)
    assert values is not None
    return values


def wait_for_grid_attr(page: Page, name: str, attr: str, value: str) -> None:
    """Wait until the grid's canvas carries `data-<attr>="<value>"` (attr in camelCase)."""
    try:
        page.wait_for_function(
            f"([name, attr, value]) => {{ {FIND_GRID_JS}; const c = gridCanvas(name); "
            "return !!c && c.dataset[attr] === value; }",
            arg=[name, attr, value],
        )
    except PlaywrightTimeoutError:
        got = (grid_data(page, name) or {}).get(attr)
        raise AssertionError(f"timed out waiting for {name}'s data-{attr} = {value!r}; it is {got!r}") \
            from None


def wait_for_acknowledged(page: Page, name: str) -> None:
    """Wait until Python acknowledged every stroke the grid sent (data-pending = 0)."""
    wait_for_grid_attr(page, name, "pending", "0")


def cell_points(page: Page, name: str, cells: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Page coordinates of cell centres (row, col) of the grid `name`, in the grid's own coordinates
    (negative or beyond the last row/column: in the drawn zero padding); fractions are allowed."""
    box = grid_canvas(page, name).evaluate(
        """el => {
          const r = el.getBoundingClientRect();
          const [ph, pw] = (el.dataset.pad || '0,0').split(',').map(Number);
          return {x: r.left, y: r.top, w: r.width, h: r.height, rows: +el.dataset.rows,
                  cols: +el.dataset.cols, ph, pw};
        }"""
    )
    assert box["w"] > 0 and box["rows"] > 0, f"the grid {name} is not drawn"
    R, C = box["rows"] + 2 * box["ph"], box["cols"] + 2 * box["pw"]
    return [
        (box["x"] + (c + box["pw"] + 0.5) * box["w"] / C, box["y"] + (r + box["ph"] + 0.5) * box["h"] / R)
        for r, c in cells
    ]


def cell_point(page: Page, name: str, row: float, col: float) -> tuple[float, float]:
    return cell_points(page, name, [(row, col)])[0]


def drag(
    page: Page, name: str, cells: Sequence[Cell], *, steps: int = 5, button: MouseButton = "left"
) -> None:
    """Press on the first cell of grid `name`, move through the others (`steps` moves per leg), release."""
    grid_canvas(page, name).scroll_into_view_if_needed()
    points = cell_points(page, name, cells)
    page.mouse.move(*points[0])
    page.mouse.down(button=button)
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=steps)
    page.mouse.up(button=button)


def click_cell(page: Page, name: str, row: int, col: int) -> None:
    grid_canvas(page, name).scroll_into_view_if_needed()
    page.mouse.click(*cell_point(page, name, row, col))


# Pixels of a grid's canvas, per drawn cell (padding included), read in device pixels.
# `colour`: the most frequent colour inside the cell's middle 60% (clear of grid lines, outlines and,
# being the most frequent, of the value written at the centre);
# `edges`: which of the cell's edges are drawn gold (1 top, 2 bottom, 4 left, 8 right), read at each
# edge's midpoint one CSS pixel inside the cell (a window is outlined as one shape, so a cell inside
# it has no gold edge; a lone cell has all four);
# `hatched`: a line across the cell at a quarter of its height (above the written value, inside the
# outlines) crosses a pixel that is neither the cell's colour nor text-coloured: the padding's hatching.
CELL_PIXELS_JS = """canvas => {
  const rows = +canvas.dataset.rows, cols = +canvas.dataset.cols;
  const [ph, pw] = (canvas.dataset.pad || '0,0').split(',').map(Number);
  const R = rows + 2 * ph, C = cols + 2 * pw;
  const W = canvas.width, H = canvas.height;
  const px = canvas.getContext('2d').getImageData(0, 0, W, H).data;
  const cw = W / C, ch = H / R, dpr = cw / +canvas.dataset.cell;
  const at = (x, y) => {
    const i = (Math.floor(y) * W + Math.floor(x)) * 4;
    return [px[i], px[i + 1], px[i + 2]];
  };
  const gold = ([r, g, b]) => r > 200 && g > 130 && g < 215 && b < 90;
  const colour = [], edges = [], hatched = [];
  for (let r = 0; r < R; r++) {
    const crow = [], orow = [], hrow = [];
    for (let c = 0; c < C; c++) {
      const x0 = c * cw, y0 = r * ch;
      const counts = new Map();
      let best = null, most = 0;
      for (let y = Math.ceil(y0 + 0.2 * ch); y < y0 + 0.8 * ch; y++) {
        for (let x = Math.ceil(x0 + 0.2 * cw); x < x0 + 0.8 * cw; x++) {
          const k = at(x, y).join(',');
          const n = (counts.get(k) || 0) + 1;
          counts.set(k, n);
          if (n > most) { most = n; best = k; }
        }
      }
      const mode = best.split(',').map(Number);
      crow.push(mode);
      const inset = Math.max(1, dpr);
      const [xm, ym, x1, y1] = [x0 + cw / 2, y0 + ch / 2, x0 + cw - 1 - inset, y0 + ch - 1 - inset];
      orow.push((gold(at(xm, y0 + inset)) ? 1 : 0) | (gold(at(xm, y1)) ? 2 : 0)
                | (gold(at(x0 + inset, ym)) ? 4 : 0) | (gold(at(x1, ym)) ? 8 : 0));
      let hatch = false;
      const y = y0 + 0.25 * ch;
      for (let x = Math.ceil(x0 + 0.25 * cw); x < x0 + 0.75 * cw; x++) {
        const p = at(x, y);
        if (Math.max(...p.map((v, k) => Math.abs(v - mode[k]))) > 40) hatch = true;
      }
      hrow.push(hatch);
    }
    colour.push(crow); edges.push(orow); hatched.push(hrow);
  }
  return {colour, edges, hatched, pad: [ph, pw]};
}"""


def cell_pixels(page: Page, name: str) -> dict[str, np.ndarray]:
    """What the grid's pixels show per drawn cell (padding included; see CELL_PIXELS_JS):
    {"colour": (R, C, 3) ints, "edges": (R, C) 4-bit ints, "hatched": (R, C) bools, "pad": (ph, pw)}."""
    got = page.evaluate(f"(name) => {{ {FIND_GRID_JS}; return ({CELL_PIXELS_JS})(gridCanvas(name)); }}", name)
    return {"colour": np.array(got["colour"]), "edges": np.array(got["edges"], dtype=int),
            "hatched": np.array(got["hatched"], dtype=bool), "pad": tuple(got["pad"])}


def pixel_in_cell(page: Page, name: str, row: int, col: int, fx: float, fy: float) -> tuple[int, int, int]:
    """The colour at fraction (fx, fy) of cell (row, col)'s width and height (grid coordinates)."""
    return tuple(page.evaluate(
        f"""([name, row, col, fx, fy]) => {{
          {FIND_GRID_JS};
          const c = gridCanvas(name);
          const [ph, pw] = (c.dataset.pad || '0,0').split(',').map(Number);
          const C = +c.dataset.cols + 2 * pw, R = +c.dataset.rows + 2 * ph;
          const cw = c.width / C, ch = c.height / R;
          const x = Math.floor((col + pw + fx) * cw), y = Math.floor((row + ph + fy) * ch);
          return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));
        }}""",
        [name, row, col, fx, fy],
    ))


def outline_edges(mask: np.ndarray) -> np.ndarray:
    """(R, C) bool mask -> per cell the 4-bit mask of the edges an outline of the marked cells draws
    (the outline of their union: 1 top, 2 bottom, 4 left, 8 right)."""
    m = np.pad(np.asarray(mask, dtype=bool), 1)
    inner = m[1:-1, 1:-1]
    edges = ((inner & ~m[:-2, 1:-1]) * 1 | (inner & ~m[2:, 1:-1]) * 2
             | (inner & ~m[1:-1, :-2]) * 4 | (inner & ~m[1:-1, 2:]) * 8)
    return edges.astype(int)


def wait_for_outline(page: Page, name: str, mask: np.ndarray) -> None:
    """Wait until the grid outlines exactly the cells of `mask` (drawn coordinates, padding included)."""
    want = outline_edges(mask).tolist()
    try:
        page.wait_for_function(
            f"""([name, want]) => {{
              {FIND_GRID_JS};
              const c = gridCanvas(name);
              if (!c || !c.dataset.values) return false;
              const got = ({CELL_PIXELS_JS})(c).edges;
              return got.length === want.length && got.every((row, r) => row.length === want[r].length
                && row.every((v, k) => v === want[r][k]));
            }}""",
            arg=[name, want],
        )
    except PlaywrightTimeoutError:
        got = cell_pixels(page, name)["edges"]
        cells = np.asarray(mask, dtype=int)
        raise AssertionError(f"timed out waiting for {name} to outline the cells\n{cells}\n"
                             f"(edges\n{np.array(want)})\nit draws the edges\n{got}") from None


# --- Plotly (only the Train page's loss landscape is a Plotly chart now) ------------------------------


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


# --- The real app: keyed widgets, loss chart, layout --------------------------------------------------

APP_COLD_MS = 60_000  # a fresh server's first page imports torch and loads every frontend chunk


def key_class(key: str) -> str:
    """The CSS class Streamlit gives a keyed element's container: `pg.kedit.1` -> `st-key-pg-kedit-1`."""
    return "st-key-" + "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in key)


def keyed(page: Page, key: str) -> Locator:
    """The container of the element with widget key `key`."""
    return page.locator(f".{key_class(key)}").first


def click_button(page: Page, key: str) -> None:
    keyed(page, key).get_by_role("button").click()


# The loss chart's canvas (convlab/web/loss_chart.js) carries data-last-epoch, data-points,
# data-curves, data-draws and data-frames.
LOSS_DATA_JS = """() => {
  const c = document.querySelector('.st-key-tr-loss_chart [data-testid="stBidiComponentIsolated"]')
    ?.shadowRoot?.querySelector('canvas.lc-canvas');
  return c && c.dataset.draws ? {...c.dataset} : null;
}"""


def loss_chart_data(page: Page) -> dict[str, str] | None:
    return page.evaluate(LOSS_DATA_JS)


def loss_curves(page: Page) -> list[dict[str, Any]] | None:
    """The runs the loss chart has drawn: [{label, x, y}], oldest first; None before it is drawn."""
    data = loss_chart_data(page)
    return json.loads(data["curves"]) if data and "curves" in data else None


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
    """The value of the Train page's progress number labelled `label` (ui/widgets.py `stats`)."""
    return page.locator(f'.cl-stat[data-label="{label}"] b')


def open_popover(page: Page, label: str) -> None:
    """Open the popover whose button reads `label` (its content is only rendered once it is open)."""
    page.get_by_test_id("stPopover").filter(has_text=label).get_by_role("button").first.click()
    expect(page.get_by_test_id("stPopoverBody")).to_be_visible()


def close_popover(page: Page) -> None:
    """Close the open popover (Escape), so it no longer covers the grids."""
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("stPopoverBody")).to_have_count(0)


# Widgets that live in a popover, by key -> the start of the popover's label.
IN_POPOVER = {
    **dict.fromkeys(("pg.image_preset", "pg.rows", "pg.cols", "pg.edit_x", "pg.upload"), "Input X"),
    **dict.fromkeys(("pg.kernel_preset", "pg.krows", "pg.kcols", "pg.edit_k"), "Kernel K"),
    "pg.camera": "Camera",
    # The operation's popover is labelled with its settings ("Correlation · padding 0 · …").
    **dict.fromkeys(("pg.mode", "pg.pad_r", "pg.pad_c", "pg.stride_r", "pg.stride_c", "pg.dil_r", "pg.dil_c",
                     "pg.bias", "pg.separate"), " · padding "),
    **dict.fromkeys(("pg.brush", "pg.eraser"), "Brush:"),
    # The Train page's popovers are labelled with their settings: these parts of a label stay put.
    "tr.x_preset": "Input preset",
    **dict.fromkeys(("tr.target", "tr.true_preset", "tr.k_rows", "tr.k_cols", "tr.noise", "tr.reveal",
                     "tr.out_rows", "tr.out_cols", "tr.y_brush"), "Target Y"),
    **dict.fromkeys(("tr.optimizer", "tr.loss", "tr.lr", "tr.seed", "tr.init", "tr.epochs", "tr.target_loss",
                     "tr.bias"), " · lr "),
    **dict.fromkeys(("tr.speed", "tr.log"), "epochs/s"),
}


@contextlib.contextmanager
def revealed(page: Page, key: str) -> Iterator[Locator]:
    """The container of widget `key`, its popover opened for the block and closed after it."""
    opened = reveal(page, key)
    try:
        yield keyed(page, key)
    finally:
        if opened:
            close_popover(page)


def reveal(page: Page, key: str) -> bool:
    """Open the popover holding the widget `key` if it is closed; True if it was opened here."""
    if key not in IN_POPOVER or keyed(page, key).count():
        return False
    open_popover(page, IN_POPOVER[key])
    expect(keyed(page, key)).to_be_visible()
    # Under load a widget just mounted in the popover can show (and would send with a change made at
    # once) its default for a moment before its session value: act at a human's pace, not in that frame.
    page.wait_for_timeout(150)
    return True


def set_number(page: Page, key: str, value: float) -> None:
    """Type `value` into the number input with key `key` and commit it (Enter); a popover it lives in
    is opened for it and closed again."""
    opened = reveal(page, key)
    box = keyed(page, key).locator("input")
    box.fill(f"{value:g}")
    box.press("Enter")
    if opened:
        settle(page)
        close_popover(page)


def choose_option(page: Page, key: str, option: str) -> None:
    """Pick `option` (its label) in the selectbox with key `key` (opening and closing its popover)."""
    opened = reveal(page, key)
    box = keyed(page, key).get_by_role("combobox")
    box.click()
    option_ = page.get_by_role("option", name=option, exact=True)
    if not option_.is_visible():  # a click opens the list of a selectbox that shows a placeholder only
        box.press("ArrowDown")
    option_.click()
    if opened:
        settle(page)
        close_popover(page)


def horizontal_overflow(page: Page) -> dict[str, Any]:
    """How far the page and the main block scroll sideways, and which visible elements stick out.

    Returns {"document": scrollWidth - clientWidth, "main": same for the main block, "outside":
    [descriptions of widgets, grids, charts and text whose right edge passes the viewport's]}; the
    grids' and the loss chart's canvases are looked up inside their components' shadow roots.
    """
    return page.evaluate(
        """() => {
          const doc = document.documentElement;
          const main = document.querySelector('[data-testid="stMainBlockContainer"]');
          const vw = doc.clientWidth;
          const selectors = ['[data-testid="stElementContainer"]', '[data-testid^="stWidget"]',
                             '.stButton', '[data-testid="stPlotlyChart"]', '[data-testid="stHeading"]',
                             '[data-testid="stMarkdownContainer"]'];
          const elements = [...document.querySelectorAll(selectors.join(','))];
          for (const host of document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
            if (!host.shadowRoot) continue;
            elements.push(...host.shadowRoot.querySelectorAll('canvas, .cl-grid, .lc-root'));
          }
          const outside = [];
          for (const el of elements) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) continue;
            if (r.right > vw + 1 || r.left < -1) {
              const host = el.getRootNode().host || el;
              const key = [...(host.closest('[class*="st-key-"]')?.classList || [])]
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
    problems: list[str] = []  # the page's uncaught errors and console errors, printed if the test fails
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error"
            else None)
    try:
        yield page
    finally:
        if failed():
            print("\n".join(problems[-20:]) or "no page errors")
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


