"""The paint grid inside the real app (`streamlit_app.py`): a stroke on the Playground's input X reaches
Python and comes back acknowledged, and the Train page's grids render. The pages' own behaviour is
tested in `tests/test_app_*.py`; this checks the component's wiring in them.
"""

from __future__ import annotations

from browser_helpers import (
    canvas_levels,
    cell_point,
    drag,
    expect_no_exception,
    grid_canvas,
    grid_caption,
    wait_for_canvas,
    wait_for_canvas_attribute,
    wait_for_script_end,
)
from playwright.sync_api import Page, expect

COLD_START_MS = 60_000  # the first run imports torch and builds every figure


def test_a_stroke_on_the_playground_input_round_trips(page: Page, app_url: str) -> None:
    page.goto(app_url)
    canvas = grid_canvas(page)
    canvas.wait_for(timeout=COLD_START_MS)
    wait_for_script_end(page)
    expect_no_exception(page)
    before = canvas_levels(canvas)
    drag(page, canvas, [(0, 2), (0, 5)])
    after = before.copy()
    after[0, 2:6] = 255
    wait_for_canvas_attribute(page, canvas, "seq", "1")
    wait_for_canvas_attribute(page, canvas, "pending", "0")  # Python acknowledged the stroke
    wait_for_canvas(page, canvas, after)
    page.mouse.move(*cell_point(canvas, 0, 4))
    expect(grid_caption(page)).to_have_text("row 0, col 4 = 1")
    wait_for_script_end(page)
    expect_no_exception(page)


def test_the_train_page_shows_its_paint_grid(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/train")
    canvas = grid_canvas(page)
    canvas.wait_for(timeout=COLD_START_MS)
    wait_for_script_end(page)
    expect_no_exception(page)
    assert int(canvas.get_attribute("data-rows") or 0) > 0
