"""Image presets drawn by hand on small grids (mutation testing found the circle's rim, the
checkerboard's block size, the diagonal's rounding and the letter's proportions could change without
a test noticing)."""

import io

import numpy as np
import pytest
from PIL import Image

from convlab.images import image_preset, load_image, resize_grid, to_rgb


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


# --- colouring, resizing and the checks on the way in ----------------------------------------------


def test_to_rgb_refuses_non_finite_grids_in_its_own_words():
    with pytest.raises(ValueError, match=r"^the grid contains NaN or infinity: every cell needs a finite "
                                         r"number to be coloured$"):
        to_rgb(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match=r"^the grid must be a 2-D grid"):
        to_rgb(np.ones(3))
    with pytest.raises(ValueError, match=r"^vmax must be a positive number \(the value shown darkest red\), "
                                         r"got 0$"):
        to_rgb(np.ones((1, 1)), vmax=0)


def test_to_rgb_default_range_is_the_largest_magnitude_on_either_side():
    Z = np.array([[-2.0, 1.0, 2.0]])
    rgb = to_rgb(Z)
    assert rgb.shape == (1, 3, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == (5, 48, 97)  # -2 is -max|Z|: the darkest blue
    assert tuple(rgb[0, 2]) == (103, 0, 31)  # +2: the darkest red
    np.testing.assert_array_equal(rgb, to_rgb(Z, vmax=2.0))
    # With only the negative side large, +1 is half-way, not the darkest red.
    half = to_rgb(np.array([[-2.0, 1.0]]))
    assert tuple(half[0, 0]) == (5, 48, 97)
    assert tuple(half[0, 1]) != (103, 0, 31)
    np.testing.assert_array_equal(half, to_rgb(np.array([[-2.0, 1.0]]), vmax=2))


def test_to_rgb_takes_whole_number_ranges_beyond_float64():
    # vmax 10**400 is beyond float64: every ordinary value is near 0, the near-white neutral.
    assert tuple(to_rgb(np.array([[5.0]]), vmax=10**400)[0, 0]) == (247, 247, 247)
    assert tuple(to_rgb(np.array([[5.0]]), vmax=np.int64(5))[0, 0]) == (103, 0, 31)


def test_to_rgb_grayscale_spans_black_to_white():
    rgb = to_rgb(np.array([[0.0, 0.5, 1.0]]), diverging=False)
    assert rgb.shape == (1, 3, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 2].tolist() == [255, 255, 255]
    assert rgb[0, 1, 0] in (127, 128) and len(set(rgb[0, 1].tolist())) == 1


def test_resize_grid_keeps_nan_cells_and_names_the_image():
    X = np.array([[np.nan, 1.0], [2.0, 3.0]])
    out = resize_grid(X, (3, 1))
    assert np.isnan(out[0, 0]) and out[1:, 0].tolist() == [2.0, 0.0]
    with pytest.raises(ValueError, match=r"^the image must be a 2-D grid"):
        resize_grid(np.ones(3), (2, 2))


def test_shape_and_seed_refusals_say_what_was_passed():
    with pytest.raises(ValueError, match=r"^shape must be a pair \(rows, columns\), got 5$"):
        image_preset("circle", 5)
    expected = r"^shape must be whole numbers of rows and columns, got \(2\.5, 3\)$"
    with pytest.raises(ValueError, match=expected):
        image_preset("circle", (2.5, 3))
    with pytest.raises(ValueError, match=r"^the seed must be a whole number, 0 or more, got -1$"):
        image_preset("noise", (2, 2), seed=-1)


def test_load_image_max_side_must_be_a_whole_number_from_one():
    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 6), 255, dtype=np.uint8)).save(buffer, format="PNG")
    data = buffer.getvalue()
    # 4x6 scaled so that the longer side is max_side: 6 -> 3 and 4 -> 2; 6 -> 5 and 4 -> round(3.33) = 3;
    # 6 -> 1 and 4 -> round(0.67) = 1.
    assert load_image(data, max_side=3).shape == (2, 3)
    assert load_image(data, max_side=5).shape == (3, 5)
    assert load_image(data, max_side=1).shape == (1, 1)
    assert load_image(data, max_side=6).shape == (4, 6)  # already small enough: unchanged
    for bad in (0, True, 2.0):
        with pytest.raises(ValueError, match=r"^max_side must be a whole number of pixels, 1 or more, got "):
            load_image(data, max_side=bad)
