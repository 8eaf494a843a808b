"""Several channels in and out: each output channel sums the correlations of every input channel
with its own kernel slice, plus that output channel's bias — `F.conv2d` with batch 1, no groups.

Shapes follow PyTorch: an input is (C, H, W), a kernel (O, C, h, w), a bias (O,), an output
(O, H', W'). A 1x1 kernel mixes channels cell by cell: Y[o] = Σ_c K[o, c] · X[c] + b[o].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convlab.grids import describe
from convlab.ops import IntPair, corr2d, output_shape

__all__ = ["ChannelExplanation", "corr2d_multi_in", "corr2d_multi_in_out", "explain_channels"]

# Channel counts far beyond what a learner paints (3 in, 4 out on screen); the core allows more.
MAX_CHANNELS = 64


def _stack(A: object, ndim: int, name: str, shape_words: str) -> np.ndarray:
    """A finite real array of `ndim` dimensions, none empty, as float64 (a copy)."""
    try:
        a = np.array(A, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers, got {describe(A)}") from None
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D {shape_words}, got shape {a.shape}")
    if 0 in a.shape:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinity: every cell must be a finite number")
    return a


def _channels(X: object, K: object) -> tuple[np.ndarray, np.ndarray]:
    """Validated input (C, H, W) and kernel (O, C, h, w) with matching channel counts."""
    Xa = _stack(X, 3, "the input", "(channels, rows, columns)")
    Ka = _stack(K, 4, "the kernel", "(out channels, in channels, rows, columns)")
    if Xa.shape[0] > MAX_CHANNELS or Ka.shape[0] > MAX_CHANNELS:
        raise ValueError(
            f"at most {MAX_CHANNELS} channels in and out, got {Xa.shape[0]} in and {Ka.shape[0]} out"
        )
    if Ka.shape[1] != Xa.shape[0]:
        raise ValueError(
            f"the kernel has {Ka.shape[1]} input channel(s) but the input has {Xa.shape[0]}: "
            "each output channel needs one kernel slice per input channel"
        )
    return Xa, Ka


def corr2d_multi_in(
    X: object, K: object, *, padding: IntPair = 0, stride: IntPair = 1, dilation: IntPair = 1
) -> np.ndarray:
    """(C, H, W), (C, h, w) -> (H', W'): the sum over channels of corr2d(X[c], K[c]).

    Raises:
        ValueError: wrong dimensions, channel counts that differ, non-finite cells, bad settings.
    """
    Xa = _stack(X, 3, "the input", "(channels, rows, columns)")
    Ka = _stack(K, 3, "the kernel", "(channels, rows, columns)")
    Y = corr2d_multi_in_out(Xa, Ka[None], padding=padding, stride=stride, dilation=dilation)
    return Y[0]


def corr2d_multi_in_out(
    X: object,
    K: object,
    bias: object = None,
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """(C, H, W), (O, C, h, w), bias (O,) or None -> (O, H', W'), as F.conv2d on a batch of one.

    Raises:
        ValueError: wrong dimensions, channel counts that differ, a bias that is not one number per
            output channel, non-finite cells, bad settings, or a kernel larger than the padded input.
    """
    Xa, Ka = _channels(X, K)
    O, C = Ka.shape[:2]
    b = np.zeros(O) if bias is None else np.array(bias, dtype=np.float64).reshape(-1)
    if b.shape != (O,) or not np.isfinite(b).all():
        raise ValueError(
            f"the bias must be {O} finite number(s), one per output channel, got {describe(bias)}"
        )
    Ho, Wo = output_shape(Xa.shape[1:], Ka.shape[2:], padding=padding, stride=stride, dilation=dilation)
    Y = np.empty((O, Ho, Wo))
    for o in range(O):
        Y[o] = b[o]
        for c in range(C):
            Y[o] += corr2d(Xa[c], Ka[o, c], padding=padding, stride=stride, dilation=dilation)
    return Y


@dataclass(frozen=True)
class ChannelExplanation:
    """How output cell Y[o, i, j] is computed: one window · kernel-slice sum per input channel, plus b[o]."""

    o: int
    i: int
    j: int
    sums: tuple[float, ...]  # (C,) Σ window_c ⊙ K[o, c]
    bias: float
    value: float  # sum(sums) + bias


def explain_channels(
    X: object,
    K: object,
    o: int,
    i: int,
    j: int,
    bias: object = None,
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> ChannelExplanation:
    """The per-channel sums behind Y[o, i, j] of `corr2d_multi_in_out` (same arguments).

    Raises:
        ValueError: as corr2d_multi_in_out, or a cell outside the output.
    """
    Xa, Ka = _channels(X, K)
    Y = corr2d_multi_in_out(Xa, Ka, bias, padding=padding, stride=stride, dilation=dilation)
    if not (0 <= o < Y.shape[0] and 0 <= i < Y.shape[1] and 0 <= j < Y.shape[2]):
        raise ValueError(f"cell ({o}, {i}, {j}) is outside the output of shape {Y.shape}")
    sums = tuple(
        float(corr2d(Xa[c], Ka[o, c], padding=padding, stride=stride, dilation=dilation)[i, j])
        for c in range(Xa.shape[0])
    )
    b = 0.0 if bias is None else float(np.asarray(bias, dtype=np.float64).reshape(-1)[o])
    return ChannelExplanation(o, i, j, sums, b, float(Y[o, i, j]))
