"""Share links: a Playground state <-> short, URL-safe query parameters. Pure, no Streamlit.

Grids are stored exactly: a palette of the distinct float64 values plus one byte per cell when
there are at most 256 of them (painted grids, uploads quantised to 1/255), raw float64 otherwise,
zlib-compressed and base64url-encoded. The server reads the whole request head in 16 KiB, so
`encode_state` reports a link it cannot keep short.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import zlib
from dataclasses import dataclass

import numpy as np

from convlab.export import MODES
from convlab.kernels import MAX_KERNEL_SIDE
from convlab.ops import output_shape

MAX_LINK_CHARS = 12_000  # stays below the server's 16 KiB request-head limit with room for headers
INPUT_SIDES = (3, 64)  # the paint grid's smallest and largest side
KERNEL_SIDES = (1, MAX_KERNEL_SIDE)
PADDING = (0, 8)
STRIDE = (1, 8)
DILATION = (1, 8)
VALUE_LIMIT = 1e6  # the largest magnitude the brush paints or a kernel cell takes when typed


class ShareLinkError(ValueError):
    """A share link that cannot be read back; the message says why in a learner's words and is
    safe to show in Markdown (it never contains text taken from the link)."""


@dataclass(frozen=True)
class PlaygroundState:
    """Everything a Playground link restores. Grids are (H, W) and (h, w) float64."""

    X: np.ndarray
    K: np.ndarray
    mode: str = "correlation"
    padding: tuple[int, int] = (0, 0)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    bias: float = 0.0
    cell: tuple[int, int] = (0, 0)  # the output cell being explained


def encode_grid(A: np.ndarray) -> str:
    """(H, W) float grid -> 'HxW.<base64url>' that decode_grid restores bit for bit."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    palette, index = np.unique(A, return_inverse=True)
    if palette.size <= 256:
        payload = b"P" + bytes([palette.size - 1]) + palette.tobytes() + index.astype(np.uint8).tobytes()
    else:
        payload = b"R" + A.tobytes()
    packed = base64.urlsafe_b64encode(zlib.compress(payload, 9)).rstrip(b"=").decode()
    return f"{A.shape[0]}x{A.shape[1]}.{packed}"


_DIMS = re.compile(r"([0-9]{1,4})x([0-9]{1,4})")
_PACKED = re.compile(r"[A-Za-z0-9_-]*")


def decode_grid(
    text: str, *, max_side: int = INPUT_SIDES[1], min_side: int = 1, name: str = "the grid"
) -> np.ndarray:
    """'HxW.<base64url>' -> (H, W) float64 with sides in min_side..max_side and cells within
    ±VALUE_LIMIT; anything else raises ShareLinkError in a learner's words, never echoing the text."""
    damaged = ShareLinkError(
        f"{name} in the link is damaged, truncated or in an unknown grid format (perhaps the link was "
        "cut short when it was copied)"
    )
    dims, _, packed = text.partition(".") if isinstance(text, str) else ("", "", "")
    match = _DIMS.fullmatch(dims)
    if match is None or not _PACKED.fullmatch(packed):
        raise damaged
    H, W = int(match[1]), int(match[2])
    outside = ShareLinkError(
        f"{name} in the link is {H}x{W}, outside the {min_side} to {max_side} rows and columns "
        "the Playground's grids can have"
    )
    if not (1 <= H <= max_side and 1 <= W <= max_side):  # before inflating: it caps the allocation
        raise outside
    try:
        raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
        # Cap the inflated size: a crafted link must not make the server allocate gigabytes.
        payload = zlib.decompressobj().decompress(raw, 2 + 256 * 8 + H * W * 8 + 1)
    except (ValueError, binascii.Error, zlib.error):
        raise damaged from None
    if payload[:1] == b"P" and len(payload) >= 2 and len(payload) == 2 + 8 * (payload[1] + 1) + H * W:
        n = payload[1] + 1
        palette = np.frombuffer(payload[2 : 2 + 8 * n], dtype=np.float64)
        index = np.frombuffer(payload[2 + 8 * n :], dtype=np.uint8)
        if index.max(initial=0) >= n:
            raise damaged
        A = palette[index].reshape(H, W)
    elif payload[:1] == b"R" and len(payload) == 1 + 8 * H * W:
        A = np.frombuffer(payload[1:], dtype=np.float64).reshape(H, W)
    else:
        raise damaged
    if not np.isfinite(A).all():
        raise ShareLinkError(f"{name} in the link holds a cell that is not a number (NaN or infinity)")
    if np.abs(A).max() > VALUE_LIMIT:
        raise ShareLinkError(
            f"{name} in the link holds numbers beyond ±{VALUE_LIMIT:,.0f}, more than the Playground "
            "lets you paint or type"
        )
    if min(H, W) < min_side:
        raise outside
    return A.copy()


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


_PAIR = re.compile(r"([0-9]{1,3})(?:,([0-9]{1,3}))?")


def _parse_pair(text: str, name: str, low: int, high: int) -> tuple[int, int]:
    """'3' or '3,4' -> (3, 3) or (3, 4), each in low..high; the text itself never reaches a message."""
    match = _PAIR.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ShareLinkError(f"the link's {name} must be one or two whole numbers from {low} to {high}")
    first = int(match[1])
    second = first if match[2] is None else int(match[2])
    if not (low <= first <= high and low <= second <= high):
        raise ShareLinkError(f"the link's {name} must be one or two whole numbers from {low} to {high}")
    return first, second


def encode_state(state: PlaygroundState) -> dict[str, str]:
    """A PlaygroundState -> query parameters (only the ones that differ from the defaults)."""
    params = {"x": encode_grid(state.X), "k": encode_grid(state.K)}
    if state.mode != "correlation":
        params["mode"] = state.mode
    for name, pair, default in (("p", state.padding, 0), ("s", state.stride, 1), ("d", state.dilation, 1)):
        if pair != (default, default):
            params[name] = _pair_text(pair)
    if state.bias:
        params["b"] = repr(float(state.bias))
    if state.cell != (0, 0):
        params["cell"] = f"{state.cell[0]},{state.cell[1]}"
    return params


def decode_state(params: dict[str, str]) -> PlaygroundState:
    """Query parameters -> a PlaygroundState the Playground's widgets can show.

    Raises:
        ShareLinkError: anything missing, damaged or out of the widgets' ranges, in a learner's
            words; messages never contain the link's own text (it could hold Markdown or HTML).
    """
    if "x" not in params or "k" not in params:
        raise ShareLinkError("the link has no input grid or kernel")
    X = decode_grid(params["x"], min_side=INPUT_SIDES[0], max_side=INPUT_SIDES[1], name="the input grid")
    K = decode_grid(params["k"], min_side=KERNEL_SIDES[0], max_side=KERNEL_SIDES[1], name="the kernel")
    mode = params.get("mode", "correlation")
    if mode not in MODES:
        raise ShareLinkError("the link's mode is neither correlation nor convolution")
    bias = _parse_bias(params.get("b", "0"))
    padding = _parse_pair(params.get("p", "0"), "padding", *PADDING)
    stride = _parse_pair(params.get("s", "1"), "stride", *STRIDE)
    dilation = _parse_pair(params.get("d", "1"), "dilation", *DILATION)
    cell = _parse_pair(params.get("cell", "0"), "explained cell", 0, INPUT_SIDES[1] + 2 * PADDING[1])
    try:
        Ho, Wo = output_shape(X.shape, K.shape, padding=padding, stride=stride, dilation=dilation)
    except ValueError:
        Ho = Wo = None  # a kernel larger than the padded input: the page explains that itself
    if Ho is not None and not (cell[0] < Ho and cell[1] < Wo):
        raise ShareLinkError(f"the link's explained cell {cell[0]},{cell[1]} is outside the {Ho}x{Wo} output")
    return PlaygroundState(
        X=X, K=K, mode=mode, padding=padding, stride=stride, dilation=dilation, bias=bias, cell=cell
    )


def _parse_bias(text: str) -> float:
    """The bias as the link writes it (repr of a float), refusing anything else without echoing it."""
    if not isinstance(text, str) or len(text) > 32 or not _FLOAT.fullmatch(text):
        raise ShareLinkError("the link's bias is not a number")
    bias = float(text)
    if not math.isfinite(bias):
        raise ShareLinkError("the link's bias is not a finite number")
    return bias


_FLOAT = re.compile(r"[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|inf|infinity|nan)", re.I)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&\"'=^])")


def escape_markdown(text: str, *, max_chars: int = 80) -> str:
    """User-originated text (an upload's name, a typed value) -> text that Streamlit's Markdown
    shows literally: every punctuation mark backslash-escaped (no links, images, emphasis, HTML,
    math, emoji or colour directives, no autolinked URLs), line breaks and control characters
    as spaces, cut to `max_chars` characters with an ellipsis."""
    text = "".join(" " if not ch.isprintable() else ch for ch in str(text))
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def link_length(params: dict[str, str]) -> int:
    """Characters the query string of `params` takes."""
    return sum(len(k) + len(v) + 2 for k, v in params.items())
