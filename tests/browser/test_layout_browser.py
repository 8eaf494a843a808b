"""Every page at phone width (390x844): nothing scrolls sideways and no control sticks out of the screen.

Screenshots of each whole page land in `test-artifacts/screenshots/phone-<page>.png` for a human to
look at (a teacher checks the app on a phone before class).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_helpers import (
    APP_COLD_MS,
    ARTIFACTS,
    call_failed,
    expect_no_exception,
    horizontal_overflow,
    new_app_context,
    page_in,
    screenshot_whole_page,
    wait_for_chart,
    wait_for_script_end,
)
from playwright.sync_api import Browser, BrowserContext, Page

PHONE = {"width": 390, "height": 844}
PAGES = {  # url path -> a chart drawn last-ish on that page, so the layout has settled
    "playground": ("", "pg.output"),
    "lesson": ("/lesson", "l5.learned"),
    "train": ("/train", "tr.landscape"),
}


@pytest.fixture(scope="module")
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = new_app_context(browser, viewport=PHONE, device_scale_factor=2, has_touch=True, is_mobile=True)
    yield context
    context.close()


@pytest.fixture
def page(phone: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from page_in(phone, request.node.name, lambda: call_failed(request))


@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_a_phone(page: Page, app_url: str, name: str) -> None:
    path, chart = PAGES[name]
    page.goto(app_url + path)
    wait_for_chart(page, chart, APP_COLD_MS)
    wait_for_script_end(page)
    expect_no_exception(page)
    overflow = horizontal_overflow(page)
    screenshot_whole_page(page, ARTIFACTS / "screenshots" / f"phone-{name}.png")
    assert overflow["document"] <= 0, f"the {name} page scrolls sideways by {overflow['document']} px"
    assert overflow["main"] is not None and overflow["main"] <= 0, (
        f"the {name} page's main block scrolls sideways by {overflow['main']} px"
    )
    assert not overflow["outside"], f"on the {name} page these stick out of the screen: {overflow['outside']}"
