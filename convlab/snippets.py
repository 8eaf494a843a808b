"""Runnable PyTorch scripts for the Layers page's views: channels, two stacked layers, the matrix, the
transposed convolution. Each assigns its inputs exactly and prints the numbers the page shows.

Like `convlab.export.pytorch_snippet`, every script imports only torch, so a learner can paste it
anywhere; the tests execute each one and compare what it computes with the core.
"""

from __future__ import annotations

import textwrap

import numpy as np

from convlab.ops import IntPair
from convlab.ops import _settings as _checked

__all__ = ["channels_snippet", "matrix_snippet", "transposed_snippet", "two_layers_snippet"]


def _literal(name: str, A: np.ndarray, comment: str) -> str:
    """Source that rebuilds A exactly as a float64 tensor of its shape (values row by row)."""
    A = np.asarray(A, dtype=np.float64)
    values = textwrap.wrap(", ".join(repr(float(v)) for v in A.ravel()), width=96, initial_indent="    ",
                           subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)
    shape = ", ".join(str(n) for n in A.shape)
    closing = f"], dtype=torch.float64).reshape({shape})"
    return "\n".join([f"# {comment}", f"{name} = torch.tensor([", *values, closing])


def _settings(padding: IntPair, stride: IntPair, dilation: IntPair) -> str:
    (ph, pw), (sh, sw), (dh, dw) = _checked(padding, stride, dilation)
    return f"padding=({ph}, {pw}), stride=({sh}, {sw}), dilation=({dh}, {dw})"


def _script(title: str, *parts: str) -> str:
    return "\n\n".join([f"# ConvLab: {title}, in plain PyTorch.", "import torch",
                        "import torch.nn.functional as F", *parts]) + "\n"


def channels_snippet(X: np.ndarray, K: np.ndarray, bias: np.ndarray, *, padding: IntPair = 0,
                     stride: IntPair = 1, dilation: IntPair = 1) -> str:
    """A script computing Y (O, H', W') from X (C, H, W), K (O, C, h, w) and bias (O,) with F.conv2d."""
    X, K, bias = (np.asarray(A, dtype=np.float64) for A in (X, K, bias))
    C, O = X.shape[0], K.shape[0]
    return _script(
        f"{C} input channel(s) to {O} output channel(s)",
        _literal("X", X, f"The input: {C} channel(s) of {X.shape[1]}x{X.shape[2]}."),
        _literal("K", K, f"The kernel: one {K.shape[2]}x{K.shape[3]} slice per (output, input) channel."),
        _literal("b", bias, "One bias per output channel."),
        "# Each output channel o sums, over the input channels c, corr2d(X[c], K[o, c]), plus b[o].\n"
        "# conv2d takes a batch: one image here, so X gains a leading 1 and Y loses it.\n"
        f"Y = F.conv2d(X[None], K, b, {_settings(padding, stride, dilation)})[0]\n"
        "print(Y)",
    )


def two_layers_snippet(X: np.ndarray, K1: np.ndarray, K2: np.ndarray, *, relu: bool, pool: str | None,
                       padding1: int = 0, padding2: int = 0) -> str:
    """A script computing X (H, W) -> conv K1 -> [ReLU] -> [2x2 pooling] -> conv K2, printing each map."""
    X, K1, K2 = (np.asarray(A, dtype=np.float64) for A in (X, K1, K2))
    steps = [f"H1 = F.conv2d(X[None, None], K1[None, None], padding={int(padding1)})"]
    if relu:
        steps.append("H1 = F.relu(H1)")
    after = "H1"
    if pool is not None:
        steps.append(f"P = F.{'max' if pool == 'max' else 'avg'}_pool2d(H1, 2)  # 2x2 windows, stride 2")
        after = "P"
    steps.append(f"Y = F.conv2d({after}, K2[None, None], padding={int(padding2)})")
    prints = ["print('H1 =', H1[0, 0])", *(["print('P =', P[0, 0])"] if pool else []),
              "print('Y =', Y[0, 0])"]
    return _script(
        "two stacked layers",
        _literal("X", X, f"The input: {X.shape[0]}x{X.shape[1]}."),
        _literal("K1", K1, "The first layer's kernel."),
        _literal("K2", K2, "The second layer's kernel."),
        "\n".join(steps),
        "\n".join(prints),
    )


def matrix_snippet(X: np.ndarray, K: np.ndarray, *, padding: IntPair = 0, stride: IntPair = 1,
                   dilation: IntPair = 1) -> str:
    """A script building M (H'W', HW) and im2col (H'W', hw) for X (H, W), K (h, w); both products = Y."""
    X, K = np.asarray(X, dtype=np.float64), np.asarray(K, dtype=np.float64)
    (H, W), (h, w) = X.shape, K.shape
    settings = _settings(padding, stride, dilation)
    return _script(
        "cross-correlation as a matrix product",
        _literal("X", X, f"The input: {H}x{W}."),
        _literal("K", K, f"The kernel: {h}x{w}."),
        f"Y = F.conv2d(X.view(1, 1, {H}, {W}), K.view(1, 1, {h}, {w}), {settings})[0, 0]",
        "# Column n of M is the output for the input that is 1 at cell n and 0 elsewhere: correlation\n"
        "# is linear, so M @ X.flatten() adds those columns up with X's values as weights.\n"
        f"units = torch.eye({H * W}, dtype=torch.float64).view({H * W}, 1, {H}, {W})\n"
        f"M = F.conv2d(units, K.view(1, 1, {h}, {w}), {settings}).flatten(1).T\n"
        "# im2col: every window of X as a row (zeros where it reads the padding), times K flattened.\n"
        f"windows = F.unfold(X.view(1, 1, {H}, {W}), ({h}, {w}), {settings})[0].T",
        "print('M =', M)\n"
        "print('M @ vec(X) =', M @ X.flatten())\n"
        "print('im2col(X) @ vec(K) =', windows @ K.flatten())\n"
        "print('Y =', Y)\n"
        "assert torch.allclose(M @ X.flatten(), Y.flatten())\n"
        "assert torch.allclose(windows @ K.flatten(), Y.flatten())",
    )


def transposed_snippet(X: np.ndarray, K: np.ndarray, *, stride: IntPair = 1, padding: IntPair = 0) -> str:
    """A script computing the transposed convolution Z of X (H, W) with K (h, w) by F.conv_transpose2d."""
    X, K = np.asarray(X, dtype=np.float64), np.asarray(K, dtype=np.float64)
    (H, W), (h, w) = X.shape, K.shape
    (ph, pw), (sh, sw), _ = _checked(padding, stride, 1)
    return _script(
        "the transposed convolution",
        _literal("X", X, f"The input: {H}x{W}."),
        _literal("K", K, f"The kernel: {h}x{w}."),
        "# Every X[i, j] adds X[i, j] * K into Z at (i * stride, j * stride); padding crops the border.\n"
        f"Z = F.conv_transpose2d(X.view(1, 1, {H}, {W}), K.view(1, 1, {h}, {w}), "
        f"stride=({sh}, {sw}), padding=({ph}, {pw}))[0, 0]\n"
        "print(Z)",
    )
