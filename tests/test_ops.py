"""convlab.ops against independent references: F.conv2d, scipy's convolve2d, the lesson's loop, hand sums.

corr2d has three computation paths: one F.conv2d call for small grids, shifted multiply-adds in
torch for large ones, and the same multiply-adds in numpy for tiny numpy grids. Every comparison
runs on each path that applies, forced with `forced(path)`.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab import ops
from convlab.ops import CellExplanation, conv2d, corr2d, corr2d_loop, explain_cell, output_shape

PATHS = ["conv2d", "shifted", "numpy"]
TORCH_PATHS = ["conv2d", "shifted"]  # tensors in: the numpy path never applies

LESSON_X = np.arange(9.0).reshape(3, 3)
LESSON_K = np.array([[0.0, 1.0], [2.0, 3.0]])
EDGE_K = np.array([[1.0, -1.0]])


def stripes() -> np.ndarray:
    """The lesson's 6x8 white-black-white image."""
    X = np.ones((6, 8))
    X[:, 2:6] = 0
    return X


STRIPES_EDGES = np.array([[0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0]] * 6)


@contextmanager
def forced(path: str) -> Iterator[None]:
    """Make corr2d take one path whatever the size: "conv2d" (one F.conv2d call), "shifted" (torch
    multiply-adds) or "numpy" (numpy multiply-adds, for numpy in; tensors take their usual path)."""
    old_cells, old_work = ops._SHIFTED_MIN_CELLS, ops._NUMPY_MAX_WORK
    ops._SHIFTED_MIN_CELLS = dict.fromkeys(old_cells, 0 if path == "shifted" else 1 << 62)
    ops._NUMPY_MAX_WORK = 1 << 62 if path == "numpy" else -1
    try:
        yield
    finally:
        ops._SHIFTED_MIN_CELLS, ops._NUMPY_MAX_WORK = old_cells, old_work


def reference(X, K, padding=0, stride=1, dilation=1) -> np.ndarray:
    """F.conv2d in float64 on plain copies: the oracle for corr2d."""
    Xt = torch.as_tensor(np.array(X, dtype=np.float64))
    Kt = torch.as_tensor(np.array(K, dtype=np.float64))
    Y = F.conv2d(Xt[None, None], Kt[None, None], padding=padding, stride=stride, dilation=dilation)
    return Y[0, 0].numpy()


def as_numpy(Y) -> np.ndarray:
    return Y.detach().numpy() if isinstance(Y, torch.Tensor) else Y


# --- random cases ---------------------------------------------------------------------------------

@st.composite
def conv_cases(draw, max_side: int = 12, max_kernel: int = 5):
    """A valid (X, K, padding, stride, dilation) as float64 numpy, settings as ints or pairs."""
    h, w = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    low_H, low_W = max(1, dh * (h - 1) + 1 - 2 * ph), max(1, dw * (w - 1) + 1 - 2 * pw)
    H = draw(st.integers(low_H, max(low_H, max_side)))
    W = draw(st.integers(low_W, max(low_W, max_side)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X, K = rng.standard_normal((H, W)), rng.standard_normal((h, w))

    def setting(pair: tuple[int, int]):
        return pair[0] if pair[0] == pair[1] and draw(st.booleans()) else pair

    return X, K, setting((ph, pw)), setting((sh, sw)), setting((dh, dw))


LAYOUTS = ["contiguous", "transposed", "strided", "view"]


def laid_out(A: np.ndarray, layout: str, kind: str, dtype) -> np.ndarray | torch.Tensor:
    """The same values as A, as numpy or torch, in a memory layout that is not the plain one."""
    if kind == "torch":
        T = torch.tensor(A, dtype=dtype)
        if layout == "transposed":
            return T.T.contiguous().T
        if layout == "strided":
            return torch.stack([T, T], dim=-1)[..., 0]
        if layout == "view":  # torch has no negative strides: a window into a larger grid instead
            big = torch.zeros((T.shape[0] + 2, T.shape[1] + 3), dtype=dtype)
            big[1:-1, 2:-1] = T
            return big[1:-1, 2:-1]
        return T
    a = np.asarray(A, dtype=dtype)
    if layout == "transposed":
        return np.ascontiguousarray(a.T).T
    if layout == "strided":
        return np.repeat(a, 2, axis=1)[:, ::2]
    if layout == "view":  # negative strides, which torch.from_numpy refuses
        return np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]
    return a


def tolerance(dtype, X: np.ndarray, K: np.ndarray) -> dict[str, float]:
    # Sums of up to h*w products: float32 rounds each to ~6e-8 of the largest partial sum.
    scale = float(np.abs(K).sum() * max(np.abs(X).max(), 1.0))
    eps = 1e-5 if dtype in (np.float32, torch.float32) else 1e-12
    return {"rtol": eps, "atol": eps * scale}


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=100, deadline=None)
@given(
    case=conv_cases(),
    dtype=st.sampled_from(["float32", "float64"]),
    x_layout=st.sampled_from(LAYOUTS),
    k_layout=st.sampled_from(LAYOUTS),
    kinds=st.sampled_from([("numpy", "numpy"), ("torch", "torch"), ("numpy", "torch"), ("torch", "numpy")]),
)
def test_corr2d_matches_f_conv2d(path, case, dtype, x_layout, k_layout, kinds):
    X, K, padding, stride, dilation = case
    if path == "numpy":
        kinds = ("numpy", "numpy")
    tdtype = getattr(torch, dtype) if kinds[0] == "torch" else np.dtype(dtype)
    kdtype = getattr(torch, dtype) if kinds[1] == "torch" else np.dtype(dtype)
    Xa, Ka = laid_out(X, x_layout, kinds[0], tdtype), laid_out(K, k_layout, kinds[1], kdtype)
    X_before, K_before = as_numpy(Xa).copy(), as_numpy(Ka).copy()
    with forced(path):
        Y = corr2d(Xa, Ka, padding=padding, stride=stride, dilation=dilation)
    expected = reference(X_before, K_before, padding, stride, dilation)
    assert isinstance(Y, torch.Tensor) == ("torch" in kinds)
    assert str(Y.dtype).removeprefix("torch.") == dtype
    assert tuple(Y.shape) == expected.shape
    np.testing.assert_allclose(as_numpy(Y), expected, **tolerance(np.dtype(dtype), X_before, K_before))
    # Inputs are read, never written (the shifted path works in place on its own output only).
    np.testing.assert_array_equal(as_numpy(Xa), X_before)
    np.testing.assert_array_equal(as_numpy(Ka), K_before)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("shape", "kernel", "padding", "stride", "dilation"),
    [
        ((300, 301), (3, 3), 0, 1, 1),
        ((257, 250), (5, 4), (2, 1), 1, (1, 2)),
        ((600, 500), (11, 11), 5, (2, 3), 1),
        ((310, 290), (1, 2), 0, 1, 1),
        ((512, 384), (7, 7), 3, 2, 2),
    ],
)
def test_large_inputs_take_the_shifted_path_and_match(
    monkeypatch, dtype, shape, kernel, padding, stride, dilation
):
    calls = []
    shifted = ops._corr2d_shifted
    monkeypatch.setattr(ops, "_corr2d_shifted", lambda *a: calls.append(1) or shifted(*a))
    gen = torch.Generator().manual_seed(sum(shape))
    X = torch.randn(shape, generator=gen, dtype=dtype)[:, 1:].T  # a non-contiguous view
    K = torch.randn(kernel, generator=gen, dtype=dtype)
    Y = corr2d(X, K, padding=padding, stride=stride, dilation=dilation)
    expected = F.conv2d(X[None, None], K[None, None], padding=padding, stride=stride, dilation=dilation)[0, 0]
    assert calls == [1]
    assert Y.dtype == dtype
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {}
    torch.testing.assert_close(Y, expected, **tol)


@pytest.mark.parametrize(
    ("kind", "dtype", "shape", "kernel", "path"),
    [
        ("numpy", "float32", (6, 8), (1, 2), "numpy"),
        ("numpy", "float64", (20, 20), (3, 3), "numpy"),
        ("torch", "float32", (6, 8), (1, 2), "conv2d"),
        ("numpy", "float32", (100, 100), (3, 3), "conv2d"),
        ("torch", "float64", (150, 150), (5, 5), "conv2d"),
        ("torch", "float32", (300, 300), (3, 3), "shifted"),
        ("numpy", "float32", (300, 300), (3, 3), "shifted"),
        ("torch", "float64", (200, 200), (3, 3), "shifted"),
    ],
)
def test_each_size_takes_its_path(monkeypatch, kind, dtype, shape, kernel, path):
    taken = []

    def spy(name, fn):
        return lambda *a, **kw: taken.append(name) or fn(*a, **kw)

    monkeypatch.setattr(ops, "_corr2d_numpy", spy("numpy", ops._corr2d_numpy))
    monkeypatch.setattr(ops, "_corr2d_shifted", spy("shifted", ops._corr2d_shifted))
    monkeypatch.setattr(ops.F, "conv2d", spy("conv2d", F.conv2d))
    X, K = np.ones(shape, dtype=dtype), np.ones(kernel, dtype=dtype)
    Y = corr2d(*((torch.from_numpy(X), torch.from_numpy(K)) if kind == "torch" else (X, K)))
    assert taken == [path]
    assert as_numpy(Y).tolist() == np.full(output_shape(shape, kernel), np.prod(kernel), dtype=dtype).tolist()


# --- true convolution -------------------------------------------------------------------------------

def dilate(K: np.ndarray, dilation) -> np.ndarray:
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    out = np.zeros((dh * (K.shape[0] - 1) + 1, dw * (K.shape[1] - 1) + 1))
    out[::dh, ::dw] = K
    return out


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=60, deadline=None)
@given(case=conv_cases(), torch_in=st.booleans())
def test_conv2d_matches_scipy_convolve2d(path, case, torch_in):
    X, K, padding, stride, dilation = case
    (ph, pw), (sh, sw) = ops._pair(padding, "padding"), ops._pair(stride, "stride")
    Xp = np.pad(X, ((ph, ph), (pw, pw)))
    expected = scipy.signal.convolve2d(Xp, dilate(K, dilation), mode="valid")[::sh, ::sw]
    args = (torch.from_numpy(X), torch.from_numpy(K)) if torch_in else (X, K)
    with forced(path):
        Y = conv2d(*args, padding=padding, stride=stride, dilation=dilation)
        flipped = corr2d(X, K[::-1, ::-1], padding=padding, stride=stride, dilation=dilation)
    np.testing.assert_allclose(as_numpy(Y), expected, **tolerance(np.float64, X, K))
    np.testing.assert_allclose(as_numpy(Y), flipped, rtol=1e-12, atol=1e-12)


def test_conv2d_hand_computed():
    # conv2d flips [[0, 1], [2, 3]] to [[3, 2], [1, 0]]: cell (0, 0) is 0*3 + 1*2 + 3*1 + 4*0.
    np.testing.assert_array_equal(conv2d(LESSON_X, LESSON_K), [[5.0, 11.0], [23.0, 29.0]])


def test_conv2d_keeps_gradients_to_the_unflipped_kernel():
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
    conv2d(torch.from_numpy(LESSON_X), K).sum().backward()
    # conv2d reads K[a, b] as tap (1-a, 1-b); d(sum)/d tap (a, b) is the sum of the 2x2 block at (a, b).
    assert K.grad.tolist() == [[4.0 + 5 + 7 + 8, 3.0 + 4 + 6 + 7], [1.0 + 2 + 4 + 5, 0.0 + 1 + 3 + 4]]


# --- the lesson's loop and hand-computed cases --------------------------------------------------------

@pytest.mark.parametrize("path", TORCH_PATHS)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), H=st.integers(1, 9), W=st.integers(1, 9), h=st.integers(1, 4),
       w=st.integers(1, 4))
def test_corr2d_matches_the_lessons_loop(path, seed, H, W, h, w):
    rng = np.random.default_rng(seed)
    H, W = max(H, h), max(W, w)
    X = torch.from_numpy(rng.standard_normal((H, W)).astype(np.float32))
    K = torch.from_numpy(rng.standard_normal((h, w)).astype(np.float32))
    with forced(path):
        Y = corr2d(X, K)
    torch.testing.assert_close(Y, corr2d_loop(X, K), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("to", [np.asarray, torch.from_numpy])
def test_lesson_examples_exactly(path, to):
    X = stripes()
    with forced(path):
        assert as_numpy(corr2d(to(LESSON_X), to(LESSON_K))).tolist() == [[19.0, 25.0], [37.0, 43.0]]
        Y = corr2d(to(X), to(EDGE_K))
        Y_T = corr2d(to(X).T, to(EDGE_K))
    # 1 where white turns black (column 1), -1 where black turns white (column 5), 0 elsewhere.
    assert as_numpy(Y).tolist() == STRIPES_EDGES.tolist()
    # The horizontal-edge detector sees nothing in the transposed image.
    assert as_numpy(Y_T).tolist() == np.zeros((8, 5)).tolist()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("to", [np.asarray, torch.from_numpy])
def test_output_never_shares_memory_with_the_input(path, to):
    # A 1x1 kernel of 1 is the identity: the tempting shortcut would return the input itself.
    X = to(LESSON_X.copy())
    with forced(path):
        Y = corr2d(X, to(np.ones((1, 1))))
    Y[0, 0] = 100.0
    assert X[0, 0] == 0.0


HAND_CASES = [
    # (X, K, settings, expected): each worked out on paper.
    (np.ones((3, 3)), np.ones((2, 2)), {"padding": 1},
     [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]),
    (np.arange(16.0).reshape(4, 4), np.ones((2, 2)), {"stride": 2},
     [[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]]),
    # dilation 2: the taps of a 2x2 kernel sit two cells apart, X[i, j] + X[i, j+2] + X[i+2, j] + X[i+2, j+2]
    (np.arange(16.0).reshape(4, 4), np.ones((2, 2)), {"dilation": 2},
     [[0 + 2 + 8 + 10, 1 + 3 + 9 + 11], [4 + 6 + 12 + 14, 5 + 7 + 13 + 15]]),
    # one zero row above and below, none at the sides: each output row sums two input rows
    (np.arange(12.0).reshape(3, 4), np.ones((2, 1)), {"padding": (1, 0)},
     [[0, 1, 2, 3], [4, 6, 8, 10], [12, 14, 16, 18], [8, 9, 10, 11]]),
    # stride (1, 2) keeps every row and every other column of the 3x2 valid result
    (np.arange(12.0).reshape(3, 4), np.array([[1.0, -1.0]]), {"stride": (1, 2)},
     [[-1, -1], [-1, -1], [-1, -1]]),
    # padding 1 and stride 2 on 3x3: output cells centred on the input's corners
    (np.arange(9.0).reshape(3, 3), np.ones((3, 3)), {"padding": 1, "stride": 2},
     [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5], [3 + 4 + 6 + 7, 4 + 5 + 7 + 8]]),
    # dilation (2, 1), padding (0, 1): a 2x2 kernel reading rows i and i+2, columns j-1 and j
    (np.arange(9.0).reshape(3, 3), np.array([[1.0, 10.0], [100.0, 1000.0]]),
     {"padding": (0, 1), "dilation": (2, 1)},
     [[0 + 0 * 10 + 0 * 100 + 6 * 1000, 0 + 10 * 1 + 100 * 6 + 1000 * 7, 1 + 10 * 2 + 100 * 7 + 1000 * 8,
       2 + 0 + 100 * 8 + 0]]),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("X", "K", "kwargs", "expected"), HAND_CASES)
def test_hand_computed_settings(path, X, K, kwargs, expected):
    with forced(path):
        Y = corr2d(X, K, **kwargs)
    assert Y.tolist() == np.asarray(expected, dtype=np.float64).tolist()
    assert Y.tolist() == reference(X, K, **kwargs).tolist()


# --- gradients --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", TORCH_PATHS)
@settings(max_examples=30, deadline=None)
@given(case=conv_cases(max_side=9, max_kernel=4), x_layout=st.sampled_from(LAYOUTS))
def test_gradients_match_f_conv2d(path, case, x_layout):
    X, K, padding, stride, dilation = case
    Xt = laid_out(X, x_layout, "torch", torch.float64).requires_grad_()
    Kt = torch.tensor(K, requires_grad=True)
    with forced(path):
        Y = corr2d(Xt, Kt, padding=padding, stride=stride, dilation=dilation)
    Y_ref = F.conv2d(Xt[None, None], Kt[None, None], padding=padding, stride=stride, dilation=dilation)[0, 0]
    G = torch.randn(Y_ref.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    gX, gK = torch.autograd.grad(Y, (Xt, Kt), G)
    gX_ref, gK_ref = torch.autograd.grad(Y_ref, (Xt, Kt), G)
    torch.testing.assert_close(gX, gX_ref)
    torch.testing.assert_close(gK, gK_ref)


@pytest.mark.parametrize("path", TORCH_PATHS)
@pytest.mark.parametrize(
    ("shape", "kernel", "kwargs"),
    [
        ((5, 6), (2, 3), {}),
        ((4, 5), (3, 2), {"padding": (1, 2), "stride": (2, 1), "dilation": (1, 2)}),
        ((6, 4), (1, 1), {"stride": 3}),
        ((3, 3), (3, 3), {"padding": 2, "dilation": 2}),
    ],
)
def test_gradcheck(path, shape, kernel, kwargs):
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(shape[::-1], dtype=torch.float64, generator=gen, requires_grad=True)
    K = torch.randn(kernel, dtype=torch.float64, generator=gen, requires_grad=True)
    with forced(path):
        # X enters transposed: gradients must also flow through a non-contiguous view.
        assert torch.autograd.gradcheck(lambda X, K: corr2d(X.T, K, **kwargs), (X, K))


@pytest.mark.parametrize("path", TORCH_PATHS)
def test_gradients_flow_to_whichever_side_is_a_tensor(path):
    X, K = stripes(), EDGE_K.copy()
    with forced(path):
        Kt = torch.tensor(K, requires_grad=True)
        (gK,) = torch.autograd.grad(corr2d(X, Kt).sum(), Kt)
        Xt = torch.tensor(X, requires_grad=True)
        (gX,) = torch.autograd.grad(corr2d(Xt, K).sum(), Xt)
        with torch.no_grad():
            assert not corr2d(Xt, Kt).requires_grad
    # Each tap reads a 6x7 block: its gradient is that block's sum.
    assert gK.tolist() == [[X[:, :7].sum(), X[:, 1:].sum()]]
    expected_gX = np.zeros_like(X)
    expected_gX[:, :7] += 1.0
    expected_gX[:, 1:] -= 1.0
    assert gX.tolist() == expected_gX.tolist()


@pytest.mark.parametrize("path", TORCH_PATHS)
def test_learning_the_edge_kernel_as_in_the_lesson(path):
    """The lesson's training loop, with corr2d as the layer: the kernel that made Y comes back."""
    X = torch.from_numpy(stripes()).float()
    Y = torch.from_numpy(STRIPES_EDGES).float()
    K = torch.tensor([[0.5, 0.5]], requires_grad=True)
    lr = 3e-2
    losses = []
    with forced(path):
        for _ in range(25):
            loss = ((Y - corr2d(X, K)) ** 2).sum()
            (grad,) = torch.autograd.grad(loss, K)
            with torch.no_grad():
                K -= lr * grad
            losses.append(loss.item())
    assert all(later < earlier for earlier, later in itertools.pairwise(losses[:10]))
    assert losses[-1] < 1e-4 * losses[0]
    torch.testing.assert_close(K.detach(), torch.tensor([[1.0, -1.0]]), rtol=0, atol=0.05)


# --- dtypes and kinds --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("x", "k", "out_kind", "out_dtype"),
    [
        (np.float32, np.float32, np.ndarray, np.float32),
        (np.float64, np.float64, np.ndarray, np.float64),
        (np.float64, np.float32, np.ndarray, np.float64),
        (np.float32, np.float64, np.ndarray, np.float64),
        (np.int64, np.int64, np.ndarray, np.float64),
        (np.uint8, np.float32, np.ndarray, np.float64),
        (np.int32, np.float64, np.ndarray, np.float64),
        (np.bool_, np.int8, np.ndarray, np.float64),
        (np.float16, np.float16, np.ndarray, np.float32),
        (torch.float32, torch.float32, torch.Tensor, torch.float32),
        (torch.float32, torch.float64, torch.Tensor, torch.float64),
        (torch.int64, torch.int64, torch.Tensor, torch.float64),
        (torch.uint8, torch.float32, torch.Tensor, torch.float64),
        (torch.bfloat16, torch.float16, torch.Tensor, torch.float32),
        (np.float32, torch.float32, torch.Tensor, torch.float32),
        (torch.float32, np.float64, torch.Tensor, torch.float64),
        (torch.float32, np.int64, torch.Tensor, torch.float64),
    ],
)
def test_dtype_and_kind_rules(path, x, k, out_kind, out_dtype):
    def make(values, dtype):
        if isinstance(dtype, torch.dtype):
            return torch.tensor(values).to(dtype)
        return np.asarray(values).astype(dtype)

    def f64(A):
        return A.double().numpy() if isinstance(A, torch.Tensor) else A.astype(np.float64)

    X, K = make(LESSON_X, x), make(LESSON_K, k)
    with forced(path):
        Y = corr2d(X, K)
    assert isinstance(Y, out_kind)
    assert Y.dtype == out_dtype
    # Small whole numbers are exact in every dtype here (bool turns them into 0 and 1).
    assert as_numpy(Y).tolist() == reference(f64(X), f64(K)).tolist()


def test_nested_lists_give_numpy():
    Y = corr2d(LESSON_X.tolist(), LESSON_K.tolist())
    assert isinstance(Y, np.ndarray)
    assert Y.tolist() == [[19.0, 25.0], [37.0, 43.0]]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda a: np.broadcast_to(a, a.shape), id="read-only (np.asarray of a PIL image)"),
        pytest.param(lambda a: a.astype(">f8"), id="big-endian"),
        pytest.param(lambda a: a.astype(np.longdouble), id="long double"),
        pytest.param(lambda a: a[::-1, ::-1][::-1, ::-1], id="negative strides"),
    ],
)
def test_unusual_numpy_arrays_work_without_warnings(make):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y = corr2d(make(LESSON_X), make(LESSON_K))
    assert Y.tolist() == [[19.0, 25.0], [37.0, 43.0]]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("to", [np.asarray, torch.from_numpy])
def test_huge_finite_values_are_data_and_overflow_quietly_to_inf(path, to):
    # The sum of these finite float32 cells overflows to inf; they are still valid data.
    X = np.full((3, 3), 3e38, dtype=np.float32)
    with forced(path):
        half = corr2d(to(X), to(np.full((1, 1), 0.5, dtype=np.float32)))
        doubled = corr2d(to(X), to(np.ones((1, 2), dtype=np.float32)))  # as F.conv2d: inf, no warning
    np.testing.assert_array_equal(half, np.full((3, 3), 1.5e38, dtype=np.float32))
    np.testing.assert_array_equal(doubled, np.full((3, 2), np.inf, dtype=np.float32))


# --- output_shape -----------------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(case=conv_cases(max_side=20, max_kernel=6))
def test_output_shape_matches_f_conv2d(case):
    X, K, padding, stride, dilation = case
    # Meta tensors carry shapes only: F.conv2d's own shape rule, without the arithmetic.
    Xm, Km = torch.empty((1, 1, *X.shape), device="meta"), torch.empty((1, 1, *K.shape), device="meta")
    expected = tuple(F.conv2d(Xm, Km, padding=padding, stride=stride, dilation=dilation).shape[2:])
    assert output_shape(X.shape, K.shape, padding=padding, stride=stride, dilation=dilation) == expected
    assert output_shape(list(X.shape), torch.Size(K.shape), padding=padding, stride=stride,
                        dilation=dilation) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (((2, 5), (3, 3)), {}, "kernel 3x3 is larger than the padded input 2x5"),
        (((4, 4), (3, 3)), {"dilation": 2},
         r"kernel 3x3 \(dilated to 5x5\) is larger than the padded input 4x4"),
        (((2, 2), (3, 3)), {"padding": (0, 1)}, "kernel 3x3 is larger than the padded input 2x4"),
        (((2, 5, 1), (3, 3)), {}, r"input and kernel must be 2-D grids, got shapes \(2, 5, 1\) and \(3, 3\)"),
        (((0, 5), (1, 1)), {}, r"the input is empty \(shape 0x5\)"),
        (((5, 5), (1, 0)), {}, r"the kernel is empty \(shape 1x0\)"),
        (((5.5, 5), (1, 1)), {}, "every side of a shape must be a whole number, got 5.5"),
        (((5, 5), (1, 1)), {"stride": 0}, "stride must be 1 or more, got 0"),
    ],
)
def test_output_shape_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        output_shape(*args, **kwargs)


# --- errors a learner can read --------------------------------------------------------------------------

OK_X, OK_K = np.ones((4, 4)), np.ones((2, 2))

BAD_DATA = [
    (np.ones(4), OK_K, r"the input must be a 2-D grid, got 1-D with shape \(4,\)"),
    (np.ones((2, 3, 4)), OK_K, r"the input must be a 2-D grid, got 3-D with shape \(2, 3, 4\)"),
    (np.float64(3.0), OK_K, r"the input must be a 2-D grid, got 0-D with shape \(\)"),
    (OK_X, [1.0, -1.0], r"the kernel must be a 2-D grid, got 1-D with shape \(2,\)"),
    (OK_X, torch.ones(2), r"the kernel must be a 2-D grid, got 1-D with shape \(2,\)"),
    (np.ones((0, 4)), OK_K, r"the input is empty \(shape 0x4\)"),
    (OK_X, torch.ones(2, 0), r"the kernel is empty \(shape 2x0\)"),
    (np.ones((2, 5)), np.ones((3, 3)), "kernel 3x3 is larger than the padded input 2x5"),
    (OK_X, np.ones((5, 1)), "kernel 5x1 is larger than the padded input 4x4"),
    (np.array([[1.0, np.nan], [0.0, 0.0]]), OK_K,
     r"the input contains NaN or infinity \(first at row 0, column 1\)"),
    (OK_X, torch.tensor([[1.0, 0.0], [float("inf"), 0.0]]),
     r"the kernel contains NaN or infinity \(first at row 1, column 0\)"),
    (np.array([[1.0, 2.0], [-np.inf, 0.0]], dtype=np.float32), OK_K[:1],
     r"the input contains NaN or infinity \(first at row 1, column 0\): every cell needs a finite number"),
    (OK_X.astype(complex), OK_K, "the input must hold real numbers, got dtype complex128"),
    (OK_X, torch.ones(2, 2, dtype=torch.complex64),
     "the kernel must hold real numbers, got dtype torch.complex64"),
    ([["a", "b"], ["c", "d"]], OK_K, "the input must hold real numbers, got dtype <U1"),
    (np.array([[None, 1]]), OK_K[:1], "the input must hold real numbers, got dtype object"),
    ([[1.0, 2.0], [3.0]], OK_K, "the input must be a rectangular grid of real numbers"),
]


@pytest.mark.parametrize("op", [corr2d, conv2d, explain_cell])
@pytest.mark.parametrize(("X", "K", "message"), BAD_DATA)
def test_bad_data_is_refused_with_a_readable_message(op, X, K, message):
    args = (X, K, 0, 0) if op is explain_cell else (X, K)
    with pytest.raises(ValueError, match=message):
        op(*args)


BAD_SETTINGS = [
    ({"stride": 0}, "stride must be 1 or more, got 0"),
    ({"stride": (1, -2)}, r"stride must be 1 or more, got \(1, -2\)"),
    ({"dilation": 0}, "dilation must be 1 or more, got 0"),
    ({"padding": -1}, "padding must be 0 or more, got -1"),
    ({"padding": (0, -1)}, r"padding must be 0 or more, got \(0, -1\)"),
    ({"padding": 1.0}, "padding must be a whole number, got 1.0"),
    ({"stride": True}, "stride must be a whole number, got True"),
    ({"dilation": (1, 1.5)}, "dilation must be a whole number, got 1.5"),
    ({"stride": "2"}, "stride must be a whole number, got '2'"),
    ({"padding": (1, 2, 3)},
     r"padding must be one whole number or a pair \(rows, columns\), got \(1, 2, 3\)"),
    ({"dilation": 3}, r"kernel 2x2 \(dilated to 4x4\) is larger than the padded input 3x3"),
]


@pytest.mark.parametrize("op", [corr2d, conv2d, explain_cell])
@pytest.mark.parametrize(("kwargs", "message"), BAD_SETTINGS)
def test_bad_settings_are_refused_with_a_readable_message(op, kwargs, message):
    args = (np.ones((3, 3)), OK_K, 0, 0) if op is explain_cell else (np.ones((3, 3)), OK_K)
    with pytest.raises(ValueError, match=message):
        op(*args, **kwargs)


def test_numpy_integer_settings_are_whole_numbers():
    Y = corr2d(np.ones((3, 3)), OK_K, padding=np.int64(1), stride=[np.int32(1), 2], dilation=(1, 1))
    np.testing.assert_array_equal(Y, reference(np.ones((3, 3)), OK_K, padding=1, stride=(1, 2)))


# --- explain_cell ------------------------------------------------------------------------------------

def test_explain_cell_lesson_example():
    e = explain_cell(LESSON_X, LESSON_K, 0, 0, bias=0.5)
    assert isinstance(e, CellExplanation)
    assert e.window.tolist() == [[0.0, 1.0], [3.0, 4.0]]
    assert e.products.tolist() == [[0.0, 1.0], [6.0, 12.0]]
    assert (e.total, e.bias, e.value) == (19.0, 0.5, 19.5)
    assert e.rows.tolist() == [[0, 0], [1, 1]]
    assert e.cols.tolist() == [[0, 1], [0, 1]]
    assert e.inside.all()


@settings(max_examples=60, deadline=None)
@given(case=conv_cases(), cell=st.tuples(st.integers(0, 1000), st.integers(0, 1000)),
       bias=st.floats(-5, 5), torch_in=st.booleans())
def test_explain_cell_agrees_with_corr2d(case, cell, bias, torch_in):
    X, K, padding, stride, dilation = case
    kw = {"padding": padding, "stride": stride, "dilation": dilation}
    Y = corr2d(X, K, **kw)
    i, j = cell[0] % Y.shape[0], cell[1] % Y.shape[1]
    args = (torch.tensor(X, requires_grad=True), torch.tensor(K)) if torch_in else (X, K)
    e = explain_cell(*args, i, j, bias=bias, **kw)
    assert (e.i, e.j) == (i, j)
    np.testing.assert_allclose(e.value, Y[i, j] + bias, rtol=1e-12, atol=1e-12 * (1 + np.abs(K).sum()))
    np.testing.assert_allclose(e.total, e.products.sum(), rtol=1e-15)
    np.testing.assert_array_equal(e.products, e.window * K)
    np.testing.assert_array_equal(e.kernel, K)
    # Tap (a, b) reads input cell (i*sh - ph + a*dh, j*sw - pw + b*dw); outside the input it reads padding, 0.
    (ph, pw), (sh, sw), (dh, dw) = ops._settings(padding, stride, dilation)
    h, w = K.shape
    for a in range(h):
        for b in range(w):
            r, c = i * sh - ph + a * dh, j * sw - pw + b * dw
            assert (e.rows[a, b], e.cols[a, b]) == (r, c)
            inside = 0 <= r < X.shape[0] and 0 <= c < X.shape[1]
            assert e.inside[a, b] == inside
            assert e.window[a, b] == (X[r, c] if inside else 0.0)


def test_explain_cell_marks_padding_taps_outside():
    e = explain_cell(np.ones((2, 2)), np.ones((3, 3)), 0, 0, padding=1)
    assert e.inside.tolist() == [[False, False, False], [False, True, True], [False, True, True]]
    assert e.window.tolist() == [[0, 0, 0], [0, 1, 1], [0, 1, 1]]
    assert e.value == 4.0 == corr2d(np.ones((2, 2)), np.ones((3, 3)), padding=1)[0, 0]


@pytest.mark.parametrize(
    ("i", "j", "kwargs", "message"),
    [
        (2, 0, {}, r"cell \(2, 0\) is outside the 2x2 output"),
        (0, -1, {}, r"cell \(0, -1\) is outside the 2x2 output"),
        (0, 4, {"padding": 1}, r"cell \(0, 4\) is outside the 4x4 output"),
        (1, 0, {"stride": 2}, r"cell \(1, 0\) is outside the 1x1 output"),
        (1.0, 0, {}, "the row i must be a whole number, got 1.0"),
        (0, True, {}, "the column j must be a whole number, got True"),
        (0, 0, {"bias": float("nan")}, "the bias must be one finite real number, got nan"),
        (0, 0, {"bias": "1"}, "the bias must be one finite real number, got '1'"),
        (0, 0, {"bias": torch.ones(2)}, "the bias must be one finite real number"),
    ],
)
def test_explain_cell_errors(i, j, kwargs, message):
    with pytest.raises(ValueError, match=message):
        explain_cell(np.ones((3, 3)), OK_K, i, j, **kwargs)


def test_explain_cell_takes_a_bias_parameter_and_numpy_indices():
    bias = torch.nn.Parameter(torch.tensor([0.25]))
    e = explain_cell(LESSON_X, LESSON_K, np.int64(1), np.int32(1), bias=bias)
    assert (e.i, e.j, e.value) == (1, 1, 43.25)


# --- the module stays what it claims -------------------------------------------------------------------

def test_public_names_are_exported():
    import convlab

    assert set(ops.__all__) <= set(convlab.__all__)
    for name in ops.__all__:
        assert getattr(convlab, name) is getattr(ops, name)


def test_thresholds_cover_every_compute_dtype():
    assert set(ops._SHIFTED_MIN_CELLS) == {torch.float32, torch.float64}


# --- sizes checked before allocating, refusals in words (issue 12) ----------------------------------


@pytest.fixture
def no_compute(monkeypatch):
    """Fail if anything is computed or padded: the refusal must come from arithmetic on the sizes."""

    def fail(*args, **kwargs):
        raise AssertionError("computed instead of refusing")

    for name in ("_corr2d_numpy", "_corr2d_shifted"):
        monkeypatch.setattr(ops, name, fail)
    monkeypatch.setattr(ops.F, "conv2d", fail)
    monkeypatch.setattr(ops.F, "pad", fail)


@pytest.mark.parametrize(
    "padding", [10**4, 10**5, 10**6, 2**62, (0, 10**7), pytest.param(10**5000, id="10**5000")]
)
@pytest.mark.parametrize("fn", [corr2d, conv2d])
def test_huge_padding_is_refused_before_allocating(padding, fn, no_compute):
    for X in (np.ones((8, 8)), torch.ones(8, 8)):
        with pytest.raises(ValueError, match=r"would make the input .* too large to compute here \(the limit "
                                             r"is 33\.6 million cells\), so please use less padding"):
            fn(X, np.ones((3, 3)), padding=padding)
    with pytest.raises(ValueError, match="please use less padding"):
        output_shape((8, 8), (3, 3), padding=padding)
    with pytest.raises(ValueError, match="please use less padding"):
        explain_cell(np.ones((8, 8)), np.ones((3, 3)), 0, 0, padding=padding)


def test_padding_up_to_the_cell_limit_still_computes():
    side = int(ops.MAX_CELLS**0.5) // 2 * 2  # 5792
    p = (side - 8) // 2
    assert output_shape((8, 8), (3, 3), padding=p) == (side - 2, side - 2)
    with pytest.raises(ValueError, match="less padding"):
        output_shape((8, 8), (3, 3), padding=p + 1)


@pytest.mark.parametrize("stride", [10**30, (10**30, 1), (1, 2**63), pytest.param(10**5000, id="10**5000")])
def test_huge_strides_compute_the_same_as_a_stride_the_size_of_the_input(stride):
    X, K = np.arange(64.0).reshape(8, 8), np.array([[1.0, -2.0], [0.5, 3.0]])
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    expected = F.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None],
                        stride=(min(sh, 8), min(sw, 8)))[0, 0].numpy()
    for fn_X in (X, torch.tensor(X)):
        out = corr2d(fn_X, K, stride=stride)
        np.testing.assert_array_equal(np.asarray(out), expected)
    assert output_shape((8, 8), (2, 2), stride=stride) == expected.shape
    e = explain_cell(X, K, 0, 0, stride=stride)
    assert e.value == expected[0, 0]


def test_a_huge_dilation_on_a_one_tap_axis_changes_nothing():
    X, K = np.arange(20.0).reshape(4, 5), np.array([[1.0, 2.0, -1.0]])
    np.testing.assert_array_equal(corr2d(X, K, dilation=(10**30, 1)), corr2d(X, K))
    with pytest.raises(ValueError, match=r"kernel 1x3 \(dilated to 1xabout 10\^30\) is larger"):
        corr2d(X, K, dilation=(1, 10**30))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: output_shape(None, (1, 1)), r"the input's shape must be a pair \(rows, columns\), got None"),
        (lambda: output_shape((3, 3), None), r"the kernel's shape must be a pair \(rows, columns\)"),
        (lambda: output_shape(5, (1, 1)), r"the input's shape must be a pair \(rows, columns\), got 5"),
        (lambda: corr2d(torch.ones(3, 3, device="meta"), OK_K), "the input is on the 'meta' device"),
        (lambda: corr2d(OK_X, torch.ones(1, 2, device="meta")), "the kernel is on the 'meta' device"),
        (lambda: corr2d(torch.ones(3, 3).to_sparse(), OK_K), "the input is a sparse tensor"),
        (lambda: conv2d(OK_X, torch.ones(1, 2).to_sparse()), "the kernel is a sparse tensor"),
        (lambda: explain_cell(torch.ones(3, 3).to_sparse(), OK_K, 0, 0), "the input is a sparse tensor"),
        (lambda: corr2d(_quantized(), OK_K), "the input is a quantized tensor"),
        (lambda: corr2d(OK_X, OK_K, padding=-(10**5000)), r"padding must be 0 or more, got -about 10\^5000"),
        (lambda: corr2d(OK_X, OK_K, stride="9" * 5000), r"stride must be a whole number, got '9999"),
        (lambda: explain_cell(OK_X, OK_K, 10**5000, 0), r"cell \(about 10\^5000, 0\) is outside"),
    ],
)
def test_refusals_in_words_for_odd_arguments(call, match):
    # Before: TypeError about len(), RuntimeError from torch, "Exceeds the limit (4300 digits)".
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert len(str(info.value)) < 300


def _quantized() -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates making them, not passing them around
        return torch.quantize_per_tensor(torch.ones(3, 3), 0.1, 0, torch.qint8)


@pytest.mark.parametrize(
    ("X", "K", "bias"),
    [
        (np.ones((3, 3)), np.full((2, 2), 2e307), 1.7e308),  # the sum plus the bias
        (np.full((3, 3), 1e300), np.full((2, 2), 1e10), 0.0),  # the products
        (np.full((3, 3), 1e308), np.ones((2, 2)), 0.0),  # the sum of four finite products
    ],
)
def test_explain_cell_reports_overflow_instead_of_returning_inf(X, K, bias):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning either
        with pytest.raises(ValueError, match=r"the numbers of cell \(0, 0\) overflow.*about 1\.8e308"):
            explain_cell(X, K, 0, 0, bias=bias)
    assert explain_cell(np.ones((3, 3)), np.ones((2, 2)), 0, 0, bias=1e308).value == 1e308 + 4
