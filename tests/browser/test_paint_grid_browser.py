"""The paint grid in a real Chromium: strokes, erasing, hover, presets, large grids, latency.

Each test opens `apps/paint_harness.py` in a fresh browser context (a fresh session) and checks what
Python received (the painted cells it writes with `st.code`) and what the canvas shows (its pixels).
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections.abc import Callable, Iterable

import numpy as np
import pytest
from browser_helpers import (
    ARTIFACTS,
    cell_point,
    drag,
    grid_canvas,
    grid_caption,
    open_app,
    plotly_traces,
    wait_for_canvas,
    wait_for_canvas_attribute,
    wait_for_code,
    wait_for_markdown,
    wait_for_script_end,
    wait_for_trace_data,
)
from playwright.sync_api import Locator, Page, expect

Cell = tuple[int, int]
HARNESS = "tests/browser/apps/paint_harness.py"
LATENCY_STROKES = 20


@pytest.fixture(scope="module")
def harness_url(streamlit_server: Callable[[str], str]) -> str:
    return streamlit_server(HARNESS)


def open_harness(page: Page, url: str, size: int = 8) -> Locator:
    """Open the harness at `size` x `size` and return the grid's canvas once it shows that grid."""
    open_app(page, url, "sum = 0")
    canvas = grid_canvas(page)
    if size != 8:
        page.get_by_text(f"{size}x{size}", exact=True).click()
    canvas.wait_for()
    wait_for_canvas_attribute(page, canvas, "rows", str(size))
    return canvas


def segment(start: Cell, end: Cell) -> list[Cell]:
    """Cells of a horizontal, vertical or 45-degree segment, both ends included."""
    (r0, c0), (r1, c1) = start, end
    n = max(abs(r1 - r0), abs(c1 - c0))
    assert r0 == r1 or c0 == c1 or abs(r1 - r0) == abs(c1 - c0), "only straight or diagonal segments"
    return [(r0 + k * np.sign(r1 - r0), c0 + k * np.sign(c1 - c0)) for k in range(n + 1)]


def path_cells(*corners: Cell) -> set[Cell]:
    """Cells under a path through `corners`, made of straight or diagonal segments."""
    return {(int(r), int(c)) for a, b in itertools.pairwise(corners) for r, c in segment(a, b)}


def as_grid(cells: Iterable[Cell], size: int) -> np.ndarray:
    grid = np.zeros((size, size))
    for r, c in cells:
        grid[r, c] = 1.0
    return grid


def expect_python_has(page: Page, grid: np.ndarray) -> None:
    """Python's grid holds exactly `grid`: the written sum and the list of non-zero cells match."""
    wait_for_code(page, json.dumps(np.argwhere(grid != 0).tolist(), separators=(",", ":")))
    wait_for_markdown(page, f"sum = {grid.sum():g}")


def expect_shown(page: Page, canvas: Locator, grid: np.ndarray) -> None:
    """Both Python and the canvas pixels hold `grid` (values 0..1, drawn black..white)."""
    expect_python_has(page, grid)
    wait_for_canvas(page, canvas, np.rint(grid * 255))


def test_drag_paints_exactly_the_cells_under_the_path(page: Page, harness_url: str) -> None:
    canvas = open_harness(page, harness_url)
    drag(page, canvas, [(2, 1), (2, 6), (5, 6), (7, 4)])
    expect_shown(page, canvas, as_grid(path_cells((2, 1), (2, 6), (5, 6), (7, 4)), 8))


def test_fast_drag_leaves_no_gaps(page: Page, harness_url: str) -> None:
    canvas = open_harness(page, harness_url)
    # One pointer move per leg, each leg crossing the whole grid.
    drag(page, canvas, [(0, 0), (0, 7), (7, 7), (7, 0)], steps=1)
    expect_shown(page, canvas, as_grid(path_cells((0, 0), (0, 7), (7, 7), (7, 0)), 8))


def test_64x64_grid_paints_without_gaps(page: Page, harness_url: str) -> None:
    canvas = open_harness(page, harness_url, size=64)
    # Two moves across 63 cells, then three along a 53-cell diagonal (none on a cell border).
    drag(page, canvas, [(10, 0), (10, 63)], steps=2)
    expect_python_has(page, as_grid(path_cells((10, 0), (10, 63)), 64))
    drag(page, canvas, [(10, 63), (63, 10)], steps=3)
    expect_shown(page, canvas, as_grid(path_cells((10, 0), (10, 63), (63, 10)), 64))


def test_right_drag_erases(page: Page, harness_url: str) -> None:
    canvas = open_harness(page, harness_url)
    drag(page, canvas, [(3, 0), (3, 7)])
    expect_python_has(page, as_grid(path_cells((3, 0), (3, 7)), 8))
    drag(page, canvas, [(3, 2), (3, 5)], button="right")
    expect_shown(page, canvas, as_grid({(3, 0), (3, 1), (3, 6), (3, 7)}, 8))


def test_hover_shows_the_value(page: Page, harness_url: str) -> None:
    canvas = open_harness(page, harness_url)
    brush = page.get_by_label("Brush")
    brush.fill("0.5")
    brush.press("Enter")
    caption = grid_caption(page)
    expect(caption).to_have_text("8 × 8 · drag paints 0.5, right-drag erases")
    drag(page, canvas, [(3, 4)])
    wait_for_markdown(page, "sum = 0.5")
    page.mouse.move(*cell_point(canvas, 3, 4))
    expect(caption).to_have_text("row 3, col 4 = 0.5")
    page.mouse.move(*cell_point(canvas, 6, 1))
    expect(caption).to_have_text("row 6, col 1 = 0")
    page.mouse.move(5, 5)
    expect(caption).to_have_text("8 × 8 · drag paints 0.5, right-drag erases")


def test_load_preset_shows_the_checkerboard_and_a_stroke_applies_on_top(page: Page, harness_url: str) -> None:
    canvas = open_harness(page, harness_url)
    drag(page, canvas, [(5, 0), (5, 7)])
    expect_python_has(page, as_grid(path_cells((5, 0), (5, 7)), 8))
    revision = canvas.get_attribute("data-revision")
    page.get_by_role("button", name="Load preset").click()
    wait_for_canvas_attribute(page, canvas, "revision", str(int(revision or 0) + 1))
    checkerboard = (np.indices((8, 8)).sum(axis=0) % 2).astype(float)
    expect_shown(page, canvas, checkerboard)
    drag(page, canvas, [(0, 0), (0, 7)])
    on_top = checkerboard.copy()
    on_top[0, :] = 1.0
    expect_shown(page, canvas, on_top)


def test_strokes_in_quick_succession_all_survive(page: Page, harness_url: str) -> None:
    # Each stroke starts before Python answered the last: late reruns must not wipe newer strokes.
    canvas = open_harness(page, harness_url)
    rows = [1, 3, 5, 7]
    for row in rows:
        drag(page, canvas, [(row, 0), (row, 7)], steps=2)
    expect_shown(page, canvas, as_grid({(r, c) for r in rows for c in range(8)}, 8))
    wait_for_canvas_attribute(page, canvas, "pending", "0")


def test_heatmap_follows_the_grid(page: Page, harness_url: str) -> None:
    canvas = open_harness(page, harness_url)
    page.get_by_text("Heatmap", exact=True).click()
    drag(page, canvas, [(1, 1), (6, 6)])
    grid = as_grid(path_cells((1, 1), (6, 6)), 8)
    expect_python_has(page, grid)
    chart = page.get_by_test_id("stPlotlyChart")
    wait_for_trace_data(page, chart, "z", grid.tolist())
    np.testing.assert_array_equal(np.array(plotly_traces(chart)[0]["z"]), grid)


# --- latency ----------------------------------------------------------------------------------------

# Times each stroke in the page itself: from the pointerup event to the DOM mutation that writes
# the expected sum, so Playwright's round trips are not counted.
_LATENCY_PROBE_JS = """() => {
  window.__probe = {want: null, t0: 0, t1: 0};
  window.addEventListener('pointerup', (e) => {
    window.__probe.t0 = e.timeStamp;
    window.__probe.t1 = 0;
  }, true);
  new MutationObserver(() => {
    const p = window.__probe;
    if (p.t1 || !p.want) return;
    for (const el of document.querySelectorAll('[data-testid="stMarkdown"]')) {
      if (el.textContent.trim() === p.want) { p.t1 = performance.now(); return; }
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def stroke_latencies_ms(page: Page, canvas: Locator, strokes: int) -> list[float]:
    """Paint and erase three cells in turn; return pointerup → updated `st.write` per stroke."""
    page.evaluate(_LATENCY_PROBE_JS)
    cells = [(2, 1), (2, 3)]
    latencies = []
    for k in range(strokes):
        want = "sum = 0" if k % 2 else "sum = 3"
        page.evaluate("want => { window.__probe.want = want; }", want)
        drag(page, canvas, cells, steps=3, button="right" if k % 2 else "left")
        page.wait_for_function("() => window.__probe.t1 > 0")
        latencies.append(page.evaluate("() => window.__probe.t1 - window.__probe.t0"))
        # Let the whole rerun finish so strokes don't queue behind each other.
        wait_for_canvas_attribute(page, canvas, "pending", "0")
        wait_for_script_end(page)
    return latencies


def test_stroke_to_write_latency(page: Page, harness_url: str) -> None:
    results = {}
    for size in (8, 64):
        canvas = open_harness(page, harness_url, size=size)
        latencies = stroke_latencies_ms(page, canvas, LATENCY_STROKES)
        results[f"{size}x{size}"] = {
            "p50_ms": round(statistics.median(latencies), 1),
            "max_ms": round(max(latencies), 1),
            "strokes": len(latencies),
        }
    path = ARTIFACTS / "paint_grid_latency.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    print(f"stroke → st.write latency: {results}")
    # A loose bound that catches a broken round trip (e.g. one rerun per pointer move), not noise.
    for size, result in results.items():
        assert result["p50_ms"] < 1000, f"{size}: {result}"
