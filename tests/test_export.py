"""Exports: exact CSV, PNG coloured as the screen, kernel JSON round trips, PyTorch snippets that run."""

import ast
import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from convlab.colour import IMAGE, NEUTRAL, signed_scale
from convlab.export import MAX_PNG_SIDE, kernel_from_json, kernel_to_json, pytorch_snippet, to_csv, to_png
from convlab.images import image_preset
from convlab.kernels import KERNELS, kernel_preset
from convlab.ops import conv2d, corr2d

AWKWARD = np.array([[0.1, -0.0, 1.0, 1 / 3], [-2.5, 1e-20, 123456789.125, -7e300]])

# ---------------------------------------------------------------------------------------------- CSV


def test_csv_of_the_lessons_output():
    Y = corr2d(image_preset("stripes"), kernel_preset("edge"))
    assert to_csv(Y) == "0,1,0,0,0,-1,0\n" * 6


def test_csv_is_exact_and_writes_minus_zero_as_zero():
    text = to_csv(AWKWARD)
    assert text.splitlines()[0] == f"0.1,0,1,{1 / 3!r}"
    back = np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])
    np.testing.assert_array_equal(back, AWKWARD)
    assert "-0" not in text.replace("-0.0", "")  # no lone "-0"
    assert not np.signbit(back[0, 1])


def test_csv_accepts_tensors_and_refuses_non_finite_values():
    import torch

    assert to_csv(torch.tensor([[1.5, 2.0]], requires_grad=True) * 1) == "1.5,2\n"
    with pytest.raises(ValueError, match="NaN or infinity"):
        to_csv(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="must be a 2-D grid"):
        to_csv(np.ones(3))


# ---------------------------------------------------------------------------------------------- PNG


def _decode(data: bytes) -> np.ndarray:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as img:
        assert img.mode == "RGB"
        return np.asarray(img)


def test_png_is_the_screens_colours_scaled_up_in_flat_blocks():
    Y = corr2d(image_preset("stripes"), kernel_preset("edge"))  # 6x7, values -1, 0, 1
    pixels = _decode(to_png(Y, scale=32))
    assert pixels.shape == (6 * 32, 7 * 32, 3)
    screen = signed_scale(Y).colours(Y)  # what the output grid shows
    np.testing.assert_array_equal(pixels[::32, ::32], screen)
    np.testing.assert_array_equal(pixels[32:64, 32:64], np.broadcast_to(screen[1, 1], (32, 32, 3)))
    np.testing.assert_array_equal(_decode(to_png(Y)), screen)
    # Hand-checked: 0 is the neutral white, +1 the darkest red, -1 the darkest blue (range ±1).
    assert tuple(screen[0, 0]) == NEUTRAL
    assert tuple(screen[0, 1]) == (103, 0, 31) and tuple(screen[0, 5]) == (5, 48, 97)


def test_png_grayscale_is_fixed_on_zero_to_one():
    X = image_preset("gradient", (3, 5)) * 0.5  # 0..0.5: mid-gray at most, never stretched to white
    pixels = _decode(to_png(X, diverging=False, scale=2))
    np.testing.assert_array_equal(pixels[::2, ::2], IMAGE.colours(X))
    assert pixels.max() == 128 and pixels.min() == 0


def test_png_refusals():
    with pytest.raises(ValueError, match="scale must be a whole number"):
        to_png(np.ones((2, 2)), scale=0)
    with pytest.raises(ValueError, match="scale must be a whole number"):
        to_png(np.ones((2, 2)), scale=1.5)
    with pytest.raises(ValueError, match=f"over the {MAX_PNG_SIDE} limit: use a smaller scale"):
        to_png(np.ones((64, 64)), scale=200)


# --------------------------------------------------------------------------------------------- JSON


@pytest.mark.parametrize("key", list(KERNELS))
def test_every_preset_round_trips_exactly(key):
    K = kernel_preset(key)
    back = kernel_from_json(kernel_to_json(K))
    np.testing.assert_array_equal(back, K)
    assert back.dtype == np.float64 and back.shape == K.shape


def test_json_round_trips_awkward_values_bit_for_bit():
    K = AWKWARD[:, :3]
    back = kernel_from_json(kernel_to_json(K, mode="convolution"))
    assert back.tobytes() == K.tobytes()  # -0.0 keeps its sign, 0.1 stays 0.1
    assert json.loads(kernel_to_json(K, mode="convolution"))["mode"] == "convolution"


def test_json_is_readable_one_row_per_line():
    assert kernel_to_json(kernel_preset("edge_t")) == (
        '{\n  "mode": "correlation",\n  "kernel": [\n    [1.0],\n    [-1.0]\n  ]\n}\n'
    )


def test_json_accepts_a_bare_list_and_integers():
    np.testing.assert_array_equal(kernel_from_json("[[1, -1]]"), [[1.0, -1.0]])
    np.testing.assert_array_equal(kernel_from_json('{"kernel": [[0.5], [2]]}'), [[0.5], [2.0]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the kernel JSON is empty"),
        ("[[1, -1]", r"not valid JSON \(line 1, column 9"),
        ("kernel = [[1, -1]]", "not valid JSON"),
        ("[[1], [1, 2]]", r"same number of values, got rows of \[1, 2\]"),
        ('[[1, "2"]]', "row 0, column 1 is '2': every cell needs a number"),
        ("[[1, null]]", "row 0, column 1 is None"),
        ("[[true, 1]]", "row 0, column 0 is True"),
        ("[[1, NaN]]", "contains NaN"),
        ("[[-Infinity]]", "contains -Infinity"),
        ("[[1e400]]", "too large to be a finite number"),
        (f"[[{10**400}]]", "too large to be a finite number"),
        ("[1, -1]", "list of rows"),
        ("[]", "list of rows"),
        ("[[]]", "the kernel is 1x0"),
        ("[[1, 2, 3, 4, 5, 6, 7, 8]]", "the kernel is 1x8: each side must be from 1 to 7"),
        ("[" + "[1]," * 8 + "[1]]", "the kernel is 9x1"),
        ('{"weights": [[1]]}', 'no "kernel" entry'),
        ('{"kernel": [[1]], "mode": "flip"}', "mode must be 'correlation' or 'convolution'"),
        ("[" * 100_001, "too long to be a kernel"),
        ("[" * 10_000, "nested far too deeply"),
        ('"just text"', "list of rows"),
    ],
    ids=lambda value: value[:30] if isinstance(value, str) else None,
)
def test_json_refusals_are_clear(text, message):
    with pytest.raises(ValueError, match=message):
        kernel_from_json(text)


def test_json_refuses_bad_kernels_and_modes_on_the_way_out():
    with pytest.raises(ValueError, match="the kernel is 8x8"):
        kernel_to_json(np.ones((8, 8)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        kernel_to_json(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="mode must be"):
        kernel_to_json(np.ones((2, 2)), mode="Correlation")
    with pytest.raises(ValueError, match="must be text"):
        kernel_from_json(b"[[1]]")


# ------------------------------------------------------------------------------------------ snippet


def _run(snippet: str) -> tuple[dict, str]:
    """Execute a snippet as its own script; return its variables and what it printed."""
    tree = ast.parse(snippet)
    imports = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert imports == {"torch"} and not any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))
    namespace: dict = {"__name__": "__main__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(tree, "<snippet>", "exec"), namespace)
    return namespace, printed.getvalue()


SETTINGS = [
    {},
    {"padding": 1},
    {"padding": (2, 0), "stride": 2},
    {"stride": (1, 3), "dilation": 2},
    {"padding": 1, "stride": 2, "dilation": (2, 1), "bias": -0.75},
    {"mode": "convolution"},
    {"mode": "convolution", "padding": (0, 1), "dilation": 2, "bias": 0.1},
]


@pytest.mark.parametrize("options", SETTINGS)
def test_snippet_recomputes_what_convlab_computes(options):
    X = image_preset("noise", (7, 9), seed=5)
    K = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])  # asymmetric: a missed flip would show
    namespace, printed = _run(pytorch_snippet(X, K, **options))
    settings = {name: options[name] for name in ("padding", "stride", "dilation") if name in options}
    op = conv2d if options.get("mode") == "convolution" else corr2d
    expected = op(X, K, **settings) + options.get("bias", 0.0)
    Y = namespace["Y"].numpy()
    # F.conv2d and corr2d's own strategy may round the last bit differently; the data is exact.
    np.testing.assert_allclose(Y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(namespace["X"].numpy(), X)  # rebuilt exactly
    assert namespace["bias"] == options.get("bias", 0.0)
    assert printed.startswith("tensor(")


def test_snippet_of_the_lesson_explains_itself():
    snippet = pytorch_snippet(image_preset("stripes"), kernel_preset("edge"))
    assert "cross-correlation of a 6x8 input with a 1x2 kernel" in snippet
    assert "X.view(1, 1, 6, 8), K.view(1, 1, 1, 2)" in snippet
    assert "rows    (6 + 2*0 - 1*(1 - 1) - 1) // 1 + 1 = 6" in snippet
    assert "K.flip" not in snippet
    namespace, _ = _run(snippet)
    assert namespace["Y"].tolist() == [[0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0]] * 6
    convolution = pytorch_snippet(image_preset("stripes"), kernel_preset("edge"), mode="convolution")
    assert "K = K.flip((0, 1))" in convolution and "cross-correlation), so flip K first" in convolution


def test_snippet_for_a_64x64_grid_keeps_lines_short_and_values_exact():
    X = image_preset("noise", (64, 64), seed=1) * 1e-7 - 3e-6  # long reprs with exponents and minus signs
    K = kernel_preset("gaussian")
    snippet = pytorch_snippet(X, K, padding=1)
    assert max(len(line) for line in snippet.splitlines()) <= 110
    namespace, _ = _run(snippet)
    np.testing.assert_array_equal(namespace["X"].numpy(), X)
    np.testing.assert_allclose(namespace["Y"].numpy(), corr2d(X, K, padding=1), rtol=1e-12, atol=1e-20)


def test_snippet_refusals():
    X, K = np.ones((4, 4)), np.ones((2, 2))
    with pytest.raises(ValueError, match="kernel 5x5 is larger than the padded input 4x4"):
        pytorch_snippet(X, np.ones((5, 5)))
    with pytest.raises(ValueError, match="stride must be 1 or more"):
        pytorch_snippet(X, K, stride=0)
    with pytest.raises(ValueError, match="mode must be"):
        pytorch_snippet(X, K, mode="flipped")
    with pytest.raises(ValueError, match="bias must be a finite number"):
        pytorch_snippet(X, K, bias=float("nan"))
    with pytest.raises(ValueError, match="the input contains NaN"):
        pytorch_snippet(np.array([[np.inf, 1.0], [1.0, 1.0]]), K)
