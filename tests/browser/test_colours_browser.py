"""One colour language on every page, read from the canvas pixels in a real Chromium.

Issue 8: each small grid picked its own range, so 0 showed as dark red in the learned kernel, dark blue
in the gradient and mid-gray in a painted target. Now pictures (an input X, a window of it) are gray on
0..1 (0 black, 1 white) and every other grid is signed: a diverging scale symmetric around 0, so a 0
cell is exactly the neutral rgb(247, 247, 247), positives red and negatives blue; a grid with a legend
is coloured exactly by the range its legend states; grids that are compared share one range.

Each test puts a page in a state where its grids hold zeros, then checks every grid on the page
(the list of grids is checked too, so a new grid cannot slip past).
"""

from __future__ import annotations

import numpy as np
import pytest
from browser_helpers import (
    APP_COLD_MS,
    cell_pixels,
    choose_option,
    click_button,
    click_cell,
    drag,
    grid,
    grid_names,
    grid_values,
    keyed,
    metric_value,
    pixel_in_cell,
    revealed,
    set_number,
    wait_for_acknowledged,
    wait_for_grid,
    wait_for_script_end,
)
from playwright.sync_api import Page, expect

from convlab import conv2d, corr2d
from convlab.colour import NEUTRAL, Scale
from convlab.images import image_preset
from convlab.kernels import kernel_preset

STRIPES = image_preset("stripes")
EDGE = kernel_preset("edge")
SOBEL_X = kernel_preset("sobel_x")
TOLERANCE = 1  # colour channels may differ by 1 from the scale's rounding


@pytest.fixture
def page(tab: Page) -> Page:
    return tab


def cell_colours(page: Page, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values (H, W), colours (H, W, 3)) of the grid's own cells (its padding left out)."""
    values = grid_values(page, name)
    assert values is not None, f"{name} is not drawn"
    pixels = cell_pixels(page, name)
    ph, pw = pixels["pad"]
    H, W = values.shape
    return values, pixels["colour"][ph : ph + H, pw : pw + W]


def legend_scale(page: Page, name: str) -> Scale | None:
    """The signed scale the grid's legend states ("−4 [bar] +4"), or None when it has no legend."""
    spans = grid(page, name).locator("div.cl-legend > span").all_inner_texts()
    if len(spans) < 3:
        return None
    hi = float(spans[2].replace("−", "-").replace("+", ""))
    return Scale("signed", -hi, hi)


def check_image(page: Page, name: str) -> int:
    """A picture: each cell gray round(255 v) on 0..1; returns how many cells were 0 or 1."""
    values, colours = cell_colours(page, name)
    want = np.rint(np.clip(values, 0, 1) * 255).astype(int)
    np.testing.assert_allclose(colours, np.repeat(want[..., None], 3, axis=2), atol=TOLERANCE,
                               err_msg=f"{name}: a picture is gray, 0 black and 1 white")
    return int(((values == 0) | (values == 1)).sum())


def check_signed(page: Page, name: str) -> int:
    """A signed grid: 0 neutral, positive red, negative blue, and the legend's range exactly; returns
    how many 0 cells it has."""
    values, colours = cell_colours(page, name)
    c = colours.astype(int)
    zero = values == 0
    np.testing.assert_allclose(c[zero], np.broadcast_to(NEUTRAL, c[zero].shape), atol=TOLERANCE,
                               err_msg=f"{name}: 0 is not the neutral colour")
    assert (c[values > 0][:, 0] > c[values > 0][:, 2]).all(), f"{name}: a positive cell is not red"
    assert (c[values < 0][:, 2] > c[values < 0][:, 0]).all(), f"{name}: a negative cell is not blue"
    scale = legend_scale(page, name)
    if scale is not None:
        np.testing.assert_allclose(c, scale.colours(values).astype(int), atol=TOLERANCE,
                                   err_msg=f"{name}: the colours are not the legend's range {scale}")
    return int(zero.sum())


def check_page(page: Page, images: set[str], signed: set[str], *, zeros_in: set[str],
               hidden: set[str] = frozenset()) -> None:
    """Every grid on the page is one of `images` or `signed` (and all of those are there); each is
    coloured by its policy (except the `hidden` ones, in a tab not shown); the grids in `zeros_in`
    hold a 0 cell (so the neutral colour was checked)."""
    wait_for_script_end(page)
    names = set(grid_names(page))
    assert names == images | signed, f"grids on the page: {sorted(names)}"
    for name in sorted(images):
        check_image(page, name)
    for name in sorted(signed - hidden):
        zeros = check_signed(page, name)
        if name in zeros_in:
            assert zeros > 0, f"{name} was meant to hold a 0 cell"


def same_colours(page: Page, name: str, reference: str) -> None:
    """Each value of grid `name` has the colour it has in `reference` (compared grids share a range)."""
    values, colours = cell_colours(page, name)
    ref_values, ref_colours = cell_colours(page, reference)
    pairs = zip(ref_values.ravel(), ref_colours.reshape(-1, 3), strict=True)
    lookup = {float(v): tuple(col) for v, col in pairs}
    for v, col in zip(values.ravel(), colours.reshape(-1, 3), strict=True):
        if float(v) in lookup:
            assert np.abs(np.array(col, dtype=int) - lookup[float(v)]).max() <= TOLERANCE, (
                f"{v:g} is {tuple(col)} in {name} but {lookup[float(v)]} in {reference}")


def same_legend(page: Page, a: str, b: str) -> None:
    assert legend_scale(page, a) == legend_scale(page, b) is not None, f"{a} and {b} have different ranges"


def test_playground_colours(page: Page, app_url: str) -> None:
    page.goto(app_url)
    wait_for_grid(page, "pg.output", corr2d(STRIPES, EDGE), timeout_ms=APP_COLD_MS)
    choose_option(page, "pg.kernel_preset", "Sobel x")
    with revealed(page, "pg.mode") as mode:
        mode.get_by_text("Convolution", exact=True).click()
        wait_for_script_end(page)
    wait_for_grid(page, "pg.output", conv2d(STRIPES, SOBEL_X))
    wait_for_grid(page, "pg.kflipped", SOBEL_X[::-1, ::-1])
    wait_for_grid(page, "pg.ex_p", STRIPES[:3, :3] * SOBEL_X[::-1, ::-1])
    signed = {"pg.kedit", "pg.kflipped", "pg.output", "pg.ex_k", "pg.ex_p"}
    check_page(page, {"pg.paint", "pg.ex_w"}, signed, zeros_in=signed)
    # The window is the input's gray, the explained kernel the kernel grid's colours.
    same_colours(page, "pg.ex_w", "pg.paint")
    same_colours(page, "pg.ex_k", "pg.kedit")

    # A value outside 0..1 in a picture is drawn at the nearest end and marked with a gold corner.
    set_number(page, "pg.brush", 2)
    expect(page.get_by_test_id("stPopover").filter(has_text="Brush:")).to_contain_text("Brush: 2")
    wait_for_script_end(page)
    drag(page, "pg.paint", [(3, 3)])
    X = STRIPES.copy()
    X[3, 3] = 2.0
    wait_for_grid(page, "pg.output", conv2d(X, SOBEL_X))
    wait_for_acknowledged(page, "pg.paint")
    check_image(page, "pg.paint")  # 2 is drawn white
    corner = pixel_in_cell(page, "pg.paint", 3, 3, 0.93, 0.07)
    assert corner[0] > 200 and 130 < corner[1] < 215 and corner[2] < 90, f"no gold corner: {corner}"
    plain = pixel_in_cell(page, "pg.paint", 3, 4, 0.93, 0.07)  # a 0 cell beside it has none
    assert plain == (0, 0, 0), plain


def test_lesson_colours(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/lesson")
    wait_for_grid(page, "l1.Y = corr2d(X, K)", [[19, 25], [37, 43]], timeout_ms=APP_COLD_MS)
    steps = {  # step -> images, signed grids, grids holding a 0 (each step is shown alone)
        1: (set(), {"l1.X", "l1.K", "l1.Y = corr2d(X, K)"}, {"l1.X", "l1.K"}),
        2: (set(), {"l2.kernel", "l2.output"}, set()),
        3: (set(), {"l3.K flipped", "l3.corr2d(X, K)", "l3.conv2d(X, K)", "l3.corr2d(X, K flipped)"},
            {"l3.K flipped"}),
        4: ({"l4a.X"}, {"l4a.K", "l4.Y = corr2d(X, K)", "l4.fields.Z = corr2d(Y, K)",
                        "l4.fields.cells of Y that Z[0, j] reads", "l4.fields.its receptive field in X"},
            {"l4.Y = corr2d(X, K)", "l4.fields.cells of Y that Z[0, j] reads"}),
        5: ({"l5a.X.T"}, {"l5a.K", "l5b.corr2d(X.T, K)", "l5b.K.T = [[1], [−1]]", "l5b.corr2d(X.T, K.T)"},
            {"l5b.corr2d(X.T, K)", "l5b.corr2d(X.T, K.T)"}),
        6: (set(), {"l6.recovered start", "l6.learned", "l6.target [1, −1]"}, set()),
    }
    own = {"l6.own.initial", "l6.own.learned", "l6.own.target [1, −1]"}  # in a tab not shown yet
    for step, (images, signed, zeros) in steps.items():
        click_button(page, f"l.step{step}")
        expect(page.get_by_role("heading", level=2).first).to_contain_text(f"{step} · ")
        wait_for_script_end(page)
        if step == 3:
            set_number(page, "l3.guess", 5)
            wait_for_grid(page, "l3.conv2d(X, K)")
        if step == 4:
            keyed(page, "l4.guess.choices").get_by_role(
                "button", name="In columns 1 and 5: the two vertical edges").click()
            wait_for_grid(page, "l4.Y = corr2d(X, K)")
            page.get_by_text("Feature map and receptive field").click()  # its grids are drawn once open
        if step == 5:
            keyed(page, "l5.guess.choices").get_by_role("button", name="Nothing: all zeros").click()
            wait_for_grid(page, "l5b.corr2d(X.T, K)", np.zeros((8, 5)))
        if step == 6:
            wait_for_grid(page, "l6.learned")
            signed |= own
        check_page(page, images, signed, zeros_in=zeros, hidden=own if step == 6 else set())
        # Compared grids share one range.
        if step == 3:
            same_legend(page, "l3.corr2d(X, K)", "l3.conv2d(X, K)")
        if step == 6:
            same_legend(page, "l6.learned", "l6.target [1, −1]")
            same_legend(page, "l6.recovered start", "l6.learned")


def test_train_colours(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/train")
    wait_for_grid(page, "tr.pred", timeout_ms=APP_COLD_MS)
    wait_for_script_end(page)
    choose_option(page, "tr.init", "zeros")  # the learned kernel and the prediction start at 0
    with revealed(page, "tr.reveal") as reveal:
        reveal.get_by_text("Reveal the hidden kernel").click()
        wait_for_script_end(page)
    wait_for_grid(page, "tr.learned", np.zeros((1, 2)))
    wait_for_grid(page, "tr.pred", np.zeros((6, 7)))
    wait_for_grid(page, "tr.answer", EDGE)
    check_page(page, {"tr.paint_x"}, {"tr.learned", "tr.answer", "tr.target_fig", "tr.pred"},
               zeros_in={"tr.learned", "tr.target_fig", "tr.pred"})
    same_legend(page, "tr.learned", "tr.answer")
    same_legend(page, "tr.target_fig", "tr.pred")

    click_button(page, "tr.step")
    expect(metric_value(page, "Epoch")).to_have_text("1")
    wait_for_grid(page, "tr.grad")
    check_page(page, {"tr.paint_x"}, {"tr.learned", "tr.grad", "tr.answer", "tr.target_fig", "tr.pred"},
               zeros_in={"tr.target_fig", "tr.pred"})
    same_legend(page, "tr.learned", "tr.answer")
    same_legend(page, "tr.target_fig", "tr.pred")

    # A typed kernel with a 0 in it: the editor and the true kernel show it neutral.
    with revealed(page, "tr.target") as target:
        target.get_by_text("A kernel I type in").click()
        wait_for_script_end(page)
    wait_for_grid(page, "tr.kedit")
    click_cell(page, "tr.kedit", 0, 0)
    editor = grid(page, "tr.kedit").locator("input.cl-editor")
    expect(editor).to_be_visible()
    editor.fill("0")
    editor.press("Enter")
    wait_for_acknowledged(page, "tr.kedit")
    wait_for_grid(page, "tr.answer", np.array([[0.0, EDGE[0, 1]]]))  # the rerun that follows the ack
    wait_for_script_end(page)
    for name in ("tr.kedit", "tr.answer"):
        assert check_signed(page, name) > 0, name

    # A painted target starts as the lesson's edge map (zeros in it) and is signed too.
    with revealed(page, "tr.target") as target:
        target.get_by_text("A target output I paint").click()
        wait_for_script_end(page)
    wait_for_grid(page, "tr.paint_y")
    wait_for_script_end(page)
    assert check_signed(page, "tr.paint_y") > 0
    check_signed(page, "tr.target_fig")
