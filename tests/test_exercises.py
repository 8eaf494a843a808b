"""The exercises' checkers: right answers (and every equally right variant) accepted, each kind of mistake
refused with its own hint, and the references they rely on checked against independent computations."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab import corr2d
from convlab.exercises import (
    EDGE_DIRECTIONS,
    MAX_DERIVATIVE,
    SECOND_DERIVATIVE,
    AutogradReport,
    autograd_comparison,
    autograd_question,
    box_sum_answer,
    check_box_sum,
    check_correlation_matrix,
    check_derivative_kernel,
    check_edge_detector,
    check_second_derivative,
    correlation_matrix,
    derivative_kernel,
    diagonal_edge_image,
    diagonal_question,
    edge_detector_answer,
    kernel_text,
    parse_grid,
    transposed_kernel_question,
)
from convlab.images import image_preset

LESSON_K = np.array([[0.0, 1.0], [2.0, 3.0]])

# ------------------------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(("text", "grid"), [
    ("1, -2, 1", [[1, -2, 1]]),
    ("[1, −2, 1]", [[1, -2, 1]]),
    ("1 -2 1", [[1, -2, 1]]),
    ("[[1, 0], [0, -1]]", [[1, 0], [0, -1]]),
    ("1 0; 0 -1", [[1, 0], [0, -1]]),
    ("1, 0\n0, -1\n", [[1, 0], [0, -1]]),
    ("1/9 2/3 -1/2", [[1 / 9, 2 / 3, -0.5]]),
    ("1e-3, .5, +2.", [[1e-3, 0.5, 2.0]]),
])
def test_parse_grid_reads_what_learners_type(text, grid):
    np.testing.assert_array_equal(parse_grid(text), np.array(grid, dtype=np.float64))


@pytest.mark.parametrize(("text", "message"), [
    ("", r"type the kernel's numbers, e\.g\. 1, −2, 1"),
    ("  ;  ", r"type the kernel's numbers"),
    ("1, x", r"“x” is not a number: type numbers such as 1, −2, 0\.5 or 1/9"),
    ("1/2/3", r"“1/2/3” is not a number"),
    ("1/0", r"“1/0” divides by zero"),
    ("1e9", r"“1e9” is too large: numbers here stay within ±1,000,000"),
    ("nan", r"“nan” is not a number"),
    ("1 2; 3", r"row 2 has 1 number but row 1 has 2: every row needs the same count"),
    ("1 2 3 4 5 6 7 8", r"the kernel is 1x8: at most 7x7 here"),
    ("abcdefghijklmnopqrstuvwxyz", r"“abcdefghijkl…” is not a number"),
])
def test_parse_grid_refuses_in_the_learners_words(text, message):
    with pytest.raises(ValueError, match=message):
        parse_grid(text)


def test_parse_grid_names_what_is_typed_and_its_limits():
    assert parse_grid("1 2 3 4 5 6 7 8 9", name="matrix", max_rows=4, max_cols=9).shape == (1, 9)
    with pytest.raises(ValueError, match=r"the matrix is 5x1: at most 4x9 here"):
        parse_grid("1;2;3;4;5", name="matrix", max_rows=4, max_cols=9)


def test_kernel_text_writes_kernels_as_they_are_typed():
    assert kernel_text(np.array([[1.0, -2.0, 1.0]])) == "[1, −2, 1]"
    assert kernel_text(np.array([[0.0, -1.0], [1.0, 0.5]])) == "[[0, −1], [1, 0.5]]"
    assert kernel_text(np.array([[-0.0]])) == "[0]"


# ------------------------------------------------------------------------------------------ multiple choice


def test_diagonal_edges_come_out_as_a_line_of_plus_ones():
    X = diagonal_edge_image(8)
    assert X[3, 3] == 1 and X[3, 4] == 0 and X[7].all() and X.sum() == 36
    Y, q = diagonal_question()
    expected = np.zeros((8, 7))
    for i in range(7):  # by hand: row i steps from white to black between columns i and i+1
        expected[i, i] = X[i, i] - X[i, i + 1]
    np.testing.assert_array_equal(Y, expected)
    assert q.answer == "plus" and q.right.label.startswith("A diagonal line of +1")
    assert q.check("plus").correct and "staircase" in q.check("plus").message
    hints = {c.key: q.check(c.key) for c in q.choices if c.key != "plus"}
    assert not any(v.correct for v in hints.values())
    assert "wrong sign" in hints["minus"].message
    assert "1 − 1 = 0" in hints["white"].message
    assert "vertical step" in hints["zeros"].message
    assert len({v.message for v in hints.values()}) == 3  # one hint per mistake


def test_the_right_choice_is_computed_not_typed():
    # The question's answer follows the image: black below the diagonal, white above gives −1s.
    Y, q = diagonal_question(1 - diagonal_edge_image(8))
    assert Y.min() == -1 and q.answer == "minus" and q.check("minus").correct and not q.check("plus").correct
    with pytest.raises(ValueError, match="there is no choice 'maybe'"):
        q.check("maybe")


def test_a_question_refuses_an_output_no_choice_claims():
    with pytest.raises(ValueError, match="exactly one choice must match the computed output, 0 do"):
        diagonal_question(np.ones((8, 8)) * 0.5 + np.eye(8) * 0.25)


def test_transposing_the_kernel_instead_of_the_image():
    Y, q = transposed_kernel_question()
    X = image_preset("stripes")
    assert Y.shape == (5, 8) and not Y.any()
    assert q.answer == "zeros" and q.check("zeros").correct
    assert "corr2d(X.T, K.T) = corr2d(X, K).T" in q.check("turned").message
    assert "below it" in q.check("same").message
    # The identity the hint states, checked on random grids.
    rng = np.random.default_rng(1)
    for _ in range(5):
        A, K = rng.random((6, 9)), rng.random((2, 3))
        np.testing.assert_allclose(corr2d(A.T, K.T), corr2d(A, K).T)
    np.testing.assert_array_equal(corr2d(X.T, np.array([[1.0, -1.0]])), np.zeros((8, 5)))


# --------------------------------------------------------------------------------------------- edge kernels


@pytest.mark.parametrize("direction", list(EDGE_DIRECTIONS))
@pytest.mark.parametrize("factor", [1.0, -1.0, 0.25, 7.0])
def test_edge_detectors_are_accepted_at_any_scale_and_sign(direction, factor):
    verdict = check_edge_detector(factor * edge_detector_answer(direction), direction)
    assert verdict.correct, verdict.message
    assert "Any nonzero multiple" in verdict.message
    assert ("rises" if factor > 0 else "drops") in verdict.message


@pytest.mark.parametrize(("K", "direction"), [
    ([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], "vertical"),  # Sobel x
    ([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], "horizontal"),  # Sobel y
    ([[1, -1]], "vertical"),  # the lesson's kernel
    ([[0, 1], [-1, 0]], "diagonal"),  # Roberts cross
    ([[1, 0], [0, -1]], "antidiagonal"),
    ([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], "diagonal"),  # a 3x3 diagonal Sobel: rises to the top right
])
def test_other_correct_edge_detectors_are_accepted(K, direction):
    assert check_edge_detector(K, direction).correct


def test_edge_detectors_respond_where_they_should_on_a_step_edge():
    # An independent check of the criterion: an accepted kernel fires on a step across the edge only.
    for key, d in EDGE_DIRECTIONS.items():
        K = edge_detector_answer(key)
        i, j = np.indices((10, 10))
        step = ((d.across[0] * i + d.across[1] * j) >= 4).astype(float)
        smooth = ((d.along[0] * i + d.along[1] * j) >= 4).astype(float)  # its edges run the other way
        assert np.abs(corr2d(step, K)).max() > 0, key
        assert not corr2d(smooth, K).any(), key


@pytest.mark.parametrize(("K", "direction", "hint"), [
    ([[0, 0], [0, 0]], "vertical", "all zeros"),
    ([[1, 1]], "vertical", "weights add up to 2, not 0"),
    ([[1, -1]], "horizontal", "it measures vertical edges │. For horizontal edges ─"),
    ([[-1], [1]], "vertical", "it measures horizontal edges ─"),
    ([[1, -1], [1, -1]], "diagonal", "it measures vertical edges"),
    ([[2, -1], [0, -1]], "vertical", "an angle between the four directions"),
    ([[1, -2, 1]], "vertical", "measures curvature, not slope"),
])
def test_wrong_edge_detectors_get_the_hint_for_their_mistake(K, direction, hint):
    verdict = check_edge_detector(K, direction)
    assert not verdict.correct and hint in verdict.message


def test_edge_detector_refuses_an_unknown_direction_and_a_bad_kernel():
    with pytest.raises(ValueError, match="unknown direction 'up'"):
        check_edge_detector([[1, -1]], "up")
    with pytest.raises(ValueError, match="the kernel contains NaN or infinity"):
        check_edge_detector([[1, math.nan]], "vertical")


# -------------------------------------------------------------------------------------- second derivative


@pytest.mark.parametrize("K", [
    SECOND_DERIVATIVE,
    [[0, 1, -2, 1, 0]],  # zeros around it change nothing
    [[2, -5, 4, -1]],  # the one-sided stencil, exact on quadratics too
    np.vstack([SECOND_DERIVATIVE] * 3) / 3,  # smoothed down the columns
])
def test_second_derivative_accepts_every_exact_stencil(K):
    verdict = check_second_derivative(K)
    assert verdict.correct, verdict.message
    assert ("fewest taps are three" in verdict.message) == (np.shape(K) != (1, 3))


def test_second_derivative_agrees_with_the_analytic_one():
    # f(x) = sin(x/3): the stencil's output approaches f'' at the centre cell.
    x = np.arange(40.0)
    f = np.sin(x / 3)[None, :]
    Y = corr2d(f, SECOND_DERIVATIVE)[0]
    np.testing.assert_allclose(Y, -np.sin(x[1:-1] / 3) / 9, atol=2e-3)


@pytest.mark.parametrize(("K", "hint"), [
    ([[0, 0, 0]], "all zeros"),
    ([[1, -2, 2]], "weights add up to 1"),
    ([[1, -1]], "still holds a first derivative"),
    ([[1], [-2], [1]], "d²/dy²"),
    ([[1, -1], [-1, 1]], "changing from row to row"),
    ([[1, -1, -1, 1]], "Multiply every weight by 0.5"),  # 4 on x²: the sum of two second differences
    ([[2, -4, 2]], "Multiply every weight by 0.5"),
    ([[-1, 2, -1]], "signs are reversed"),
    ([[-1, 3, -3, 1]], "blind to curvature"),
])
def test_second_derivative_hints_name_the_mistake(K, hint):
    verdict = check_second_derivative(K)
    assert not verdict.correct and hint in verdict.message, verdict.message


# ------------------------------------------------------------------------------------------------- box sum


def test_box_sum_is_checked_against_an_integral_image():
    assert check_box_sum(box_sum_answer()).correct
    assert check_box_sum(np.ones((2, 4)), size=(2, 4)).correct
    blur = check_box_sum(np.full((3, 3), 1 / 9))
    assert not blur.correct and "the box blur, the window's mean" in blur.message
    double = check_box_sum(np.full((3, 3), 2.0))
    assert not double.correct and "2 times the window's sum" in double.message
    assert "blur" not in double.message
    assert "the window to add up is 3x3" in check_box_sum(np.ones((2, 2))).message
    assert "weights differ (from 0 to 1)" in check_box_sum(np.eye(3)).message


# ------------------------------------------------------------------------------------------- d-th derivative


@pytest.mark.parametrize("d", range(1, MAX_DERIVATIVE + 1))
def test_derivative_kernels_are_binomials_with_alternating_signs(d):
    K = derivative_kernel(d)
    assert K.shape == (1, d + 1)
    np.testing.assert_array_equal(np.abs(K[0]), [math.comb(d, k) for k in range(d + 1)])
    assert K[0, -1] == 1 and all(K[0, k] * K[0, k + 1] < 0 for k in range(d))
    # The d-th difference of a polynomial of degree d is d! times its leading coefficient (numpy's own
    # repeated difference as the reference).
    x = np.arange(12.0)
    p = 3 * x**d - 2 * x ** (d - 1) + 5
    np.testing.assert_allclose(corr2d(p[None, :], K)[0], np.diff(p, n=d))
    np.testing.assert_allclose(np.diff(p, n=d), 3 * math.factorial(d))
    verdict = check_derivative_kernel(K, d)
    assert verdict.correct and f"{d}! = {math.factorial(d)}" in verdict.message


@pytest.mark.parametrize(("K", "d", "hint"), [
    ([[1, -1]], 1, "signs are reversed"),  # the lesson's kernel is −f′
    ([[-0.5, 0, 0.5]], 1, "but with 3 taps: the smallest has d + 1 = 2"),
    ([[0, -1, 3, -3, 1]], 3, "but with 5 taps"),
    ([[1, -1]], 2, "must ignore 1 and x — 2 conditions"),
    ([[1, 1, 1]], 2, "weights add up to 3"),
    ([[1, -1, 0]], 2, "answers f(x) = x with −1"),
    ([[2, -4, 2]], 2, "Multiply every weight by 0.5"),
    ([[1, -4, 6, -4, 1]], 3, "blind to x³"),
    ([[1], [-1]], 1, "has 2 rows"),
    ([[0, 0]], 1, "all zeros"),
])
def test_derivative_hints_name_the_mistake(K, d, hint):
    verdict = check_derivative_kernel(K, d)
    assert not verdict.correct and hint in verdict.message, verdict.message


@pytest.mark.parametrize("d", [0, 7, 2.0, True])
def test_derivative_order_is_refused_outside_1_to_6(d):
    with pytest.raises(ValueError, match="the derivative's order d is a whole number from 1 to 6"):
        derivative_kernel(d)


# ------------------------------------------------------------------------------------------------ autograd


def test_autograd_through_the_loop_equals_f_conv2d():
    X = image_preset("stripes")
    report = autograd_comparison(X, [[0.3, -0.7]], seed=2, repeats=1)
    # An independent reference: for loss sum(G * Y), dL/dK = corr2d(X, G) and dL/dX = G padded, correlated
    # with the flipped kernel.
    G = torch.randn((6, 7), generator=torch.Generator().manual_seed(2)).numpy().astype(np.float64)
    np.testing.assert_allclose(report.grad_K_torch, corr2d(X, G), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(report.grad_K_loop, report.grad_K_torch, rtol=1e-5, atol=1e-5)
    K = torch.tensor([[0.3, -0.7]])
    full = F.conv_transpose2d(torch.tensor(G, dtype=torch.float32)[None, None], K[None, None])[0, 0]
    np.testing.assert_allclose(report.grad_X_loop, full.numpy(), rtol=1e-5, atol=1e-5)
    assert report.error is None and report.agree and report.max_difference < 1e-5
    assert report.loop_seconds > 0 and report.torch_seconds > 0 and math.isfinite(report.slowdown)
    q = autograd_question(report)
    assert q.answer == "same" and q.check("same").correct
    assert "CopySlices" in q.check("fails").message and not q.check("differs").correct


def test_autograd_question_follows_what_was_measured():
    ok = np.zeros((1, 2))
    failed = AutogradReport(ok, ok, ok, ok, math.nan, math.nan, error="in-place")
    assert autograd_question(failed).answer == "fails"
    differs = AutogradReport(ok + 1, ok, ok, ok, 1.0, 1.0)
    assert not differs.agree and autograd_question(differs).answer == "differs"
    with pytest.raises(ValueError, match="the kernel 3x3 is larger than X 2x2"):
        autograd_comparison(np.zeros((2, 2)), np.zeros((3, 3)))


# -------------------------------------------------------------------------------------- correlation matrix


@pytest.mark.parametrize(("shape", "kshape"), [((3, 3), (2, 2)), ((6, 8), (1, 2)), ((4, 5), (3, 2)),
                                               ((2, 2), (2, 2))])
def test_correlation_matrix_times_vec_x_is_corr2d(shape, kshape):
    rng = np.random.default_rng(3)
    K = rng.standard_normal(kshape)
    M = correlation_matrix(K, shape)
    Ho, Wo = shape[0] - kshape[0] + 1, shape[1] - kshape[1] + 1
    assert M.shape == (Ho * Wo, shape[0] * shape[1])
    assert (M != 0).sum(axis=1).tolist() == [K.size] * (Ho * Wo)  # one window's taps per row
    for _ in range(3):
        X = rng.standard_normal(shape)
        np.testing.assert_allclose(M @ X.ravel(), corr2d(X, K).ravel(), atol=1e-12)
        torch_Y = F.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None])[0, 0].numpy()
        np.testing.assert_allclose(M @ X.ravel(), torch_Y.ravel(), atol=1e-12)


def test_the_lessons_matrix_by_hand():
    M = correlation_matrix(LESSON_K, (3, 3))
    np.testing.assert_array_equal(M[0], [0, 1, 0, 2, 3, 0, 0, 0, 0])
    np.testing.assert_array_equal(M[3], [0, 0, 0, 0, 0, 1, 0, 2, 3])
    np.testing.assert_array_equal(M @ np.arange(9.0), [19, 25, 37, 43])
    with pytest.raises(ValueError, match="the kernel 2x2 is larger than the input 1x3"):
        correlation_matrix(LESSON_K, (1, 3))


def test_correlation_matrix_answers_and_hints():
    right = correlation_matrix(LESSON_K, (3, 3))
    assert check_correlation_matrix(right, LESSON_K, (3, 3)).correct
    turned = check_correlation_matrix(right.T, LESSON_K, (3, 3))
    assert not turned.correct and "That is the transpose" in turned.message
    small = check_correlation_matrix(right[:3], LESSON_K, (3, 3))
    assert "is 3x9; it needs one row per output cell (2x2 = 4)" in small.message
    flipped = check_correlation_matrix(correlation_matrix(LESSON_K[::-1, ::-1], (3, 3)), LESSON_K, (3, 3))
    assert "flipped" in flipped.message and "true convolution" in flipped.message
    wrong = right.copy()
    wrong[2, 3] = 5
    verdict = check_correlation_matrix(wrong, LESSON_K, (3, 3))
    assert not verdict.correct
    assert "Row 2 computes output cell (1, 0)" in verdict.message and "columns 3, 4, 6, 7" in verdict.message


# ----------------------------------------------------------------- exhaustive checks against the moments
# A kernel's response to 1, to a ramp a·i + b·j and to a parabola follows from its moments: ΣK,
# (Σ p·K, Σ q·K), Σ q²·K. These tests enumerate every small integer kernel and compare each verdict with
# that formula.


def _moments(K: np.ndarray) -> tuple[float, np.ndarray, float]:
    p, q = np.indices(K.shape)
    return float(K.sum()), np.array([(p * K).sum(), (q * K).sum()], dtype=float), float((q * q * K).sum())


@pytest.mark.parametrize("direction", list(EDGE_DIRECTIONS))
def test_every_2x2_kernel_of_minus_one_zero_one_is_judged_by_its_moments(direction):
    across = np.array(EDGE_DIRECTIONS[direction].across, dtype=float)
    accepted = 0
    for cells in itertools.product((-1.0, 0.0, 1.0), repeat=4):
        K = np.array(cells).reshape(2, 2)
        total, m, _ = _moments(K)
        parallel = m[0] * across[1] - m[1] * across[0] == 0
        assert check_edge_detector(K, direction).correct == (total == 0 and parallel and m.any()), K
        accepted += total == 0 and parallel and m.any()
    assert accepted >= 2  # the test meets right answers (a kernel and its negative), not only wrong ones


def test_every_1x3_kernel_from_minus_two_to_two_is_judged_by_its_moments():
    accepted = []
    for cells in itertools.product(range(-2, 3), repeat=3):
        K = np.array([cells], dtype=float)
        total, m, curvature = _moments(K)
        if check_second_derivative(K).correct:
            accepted.append(cells)
        assert check_second_derivative(K).correct == (total == 0 and m[1] == 0 and curvature == 2), K
    assert accepted == [(1, -2, 1)]


@pytest.mark.parametrize("d", [1, 2, 3])
def test_every_small_kernel_of_d_plus_one_taps_is_judged_by_its_moments(d):
    accepted = []
    for cells in itertools.product(range(-3, 4), repeat=d + 1):
        K = np.array([cells], dtype=float)
        k = np.arange(d + 1)
        right = all((K[0] * k**m).sum() == 0 for m in range(d)) and (K[0] * k**d).sum() == math.factorial(d)
        assert check_derivative_kernel(K, d).correct == right, K
        if right:
            accepted.append(cells)
    assert accepted == [tuple(int(v) for v in derivative_kernel(d)[0])]  # the one answer: no other in range
