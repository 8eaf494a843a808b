"""Export texts written out by hand: the snippet a learner copies, its wrapping, and every refusal's
wording (mutation testing found that the snippet's comments, counts and line width, the PNG size
limit and the names in error messages could all change without a test noticing)."""

import io
import textwrap

import numpy as np
import pytest
from PIL import Image

from convlab.export import MAX_PNG_SIDE, kernel_from_json, kernel_to_json, pytorch_snippet, to_csv, to_png

CONVOLUTION_1x3 = textwrap.dedent('''\
    # ConvLab: 2D convolution of a 1x3 input with a 1x1 kernel, in plain PyTorch.

    import torch

    # The input image X: 1 row, 3 columns.
    X = torch.tensor([
        [1.0, 2.0, 3.0],
    ], dtype=torch.float64)

    # The kernel K: 1 row, 1 column.
    K = torch.tensor([
        [0.5],
    ], dtype=torch.float64)

    # True convolution flips the kernel top-to-bottom and left-to-right before sliding it.
    # conv2d only slides (it computes cross-correlation), so flip K first.
    K = K.flip((0, 1))

    bias = 0.25

    # conv2d takes batches of many-channel images, shaped (batch, channels, height, width):
    # here one image with one channel, and one kernel from 1 input to 1 output channel.
    Y = torch.nn.functional.conv2d(
        X.view(1, 1, 1, 3), K.view(1, 1, 1, 1),
        padding=(0, 0), stride=(1, 1), dilation=(1, 1),
    )[0, 0] + bias

    # Output size along each side: (H + 2*padding - dilation*(h - 1) - 1) // stride + 1
    #   rows    (1 + 2*0 - 1*(1 - 1) - 1) // 1 + 1 = 1
    #   columns (3 + 2*0 - 1*(1 - 1) - 1) // 1 + 1 = 3
    print(Y)
''')

CORRELATION_2x1 = textwrap.dedent('''\
    # ConvLab: 2D cross-correlation of a 2x1 input with a 2x1 kernel, in plain PyTorch.

    import torch

    # The input image X: 2 rows, 1 column.
    X = torch.tensor([
        [1.0],
        [1.0],
    ], dtype=torch.float64)

    # The kernel K: 2 rows, 1 column.
    K = torch.tensor([
        [1.0],
        [-1.0],
    ], dtype=torch.float64)

    bias = 0.0

    # conv2d takes batches of many-channel images, shaped (batch, channels, height, width):
    # here one image with one channel, and one kernel from 1 input to 1 output channel.
    Y = torch.nn.functional.conv2d(
        X.view(1, 1, 2, 1), K.view(1, 1, 2, 1),
        padding=(0, 1), stride=(2, 1), dilation=(1, 1),
    )[0, 0] + bias

    # Output size along each side: (H + 2*padding - dilation*(h - 1) - 1) // stride + 1
    #   rows    (2 + 2*0 - 1*(2 - 1) - 1) // 2 + 1 = 1
    #   columns (1 + 2*1 - 1*(1 - 1) - 1) // 1 + 1 = 3
    print(Y)
''')


def test_the_convolution_snippet_reads_exactly_as_written():
    text = pytorch_snippet(np.array([[1.0, 2.0, 3.0]]), np.array([[0.5]]), mode="convolution", bias=0.25)
    assert text.strip() == CONVOLUTION_1x3.strip()


def test_a_correlation_snippet_with_per_axis_settings_reads_exactly_as_written():
    text = pytorch_snippet(np.ones((2, 1)), np.array([[1.0], [-1.0]]), padding=(0, 1), stride=(2, 1))
    assert text.strip() == CORRELATION_2x1.strip()
    ns: dict = {}
    exec(compile(text.replace("print(Y)", ""), "snippet", "exec"), ns)
    # By hand: padded X columns [0, 1, 0] in both rows; rows 0..1 with K (1, -1): 0, 1 - 1, 0.
    assert ns["Y"].tolist() == [[0.0, 0.0, 0.0]]


def test_the_padding_in_the_snippet_is_the_padding_asked_for():
    X = np.arange(9.0).reshape(3, 3)
    text = pytorch_snippet(X, np.ones((3, 3)), padding=1, dilation=(1, 2))
    assert "padding=(1, 1), stride=(1, 1), dilation=(1, 2)," in text
    assert "#   rows    (3 + 2*1 - 1*(3 - 1) - 1) // 1 + 1 = 3" in text
    assert "#   columns (3 + 2*1 - 2*(3 - 1) - 1) // 1 + 1 = 1" in text


def test_snippet_rows_wrap_at_exactly_one_hundred_characters():
    # 16 values of 0.25 make a 101-character row: it must wrap (94 + 11 characters), and a 15-value row
    # (89 characters) must not. Reference: Python's textwrap rule, counted by hand.
    lines = pytorch_snippet(np.full((1, 16), 0.25), np.ones((1, 1))).splitlines()
    start = lines.index("X = torch.tensor([") + 1
    assert lines[start : start + 2] == ["    [" + ", ".join(["0.25"] * 15) + ",", "     0.25],"]
    assert len(lines[start]) == 94
    lines = pytorch_snippet(np.full((1, 15), 0.25), np.ones((1, 1))).splitlines()
    start = lines.index("X = torch.tensor([") + 1
    assert lines[start] == "    [" + ", ".join(["0.25"] * 15) + "],"
    assert lines[start + 1] == "], dtype=torch.float64)"


def test_snippet_refusals_name_what_was_wrong():
    with pytest.raises(ValueError, match=r"^the kernel must be a 2-D grid"):
        pytorch_snippet(np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"^the input must be a 2-D grid"):
        pytorch_snippet(np.ones(3), np.ones((1, 1)))
    with pytest.raises(ValueError, match=r"^bias must be a finite number, got 'x'$"):
        pytorch_snippet(np.ones((3, 3)), np.ones((1, 1)), bias="x")
    with pytest.raises(ValueError, match=r"^bias must be a finite number, got inf$"):
        pytorch_snippet(np.ones((3, 3)), np.ones((1, 1)), bias=float("inf"))
    with pytest.raises(ValueError, match=r"^bias must be a finite number, got True$"):
        pytorch_snippet(np.ones((3, 3)), np.ones((1, 1)), bias=True)
    with pytest.raises(ValueError, match=r"^mode must be 'correlation' or 'convolution', got 'sideways'$"):
        pytorch_snippet(np.ones((3, 3)), np.ones((1, 1)), mode="sideways")
    # A numpy float is a fine bias.
    assert "bias = 0.5" in pytorch_snippet(np.ones((3, 3)), np.ones((1, 1)), bias=np.float64(0.5))


def test_kernel_sides_up_to_seven_are_exported_and_eight_refused():
    for shape in ((7, 7), (7, 1), (1, 7)):
        K = np.arange(float(np.prod(shape))).reshape(shape)
        assert np.array_equal(kernel_from_json(kernel_to_json(K)), K)
    for shape in ((8, 7), (7, 8)):
        with pytest.raises(ValueError, match=rf"^the kernel is {shape[0]}x{shape[1]}: each side must be"):
            kernel_to_json(np.ones(shape))
    with pytest.raises(ValueError, match=r"^the kernel must be a 2-D grid"):
        kernel_to_json(np.ones(3))
    with pytest.raises(ValueError, match=r"^the output contains NaN"):
        to_csv(np.array([[np.nan]]))


def _png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_png_sizes_follow_rows_and_columns_up_to_the_limit():
    assert _png_size(to_png(np.ones((2, 3)), scale=5)) == (15, 10)  # PIL: (width, height)
    assert _png_size(to_png(np.ones((2, 3)))) == (3, 2)
    side = MAX_PNG_SIDE // 8  # exactly the limit is allowed
    assert _png_size(to_png(np.ones((1, side)), scale=8)) == (MAX_PNG_SIDE, 8)
    assert _png_size(to_png(np.ones((side, 1)), scale=8)) == (8, MAX_PNG_SIDE)
    with pytest.raises(ValueError, match=r"^the PNG would be 8x8200 pixels"):
        to_png(np.ones((1, 1025)), scale=8)
    with pytest.raises(ValueError, match=r"^the PNG would be 8200x8 pixels"):
        to_png(np.ones((1025, 1)), scale=8)
    with pytest.raises(ValueError, match=r"got 0$"):
        to_png(np.ones((2, 2)), scale=0)
    with pytest.raises(ValueError, match=r"^the grid must be a 2-D grid"):
        to_png(np.ones(2))


def test_a_png_is_a_real_png_file():
    data = to_png(np.ones((2, 2)))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(data)).format == "PNG"
