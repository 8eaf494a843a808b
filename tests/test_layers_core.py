"""The Layers page's core: colour pictures as three channels, the two-layer stack, the terms of a
transposed convolution's cell, and the runnable snippets — each against PyTorch or by hand."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from convlab import load_image, load_image_rgb
from convlab.channels import corr2d_multi_in_out
from convlab.matrix import conv_matrix, conv_transpose2d, im2col, transposed_sources
from convlab.receptive import receptive_field
from convlab.snippets import channels_snippet, matrix_snippet, transposed_snippet, two_layers_snippet
from convlab.stack import run_stack

RNG = np.random.default_rng(7)


def _png(a: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a, mode).save(buf, "PNG")
    return buf.getvalue()


# ------------------------------------------------------------------------------------ colour pictures


def test_a_colour_picture_keeps_its_three_channels():
    a = np.zeros((40, 60, 3), np.uint8)
    a[:, :30, 0] = 255  # left half red
    a[:20, 30:, 1] = 255  # top right green
    a[20:, 30:, 2] = 204  # bottom right blue at 0.8
    X = load_image_rgb(_png(a), (4, 6))
    assert X.shape == (3, 4, 6)
    np.testing.assert_allclose(X[0], np.repeat([[1, 1, 1, 0, 0, 0]], 4, axis=0))
    np.testing.assert_allclose(X[1], [[0, 0, 0, 1, 1, 1]] * 2 + [[0] * 6] * 2)
    np.testing.assert_allclose(X[2], [[0] * 6] * 2 + [[0, 0, 0, 0.8, 0.8, 0.8]] * 2)


def test_a_one_by_one_kernel_with_the_luma_weights_is_the_gray_picture():
    a = RNG.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    data = _png(a)
    X = load_image_rgb(data, (24, 24))
    K = np.array([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1)  # ITU-R 601 luma, Pillow's own "L"
    gray = corr2d_multi_in_out(X, K)[0]
    np.testing.assert_allclose(gray, load_image(data, (24, 24)), atol=1 / 255)


def test_transparent_parts_read_as_white_and_shrinking_averages():
    a = np.zeros((8, 8, 4), np.uint8)
    a[..., 0] = 255
    a[:, :4, 3] = 255  # left half opaque red, right half fully transparent
    X = load_image_rgb(_png(a, "RGBA"), (1, 2))
    np.testing.assert_allclose(X[:, 0, 0], [1, 0, 0])
    np.testing.assert_allclose(X[:, 0, 1], [1, 1, 1])


def test_a_sixteen_bit_gray_picture_fills_every_channel_with_its_gray():
    a = np.full((6, 6), 65535 // 2, np.uint16)
    X = load_image_rgb(_png(a), (3, 3))  # Pillow opens it as I;16
    assert X.shape == (3, 3, 3)
    np.testing.assert_allclose(X, 0.5, atol=1e-4)


@pytest.mark.parametrize("data", [b"", b"not a picture", _png(np.zeros((4, 4, 3), np.uint8))[:40]])
def test_broken_pictures_are_refused_in_words(data):
    with pytest.raises(ValueError, match=r"picture|empty"):
        load_image_rgb(data, (4, 4))


def test_an_exif_rotated_photo_comes_upright():
    a = np.zeros((2, 4, 3), np.uint8)
    a[:, 0] = 255  # a white left column, stored
    img = Image.fromarray(a)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to show
    buf = io.BytesIO()
    img.save(buf, "PNG", exif=exif)
    X = load_image_rgb(buf.getvalue(), (4, 2))
    np.testing.assert_allclose(X[0], [[1, 1], [0, 0], [0, 0], [0, 0]])  # the left column is now the top row


# ------------------------------------------------------------------------------------------ stack


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("pool", [None, "max", "avg"])
@pytest.mark.parametrize("pads", [(0, 0), (1, 2)])
def test_the_stack_is_pytorchs(relu, pool, pads):
    X, K1, K2 = RNG.normal(size=(11, 13)), RNG.normal(size=(3, 2)), RNG.normal(size=(2, 3))
    s = run_stack(X, K1, K2, relu=relu, pool=pool, padding1=pads[0], padding2=pads[1])
    t = F.conv2d(torch.tensor(X)[None, None], torch.tensor(K1)[None, None], padding=pads[0])
    np.testing.assert_allclose(s.H1, (F.relu(t) if relu else t)[0, 0].numpy(), atol=1e-12)
    if relu:
        t = F.relu(t)
    if pool:
        t = (F.max_pool2d if pool == "max" else F.avg_pool2d)(t, 2)
    t = F.conv2d(t, torch.tensor(K2)[None, None], padding=pads[1])
    np.testing.assert_allclose(s.Y, t[0, 0].numpy(), atol=1e-12)
    assert len(s.layers) == len(s.inputs) == (3 if pool else 2)


def test_a_stacks_receptive_field_is_what_the_output_depends_on():
    X = RNG.normal(size=(12, 12))
    K1, K2 = RNG.normal(size=(3, 3)), RNG.normal(size=(3, 3))
    s = run_stack(X, K1, K2, relu=False, pool="avg")
    field = receptive_field(s.layers, (1, 2))[0]
    # The gradient of one output cell is non-zero exactly inside its field (no ReLU, generic weights).
    x = torch.tensor(X, requires_grad=True)
    y = F.conv2d(F.avg_pool2d(F.conv2d(x[None, None], torch.tensor(K1)[None, None]), 2),
                 torch.tensor(K2)[None, None])
    y[0, 0, 1, 2].backward()
    rows, cols = np.nonzero(x.grad.numpy())
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (field.r0, field.r1, field.c0, field.c1)
    assert field.shape == (8, 8)  # larger than either 3x3 kernel


def test_a_map_too_small_for_the_second_kernel_names_the_layer():
    with pytest.raises(ValueError, match="layer 2"):
        run_stack(np.ones((5, 5)), np.ones((3, 3)), np.ones((3, 3)), pool="max")


# ------------------------------------------------------------------------- transposed convolution


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 0), (2, 1), (3, 1)])
def test_the_terms_of_each_transposed_cell_add_up_to_it(stride, padding):
    X, K = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 2))
    Z = conv_transpose2d(X, K, stride=stride, padding=padding)
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            terms = transposed_sources(X.shape, K.shape, (i, j), stride=stride, padding=padding)
            assert np.isclose(sum(X[r] * K[t] for r, t in terms), Z[i, j])


def test_a_three_by_three_kernel_at_stride_two_makes_the_checkerboard():
    counts = conv_transpose2d(np.ones((3, 3)), np.ones((3, 3)), stride=2)
    np.testing.assert_array_equal(counts[:3, :3], [[1, 1, 2], [1, 1, 2], [2, 2, 4]])


def test_a_cell_outside_the_transposed_output_is_refused():
    with pytest.raises(ValueError, match="outside"):
        transposed_sources((2, 2), (2, 2), (3, 0))


# ------------------------------------------------------------------------------------------ snippets


def _run(snippet: str) -> tuple[dict, str]:
    namespace: dict = {"__name__": "__main__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(snippet, "<snippet>", "exec"), namespace)
    return namespace, printed.getvalue()


def test_the_channels_snippet_prints_the_pages_numbers():
    X, K, b = RNG.random((3, 6, 7)), RNG.normal(size=(2, 3, 3, 2)), np.array([0.5, -1.0])
    ns, printed = _run(channels_snippet(X, K, b, padding=1, stride=(2, 1), dilation=1))
    expected = corr2d_multi_in_out(X, K, b, padding=1, stride=(2, 1))
    np.testing.assert_allclose(ns["Y"].numpy(), expected, atol=1e-12)
    np.testing.assert_array_equal(ns["X"].numpy(), X)  # rebuilt exactly
    assert printed.startswith("tensor(")


@pytest.mark.parametrize("pool", [None, "max", "avg"])
def test_the_two_layers_snippet_prints_the_pages_numbers(pool):
    X, K1, K2 = RNG.random((10, 10)), RNG.normal(size=(3, 3)), RNG.normal(size=(2, 2))
    ns, printed = _run(two_layers_snippet(X, K1, K2, relu=True, pool=pool, padding1=1, padding2=0))
    s = run_stack(X, K1, K2, relu=True, pool=pool, padding1=1)
    np.testing.assert_allclose(ns["Y"][0, 0].numpy(), s.Y, atol=1e-12)
    assert "H1 =" in printed and "Y =" in printed and ("P =" in printed) == bool(pool)


def test_the_matrix_snippet_builds_the_same_matrices():
    X, K = RNG.random((4, 5)), RNG.normal(size=(2, 3))
    ns, printed = _run(matrix_snippet(X, K, padding=1, stride=2, dilation=1))
    np.testing.assert_allclose(ns["M"].numpy(), conv_matrix(K, X.shape, padding=1, stride=2), atol=1e-12)
    np.testing.assert_allclose(ns["windows"].numpy(), im2col(X, K.shape, padding=1, stride=2), atol=1e-12)
    assert "M @ vec(X) =" in printed


def test_the_transposed_snippet_prints_the_pages_numbers():
    X, K = RNG.random((3, 3)), RNG.normal(size=(3, 3))
    ns, _ = _run(transposed_snippet(X, K, stride=2, padding=1))
    np.testing.assert_allclose(ns["Z"].numpy(), conv_transpose2d(X, K, stride=2, padding=1), atol=1e-12)
