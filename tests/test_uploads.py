"""Uploads a server can survive: a decoded-size budget checked from the header, one large decode at a
time, large pictures reduced band by band (checked against a numpy reference), non-finite float
pictures refused, and a generated corpus of bombs, truncations, odd modes and damaged bytes."""

import io
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from convlab import images
from convlab.images import MAX_DECODE_BYTES, load_image

# Every message load_image may give, so that a corpus test can tell a refusal in words from a leak
# of Python's or Pillow's internals.
LEARNER_MESSAGES = (
    r"^could not read this file as a picture \(PNG, JPEG, GIF, BMP, WebP\.\.\.\)$",
    r"^this picture is damaged or incomplete \(perhaps cut short while copying\): could not decode its "
    r"pixels$",
    r"^this picture is \d+x\d+ = \d+ megapixels: the limit is 40 megapixels, so please use a smaller "
    r"picture$",
    r"^this picture is \d+x\d+: too large to open here; please use one under \d+ megapixels \(or a JPEG\)$",
    r"^this picture is far too large to open safely: the limit is 40 megapixels$",
    r"^this picture holds values that are not numbers \(NaN\) or are infinite",
    r"^the file is empty: choose a picture file$",
)


def _readable(message: str) -> bool:
    import re

    return any(re.match(pattern, message) for pattern in LEARNER_MESSAGES)


def _encode(img: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header(width: int, height: int, color_type: int = 6, bit_depth: int = 8) -> bytes:
    """A PNG declaring (width, height) in the given colour type whose pixels are barely there."""
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + ihdr + _chunk(b"IDAT", zlib.compress(bytes(100))) + _chunk(b"IEND", b"")


def _png_zeros(width: int, height: int, color_type: int = 6) -> bytes:
    """A complete PNG of all-zero pixels (transparent black for RGBA), a few KB however large."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    row = bytes(1 + width * channels)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + ihdr + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


@pytest.fixture
def never_decoded(monkeypatch):
    """Fail the test if a picture's pixels are decoded at all."""

    def load(self):
        raise AssertionError("the picture's pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", load)
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


# ------------------------------------------------------------------------------------- the budget


def test_the_issues_small_png_declaring_6300x6300_rgba_is_refused_from_its_header(never_decoded):
    # 39.7 MP is under the 40 MP cap, but decoding it would hold 159 MB (4 bytes a pixel in Pillow).
    data = _png_header(6300, 6300)
    assert len(data) < 1000
    expected = r"^this picture is 6300x6300: too large to open here; please use one under 16 megapixels"
    with pytest.raises(ValueError, match=expected):
        load_image(data, (64, 64))


@pytest.mark.parametrize(
    ("color_type", "bit_depth", "side", "accepted"),
    [
        (6, 8, 4096, True),  # RGBA, 4 bytes a pixel: 4096x4096 is exactly the budget
        (6, 8, 4097, False),
        (0, 8, 6324, True),  # grayscale, 1 byte: the 40 MP cap comes first
        (0, 16, 5792, True),  # 16-bit grayscale, 2 bytes
        (0, 16, 5793, False),
        (2, 8, 4097, False),  # RGB is stored in 4 bytes a pixel too
    ],
)
def test_the_budget_counts_the_bytes_pillow_holds_per_pixel(color_type, bit_depth, side, accepted):
    with Image.open(io.BytesIO(_png_header(side, side, color_type, bit_depth))) as img:
        cost = images._decode_cost(img, img.size)
    per_pixel = {(6, 8): 4, (0, 8): 1, (0, 16): 2, (2, 8): 4}[color_type, bit_depth]
    assert cost == side * side * per_pixel
    assert (cost <= MAX_DECODE_BYTES) == accepted


def test_decoders_that_copy_cost_more_and_progressive_jpeg_counts_its_coefficients():
    rgb = Image.new("RGB", (64, 48), (10, 200, 30))
    with Image.open(io.BytesIO(_encode(rgb, "WEBP"))) as img:
        assert images._decode_cost(img, img.size) == 64 * 48 * 4 * 4
    with Image.open(io.BytesIO(_encode(rgb, "TIFF"))) as img:
        assert images._decode_cost(img, img.size) == 64 * 48 * 4 * 2
    with Image.open(io.BytesIO(_encode(rgb, "JPEG", progressive=True, subsampling=2))) as img:
        size = img.size
        img.draft("L", (8, 6))  # 1/8: 8x6 gray pixels, but libjpeg keeps every coefficient
        # 4:2:0: a full-resolution Y plane and two quarter-size chroma planes, 2 bytes a sample.
        assert images._decode_cost(img, size) == 8 * 6 + 2 * (64 * 48 + 2 * 64 * 48 // 4)
    with Image.open(io.BytesIO(_encode(rgb, "JPEG"))) as img:
        img.draft("L", (16, 12))
        assert images._decode_cost(img, img.size) == 16 * 12  # baseline: only the drafted pixels


def test_a_big_jpeg_is_accepted_because_it_decodes_drafted_to_grayscale():
    # 6000x4000 RGB would be 96 MB decoded; at 1/8 and in grayscale it is 375 KB.
    data = _encode(Image.new("RGB", (6000, 4000), (255, 255, 255)), "JPEG", quality=50)
    X = load_image(data, (64, 64))
    np.testing.assert_allclose(X, 1.0, atol=2 / 255)


# ------------------------------------------------------------------------- large pictures in bands


def _composite_box(rgba: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """The reference: ITU-R 601 luma composited over white, then the mean of each fy x fx block."""
    rgb, alpha = rgba[..., :3].astype(np.float64) / 255, rgba[..., 3].astype(np.float64) / 255
    gray = rgb @ np.array([0.299, 0.587, 0.114])
    over_white = gray * alpha + (1 - alpha)
    H, W = over_white.shape
    return over_white.reshape(H // fy, fy, W // fx, fx).mean(axis=(1, 3))


@pytest.fixture
def tiny_large_path(monkeypatch):
    """Make every picture take the large path, in bands of a few rows."""
    monkeypatch.setattr(images, "_LARGE_DECODE_BYTES", 0)
    monkeypatch.setattr(images, "_BAND_BYTES", 1000)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_band_path_averages_exactly_like_the_reference(tiny_large_path, seed):
    rgba = np.random.default_rng(seed).integers(0, 256, (48, 64, 4), dtype=np.uint8)
    X = load_image(_encode(Image.fromarray(rgba), "PNG"), (12, 8))
    # Within Pillow's 8-bit grayscale conversion (half a level) and float32 sums.
    np.testing.assert_allclose(X, _composite_box(rgba, 4, 8), atol=0.6 / 255)


def test_the_band_path_agrees_with_the_small_path_on_every_mode(monkeypatch):
    rng = np.random.default_rng(3)
    pictures = {
        "L": Image.fromarray(rng.integers(0, 256, (40, 60), dtype=np.uint8)),
        "RGB": Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)),
        "I;16": Image.fromarray(rng.integers(0, 65536, (40, 60), dtype=np.uint16)),
        "F": Image.fromarray(rng.random((40, 60), dtype=np.float32)),
        "P": Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).convert("P"),
        "1": Image.fromarray(rng.integers(0, 2, (40, 60), dtype=np.uint8) * 255).convert("1"),
    }
    for mode, img in pictures.items():
        data = _encode(img, "TIFF" if mode == "F" else "PNG")
        small = load_image(data, (10, 15))
        monkeypatch.setattr(images, "_LARGE_DECODE_BYTES", 0)
        monkeypatch.setattr(images, "_BAND_BYTES", 500)
        large = load_image(data, (10, 15))
        monkeypatch.undo()
        np.testing.assert_allclose(large, small, atol=1.01 / 255, err_msg=mode)


def test_the_band_path_turns_pictures_upright_and_keeps_the_aspect(tiny_large_path):
    stored = np.zeros((40, 60), dtype=np.uint8)
    stored[:8, :12] = 255  # a white block at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    X = load_image(_encode(Image.fromarray(stored), "PNG", exif=exif), max_side=30)
    assert X.shape == (30, 20)
    assert X[0, -1] == 1.0 and X[-1, 0] == 0.0  # the block is now at the top-right


def test_the_worst_accepted_picture_decodes_to_the_right_numbers():
    # 4096x4096 transparent black: over white paper it is all white.
    X = load_image(_png_zeros(4096, 4096), (64, 64))
    assert X.shape == (64, 64) and (X == 1.0).all()


def test_one_large_decode_runs_at_a_time_and_small_ones_never_wait(monkeypatch):
    inside, most = 0, 0
    guard = threading.Lock()
    reduce_in_bands = images._reduce_in_bands

    def counting(img, factor):
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        try:
            return reduce_in_bands(img, factor)
        finally:
            with guard:
                inside -= 1

    monkeypatch.setattr(images, "_reduce_in_bands", counting)
    monkeypatch.setattr(images, "_LARGE_DECODE_BYTES", 10_000)
    data = _encode(Image.new("L", (200, 100), 255), "PNG")  # 20 KB decoded: "large" here
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(load_image(data, (4, 8)))) for _ in range(4)]
    images._LARGE_DECODE.acquire()  # a decode in progress: a small picture still opens meanwhile
    try:
        for t in threads:
            t.start()
        assert load_image(_encode(Image.new("L", (10, 10), 0), "PNG")).max() == 0
    finally:
        images._LARGE_DECODE.release()
    for t in threads:
        t.join()
    assert most == 1
    assert len(results) == 4 and all((X == 1.0).all() for X in results)


def test_a_long_queue_of_large_decodes_says_the_server_is_busy(monkeypatch):
    monkeypatch.setattr(images, "_LARGE_DECODE_BYTES", 0)
    monkeypatch.setattr(images, "_LOCK_WAIT_S", 0.01)
    images._LARGE_DECODE.acquire()
    try:
        with pytest.raises(ValueError, match=r"^the server is busy opening other large pictures"):
            load_image(_encode(Image.new("L", (8, 8)), "PNG"))
    finally:
        images._LARGE_DECODE.release()


# ---------------------------------------------------------------------------- non-finite pictures


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("large", [False, True])
def test_a_float_tiff_holding_nan_or_infinity_is_refused(bad, large, monkeypatch):
    if large:
        monkeypatch.setattr(images, "_LARGE_DECODE_BYTES", 0)
    pixels = np.full((6, 8), 0.5, dtype=np.float32)
    pixels[2, 3] = bad
    data = _encode(Image.fromarray(pixels, mode="F"), "TIFF")
    for shape in (None, (3, 4), (12, 16)):
        with pytest.raises(ValueError, match=r"not numbers \(NaN\) or are infinite"):
            load_image(data, shape)


def test_a_finite_float_tiff_loads_clipped_to_0_1():
    pixels = np.array([[-3.0, 0.0, 0.25, 1.0, 3e38]], dtype=np.float32)
    X = load_image(_encode(Image.fromarray(pixels, mode="F"), "TIFF"))
    np.testing.assert_array_equal(X, [[0.0, 0.0, 0.25, 1.0, 1.0]])


# ------------------------------------------------------------------------------- generated corpus

MODES = {
    "PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"],
    "GIF": ["L", "P"],
    "BMP": ["1", "L", "P", "RGB"],
    "TIFF": ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F", "YCbCr", "LAB"],
    "WEBP": ["RGB", "RGBA"],
    "JPEG": ["L", "RGB", "CMYK"],
    "PPM": ["L", "RGB"],
    "TGA": ["L", "RGB", "RGBA"],
    "ICO": ["RGBA"],
}
CASES = [(fmt, mode) for fmt, modes in MODES.items() for mode in modes]


def _picture(mode: str, width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode in ("I;16", "I"):
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16)).convert(mode)
    if mode == "F":
        return Image.fromarray(rng.random((height, width), dtype=np.float32))
    rgba = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8))
    return rgba.convert(mode) if mode not in ("LA", "P") else rgba.convert("RGBA").convert(mode)


@settings(max_examples=120, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(CASES),
    width=st.integers(1, 40),
    height=st.integers(1, 40),
    seed=st.integers(0, 2**16),
    damage=st.sampled_from(["none", "truncate", "flip", "prefix"]),
    where=st.floats(0, 1),
    shape=st.one_of(st.none(), st.tuples(st.integers(1, 20), st.integers(1, 20))),
)
def test_any_upload_gives_a_correct_grid_or_a_refusal_in_words(
    case, width, height, seed, damage, where, shape
):
    fmt, mode = case
    data = _encode(_picture(mode, width, height, seed), fmt)
    cut = int(where * (len(data) - 1))
    if damage == "truncate":
        data = data[:cut]
    elif damage == "flip":
        data = data[:cut] + bytes([data[cut] ^ 0xFF]) + data[cut + 1 :]
    elif damage == "prefix":
        data = data[: max(cut, 1)]
    try:
        X = load_image(data, shape)
    except ValueError as exc:
        assert _readable(str(exc)), str(exc)
        return
    assert X.dtype == np.float64 and X.ndim == 2
    assert np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1
    if shape is not None:
        assert X.shape == shape


@pytest.mark.parametrize(
    ("width", "height"),
    [(6300, 6300), (40_001, 1000), (1, 40_000_001), (65_535, 65_535), (2**31 - 1, 2**31 - 1)],
)
def test_huge_declared_sizes_are_refused_in_words_without_decoding(width, height, never_decoded):
    for color_type in (0, 2, 6):
        with pytest.raises(ValueError) as info:
            load_image(_png_header(width, height, color_type))
        assert _readable(str(info.value)), str(info.value)


def test_a_decompression_bomb_in_a_later_gif_frame_is_refused_in_words():
    frames = [Image.new("P", (8, 8), k) for k in range(2)]
    data = bytearray(_encode(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    try:
        X = load_image(bytes(data), (4, 4))
    except ValueError as exc:
        assert _readable(str(exc))
    else:
        assert X.shape == (4, 4)
