"""The pure text helpers of ui/widgets.py, checked against strings written out by hand.

These are the sums the Playground prints under "Explain a cell" and the numbers on every grid; the
AppTest files exercise them through the pages, this file pins their exact text (mutation testing
found the pages' checks let a changed digit, sign or separator through).
"""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from convlab import explain_cell
from ui.widgets import app_icon, app_icon_url, cell_text, explain_lines


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (0.0, 2, "0"),
        (-0.0, 2, "0"),
        (-0.001, 2, "0"),  # rounds to "-0.00": never shown as "-0"
        (0.004, 2, "0"),
        (2.0, 2, "2"),
        (1.5, 2, "1.5"),
        (1.25, 2, "1.25"),
        (-1.25, 2, "−1.25"),  # typographic minus
        (10.0, 2, "10"),  # trailing zeros of the decimals only, never of the integer part
        (100.0, 2, "100"),
        (0.125, 2, "0.12"),  # Python's round-half-even on the binary value
        (0.127, 2, "0.13"),
        (99999.99, 2, "99999.99"),
        (10.0, 0, "10"),  # no decimals: nothing to strip
        (2.6, 0, "3"),
        (0.12345, 4, "0.1235"),
        (0.5, 4, "0.5"),
        (1e5, 2, "1.0e5"),  # from 100 000 on: one decimal of scientific notation, no "+0"
        (123456.0, 2, "1.2e5"),
        (-250000.0, 2, "−2.5e5"),
        (1e15, 2, "1.0e15"),
        (-1e15, 2, "−1.0e15"),
    ],
)
def test_number_text_writes_numbers_as_the_grids_do(value, decimals, text):
    assert cell_text(value, decimals) == text


def test_number_text_defaults_to_two_decimals():
    assert cell_text(3.14159) == "3.14"
    assert cell_text(-2.71828) == "−2.72"


def lesson_cell(**kw):
    X = np.arange(9.0).reshape(3, 3)
    K = np.array([[0.0, 1.0], [2.0, 3.0]])
    return explain_cell(X, K, 0, 0, **kw)


def test_the_lessons_cell_is_written_out_exactly():
    # Y[0, 0] = 0*0 + 1*1 + 3*2 + 4*3 = 19 (the lesson's worked example).
    assert explain_lines(lesson_cell()) == [
        ("Y[0, 0] = 0·0 + 1·1 + 3·2 + 4·3", False),
        ("= 19", True),
    ]


def test_a_bias_is_added_on_the_value_line_and_negative_factors_get_parentheses():
    assert explain_lines(lesson_cell(bias=1.5))[1] == ("= 19 + bias 1.5 = 20.5", True)
    assert explain_lines(lesson_cell(bias=-2.0))[1] == ("= 19 + bias (−2) = 17", True)
    e = explain_cell(np.array([[-1.0, 2.0], [3.0, -4.0]]), np.array([[1.0, -1.0], [-0.5, 2.0]]), 0, 0)
    # -1*1 + 2*(-1) + 3*(-0.5) + (-4)*2 = -12.5
    assert explain_lines(e) == [
        ("Y[0, 0] = (−1)·1 + 2·(−1) + 3·(−0.5) + (−4)·2", False),
        ("= −12.5", True),
    ]


def test_other_cells_name_their_own_coordinates():
    X = np.arange(9.0).reshape(3, 3)
    K = np.array([[0.0, 1.0], [2.0, 3.0]])
    lines = explain_lines(explain_cell(X, K, 1, 0))
    # Y[1, 0] = 3*0 + 4*1 + 6*2 + 7*3 = 37
    assert lines == [("Y[1, 0] = 3·0 + 4·1 + 6·2 + 7·3", False), ("= 37", True)]
    assert explain_lines(explain_cell(X, K, 0, 1))[0] == ("Y[0, 1] = 1·0 + 2·1 + 4·2 + 5·3", False)


def test_rounded_numbers_are_marked_and_explained():
    X = np.array([[0.123, 1.0], [1.0, 1.0]])
    K = np.ones((2, 2))
    lines = explain_lines(explain_cell(X, K, 0, 0))
    assert lines == [
        ("Y[0, 0] = 0.12·1 + 1·1 + 1·1 + 1·1", False),
        ("≈ 3.12", True),
        ("Numbers are rounded to 2 decimals as in the grids; hover a cell for 4 digits.", False),
    ]
    biased = explain_lines(explain_cell(X, K, 0, 0, bias=0.5))
    assert biased[1] == ("≈ 3.12 + bias 0.5 ≈ 3.62", True)


def test_a_value_that_only_looks_round_is_still_marked_rounded():
    # 1 + 1e-9 prints as "1" but is not 1: the sum is not exact as written.
    X = np.array([[1.0 + 1e-9]])
    lines = explain_lines(explain_cell(X, np.ones((1, 1)), 0, 0))
    assert lines[1] == ("≈ 1", True)
    assert len(lines) == 3


def test_float_noise_below_a_trillionth_still_counts_as_exact():
    # 0.1 + 0.2 is 0.30000000000000004 in binary: the grids' 0.3 is the number, not a rounding.
    X = np.array([[0.1 + 0.2]])
    lines = explain_lines(explain_cell(X, np.ones((1, 1)), 0, 0))
    assert lines == [("Y[0, 0] = 0.3·1", False), ("= 0.3", True)]


def test_padded_taps_are_counted():
    X = np.arange(1.0, 10.0).reshape(3, 3)
    K = np.ones((3, 3))
    lines = explain_lines(explain_cell(X, K, 0, 0, padding=1))
    # The corner cell with padding 1 reads the 2x2 top-left block: 1 + 2 + 4 + 5 = 12; 5 taps are padding.
    assert lines[0] == ("Y[0, 0] = 0·1 + 0·1 + 0·1 + 0·1 + 1·1 + 2·1 + 0·1 + 4·1 + 5·1", False)
    assert lines[1] == ("= 12", True)
    assert lines[2] == ("5 of the 9 taps fall in the zero padding (hatched on X): they add 0", False)
    assert len(lines) == 3


def test_long_sums_are_cut_after_sixteen_products():
    X = np.ones((5, 5))
    K = np.full((5, 5), 2.0)
    lines = explain_lines(explain_cell(X, K, 0, 0))
    assert lines[0] == ("Y[0, 0] = " + " + ".join(["1·2"] * 16) + " + … (25 products in all)", False)
    assert lines[1] == ("= 50", True)
    assert len(lines) == 2
    # Exactly sixteen products are written out in full.
    four = explain_lines(explain_cell(np.ones((4, 4)), np.ones((4, 4)), 0, 0))
    assert four[0] == ("Y[0, 0] = " + " + ".join(["1·1"] * 16), False)


def test_the_app_icon_is_a_sobel_kernel_in_the_signed_colours():
    icon = app_icon()
    assert icon.size == (48, 48)
    rgb = np.asarray(icon.convert("RGB")).astype(int)
    # Three 16-pixel columns: negative, zero, positive; each column one colour per row band.
    left, middle, right = rgb[:, 8], rgb[:, 24], rgb[:, 40]
    assert (middle == middle[0]).all()  # the zero column is one neutral colour
    # The -2 and +2 middle row is more saturated than the -1/+1 rows around it.
    assert np.abs(left[24] - middle[24]).sum() > np.abs(left[8] - middle[8]).sum() > 0
    assert np.abs(right[24] - middle[24]).sum() > np.abs(right[8] - middle[8]).sum() > 0
    assert (left[8] == left[40]).all() and (right[8] == right[40]).all()
    # Negative and positive get different hues.
    assert not (left[8] == right[8]).all()
    # Nearest-neighbour resize: every 16x16 block is flat.
    for r in range(3):
        for c in range(3):
            block = rgb[16 * r:16 * r + 16, 16 * c:16 * c + 16]
            assert (block == block[0, 0]).all()


def test_the_app_icon_goes_to_the_browser_inline_as_the_same_picture():
    url = app_icon_url()
    assert url.startswith("data:image/png;base64,") and len(url) < 1000  # no media file, no fetch
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    np.testing.assert_array_equal(np.asarray(decoded.convert("RGB")), np.asarray(app_icon().convert("RGB")))
