"""Max and average pooling of a grid (or a stack of channels), as F.max_pool2d and F.avg_pool2d.

Each output cell summarises one window of the input: its largest value, or its mean. The window
moves by `stride` (by default its own size, so windows do not overlap). Padding follows PyTorch:
max pooling never picks a padded cell (they count as −∞), and average pooling counts padded zeros
in the mean (count_include_pad=True), so a corner window over padding averages to less.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from convlab.grids import describe
from convlab.ops import IntPair, _pair

__all__ = ["pool2d", "pool_output_shape"]


def pool_output_shape(
    input_shape: tuple[int, int], size: IntPair, *, stride: IntPair | None = None, padding: IntPair = 0
) -> tuple[int, int]:
    """(H, W), window (h, w) -> (H', W') = ⌊(H + 2p − h) / s⌋ + 1 per axis, as PyTorch (ceil_mode off).

    Raises:
        ValueError: a window smaller than 1 or larger than the padded input, a stride below 1, or
            padding over half the window (PyTorch refuses it: a window could then be padding only).
    """
    h, w = _pair(size, "the pooling window")
    s = (h, w) if stride is None else _pair(stride, "the pooling stride")
    p = _pair(padding, "the pooling padding")
    if min(h, w) < 1:
        raise ValueError(f"the pooling window must be at least 1x1, got {describe(size)}")
    if min(s) < 1:
        raise ValueError(f"the pooling stride must be 1 or more, got {describe(stride)}")
    if min(p) < 0 or p[0] > h // 2 or p[1] > w // 2:
        raise ValueError(
            f"pooling padding must be 0 to half the window ({h // 2}, {w // 2}), got {describe(padding)}"
        )
    H, W = input_shape
    if h > H + 2 * p[0] or w > W + 2 * p[1]:
        raise ValueError(
            f"the pooling window {h}x{w} is larger than the (padded) input {H + 2 * p[0]}x{W + 2 * p[1]}"
        )
    return (H + 2 * p[0] - h) // s[0] + 1, (W + 2 * p[1] - w) // s[1] + 1


def pool2d(
    X: object,
    size: IntPair = 2,
    *,
    mode: Literal["max", "avg"] = "max",
    stride: IntPair | None = None,
    padding: IntPair = 0,
) -> np.ndarray:
    """(H, W) or (C, H, W) -> (H', W') or (C, H', W'): each window's maximum or mean.

    Raises:
        ValueError: not 2-D or 3-D, empty, non-finite cells, an unknown mode, or bad window settings.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"pooling is 'max' or 'avg', got {describe(mode)}")
    try:
        a = np.array(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"the input must be numbers, got {describe(X)}") from None
    if a.ndim not in (2, 3) or 0 in a.shape:
        raise ValueError(f"the input must be a non-empty (H, W) grid or (C, H, W) stack, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("the input holds NaN or infinity: every cell must be a finite number")
    stack = a if a.ndim == 3 else a[None]
    h, w = _pair(size, "the pooling window")
    sh, sw = (h, w) if stride is None else _pair(stride, "the pooling stride")
    ph, pw = _pair(padding, "the pooling padding")
    Ho, Wo = pool_output_shape(stack.shape[1:], (h, w), stride=(sh, sw), padding=(ph, pw))
    fill = -np.inf if mode == "max" else 0.0
    padded = np.pad(stack, ((0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    # windows[c, i, j] is the (h, w) window of output cell (i, j): a strided view, no copy.
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(1, 2))[:, ::sh, ::sw][
        :, :Ho, :Wo
    ]
    out = windows.max(axis=(-2, -1)) if mode == "max" else windows.mean(axis=(-2, -1))
    return out if a.ndim == 3 else out[0]
