"""Share links: a Playground state <-> short, URL-safe query parameters. Pure, no Streamlit.

Grids are stored exactly: a palette of the distinct float64 values plus one byte per cell when
there are at most 256 of them (painted grids, uploads quantised to 1/255), raw float64 otherwise,
zlib-compressed and base64url-encoded. The server reads the whole request head in 16 KiB, so
`encode_state` reports a link it cannot keep short.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass

import numpy as np

from convlab.export import MODES
from convlab.kernels import MAX_KERNEL_SIDE

MAX_LINK_CHARS = 12_000  # stays below the server's 16 KiB request-head limit with room for headers
INPUT_SIDES = (3, 64)  # the paint grid's smallest and largest side
KERNEL_SIDES = (1, MAX_KERNEL_SIDE)
PADDING = (0, 8)
STRIDE = (1, 8)
DILATION = (1, 8)


class ShareLinkError(ValueError):
    """A share link that cannot be read back."""


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


def decode_grid(text: str, *, max_side: int = 64) -> np.ndarray:
    """'HxW.<base64url>' -> (H, W) float64; anything malformed raises ShareLinkError."""
    try:
        dims, packed = text.split(".", 1)
        H, W = (int(n) for n in dims.split("x"))
        if not (1 <= H <= max_side and 1 <= W <= max_side):
            raise ShareLinkError(f"grid size {H}x{W} is outside 1..{max_side}")
        raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
        # Cap the inflated size: a crafted link must not make the server allocate gigabytes.
        payload = zlib.decompressobj().decompress(raw, 2 + 256 * 8 + H * W * 8 + 1)
        if payload[:1] == b"P":
            n = payload[1] + 1
            if len(payload) != 2 + 8 * n + H * W:
                raise ShareLinkError("grid data is truncated")
            palette = np.frombuffer(payload[2 : 2 + 8 * n], dtype=np.float64)
            index = np.frombuffer(payload[2 + 8 * n :], dtype=np.uint8)
            if index.max(initial=0) >= n:
                raise ShareLinkError("grid data points outside its palette")
            A = palette[index].reshape(H, W)
        elif payload[:1] == b"R":
            if len(payload) != 1 + 8 * H * W:
                raise ShareLinkError("grid data is truncated")
            A = np.frombuffer(payload[1:], dtype=np.float64).reshape(H, W)
        else:
            raise ShareLinkError("unknown grid format")
    except ShareLinkError:
        raise
    except (ValueError, IndexError, binascii.Error, zlib.error) as exc:
        raise ShareLinkError(f"grid data is damaged ({exc})") from None
    if not np.isfinite(A).all():
        raise ShareLinkError("grid holds NaN or infinity")
    return A.copy()


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


def _parse_pair(text: str, name: str, low: int, high: int) -> tuple[int, int]:
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        raise ShareLinkError(f"{name} {text!r} is not a whole number") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not all(low <= p <= high for p in parts):
        raise ShareLinkError(f"{name} {text!r} must be one or two numbers in {low}..{high}")
    return parts[0], parts[1]


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
    """Query parameters -> PlaygroundState; raises ShareLinkError naming what is wrong."""
    if "x" not in params or "k" not in params:
        raise ShareLinkError("the link has no input grid or kernel")
    X = decode_grid(params["x"], max_side=INPUT_SIDES[1])
    K = decode_grid(params["k"], max_side=KERNEL_SIDES[1])
    mode = params.get("mode", "correlation")
    if mode not in MODES:
        raise ShareLinkError(f"mode {mode!r} is neither correlation nor convolution")
    try:
        bias = float(params.get("b", "0"))
    except ValueError:
        raise ShareLinkError(f"bias {params['b']!r} is not a number") from None
    if not np.isfinite(bias):
        raise ShareLinkError("bias is not finite")
    cell = _parse_pair(params.get("cell", "0"), "cell", 0, INPUT_SIDES[1] + 2 * PADDING[1])
    return PlaygroundState(
        X=X,
        K=K,
        mode=mode,
        padding=_parse_pair(params.get("p", "0"), "padding", *PADDING),
        stride=_parse_pair(params.get("s", "1"), "stride", *STRIDE),
        dilation=_parse_pair(params.get("d", "1"), "dilation", *DILATION),
        bias=bias,
        cell=cell,
    )


def link_length(params: dict[str, str]) -> int:
    """Characters the query string of `params` takes."""
    return sum(len(k) + len(v) + 2 for k, v in params.items())
