"""The grid component in a real Chromium, on its bare harness: strokes, erasing, hover, presets, large grids.

Each test opens `apps/paint_harness.py` in a new tab (a new session) and checks what Python holds
(the paint grid's numbers once Python acknowledged the stroke, and the view grid of `corr2d(X, [1, −1])`
that Python computed from them) and what the canvas shows (its pixels: 0 black, 1 white).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import numpy as np
import pytest
from browser_helpers import (
    APP_COLD_MS,
    cell_pixels,
    cell_point,
    cell_points,
    click_button,
    drag,
    expect_no_exception,
    grid_caption,
    grid_data,
    new_app_context,
    wait_for_acknowledged,
    wait_for_grid,
    wait_for_grid_attr,
    wait_for_script_end,
)
from playwright.sync_api import Browser, Page, expect

from convlab import corr2d

Cell = tuple[int, int]
HARNESS = "tests/browser/apps/paint_harness.py"
EDGE = np.array([[1.0, -1.0]])


@pytest.fixture(scope="module")
def harness_url(streamlit_server: Callable[[str], str]) -> str:
    return streamlit_server(HARNESS)


@pytest.fixture
def page(tab: Page) -> Page:
    return tab


def open_harness(page: Page, url: str, size: int = 8, brush: float | None = None) -> None:
    """Open the harness with a blank `size` x `size` grid; return once both grids are drawn."""
    query = f"?n={size}" + (f"&brush={brush:g}" if brush is not None else "")
    page.goto(url + query)
    blank = np.zeros((size, size))
    wait_for_grid(page, "paint", blank, timeout_ms=60_000)
    wait_for_grid(page, "out", corr2d(blank, EDGE))


def segment(start: Cell, end: Cell) -> list[Cell]:
    """Cells of a horizontal, vertical or 45-degree segment, both ends included."""
    (r0, c0), (r1, c1) = start, end
    n = max(abs(r1 - r0), abs(c1 - c0))
    assert r0 == r1 or c0 == c1 or abs(r1 - r0) == abs(c1 - c0), "only straight or diagonal segments"
    return [(r0 + k * np.sign(r1 - r0), c0 + k * np.sign(c1 - c0)) for k in range(n + 1)]


def path_cells(*corners: Cell) -> set[Cell]:
    """Cells under a path through `corners`, made of straight or diagonal segments."""
    return {(int(r), int(c)) for a, b in itertools.pairwise(corners) for r, c in segment(a, b)}


def as_grid(cells: Iterable[Cell], size: int, value: float = 1.0) -> np.ndarray:
    grid = np.zeros((size, size))
    for r, c in cells:
        grid[r, c] = value
    return grid


def expect_python_has(page: Page, grid: np.ndarray) -> None:
    """Python acknowledged the strokes, holds `grid` and computed corr2d from it."""
    wait_for_acknowledged(page, "paint")
    wait_for_grid(page, "paint", grid)
    wait_for_grid(page, "out", corr2d(grid, EDGE))


def expect_shown(page: Page, grid: np.ndarray) -> None:
    """Python holds `grid` and the canvas draws it: each cell gray round(255 v) (0 black, 1 white)."""
    expect_python_has(page, grid)
    colour = cell_pixels(page, "paint")["colour"]
    want = np.rint(np.clip(grid, 0, 1) * 255).astype(int)
    np.testing.assert_array_equal(colour, np.repeat(want[..., None], 3, axis=2))


def test_drag_paints_exactly_the_cells_under_the_path(page: Page, harness_url: str) -> None:
    open_harness(page, harness_url)
    drag(page, "paint", [(2, 1), (2, 6), (5, 6), (7, 4)])
    expect_shown(page, as_grid(path_cells((2, 1), (2, 6), (5, 6), (7, 4)), 8))


def test_fast_drag_leaves_no_gaps(page: Page, harness_url: str) -> None:
    open_harness(page, harness_url)
    # One pointer move per leg, each leg crossing the whole grid.
    drag(page, "paint", [(0, 0), (0, 7), (7, 7), (7, 0)], steps=1)
    expect_shown(page, as_grid(path_cells((0, 0), (0, 7), (7, 7), (7, 0)), 8))


def test_64x64_grid_paints_without_gaps(page: Page, harness_url: str) -> None:
    open_harness(page, harness_url, size=64)
    # Two moves across 63 cells, then three along a 53-cell diagonal (none on a cell border).
    drag(page, "paint", [(10, 0), (10, 63)], steps=2)
    expect_python_has(page, as_grid(path_cells((10, 0), (10, 63)), 64))
    drag(page, "paint", [(10, 63), (63, 10)], steps=3)
    expect_shown(page, as_grid(path_cells((10, 0), (10, 63), (63, 10)), 64))


def test_right_drag_erases(page: Page, harness_url: str) -> None:
    open_harness(page, harness_url)
    drag(page, "paint", [(3, 0), (3, 7)])
    expect_python_has(page, as_grid(path_cells((3, 0), (3, 7)), 8))
    drag(page, "paint", [(3, 2), (3, 5)], button="right")
    expect_shown(page, as_grid({(3, 0), (3, 1), (3, 6), (3, 7)}, 8))


def touch_drag(page: Page, name: str, cells: list[Cell]) -> None:
    """A finger down on the first cell, through the others, lifted on the last (real touch events)."""
    points = cell_points(page, name, cells)
    cdp = page.context.new_cdp_session(page)
    for kind, (x, y) in zip(["touchStart"] + ["touchMove"] * (len(points) - 1), points, strict=True):
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_on_a_touch_screen_a_stroke_starting_on_the_brush_erases(browser: Browser, harness_url: str) -> None:
    context = new_app_context(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        open_harness(page, harness_url)
        hint = "8 × 8 · drag paints 1; a drag that starts on 1 erases"
        expect(grid_caption(page, "paint")).to_have_text(hint)
        touch_drag(page, "paint", segment((3, 0), (3, 7)))
        expect_python_has(page, as_grid(path_cells((3, 0), (3, 7)), 8))
        touch_drag(page, "paint", segment((3, 2), (3, 5)))  # starts on a 1: erases (no right button)
        expect_shown(page, as_grid({(3, 0), (3, 1), (3, 6), (3, 7)}, 8))
        page.touchscreen.tap(*cell_point(page, "paint", 3, 0))  # a tap toggles a cell: 1 -> 0
        page.touchscreen.tap(*cell_point(page, "paint", 5, 5))  # and 0 -> 1
        expect_shown(page, as_grid({(3, 1), (3, 6), (3, 7), (5, 5)}, 8))
    finally:
        context.close()


def test_hover_shows_the_value(page: Page, harness_url: str) -> None:
    open_harness(page, harness_url, brush=0.5)
    caption = grid_caption(page, "paint")
    expect(caption).to_have_text("8 × 8 · drag paints 0.5, right-drag erases")
    drag(page, "paint", [(3, 4)])
    expect_shown(page, as_grid({(3, 4)}, 8, 0.5))
    page.mouse.move(*cell_point(page, "paint", 3, 4))
    expect(caption).to_have_text("row 3, col 4 = 0.5")
    page.mouse.move(*cell_point(page, "paint", 6, 1))
    expect(caption).to_have_text("row 6, col 1 = 0")
    page.mouse.move(5, 5)
    expect(caption).to_have_text("8 × 8 · drag paints 0.5, right-drag erases")
    # The output's readout says the number Python computed there.
    page.mouse.move(*cell_point(page, "out", 3, 3))
    expect(grid_caption(page, "out")).to_have_text("row 3, col 3 = −0.5")


def test_load_preset_shows_the_checkerboard_and_a_stroke_applies_on_top(page: Page, harness_url: str) -> None:
    open_harness(page, harness_url)
    drag(page, "paint", [(5, 0), (5, 7)])
    expect_python_has(page, as_grid(path_cells((5, 0), (5, 7)), 8))
    revision = int((grid_data(page, "paint") or {})["revision"])
    page.get_by_role("button", name="Load preset").click()
    wait_for_grid_attr(page, "paint", "revision", str(revision + 1))
    checkerboard = (np.indices((8, 8)).sum(axis=0) % 2).astype(float)
    expect_shown(page, checkerboard)
    drag(page, "paint", [(0, 0), (0, 7)])
    on_top = checkerboard.copy()
    on_top[0, :] = 1.0
    expect_shown(page, on_top)


def test_strokes_in_quick_succession_all_survive(page: Page, harness_url: str) -> None:
    # Each stroke starts before Python answered the last: late reruns must not wipe newer strokes.
    open_harness(page, harness_url)
    rows = [1, 3, 5, 7]
    for row in rows:
        drag(page, "paint", [(row, 0), (row, 7)], steps=2)
    expect_shown(page, as_grid({(r, c) for r in rows for c in range(8)}, 8))


GROUP_HARNESS = "tests/browser/apps/group_harness.py"


def test_a_group_that_lost_its_version_asks_for_the_whole_data(
    page: Page, streamlit_server: Callable[[str], str]
) -> None:
    """A patch of a version the browser never drew is not applied: the browser asks for everything."""
    page.goto(streamlit_server(GROUP_HARNESS))
    wait_for_grid(page, "out", np.zeros((6, 5)), timeout_ms=APP_COLD_MS)
    wait_for_script_end(page)
    group = page.locator(".cl-group").first
    drag(page, "paint", [(1, 1), (1, 3)])
    X = as_grid([(1, 1), (1, 2), (1, 3)], 6)
    wait_for_grid(page, "out", corr2d(X, EDGE))
    wait_for_acknowledged(page, "paint")
    assert group.get_attribute("data-patches") == "1" and group.get_attribute("data-syncs") is None

    click_button(page, "h.lose")  # the fragment's next run patches a version the browser never drew
    expect(group).to_have_attribute("data-syncs", "1")
    wait_for_script_end(page)
    drag(page, "paint", [(4, 0), (4, 2)])  # the whole data arrived: patches apply again
    X[4, :3] = 1.0
    wait_for_grid(page, "out", corr2d(X, EDGE))
    wait_for_grid(page, "paint", X)
    expect(group).to_have_attribute("data-patches", "2")
    assert group.get_attribute("data-syncs") == "1"
    expect_no_exception(page)
