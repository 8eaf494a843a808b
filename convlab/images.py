"""Input images: presets (the lesson's stripes first), uploaded pictures, edits, and colouring.

Every image is a 2-D float64 grid (H, W); brightness runs from 0 (black) to 1 (white), except the
lesson's counting example whose cells hold 0, 1, 2, ...
"""

from __future__ import annotations

import ctypes
import io
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image

from convlab.colour import IMAGE, Scale, signed_scale
from convlab.grids import as_grid, describe

__all__ = [
    "IMAGES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "TRANSFORMS",
    "ImagePreset",
    "image_preset",
    "load_image",
    "load_image_rgb",
    "resize_grid",
    "to_rgb",
    "transform",
]

MAX_SIDE = 1024  # the largest grid or photo side ConvLab computes on
# Far above any phone photo (12-50 MP), far below what would exhaust the server's memory once
# decoded; Pillow's own bomb check only starts at ~89 MP.
MAX_PIXELS = 40_000_000

_NOT_A_PICTURE = "could not read this file as a picture (PNG, JPEG, GIF, BMP, WebP...)"
_TOO_LARGE = f"this picture is far too large to open safely: the limit is {MAX_PIXELS // 10**6} megapixels"


@dataclass(frozen=True)
class ImagePreset:
    """A named input image generator; `default_shape` is its (H, W) when no shape is asked for."""

    key: str
    label: str
    description: str
    default_shape: tuple[int, int]


_PRESETS = (
    ImagePreset(
        "stripes", "Lesson stripes", "White borders and a black vertical band: the lesson's 6x8 image", (6, 8)
    ),
    ImagePreset(
        "counting", "Counting 0, 1, 2...", "Cells numbered 0, 1, 2... row by row: the lesson's first example",
        (3, 3),
    ),
    ImagePreset("checkerboard", "Checkerboard", "Alternating white and black squares", (8, 8)),
    ImagePreset("square", "Square", "A white square in the middle of a black background", (8, 8)),
    ImagePreset("circle", "Circle", "A white disk in the middle of a black background", (8, 8)),
    ImagePreset("diagonal", "Diagonal", "A white line from the top-left to the bottom-right corner", (8, 8)),
    ImagePreset(
        "gradient", "Gradient", "Brightness rising steadily from 0 on the left to 1 on the right", (8, 8)
    ),
    ImagePreset(
        "letter", "Letter F", "A blocky capital F: it looks different after every flip or rotation", (8, 8)
    ),
    ImagePreset(
        "noise", "Random noise", "Random brightness in every cell, the same for the same seed", (8, 8)
    ),
)

IMAGES: dict[str, ImagePreset] = {preset.key: preset for preset in _PRESETS}


def _check_shape(shape: tuple[int, int], name: str = "shape") -> tuple[int, int]:
    """A validated (H, W) with both sides whole numbers in 1..MAX_SIDE."""
    try:
        H, W = shape
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (rows, columns), got {describe(shape)}") from None
    for side in (H, W):
        if isinstance(side, (bool, np.bool_)) or not isinstance(side, (int, np.integer)):
            raise ValueError(f"{name} must be whole numbers of rows and columns, got {describe(shape)}")
        if not 1 <= side <= MAX_SIDE:
            raise ValueError(f"{name} {H}x{W} is out of range: each side must be from 1 to {MAX_SIDE}")
    return int(H), int(W)


# ---------------------------------------------------------------------------------------- presets


def _stripes(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    # W=8 gives the lesson's columns 2:6; at least one white column each side once there is room.
    left = max(W // 4, 1) if W >= 3 else 0
    X = np.ones((H, W))
    X[:, left : W - left] = 0
    return X


def _counting(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(H * W, dtype=np.float64).reshape(H, W)


def _checkerboard(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    # One-cell squares on small grids; on big ones about 8 squares across so they stay visible.
    block = max(min(H, W) // 8, 1)
    rows, cols = np.arange(H)[:, None] // block, np.arange(W)[None, :] // block
    return ((rows + cols) % 2 == 0).astype(np.float64)


def _square(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    side = max(min(H, W) // 2, 1)
    top, left = (H - side) // 2, (W - side) // 2
    X = np.zeros((H, W))
    X[top : top + side, left : left + side] = 1
    return X


def _circle(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    # Distances from cell centres, so the disk is symmetric on even and odd grids alike.
    radius = max(0.375 * min(H, W), 0.5)
    rows, cols = np.arange(H)[:, None] + 0.5 - H / 2, np.arange(W)[None, :] + 0.5 - W / 2
    return (rows**2 + cols**2 <= radius**2).astype(np.float64)


def _diagonal(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    # One lit cell per step along the longer side keeps the line unbroken on non-square grids.
    X = np.zeros((H, W))
    if W >= H:
        cols = np.arange(W)
        X[((cols + 0.5) * H / W).astype(int), cols] = 1
    else:
        rows = np.arange(H)
        X[rows, ((rows + 0.5) * W / H).astype(int)] = 1
    return X


def _gradient(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    return np.tile(np.linspace(0.0, 1.0, W), (H, 1))


def _letter(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    # An F: no flip, transpose or rotation maps it onto itself, so every transform shows.
    top, left = H // 8, W // 8
    bottom, right = H - top, W - left
    height, width = bottom - top, right - left
    thick_h, thick_w = max(round(height / 6), 1), max(round(width / 5), 1)
    middle = top + (height - thick_h) // 2
    X = np.zeros((H, W))
    X[top:bottom, left : left + thick_w] = 1  # the stem
    X[top : top + thick_h, left:right] = 1  # the top bar
    X[middle : middle + thick_h, left : left + max(width * 3 // 4, thick_w + 1)] = 1  # the shorter middle bar
    return X


def _noise(H: int, W: int, rng: np.random.Generator) -> np.ndarray:
    return rng.random((H, W))


_MAKERS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "stripes": _stripes,
    "counting": _counting,
    "checkerboard": _checkerboard,
    "square": _square,
    "circle": _circle,
    "diagonal": _diagonal,
    "gradient": _gradient,
    "letter": _letter,
    "noise": _noise,
}


def image_preset(key: str, shape: tuple[int, int] | None = None, *, seed: int = 0) -> np.ndarray:
    """The preset image `key` as a float64 (H, W) grid; shape None -> its default; `seed` drives noise."""
    if key not in IMAGES:
        raise ValueError(f"unknown image preset {describe(key)}: choose one of {', '.join(IMAGES)}")
    H, W = _check_shape(IMAGES[key].default_shape if shape is None else shape)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"the seed must be a whole number, 0 or more, got {describe(seed)}")
    return _MAKERS[key](H, W, np.random.default_rng(int(seed)))


# ---------------------------------------------------------------------------------------- uploads

# Bytes Pillow keeps per pixel in memory for each mode (its "pixelsize"): 1 for 8-bit bands and
# palettes (mode "1" too), 2 for 16-bit grayscale, 4 for everything else, RGB included.
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1}
# Formats whose decoders hold more than the image itself, as multiples of it (benchmarks/
# bench_upload.py): WebP decodes to RGBA, copies that into Python bytes, then into the image; a
# TIFF stored as one strip is read whole into a buffer before it is unpacked.
_DECODER_COPIES = {"WEBP": 4, "TIFF": 2}
# Decoding a picture must never hold more than this at once. The worst picture accepted is a
# 4096x4096 RGBA PNG (a few KB of compressed zeros can declare one); with one large decode at a
# time per server (below), five people uploading it at once cost about one decode.
MAX_DECODE_BYTES = 64 * 2**20
# Decodes above this wait for each other; smaller ones (a phone photo for a grid) never wait.
_LARGE_DECODE_BYTES = 8 * 2**20
_LARGE_DECODE = threading.Lock()
_LOCK_WAIT_S = 60.0  # a queue longer than this means the server is overloaded: say so
_BAND_BYTES = 2**20  # the large path converts the decoded picture one band of about this size at a time

_ORIENTATION = {  # EXIF orientation -> the transpose that shows the picture upright (as ImageOps)
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

class _Refused(ValueError):
    """A picture refused on purpose, with a learner's message (not a decoding failure)."""


_NOT_FINITE = (
    "this picture holds values that are not numbers (NaN) or are infinite, which no grid can show: "
    "please save it as an ordinary 8- or 16-bit picture"
)


def _open(data: bytes | str | os.PathLike | BinaryIO) -> Image.Image:
    """Open (not yet decode) a picture from bytes, a path or a binary file object."""
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise ValueError(f"no picture file at {path!r}")
        source = path
    else:
        raw = data.read() if hasattr(data, "read") else bytes(data)
        if not raw:
            raise ValueError("the file is empty: choose a picture file")
        source = io.BytesIO(raw)
    try:
        return Image.open(source)
    # Pillow raises the warning itself only where warnings are errors (as under pytest).
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(_TOO_LARGE) from None
    # A hostile or damaged upload can make any of Pillow's format parsers fail in its own way.
    except Exception as error:
        raise ValueError(_NOT_A_PICTURE) from error


def _target_size(size: tuple[int, int], shape: tuple[int, int] | None, max_side: int) -> tuple[int, int]:
    """Pillow (width, height) to resize to: exactly `shape`, else within max_side keeping aspect."""
    if shape is not None:
        return shape[1], shape[0]
    width, height = size
    if max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(round(width * scale), 1), max(round(height * scale), 1)


def _check_size(img: Image.Image) -> None:
    """Refuse a picture over MAX_PIXELS from its header alone, before any pixel is decoded."""
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"this picture is {width}x{height} = {width * height / 1e6:.0f} megapixels: the limit is "
            f"{MAX_PIXELS // 1_000_000} megapixels, so please use a smaller picture"
        )


def _pixel_bytes(mode: str) -> int:
    return 2 if mode.startswith("I;16") else _PIXEL_BYTES.get(mode, 4)


def _orientation(img: Image.Image) -> tuple[Image.Transpose | None, bool]:
    """The transpose that turns a loaded picture upright by its EXIF tag (None: it is), and whether it
    swaps width and height."""
    method = _ORIENTATION.get(img.getexif().get(ExifTags.Base.Orientation, 1))
    swap = method in (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE,
                      Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270)
    return method, swap


def _decode_cost(img: Image.Image, full_size: tuple[int, int]) -> int:
    """Bytes decoding an opened (not yet loaded) picture holds at its peak, from its header alone.

    The decoded image in the mode Pillow produces (after any `draft`), times the copies some
    decoders make, and for progressive JPEG the coefficients libjpeg keeps for the whole picture
    (2 bytes per stored sample of every component, whatever the draft).
    """
    width, height = img.size
    cost = width * height * _pixel_bytes(img.mode) * _DECODER_COPIES.get(img.format or "", 1)
    layers = getattr(img, "layer", None)
    if img.format == "JPEG" and img.info.get("progressive") and layers:
        most = max(h for _, h, _, _ in layers) * max(v for _, _, v, _ in layers)
        samples = sum(full_size[0] * full_size[1] * h * v / most for _, h, v, _ in layers)
        cost += int(2 * samples)
    return cost


def _check_cost(img: Image.Image, full_size: tuple[int, int], cost: int) -> None:
    """Refuse a picture whose decoding would hold more than MAX_DECODE_BYTES."""
    if cost <= MAX_DECODE_BYTES:
        return
    width, height = full_size
    megapixels = MAX_DECODE_BYTES / (cost / (img.size[0] * img.size[1])) / 1e6
    raise _Refused(
        f"this picture is {width}x{height}: too large to open here; please use one under "
        f"{max(int(megapixels), 1)} megapixels (or a JPEG)"
    )


@contextmanager
def _decode_slot(cost: int) -> Iterator[None]:
    """Let one large decode run at a time in this process (small ones never wait).

    Every large decode holds up to MAX_DECODE_BYTES, so a server's peak memory stays about one
    decode above its idle size however many people upload at once; the queue is short because a
    decode takes about a second. Memory the decode freed is handed back to the system afterwards.
    """
    if cost <= _LARGE_DECODE_BYTES:
        yield
        return
    if not _LARGE_DECODE.acquire(timeout=_LOCK_WAIT_S):
        raise _Refused("the server is busy opening other large pictures: please try again in a minute")
    try:
        yield
    finally:
        _release_freed_memory()
        _LARGE_DECODE.release()


def _release_freed_memory() -> None:
    """Return freed heap memory to the system (glibc keeps large freed blocks for reuse otherwise)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _find_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to trim
        return None


_LIBC = _find_libc()


def _gray(img: Image.Image) -> tuple[Image.Image, float]:
    """Any mode -> L, LA (8-bit) or F (16/32-bit levels), and the value that means white."""
    # 16-bit grayscale becomes 32-bit float "F" to keep every level (rare 32-bit integer pictures
    # are read on the same 0..65535 scale); everything else is 8-bit.
    if img.mode == "F":
        return img, 1.0
    if img.mode.startswith("I"):
        return (img if img.mode == "I" else img.convert("I")).convert("F"), 65535.0
    if img.mode == "LA":
        return img, 255.0
    if img.mode in ("RGBA", "PA", "RGBa", "La") or "transparency" in img.info:
        return (img if img.mode == "RGBA" else img.convert("RGBA")).convert("LA"), 255.0
    if img.mode == "L":
        return img, 255.0
    if img.mode in ("1", "P", "RGB"):
        return img.convert("L"), 255.0
    return img.convert("RGB").convert("L"), 255.0  # CMYK, YCbCr, LAB... have no direct path to L


def _composited(img: Image.Image, full_scale: float) -> Image.Image:
    """L, LA or F -> F in 0..full_scale, transparent parts composited over white."""
    if img.mode != "LA":
        return img.convert("F")
    pixels = np.asarray(img, dtype=np.float32)
    gray, opacity = pixels[..., 0], pixels[..., 1]
    return Image.fromarray(gray * opacity / np.float32(full_scale) + (np.float32(full_scale) - opacity))


def _check_finite(img: Image.Image) -> None:
    if img.mode == "F" and not np.isfinite(np.asarray(img)).all():
        raise _Refused(_NOT_FINITE)


def _reduce_in_bands(img: Image.Image, factor: tuple[int, int]) -> tuple[Image.Image, float]:
    """A large decoded picture -> F image `factor` times smaller on each axis, over white.

    Converting the whole picture at once would copy it once or twice more; one band of about
    _BAND_BYTES at a time keeps the peak at the decoded picture plus this small result. Each
    result pixel is the mean of the fx x fy pixels it covers, as BOX resizing would give.
    """
    fx, fy = factor
    width, height = img.size
    rows = fy * max(1, _BAND_BYTES // (width * 4 * fy))  # sized as its float copy, the largest
    reduced = Image.new("F", (-(-width // fx), -(-height // fy)))
    full_scale = 255.0
    for top in range(0, height, rows):
        band, full_scale = _gray(img.crop((0, top, width, min(top + rows, height))))
        band = _composited(band, full_scale)
        _check_finite(band)
        reduced.paste(band.reduce((fx, fy)), (0, top // fy))
    return reduced, full_scale


def _decode(img: Image.Image, shape: tuple[int, int] | None, max_side: int) -> np.ndarray:
    """A picture opened by Pillow -> grayscale float64 (H, W) in [0, 1], upright and resized."""
    # JPEG can decode straight to grayscale at 1/2, 1/4 or 1/8 size (never below the request): a
    # 12 MP photo for a 64x64 grid decodes about 10x faster in a 32nd of the memory. A square
    # request covers EXIF rotation too.
    full_size = img.size
    img.draft("L", (max(_target_size(img.size, shape, max_side)),) * 2)
    cost = _decode_cost(img, full_size)
    _check_cost(img, full_size, cost)
    with _decode_slot(cost):
        img.load()
        # EXIF (read once the pixels are, as PNG may store it after them) says how to turn the
        # stored picture upright; the large path rotates its small result instead of the picture.
        method, swap = _orientation(img)
        upright = img.size[::-1] if swap else img.size
        target = _target_size(upright, shape, max_side)
        if cost > _LARGE_DECODE_BYTES:
            stored_target = target[::-1] if swap else target
            factor = (max(img.size[0] // stored_target[0], 1), max(img.size[1] // stored_target[1], 1))
            decoded = img
            img, full_scale = _reduce_in_bands(decoded, factor)
            decoded.close()  # frees the decoded pixels now, not when the caller's `with` ends
        else:
            img, full_scale = _gray(img)
            _check_finite(img)
    if method is not None:
        img = img.transpose(method)

    if target != img.size:
        # Shrinking: BOX makes each new pixel the exact average of the pixels it covers (no
        # aliasing, and a grid cell is "the mean brightness under it"). Growing: BOX would copy
        # blocks, BILINEAR blends neighbours smoothly. Pillow premultiplies alpha when resizing LA.
        shrinking = target[0] <= img.size[0] and target[1] <= img.size[1]
        img = img.resize(target, Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)

    pixels = np.asarray(img, dtype=np.float64)  # (H, W) or (H, W, 2), at most 1024x1024: a copy
    img.close()
    if img.mode == "LA":
        gray, opacity = pixels[..., 0] / full_scale, pixels[..., 1] / full_scale
        # Composite over white: transparent parts of a logo read as white paper, not black.
        return np.clip(gray * opacity + (1.0 - opacity), 0.0, 1.0)
    if not np.isfinite(pixels).all():  # a float picture whose huge values overflowed in resizing
        raise _Refused(_NOT_FINITE)
    pixels /= full_scale
    return np.clip(pixels, 0.0, 1.0, out=pixels)


def load_image(
    data: bytes | str | os.PathLike | BinaryIO,
    shape: tuple[int, int] | None = None,
    *,
    max_side: int = MAX_SIDE,
) -> np.ndarray:
    """Any Pillow-readable picture -> grayscale float64 (H, W) in [0, 1], EXIF-upright, over white.

    `data` is the file's bytes, a path, or a binary file object (e.g. Streamlit's upload). With
    `shape`, the result is exactly (H, W); without, the size is kept but scaled down (aspect kept)
    so that the longer side is at most `max_side`.

    Memory: decoding holds at most MAX_DECODE_BYTES (checked from the header, before decoding),
    and one large decode runs at a time per process, so a server may call this from many
    sessions at once. Do not cache results by the upload's bytes: call it once per upload.

    Raises:
        ValueError: empty data, a missing file, not a picture, a damaged or truncated picture, a
            picture over MAX_PIXELS or whose decoding would need more than MAX_DECODE_BYTES
            (checked before decoding), NaN or infinity in a float picture, or a bad shape / max_side.
    """
    if shape is not None:
        shape = _check_shape(shape)
    if isinstance(max_side, (bool, np.bool_)) or not isinstance(max_side, (int, np.integer)) or max_side < 1:
        raise ValueError(f"max_side must be a whole number of pixels, 1 or more, got {describe(max_side)}")
    with _open(data) as img:
        _check_size(img)
        try:
            return _decode(img, shape, int(max_side))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # e.g. a later frame's size
            raise ValueError(_TOO_LARGE) from None
        except _Refused:
            raise
        # Decoding is where truncated and corrupt files fail (OSError, SyntaxError, EOFError...).
        except Exception as error:
            raise _damaged() from error


def _damaged() -> ValueError:
    return ValueError(
        "this picture is damaged or incomplete (perhaps cut short while copying): could not decode its pixels"
    )


# ------------------------------------------------------------------------------------------ edits

TRANSFORMS: tuple[str, ...] = ("transpose", "flip_lr", "flip_ud", "rotate", "invert", "clear")

_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "transpose": lambda X: X.T,
    "flip_lr": lambda X: X[:, ::-1],
    "flip_ud": lambda X: X[::-1, :],
    "rotate": lambda X: np.rot90(X, k=-1),  # k=-1: clockwise, as a phone rotates a photo
    "invert": lambda X: 1.0 - X,
    "clear": np.zeros_like,
}


def transform(X: np.ndarray, op: str) -> np.ndarray:
    """Edit an image: (H, W) -> (H, W), or (W, H) for transpose and rotate (90° clockwise).

    ops: transpose, flip_lr, flip_ud, rotate, invert (1 - X), clear (all zeros). Always a new
    contiguous float64 array, so the result can be painted on without touching X.
    """
    if op not in _TRANSFORMS:
        raise ValueError(f"unknown transform {describe(op)}: choose one of {', '.join(TRANSFORMS)}")
    return np.array(_TRANSFORMS[op](as_grid(X, "the image", finite=False)), dtype=np.float64, order="C")


def resize_grid(X: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Change a painted grid's size: (H, W) -> shape, keeping the top-left, cropping or padding with 0."""
    X = as_grid(X, "the image", finite=False)
    H, W = _check_shape(shape)
    out = np.zeros((H, W))
    h, w = min(H, X.shape[0]), min(W, X.shape[1])
    out[:h, :w] = X[:h, :w]
    return out


# --------------------------------------------------------------------------------------- colours

def _positive_number(value: object) -> bool:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    return value > 0 if isinstance(value, (int, np.integer)) else bool(math.isfinite(value) and value > 0)


def to_rgb(Z: np.ndarray, *, diverging: bool = True, vmax: float | None = None) -> np.ndarray:
    """Colour a grid as every ConvLab grid is coloured (`convlab.colour`): (H, W) -> (H, W, 3) uint8.

    diverging: the signed scale centred on 0: -vmax darkest blue (5, 48, 97), 0 the neutral near-white
    (247, 247, 247), +vmax darkest red (103, 0, 31), beyond ±vmax the end colours. vmax defaults to the
    grids' own range, `signed_scale(Z)`: max |Z| rounded up to a round number (all zeros: ±1). Not
    diverging: an image, grayscale on the fixed range 0..1 (0 black, 1 white, beyond it clipped), vmax
    unused.
    """
    Z = as_grid(Z, "the grid", finite=False)
    if not (np.isfinite(Z.min()) and np.isfinite(Z.max())):  # min/max propagate NaN: this covers every cell
        raise ValueError("the grid contains NaN or infinity: every cell needs a finite number to be coloured")
    if not diverging:
        return IMAGE.colours(Z)
    if vmax is None:
        return signed_scale(Z).colours(Z)
    if not _positive_number(vmax):
        raise ValueError(
            f"vmax must be a positive number (the value shown darkest red), got {describe(vmax)}"
        )
    # A whole number beyond float64 (10**400) colours every cell white, as the largest float does.
    top = float(min(int(vmax), sys.float_info.max)) if isinstance(vmax, (int, np.integer)) else float(vmax)
    return Scale("signed", -top, top).colours(Z)


def _rgba_reduced(img: Image.Image, factor: tuple[int, int]) -> Image.Image:
    """A decoded picture of any 8-bit mode -> RGBA `factor` times smaller, one band at a time.

    Converting the whole picture to RGBA first would hold up to four more bytes a pixel: a band of
    about _BAND_BYTES is converted and reduced at a time, as `_reduce_in_bands` does for gray.
    """
    fx, fy = factor
    width, height = img.size
    rows = fy * max(1, _BAND_BYTES // (width * 4 * fy))
    reduced = Image.new("RGBA", (-(-width // fx), -(-height // fy)))
    for top in range(0, height, rows):
        band = img.crop((0, top, width, min(top + rows, height))).convert("RGBA")
        reduced.paste(band.reduce((fx, fy)) if (fx, fy) != (1, 1) else band, (0, top // fy))
    return reduced


def load_image_rgb(data: bytes | str | os.PathLike | BinaryIO, shape: tuple[int, int]) -> np.ndarray:
    """Any Pillow-readable picture -> its red, green and blue channels, float64 (3, H, W) in [0, 1].

    Upright (EXIF) and over white like `load_image`, resized to exactly `shape` (a grid, at most
    1024 a side), under the same memory budget. 16-bit and float pictures, which have no colour
    channels to keep, come back as their gray level in all three channels.

    Raises:
        ValueError: as `load_image`.
    """
    shape = _check_shape(shape)
    with _open(data) as img:
        _check_size(img)
        if img.mode in ("I", "F") or img.mode.startswith("I;"):
            gray = load_image(data if isinstance(data, (str, os.PathLike)) else _rewound(data), shape)
            return np.repeat(gray[None], 3, axis=0)
        try:
            full_size = img.size
            img.draft("RGB", (max(shape[1], shape[0]),) * 2)
            cost = _decode_cost(img, full_size)
            _check_cost(img, full_size, cost)
            with _decode_slot(cost):
                img.load()
                method, swap = _orientation(img)
                target = (shape[1], shape[0])
                stored = target[::-1] if swap else target
                factor = (max(img.size[0] // stored[0], 1), max(img.size[1] // stored[1], 1))
                small = _rgba_reduced(img, factor)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValueError(_TOO_LARGE) from None
        except _Refused:
            raise
        except Exception as error:  # a damaged picture fails in its decoder's own way
            raise ValueError(_NOT_A_PICTURE) from error
    if method is not None:
        small = small.transpose(method)
    if small.size != target:
        shrinking = target[0] <= small.size[0] and target[1] <= small.size[1]
        small = small.resize(target, Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)
    pixels = np.asarray(small, dtype=np.float64) / 255.0  # (H, W, 4); Pillow resizes RGBA premultiplied
    rgb, opacity = pixels[..., :3], pixels[..., 3:]
    return np.clip(rgb * opacity + (1.0 - opacity), 0.0, 1.0).transpose(2, 0, 1).copy()


def _rewound(data: bytes | BinaryIO) -> bytes | BinaryIO:
    """The same upload again from its start (a file object `_open` has read)."""
    if hasattr(data, "seek"):
        data.seek(0)
    return data
