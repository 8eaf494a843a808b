"""The Exercises page and the newcomer's path in a real Chromium: a checked answer counts, its progress goes
into the address bar and survives a reload and a trip through the menu; ?teacher=1 shows the answers; a
newcomer at "/" gets a welcome that leaves the Playground usable. Screenshots of the page on a laptop and a
phone land in `test-artifacts/screenshots/` for a human to look at.
"""

from __future__ import annotations

import numpy as np
import pytest
from browser_helpers import (
    APP_COLD_MS,
    ARTIFACTS,
    expect_no_exception,
    grid_canvas,
    horizontal_overflow,
    keyed,
    screenshot_whole_page,
    wait_for_grid,
    wait_for_script_end,
)
from playwright.sync_api import Browser, Page, expect

from convlab import corr2d
from convlab.images import image_preset
from convlab.kernels import kernel_preset

SHOTS = ARTIFACTS / "screenshots"


@pytest.fixture
def page(tab: Page) -> Page:
    return tab


def _open(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Exercises", exact=True)).to_be_visible(timeout=APP_COLD_MS)
    wait_for_grid(page, "ex1a.X", timeout_ms=APP_COLD_MS)
    wait_for_script_end(page)
    expect_no_exception(page)


def _bar(page: Page):
    return page.get_by_test_id("stProgress")


def _type(page: Page, key: str, text: str) -> None:
    box = keyed(page, key).locator("input")
    box.fill(text)
    box.press("Enter")


def test_an_answer_counts_and_survives_a_reload_and_the_menu(page: Page, app_url: str) -> None:
    _open(page, f"{app_url}/exercises")
    expect(_bar(page)).to_contain_text("0 of 8 exercises done")
    _type(page, "ex.box_sum.answer", "1/9 1/9 1/9; 1/9 1/9 1/9; 1/9 1/9 1/9")
    expect(page.get_by_text("the box blur, the window's mean")).to_be_visible()
    _type(page, "ex.box_sum.answer", "1 1 1; 1 1 1; 1 1 1")
    expect(page.get_by_text("Right: every weight is 1")).to_be_visible()
    expect(_bar(page)).to_contain_text("1 of 8 exercises done")
    page.wait_for_function("() => location.search.includes('done=exercise.box_sum')")

    page.reload()  # a new session, from the address bar alone
    _open(page, page.url)
    expect(_bar(page)).to_contain_text("1 of 8 exercises done")

    page.get_by_role("link", name="Lesson: convolutions for images").click()
    expect(page.get_by_role("heading", name="Convolutions for images")).to_be_visible()
    page.wait_for_function("() => location.pathname.endsWith('/lesson')")
    page.wait_for_function("() => location.search.includes('done=exercise.box_sum')")  # kept on the Lesson
    page.reload()  # ... so a reload there keeps it too
    expect(page.get_by_role("heading", name="Convolutions for images")).to_be_visible(timeout=APP_COLD_MS)
    wait_for_script_end(page)
    page.get_by_role("link", name="Exercises").click()
    expect(_bar(page)).to_contain_text("1 of 8 exercises done")
    page.wait_for_function("() => location.search.includes('done=exercise.box_sum')")
    expect_no_exception(page)


def test_a_prediction_shows_the_live_output(page: Page, app_url: str) -> None:
    _open(page, f"{app_url}/exercises")
    keyed(page, "ex.transpose_k.guess").get_by_text("All zeros, just as with X.T and K").click()
    expect(page.get_by_text("K.T = [[1], [−1]] computes top − bottom")).to_be_visible()
    X, K = image_preset("stripes"), kernel_preset("edge")
    wait_for_grid(page, "ex2b.corr2d(X, K.T)", np.zeros((5, 8)))
    wait_for_grid(page, "ex2b.corr2d(X.T, K.T)", corr2d(X, K).T)
    expect_no_exception(page)


def test_teacher_view_from_the_link(page: Page, app_url: str) -> None:
    _open(page, f"{app_url}/exercises?teacher=1")
    expect(page.get_by_text("Answer: A diagonal line of +1, one cell in every row.")).to_be_visible()
    expect(page.get_by_text("Answer: `[1, −2, 1]`", exact=False)).to_have_count(0)  # markdown, not backticks
    expect(page.get_by_text("the loop is", exact=False).first).to_be_visible()  # autograd, run for the answer
    wait_for_grid(page, "ex8c.M")
    expect_no_exception(page)


def test_a_newcomer_is_welcomed_without_losing_the_playground(page: Page, app_url: str) -> None:
    page.goto(app_url)
    wait_for_grid(page, "pg.output", timeout_ms=APP_COLD_MS)
    welcome = page.get_by_test_id("stCaptionContainer").filter(has_text="New here? Start with the Lesson")
    expect(welcome).to_be_visible()
    page.screenshot(path=str(SHOTS / "desktop-playground-welcome.png"))
    box, output = welcome.bounding_box(), grid_canvas(page, "pg.output").bounding_box()
    assert box is not None and output is not None
    assert box["y"] + box["height"] <= output["y"], f"the welcome {box} is not above the output {output}"
    expect(page.get_by_test_id("stToast")).to_have_count(0)  # nothing covers the page
    page.goto(f"{app_url}/?x=bad")  # a share link, even a broken one, is no first visit
    wait_for_grid(page, "pg.output", timeout_ms=APP_COLD_MS)
    wait_for_script_end(page)
    expect(page.get_by_text("New here?", exact=False)).to_have_count(0)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_screenshots_and_nothing_sticks_out(browser: Browser, app_url: str, viewport: dict) -> None:
    phone = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, device_scale_factor=2 if phone else 1,
                                  is_mobile=phone, has_touch=phone)
    try:
        page = context.new_page()
        _open(page, f"{app_url}/exercises?teacher=1")
        wait_for_grid(page, "ex8c.M")
        kind = "phone" if phone else "desktop"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{kind}-exercises-first-screen.png"))
        screenshot_whole_page(page, SHOTS / f"{kind}-exercises-page.png")
        overflow = horizontal_overflow(page)
        assert overflow["document"] <= 0 and not overflow["outside"], overflow
    finally:
        context.close()
