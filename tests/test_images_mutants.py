"""Image presets drawn by hand on small grids (mutation testing found the circle's rim, the
checkerboard's block size, the diagonal's rounding and the letter's proportions could change without
a test noticing)."""

import numpy as np
import pytest

from convlab.images import image_preset


def grid(*rows: str) -> np.ndarray:
    return np.array([[float(c) for c in row] for row in rows])


@pytest.mark.parametrize(
    ("key", "shape", "expected"),
    [
        # Cell centres 0.5 from the middle, radius max(0.375 * 1, 0.5) = 0.5: on the rim counts as inside.
        ("circle", (1, 2), grid("11")),
        # Radius 0.5 on 1x3: only the middle cell (the outer centres are 1 away).
        ("circle", (1, 3), grid("010")),
        # Radius 1.5 on 4x4: centres at (±0.5, ±0.5) are inside (0.5 <= 2.25), (±0.5, ±1.5) are not (2.5).
        ("circle", (4, 4), grid("0000", "0110", "0110", "0000")),
        ("square", (4, 6), grid("000000", "001100", "001100", "000000")),
        # One lit cell per step along the longer side: rows (r + 0.5) * 2 / 4 -> 0, 0, 1, 1.
        ("diagonal", (4, 2), grid("10", "10", "01", "01")),
        ("diagonal", (2, 4), grid("1100", "0011")),
        ("diagonal", (3, 3), grid("100", "010", "001")),
        ("stripes", (2, 3), grid("101", "101")),
        # An F on 8x8: margin 1, bars 1 thick, the middle bar 3/4 of the width 6 = 4 long.
        ("letter", (8, 8), grid("00000000", "01111110", "01000000", "01111000", "01000000", "01000000",
                                "01000000", "00000000")),
    ],
)
def test_small_presets_drawn_by_hand(key, shape, expected):
    np.testing.assert_array_equal(image_preset(key, shape), expected)


def test_the_checkerboard_has_one_cell_squares_until_sixteen_cells_across():
    i, j = np.indices((12, 12))
    np.testing.assert_array_equal(image_preset("checkerboard", (12, 12)), (i + j) % 2 == 0)
    # From 16 across, squares of min(H, W) // 8 cells: 2x2 blocks on 16x16.
    i, j = np.indices((16, 16))
    np.testing.assert_array_equal(image_preset("checkerboard", (16, 16)), (i // 2 + j // 2) % 2 == 0)


def test_the_letter_keeps_its_proportions_on_a_large_grid():
    # 32x32: margin 32 // 8 = 4, so the letter spans rows and columns 4..27 (24 cells); bars are
    # round(24 / 6) = 4 rows thick, the stem round(24 / 5) = 5 columns wide; the middle bar starts at
    # row 4 + (24 - 4) // 2 = 14 and is 24 * 3 // 4 = 18 columns long.
    expected = np.zeros((32, 32))
    expected[4:28, 4:9] = 1
    expected[4:8, 4:28] = 1
    expected[14:18, 4:22] = 1
    np.testing.assert_array_equal(image_preset("letter", (32, 32)), expected)
