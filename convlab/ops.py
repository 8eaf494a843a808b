"""2D cross-correlation and convolution of one-channel grids: the lesson's operation, made exact and fast.

`corr2d` follows `torch.nn.functional.conv2d` to the letter for padding, stride and dilation, but
on a single 2-D input and a single 2-D kernel. numpy in gives numpy out; torch in gives torch out
with gradients flowing to both `X` and `K`.

One result, three ways to compute it, picked by size (benchmarks/bench_core.py measures them):
tiny numpy grids take one numpy einsum (no torch call at all), small ones one F.conv2d call, large
ones h*w multiply-adds of shifted views of the input, because F.conv2d is slow on one channel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import torch
import torch.nn.functional as F

from convlab.grids import describe, number_text

Array: TypeAlias = np.ndarray | torch.Tensor
IntPair: TypeAlias = int | tuple[int, int]
_Settings: TypeAlias = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]

# Tensors (or large numpy grids) with fewer output cells than this take one F.conv2d call; from
# here on h*w shifted multiply-adds over strided views win, nearly whatever the kernel (measured
# in benchmarks/bench_core.py). F.conv2d hands a float32 input of more than 20480 cells, or any
# kernel larger than 3x3, to oneDNN, whose one-channel path is 2-6x slower than one add_ per tap
# on large grids; float64 has no oneDNN path, but its im2col matrix (cells x taps) outgrows the
# cache a little later.
_SHIFTED_MIN_CELLS: dict[torch.dtype, int] = {torch.float32: 128 * 128, torch.float64: 181 * 181}

# numpy in, numpy out, and at most this many multiply-adds (output cells x kernel taps): numpy
# computes it in one einsum. At this size a torch call's ~2 µs launch and the numpy-torch round
# trip, not the arithmetic, are the cost.
_NUMPY_MAX_WORK = 1 << 13

# The most cells corr2d makes (a padded copy of the input, or the output): 2**25 float64 cells are
# 256 MiB, a 5792x5792 grid; far beyond any grid or photo the app computes (1024x1024 plus padding).
MAX_CELLS = 1 << 25
# The largest kernel Conv2D makes: its weights are drawn before any input is seen.
MAX_KERNEL_CELLS = 1 << 20

__all__ = [
    "CellExplanation",
    "conv2d",
    "corr2d",
    "corr2d_loop",
    "explain_cell",
    "output_shape",
]


def _whole(v: object, name: str) -> int:
    """A whole number (python or numpy int, not bool) -> int."""
    if type(v) is int:  # the common case, checked first because this runs on every call
        return v
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {describe(v)}")
    return int(v)


def _pair(value: IntPair, name: str) -> tuple[int, int]:
    """An int or an (h, w) pair -> (h, w), refusing anything that is not a whole number."""
    if type(value) is int:
        return value, value
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be one whole number or a pair (rows, columns), got {describe(value)}")
    return _whole(pair[0], name), _whole(pair[1], name)


def _settings(padding: IntPair, stride: IntPair, dilation: IntPair) -> _Settings:
    """Validated ((ph, pw), (sh, sw), (dh, dw))."""
    plain = type(padding) is int and type(stride) is int and type(dilation) is int
    if plain and padding >= 0 and stride >= 1 and dilation >= 1:
        # the usual call, answered in a fraction of the general path's ~2 µs
        return (padding, padding), (stride, stride), (dilation, dilation)
    p, s, d = _pair(padding, "padding"), _pair(stride, "stride"), _pair(dilation, "dilation")
    if min(p) < 0:
        raise ValueError(f"padding must be 0 or more, got {describe(padding)}")
    if min(s) < 1:
        raise ValueError(f"stride must be 1 or more, got {describe(stride)}")
    if min(d) < 1:
        raise ValueError(f"dilation must be 1 or more, got {describe(dilation)}")
    return p, s, d


def _fmt(shape: tuple[int, int]) -> str:
    return f"{number_text(shape[0])}x{number_text(shape[1])}"


def _output_shape(
    input_shape: tuple[int, int], kernel_shape: tuple[int, int], settings: _Settings
) -> tuple[int, int]:
    """(H, W), (h, w) of non-empty grids, validated settings -> (H', W'), or a learner's ValueError.

    Python integers never overflow, so even absurd settings are checked exactly, before anything
    is allocated: a padded input or an output over MAX_CELLS is refused here.
    """
    (ph, pw), (sh, sw), (dh, dw) = settings
    (H, W), (h, w) = input_shape, kernel_shape
    span = (dh * (h - 1) + 1, dw * (w - 1) + 1)
    padded = (H + 2 * ph, W + 2 * pw)
    if (ph or pw) and padded[0] * padded[1] > max(MAX_CELLS, H * W):
        raise ValueError(
            f"padding {_pair_text((ph, pw))} would make the input {_fmt(padded)}, "
            f"{_cells(padded[0] * padded[1])}: too large to compute here (the limit is "
            f"{_cells(MAX_CELLS)}), so please use less padding"
        )
    if span[0] > padded[0] or span[1] > padded[1]:
        dilated = f" (dilated to {_fmt(span)})" if span != (h, w) else ""
        raise ValueError(
            f"kernel {h}x{w}{dilated} is larger than the padded input {_fmt(padded)}: "
            "use a smaller kernel or dilation, or more padding"
        )
    out = (padded[0] - span[0]) // sh + 1, (padded[1] - span[1]) // sw + 1
    if out[0] * out[1] > max(MAX_CELLS, H * W):
        raise ValueError(
            f"the output would be {_fmt(out)}, {_cells(out[0] * out[1])}: too large to compute here "
            f"(the limit is {_cells(MAX_CELLS)}), so please use a smaller input or a larger stride"
        )
    return out


def _pair_text(pair: tuple[int, int]) -> str:
    return number_text(pair[0]) if pair[0] == pair[1] else f"{number_text(pair[0])},{number_text(pair[1])}"


def _cells(n: int) -> str:
    """A cell count as a learner reads it: '40 billion cells', '33.6 million cells'."""
    if n >= 10**15:
        return f"{number_text(n)} cells"
    for size, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
        if n >= size:
            return f"{n / size:.3g} {word} cells"
    return f"{n:,} cells"


def _clamped(settings: _Settings, input_shape: tuple[int, int], kernel_shape: tuple[int, int]) -> _Settings:
    """Settings that _output_shape accepted, with strides and dilations no larger than the padded input.

    A stride longer than the padded input leaves one output cell whatever its size, and a
    1-tap axis ignores its dilation, so both can be cut to fit the C integers torch takes
    (stride=10**30 computes the same one cell as stride=H) without changing any answer.
    """
    (ph, pw), (sh, sw), (dh, dw) = settings
    (H, W), (h, w) = input_shape, kernel_shape
    return (ph, pw), (min(sh, H + 2 * ph), min(sw, W + 2 * pw)), (dh if h > 1 else 1, dw if w > 1 else 1)


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
    settings = _settings(padding, stride, dilation)
    for shape, name in ((input_shape, "the input's shape"), (kernel_shape, "the kernel's shape")):
        if not isinstance(shape, (tuple, list, torch.Size)):
            raise ValueError(f"{name} must be a pair (rows, columns), got {describe(shape)}")
    if len(input_shape) != 2 or len(kernel_shape) != 2:
        raise ValueError(
            f"input and kernel must be 2-D grids, got shapes {describe(tuple(input_shape))} and "
            f"{describe(tuple(kernel_shape))}"
        )
    H, W = (_whole(n, "every side of a shape") for n in input_shape)
    h, w = (_whole(n, "every side of a shape") for n in kernel_shape)
    if min(H, W) < 1:
        raise ValueError(f"the input is empty (shape {H}x{W})")
    if min(h, w) < 1:
        raise ValueError(f"the kernel is empty (shape {h}x{w})")
    return _output_shape((H, W), (h, w), settings)


def _check_grid(shape: tuple[int, ...], name: str) -> None:
    """Refuse anything but a non-empty 2-D grid, whichever library holds it."""
    if len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D grid, got {len(shape)}-D with shape {tuple(shape)}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {_fmt(tuple(shape))})")


def _check_finite(quick: bool, values: Callable[[], np.ndarray], name: str) -> None:
    """Refuse NaN and infinity: `quick` is a cheap test that passes only finite grids, `values`
    gives the cells as numpy for the exact test (when `quick` failed) and the error message."""
    if quick:
        return
    bad = np.argwhere(~np.isfinite(values()))
    if len(bad):
        raise ValueError(
            f"{name} contains NaN or infinity (first at row {bad[0][0]}, column {bad[0][1]}): "
            "every cell needs a finite number"
        )


def _as_array(A: object, name: str) -> np.ndarray:
    """Anything numpy reads as a real grid -> a checked float32 or float64 array, a view when it can."""
    try:
        a = A if type(A) is np.ndarray else np.asarray(A)
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular grid of real numbers") from e
    kind = a.dtype.kind
    if kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
    _check_grid(a.shape, name)
    if kind != "f":
        return a.astype(np.float64)  # bools and integers: always finite, computed in float64
    if a.dtype.itemsize > 8:  # long double: torch has no such type
        a = a.astype(np.float64)
    elif a.dtype.itemsize < 4:  # float16 computes in float32, as torch's half does here
        a = a.astype(np.float32)
    elif not a.dtype.isnative:  # torch refuses big-endian data
        a = a.astype(a.dtype.newbyteorder("="))
    # numpy's mask costs about what its sum does, and unlike the sum never warns on overflow.
    _check_finite(bool(np.isfinite(a).all()), lambda: a, name)
    return a


def _to_torch(a: np.ndarray) -> torch.Tensor:
    """A checked array -> a tensor sharing its memory where torch allows it."""
    if not a.flags.writeable or any(s < 0 or s % a.itemsize for s in a.strides):
        # torch refuses negative strides (K[::-1]) and odd strides, and warns on read-only
        # memory (np.asarray of a PIL image); a copy fixes all three.
        a = a.copy()
    return torch.from_numpy(a)


def _as_tensor(A: object, name: str) -> torch.Tensor:
    """A 2-D real tensor, or anything numpy reads as one -> a checked float32 or float64 tensor."""
    if not isinstance(A, torch.Tensor):
        return _to_torch(_as_array(A, name))
    if A.layout != torch.strided:
        raise ValueError(f"{name} is a sparse tensor: pass an ordinary (dense) one, e.g. with .to_dense()")
    if A.is_quantized:
        raise ValueError(f"{name} is a quantized tensor: pass real numbers, e.g. with .dequantize()")
    if A.is_meta:
        raise ValueError(f"{name} is on the 'meta' device, which holds no numbers: pass a tensor with values")
    if A.device.type != "cpu":
        A = A.cpu()  # ConvLab computes on the CPU; autograd follows the copy back to the device
    if A.is_complex():
        raise ValueError(f"{name} must hold real numbers, got dtype {A.dtype}")
    _check_grid(A.shape, name)
    if not A.is_floating_point():
        return A.to(torch.float64)  # bools and integers: always finite, computed in float64
    T = A.float() if A.dtype in (torch.float16, torch.bfloat16) else A
    D = T.detach() if T.requires_grad else T
    # A finite sum proves every cell finite (NaN and inf poison it): ~3 µs on a small grid against
    # ~15 µs for torch's elementwise mask. Only an overflowing sum or a bad grid needs the mask.
    _check_finite(math.isfinite(D.sum().item()), D.numpy, name)
    return T


def _correlate(X: Array, K: Array, padding: IntPair, stride: IntPair, dilation: IntPair, flip: bool) -> Array:
    """corr2d (flip=False) or conv2d (flip=True) after checking everything: (H, W), (h, w) -> (H', W')."""
    torch_out = isinstance(X, torch.Tensor) or isinstance(K, torch.Tensor)
    if torch_out:
        Xt, Kt = _as_tensor(X, "the input"), _as_tensor(K, "the kernel")
        settings = _settings(padding, stride, dilation)
    else:  # numpy stays numpy while the grid is small, skipping the round trip through torch
        Xn, Kn = _as_array(X, "the input"), _as_array(K, "the kernel")
        settings = _settings(padding, stride, dilation)
        out_shape = _output_shape(Xn.shape, Kn.shape, settings)
        settings = _clamped(settings, Xn.shape, Kn.shape)
        if out_shape[0] * out_shape[1] * Kn.size <= _NUMPY_MAX_WORK:  # einsum promotes mixed dtypes
            return _corr2d_numpy(Xn, Kn[::-1, ::-1] if flip else Kn, settings, out_shape)
        Xt, Kt = _to_torch(Xn), _to_torch(Kn)
    (H, W), (h, w) = Xt.shape, Kt.shape
    Ho, Wo = _output_shape((H, W), (h, w), settings)
    settings = _clamped(settings, (H, W), (h, w))
    if Xt.dtype != Kt.dtype:
        dtype = torch.promote_types(Xt.dtype, Kt.dtype)
        Xt, Kt = Xt.to(dtype), Kt.to(dtype)
    if flip:
        Kt = Kt.flip((0, 1))
    if Ho * Wo < _SHIFTED_MIN_CELLS[Xt.dtype]:
        (ph, pw), (sh, sw), (dh, dw) = settings
        Y = F.conv2d(
            Xt.reshape(1, 1, H, W),  # a free view when contiguous, a copy otherwise
            Kt.reshape(1, 1, h, w),
            padding=(ph, pw),
            stride=(sh, sw),
            dilation=(dh, dw),
        ).view(Ho, Wo)
    else:
        Y = _corr2d_shifted(Xt, Kt, settings, (Ho, Wo))
    return Y if torch_out else Y.numpy()


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
    float32 and float64 are kept (mixed ones promote to float64); float16 and bfloat16 compute in
    float32; integers and bools compute in float64.

    Raises:
        ValueError: not 2-D, empty, not real numbers, NaN or infinity, bad settings, or a kernel
            larger than the padded input.
    """
    return _correlate(X, K, padding, stride, dilation, flip=False)


def _corr2d_shifted(
    X: torch.Tensor, K: torch.Tensor, settings: _Settings, out_shape: tuple[int, int]
) -> torch.Tensor:
    """h*w multiply-adds of strided views of the padded input: (H, W), (h, w) -> (H', W').

    Each tap (a, b) of the kernel multiplies one strided (H', W') view of the padded input, the
    cells that tap reads for every output cell, and the views are summed.
    """
    (ph, pw), (sh, sw), (dh, dw) = settings
    Ho, Wo = out_shape
    # One contiguous copy (free when already contiguous) makes every pass below a vectorised
    # row-major sweep; a transposed view would otherwise be gathered h*w times.
    Xp = F.pad(X, (pw, pw, ph, ph)) if ph or pw else X.contiguous()
    r, c = Xp.stride()
    base = Xp.storage_offset()
    size, step = (Ho, Wo), (sh * r, sw * c)
    # as_strided is one cheap call; slicing Xp[a::sh, b::sw] costs ~4 µs per tap in Python.
    h, w = K.shape
    windows = [Xp.as_strided(size, step, base + a * dh * r + b * dw * c) for a in range(h) for b in range(w)]
    if torch.is_grad_enabled() and (Xp.requires_grad or K.requires_grad):
        taps = K.reshape(-1).unbind()  # 0-d tensors keep the graph to K
        Y = windows[0] * taps[0]  # starting from the first product saves a pass over zeros
        for window, tap in zip(windows[1:], taps[1:], strict=True):
            Y.addcmul_(window, tap)
        return Y
    weights = K.reshape(-1).tolist()  # python floats: add_(alpha=) then skips broadcasting a tensor
    Y = torch.mul(windows[0], weights[0])
    for window, weight in zip(windows[1:], weights[1:], strict=True):
        Y.add_(window, alpha=weight)
    return Y


def _corr2d_numpy(
    X: np.ndarray, K: np.ndarray, settings: _Settings, out_shape: tuple[int, int]
) -> np.ndarray:
    """For small numpy grids: one einsum over a strided (H', W', h, w) view of every window.

    A torch call costs ~2 µs before it does anything, so on a grid this small numpy's one C call
    is faster; einsum also lets an overflow become inf quietly, as torch does, where numpy's
    arithmetic would warn.
    """
    (ph, pw), (sh, sw), (dh, dw) = settings
    if ph or pw:
        Xp = np.zeros((X.shape[0] + 2 * ph, X.shape[1] + 2 * pw), dtype=X.dtype)
        Xp[ph : ph + X.shape[0], pw : pw + X.shape[1]] = X
    else:
        Xp = np.ascontiguousarray(X)  # a view below needs one plain buffer; free when it is one
    r, c = Xp.strides
    # windows[i, j] is the (h, w) patch that output cell (i, j) reads.
    steps = (sh * r, sw * c, dh * r, dw * c)
    windows = np.ndarray((*out_shape, *K.shape), Xp.dtype, buffer=Xp, strides=steps)
    return np.einsum("ijab,ab->ij", windows, K)


def conv2d(
    X: Array,
    K: Array,
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
) -> Array:
    """True 2D convolution: corr2d with the kernel flipped on both axes, (H, W), (h, w) -> (H', W')."""
    return _correlate(X, K, padding, stride, dilation, flip=True)


def corr2d_loop(X, K):
    """Compute 2D cross-correlation (the lesson's double loop): (H, W), (h, w) -> (H-h+1, W-w+1)."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


@dataclass(frozen=True, eq=False)  # eq=False: `==` on numpy fields would raise, not compare
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


def _real(value: object) -> float | None:
    """One real number (python, numpy, or a one-cell tensor) -> float; None for anything else."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor of several cells
        return None


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
        ValueError: anything corr2d refuses, a bias that is not a finite number, or (i, j) that
            is not a whole-number cell of the output.
    """
    Xn = _as_tensor(X, "the input").detach().double().numpy()
    Kn = _as_tensor(K, "the kernel").detach().double().numpy()
    settings = _settings(padding, stride, dilation)
    Ho, Wo = _output_shape(Xn.shape, Kn.shape, settings)
    (ph, pw), (sh, sw), (dh, dw) = _clamped(settings, Xn.shape, Kn.shape)
    i, j = _whole(i, "the row i"), _whole(j, "the column j")
    if not (0 <= i < Ho and 0 <= j < Wo):
        raise ValueError(f"cell ({number_text(i)}, {number_text(j)}) is outside the {Ho}x{Wo} output")
    b = _real(bias.detach() if isinstance(bias, torch.Tensor) else bias)
    if b is None or not math.isfinite(b):
        raise ValueError(f"the bias must be one finite real number, got {describe(bias)}")
    h, w = Kn.shape
    rows = np.broadcast_to((i * sh - ph + dh * np.arange(h))[:, None], (h, w)).copy()
    cols = np.broadcast_to((j * sw - pw + dw * np.arange(w))[None, :], (h, w)).copy()
    inside = (rows >= 0) & (rows < Xn.shape[0]) & (cols >= 0) & (cols < Xn.shape[1])
    window = np.where(inside, Xn[rows.clip(0, Xn.shape[0] - 1), cols.clip(0, Xn.shape[1] - 1)], 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        products = window * Kn
        total = float(products.sum())
    if not (np.isfinite(products).all() and math.isfinite(total) and math.isfinite(total + b)):
        raise ValueError(
            f"the numbers of cell ({i}, {j}) overflow: its products, their sum or the sum plus the bias "
            "are larger than the largest number a computer float holds (about 1.8e308); use smaller values"
        )
    return CellExplanation(
        i=i, j=j, rows=rows, cols=cols, inside=inside, window=window, kernel=Kn.copy(),
        products=products, total=total, bias=b, value=total + b,
    )
