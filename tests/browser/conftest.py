"""Browser-test fixtures: headless Chromium, Streamlit servers on free ports, a fresh page per test.

Every test in this folder is marked `browser`. Without a browser they are skipped locally and fail
under CI (`CI` set), where `scripts/ensure_browser.py` should have installed one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from browser_helpers import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    DEBIAN_CHROMIUM,
    REPO_ROOT,
    StreamlitServer,
    call_failed,
    new_app_context,
    page_in,
)
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

HERE = Path(__file__).resolve().parent
TIMEOUT_MS = 15_000  # a cold Streamlit rerun on a busy 2-core CI box can take seconds

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test collected from this folder as `browser`."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so the `page` fixture knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _no_browser(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: browser tests must run; see scripts/ensure_browser.py)")
    pytest.skip(f"{reason}; run `python scripts/ensure_browser.py`")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium: Debian's `/usr/bin/chromium` if present, else Playwright's own."""
    with sync_playwright() as pw:
        if DEBIAN_CHROMIUM.exists():
            executable: str | None = str(DEBIAN_CHROMIUM)
        elif Path(pw.chromium.executable_path).exists():
            executable = None
        else:
            _no_browser("no Chromium found (neither /usr/bin/chromium nor Playwright's)")
        chromium = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def streamlit_server() -> Iterator[Callable[[str], str]]:
    """Factory: `streamlit_server("path/from/repo/root.py")` starts that script, returns its base URL.

    The module's servers are stopped by PID at module end; a `Traceback` in a server log fails then.
    """
    servers: list[StreamlitServer] = []

    def start(script: str) -> str:
        server = StreamlitServer(REPO_ROOT / script)
        servers.append(server)
        try:
            return server.start()
        except RuntimeError as error:
            pytest.fail(str(error))

    yield start
    for server in servers:
        server.stop()
    broken = [server for server in servers if "Traceback" in server.log_text()]
    if broken:
        pytest.fail(
            "\n\n".join(f"Traceback in {server.log_path}:\n{server.log_tail()}" for server in broken),
            pytrace=False,
        )


@pytest.fixture(scope="module")
def app_url(streamlit_server: Callable[[str], str]) -> str:
    """Base URL of the real app, `streamlit_app.py`, one server per test module."""
    return streamlit_server("streamlit_app.py")


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh context and page (1280x800) per test; a screenshot of it when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        path = ARTIFACTS / "screenshots" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    context.close()


@pytest.fixture(scope="module")
def tabs(browser: Browser) -> Iterator[BrowserContext]:
    """One context for a module: each test's tab is its own session, the frontend loads once."""
    context = new_app_context(browser)
    yield context
    context.close()


@pytest.fixture
def tab(tabs: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A new tab in the module's context (so a new session); a screenshot of it when the test fails."""
    yield from page_in(tabs, request.node.name, lambda: call_failed(request))
