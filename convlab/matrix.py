"""Cross-correlation as a matrix product, both ways, and the transposed convolution.

- `conv_matrix(K, (H, W))` is the (H'·W', H·W) matrix whose product with the flattened input is the
  flattened output: row r = i·W' + j holds K's weights at the input cells window (i, j) reads, and
  zeros elsewhere (taps in the padding read zeros, so they have no column).
- `im2col(X, (h, w))` is the (H'·W', h·w) matrix of windows, one per row: times the flattened kernel
  it gives the flattened output too. This is how libraries compute convolutions with one GEMM.
- `conv_transpose2d(X, K)` scatters a copy of K, scaled by each input cell, into the output at
  `stride` steps, then crops `padding` — F.conv_transpose2d on one channel. It is the product with
  the transpose of `conv_matrix` (for the input size that correlation would map to X's size), which
  is where its name comes from; overlapping copies add up, so a 3x3 kernel at stride 2 leaves a
  checkerboard of doubled cells.
"""

from __future__ import annotations

import numpy as np

from convlab.grids import as_grid
from convlab.ops import IntPair, _pair, _settings, output_shape

__all__ = ["conv_matrix", "conv_transpose2d", "im2col", "transposed_output_shape", "transposed_sources"]

# The matrix views are for small grids (the app draws them up to 8x8): a 64x64 input would already
# make a 16-million-cell matrix.
MAX_MATRIX_CELLS = 1 << 22


def _taps(
    input_shape: tuple[int, int],
    kernel_shape: tuple[int, int],
    padding: IntPair,
    stride: IntPair,
    dilation: IntPair,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """For every (output cell, tap): the row index r, the tap index t, the input cell read (or −1
    in the padding), and (H', W')."""
    settings = _settings(padding, stride, dilation)
    (ph, pw), (sh, sw), (dh, dw) = settings
    H, W = input_shape
    h, w = kernel_shape
    Ho, Wo = output_shape((H, W), (h, w), padding=padding, stride=stride, dilation=dilation)
    i, j, a, b = np.meshgrid(np.arange(Ho), np.arange(Wo), np.arange(h), np.arange(w), indexing="ij")
    rows, cols = i * sh - ph + a * dh, j * sw - pw + b * dw
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
    cell = np.where(inside, rows * W + cols, -1)
    return (i * Wo + j).ravel(), (a * w + b).ravel(), cell.ravel(), (Ho, Wo)


def _check_size(rows: int, cols: int) -> None:
    if rows * cols > MAX_MATRIX_CELLS:
        raise ValueError(
            f"that matrix would be {rows}x{cols}: too large to build (use grids up to about 32x32)"
        )


def conv_matrix(
    K: object,
    input_shape: tuple[int, int],
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """(h, w), (H, W) -> (H'·W', H·W) matrix M with M @ X.ravel() == corr2d(X, K).ravel().

    Raises:
        ValueError: a bad kernel, shape or settings, or a matrix too large to build.
    """
    Ka = as_grid(K, "the kernel")
    H, W = (int(n) for n in input_shape)
    r, t, cell, (Ho, Wo) = _taps((H, W), Ka.shape, padding, stride, dilation)
    _check_size(Ho * Wo, H * W)
    M = np.zeros((Ho * Wo, H * W))
    keep = cell >= 0
    # A cell is read by at most one tap of a window, so plain assignment is exact (no repeated index).
    M[r[keep], cell[keep]] = Ka.ravel()[t[keep]]
    return M


def im2col(
    X: object,
    kernel_shape: tuple[int, int],
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """(H, W), (h, w) -> (H'·W', h·w): row i·W' + j is window (i, j) flattened (padding reads 0).

    im2col(X, K.shape) @ K.ravel() == corr2d(X, K).ravel().

    Raises:
        ValueError: a bad input, kernel shape or settings, or a matrix too large to build.
    """
    Xa = as_grid(X, "the input")
    h, w = (int(n) for n in kernel_shape)
    r, t, cell, (Ho, Wo) = _taps(Xa.shape, (h, w), padding, stride, dilation)
    _check_size(Ho * Wo, h * w)
    cols = np.zeros((Ho * Wo, h * w))
    keep = cell >= 0
    cols[r[keep], t[keep]] = Xa.ravel()[cell[keep]]
    return cols


def transposed_output_shape(
    input_shape: tuple[int, int],
    kernel_shape: tuple[int, int],
    *,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    dilation: IntPair = 1,
) -> tuple[int, int]:
    """(H, W), (h, w) -> (H', W') with H' = (H − 1)·s − 2p + d·(h − 1) + output_padding + 1, as PyTorch.

    Raises:
        ValueError: bad settings, output padding not smaller than the stride or the dilation (PyTorch's
            rule), or no output left after cropping the padding.
    """
    (ph, pw), (sh, sw), (dh, dw) = _settings(padding, stride, dilation)
    oh, ow = _pair(output_padding, "output padding")
    if oh < 0 or ow < 0 or oh >= max(sh, dh) or ow >= max(sw, dw):
        raise ValueError("output padding must be 0 or more and smaller than the stride or the dilation")
    H, W = input_shape
    h, w = kernel_shape
    out = ((H - 1) * sh - 2 * ph + dh * (h - 1) + oh + 1, (W - 1) * sw - 2 * pw + dw * (w - 1) + ow + 1)
    if min(out) < 1:
        raise ValueError(f"padding {ph},{pw} crops the whole {out[0] + 2 * ph}x{out[1] + 2 * pw} output away")
    return out


def conv_transpose2d(
    X: object,
    K: object,
    *,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    dilation: IntPair = 1,
) -> np.ndarray:
    """(H, W), (h, w) -> (H', W'): every X[i, j]·K added at (i·s, j·s), then `padding` cropped off each
    side — F.conv_transpose2d on one channel.

    Raises:
        ValueError: a bad input or kernel, or bad settings (see transposed_output_shape).
    """
    Xa, Ka = as_grid(X, "the input"), as_grid(K, "the kernel")
    Ho, Wo = transposed_output_shape(
        Xa.shape, Ka.shape, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
    )
    (ph, pw), (sh, sw), (dh, dw) = _settings(padding, stride, dilation)
    (H, W), (h, w) = Xa.shape, Ka.shape
    _check_size(Ho + 2 * ph, Wo + 2 * pw)
    full = np.zeros((Ho + 2 * ph, Wo + 2 * pw))
    for a in range(h):
        for b in range(w):
            # Tap (a, b) of every scattered copy: one strided slice, scaled by the whole input at once.
            full[a * dh : a * dh + (H - 1) * sh + 1 : sh, b * dw : b * dw + (W - 1) * sw + 1 : sw] += (
                Xa * Ka[a, b]
            )
    return full[ph : ph + Ho, pw : pw + Wo]


def transposed_sources(
    input_shape: tuple[int, int],
    kernel_shape: tuple[int, int],
    cell: tuple[int, int],
    *,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The terms of output cell `cell` of `conv_transpose2d`: [((r, c) of X, (a, b) of K)], row by row.

    Z[i, j] = Σ X[r, c]·K[a, b] over these pairs; a cell no copy reaches has none (it stays 0).

    Raises:
        ValueError: bad settings, or a cell outside the output.
    """
    (ph, pw), (sh, sw), (dh, dw) = _settings(padding, stride, dilation)
    Ho, Wo = transposed_output_shape(input_shape, kernel_shape, stride=(sh, sw), padding=(ph, pw),
                                     dilation=(dh, dw))
    i, j = (int(v) for v in cell)
    if not (0 <= i < Ho and 0 <= j < Wo):
        raise ValueError(f"cell ({i}, {j}) is outside the {Ho}x{Wo} output")
    (H, W), (h, w) = input_shape, kernel_shape
    rows = [(r, a) for r in range(H) for a in range(h) if r * sh + a * dh == i + ph]
    cols = [(c, b) for c in range(W) for b in range(w) if c * sw + b * dw == j + pw]
    return [((r, c), (a, b)) for r, a in rows for c, b in cols]
