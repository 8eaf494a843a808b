"""Kernel presets: keys, exact textbook values, read-only storage, and what each one does."""

import dataclasses

import numpy as np
import pytest

from convlab.images import image_preset
from convlab.kernels import KERNELS, MAX_KERNEL_SIDE, KernelPreset, kernel_preset
from convlab.ops import conv2d, corr2d

EXPECTED = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge": [[1, -1]],
    "edge_t": [[1], [-1]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "prewitt_x": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "prewitt_y": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "box_blur": np.full((3, 3), 1 / 9),
    "gaussian": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
}


def test_keys_in_the_documented_order():
    assert list(KERNELS) == list(EXPECTED)


@pytest.mark.parametrize("key", list(EXPECTED))
def test_each_preset_has_textbook_values_and_readable_text(key):
    preset = KERNELS[key]
    assert preset.key == key
    assert preset.values.dtype == np.float64
    np.testing.assert_array_equal(preset.values, np.asarray(EXPECTED[key], dtype=np.float64))
    assert min(preset.values.shape) >= 1 and max(preset.values.shape) <= MAX_KERNEL_SIDE
    assert preset.label and preset.label[0].isupper()
    assert preset.description[0].isupper() and len(preset.description.split()) >= 6


def test_lesson_edge_label_and_description():
    assert KERNELS["edge"].label == "Lesson edge [1, −1]"
    assert "lesson" in KERNELS["edge"].description


def test_preset_values_are_read_only_and_the_dataclass_frozen():
    preset = KERNELS["sobel_x"]
    with pytest.raises(ValueError, match="read-only"):
        preset.values[0, 0] = 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.key = "other"  # type: ignore[misc]
    assert preset == KERNELS["sobel_x"] and hash(preset) == hash(KERNELS["sobel_x"])


def test_a_preset_copies_what_it_is_given():
    source = np.array([[1, 2]])
    preset = KernelPreset("mine", "Mine", "A kernel made for this test only", source)
    source[0, 0] = 99
    assert preset.values.tolist() == [[1.0, 2.0]]


def test_a_preset_must_be_a_2d_grid():
    with pytest.raises(ValueError, match="non-empty 2-D grid"):
        KernelPreset("flat", "Flat", "Not a grid at all", [1, 2, 3])


def test_kernel_preset_returns_a_fresh_writable_copy():
    K = kernel_preset("edge")
    assert K.dtype == np.float64 and K.flags.writeable
    K[0, 0] = 5
    assert kernel_preset("edge")[0, 0] == 1
    assert KERNELS["edge"].values[0, 0] == 1


def test_unknown_key_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown kernel preset 'sobel'.*identity, edge, edge_t, sobel_x"):
        kernel_preset("sobel")


def test_y_kernels_are_the_transposes_of_the_x_kernels():
    np.testing.assert_array_equal(kernel_preset("sobel_y"), kernel_preset("sobel_x").T)
    np.testing.assert_array_equal(kernel_preset("prewitt_y"), kernel_preset("prewitt_x").T)
    np.testing.assert_array_equal(kernel_preset("edge_t"), kernel_preset("edge").T)


def test_blurs_keep_brightness_and_detectors_ignore_flat_areas():
    for key in ("identity", "box_blur", "gaussian", "sharpen", "emboss"):
        assert kernel_preset(key).sum() == pytest.approx(1.0)
    for key in ("edge", "edge_t", "sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "laplacian", "outline"):
        assert kernel_preset(key).sum() == 0


def test_lesson_edge_finds_the_stripes_edges_and_its_transpose_the_transposed_ones():
    X = image_preset("stripes")
    lesson_Y = np.tile([0.0, 1, 0, 0, 0, -1, 0], (6, 1))  # the lesson's printed output
    np.testing.assert_array_equal(corr2d(X, kernel_preset("edge")), lesson_Y)
    np.testing.assert_array_equal(corr2d(X.T, kernel_preset("edge")), np.zeros((8, 5)))
    np.testing.assert_array_equal(corr2d(X.T, kernel_preset("edge_t")), lesson_Y.T)


def test_descriptions_hold_on_real_images():
    X = image_preset("noise", (10, 12), seed=3)
    np.testing.assert_array_equal(corr2d(X, kernel_preset("identity"), padding=1), X)
    ramp = image_preset("gradient", (6, 9))  # brightness rising left to right
    assert (corr2d(ramp, kernel_preset("sobel_x")) > 0).all()
    assert (corr2d(ramp, kernel_preset("prewitt_x")) > 0).all()
    np.testing.assert_allclose(corr2d(ramp, kernel_preset("laplacian")), 0, atol=1e-12)
    sobel_x, sobel_y = kernel_preset("sobel_x"), kernel_preset("sobel_y")
    np.testing.assert_allclose(corr2d(ramp.T, sobel_y), corr2d(ramp, sobel_x).T)
    flat = np.full((5, 5), 0.3)
    np.testing.assert_allclose(corr2d(flat, kernel_preset("box_blur")), 0.3)
    np.testing.assert_allclose(corr2d(flat, kernel_preset("outline")), 0, atol=1e-12)


def test_symmetric_kernels_give_the_same_result_as_correlation_or_convolution():
    X = image_preset("letter")
    for key in ("identity", "laplacian", "box_blur", "gaussian", "sharpen", "outline"):
        np.testing.assert_allclose(conv2d(X, kernel_preset(key)), corr2d(X, kernel_preset(key)))
    assert not np.allclose(conv2d(X, kernel_preset("sobel_x")), corr2d(X, kernel_preset("sobel_x")))
