"""2D cross-correlation and convolution of one-channel grids: the lesson's operation, made exact and fast.

`corr2d` follows `torch.nn.functional.conv2d` to the letter for padding, stride and dilation, but
on a single 2-D input and a single 2-D kernel. numpy in gives numpy out; torch in gives torch out
with gradients flowing to both `X` and `K`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import torch
import torch.nn.functional as F

Array: TypeAlias = np.ndarray | torch.Tensor
IntPair: TypeAlias = int | tuple[int, int]

# Below this many multiply-adds (output cells x kernel taps) one F.conv2d call is cheapest; above
# it, h*w shifted multiply-adds over strided views win, because F.conv2d's one-channel path pads
# the single output channel to 16 (measured in benchmarks/bench_core.py).
_SHIFTED_MIN_WORK = 1 << 16

__all__ = [
    "CellExplanation",
    "conv2d",
    "corr2d",
    "corr2d_loop",
    "explain_cell",
    "output_shape",
]


def _pair(value: IntPair, name: str) -> tuple[int, int]:
    """An int or an (h, w) pair -> (h, w), refusing anything that is not a whole number."""
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be one whole number or a pair (rows, columns), got {value!r}")
    out = []
    for v in pair:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{name} must be a whole number, got {v!r}")
        out.append(int(v))
    return out[0], out[1]


def _settings(padding: IntPair, stride: IntPair, dilation: IntPair):
    """Validated ((ph, pw), (sh, sw), (dh, dw))."""
    p, s, d = _pair(padding, "padding"), _pair(stride, "stride"), _pair(dilation, "dilation")
    if min(p) < 0:
        raise ValueError(f"padding must be 0 or more, got {padding!r}")
    if min(s) < 1:
        raise ValueError(f"stride must be 1 or more, got {stride!r}")
    if min(d) < 1:
        raise ValueError(f"dilation must be 1 or more, got {dilation!r}")
    return p, s, d


def _fmt(shape: tuple[int, int]) -> str:
    return f"{shape[0]}x{shape[1]}"


def output_shape(
    input_shape: tuple[int, int],
    kernel_shape: tuple[int, int],
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> tuple[int, int]:
    """(H, W), (h, w) -> (H', W') with H' = (H + 2p - d(h - 1) - 1) // s + 1, as F.conv2d.

    Raises:
        ValueError: a shape that is not 2-D or empty, bad settings, or a kernel that (dilated)
            is larger than the padded input.
    """
    (ph, pw), (sh, sw), (dh, dw) = _settings(padding, stride, dilation)
    if len(input_shape) != 2 or len(kernel_shape) != 2:
        raise ValueError(
            f"input and kernel must be 2-D grids, got shapes {tuple(input_shape)} and {tuple(kernel_shape)}"
        )
    H, W = (int(n) for n in input_shape)
    h, w = (int(n) for n in kernel_shape)
    if min(H, W) < 1:
        raise ValueError(f"the input is empty (shape {H}x{W})")
    if min(h, w) < 1:
        raise ValueError(f"the kernel is empty (shape {h}x{w})")
    span = (dh * (h - 1) + 1, dw * (w - 1) + 1)
    padded = (H + 2 * ph, W + 2 * pw)
    if span[0] > padded[0] or span[1] > padded[1]:
        dilated = f" (dilated to {_fmt(span)})" if span != (h, w) else ""
        raise ValueError(
            f"kernel {h}x{w}{dilated} is larger than the padded input {_fmt(padded)}: "
            "use a smaller kernel or dilation, or more padding"
        )
    return (padded[0] - span[0]) // sh + 1, (padded[1] - span[1]) // sw + 1


def _as_tensor(A: Array, name: str) -> torch.Tensor:
    """A 2-D real array -> a float tensor sharing memory where it can (numpy views included)."""
    if isinstance(A, torch.Tensor):
        T = A
    else:
        a = np.asarray(A)
        if a.dtype == object or a.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
        if any(s < 0 for s in a.strides):  # torch.from_numpy refuses negative strides (e.g. K[::-1])
            a = np.ascontiguousarray(a)
        T = torch.from_numpy(a)
    if T.is_complex():
        raise ValueError(f"{name} must hold real numbers, got dtype {T.dtype}")
    if T.dim() != 2:
        raise ValueError(f"{name} must be a 2-D grid, got {T.dim()}-D with shape {tuple(T.shape)}")
    if T.numel() == 0:
        raise ValueError(f"{name} is empty (shape {_fmt(tuple(T.shape))})")
    if not T.is_floating_point():
        T = T.to(torch.float64)
    elif T.dtype in (torch.float16, torch.bfloat16):
        T = T.float()
    # One reduction is cheaper than an elementwise mask; a finite sum proves every cell finite.
    if not torch.isfinite(T.detach().sum()) and not torch.isfinite(T.detach()).all():
        bad = torch.nonzero(~torch.isfinite(T.detach()))[0].tolist()
        raise ValueError(
            f"{name} contains NaN or infinity (first at row {bad[0]}, column {bad[1]}): "
            "every cell needs a finite number"
        )
    return T


def corr2d(
    X: Array,
    K: Array,
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> Array:
    """2D cross-correlation: (H, W), (h, w) -> (H', W') exactly as F.conv2d on one channel.

    numpy in -> numpy out; a torch tensor in either argument -> torch out, differentiable in X and K.
    Floating dtypes are kept (float32 stays float32, mixed ones promote); integers compute in float64.

    Raises:
        ValueError: not 2-D, empty, NaN or infinity, bad settings, or a kernel larger than the
            padded input.
    """
    torch_out = isinstance(X, torch.Tensor) or isinstance(K, torch.Tensor)
    Xt, Kt = _as_tensor(X, "the input"), _as_tensor(K, "the kernel")
    (ph, pw), (sh, sw), (dh, dw) = _settings(padding, stride, dilation)
    Ho, Wo = output_shape(tuple(Xt.shape), tuple(Kt.shape), padding=(ph, pw), stride=(sh, sw), dilation=(dh, dw))
    dtype = torch.promote_types(Xt.dtype, Kt.dtype)
    Xt, Kt = Xt.to(dtype), Kt.to(dtype)
    h, w = Kt.shape

    if Ho * Wo * h * w < _SHIFTED_MIN_WORK:
        Y = F.conv2d(
            Xt.view(1, 1, *Xt.shape) if Xt.is_contiguous() else Xt.reshape(1, 1, *Xt.shape),
            Kt.reshape(1, 1, h, w),
            padding=(ph, pw),
            stride=(sh, sw),
            dilation=(dh, dw),
        )[0, 0]
    else:
        Y = _corr2d_shifted(Xt, Kt, (ph, pw), (sh, sw), (dh, dw), (Ho, Wo))
    return Y if torch_out else Y.numpy()


def _corr2d_shifted(X, K, padding, stride, dilation, out_shape) -> torch.Tensor:
    """h*w multiply-adds of strided views of the padded input: (H, W), (h, w) -> (H', W')."""
    (ph, pw), (sh, sw), (dh, dw), (Ho, Wo) = padding, stride, dilation, out_shape
    Xp = F.pad(X, (pw, pw, ph, ph)) if ph or pw else X
    h, w = K.shape
    grad = torch.is_grad_enabled() and (X.requires_grad or K.requires_grad)
    taps = K if grad else K.tolist()  # python floats make add_(alpha=) skip a broadcast
    Y = torch.zeros((Ho, Wo), dtype=X.dtype)
    for a in range(h):
        for b in range(w):
            window = Xp[a * dh : a * dh + sh * (Ho - 1) + 1 : sh, b * dw : b * dw + sw * (Wo - 1) + 1 : sw]
            if grad:
                Y = Y.addcmul(window, taps[a, b]) if a == b == 0 else Y.addcmul_(window, taps[a, b])
            else:
                Y.add_(window, alpha=taps[a][b])
    return Y


def conv2d(
    X: Array,
    K: Array,
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> Array:
    """True 2D convolution: corr2d with the kernel flipped on both axes, (H, W), (h, w) -> (H', W')."""
    flipped = K.flip((0, 1)) if isinstance(K, torch.Tensor) else np.asarray(K)[::-1, ::-1]
    return corr2d(X, flipped, padding=padding, stride=stride, dilation=dilation)


def corr2d_loop(X, K):
    """Compute 2D cross-correlation (the lesson's double loop): (H, W), (h, w) -> (H-h+1, W-w+1)."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


@dataclass(frozen=True)
class CellExplanation:
    """How output cell (i, j) is computed: window * kernel, summed, plus bias.

    `rows`/`cols` (h, w) are the input coordinates each kernel tap reads (outside the input means
    zero padding, marked False in `inside`); `window`, `kernel`, `products` are (h, w) grids.
    """

    i: int
    j: int
    rows: np.ndarray
    cols: np.ndarray
    inside: np.ndarray
    window: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    total: float
    bias: float
    value: float


def explain_cell(
    X: Array,
    K: Array,
    i: int,
    j: int,
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
    bias: float = 0.0,
) -> CellExplanation:
    """Explain output cell (i, j) of corr2d(X, K) + bias: its window, products, sum and value.

    Raises:
        ValueError: anything corr2d refuses, or (i, j) outside the output.
    """
    Xn = _as_tensor(X, "the input").detach().double().numpy()
    Kn = _as_tensor(K, "the kernel").detach().double().numpy()
    (ph, pw), (sh, sw), (dh, dw) = _settings(padding, stride, dilation)
    Ho, Wo = output_shape(Xn.shape, Kn.shape, padding=(ph, pw), stride=(sh, sw), dilation=(dh, dw))
    if not (0 <= i < Ho and 0 <= j < Wo):
        raise ValueError(f"cell ({i}, {j}) is outside the {Ho}x{Wo} output")
    h, w = Kn.shape
    rows = np.broadcast_to((i * sh - ph + dh * np.arange(h))[:, None], (h, w)).copy()
    cols = np.broadcast_to((j * sw - pw + dw * np.arange(w))[None, :], (h, w)).copy()
    inside = (rows >= 0) & (rows < Xn.shape[0]) & (cols >= 0) & (cols < Xn.shape[1])
    window = np.where(inside, Xn[rows.clip(0, Xn.shape[0] - 1), cols.clip(0, Xn.shape[1] - 1)], 0.0)
    products = window * Kn
    total = float(products.sum())
    return CellExplanation(
        i=i, j=j, rows=rows, cols=cols, inside=inside, window=window, kernel=Kn.copy(),
        products=products, total=total, bias=float(bias), value=total + float(bias),
    )
