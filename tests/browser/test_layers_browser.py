"""The Channels & layers page (`/layers`) in a real Chromium, checked against `convlab` by what is on screen.

A colour picture split into its red, green and blue channels and mixed by the luma kernel; a picked
output cell of two stacked layers outlining its receptive field in every map (with and without pooling);
the share link in the address bar bringing the same grids back in a fresh browser; the transposed
convolution's checkerboard counts; and every tab on a laptop and a phone, screenshotted to
`test-artifacts/screenshots/` (`<viewport>-layers-<tab>-first-screen.png` and `...-page.png`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from browser_helpers import (
    APP_COLD_MS,
    ARTIFACTS,
    click_cell,
    expect_no_exception,
    grid,
    grid_values,
    horizontal_overflow,
    keyed,
    new_app_context,
    open_popover,
    screenshot_whole_page,
    wait_for_acknowledged,
    wait_for_grid,
    wait_for_grid_attr,
    wait_for_outline,
    wait_for_script_end,
)
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from convlab.images import image_preset
from convlab.kernels import kernel_preset
from convlab.matrix import conv_transpose2d
from convlab.receptive import Layer, Span, receptive_field, receptive_field_size
from convlab.stack import run_stack
from ui import layers_state as ls

SHOTS = ARTIFACTS / "screenshots"
LUMA = np.array([0.299, 0.587, 0.114])  # the Colour channels view opens on the luma kernel
CIRCLE = image_preset("circle", (10, 10))  # the Two layers view opens on a 10x10 circle ...
SOBEL_X = kernel_preset("sobel_x")  # ... through Sobel x, ReLU ...
BOX_BLUR = kernel_preset("box_blur")  # ... and a 3x3 box blur
# A grid drawn only on that tab (names such as `x` and `k` repeat from tab to tab).
TAB_GRIDS = {
    "Colour channels": ("y0", "b0"),
    "Two layers": ("h1", "k2"),
    "As a matrix": ("vk", "cols"),
    "Transposed convolution": ("copies", "mt"),
}
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "has_touch": True,
        "is_mobile": True,
    },
}


@pytest.fixture
def page(tab: Page) -> Page:
    """The tests here share one browser context (conftest's `tabs`), a tab each."""
    return tab


def open_layers(page: Page, url: str) -> None:
    """Open /layers (or a share link to it) and wait until its first tab is drawn and the run ended."""
    page.goto(url)
    wait_for_grid(page, "y0", timeout_ms=APP_COLD_MS)
    wait_for_script_end(page)
    expect_no_exception(page)


def open_tab(page: Page, label: str) -> None:
    """Switch to the tab `label`; return once its own grids are drawn and the run ended."""
    page.get_by_role("tab", name=label).click()
    expect(page.get_by_role("tab", name=label)).to_have_attribute("aria-selected", "true")
    for name in TAB_GRIDS[label]:
        wait_for_grid(page, name)
    wait_for_script_end(page)


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def field_mask(shape: tuple[int, int], span: Span) -> np.ndarray:
    """The cells of a receptive-field rectangle inside a map of `shape` (no padding drawn)."""
    mask = np.zeros(shape, dtype=bool)
    mask[max(span.r0, 0) : span.r1 + 1, max(span.c0, 0) : span.c1 + 1] = True
    return mask


def test_a_colour_picture_becomes_three_channels_mixed_to_gray(page: Page, app_url: str) -> None:
    open_layers(page, f"{app_url}/layers")
    wait_for_grid(page, "k00", LUMA[:1].reshape(1, 1))
    # 12x12 (the input size): the left half pure red, the right half pure blue.
    picture = np.zeros((12, 12, 3), dtype=np.uint8)
    picture[:, :6, 0] = 255
    picture[:, 6:, 2] = 255
    open_popover(page, "Colour picture")
    uploader = keyed(page, "ly.ch.upload").locator('input[type="file"]')
    uploader.set_input_files(
        files=[{"name": "red-blue.png", "mimeType": "image/png", "buffer": _png(picture)}]
    )

    X = np.moveaxis(picture, -1, 0) / 255.0  # (3, H, W) in whole 255ths, as the page quantises
    left = np.zeros((12, 12), dtype=bool)
    left[:, :6] = True
    np.testing.assert_array_equal(X[0], left)
    np.testing.assert_array_equal(X[2], ~left)
    for c in range(3):
        wait_for_grid(page, f"x{c}", X[c], atol=0)
    weights = LUMA / LUMA.sum()
    Y = np.tensordot(weights, X, axes=1)
    assert np.allclose(Y[:, :6], weights[0]) and np.allclose(Y[:, 6:], weights[2])
    wait_for_grid(page, "y0", Y, atol=1e-9)
    # The kernel kept its three slices.
    for c in range(3):
        wait_for_grid(page, f"k0{c}", weights[c : c + 1].reshape(1, 1), atol=1e-12)
    wait_for_script_end(page)
    expect(page.get_by_test_id("stAlert")).to_have_count(0)
    expect_no_exception(page)


def test_picking_an_output_cell_outlines_its_receptive_field_in_every_map(page: Page, app_url: str) -> None:
    open_layers(page, f"{app_url}/layers")
    open_tab(page, "Two layers")
    stack = run_stack(CIRCLE, SOBEL_X, BOX_BLUR, relu=True)
    wait_for_grid(page, "y", stack.Y, atol=1e-9)
    assert stack.Y.shape == (6, 6)

    click_cell(page, "y", 3, 3)
    wait_for_grid_attr(page, "y", "picked", "3,3")
    expect(page.get_by_text("Y[3, 3] depends on a 5×5 block of X: rows 3…7, columns 3…7.")).to_be_visible()
    # Two 3x3 layers, no padding: X rows/columns 3..7 and H1 rows/columns 3..5, outlined in gold.
    x_mask = np.zeros((10, 10), dtype=bool)
    x_mask[3:8, 3:8] = True
    wait_for_outline(page, "x", x_mask)
    h1_mask = np.zeros((8, 8), dtype=bool)
    h1_mask[3:6, 3:6] = True
    wait_for_outline(page, "h1", h1_mask)
    expect(grid(page, "p")).to_have_count(0)

    pool = keyed(page, "ly.st.pool").get_by_role("radio", name="2×2 max")
    pool.click()
    expect(pool).to_have_attribute("aria-checked", "true")
    pooled = run_stack(CIRCLE, SOBEL_X, BOX_BLUR, relu=True, pool="max")
    layers = [Layer((3, 3)), Layer((2, 2), stride=(2, 2), name="pool"), Layer((3, 3))]
    size = receptive_field_size(layers)
    assert size == (8, 8)  # (3 − 1)·2 + 2 = 6 in H1, then + 2 in X
    assert pooled.Y.shape == (2, 2)
    cell = (1, 1)  # the picked (3, 3) is clamped into the 2x2 output
    fields = receptive_field(layers, cell)
    f = fields[0]
    wait_for_grid(page, "p", pooled.P, atol=1e-9)
    wait_for_grid(page, "y", pooled.Y, atol=1e-9)
    wait_for_grid_attr(page, "y", "picked", "1,1")
    expect(
        page.get_by_text(
            f"Y[1, 1] depends on a {size[0]}×{size[1]} block of X: rows {f.r0}…{f.r1}, columns {f.c0}…{f.c1}."
        )
    ).to_be_visible()
    expect(page.get_by_text("depends on a 5×5 block of X")).to_have_count(0)
    wait_for_outline(page, "x", field_mask((10, 10), fields[0]))
    wait_for_outline(page, "h1", field_mask((8, 8), fields[1]))
    wait_for_outline(page, "p", field_mask((4, 4), fields[2]))
    expect_no_exception(page)


def _link_state(url: str) -> dict | None:
    text = parse_qs(urlsplit(url).query).get(ls.PARAM, [None])[-1]
    if not text:
        return None
    try:
        return ls.decode_link(text)
    except ls.LinkError:
        return None


def wait_for_link(page: Page, matches: Callable[[dict], bool]) -> str:
    """Wait until the address bar holds a `?ly=` link whose state `matches`; return that URL."""
    for _ in range(50):
        url = page.evaluate("() => location.href")
        state = _link_state(url)
        if state is not None and matches(state):
            return url
        page.wait_for_function("before => location.href !== before", arg=url)
    raise AssertionError(f"the address bar never held the expected state; it holds {page.url}")


def test_share_link_restores_the_two_layers_in_a_fresh_browser(
    page: Page, app_url: str, browser: Browser
) -> None:
    open_layers(page, f"{app_url}/layers")
    open_tab(page, "Two layers")
    editor = grid(page, "k2").locator("input.cl-editor")
    click_cell(page, "k2", 0, 0)
    expect(editor).to_be_visible()
    editor.fill("-2/3")
    editor.press("Enter")
    expect(editor).to_be_hidden()
    K2 = BOX_BLUR.copy()
    K2[0, 0] = -2 / 3
    wait_for_acknowledged(page, "k2")
    wait_for_grid(page, "k2", K2, atol=0)
    stack = run_stack(CIRCLE, SOBEL_X, K2, relu=True)
    wait_for_grid(page, "y", stack.Y, atol=1e-9)
    wait_for_script_end(page)
    click_cell(page, "y", 4, 2)
    wait_for_grid_attr(page, "y", "picked", "4,2")
    expect(page.get_by_text("Y[4, 2] depends on a 5×5 block of X")).to_be_visible()

    link = wait_for_link(
        page,
        lambda s: (
            s.get("tab") == "layers" and s.get("st.cell") == (4, 2) and np.array_equal(s.get("st.K2"), K2)
        ),
    )
    assert urlsplit(link).path == "/layers" and "?ly=" in link
    wait_for_script_end(page)
    names = ("x", "k1", "k2", "h1", "y")
    before = {name: grid_values(page, name) for name in names}
    np.testing.assert_allclose(before["y"], stack.Y, atol=1e-9)

    context = new_app_context(browser)  # a fresh browser: no cache, no cookies, no session
    try:
        other = context.new_page()
        other.goto(link)
        wait_for_grid(other, "h1", timeout_ms=APP_COLD_MS)  # the link opens on its tab, Two layers
        expect(other.get_by_role("tab", name="Two layers")).to_have_attribute("aria-selected", "true")
        for name, values in before.items():
            wait_for_grid(other, name, values, atol=0)
        wait_for_grid_attr(other, "y", "picked", "4,2")
        expect(
            other.get_by_text("Y[4, 2] depends on a 5×5 block of X: rows 4…8, columns 2…6.")
        ).to_be_visible()
        x_mask = np.zeros((10, 10), dtype=bool)
        x_mask[4:9, 2:7] = True
        wait_for_outline(other, "x", x_mask)
        wait_for_script_end(other)
        expect(other.get_by_test_id("stAlert")).to_have_count(0)  # no "could not be read" note
        expect_no_exception(other)
    finally:
        context.close()


def test_the_checkerboard_example_counts_uneven_overlaps(page: Page, app_url: str) -> None:
    open_layers(page, f"{app_url}/layers")
    open_tab(page, "Transposed convolution")
    course = np.array([[0.0, 1.0], [2.0, 3.0]])
    wait_for_grid(page, "z", conv_transpose2d(course, course))

    keyed(page, "ly.tr.ex2").get_by_role("button").click()
    counts = conv_transpose2d(np.ones((4, 4)), np.ones((3, 3)), stride=2)
    assert counts.shape == (9, 9)
    assert sorted(np.unique(counts).astype(int).tolist()) == [1, 2, 4]
    wait_for_grid(page, "x", np.ones((4, 4)))
    wait_for_grid(page, "k", np.ones((3, 3)))
    wait_for_grid(page, "copies", counts)
    wait_for_grid(page, "z", counts)  # X and K all ones: Z is the counts themselves
    expect(keyed(page, "ly.tr.stride").locator("input")).to_have_value("2")
    expect(page.get_by_text("Counts here: 1, 2, 4. Uneven counts at this stride")).to_be_visible()
    expect_no_exception(page)


def page_overflow(page: Page) -> dict:
    """`horizontal_overflow` of the page around its tab strip: on a phone the four tab labels do not
    fit, and Streamlit's strip scrolls them sideways by itself (with an arrow), inside its own box."""
    strip = page.get_by_role("tablist").bounding_box()
    width = page.evaluate("() => document.documentElement.clientWidth")
    assert strip is not None and strip["x"] >= 0 and strip["x"] + strip["width"] <= width + 1, (
        f"the tab strip {strip} is wider than the screen ({width} px)"
    )
    hidden = page.add_style_tag(content='[role="tablist"] { display: none !important; }')
    try:
        return horizontal_overflow(page)
    finally:
        hidden.evaluate("(el) => el.remove()")


@pytest.mark.parametrize("kind", list(VIEWPORTS))
def test_every_tab_renders_on_a_laptop_and_a_phone(browser: Browser, app_url: str, kind: str) -> None:
    context = new_app_context(browser, **VIEWPORTS[kind])
    try:
        page = context.new_page()
        open_layers(page, f"{app_url}/layers")
        SHOTS.mkdir(parents=True, exist_ok=True)
        overflows = {}
        for label in TAB_GRIDS:
            open_tab(page, label)
            expect_no_exception(page)
            expect(page.get_by_test_id("stAlert")).to_have_count(0)
            stem = f"{kind}-layers-{label.lower().replace(' ', '-')}"
            page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollTo(0, 0)")
            page.screenshot(path=str(SHOTS / f"{stem}-first-screen.png"))
            screenshot_whole_page(page, SHOTS / f"{stem}-page.png")
            overflow = page_overflow(page)
            if overflow["document"] > 0 or (overflow["main"] or 0) > 0 or overflow["outside"]:
                overflows[label] = overflow
            expect_no_exception(page)
        assert not overflows, f"on a {kind} these tabs scroll sideways or stick out: {overflows}"
    finally:
        context.close()
