"""Image presets, picture loading (formats, EXIF, transparency, refusals), edits and colours."""

import io
import struct
import sys
import zlib

import numpy as np
import plotly.colors
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from convlab import images
from convlab.colour import IMAGE, signed_scale
from convlab.images import (
    IMAGES,
    MAX_PIXELS,
    TRANSFORMS,
    ImagePreset,
    image_preset,
    load_image,
    resize_grid,
    to_rgb,
    transform,
)

# ------------------------------------------------------------------------------------------ presets


def test_keys_order_and_default_shapes():
    assert list(IMAGES) == [
        "stripes", "counting", "checkerboard", "square", "circle", "diagonal", "gradient", "letter", "noise",
    ]
    for key, preset in IMAGES.items():
        assert isinstance(preset, ImagePreset) and preset.key == key and preset.label and preset.description
        expected = {"stripes": (6, 8), "counting": (3, 3)}.get(key, (8, 8))
        assert preset.default_shape == expected
        assert image_preset(key).shape == expected


def test_stripes_is_exactly_the_lessons_image():
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    np.testing.assert_array_equal(image_preset("stripes"), X.numpy())
    assert image_preset("stripes").dtype == np.float64


def test_stripes_at_other_sizes_keep_white_borders_and_a_black_middle_band():
    X = image_preset("stripes", (4, 12))
    np.testing.assert_array_equal(X, np.tile([1.0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1], (4, 1)))
    assert image_preset("stripes", (2, 3)).tolist() == [[1, 0, 1], [1, 0, 1]]


def test_counting_is_the_lessons_first_example():
    np.testing.assert_array_equal(image_preset("counting"), [[0.0, 1, 2], [3, 4, 5], [6, 7, 8]])
    np.testing.assert_array_equal(image_preset("counting", (2, 5)), np.arange(10.0).reshape(2, 5))


def test_simple_shapes_at_their_default_size():
    checker = image_preset("checkerboard")
    assert checker[0, 0] == 1 and checker[0, 1] == 0 and checker[1, 1] == 1 and checker.sum() == 32
    square = np.zeros((8, 8))
    square[2:6, 2:6] = 1
    np.testing.assert_array_equal(image_preset("square"), square)
    np.testing.assert_array_equal(image_preset("diagonal"), np.eye(8))
    np.testing.assert_array_equal(image_preset("gradient")[3], np.linspace(0, 1, 8))
    circle = image_preset("circle")
    np.testing.assert_array_equal(circle, circle[::-1])
    np.testing.assert_array_equal(circle, circle.T)
    assert circle[4, 4] == 1 and circle[0, 0] == 0 and 20 < circle.sum() < 40


def test_checkerboard_squares_grow_on_big_grids():
    board = image_preset("checkerboard", (64, 64))
    assert (board[:8, :8] == 1).all() and (board[:8, 8:16] == 0).all()


def test_diagonal_is_unbroken_on_wide_and_tall_grids():
    for shape in ((5, 12), (12, 5)):
        X = image_preset("diagonal", shape)
        long_axis = int(np.argmax(shape))
        assert (X.sum(axis=1 - long_axis) == 1).all()  # one lit cell per step along the longer side
        assert X[0, 0] == 1 and X[-1, -1] == 1


def test_letter_is_an_f_that_every_flip_and_rotation_changes():
    F = image_preset("letter")
    assert F[1, 1:7].tolist() == [1] * 6  # top bar
    assert F[1:7, 1].tolist() == [1] * 6  # stem
    assert F[3, 1:5].tolist() == [1] * 4 and F[3, 5] == 0  # shorter middle bar
    for shape in ((8, 8), (16, 12), (64, 64)):
        X = image_preset("letter", shape)
        variants = [transform(X, op) for op in ("transpose", "flip_lr", "flip_ud", "rotate")]
        variants += [transform(transform(X, "rotate"), "rotate")]
        for variant in variants:
            assert variant.shape != X.shape or not np.array_equal(variant, X)


def test_noise_depends_only_on_the_seed():
    a = image_preset("noise", (5, 7), seed=1)
    np.testing.assert_array_equal(a, image_preset("noise", (5, 7), seed=1))
    np.testing.assert_array_equal(a, np.random.default_rng(1).random((5, 7)))
    assert not np.array_equal(a, image_preset("noise", (5, 7), seed=2))
    np.testing.assert_array_equal(image_preset("noise"), image_preset("noise", seed=0))
    assert a.min() >= 0 and a.max() < 1


@settings(max_examples=40, deadline=None)
@given(
    key=st.sampled_from(list(IMAGES)),
    H=st.integers(1, 70),
    W=st.integers(1, 70),
    seed=st.integers(0, 2**32),
)
def test_every_preset_fills_any_shape_with_finite_brightness(key, H, W, seed):
    X = image_preset(key, (H, W), seed=seed)
    assert X.shape == (H, W) and X.dtype == np.float64 and np.isfinite(X).all()
    if key != "counting":
        assert X.min() >= 0 and X.max() <= 1


def test_presets_reach_the_largest_side():
    assert image_preset("letter", (1024, 1024)).shape == (1024, 1024)
    assert image_preset("circle", (1, 1024)).shape == (1, 1024)


def test_preset_refusals():
    with pytest.raises(ValueError, match=r"unknown image preset 'zebra': choose one of stripes, counting"):
        image_preset("zebra")
    with pytest.raises(ValueError, match="from 1 to 1024"):
        image_preset("square", (0, 4))
    with pytest.raises(ValueError, match="from 1 to 1024"):
        image_preset("square", (4, 1025))
    with pytest.raises(ValueError, match="whole numbers"):
        image_preset("square", (4.5, 4))
    with pytest.raises(ValueError, match=r"pair \(rows, columns\)"):
        image_preset("square", 8)


# ------------------------------------------------------------------------------------------- loading


def _encode(img: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _two_tone(size=(6, 4)) -> Image.Image:
    """A (width, height) grayscale picture: black left half, white right half."""
    pixels = np.zeros((size[1], size[0]), dtype=np.uint8)
    pixels[:, size[0] // 2 :] = 255
    return Image.fromarray(pixels)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "GIF", "TIFF", "WEBP"])
def test_lossless_formats_load_exactly(fmt):
    params = {"lossless": True} if fmt == "WEBP" else {}
    X = load_image(_encode(_two_tone(), fmt, **params))
    expected = np.zeros((4, 6))
    expected[:, 3:] = 1
    np.testing.assert_array_equal(X, expected)
    assert X.dtype == np.float64


def test_jpeg_colour_photo_becomes_grayscale_luma():
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    rgb[:, :4] = (255, 0, 0)
    rgb[:, 4:] = (0, 0, 255)
    X = load_image(_encode(Image.fromarray(rgb), "JPEG", quality=95))
    assert X.shape == (8, 8)
    # ITU-R 601 luma: red 0.299, blue 0.114 (JPEG is lossy: compare loosely).
    assert X[:, :2].mean() == pytest.approx(0.299, abs=0.03)
    assert X[:, -2:].mean() == pytest.approx(0.114, abs=0.03)


def test_16_bit_grayscale_keeps_every_level():
    levels = np.array([[0, 1, 257, 32768, 65535]], dtype=np.uint16)
    data = _encode(Image.fromarray(levels), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    np.testing.assert_array_equal(load_image(data), levels / 65535)


def test_transparency_is_composited_over_white():
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)  # black everywhere...
    rgba[..., 3] = [0, 255, 51]  # ...transparent, opaque, 20% opaque
    X = load_image(_encode(Image.fromarray(rgba), "PNG"))
    np.testing.assert_allclose(X, np.tile([1.0, 0.0, 0.8], (2, 1)))


def test_palette_images_with_and_without_a_transparent_colour():
    palette = Image.new("P", (4, 2))
    palette.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    palette.putdata([0, 1, 0, 1, 1, 0, 1, 0])
    np.testing.assert_array_equal(load_image(_encode(palette, "PNG")), [[0, 1, 0, 1], [1, 0, 1, 0]])
    # GIF transparency: colour 0 (black) is see-through, so it shows the white paper.
    gif = _encode(palette, "GIF", transparency=0)
    assert "transparency" in Image.open(io.BytesIO(gif)).info
    np.testing.assert_array_equal(load_image(gif), np.ones((2, 4)))


def test_exif_orientation_is_respected():
    stored = np.zeros((2, 3), dtype=np.uint8)
    stored[0, 0] = 255  # a white mark at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones write for portrait photos
    X = load_image(_encode(Image.fromarray(stored), "PNG", exif=exif))
    np.testing.assert_array_equal(X, np.rot90(stored / 255, k=-1))
    assert X[0, 1] == 1  # the mark now shows at the top-right
    jpeg = load_image(_encode(Image.fromarray(np.kron(stored, np.ones((8, 8), np.uint8))), "JPEG", exif=exif))
    assert jpeg.shape == (24, 16)


def test_resizing_to_a_grid_averages_when_shrinking_and_blends_when_growing():
    pixels = np.array([[0, 255, 255, 255], [0, 0, 255, 255], [0, 0, 0, 0], [255, 255, 255, 255]], np.uint8)
    data = _encode(Image.fromarray(pixels), "PNG")
    # Each cell the mean of the 2x2 pixels it covers (rounded to 8 bits by Pillow).
    np.testing.assert_allclose(load_image(data, (2, 2)), [[0.25, 1.0], [0.5, 0.5]], atol=0.5 / 255)
    grown = load_image(_encode(_two_tone((2, 2)), "PNG"), (4, 8))
    assert grown.shape == (4, 8) and grown[0, 0] == 0 and grown[0, -1] == 1
    assert 0 < grown[0, 3] < 1  # blended, not blocky
    assert load_image(data, (3, 7)).shape == (3, 7)


def test_big_pictures_shrink_to_max_side_keeping_their_aspect():
    data = _encode(Image.new("L", (2000, 500), 128), "PNG")
    X = load_image(data)
    assert X.shape == (256, 1024)
    np.testing.assert_allclose(X, 128 / 255)
    assert load_image(data, max_side=100).shape == (25, 100)
    assert load_image(_encode(Image.new("L", (30, 20)), "PNG"), max_side=100).shape == (20, 30)


def test_big_jpeg_decodes_at_reduced_size_for_a_small_grid():
    gradient = np.tile(np.linspace(0, 255, 1600).astype(np.uint8), (1200, 1))
    data = _encode(Image.fromarray(gradient), "JPEG", quality=90)
    X = load_image(data, (6, 8))
    assert X.shape == (6, 8)
    np.testing.assert_allclose(X[:, 0], 1 / 16, atol=0.03)
    np.testing.assert_allclose(X[:, -1], 15 / 16, atol=0.03)


def test_paths_and_file_objects_load_too(tmp_path):
    data = _encode(_two_tone(), "PNG")
    path = tmp_path / "two tone.png"
    path.write_bytes(data)
    expected = load_image(data)
    np.testing.assert_array_equal(load_image(path), expected)
    np.testing.assert_array_equal(load_image(str(path)), expected)
    np.testing.assert_array_equal(load_image(io.BytesIO(data)), expected)
    np.testing.assert_array_equal(load_image(bytearray(data)), expected)


def test_refuses_empty_missing_and_non_pictures(tmp_path):
    with pytest.raises(ValueError, match="the file is empty"):
        load_image(b"")
    with pytest.raises(ValueError, match="no picture file at"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="no picture file at"):
        load_image(tmp_path)
    not_a_picture = r"^could not read this file as a picture \(PNG, JPEG, GIF, BMP, WebP\.\.\.\)$"
    with pytest.raises(ValueError, match=not_a_picture):
        load_image(b"name,score\nada,10\n")
    with pytest.raises(ValueError, match="could not read this file as a picture"):
        load_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)  # a PNG signature, then garbage


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_refuses_truncated_pictures(fmt):
    noise = (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)
    data = _encode(Image.fromarray(noise), fmt)
    with pytest.raises(ValueError, match="damaged or incomplete"):
        load_image(data[: len(data) // 2])


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header(width: int, height: int) -> bytes:
    """A few bytes of PNG that declare a (width, height) grayscale picture but hold almost no pixels."""
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    idat = _png_chunk(b"IDAT", zlib.compress(bytes(100)))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + _png_chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (8000, 6000, "8000x6000 = 48 megapixels: the limit is 40 megapixels"),  # ours, before decoding
        # Pillow's DecompressionBombWarning (an error under pytest; else ours catches it after Pillow).
        (10_000, 10_000, "limit is 40 megapixels"),
        (100_000, 100_000, "far too large to open safely: the limit is 40 megapixels"),  # Pillow's error
    ],
)
def test_refuses_decompression_bombs_before_decoding(width, height, message, monkeypatch):
    # Refused from the header: decoding is never reached (timing lives in benchmarks/bench_upload.py).
    monkeypatch.setattr(images, "_decode", _never)
    with pytest.raises(ValueError, match=message):
        load_image(_png_header(width, height))
    assert width * height > MAX_PIXELS


def _never(*args, **kwargs):
    raise AssertionError("the picture was decoded")


def test_refuses_bad_shape_and_max_side():
    data = _encode(_two_tone(), "PNG")
    with pytest.raises(ValueError, match="from 1 to 1024"):
        load_image(data, (0, 5))
    with pytest.raises(ValueError, match="max_side must be a whole number"):
        load_image(data, max_side=0)


# --------------------------------------------------------------------------------------------- edits


def test_transforms():
    X = np.array([[1.0, 2, 3], [4, 5, 6]])
    assert TRANSFORMS == ("transpose", "flip_lr", "flip_ud", "rotate", "invert", "clear")
    expected = {
        "transpose": [[1, 4], [2, 5], [3, 6]],
        "flip_lr": [[3, 2, 1], [6, 5, 4]],
        "flip_ud": [[4, 5, 6], [1, 2, 3]],
        "rotate": [[4, 1], [5, 2], [6, 3]],  # clockwise: the bottom-left comes to the top-left
        "invert": [[0, -1, -2], [-3, -4, -5]],
        "clear": [[0, 0, 0], [0, 0, 0]],
    }
    for op in TRANSFORMS:
        Y = transform(X, op)
        np.testing.assert_array_equal(Y, expected[op])
        assert Y.dtype == np.float64 and Y.flags.c_contiguous and Y.flags.writeable
        assert not np.shares_memory(Y, X)
    assert X.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_transform_accepts_ints_and_tensors_and_refuses_unknown_ops():
    np.testing.assert_array_equal(transform(np.eye(2, dtype=int), "invert"), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(transform(torch.eye(2), "flip_lr"), [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="unknown transform 'mirror': choose one of transpose, flip_lr"):
        transform(np.eye(2), "mirror")
    with pytest.raises(ValueError, match="must be a 2-D grid"):
        transform(np.ones(3), "invert")
    with pytest.raises(ValueError, match="must hold real numbers"):
        transform(np.array([["a"]]), "invert")


def test_resize_grid_keeps_the_top_left():
    X = np.arange(6.0).reshape(2, 3) + 1
    np.testing.assert_array_equal(resize_grid(X, (3, 4)), [[1, 2, 3, 0], [4, 5, 6, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(resize_grid(X, (1, 2)), [[1, 2]])
    Y = resize_grid(X, (2, 3))
    np.testing.assert_array_equal(Y, X)
    assert not np.shares_memory(Y, X)
    with pytest.raises(ValueError, match="from 1 to 1024"):
        resize_grid(X, (0, 3))
    with pytest.raises(ValueError, match="is empty"):
        resize_grid(np.zeros((0, 3)), (2, 2))


# ------------------------------------------------------------------------------------------- colours

BLUE, WHITE, RED = (5, 48, 97), (247, 247, 247), (103, 0, 31)


def test_diverging_colours_at_minus_vmax_zero_and_plus_vmax():
    rgb = to_rgb(np.array([[-2.0, 0.0, 2.0]]))
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 3, 3)
    assert [tuple(c) for c in rgb[0]] == [BLUE, WHITE, RED]
    clipped = to_rgb(np.array([[-5.0, -1.0, 0.0, 1.0, 5.0]]), vmax=1.0)
    assert [tuple(c) for c in clipped[0]] == [BLUE, BLUE, WHITE, RED, RED]


def test_diverging_colours_match_plotlys_rdbu_reversed_scale():
    scale = plotly.colors.get_colorscale("RdBu_r")
    stops = np.array([position for position, _ in scale])
    Z = stops[None, :] * 2 - 1  # each stop's value between -1 and +1
    expected = np.array([[int(v) for v in colour[4:-1].split(",")] for _, colour in scale])
    # 255 levels: the ends and the middle are exact, the other stops within one level (< 2 units).
    np.testing.assert_allclose(to_rgb(Z, vmax=1.0)[0], expected, atol=2)
    # Halfway between two stops: plotly interpolates linearly in RGB.
    between = to_rgb(np.array([[0.1]]), vmax=1.0)[0, 0]
    np.testing.assert_allclose(between, (np.array(WHITE) + np.array([253, 219, 199])) / 2, atol=2)


def test_colours_never_break_on_extreme_numbers():
    huge = np.array([[-1.7e308, 0.0, 1.7e308]])
    assert [tuple(c) for c in to_rgb(huge)[0]] == [BLUE, WHITE, RED]
    assert to_rgb(huge, diverging=False)[0, :, 0].tolist() == [0, 0, 255]  # an image: clipped to 0..1
    assert [tuple(c) for c in to_rgb(np.array([[-1e39, 1e39]]), vmax=1.0)[0]] == [BLUE, RED]
    widest = np.array([[-sys.float_info.max, 0.0, sys.float_info.max]])  # a range as wide as float64
    assert [tuple(c) for c in to_rgb(widest, vmax=sys.float_info.max)[0]] == [BLUE, WHITE, RED]
    assert to_rgb(np.array([[1e-300, 2e-300, 3e-300]]), diverging=False)[0, :, 0].tolist() == [0, 0, 0]


def test_diverging_is_all_white_for_an_all_zero_grid():
    assert (to_rgb(np.zeros((3, 4))) == WHITE).all()


def test_grayscale_is_an_image_on_the_fixed_range_zero_to_one():
    # As the input grid shows a picture: never stretched to the grid's own min and max.
    rgb = to_rgb(np.array([[-3.0, 0.0, 0.25, 1.0, 1000.5]]), diverging=False)
    assert rgb[0].tolist() == [[0, 0, 0], [0, 0, 0], [64, 64, 64], [255, 255, 255], [255, 255, 255]]


def test_grayscale_of_a_constant_grid_is_its_own_brightness():
    assert (to_rgb(np.ones((2, 2)), diverging=False) == 255).all()
    assert (to_rgb(np.zeros((2, 2)), diverging=False) == 0).all()
    assert (to_rgb(np.full((2, 2), 0.5), diverging=False) == 128).all()
    assert (to_rgb(np.full((2, 2), 7.0), diverging=False) == 255).all()


def test_to_rgb_refusals():
    with pytest.raises(ValueError, match="NaN or infinity"):
        to_rgb(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="NaN or infinity"):
        to_rgb(np.array([[0.0, np.inf]]), diverging=False)
    with pytest.raises(ValueError, match="vmax must be a positive number"):
        to_rgb(np.ones((2, 2)), vmax=0)
    with pytest.raises(ValueError, match="must be a 2-D grid"):
        to_rgb(np.ones((2, 2, 3)))


def test_to_rgb_colours_a_1024_photo_as_the_grids_do():
    Z = np.random.default_rng(0).standard_normal((1024, 1024))
    scale = signed_scale(Z)  # max |Z| rounded up to a round number, as the output grid would show it
    np.testing.assert_array_equal(to_rgb(Z), scale.colours(Z))
    np.testing.assert_array_equal(to_rgb(Z, diverging=False), IMAGE.colours(Z))
    # And against plotly's RdBu_r at the same positions (plotly interpolates linearly in RGB too).
    sample = (slice(0, None, 97), slice(0, None, 89))
    positions = np.clip(0.5 + Z[sample] / (2 * scale.hi), 0, 1)
    reference = _reference_colours(positions)
    np.testing.assert_allclose(to_rgb(Z)[sample], reference, atol=1)


def _reference_colours(positions: np.ndarray) -> np.ndarray:
    """(..., 3): plotly's RdBu_r at these positions in 0..1, interpolated in RGB as plotly does."""
    scale = plotly.colors.get_colorscale("RdBu_r")
    stops = [position for position, _ in scale]
    rgb = np.array([[int(v) for v in colour[4:-1].split(",")] for _, colour in scale], dtype=float)
    return np.stack([np.interp(positions, stops, rgb[:, c]) for c in range(3)], axis=-1).round()


def test_to_rgb_refuses_a_vmax_that_is_not_a_number_in_words():
    for vmax in ("1", [1.0], True, float("inf")):
        with pytest.raises(ValueError, match="vmax must be a positive number"):
            to_rgb(np.ones((2, 2)), vmax=vmax)


def test_image_preset_refuses_a_negative_or_fractional_seed_in_words():
    for seed in (-1, 1.5, "3", True):
        with pytest.raises(ValueError, match=r"the seed must be a whole number, 0 or more"):
            image_preset("noise", seed=seed)
    assert np.array_equal(image_preset("noise", seed=np.int64(3)), image_preset("noise", seed=3))
