"""The Playground in a real Chromium, checked against `convlab` as the learner would check it by eye.

Paint the input, pick kernel presets and settings, click an output cell, reopen a share link,
upload a picture: each test reads what is on screen (the canvas pixels, the heatmap's numbers in
Plotly's trace, the explanation's text) and compares it with `corr2d`/`conv2d` on the same grid.
"""

from __future__ import annotations

import dataclasses
import io
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from browser_helpers import (
    APP_COLD_MS,
    canvas_levels,
    chart_array,
    chart_shape_cells,
    choose_option,
    click_chart_point,
    drag,
    expect_no_exception,
    grid_canvas,
    keyed,
    new_app_context,
    read_grid_view,
    set_number,
    wait_for_canvas,
    wait_for_canvas_attribute,
    wait_for_canvas_outline,
    wait_for_chart,
    wait_for_code,
    wait_for_grid_view,
    wait_for_trace_close,
)
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from convlab import conv2d, corr2d
from convlab.images import image_preset
from convlab.kernels import kernel_preset
from ui import share

STRIPES = image_preset("stripes")  # the Playground opens on the lesson's 6x8 stripes ...
EDGE = kernel_preset("edge")  # ... and its [1, -1] kernel


@pytest.fixture
def page(tab: Page) -> Page:
    """The tests here share one browser context (conftest's `tabs`), a tab each."""
    return tab


def open_playground(page: Page, url: str) -> Locator:
    """Open the Playground; return the input grid's canvas once the output heatmap is drawn."""
    page.goto(url)
    wait_for_chart(page, "pg.output", APP_COLD_MS)
    canvas = grid_canvas(page)
    canvas.wait_for()
    expect_no_exception(page)
    return canvas


def heading(page: Page, starts: str) -> Locator:
    """The subheader that starts with `starts` ("Output Y", "Kernel K", ...)."""
    return page.get_by_test_id("stHeading").filter(has_text=starts)


def shown_grid(canvas: Locator) -> np.ndarray:
    """The input grid as the canvas draws it: gray 0..255 for 0..1 (the pages' vmin/vmax for 0/1 grids)."""
    return canvas_levels(canvas) / 255.0


def explanation(X: np.ndarray, K: np.ndarray, i: int, j: int, *, padding: int = 0, bias: float = 0.0) -> str:
    """The `Y[i, j] = ...` text for stride 1, dilation 1, computed here from the padded input."""
    h, w = K.shape
    window = np.pad(X, padding)[i : i + h, j : j + w]
    rows, cols = np.arange(i, i + h) - padding, np.arange(j, j + w) - padding
    inside = ((rows >= 0) & (rows < X.shape[0])).sum() * ((cols >= 0) & (cols < X.shape[1])).sum()
    outside = int(h * w - inside)
    terms = " + ".join(f"{x:g}·{k:g}" for x, k in zip(window.ravel(), K.ravel(), strict=True))
    total = float((window * K).sum())
    note = f"  ({outside} taps fall in the zero padding)" if outside else ""
    pad = " " * len(f"Y[{i}, {j}]")
    return f"Y[{i}, {j}] = {terms}\n{pad} = {total:g}\n{pad} + bias {bias:g}\n{pad} = {total + bias:g}{note}"


def window_mask(shape: tuple[int, int], rows: range, cols: range) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[max(rows.start, 0) : rows.stop, max(cols.start, 0) : cols.stop] = True
    return mask


def test_painting_the_input_updates_the_output_numbers(page: Page, app_url: str) -> None:
    canvas = open_playground(page, app_url)
    output = keyed(page, "pg.output")
    wait_for_trace_close(page, output, corr2d(STRIPES, EDGE))

    diagonal = [(1, 2), (2, 3), (3, 4), (4, 5)]
    drag(page, canvas, [diagonal[0], diagonal[-1]])
    painted = STRIPES.copy()
    painted[tuple(np.transpose(diagonal))] = 1.0
    wait_for_canvas(page, canvas, painted * 255)
    wait_for_trace_close(page, output, corr2d(painted, EDGE))

    drag(page, canvas, [(5, 0), (5, 7)], button="right")  # right-drag erases a whole row
    painted[5, :] = 0.0
    wait_for_canvas(page, canvas, painted * 255)
    wait_for_canvas_attribute(page, canvas, "pending", "0")
    wait_for_trace_close(page, output, corr2d(painted, EDGE))
    # The numbers on screen are corr2d of the grid on screen.
    np.testing.assert_array_equal(chart_array(output), corr2d(shown_grid(canvas), EDGE))
    expect(heading(page, "Output Y")).to_have_text("Output Y · 6×7")
    expect_no_exception(page)


def test_kernel_preset_and_settings_drive_shape_and_values(page: Page, app_url: str) -> None:
    open_playground(page, app_url)
    output = keyed(page, "pg.output")
    sobel = kernel_preset("sobel_x")

    choose_option(page, "pg.kernel_preset", "Sobel x")
    expect(heading(page, "Kernel K")).to_have_text("Kernel K · 3×3")
    expect(heading(page, "Output Y")).to_have_text("Output Y · 4×6")
    wait_for_trace_close(page, output, corr2d(STRIPES, sobel))

    steps = [  # (number input, value, shape after, settings so far)
        ("pg.pad_r", 1, (6, 8), {"padding": 1}),
        ("pg.stride_r", 2, (3, 4), {"padding": 1, "stride": 2}),
        ("pg.dil_r", 2, (2, 3), {"padding": 1, "stride": 2, "dilation": 2}),
    ]
    for key, value, (Ho, Wo), settings in steps:
        set_number(page, key, value)
        expect(heading(page, "Output Y")).to_have_text(f"Output Y · {Ho}×{Wo}")
        expected = corr2d(STRIPES, sobel, **settings)
        assert expected.shape == (Ho, Wo)
        wait_for_trace_close(page, output, expected)
    # The formula under the heading uses the same numbers: ⌊(6 + 2·1 − 2·(3 − 1) − 1) / 2⌋ + 1 = 2.
    expect(page.get_by_text("H′ = ⌊(6 + 2·1 − 2·(3 − 1) − 1) / 2⌋ + 1 = 2")).to_be_visible()

    keyed(page, "pg.mode").get_by_role("radio", name="Convolution").click()
    wait_for_trace_close(page, output, conv2d(STRIPES, sobel, padding=1, stride=2, dilation=2))
    # Sobel x flipped is -Sobel x: convolution shows the negated edges, which are never clipped.
    assert (chart_array(output) < 0).any() and (chart_array(output) > 0).any()
    expect_no_exception(page)


def test_clicking_an_output_cell_explains_it_and_moves_the_window(page: Page, app_url: str) -> None:
    canvas = open_playground(page, app_url)
    output = keyed(page, "pg.output")
    sobel = kernel_preset("sobel_x")
    choose_option(page, "pg.kernel_preset", "Sobel x")
    set_number(page, "pg.pad_r", 1)
    wait_for_trace_close(page, output, corr2d(STRIPES, sobel, padding=1))
    wait_for_code(page, explanation(STRIPES, sobel, 0, 0, padding=1))

    click_chart_point(page, wait_for_chart(page, "pg.output"), 5, 2)  # column 5, row 2
    wait_for_code(page, explanation(STRIPES, sobel, 2, 5, padding=1))
    # Output (2, 5) with padding 1 reads input rows 1..3 and columns 4..6.
    wait_for_canvas_outline(page, canvas, window_mask(STRIPES.shape, range(1, 4), range(4, 7)))
    assert chart_shape_cells(output, "marker") == [(2, 5)]
    expect(keyed(page, "pg.cell_i").locator("input")).to_have_value("2")
    expect(keyed(page, "pg.cell_j").locator("input")).to_have_value("5")
    # The products panel shows window × kernel for that cell.
    window = np.pad(STRIPES, 1)[2:5, 5:8]
    wait_for_grid_view(page, "pg.ex_p", window * sobel)

    click_chart_point(page, wait_for_chart(page, "pg.output"), 7, 5)  # the bottom-right corner
    wait_for_code(page, explanation(STRIPES, sobel, 5, 7, padding=1))  # 5 taps in the padding
    wait_for_canvas_outline(page, canvas, window_mask(STRIPES.shape, range(4, 6), range(6, 8)))
    expect_no_exception(page)


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
    values = {key: keyed(page, key).locator("input").input_value() for key in
              ("pg.pad_r", "pg.stride_r", "pg.dil_r", "pg.bias", "pg.cell_i", "pg.cell_j")}
    values["mode"] = keyed(page, "pg.mode").locator('[role="radio"][aria-checked="true"]').inner_text()
    return values


def test_share_link_restores_the_whole_state_in_a_fresh_browser(
    page: Page, app_url: str, browser: Browser
) -> None:
    canvas = open_playground(page, app_url)
    output = keyed(page, "pg.output")
    choose_option(page, "pg.kernel_preset", "Sobel y")
    keyed(page, "pg.mode").get_by_role("radio", name="Convolution").click()
    set_number(page, "pg.pad_r", 1)
    set_number(page, "pg.stride_r", 2)
    set_number(page, "pg.bias", 0.5)
    drag(page, canvas, [(0, 0), (0, 7)], button="right")
    X = STRIPES.copy()
    X[0, :] = 0.0
    K = kernel_preset("sobel_y")
    Y = conv2d(X, K, padding=1, stride=2) + 0.5
    wait_for_trace_close(page, output, Y)
    click_chart_point(page, wait_for_chart(page, "pg.output"), 2, 1)  # column 2, row 1
    expect(keyed(page, "pg.cell_j").locator("input")).to_have_value("2")

    want = share.PlaygroundState(X=X, K=K, mode="convolution", padding=(1, 1), stride=(2, 2), bias=0.5,
                                 cell=(1, 2))
    wait_for_link(page, want)
    link = page.evaluate("() => location.href")
    before = {
        "settings": _settings(page),
        "z": chart_array(output),
        "kernel": read_grid_view(page, "pg.ex_k"),
        "grid": canvas_levels(canvas),
        "code": page.get_by_test_id("stCode").first.inner_text(),
    }

    context = new_app_context(browser)  # a fresh browser: no cache, no cookies, no session
    try:
        other = context.new_page()
        other_canvas = open_playground(other, link)
        wait_for_trace_close(other, keyed(other, "pg.output"), Y)
        wait_for_grid_view(other, "pg.ex_k", before["kernel"])
        wait_for_canvas(other, other_canvas, before["grid"])
        expect(heading(other, "Kernel K")).to_have_text("Kernel K · 3×3")
        assert _settings(other) == before["settings"]
        assert before["settings"] == {"pg.pad_r": "1", "pg.stride_r": "2", "pg.dil_r": "1", "pg.bias": "0.5",
                                      "pg.cell_i": "1", "pg.cell_j": "2", "mode": "Convolution"}
        np.testing.assert_array_equal(chart_array(keyed(other, "pg.output")), before["z"])
        assert other.get_by_test_id("stCode").first.inner_text() == before["code"]
        expect_no_exception(other)
    finally:
        context.close()


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_a_picture_and_a_non_picture(page: Page, app_url: str) -> None:
    canvas = open_playground(page, app_url)
    output = keyed(page, "pg.output")
    # A 12x16 picture of 2x2 blocks: shrunk to the 6x8 grid, each cell is one block's gray.
    levels = np.zeros((6, 8), dtype=np.uint8)
    levels[1:5, 1:3] = 255
    levels[1:5, 5:7] = 128
    picture = np.kron(levels, np.ones((2, 2), dtype=np.uint8))

    page.get_by_test_id("stExpander").filter(has_text="Upload a picture").locator("summary").click()
    uploader = keyed(page, "pg.upload").locator('input[type="file"]')
    uploader.set_input_files(files=[{"name": "blocks.png", "mimeType": "image/png", "buffer": _png(picture)}])
    wait_for_canvas(page, canvas, levels)
    X = levels / 255.0
    wait_for_trace_close(page, output, corr2d(X, EDGE))

    text_file = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a picture"}
    uploader.set_input_files(files=[text_file])
    alert = page.get_by_test_id("stAlert").filter(has_text="notes.txt")
    expect(alert).to_contain_text("could not read this file as a picture")
    expect(alert).to_contain_text("Your grid is unchanged")
    wait_for_canvas(page, canvas, levels)

    # The app still works: Invert flips the grid and the output follows.
    keyed(page, "pg.tf.invert").get_by_role("button").click()
    wait_for_canvas(page, canvas, 255 - levels)
    wait_for_trace_close(page, output, corr2d(1.0 - X, EDGE), atol=1e-12)
    expect_no_exception(page)
