"""The Playground in a real Chromium, checked against `convlab` as the learner would check it by eye.

Paint the input (mouse and keyboard), type kernel numbers, pick settings, pick an output cell, reopen a
share link, upload a picture, download the results: each test reads what is on screen (the numbers
each grid drew, its pixels, the explanation's text) and compares it with `corr2d`/`conv2d` of the grid
on screen.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import pytest
from browser_helpers import (
    APP_COLD_MS,
    FIND_GRID_JS,
    cell_pixels,
    cell_points,
    choose_option,
    click_cell,
    drag,
    expect_no_exception,
    grid,
    grid_canvas,
    grid_data,
    grid_frame,
    grid_message,
    grid_values,
    keyed,
    new_app_context,
    open_popover,
    reveal,
    revealed,
    set_number,
    settle,
    wait_for_acknowledged,
    wait_for_grid,
    wait_for_grid_attr,
    wait_for_outline,
    wait_for_script_end,
)
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from convlab import conv2d, corr2d
from convlab.colour import nice_limit, signed_scale
from convlab.export import kernel_from_json, to_png
from convlab.images import image_preset
from convlab.kernels import kernel_preset
from ui import share

STRIPES = image_preset("stripes")  # the Playground opens on the lesson's 6x8 stripes ...
EDGE = kernel_preset("edge")  # ... and its [1, -1] kernel
SOBEL_X = kernel_preset("sobel_x")


@pytest.fixture
def page(tab: Page) -> Page:
    """The tests here share one browser context (conftest's `tabs`), a tab each."""
    return tab


def open_playground(page: Page, url: str, *, X: np.ndarray = STRIPES, K: np.ndarray = EDGE) -> None:
    """Open the Playground; return once the output shows corr2d of the expected start and the run ended."""
    page.goto(url)
    wait_for_grid(page, "pg.output", corr2d(X, K), timeout_ms=APP_COLD_MS)
    wait_for_grid(page, "pg.paint", X)
    wait_for_script_end(page)
    expect_no_exception(page)


def title(page: Page, name: str) -> Locator:
    return grid(page, name).locator("div.cl-title")


def explanation(page: Page, i: int, j: int) -> Locator:
    """The lines that write the sum behind Y[i, j] (in the live workspace's explanation panel)."""
    text = f"Y[{i}, {j}] = "
    return page.locator(".cl-lines").filter(has_text=text).or_(
        page.get_by_test_id("stMarkdown").filter(has_text=text)).first


def factor(v: float) -> str:
    text = f"{v:g}".replace("-", "−")
    return f"({text})" if v < 0 else text


def sum_text(window: np.ndarray, K: np.ndarray, i: int, j: int) -> str:
    """The explanation's first line for whole numbers, computed here: Y[i, j] = x·k + ..."""
    terms = " + ".join(f"{factor(x)}·{factor(k)}" for x, k in zip(window.ravel(), K.ravel(), strict=True))
    return f"Y[{i}, {j}] = {terms}"


def pick_mode(page: Page, label: str) -> None:
    with revealed(page, "pg.mode") as mode:
        mode.get_by_role("radio", name=label).or_(mode.get_by_role("button", name=label)).first.click()
        settle(page)


def test_painting_the_input_updates_the_output_numbers(page: Page, app_url: str) -> None:
    open_playground(page, app_url)
    expect(title(page, "pg.output")).to_have_text("Output Y = X ⋆ K + b · 6×7")

    diagonal = [(1, 2), (2, 3), (3, 4), (4, 5)]
    drag(page, "pg.paint", [diagonal[0], diagonal[-1]])
    painted = STRIPES.copy()
    painted[tuple(np.transpose(diagonal))] = 1.0
    wait_for_grid(page, "pg.output", corr2d(painted, EDGE))

    drag(page, "pg.paint", [(5, 0), (5, 7)], button="right")  # right-drag erases a whole row
    painted[5, :] = 0.0
    wait_for_grid(page, "pg.output", corr2d(painted, EDGE))
    wait_for_acknowledged(page, "pg.paint")
    # The numbers on screen are corr2d of the grid on screen, pixels included (0 black, 1 white).
    shown = wait_for_grid(page, "pg.paint", painted)
    colour = cell_pixels(page, "pg.paint")["colour"]
    np.testing.assert_array_equal(colour[..., 0], np.where(shown == 1, 255, 0)[:, :])
    np.testing.assert_array_equal(grid_values(page, "pg.output"), corr2d(shown, EDGE))
    # Python answered each stroke with a patch of the workspace, and the browser never lost its version.
    group = page.locator(".cl-group").first
    assert int(group.get_attribute("data-patches") or 0) >= 2 and group.get_attribute("data-syncs") is None
    expect_no_exception(page)


def test_kernel_preset_and_settings_drive_shape_and_values(page: Page, app_url: str) -> None:
    open_playground(page, app_url)
    choose_option(page, "pg.kernel_preset", "Sobel x")
    expect(title(page, "pg.kedit")).to_have_text("Kernel K · 3×3 · Sobel x")
    wait_for_grid(page, "pg.kedit", SOBEL_X)
    expect(title(page, "pg.output")).to_contain_text("4×6")
    wait_for_grid(page, "pg.output", corr2d(STRIPES, SOBEL_X))

    steps = [  # (number input, value, shape after, settings so far)
        ("pg.pad_r", 1, (6, 8), {"padding": 1}),
        ("pg.stride_r", 2, (3, 4), {"padding": 1, "stride": 2}),
        ("pg.dil_r", 2, (2, 3), {"padding": 1, "stride": 2, "dilation": 2}),
    ]
    for key, value, (Ho, Wo), settings in steps:
        set_number(page, key, value)
        expect(title(page, "pg.output")).to_contain_text(f"{Ho}×{Wo}")
        expected = corr2d(STRIPES, SOBEL_X, **settings)
        assert expected.shape == (Ho, Wo)
        wait_for_grid(page, "pg.output", expected)
        wait_for_grid_attr(page, "pg.paint", "pad", "1,1")
    # The formula under the output uses the same numbers: ⌊(6 + 2·1 − 2·(3 − 1) − 1) / 2⌋ + 1 = 2.
    expect(page.get_by_text("H′ = ⌊(6 + 2·1 − 2·(3 − 1) − 1) / 2⌋ + 1 = 2")).to_be_visible()

    pick_mode(page, "Convolution")
    wait_for_grid(page, "pg.output", conv2d(STRIPES, SOBEL_X, padding=1, stride=2, dilation=2))
    expect(title(page, "pg.output")).to_contain_text("Output Y = X ∗ K + b")
    # Convolution slides the flipped kernel, and shows it.
    wait_for_grid(page, "pg.kflipped", SOBEL_X[::-1, ::-1])
    pick_mode(page, "Correlation")
    expect(grid(page, "pg.kflipped")).to_have_count(0)
    expect_no_exception(page)


def test_presets_keep_the_grid_size(page: Page, app_url: str) -> None:
    # Issue 8: "64×64 → Random noise → 8×8" threw away the size the learner had just set.
    open_playground(page, app_url)
    set_number(page, "pg.rows", 12)
    set_number(page, "pg.cols", 12)
    wait_for_grid_attr(page, "pg.paint", "cols", "12")
    choose_option(page, "pg.image_preset", "Random noise")
    expect(title(page, "pg.paint")).to_contain_text("Random noise")
    X = wait_for_grid(page, "pg.paint")
    assert X.shape == (12, 12)
    wait_for_grid(page, "pg.output", corr2d(X, EDGE))
    expect_no_exception(page)


def test_picking_an_output_cell_explains_it_and_moves_the_window(page: Page, app_url: str) -> None:
    open_playground(page, app_url)
    choose_option(page, "pg.kernel_preset", "Sobel x")
    set_number(page, "pg.pad_r", 1)
    wait_for_grid(page, "pg.output", corr2d(STRIPES, SOBEL_X, padding=1))
    padded = np.pad(STRIPES, 1)

    click_cell(page, "pg.output", 2, 5)
    expect(page.get_by_text("Explain Y[2, 5]")).to_be_visible()
    wait_for_grid_attr(page, "pg.output", "picked", "2,5")
    window = padded[2:5, 5:8]
    wait_for_grid(page, "pg.ex_w", window)
    wait_for_grid(page, "pg.ex_k", SOBEL_X)
    wait_for_grid(page, "pg.ex_p", window * SOBEL_X)
    expect(explanation(page, 2, 5)).to_contain_text(sum_text(window, SOBEL_X, 2, 5))
    value = corr2d(STRIPES, SOBEL_X, padding=1)[2, 5]
    expect(explanation(page, 2, 5)).to_contain_text(f"= {value:g}".replace("-", "−"))
    # Output (2, 5) with padding 1 reads input rows 1..3 and columns 4..6: drawn rows 2..4, columns 5..7.
    mask = np.zeros((8, 10), dtype=bool)
    mask[2:5, 5:8] = True
    wait_for_outline(page, "pg.paint", mask)

    # The keyboard picks too: arrows move the pick (sent once they settle), Home goes to the row's start.
    grid_frame(page, "pg.output").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_text("Explain Y[2, 6]")).to_be_visible()
    wait_for_grid(page, "pg.ex_w", padded[2:5, 6:9])
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Explain Y[5, 7]")).to_be_visible()
    window = padded[5:8, 7:10]
    wait_for_grid(page, "pg.ex_w", window)
    expect(explanation(page, 5, 7)).to_contain_text(sum_text(window, SOBEL_X, 5, 7))
    expect(explanation(page, 5, 7)).to_contain_text("5 of the 9 taps fall in the zero padding")
    mask = np.zeros((8, 10), dtype=bool)
    mask[5:8, 7:10] = True
    wait_for_outline(page, "pg.paint", mask)
    expect_no_exception(page)


def test_padding_and_dilation_taps_are_drawn_in_the_hatched_border(page: Page, app_url: str) -> None:
    # Issue 8: with padding 1 and dilation 2 only 4 of the 9 taps were outlined on the input.
    open_playground(page, app_url)
    choose_option(page, "pg.kernel_preset", "Sobel x")
    set_number(page, "pg.pad_r", 1)
    set_number(page, "pg.dil_r", 2)
    wait_for_grid(page, "pg.output", corr2d(STRIPES, SOBEL_X, padding=1, dilation=2))
    wait_for_grid_attr(page, "pg.output", "picked", "0,0")
    wait_for_grid_attr(page, "pg.paint", "pad", "1,1")
    expect(explanation(page, 0, 0)).to_contain_text("5 of the 9 taps fall in the zero padding")

    # Y[0, 0] reads input rows and columns -1, 1, 3: drawn (with the border) at 0, 2, 4.
    taps = np.zeros((8, 10), dtype=bool)
    taps[np.ix_([0, 2, 4], [0, 2, 4])] = True
    wait_for_outline(page, "pg.paint", taps)
    border = np.ones((8, 10), dtype=bool)
    border[1:-1, 1:-1] = False
    assert (taps & border).sum() == 5
    pixels = cell_pixels(page, "pg.paint")
    assert pixels["pad"] == (1, 1)
    np.testing.assert_array_equal(pixels["hatched"], border, err_msg="the hatched cells are not the border")
    # The border is zeros: drawn black under the hatching, as a 0 of the image is.
    assert (pixels["colour"][border] == 0).all()
    expect_no_exception(page)


def test_kernel_editor_takes_fractions_and_refuses_non_numbers(page: Page, app_url: str) -> None:
    # Issue 8: the old table editor changed typed values silently (1/9 -> 19, 1e3 -> 13, abc -> 0).
    open_playground(page, app_url)
    editor = grid(page, "pg.kedit").locator("input.cl-editor")

    def type_into(cell: tuple[int, int], text: str) -> None:
        click_cell(page, "pg.kedit", *cell)
        expect(editor).to_be_visible()
        editor.fill(text)
        editor.press("Enter")
        expect(editor).to_be_hidden()

    K = EDGE.copy()
    for cell, text, value in (((0, 0), "1/9", 1 / 9), ((0, 1), "-2/3", -2 / 3), ((0, 0), "1e-3", 1e-3)):
        type_into(cell, text)
        K[cell] = value
        wait_for_grid(page, "pg.kedit", K, atol=0)
        wait_for_grid(page, "pg.output", corr2d(STRIPES, K), atol=1e-12)
        expect(grid_message(page, "pg.kedit")).to_have_text("")

    wait_for_acknowledged(page, "pg.kedit")
    seq = (grid_data(page, "pg.kedit") or {})["seq"]
    for text in ("abc", "1/0"):
        type_into((0, 1), text)
        expect(grid_message(page, "pg.kedit")).to_contain_text(f"“{text}” is not a number")
        expect(grid_message(page, "pg.kedit")).to_contain_text("Row 0, column 1 keeps −0.6667")
        np.testing.assert_array_equal(grid_values(page, "pg.kedit"), K)
        assert (grid_data(page, "pg.kedit") or {})["seq"] == seq, "a refused number was sent"
    np.testing.assert_allclose(grid_values(page, "pg.output"), corr2d(STRIPES, K), atol=1e-12)

    # The keyboard: Enter opens the editor on the focused cell; a digit opens it with that digit.
    grid_frame(page, "pg.kedit").focus()
    page.keyboard.press("Home")
    page.keyboard.type("2.5")
    expect(editor).to_be_visible()
    page.keyboard.press("Enter")
    K[0, 0] = 2.5
    wait_for_grid(page, "pg.output", corr2d(STRIPES, K), atol=1e-12)
    expect(grid_message(page, "pg.kedit")).to_have_text("")

    # Dragging across the kernel paints the brush value into every cell it crosses.
    set_number(page, "pg.brush", -0.5)
    expect(page.get_by_test_id("stPopover").filter(has_text="Brush:")).to_contain_text("Brush: -0.5")
    wait_for_script_end(page)
    drag(page, "pg.kedit", [(0, 0), (0, 1)])
    K[:] = -0.5
    wait_for_grid(page, "pg.output", corr2d(STRIPES, K), atol=1e-12)
    wait_for_grid(page, "pg.kedit", K)
    expect_no_exception(page)


def test_keyboard_paints_the_input(page: Page, app_url: str) -> None:
    open_playground(page, app_url)
    frame = grid_frame(page, "pg.paint")
    cell = frame.locator('[role="gridcell"]')
    frame.focus()
    X = STRIPES.copy()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(cell).to_have_attribute("aria-label", "row 0, column 2, value 0")
    page.keyboard.press("Space")  # paints the brush value, 1
    X[0, 2] = 1
    expect(cell).to_have_attribute("aria-label", "row 0, column 2, value 1")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+ArrowRight")  # moves to (1, 3) and paints it
    X[1, 3] = 1
    expect(cell).to_have_attribute("aria-label", "row 1, column 3, value 1")
    page.keyboard.press("End")
    page.keyboard.press("Delete")  # paints 0
    X[1, 7] = 0
    page.keyboard.press("Control+End")
    page.keyboard.press("Backspace")
    X[5, 7] = 0
    expect(cell).to_have_attribute("aria-label", "row 5, column 7, value 0")
    # Sent once the keys stop; Python recomputes the output from the painted grid.
    wait_for_grid(page, "pg.output", corr2d(X, EDGE))
    wait_for_acknowledged(page, "pg.paint")
    wait_for_grid(page, "pg.paint", X)
    page.keyboard.press("Control+Home")
    expect(cell).to_have_attribute("aria-label", "row 0, column 0, value 1")
    expect(frame).to_have_attribute("aria-rowcount", "6")
    expect(frame).to_have_attribute("aria-colcount", "8")
    expect_no_exception(page)


def test_the_explanation_is_in_the_first_screen(page: Page, app_url: str) -> None:
    # Issue 8: at 1280x900 "Explain a cell" started ~1,200 px down, out of sight of the click.
    open_playground(page, app_url)
    assert page.viewport_size == {"width": 1280, "height": 800}

    def inside_first_screen(locator: Locator, what: str) -> None:
        box = locator.bounding_box()
        assert box is not None, f"{what} is not shown"
        right, bottom = box["x"] + box["width"], box["y"] + box["height"]
        assert box["x"] >= 0 and box["y"] >= 0 and right <= 1280 and bottom <= 800, (
            f"{what} is outside the first screen at 1280x800: {box}"
        )

    for kernel in (None, "Sobel x"):
        if kernel:
            choose_option(page, "pg.kernel_preset", kernel)
            wait_for_grid(page, "pg.ex_k", SOBEL_X)
            page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollTo(0, 0)")
            page.evaluate("() => window.scrollTo(0, 0)")
        inside_first_screen(grid_frame(page, "pg.output"), "the output grid")
        inside_first_screen(page.get_by_text("Explain Y[0, 0]"), "“Explain Y[0, 0]”")
        for name in ("pg.ex_w", "pg.ex_k", "pg.ex_p"):
            inside_first_screen(grid_frame(page, name), f"the explanation's grid {name}")
        inside_first_screen(explanation(page, 0, 0), "the written sum")


def _link_state(url: str) -> share.PlaygroundState | None:
    params = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    try:
        return share.decode_state(params)
    except share.ShareLinkError:
        return None


def _same_state(a: share.PlaygroundState | None, b: share.PlaygroundState) -> bool:
    return a is not None and all(
        np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
        for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True)
    )


def wait_for_link(page: Page, want: share.PlaygroundState) -> None:
    """Wait until the address bar holds a share link that decodes to `want` (checked on every change)."""
    for _ in range(50):
        url = page.evaluate("() => location.href")
        if _same_state(_link_state(url), want):
            return
        page.wait_for_function("before => location.href !== before", arg=url)
    raise AssertionError(f"the address bar never held the expected state; it holds {page.url}")


def _settings(page: Page) -> dict[str, str]:
    with revealed(page, "pg.pad_r"):  # the settings' popover, opened to read them
        values = {key: keyed(page, key).locator("input").input_value() for key in
                  ("pg.pad_r", "pg.stride_r", "pg.dil_r", "pg.bias")}
    values["mode"] = title(page, "pg.output").inner_text()
    values["picked"] = (grid_data(page, "pg.output") or {}).get("picked", "")
    return values


def _expect_settings(page: Page, want: dict[str, str], timeout_s: float = 5.0) -> None:
    """The settings read `want` (read again until they do: a popover's widgets settle after it opens)."""
    deadline = time.monotonic() + timeout_s
    got = _settings(page)
    while got != want and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        got = _settings(page)
    assert got == want


def test_share_link_restores_the_whole_state_in_a_fresh_browser(
    page: Page, app_url: str, browser: Browser
) -> None:
    open_playground(page, app_url)
    choose_option(page, "pg.kernel_preset", "Sobel y")
    pick_mode(page, "Convolution")
    set_number(page, "pg.pad_r", 1)
    set_number(page, "pg.stride_r", 2)
    set_number(page, "pg.bias", 0.5)
    K = kernel_preset("sobel_y")
    # The settings are in (and the input has its padded border) before the stroke starts on it.
    wait_for_grid(page, "pg.output", conv2d(STRIPES, K, padding=1, stride=2) + 0.5)
    wait_for_grid_attr(page, "pg.paint", "pad", "1,1")
    wait_for_script_end(page)
    drag(page, "pg.paint", [(0, 0), (0, 7)], button="right")
    X = STRIPES.copy()
    X[0, :] = 0.0
    Y = conv2d(X, K, padding=1, stride=2) + 0.5
    wait_for_acknowledged(page, "pg.paint")
    wait_for_grid(page, "pg.paint", X)
    wait_for_grid(page, "pg.output", Y)
    click_cell(page, "pg.output", 1, 2)
    expect(page.get_by_text("Explain Y[1, 2]")).to_be_visible()

    want = share.PlaygroundState(X=X, K=K, mode="convolution", padding=(1, 1), stride=(2, 2), bias=0.5,
                                 cell=(1, 2))
    wait_for_link(page, want)
    link = page.evaluate("() => location.href")
    wait_for_script_end(page)
    names = ("pg.paint", "pg.kedit", "pg.kflipped", "pg.output", "pg.ex_w", "pg.ex_k", "pg.ex_p")
    before = {name: grid_values(page, name) for name in names}
    settings = {"pg.pad_r": "1", "pg.stride_r": "2", "pg.dil_r": "1", "pg.bias": "0.5",
                "mode": "Output Y = X ∗ K + b · 3×4", "picked": "1,2"}
    _expect_settings(page, settings)
    sum_line = explanation(page, 1, 2).text_content()

    context = new_app_context(browser)  # a fresh browser: no cache, no cookies, no session
    try:
        other = context.new_page()
        other.goto(link)
        wait_for_grid(other, "pg.output", Y, timeout_ms=APP_COLD_MS)
        for name, values in before.items():
            wait_for_grid(other, name, values, atol=0)
        wait_for_script_end(other)
        _expect_settings(other, settings)
        expect(explanation(other, 1, 2)).to_have_text(sum_line)
        expect_no_exception(other)
    finally:
        context.close()


def test_two_tabs_are_two_sessions(page: Page, app_url: str, tabs: BrowserContext) -> None:
    open_playground(page, app_url)
    other = tabs.new_page()
    try:
        open_playground(other, app_url)
        drag(page, "pg.paint", [(0, 2), (0, 5)])
        drag(other, "pg.paint", [(5, 0), (5, 7)], button="right")
        mine, theirs = STRIPES.copy(), STRIPES.copy()
        mine[0, 2:6] = 1.0
        theirs[5, :] = 0.0
        wait_for_grid(page, "pg.output", corr2d(mine, EDGE))
        wait_for_grid(other, "pg.output", corr2d(theirs, EDGE))
        wait_for_script_end(page)
        wait_for_script_end(other)
        np.testing.assert_array_equal(grid_values(page, "pg.paint"), mine)
        np.testing.assert_array_equal(grid_values(other, "pg.paint"), theirs)
    finally:
        other.close()


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_a_picture_and_a_non_picture(page: Page, app_url: str) -> None:
    open_playground(page, app_url)
    # A 12x16 picture of 2x2 blocks: shrunk to the 6x8 grid, each cell is one block's gray.
    levels = np.zeros((6, 8), dtype=np.uint8)
    levels[1:5, 1:3] = 255
    levels[1:5, 5:7] = 128
    picture = np.kron(levels, np.ones((2, 2), dtype=np.uint8))

    open_popover(page, "Input X")
    uploader = keyed(page, "pg.upload").locator('input[type="file"]')
    uploader.set_input_files(files=[{"name": "blocks.png", "mimeType": "image/png", "buffer": _png(picture)}])
    X = levels / 255.0
    wait_for_grid(page, "pg.paint", X)
    wait_for_grid(page, "pg.output", corr2d(X, EDGE))
    colour = cell_pixels(page, "pg.paint")["colour"]
    np.testing.assert_array_equal(colour[..., 1], levels)  # gray as the picture's own pixels

    text_file = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a picture"}
    uploader.set_input_files(files=[text_file])
    alert = page.get_by_test_id("stAlert").filter(has_text="notes")
    expect(alert).to_contain_text("Your grid is unchanged")
    wait_for_grid(page, "pg.paint", X)

    # The app still works: Invert flips the grid and the output follows.
    reveal(page, "pg.edit_x")
    keyed(page, "pg.edit_x").get_by_role("radio", name="Invert").click()
    wait_for_grid(page, "pg.paint", 1.0 - X, atol=1e-12)
    wait_for_grid(page, "pg.output", corr2d(1.0 - X, EDGE), atol=1e-12)
    expect_no_exception(page)


def test_a_camera_snapshot_becomes_the_input_grid(page: Page, app_url: str) -> None:
    page.context.grant_permissions(["camera"])
    open_playground(page, app_url)
    before = grid_values(page, "pg.paint")
    open_popover(page, "Camera")
    take = page.get_by_role("button", name="Take Photo")
    expect(page.get_by_test_id("stPopoverBody").locator("video")).to_be_visible()  # the camera streams
    expect(take).to_be_enabled()
    page.wait_for_timeout(500)  # a first frame: a photo taken before it is blank
    take.click()
    # Chromium's fake camera: a green test pattern, so the grid turns a mid gray in place of the stripes.
    for _ in range(150):
        X = grid_values(page, "pg.paint")
        if X is not None and not np.isin(X, (0.0, 1.0)).all():
            break
        page.wait_for_timeout(100)
    assert not np.isin(X, (0.0, 1.0)).all(), "the snapshot never reached the input grid"
    assert X.shape == before.shape and 0.05 < X.mean() < 0.95
    assert np.allclose(X * 255, np.round(X * 255))  # a picture's levels, whole 255ths
    wait_for_grid(page, "pg.output", corr2d(X, EDGE), atol=1e-9)
    expect_no_exception(page)


def _download(page: Page, key: str) -> bytes:
    if not keyed(page, key).is_visible():
        open_popover(page, "Download")
    button = keyed(page, key).get_by_role("button")
    button.scroll_into_view_if_needed()
    with page.expect_download() as info:
        button.click()
    path = info.value.path()
    with open(path, "rb") as f:
        return f.read()


def test_downloads_hold_the_painted_grids_results(page: Page, app_url: str) -> None:
    open_playground(page, app_url)
    choose_option(page, "pg.kernel_preset", "Sobel x")
    wait_for_grid(page, "pg.kedit", SOBEL_X)
    wait_for_script_end(page)
    drag(page, "pg.paint", [(1, 2), (4, 5)])
    X = STRIPES.copy()
    X[[1, 2, 3, 4], [2, 3, 4, 5]] = 1.0
    Y = corr2d(X, SOBEL_X)
    wait_for_grid(page, "pg.output", Y)
    wait_for_script_end(page)

    rows = list(csv.reader(io.StringIO(_download(page, "pg.dl_csv").decode())))
    np.testing.assert_array_equal(np.array(rows, dtype=np.float64), Y)

    png = _download(page, "pg.dl_png")
    pixels = np.array(Image.open(io.BytesIO(png)).convert("RGB"))
    block = max(1, 256 // max(Y.shape))
    assert pixels.shape == (Y.shape[0] * block, Y.shape[1] * block, 3)
    exported = Image.open(io.BytesIO(to_png(Y, scale=block))).convert("RGB")  # the export's own colouring
    np.testing.assert_array_equal(pixels, np.array(exported))
    assert (pixels[::block, ::block][Y == 0] == 247).all()  # 0 is the neutral colour, as on screen

    kernel = json.loads(_download(page, "pg.dl_kernel").decode())
    assert kernel["mode"] == "correlation"
    np.testing.assert_array_equal(kernel_from_json(json.dumps(kernel)), SOBEL_X)

    snippet = _download(page, "pg.dl_snippet").decode()
    namespace: dict = {"print": lambda *args, **kwargs: None}
    exec(compile(snippet, "convlab_snippet.py", "exec"), namespace)  # the learner runs it as it is
    np.testing.assert_allclose(namespace["Y"].numpy(), Y, atol=1e-12)
    expect_no_exception(page)


def test_the_png_colours_are_the_screens(page: Page, app_url: str) -> None:
    # convlab/colour.py: "a colour in a PNG export, a photo and a grid on screen mean the same number".
    # Box blur on the stripes gives 0, 1/3 and 2/3: the screen's range is ±0.8, the PNG's ±2/3.
    open_playground(page, app_url)
    choose_option(page, "pg.kernel_preset", "Box blur")
    Y = wait_for_grid(page, "pg.output", corr2d(STRIPES, kernel_preset("box_blur")))
    wait_for_script_end(page)
    png = _download(page, "pg.dl_png")
    pixels = np.array(Image.open(io.BytesIO(png)).convert("RGB"))
    block = max(1, 256 // max(Y.shape))
    on_screen = cell_pixels(page, "pg.output")["colour"]
    np.testing.assert_array_equal(on_screen, signed_scale(Y).colours(Y))
    np.testing.assert_array_equal(pixels[::block, ::block], on_screen)


def test_the_playground_path_is_the_playground(page: Page, app_url: str) -> None:
    # Issue 8: /playground popped up "The page that you have requested does not seem to exist".
    open_playground(page, f"{app_url}/playground")
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    expect(page.get_by_text("does not seem to exist")).to_have_count(0)
    drag(page, "pg.paint", [(0, 2), (0, 3)])
    X = STRIPES.copy()
    X[0, 2:4] = 1.0
    wait_for_grid(page, "pg.output", corr2d(X, EDGE))
    expect(page.get_by_text("does not seem to exist")).to_have_count(0)
    expect_no_exception(page)


def test_the_output_follows_a_drag_before_python_answers(page: Page, app_url: str) -> None:
    """While the pointer is still down nothing has gone to Python: the output the browser draws then is its
    own preview, and it must be conv2d of the grid on screen with every setting (padding, stride,
    dilation, flip, bias) — the same numbers Python sends when the stroke ends."""
    rng = np.random.default_rng(7)
    X = rng.integers(0, 2, (7, 9)).astype(float)
    K = np.array([[0.5, -1.0, 0.0], [2.0, -1 / 3, 1.0]])
    state = share.PlaygroundState(X=X, K=K, mode="convolution", padding=(1, 2), stride=(1, 2),
                                  dilation=(2, 1), bias=-0.25)
    settings = {"padding": (1, 2), "stride": (1, 2), "dilation": (2, 1)}
    page.goto(f"{app_url}?{urlencode(share.encode_state(state))}")
    wait_for_grid(page, "pg.output", conv2d(X, K, **settings) - 0.25, timeout_ms=APP_COLD_MS)
    wait_for_script_end(page)

    before = grid_values(page, "pg.output")
    grid_canvas(page, "pg.paint").scroll_into_view_if_needed()
    points = cell_points(page, "pg.paint", [(1, 1), (1, 6)])
    page.mouse.move(*points[0])
    page.mouse.down()
    page.mouse.move(*points[1], steps=6)
    # The pointer is still down: nothing has been sent, yet the output already follows the drag.
    page.wait_for_function(f"(old) => {{ {FIND_GRID_JS}; const v = gridCanvas('pg.output')?.dataset.values; "
                           "return v && v !== old; }", arg=json.dumps(before.ravel().tolist()))
    explain = page.locator(".cl-panel[data-name='explain']")
    expect(explain).to_have_class(re.compile(r"\bcl-stale\b"))  # Python's explanation is behind: dimmed
    during = grid_values(page, "pg.output")
    page.mouse.up()
    wait_for_acknowledged(page, "pg.paint")
    painted = grid_values(page, "pg.paint")  # what the drag painted, as Python received it
    assert painted[1, 1:7].all() or painted.sum() > X.sum()
    # The browser's preview during the drag was the right answer for the grid it had painted by then
    # (the stroke's cells are the same at pointerup: a release paints nothing new).
    np.testing.assert_allclose(during, conv2d(painted, K, **settings) - 0.25, atol=1e-9)
    expect(explain).not_to_have_class(re.compile(r"\bcl-stale\b"))
    wait_for_grid(page, "pg.output", conv2d(painted, K, **settings) - 0.25)
    expect_no_exception(page)


def test_the_browsers_correlation_and_colour_range_are_the_cores(page: Page, app_url: str) -> None:
    """grid.js's `correlate` and `niceLimit` (the live preview) against convlab's on many random cases."""
    open_playground(page, app_url)
    url = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)"
                        ".find((n) => /grid\\.js(\\?|$)/.test(n))")
    assert url, "grid.js was not loaded"
    rng = np.random.default_rng(11)
    cases, wants = [], []
    for _ in range(60):
        H, W = (int(v) for v in rng.integers(1, 10, 2))
        h, w = (int(v) for v in rng.integers(1, 5, 2))
        pad = [int(v) for v in rng.integers(0, 3, 2)]
        stride = [int(v) for v in rng.integers(1, 4, 2)]
        dil = [int(v) for v in rng.integers(1, 3, 2)]
        flip = bool(rng.integers(2))
        bias = float(rng.normal())
        X, K = rng.normal(size=(H, W)), rng.normal(size=(h, w))
        op = conv2d if flip else corr2d
        try:
            Y = op(X, K, padding=tuple(pad), stride=tuple(stride), dilation=tuple(dil)) + bias
        except ValueError:
            Y = None  # no output fits: the browser must not preview either
        cases.append({"X": X.ravel().tolist(), "H": H, "W": W, "K": K.ravel().tolist(), "h": h, "w": w,
                      "spec": {"pad": pad, "stride": stride, "dilation": dil, "flip": flip, "bias": bias}})
        wants.append(Y)
    got = page.evaluate("""async ([url, cases]) => {
      const m = await import(url);
      return cases.map((c) => {
        const Y = m.correlate({rows: c.H, cols: c.W, grid: Float64Array.from(c.X)},
                              {rows: c.h, cols: c.w, grid: Float64Array.from(c.K)}, c.spec);
        return Y && {rows: Y.rows, cols: Y.cols, values: Array.from(Y.values)};
      });
    }""", [url, cases])
    for Y, g in zip(wants, got, strict=True):
        if Y is None:
            assert g is None
        else:
            assert (g["rows"], g["cols"]) == Y.shape
            np.testing.assert_allclose(np.reshape(g["values"], Y.shape), Y, rtol=1e-12, atol=1e-12)
    tops = [0.0, 1.0, 0.999, 1.2, 7.0, 8.01, 1e-7, 0.0123, 123456.0, 59.9999, 1e300] + \
        [float(v) for v in rng.lognormal(0, 4, 40)]
    limits = page.evaluate("async ([url, tops]) => { const m = await import(url); "
                           "return tops.map((t) => m.niceLimit(t)); }", [url, tops])
    assert limits == [nice_limit(t) for t in tops]


def test_the_browser_applies_pythons_patches_as_python_does(page: Page, app_url: str) -> None:
    """grid.js's `applyPatch` on every pair of versions of a group, against the whole data Python sends."""
    from grid_versions import group_versions

    from ui.grid import _dumps, _wire, diff

    open_playground(page, app_url)
    url = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)"
                        ".find((n) => /grid\\.js(\\?|$)/.test(n))")
    wires = [_wire(v) for v in group_versions()]
    cases = []
    for old in wires:
        for new in wires:
            sets, gone = diff(old, new)
            cases.append([_dumps(old), _dumps({"v": 2, "base": 1, "set": sets, "del": gone}), _dumps(new)])
    results = page.evaluate("""async ([url, cases]) => {
      const m = await import(url);
      const sorted = (x) => (Array.isArray(x) ? x.map(sorted) : x && typeof x === "object"
        ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sorted(x[k])])) : x);
      const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
      return cases.map(([old, patch, whole]) => {
        const got = m.applyPatch({...JSON.parse(old), v: 1}, JSON.parse(patch));
        return same(got, {...JSON.parse(whole), v: 2});
      });
    }""", [url, cases])
    assert results == [True] * len(cases)
    # "Your stroke": the values come from the stroke the browser kept, or the patch cannot be applied.
    refs = page.evaluate("""async (url) => {
      const m = await import(url);
      const patch = {v: 2, base: 1, set: {"panels/0/grids/0/values": {stroke: ["x", "me", 3]}}};
      const old = {v: 1, panels: [{grids: [{values: [0, 0]}]}]};
      const kept = (ref) => (ref[2] === 3 ? [1, 2] : null);
      return [m.applyPatch(old, patch, kept).panels[0].grids[0].values, m.applyPatch(old, patch),
              old.panels[0].grids[0].values];
    }""", url)
    assert refs == [[1, 2], None, [0, 0]]


def _readers(X_shape: tuple[int, int], K: np.ndarray, settings: dict, flip: bool, r: int, c: int) -> list:
    """Brute force: every output cell whose window reads X[r, c], with the weight it uses there."""
    probe = np.zeros(X_shape)
    probe[r, c] = 1.0
    Kf = K[::-1, ::-1] if flip else K
    found = []
    for a in range(K.shape[0]):
        for b in range(K.shape[1]):
            only = np.zeros_like(K)
            only[a, b] = 1.0  # one tap at a time: which output cells multiply X[r, c] by Kf[a, b]
            Y = corr2d(probe, only, **settings)
            found += [[int(i), int(j), float(Kf[a, b])] for i, j in zip(*np.nonzero(Y), strict=True)]
    return sorted(found)


def test_hovering_shows_both_directions_of_dependency(page: Page, app_url: str) -> None:
    """Hover an input cell: the output cells that read it are outlined with the weight used there; hover
    an output cell: the window it reads is outlined on the input, padding included."""
    X = np.zeros((6, 7))
    K = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    state = share.PlaygroundState(X=X, K=K, mode="convolution", padding=(1, 1), stride=(1, 2))
    settings = {"padding": (1, 1), "stride": (1, 2)}
    page.goto(f"{app_url}?{urlencode(share.encode_state(state))}")
    wait_for_grid(page, "pg.output", conv2d(X, K, **settings), timeout_ms=APP_COLD_MS)
    wait_for_script_end(page)

    for r, c in [(2, 3), (0, 0), (5, 6)]:
        page.mouse.move(*cell_points(page, "pg.paint", [(r, c)])[0])
        page.wait_for_function(f"(name) => {{ {FIND_GRID_JS}; return gridCanvas(name)?.dataset.marks; }}",
                               arg="pg.output")
        marks = sorted(json.loads(grid_data(page, "pg.output")["marks"]))
        assert marks == _readers(X.shape, K, settings, True, r, c), (r, c)
    page.mouse.move(*cell_points(page, "pg.output", [(0, 1)])[0])
    window = [[-1, 1], [-1, 2], [-1, 3], [0, 1], [0, 2], [0, 3]]  # row -1 is the zero padding
    wait_for_grid_attr(page, "pg.paint", "taps", json.dumps(window, separators=(",", ":")))
    expect_no_exception(page)


def test_the_window_slides_plays_pauses_and_scrubs(page: Page, app_url: str) -> None:
    open_playground(page, app_url)
    bar = page.locator(".cl-anim")
    play = bar.locator(".cl-anim-play")
    play.click()
    # It moves: the output fills in cell by cell and the picked cell follows.
    page.wait_for_function(f"() => {{ {FIND_GRID_JS}; "
                           "return Number(gridCanvas('pg.output')?.dataset.shown) >= 3; }")
    expect(play).to_have_text(re.compile("Pause"))
    play.click()  # pause
    expect(bar).to_have_attribute("data-playing", "0")
    k = int(bar.get_attribute("data-k"))
    page.wait_for_timeout(1200)
    assert int(bar.get_attribute("data-k")) == k  # paused: it stays
    data = grid_data(page, "pg.output")
    assert int(data["shown"]) == k + 1
    assert data["picked"] == f"{k // 7},{k % 7}"
    # Scrubbing lands on a cell: picked there, explained by Python, the cells after it blank.
    scrub = bar.locator(".cl-anim-scrub")
    scrub.evaluate("(el) => { el.value = '19'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    wait_for_grid_attr(page, "pg.output", "picked", "2,5")
    wait_for_grid_attr(page, "pg.output", "shown", "20")
    expect(page.get_by_text("Explain Y[2, 5]")).to_be_visible()
    bar.locator(".cl-anim-step").click()
    wait_for_grid_attr(page, "pg.output", "picked", "2,6")
    expect(bar.locator(".cl-anim-text")).to_have_text("cell 21 of 42: Y[2, 6]")
    # A click on an output cell leaves the animation: the whole output shows again.
    click_cell(page, "pg.output", 4, 1)
    wait_for_grid_attr(page, "pg.output", "shown", "")
    wait_for_grid(page, "pg.output", corr2d(STRIPES, EDGE))
    expect_no_exception(page)
