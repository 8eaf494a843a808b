"""The section's exercises, checked: every answer is tried numerically on test images, never compared as text.

Each checker returns a `Verdict`: right or not, and a message — why a right answer is right (and which other
answers are just as right), or a hint aimed at the particular mistake. Multiple-choice questions know their
answer only by computing it: the choice whose claimed output equals the live `corr2d` (or, for autograd, the
outcome of running it) is the right one.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from convlab.grids import as_grid
from convlab.images import image_preset
from convlab.kernels import kernel_preset
from convlab.ops import corr2d, corr2d_loop

__all__ = [
    "AUTOGRAD_CHOICES",
    "EDGE_DIRECTIONS",
    "EXERCISES",
    "MAX_DERIVATIVE",
    "SECOND_DERIVATIVE",
    "AutogradReport",
    "Choice",
    "EdgeDirection",
    "Question",
    "Verdict",
    "autograd_comparison",
    "autograd_question",
    "box_sum_answer",
    "check_box_sum",
    "check_correlation_matrix",
    "check_derivative_kernel",
    "check_edge_detector",
    "check_second_derivative",
    "correlation_matrix",
    "derivative_kernel",
    "diagonal_edge_image",
    "diagonal_question",
    "edge_detector_answer",
    "kernel_text",
    "ordinal",
    "parse_grid",
    "power_text",
    "transposed_kernel_question",
]

# The exercises in page order; progress ids are "exercise.<name>".
EXERCISES = ("diagonal", "transpose_k", "edge_detector", "second_derivative", "box_sum", "derivative",
             "autograd", "matrix")
LIMIT = 1e6  # the largest typed magnitude, as in the grid component
MAX_DERIVATIVE = 6  # a d-th derivative needs d + 1 taps, and kernels are at most 7 wide
SECOND_DERIVATIVE = np.array([[1.0, -2.0, 1.0]])


@dataclass(frozen=True)
class Verdict:
    """A checked answer: `correct`, and a message in the learner's words (why, or a hint for this mistake)."""

    correct: bool
    message: str


# ------------------------------------------------------------------------------------------- typing answers

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _number(token: str) -> float:
    """One typed number: `0.5`, `-2`, `1e-3` or a fraction `1/9` -> float; ValueError in a learner's words."""
    parts = token.split("/")
    shown = token if len(token) <= 12 else token[:12] + "…"
    if len(parts) > 2 or not all(_NUMBER.fullmatch(p) for p in parts):
        raise ValueError(f"“{shown}” is not a number: type numbers such as 1, −2, 0.5 or 1/9")
    value = float(parts[0])
    if len(parts) == 2:
        if float(parts[1]) == 0:
            raise ValueError(f"“{shown}” divides by zero")
        value /= float(parts[1])
    if not math.isfinite(value) or abs(value) > LIMIT:
        raise ValueError(f"“{shown}” is too large: numbers here stay within ±1,000,000")
    return value


def _count(n: int) -> str:
    return f"{n} number" if n == 1 else f"{n} numbers"


def parse_grid(text: str, *, name: str = "kernel", max_rows: int = 7, max_cols: int = 7) -> np.ndarray:
    """Typed numbers -> an (h, w) float64 grid: rows split by `;` or new lines (or `[[…], […]]`), numbers by
    commas or spaces; `−` and fractions (`1/9`) accepted.

    Raises:
        ValueError: nothing typed, a token that is not a number, rows of different lengths, or too large.
    """
    flat = text.replace("−", "-").replace("–", "-").strip()
    flat = re.sub(r"\]\s*,?\s*\[", ";", flat).replace("[", " ").replace("]", " ")
    rows = [row for row in re.split(r"[;\n]", flat) if row.strip(" ,\t")]
    if not rows:
        raise ValueError(f"type the {name}'s numbers, e.g. 1, −2, 1 (rows separated by ;)")
    grid = [[_number(t) for t in re.split(r"[,\s]+", row.strip(" ,\t")) if t] for row in rows]
    for i, row in enumerate(grid[1:], start=2):
        if len(row) != len(grid[0]):
            raise ValueError(f"row {i} has {_count(len(row))} but row 1 has {len(grid[0])}: every row needs "
                             f"the same count")
    if len(grid) > max_rows or len(grid[0]) > max_cols:
        raise ValueError(f"the {name} is {len(grid)}x{len(grid[0])}: at most {max_rows}x{max_cols} here")
    return np.array(grid, dtype=np.float64)


def _num(v: float) -> str:
    """A number for a message: 4 significant digits, typographic minus, never "-0"."""
    text = f"{v:.4g}"
    return "0" if text in ("0", "-0") else text.replace("-", "−")


def kernel_text(K: np.ndarray) -> str:
    """A kernel as it is typed: "[1, −2, 1]" for one row, "[[1, 0], [0, −1]]" otherwise."""
    rows = ["[" + ", ".join(_num(v) for v in row) + "]" for row in np.asarray(K, dtype=np.float64)]
    return rows[0] if len(rows) == 1 else "[" + ", ".join(rows) + "]"


def _is_zero(Z: np.ndarray, scale: float) -> bool:
    """True when every cell of Z is 0 up to rounding in sums of size `scale`."""
    return bool(np.all(np.abs(Z) <= 1e-9 * max(scale, 1.0)))


def _constant(Z: np.ndarray, scale: float) -> float | None:
    """The one value every cell of Z holds (up to rounding), else None."""
    value = float(np.mean(Z))
    return value if _is_zero(Z - value, scale) else None


def _grids(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) row and column index grids i, j as float64."""
    i, j = np.indices(shape, dtype=np.float64)
    return i, j


def _kernel(K: object) -> np.ndarray:
    return as_grid(K, "the kernel")


# ------------------------------------------------------------------------------------- multiple choice


@dataclass(frozen=True)
class Choice:
    """A choice to pick: `key`, its `label`, and the `hint` shown when it is picked but wrong."""

    key: str
    label: str
    hint: str


@dataclass(frozen=True, eq=False)
class Question:
    """A prediction to make: the choices, the key of the right one (computed, never typed), and why."""

    choices: tuple[Choice, ...]
    answer: str
    why: str

    def check(self, key: str) -> Verdict:
        """The verdict on the choice `key`: right with the explanation, or wrong with that choice's hint."""
        chosen = next((c for c in self.choices if c.key == key), None)
        if chosen is None:
            raise ValueError(f"there is no choice {key!r}: choose one of "
                             f"{', '.join(c.key for c in self.choices)}")
        return Verdict(True, self.why) if key == self.answer else Verdict(False, chosen.hint)

    @property
    def right(self) -> Choice:
        """The right choice."""
        return next(c for c in self.choices if c.key == self.answer)


def _matching(claims: dict[str, np.ndarray], actual: np.ndarray) -> str:
    """The one key whose claimed output equals `actual` (same shape, same numbers)."""
    keys = [key for key, Z in claims.items() if Z.shape == actual.shape and np.allclose(Z, actual)]
    if len(keys) != 1:
        raise ValueError(f"exactly one choice must match the computed output, {len(keys)} do")
    return keys[0]


def diagonal_edge_image(n: int = 8) -> np.ndarray:
    """(n, n) image with a diagonal edge: white (1) on and below the diagonal, black (0) above it."""
    i, j = _grids((n, n))
    return (j <= i).astype(np.float64)


def diagonal_question(X: np.ndarray | None = None) -> tuple[np.ndarray, Question]:
    """The lesson's [1, −1] on a diagonal edge: Y = corr2d(X, K) (n, n−1) and the prediction question."""
    X = diagonal_edge_image() if X is None else X
    K = kernel_preset("edge")
    Y = corr2d(X, K)
    n = X.shape[0]
    stair = np.zeros_like(Y)
    stair[np.arange(n - 1), np.arange(n - 1)] = 1.0
    white = (np.indices(Y.shape)[1] <= np.indices(Y.shape)[0]).astype(np.float64)
    claims = {"zeros": np.zeros_like(Y), "plus": stair, "minus": -stair, "white": white}
    choices = (
        Choice("zeros", "All zeros: [1, −1] only sees vertical edges",
               "Follow one row of X from left to right: white, white, …, then black. That one drop is a "
               "vertical step one cell tall, and [1, −1] sees it. A diagonal edge is a staircase of such "
               "steps, one in every row."),
        Choice("plus", "A diagonal line of +1, one cell in every row", ""),
        Choice("minus", "A diagonal line of −1, one cell in every row",
               "Right place, wrong sign. [1, −1] computes left − right, and on this edge the left cell of "
               "the step is white (1) and the right one black (0): 1 − 0 = +1."),
        Choice("white", "+1 in every white cell",
               "Inside the white triangle both cells under the kernel are 1, and 1 − 1 = 0: the kernel "
               "answers only where neighbours differ, not where the image is bright."),
    )
    why = ("Every row of X steps once from white to black, one column further right in each row; [1, −1] "
           "answers +1 exactly there. So a diagonal edge comes out as a diagonal line of +1: the kernel sees "
           "the edge's staircase, one vertical step per row. (The last row is white to the end: no step.)")
    return Y, Question(choices, _matching(claims, Y), why)


def transposed_kernel_question() -> tuple[np.ndarray, Question]:
    """The stripes X with the kernel transposed: Y = corr2d(X, K.T) (5, 8) and the prediction question."""
    X, K = image_preset("stripes"), kernel_preset("edge")
    Y = corr2d(X, K.T)
    claims = {"zeros": np.zeros((X.shape[0] - 1, X.shape[1])), "same": corr2d(X, K), "turned": corr2d(X, K).T}
    choices = (
        Choice("zeros", "All zeros, just as with X.T and K", ""),
        Choice("same", "The same edges as corr2d(X, K)",
               "K.T = [[1], [−1]] compares each cell with the one below it, not the one beside it. Go down a "
               "column of the stripes: the colour never changes."),
        Choice("turned", "The edges turned on their side: corr2d(X, K).T",
               "That is what transposing both gives: corr2d(X.T, K.T) = corr2d(X, K).T. Transposing only K "
               "asks another question: does the brightness change from top to bottom?"),
    )
    why = ("K.T = [[1], [−1]] computes top − bottom, and the stripes are the same all the way down every "
           "column, so every output is 0 — the mirror image of the lesson's X.T with K. Transposing the "
           "kernel turns the detector from vertical edges to horizontal ones; transposing both X and K gives "
           "corr2d(X, K).T.")
    return Y, Question(choices, _matching(claims, Y), why)


# -------------------------------------------------------------------------------------- designed kernels


@dataclass(frozen=True)
class EdgeDirection:
    """Edges running along `along` (a (row, column) step); the brightness changes `across` them."""

    key: str
    label: str
    along: tuple[int, int]
    across: tuple[int, int]
    rises: str  # the way along `across`, in words


EDGE_DIRECTIONS = {
    d.key: d
    for d in (
        EdgeDirection("vertical", "vertical edges │", (1, 0), (0, 1), "from left to right"),
        EdgeDirection("horizontal", "horizontal edges ─", (0, 1), (1, 0), "from top to bottom"),
        EdgeDirection("diagonal", "diagonal edges ╲", (1, 1), (1, -1),
                      "from the top-right side to the bottom-left"),
        EdgeDirection("antidiagonal", "diagonal edges ╱", (1, -1), (1, 1),
                      "from the top-left side to the bottom-right"),
    )
}


def edge_detector_answer(direction: str) -> np.ndarray:
    """One right answer: the smallest kernel that measures the change across edges of `direction`."""
    answers = {"vertical": [[-1, 1]], "horizontal": [[-1], [1]], "diagonal": [[0, -1], [1, 0]],
               "antidiagonal": [[-1, 0], [0, 1]]}
    return np.array(answers[direction], dtype=np.float64)


def _ramp(shape: tuple[int, int], step: tuple[int, int]) -> np.ndarray:
    """(H, W) brightness rising by 1 per (row, column) step `step`: step[0]·i + step[1]·j."""
    i, j = _grids(shape)
    return step[0] * i + step[1] * j


def _measured_direction(K: np.ndarray) -> str:
    """Which named edges K responds to, from the ramps it answers (its weights' first moments)."""
    p, q = np.indices(K.shape)
    m = np.array([(p * K).sum(), (q * K).sum()])
    for d in EDGE_DIRECTIONS.values():
        n = np.array(d.across, dtype=np.float64)
        if abs(m[0] * n[1] - m[1] * n[0]) <= 1e-9 * max(1.0, float(np.abs(m).max())):
            return d.label
    return "edges at an angle between the four directions"


def check_edge_detector(K: object, direction: str) -> Verdict:
    """Does K (h, w) detect `direction` edges? Tried on a flat image, and ramps along and across the edge."""
    K = _kernel(K)
    if direction not in EDGE_DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}: choose one of {', '.join(EDGE_DIRECTIONS)}")
    d = EDGE_DIRECTIONS[direction]
    shape = (12, 12)
    scale = float(np.abs(K).sum()) * 24
    if _is_zero(K, 1.0):
        return Verdict(False, "Your kernel is all zeros: it answers 0 to every image, edges included.")
    flat = corr2d(np.ones(shape), K)
    if not _is_zero(flat, scale):
        return Verdict(False, f"A flat grey image gives {_num(float(flat[0, 0]))} everywhere: your weights "
                              f"add up to {_num(float(K.sum()))}, not 0. An edge detector must ignore "
                              f"constant brightness, so its weights must cancel.")
    along = corr2d(_ramp(shape, d.along), K)
    if not _is_zero(along, scale):
        return Verdict(False, f"Your kernel answers {_num(float(along[0, 0]))} when the brightness changes "
                              f"*along* the edge, so it would fire on other edges too: it measures "
                              f"{_measured_direction(K)}. For {d.label} it must measure only the change "
                              f"{d.rises}.")
    across = corr2d(_ramp(shape, d.across), K)
    c = _constant(across, scale)
    if c is None or abs(c) <= 1e-9 * max(scale, 1.0):
        return Verdict(False, "Your kernel gives 0 on a steady slope across the edge, so it does not measure "
                              "the change across it (a symmetric kernel such as [1, −2, 1] measures "
                              "curvature, not slope). Put positive weights on one side of the edge and "
                              "negative ones on the other.")
    sign = "rises" if c > 0 else "drops"
    return Verdict(True, f"Right: a flat image gives 0 (the weights cancel), a ramp along the edge gives 0, "
                         f"and a ramp across it gives {_num(c)} in every cell. The response is positive "
                         f"where the brightness {sign} {d.rises}. Any nonzero multiple of your kernel is "
                         f"just as right — scaling changes how strongly it answers, not where — and so is "
                         f"its negative, which marks the same edges with the opposite sign.")


def check_second_derivative(K: object) -> Verdict:
    """Is K the finite difference of f'' along the rows (x = column)? Tried on 1, j, i, i², i·j and j²."""
    K = _kernel(K)
    shape = (10, 10)
    scale = float(np.abs(K).sum()) * 100
    i, j = _grids(shape)
    if _is_zero(K, 1.0):
        return Verdict(False, "Your kernel is all zeros: it answers 0 to every image.")
    flat = corr2d(np.ones(shape), K)
    if not _is_zero(flat, scale):
        return Verdict(False, f"A flat image gives {_num(float(flat[0, 0]))}: your weights add up to "
                              f"{_num(float(K.sum()))}. A derivative of a constant is 0, so the weights must "
                              f"cancel.")
    slope = corr2d(j, K)
    if not _is_zero(slope, scale):
        return Verdict(False, f"A steady slope f(x) = x gives {_num(float(slope[0, 0]))}, but its second "
                              f"derivative is 0: your kernel still holds a first derivative. Make it "
                              f"symmetric about its centre (the weights times their column positions must "
                              f"cancel).")
    rows = [corr2d(Z, K) for Z in (i, i * i, i * j)]
    if not all(_is_zero(Z, scale) for Z in rows):
        down = _constant(rows[1], scale)
        curved_down = down is not None and abs(down) > 1e-9 * max(scale, 1.0)
        if _is_zero(rows[0], scale) and curved_down and _is_zero(corr2d(j * j, K), scale):
            return Verdict(False, "Your kernel runs down a column: it is d²/dy², the second derivative from "
                                  "top to bottom. Lay it along a row, e.g. as one row of numbers.")
        return Verdict(False, "Your kernel responds to brightness changing from row to row. The second "
                              "derivative along x must ignore how rows differ: put the weights in one row.")
    r = _constant(corr2d(j * j, K), scale)
    if r is None or abs(r) <= 1e-9 * max(scale, 1.0):
        return Verdict(False, "Your kernel gives 0 on f(x) = x², whose second derivative is 2: it is blind "
                              "to curvature. It needs at least three taps in a row.")
    if np.isclose(r, 2.0, rtol=1e-9):
        fewest = " Yours is right on every quadratic; the fewest taps are three: [1, −2, 1]."
        extra = "" if K.shape == (1, 3) else fewest
        return Verdict(True, f"Right: 0 on a flat image and on every slope, and 2 on f(x) = x² — its second "
                             f"derivative — in every cell. [1, −2, 1] is (f(x+1) − f(x)) − (f(x) − f(x−1)): "
                             f"the difference of two neighbouring differences. A scaled kernel would not do: "
                             f"c·[1, −2, 1] gives c·f″.{extra}")
    if np.isclose(r, -2.0, rtol=1e-9):
        return Verdict(False, "The signs are reversed: your kernel gives −2 on f(x) = x², so it computes "
                              "−f″. Negate every weight.")
    return Verdict(False, f"Right shape, wrong size: your kernel gives {_num(r)} on f(x) = x², whose second "
                          f"derivative is 2. Multiply every weight by {_num(2.0 / r)}.")


def box_sum_answer(size: tuple[int, int] = (3, 3)) -> np.ndarray:
    """The (h, w) kernel whose output is the sum of each window: all ones."""
    return np.ones(size)


def _window_sums(X: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) -> (H−h+1, W−w+1) sums of every h×w window, from an integral image (no correlation involved)."""
    S = np.zeros((X.shape[0] + 1, X.shape[1] + 1))
    S[1:, 1:] = X.cumsum(0).cumsum(1)
    h, w = size
    return S[h:, w:] - S[:-h, w:] - S[h:, :-w] + S[:-h, :-w]


def check_box_sum(K: object, size: tuple[int, int] = (3, 3)) -> Verdict:
    """Is every output of corr2d(X, K) the sum of its h×w window? Checked on random images against an
    integral image."""
    K = _kernel(K)
    h, w = size
    if K.shape != (h, w):
        return Verdict(False, f"Your kernel is {K.shape[0]}x{K.shape[1]}; the window to add up is {h}x{w}, "
                              f"and the kernel covers exactly the window.")
    rng = np.random.default_rng(0)
    images = [np.ones((8, 8)), *(rng.random((8, 8)) for _ in range(2))]
    if all(np.allclose(corr2d(X, K), _window_sums(X, size), rtol=1e-9, atol=1e-9) for X in images):
        return Verdict(True, f"Right: every weight is 1, so each output is the plain sum of its {h}x{w} "
                             f"window — the discrete integral of the image over the window (each cell has "
                             f"area 1). A scaled kernel is not the integral: 1/{h * w} everywhere gives the "
                             f"window's mean, the box blur.")
    if np.allclose(K, K.flat[0]):
        c = float(K.flat[0])
        blur = " — the box blur, the window's mean" if np.isclose(c * h * w, 1.0) else ""
        return Verdict(False, f"Every weight is {_num(c)}: each output is {_num(c)} times the window's "
                              f"sum{blur}. For the sum itself, make every weight 1.")
    return Verdict(False, f"Your weights differ (from {_num(float(K.min()))} to {_num(float(K.max()))}), so "
                          f"some pixels count more than others. An integral counts every pixel of the window "
                          f"once, with weight 1.")


def derivative_kernel(d: int) -> np.ndarray:
    """The smallest kernel for the d-th derivative along a row: (1, d+1), (−1)^(d−k)·C(d, k) for k = 0…d."""
    _check_degree(d)
    return np.array([[(-1.0) ** (d - k) * math.comb(d, k) for k in range(d + 1)]])


def _check_degree(d: object) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 1 <= d <= MAX_DERIVATIVE:
        raise ValueError(f"the derivative's order d is a whole number from 1 to {MAX_DERIVATIVE}, got {d!r}")
    return int(d)


def check_derivative_kernel(K: object, d: int) -> Verdict:
    """Is K (1, w) the smallest kernel for the d-th derivative? Tried on 1, j, j², …, j^d."""
    K = _kernel(K)
    d = _check_degree(d)
    w = K.shape[1]
    taps = d + 1
    if K.shape[0] != 1:
        return Verdict(False, f"Your kernel has {K.shape[0]} rows; a derivative along x needs one row of "
                              f"numbers.")
    if _is_zero(K, 1.0):
        return Verdict(False, "Your kernel is all zeros: it answers 0 to every image.")
    j = _grids((2, 12))[1]
    scale = float(np.abs(K).sum()) * 12.0**d
    for m in range(d):
        r = corr2d(j**m, K)
        if not _is_zero(r, scale):
            if w < taps:
                return Verdict(False, f"A d-th derivative must ignore {powers_text(d)} — {d} conditions on "
                                      f"the weights — and still see {power_text(d)}. {w} weights cannot do "
                                      f"that: you need d + 1 = {taps}.")
            if m == 0:
                return Verdict(False, f"A flat image gives {_num(float(r.flat[0]))}: your weights add up to "
                                      f"{_num(float(K.sum()))}, but the derivative of a constant is 0, so "
                                      f"the weights must cancel.")
            return Verdict(False, f"Your kernel answers f(x) = {power_text(m)} with "
                                  f"{_num(float(r.flat[0]))}, but its {ordinal(d)} derivative is 0. The "
                                  f"weights times k^{m} (k = 0, 1, …: their positions) must cancel, for "
                                  f"every power below d.")
    r = _constant(corr2d(j**d, K), scale)
    top = math.factorial(d)
    if r is not None and np.isclose(r, top, rtol=1e-9):
        if w > taps:
            return Verdict(False, f"Your kernel computes the {ordinal(d)} derivative, but with {w} taps: the "
                                  f"smallest has d + 1 = {taps}. Drop zeros at the ends, or use the {taps} "
                                  f"neighbouring values.")
        return Verdict(True, f"Right: {kernel_text(K)} — the binomial coefficients C({d}, k) with "
                             f"alternating signs, the {ordinal(d)} forward difference. It ignores "
                             f"{powers_text(d)} and gives {d}! = {top} on {power_text(d)}. d + 1 taps are "
                             f"the fewest: with d taps, ignoring {powers_text(d)} is {d} equations in {d} "
                             f"unknowns whose only solution is all zeros (a Vandermonde system).")
    if r is not None and np.isclose(r, -top, rtol=1e-9):
        return Verdict(False, f"The signs are reversed: your kernel gives −{top} on {power_text(d)}, so it "
                              f"computes minus the {ordinal(d)} derivative. The last weight, on f(x + {d}), "
                              f"must be +1 (the lesson's [1, −1] is −f′).")
    if r is None or abs(r) <= 1e-9 * max(scale, 1.0):
        return Verdict(False, f"Your kernel is blind to {power_text(d)}: it is a derivative of a higher "
                              f"order than {d}. Use exactly d + 1 = {taps} taps.")
    return Verdict(False, f"Right shape, wrong size: your kernel gives {_num(r)} on {power_text(d)}, whose "
                          f"{ordinal(d)} derivative is {d}! = {top}. Multiply every weight by "
                          f"{_num(top / r)}.")


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_text(m: int) -> str:
    """x to the m-th, as printed: 1, x, x², x³ …"""
    return "1" if m == 0 else "x" if m == 1 else "x" + str(m).translate(_SUPERSCRIPTS)


def powers_text(d: int) -> str:
    """Every power of x below d, in words: "1", "1 and x", "1, x and x²", "1, x, …, x⁵"."""
    names = [power_text(m) for m in range(d)]
    if d <= 3:
        return names[0] if d == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"1, x, …, {names[-1]}"


def ordinal(d: int) -> str:
    """1 -> "first", 2 -> "second", 3 -> "third", 4 -> "4th"."""
    return {1: "first", 2: "second", 3: "third"}.get(d, f"{d}th")


# ----------------------------------------------------------------------------------------- autograd


@dataclass(frozen=True, eq=False)
class AutogradReport:
    """Gradients of sum(G * Y) for Y from the lesson's loop and from F.conv2d, and the time each took.

    `grad_K_*` are (h, w), `grad_X_*` (H, W); the times are the best of a few forward-and-backward runs;
    `error` holds autograd's message if the loop could not be differentiated.
    """

    grad_K_loop: np.ndarray
    grad_K_torch: np.ndarray
    grad_X_loop: np.ndarray
    grad_X_torch: np.ndarray
    loop_seconds: float
    torch_seconds: float
    error: str | None = None

    @property
    def max_difference(self) -> float:
        """The largest difference between the two gradients, K's and X's together."""
        return float(max(np.abs(self.grad_K_loop - self.grad_K_torch).max(),
                         np.abs(self.grad_X_loop - self.grad_X_torch).max()))

    @property
    def agree(self) -> bool:
        """True when the gradients agree to float32 rounding."""
        scale = max(1.0, float(np.abs(self.grad_K_torch).max()), float(np.abs(self.grad_X_torch).max()))
        return self.error is None and self.max_difference <= 1e-5 * scale

    @property
    def slowdown(self) -> float:
        """How many times longer the loop took than F.conv2d."""
        return self.loop_seconds / self.torch_seconds


def _gradients(forward, X: torch.Tensor, K: torch.Tensor, G: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    Xg, Kg = X.clone().requires_grad_(True), K.clone().requires_grad_(True)
    (forward(Xg, Kg) * G).sum().backward()
    return Kg.grad.numpy().astype(np.float64), Xg.grad.numpy().astype(np.float64)


def _best_time(run, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return max(best, 1e-9)


def autograd_comparison(X: object, K: object, *, seed: int = 0, repeats: int = 3) -> AutogradReport:
    """Differentiate sum(G * corr2d_loop(X, K)) and the same through F.conv2d (G random, seeded), in float32;
    time each forward-and-backward (best of `repeats`)."""
    Xt = torch.as_tensor(as_grid(X, "X"), dtype=torch.float32)
    Kt = torch.as_tensor(as_grid(K, "the kernel"), dtype=torch.float32)
    out = (Xt.shape[0] - Kt.shape[0] + 1, Xt.shape[1] - Kt.shape[1] + 1)
    if min(out) < 1:
        raise ValueError(f"the kernel {Kt.shape[0]}x{Kt.shape[1]} is larger than X "
                         f"{Xt.shape[0]}x{Xt.shape[1]}")
    G = torch.randn(out, generator=torch.Generator().manual_seed(seed))

    def library(Xg: torch.Tensor, Kg: torch.Tensor) -> torch.Tensor:
        return F.conv2d(Xg[None, None], Kg[None, None])[0, 0]

    gK_t, gX_t = _gradients(library, Xt, Kt, G)
    try:
        gK_l, gX_l = _gradients(corr2d_loop, Xt, Kt, G)
    except RuntimeError as exc:  # what the question asks: would autograd refuse the loop's in-place writes?
        nan_K, nan_X = np.full_like(gK_t, np.nan), np.full_like(gX_t, np.nan)
        return AutogradReport(nan_K, gK_t, nan_X, gX_t, math.nan, math.nan, str(exc))
    loop = _best_time(lambda: _gradients(corr2d_loop, Xt, Kt, G), repeats)
    lib = _best_time(lambda: _gradients(library, Xt, Kt, G), repeats)
    return AutogradReport(gK_l, gK_t, gX_l, gX_t, loop, lib)


# The autograd question's choices: their order never depends on what a run found.
AUTOGRAD_CHOICES = (
    Choice("fails", "It fails: writing Y[i, j] into a tensor of zeros breaks the gradient",
           "PyTorch records every write into Y (a CopySlices step in the graph), so the gradient flows back "
           "through each cell to K and X. Run it: no error."),
    Choice("differs", "It runs, but the gradient differs from F.conv2d's",
           "Both compute the same function of X and K, and a function has one gradient: the two agree to "
           "float32 rounding."),
    Choice("same", "It runs and gives F.conv2d's gradient, only slower", ""),
)


def autograd_question(report: AutogradReport) -> Question:
    """What happens when autograd differentiates the loop? The right choice is what `report` found."""
    answer = "fails" if report.error is not None else "same" if report.agree else "differs"
    why = ("Autograd records each Y[i, j] = (X[i:i+h, j:j+w] * K).sum() as it happens, so the loop is "
           "differentiated like any other code and the gradients match F.conv2d's. The price is speed: the "
           "loop runs one small step per output cell forwards and one backwards, where F.conv2d does one "
           "call.")
    return Question(AUTOGRAD_CHOICES, answer, why)


# ------------------------------------------------------------------------------- correlation as a matrix


def correlation_matrix(K: object, input_shape: tuple[int, int]) -> np.ndarray:
    """(h, w) kernel, input (H, W) -> the (H'·W', H·W) matrix M with M @ vec(X) = vec(corr2d(X, K)),
    vec reading row by row."""
    K = _kernel(K)
    H, W = input_shape
    h, w = K.shape
    Ho, Wo = H - h + 1, W - w + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"the kernel {h}x{w} is larger than the input {H}x{W}")
    M = np.zeros((Ho * Wo, H * W))
    for i in range(Ho):
        for j in range(Wo):
            for a in range(h):
                M[i * Wo + j, (i + a) * W + j : (i + a) * W + j + w] = K[a]
    return M


def check_correlation_matrix(M: object, K: object, input_shape: tuple[int, int]) -> Verdict:
    """Does M @ vec(X) equal vec(corr2d(X, K)) for inputs X of `input_shape`? Tried on three inputs."""
    M, K = as_grid(M, "the matrix"), _kernel(K)
    H, W = input_shape
    Ho, Wo = H - K.shape[0] + 1, W - K.shape[1] + 1
    rows, cols = Ho * Wo, H * W
    if M.shape != (rows, cols):
        turned = " That is the transpose." if M.shape == (cols, rows) else ""
        return Verdict(False, f"Your matrix is {M.shape[0]}x{M.shape[1]}; it needs one row per output cell "
                              f"({Ho}x{Wo} = {rows}) and one column per input cell ({H}x{W} = "
                              f"{cols}).{turned}")
    rng = np.random.default_rng(0)
    inputs = [np.arange(float(cols)).reshape(H, W), *(rng.random((H, W)) for _ in range(2))]
    if all(np.allclose(M @ X.ravel(), corr2d(X, K).ravel(), rtol=1e-9, atol=1e-9) for X in inputs):
        return Verdict(True, "Right: M @ vec(X) equals vec(corr2d(X, K)) on every input tried — and since "
                             "both are linear in X, on every input. Row r holds K's weights at the columns "
                             "of output cell r's window and zeros elsewhere, so cross-correlation is a "
                             "matrix product with a sparse, banded matrix. Its transpose Mᵀ is the "
                             "transposed convolution of a later section.")
    if np.allclose(M, correlation_matrix(K[::-1, ::-1], input_shape)):
        return Verdict(False, "You placed K flipped (turned by 180°): that is the matrix of true "
                              "convolution. Cross-correlation puts K[0, 0] on the window's top-left cell.")
    right = correlation_matrix(K, input_shape)
    r = int(np.argmax(np.any(~np.isclose(M, right), axis=1)))
    i, j = divmod(r, Wo)
    cells = [(i + a, j + b) for a in range(K.shape[0]) for b in range(K.shape[1])]
    columns = ", ".join(str(a * W + b) for a, b in cells)
    return Verdict(False, f"Row {r} computes output cell ({i}, {j}), whose window covers input cells "
                          f"{', '.join(f'({a}, {b})' for a, b in cells)} — columns {columns} of vec(X), "
                          f"which reads X row by row (cell (a, b) is column a·{W} + b). Those columns hold "
                          f"{', '.join(_num(v) for v in K.ravel())} in that order; every other entry of the "
                          f"row is 0.")
