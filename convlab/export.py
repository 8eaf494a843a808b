"""Take results out of the app: output as CSV or PNG, the kernel as JSON, and a runnable PyTorch script.

Every number is written with the shortest text that reads back as exactly the same float, so an
exported grid or kernel loads back bit for bit.
"""

from __future__ import annotations

import io
import json
import math
import textwrap
from numbers import Real

import numpy as np
from PIL import Image

from convlab.colour import IMAGE, signed_scale
from convlab.grids import as_grid, describe
from convlab.kernels import MAX_KERNEL_SIDE
from convlab.ops import IntPair, output_shape

__all__ = [
    "MAX_PNG_SIDE",
    "MODES",
    "kernel_from_json",
    "kernel_to_json",
    "pytorch_snippet",
    "to_csv",
    "to_png",
]

MODES = ("correlation", "convolution")
MAX_PNG_SIDE = 8192  # a bigger PNG is more than any screen shows and slow to encode
_MAX_JSON_CHARS = 100_000  # a 7x7 kernel needs under 2,000; refuse pasted novels before parsing


def _check_mode(mode: str) -> str:
    """`mode` if it is one of MODES."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'correlation' or 'convolution', got {describe(mode)}")
    return mode


def _number(v: float) -> str:
    """Shortest text that reads back as exactly v: whole numbers without '.0', -0.0 as 0."""
    if v == 0:
        return "0"
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def to_csv(Y: np.ndarray) -> str:
    """(H, W) -> H lines of W comma-separated numbers, each exact (it reads back as the same float)."""
    Y = as_grid(Y, "the output")
    return "".join(",".join(_number(v) for v in row) + "\n" for row in Y.tolist())


def to_png(Z: np.ndarray, *, diverging: bool = True, scale: int = 1) -> bytes:
    """(H, W) -> PNG bytes, (H*scale, W*scale) pixels: a scale x scale block per cell, coloured exactly as
    the grid on screen (`convlab.colour`: `signed_scale(Z)`, or grayscale on 0..1 when not diverging)."""
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a whole number of pixels per cell, 1 or more, got {describe(scale)}")
    Z = as_grid(Z, "the grid")
    rgb = (signed_scale(Z) if diverging else IMAGE).colours(Z)
    H, W = rgb.shape[0] * scale, rgb.shape[1] * scale
    if max(H, W) > MAX_PNG_SIDE:
        raise ValueError(
            f"the PNG would be {H}x{W} pixels, over the {MAX_PNG_SIDE} limit: use a smaller scale"
        )
    if scale > 1:
        # Nearest-neighbour blocks keep every cell one flat colour, as in the heatmap.
        rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def _check_kernel_shape(h: int, w: int) -> None:
    """Refuse kernels the editor cannot show: each side 1..MAX_KERNEL_SIDE."""
    if not (1 <= h <= MAX_KERNEL_SIDE and 1 <= w <= MAX_KERNEL_SIDE):
        raise ValueError(
            f"the kernel is {h}x{w}: each side must be from 1 to {MAX_KERNEL_SIDE}"
        )


def kernel_to_json(K: np.ndarray, *, mode: str = "correlation") -> str:
    """(h, w) -> JSON text {"mode": ..., "kernel": [[...], ...]}; `kernel_from_json` reads it back exactly."""
    K = as_grid(K, "the kernel")
    _check_kernel_shape(*K.shape)
    # json writes floats with repr, the shortest exact text; one row per line reads like the grid.
    rows = ",\n".join("    " + json.dumps(row) for row in K.tolist())
    return f'{{\n  "mode": {json.dumps(_check_mode(mode))},\n  "kernel": [\n{rows}\n  ]\n}}\n'


def _refuse_constant(name: str) -> float:
    """json.loads hook for NaN, Infinity and -Infinity, which Python's json accepts by default."""
    raise ValueError(f"the kernel contains {name}: every cell needs a finite number")


def kernel_from_json(text: str) -> np.ndarray:
    """JSON text -> (h, w) float64 kernel; accepts kernel_to_json's output or a bare [[...], ...] list.

    Raises:
        ValueError: not JSON, no "kernel", rows of different lengths, anything but finite numbers,
            or a side outside 1..MAX_KERNEL_SIDE.
    """
    if not isinstance(text, str):
        raise ValueError(f"kernel JSON must be text, got {type(text).__name__}")
    if not text.strip():
        raise ValueError('the kernel JSON is empty: paste something like {"kernel": [[1, -1]]}')
    if len(text) > _MAX_JSON_CHARS:
        raise ValueError(f"this text is too long to be a kernel ({len(text):,} characters)")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"this is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except RecursionError:  # thousands of nested brackets
        raise ValueError("this is not a kernel: the JSON is nested far too deeply") from None
    if isinstance(data, dict):
        if "kernel" not in data:
            raise ValueError('the JSON has no "kernel" entry: expected {"kernel": [[1, -1]]} or [[1, -1]]')
        if "mode" in data:
            _check_mode(data["mode"])
        data = data["kernel"]
    if not isinstance(data, list) or not data or not all(isinstance(row, list) for row in data):
        raise ValueError("the kernel must be a list of rows, each a list of numbers, like [[1, -1]]")
    widths = {len(row) for row in data}
    if len(widths) != 1:
        raise ValueError(f"every kernel row needs the same number of values, got rows of {sorted(widths)}")
    _check_kernel_shape(len(data), widths.pop())
    for i, row in enumerate(data):
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, Real):
                raise ValueError(f"kernel row {i}, column {j} is {describe(v)}: every cell needs a number")
            # A huge literal such as 1e400 parses as infinity, or overflows converting an int.
            if not math.isfinite(v if isinstance(v, float) else _int_to_float(v)):
                raise ValueError(f"kernel row {i}, column {j} is too large to be a finite number")
    return np.array(data, dtype=np.float64)


def _int_to_float(v: int) -> float:
    """A JSON integer as a float; infinity when it is too big for one."""
    try:
        return float(v)
    except OverflowError:
        return math.inf


def _pair(value: IntPair) -> tuple[int, int]:
    """An already-validated int or pair -> (rows, columns)."""
    return (int(value[0]), int(value[1])) if isinstance(value, (tuple, list)) else (int(value), int(value))


def _count(n: int, noun: str) -> str:
    """'1 row', '6 rows'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _tensor_literal(name: str, A: np.ndarray, comment: str) -> str:
    """Python source that rebuilds A exactly as a float64 tensor, rows wrapped to stay readable."""
    lines = [f"# {comment}", f"{name} = torch.tensor(["]
    for row in A.tolist():
        # Hyphens are minus signs and exponents (-1.0, 1e-05): never break there.
        lines += textwrap.wrap(
            ", ".join(repr(float(v)) for v in row) + "],", width=100, initial_indent="    [",
            subsequent_indent="     ", break_long_words=False, break_on_hyphens=False,
        )
    lines.append("], dtype=torch.float64)")
    return "\n".join(lines)


def pytorch_snippet(
    X: np.ndarray,
    K: np.ndarray,
    *,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
    bias: float = 0.0,
    mode: str = "correlation",
) -> str:
    """A self-contained Python script (only torch) that recomputes Y (H', W') from X (H, W) and K (h, w).

    It assigns `X`, `K`, `bias` and `Y` and prints Y; the values are exact (repr of each float).

    Raises:
        ValueError: anything corr2d refuses, a non-finite bias, or a mode other than MODES.
    """
    X, K = as_grid(X, "the input"), as_grid(K, "the kernel")
    _check_mode(mode)
    if isinstance(bias, bool) or not isinstance(bias, Real) or not math.isfinite(bias):
        raise ValueError(f"bias must be a finite number, got {describe(bias)}")
    Ho, Wo = output_shape(X.shape, K.shape, padding=padding, stride=stride, dilation=dilation)
    (ph, pw), (sh, sw), (dh, dw) = _pair(padding), _pair(stride), _pair(dilation)
    (H, W), (h, w) = X.shape, K.shape

    parts = [
        f"# ConvLab: 2D {'convolution' if mode == 'convolution' else 'cross-correlation'} of a {H}x{W} "
        f"input with a {h}x{w} kernel, in plain PyTorch.",
        "import torch",
        _tensor_literal("X", X, f"The input image X: {_count(H, 'row')}, {_count(W, 'column')}."),
        _tensor_literal("K", K, f"The kernel K: {_count(h, 'row')}, {_count(w, 'column')}."),
    ]
    if mode == "convolution":
        parts.append(
            "# True convolution flips the kernel top-to-bottom and left-to-right before sliding it.\n"
            "# conv2d only slides (it computes cross-correlation), so flip K first.\n"
            "K = K.flip((0, 1))"
        )
    parts += [
        f"bias = {float(bias)!r}",
        "# conv2d takes batches of many-channel images, shaped (batch, channels, height, width):\n"
        "# here one image with one channel, and one kernel from 1 input to 1 output channel.\n"
        "Y = torch.nn.functional.conv2d(\n"
        f"    X.view(1, 1, {H}, {W}), K.view(1, 1, {h}, {w}),\n"
        f"    padding=({ph}, {pw}), stride=({sh}, {sw}), dilation=({dh}, {dw}),\n"
        ")[0, 0] + bias",
        "# Output size along each side: (H + 2*padding - dilation*(h - 1) - 1) // stride + 1\n"
        f"#   rows    ({H} + 2*{ph} - {dh}*({h} - 1) - 1) // {sh} + 1 = {Ho}\n"
        f"#   columns ({W} + 2*{pw} - {dw}*({w} - 1) - 1) // {sw} + 1 = {Wo}\n"
        "print(Y)",
    ]
    return "\n\n".join(parts) + "\n"
