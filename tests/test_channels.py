"""Channels, pooling, the matrix views, the transposed convolution and the receptive field, each checked
against PyTorch (F.conv2d, F.max_pool2d, F.avg_pool2d, F.conv_transpose2d, autograd) on many shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab import corr2d
from convlab.channels import corr2d_multi_in, corr2d_multi_in_out, explain_channels
from convlab.matrix import conv_matrix, conv_transpose2d, im2col, transposed_output_shape
from convlab.pooling import pool2d, pool_output_shape
from convlab.receptive import Layer, receptive_field, receptive_field_size

pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


def torch_conv(X: np.ndarray, K: np.ndarray, bias: np.ndarray | None = None, **kw: object) -> np.ndarray:
    b = None if bias is None else torch.from_numpy(bias)
    return F.conv2d(torch.from_numpy(X)[None], torch.from_numpy(K), b, **kw)[0].numpy()


# --- channels ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    C=st.integers(1, 3),
    O=st.integers(1, 4),
    H=st.integers(1, 9),
    W=st.integers(1, 9),
    k=pairs,
    p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    s=pairs,
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    seed=st.integers(0, 2**31 - 1),
)
def test_multi_in_out_is_torchs_conv2d(C, O, H, W, k, p, s, d, seed):
    rng = np.random.default_rng(seed)
    X, K, b = rng.normal(size=(C, H, W)), rng.normal(size=(O, C, *k)), rng.normal(size=O)
    try:
        want = torch_conv(X, K, b, padding=p, stride=s, dilation=d)
    except RuntimeError:
        with pytest.raises(ValueError, match="larger than the padded input"):
            corr2d_multi_in_out(X, K, b, padding=p, stride=s, dilation=d)
        return
    got = corr2d_multi_in_out(X, K, b, padding=p, stride=s, dilation=d)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_the_course_example_of_two_input_channels():
    """d2l's corr2d_multi_in example: two input channels, then three output channels (K, K + 1, K + 2)."""
    X = np.array([np.arange(9.0).reshape(3, 3), np.arange(1.0, 10).reshape(3, 3)])
    K = np.array([[[0.0, 1], [2, 3]], [[1.0, 2], [3, 4]]])
    np.testing.assert_array_equal(corr2d_multi_in(X, K), [[56, 72], [104, 120]])
    three_out = np.stack([K, K + 1, K + 2])
    np.testing.assert_array_equal(
        corr2d_multi_in_out(X, three_out),
        [[[56, 72], [104, 120]], [[76, 100], [148, 172]], [[96, 128], [192, 224]]],
    )


def test_a_1x1_kernel_mixes_channels_cell_by_cell():
    rng = np.random.default_rng(3)
    X, K = rng.normal(size=(3, 4, 5)), rng.normal(size=(2, 3, 1, 1))
    want = np.einsum("oc,chw->ohw", K[:, :, 0, 0], X)
    np.testing.assert_allclose(corr2d_multi_in_out(X, K), want, rtol=1e-12)


def test_explaining_a_cell_writes_out_the_per_channel_sums():
    rng = np.random.default_rng(4)
    X, K, b = rng.normal(size=(3, 5, 5)), rng.normal(size=(2, 3, 2, 2)), np.array([0.5, -1.0])
    e = explain_channels(X, K, 1, 2, 3, b, padding=1)
    assert len(e.sums) == 3 and e.bias == -1.0
    for c, partial in enumerate(e.sums):
        assert partial == pytest.approx(corr2d(X[c], K[1, c], padding=1)[2, 3])
    assert e.value == pytest.approx(sum(e.sums) + e.bias)
    assert e.value == pytest.approx(torch_conv(X, K, b, padding=1)[1, 2, 3])
    with pytest.raises(ValueError, match="outside the output"):
        explain_channels(X, K, 2, 0, 0)


@pytest.mark.parametrize(
    ("X", "K", "bias", "match"),
    [
        (np.zeros((2, 4, 4)), np.zeros((1, 3, 2, 2)), None, "kernel has 3 input channel.*input has 2"),
        (np.zeros((4, 4)), np.zeros((1, 1, 2, 2)), None, "must be 3-D"),
        (np.zeros((1, 4, 4)), np.zeros((1, 2, 2)), None, "must be 4-D"),
        (np.zeros((1, 4, 4)), np.zeros((2, 1, 2, 2)), [1.0], "2 finite number.*one per output channel"),
        (np.full((1, 4, 4), np.nan), np.zeros((1, 1, 2, 2)), None, "NaN or infinity"),
        (np.zeros((1, 2, 2)), np.zeros((1, 1, 3, 3)), None, "larger than the padded input"),
        (np.zeros((0, 2, 2)), np.zeros((1, 0, 1, 1)), None, "empty"),
    ],
)
def test_bad_channel_input_is_refused_in_plain_words(X, K, bias, match):
    with pytest.raises(ValueError, match=match):
        corr2d_multi_in_out(X, K, bias)


# --- pooling ----------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    C=st.integers(1, 3),
    H=st.integers(1, 9),
    W=st.integers(1, 9),
    k=pairs,
    s=st.none() | pairs,
    p=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    mode=st.sampled_from(["max", "avg"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_pooling_is_torchs(C, H, W, k, s, p, mode, seed):
    X = np.random.default_rng(seed).normal(size=(C, H, W))
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    try:
        want = pool(torch.from_numpy(X), k, stride=s, padding=p).numpy()
    except RuntimeError:
        with pytest.raises(ValueError):
            pool2d(X, k, mode=mode, stride=s, padding=p)
        return
    np.testing.assert_allclose(pool2d(X, k, mode=mode, stride=s, padding=p), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        pool2d(X[0], k, mode=mode, stride=s, padding=p), want[0], rtol=1e-12, atol=1e-12
    )


def test_the_course_pooling_example():
    X = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(pool2d(X, 2, stride=1), [[4, 5], [7, 8]])
    np.testing.assert_array_equal(pool2d(X, 2, mode="avg", stride=1), [[2, 3], [5, 6]])
    assert pool_output_shape((4, 4), 3, padding=1, stride=2) == (2, 2)


def test_bad_pooling_is_refused():
    with pytest.raises(ValueError, match="half the window"):
        pool2d(np.zeros((4, 4)), 2, padding=2)
    with pytest.raises(ValueError, match="'max' or 'avg'"):
        pool2d(np.zeros((4, 4)), 2, mode="sum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="larger than the"):
        pool2d(np.zeros((2, 2)), 3)


# --- the matrix views -------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    H=st.integers(1, 7),
    W=st.integers(1, 7),
    k=pairs,
    p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    s=pairs,
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    seed=st.integers(0, 2**31 - 1),
)
def test_both_matrix_views_multiply_out_to_corr2d(H, W, k, p, s, d, seed):
    rng = np.random.default_rng(seed)
    X, K = rng.normal(size=(H, W)), rng.normal(size=k)
    try:
        Y = corr2d(X, K, padding=p, stride=s, dilation=d)
    except ValueError:
        return
    M = conv_matrix(K, (H, W), padding=p, stride=s, dilation=d)
    assert M.shape == (Y.size, X.size)
    np.testing.assert_allclose(M @ X.ravel(), Y.ravel(), rtol=1e-10, atol=1e-12)
    cols = im2col(X, K.shape, padding=p, stride=s, dilation=d)
    assert cols.shape == (Y.size, K.size)
    np.testing.assert_allclose(cols @ K.ravel(), Y.ravel(), rtol=1e-10, atol=1e-12)
    # Each row holds at most h·w weights: the matrix is sparse, a band of K's copies.
    assert ((M != 0).sum(axis=1) <= K.size).all()


def test_the_matrix_of_the_lessons_example():
    M = conv_matrix(np.array([[0.0, 1], [2, 3]]), (3, 3))
    np.testing.assert_array_equal(M[0], [0, 1, 0, 2, 3, 0, 0, 0, 0])
    np.testing.assert_array_equal(M[3], [0, 0, 0, 0, 0, 1, 0, 2, 3])
    np.testing.assert_array_equal(M @ np.arange(9.0), [19, 25, 37, 43])


def test_matrices_too_large_to_draw_are_refused():
    with pytest.raises(ValueError, match="too large to build"):
        conv_matrix(np.ones((3, 3)), (128, 128))


# --- the transposed convolution ---------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    H=st.integers(1, 6),
    W=st.integers(1, 6),
    k=pairs,
    s=pairs,
    p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    op=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    seed=st.integers(0, 2**31 - 1),
)
def test_transposed_convolution_is_torchs(H, W, k, s, p, d, op, seed):
    rng = np.random.default_rng(seed)
    X, K = rng.normal(size=(H, W)), rng.normal(size=k)
    try:
        want = F.conv_transpose2d(
            torch.from_numpy(X)[None, None],
            torch.from_numpy(K)[None, None],
            stride=s,
            padding=p,
            output_padding=op,
            dilation=d,
        )[0, 0].numpy()
    except RuntimeError:
        with pytest.raises(ValueError):
            conv_transpose2d(X, K, stride=s, padding=p, output_padding=op, dilation=d)
        return
    got = conv_transpose2d(X, K, stride=s, padding=p, output_padding=op, dilation=d)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    H=st.integers(2, 7),
    W=st.integers(2, 7),
    k=pairs,
    s=pairs,
    p=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    seed=st.integers(0, 2**31 - 1),
)
def test_transposed_convolution_is_the_transposed_matrix(H, W, k, s, p, seed):
    """For an input size (H, W) that correlation maps to (H', W'), the transposed convolution of an
    (H', W') grid, with the output padding that restores (H, W), is Mᵀ times it."""
    rng = np.random.default_rng(seed)
    K = rng.normal(size=k)
    try:
        M = conv_matrix(K, (H, W), padding=p, stride=s)
    except ValueError:
        return
    Ho, Wo = corr2d(np.zeros((H, W)), K, padding=p, stride=s).shape
    Z = rng.normal(size=(Ho, Wo))
    # The size without output padding, written out (it can crop to nothing before the output padding
    # brings it back to (H, W)).
    base = tuple((n - 1) * st_ - 2 * pd + kk for n, st_, pd, kk in zip((Ho, Wo), s, p, k, strict=True))
    op = (H - base[0], W - base[1])
    got = conv_transpose2d(Z, K, stride=s, padding=p, output_padding=op)
    assert got.shape == transposed_output_shape((Ho, Wo), k, stride=s, padding=p, output_padding=op) == (H, W)
    np.testing.assert_allclose(got.ravel(), M.T @ Z.ravel(), rtol=1e-10, atol=1e-12)


def test_a_3x3_kernel_at_stride_2_leaves_a_checkerboard():
    Y = conv_transpose2d(np.ones((4, 4)), np.ones((3, 3)), stride=2)
    assert Y.shape == (9, 9)
    inner = Y[1:-1, 1:-1]
    # Cells where two copies overlap in one direction get 2, in both 4, in neither 1: uneven coverage.
    assert set(np.unique(inner)) == {1.0, 2.0, 4.0}
    assert Y[2, 2] == 4 and Y[1, 1] == 1 and Y[1, 2] == 2


# --- the receptive field ----------------------------------------------------------------------------------


def _field_by_autograd(layers: list[Layer], shape: tuple[int, int], cell: tuple[int, int]) -> np.ndarray:
    """The input cells whose gradient is nonzero for output `cell`: positive weights, average pooling."""
    x = torch.ones(1, 1, *shape, dtype=torch.float64, requires_grad=True)
    y = x
    for layer in layers:
        if layer.name == "pool":
            y = F.avg_pool2d(y, layer.size, stride=layer.stride, padding=layer.padding)
        else:
            y = F.conv2d(
                y,
                torch.ones(1, 1, *layer.size, dtype=torch.float64),
                stride=layer.stride,
                padding=layer.padding,
                dilation=layer.dilation,
            )
        y = F.relu(y)
    y[0, 0][cell].backward()
    return (x.grad[0, 0] != 0).numpy()


@settings(max_examples=60, deadline=None)
@given(
    specs=st.lists(
        st.tuples(
            st.booleans(),
            pairs,
            st.tuples(st.integers(1, 2), st.integers(1, 2)),
            st.tuples(st.integers(0, 1), st.integers(0, 1)),
            st.tuples(st.integers(1, 2), st.integers(1, 2)),
        ),
        min_size=1,
        max_size=3,
    ),
    seed=st.integers(0, 2**31 - 1),
)
def test_the_receptive_field_is_where_the_gradient_reaches(specs, seed):
    layers = []
    for pool, size, stride, padding, dilation in specs:
        if pool:
            padding = (min(padding[0], size[0] // 2), min(padding[1], size[1] // 2))
            layers.append(Layer(size, stride, padding, name="pool"))
        else:
            layers.append(Layer(size, stride, padding, dilation))
    H, W = 12, 12
    shape = (H, W)
    try:
        probe = torch.zeros(1, 1, H, W)
        for layer in layers:
            probe = (
                F.avg_pool2d(probe, layer.size, stride=layer.stride, padding=layer.padding)
                if layer.name == "pool"
                else F.conv2d(
                    probe,
                    torch.ones(1, 1, *layer.size),
                    stride=layer.stride,
                    padding=layer.padding,
                    dilation=layer.dilation,
                )
            )
    except RuntimeError:
        return  # no output for these layers on a 12x12 input
    rng = np.random.default_rng(seed)
    cell = (int(rng.integers(probe.shape[2])), int(rng.integers(probe.shape[3])))
    field = receptive_field(layers, cell)[0]
    want = np.zeros(shape, dtype=bool)
    want[max(field.r0, 0) : field.r1 + 1, max(field.c0, 0) : field.c1 + 1] = True
    got = _field_by_autograd(layers, shape, cell)
    # Every input cell that can change the output lies in the field; with dilation the field has holes
    # (cells no tap reads), so the field is the bounding rectangle of the gradient's support.
    assert not (got & ~want).any()
    rows, cols = np.nonzero(got)
    if rows.size and min(field.r0, field.c0) >= 0 and field.r1 < H and field.c1 < W:
        assert (rows.min(), rows.max(), cols.min(), cols.max()) == (field.r0, field.r1, field.c0, field.c1)


def test_two_3x3_layers_see_5x5_and_pooling_widens_it():
    conv = Layer((3, 3))
    assert receptive_field_size([conv]) == (3, 3)
    assert receptive_field_size([conv, conv]) == (5, 5)
    assert receptive_field_size([conv, Layer((2, 2), (2, 2), name="pool"), conv]) == (8, 8)
    fields = receptive_field([conv, conv], (1, 2))
    assert (fields[0].r0, fields[0].r1, fields[0].c0, fields[0].c1) == (1, 5, 2, 6)
    assert fields[1].shape == (3, 3)
    padded = receptive_field([Layer((3, 3), padding=(1, 1))], (0, 0))[0]
    assert (padded.r0, padded.c0) == (-1, -1)  # it reaches into the zero padding
