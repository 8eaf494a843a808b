"""Recovering the lesson's random draws from its printouts: the answers replay every printed digit when
run through the lesson's own code, and printouts no draw can produce are refused in words."""

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.optimize import least_squares, linprog
from torch import nn

from convlab import conv2d, corr2d
from convlab.lesson import (
    EDGE_K,
    FIRST_X,
    LR,
    NOTEBOOK,
    curvature,
    descent_limit,
    first_kernel,
    learning_path,
    learning_start,
    printed_numbers,
    replay_notebook,
    stripes,
)
from convlab.recovery import printed, recover_kernel, recover_start, replay_learning, replay_module

LOSSES = ["14.700", "7.834", "4.369", "2.532", "1.513", "0.924", "0.573", "0.359", "0.227", "0.144"]
WEIGHT = ["0.9524", "-1.0302"]
FIRST = [["3.6293", "5.1562"], ["8.2101", "9.7370"]]
SEED = Path("/work/shared/seed/convolutions-for-images.md")


class SeedConv2d(nn.Module):
    """The lesson's module, copied from the notebook: an independent reference for `replay_module`."""

    def __init__(self, kernel_size=(3, 3)):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def corr2d(self, X, K):
        h, w = K.shape
        Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
        return Y

    def forward(self, X):
        return self.corr2d(X, self.weight) + self.bias


def lesson_training(start: np.ndarray) -> tuple[list[str], str]:
    """The lesson's training cell, verbatim, with nn.LazyConv2d's random weights replaced by `start`."""
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    Y = SeedConv2d((2, 2)).corr2d(X, torch.tensor([[1.0, -1.0]]))
    conv2d = nn.LazyConv2d(1, kernel_size=(1, 2), bias=False)
    X = X.reshape((1, 1, 6, 8))
    Y = Y.reshape((1, 1, 6, 7))
    conv2d(X)  # materialise the lazy weight, then put the start in it
    conv2d.weight.data[:] = torch.tensor(start).reshape(1, 1, 1, 2)
    lr = 3e-2
    lines = []
    for i in range(10):
        Y_hat = conv2d(X)
        loss = (Y - Y_hat) ** 2
        conv2d.zero_grad()
        loss.sum().backward()
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        lines.append(f'epoch {i + 1}, loss {loss.sum():.3f}')
    return lines, repr(conv2d.weight.data.reshape((1, 2)))


# ------------------------------------------------------------------------------------- printed numbers

def test_printed_numbers_know_their_last_digit():
    p = printed("14.700")
    assert (p.value, p.decimals, p.half_unit) == (14.7, 3, 0.0005)
    assert printed("−1.0302").text == "-1.0302" and printed("−1.0302").format(-1.03024) == "-1.0302"
    assert printed("3").half_unit == 0.5
    assert printed_numbers("epoch 10, loss 0.144") == ["0.144"]
    assert printed_numbers(NOTEBOOK["weight"]) == WEIGHT
    assert printed_numbers(NOTEBOOK["training"]) == LOSSES


@pytest.mark.parametrize("text", ["1.5x", "", "1e-3", "--1", None, 1.5])
def test_a_printed_number_must_look_like_one(text):
    with pytest.raises(ValueError, match=r"is not a printed number like 14\.700"):
        printed(text)


# ------------------------------------------------------------------------------------ the learning run

def test_the_recovered_start_replays_the_lessons_training_digit_for_digit():
    recovered = learning_start()
    assert recovered.losses == tuple(LOSSES) and recovered.weight == tuple(WEIGHT)
    assert recovered.worst < 1  # every printed number has room to spare in the exact replay
    start = recovered.start
    assert start.dtype == np.float32 and start.shape == (1, 2)
    np.testing.assert_allclose(start, [[-0.117, -0.608]], atol=2e-3)
    assert np.abs(start).max() < 1 / math.sqrt(2)  # inside LazyConv2d's default initialisation range
    # The independent reference: the lesson's own cell, with nn.LazyConv2d and its update written out.
    lines, weight = lesson_training(start)
    assert "\n".join(lines) == NOTEBOOK["training"]
    assert weight == NOTEBOOK["weight"]


def test_replay_learning_is_the_lessons_loop():
    X = stripes()
    start = np.array([[0.3, -0.2]], dtype=np.float32)
    losses, weight = replay_learning(X, corr2d(X, EDGE_K), start, lr=LR, epochs=10)
    lines, printed_weight = lesson_training(start)
    assert [f"epoch {i + 1}, loss {v:.3f}" for i, v in enumerate(losses)] == lines
    assert repr(torch.tensor(weight)) == printed_weight
    assert losses[0] == pytest.approx(float(((corr2d(X, start) - corr2d(X, EDGE_K)) ** 2).sum()), rel=1e-6)


def test_an_independent_solver_finds_the_same_start_but_least_squares_alone_misses_a_digit():
    # SciPy's least squares on the same twelve equations, from the origin: the start is pinned down to a
    # few 1e-4, but the plain least-squares start prints epoch 5's loss as 1.512; the core's reweighting
    # toward the worst residual is what makes every digit replay.
    X = stripes()
    Y = corr2d(X, EDGE_K)
    value = np.array([float(v) for v in LOSSES + WEIGHT])
    half = np.array([5e-4] * 10 + [5e-5] * 2)

    def residuals(w):
        K = w.reshape(1, 2)
        out, losses = K.copy(), []
        for _ in range(10):
            error = corr2d(X, out) - Y
            losses.append((error**2).sum())
            out = out - LR * 2 * np.array([[(error * X[:, :-1]).sum(), (error * X[:, 1:]).sum()]])
        return (np.concatenate([losses, out.ravel()]) - value) / half

    fit = least_squares(residuals, np.zeros(2))
    np.testing.assert_allclose(fit.x, learning_start().start.ravel(), atol=3e-4)
    assert np.abs(fit.fun).max() > 1 > learning_start().worst
    lines, _ = lesson_training(fit.x.astype(np.float32))
    assert lines[4] == "epoch 5, loss 1.512"


def test_a_printout_no_start_can_produce_is_refused():
    X = stripes()
    Y = corr2d(X, EDGE_K)
    with pytest.raises(ValueError, match=r"No starting weights replay this printout: the closest start, "
                                         r"\[-?\d\.\d{4}, -?\d\.\d{4}\], prints .* instead of"):
        recover_start(X, Y, (1, 2), lr=LR, losses=[*LOSSES[:-1], "0.150"], weight=WEIGHT)
    # Losses that grow cannot come from this loop at lr 3e-2 (every step shrinks the error).
    with pytest.raises(ValueError, match="No starting weights replay this printout"):
        recover_start(X, Y, (1, 2), lr=LR, losses=LOSSES[::-1], weight=WEIGHT)
    # The right losses, but another run's final weights.
    with pytest.raises(ValueError, match="No starting weights replay this printout"):
        recover_start(X, Y, (1, 2), lr=LR, losses=LOSSES, weight=["0.9600", "-1.0302"])


def test_bad_learning_printouts_are_refused_in_words():
    X = stripes()
    Y = corr2d(X, EDGE_K)
    with pytest.raises(ValueError, match="a 1x2 kernel has 2 weights, but 3 were printed"):
        recover_start(X, Y, (1, 2), lr=LR, losses=LOSSES, weight=[*WEIGHT, "0.1"])
    with pytest.raises(ValueError, match="the printed losses must be a list of printed numbers"):
        recover_start(X, Y, (1, 2), lr=LR, losses="14.700", weight=WEIGHT)
    with pytest.raises(ValueError, match="the learning rate must be a positive number"):
        recover_start(X, Y, (1, 2), lr=0, losses=LOSSES, weight=WEIGHT)
    with pytest.raises(ValueError, match="the kernel shape must be two whole numbers"):
        recover_start(X, Y, (0, 2), lr=LR, losses=LOSSES, weight=WEIGHT)
    with pytest.raises(ValueError, match="that fit in the 6x8 input"):
        recover_start(X, Y, (7, 1), lr=LR, losses=LOSSES, weight=WEIGHT)
    with pytest.raises(ValueError, match="cannot give a 6x6 target"):
        recover_start(X, np.zeros((6, 6)), (1, 2), lr=LR, losses=LOSSES, weight=WEIGHT)


# ------------------------------------------------------------------------------------ the first example

def test_the_recovered_kernel_prints_the_lessons_first_example():
    family = first_kernel()
    K = family.base
    assert K.dtype == np.float32 and K.shape == (2, 2)
    assert (K >= 0).all() and (K < 1).all()
    np.testing.assert_array_equal(K * 2**24, np.round(K * 2**24))  # a value torch.rand can draw
    assert family.printout == tuple(tuple(row) for row in FIRST)
    assert repr(replay_module(FIRST_X, K)) == NOTEBOOK["first example"]
    # The independent reference: the lesson's module, verbatim, with the recovered weight.
    conv = SeedConv2d((2, 2))
    conv.weight.data[:] = torch.tensor(K)
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    assert repr(conv(X)) == NOTEBOOK["first example"]


def test_the_family_directions_leave_the_output_unchanged():
    family = first_kernel()
    assert len(family.directions) == 2  # four weights, two combinations fixed by the output
    for d in family.directions:
        np.testing.assert_array_equal(d, np.round(d))  # whole numbers a learner can check by hand
        assert d.sum() == 0  # the windows differ by constants: a direction must not change the sum...
        np.testing.assert_array_equal(corr2d(FIRST_X, d), np.zeros((2, 2)))  # ...nor any output
        np.testing.assert_array_equal(F_conv(FIRST_X, d), np.zeros((2, 2)))
    # They span every such direction: with the output's two fixed combinations they fill all four weights.
    windows = np.lib.stride_tricks.sliding_window_view(FIRST_X, (2, 2)).reshape(4, 4)
    assert np.linalg.matrix_rank(windows) == 2
    assert np.linalg.matrix_rank(np.vstack([windows, *(d.ravel() for d in family.directions)])) == 4
    # Moving along the family keeps the printout, even to kernels torch.rand could never draw.
    for steps in [(0.1, 0.0), (0.0, -0.1), (0.3, -0.25), (-1.0, 2.0)]:
        K = family.kernel(*steps)
        printed_out = replay_module(FIRST_X, K).detach().numpy()
        assert [[f"{v:.4f}" for v in row] for row in printed_out] == FIRST, steps
    np.testing.assert_array_equal(family.kernel(), family.base)
    with pytest.raises(ValueError, match="the family has 2 directions, got 3 steps"):
        family.kernel(0.0, 0.0, 0.0)


def F_conv(X: np.ndarray, K: np.ndarray) -> np.ndarray:
    """corr2d by torch's conv2d, the reference: (H, W), (h, w) -> (H', W')."""
    t = torch.nn.functional.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None])
    return t[0, 0].numpy()


def _feasible_in_unit_box(printout) -> bool:
    """SciPy's linear programme: is there a kernel in [0, 1]^4 within each printed number's rounding?"""
    C = np.lib.stride_tricks.sliding_window_view(FIRST_X, (2, 2)).reshape(4, 4)
    y = np.array([float(v) for row in printout for v in row])
    half = np.array([printed(v).half_unit for row in printout for v in row])
    result = linprog(np.zeros(4), A_ub=np.vstack([C, -C]), b_ub=np.concatenate([y + half, half - y]),
                     bounds=[(0, 1)] * 4)
    return result.status == 0


def test_outputs_no_kernel_gives_together_are_refused():
    bad = [["3.6293", "5.1562"], ["8.2101", "9.0000"]]  # Y[1, 1] must be Y[0, 0] + 4 (Y[0, 1] - Y[0, 0])
    assert not _feasible_in_unit_box(bad)
    message = (r"No 2x2 kernel gives these outputs together: the closest one prints "
               r"row \d, column \d as \d+\.\d{4} instead of .*only 2 combinations")
    with pytest.raises(ValueError, match=message):
        recover_kernel(FIRST_X, bad)


@pytest.mark.parametrize("printout", [[["10.0000", "11.0000"], ["13.0000", "14.0000"]],
                                      [["-1.0000", "0.0000"], ["2.0000", "3.0000"]]])
def test_outputs_that_need_a_weight_outside_torch_rands_range_are_refused(printout):
    assert not _feasible_in_unit_box(printout)
    with pytest.raises(ValueError, match=r"No 2x2 kernel with every weight in \[0, 1\) — where torch\.rand"):
        recover_kernel(FIRST_X, printout)


def test_any_feasible_printout_is_recovered():
    # Printouts of kernels torch.rand draws are always recovered, and replay exactly.
    g = torch.Generator().manual_seed(7)
    for _ in range(5):
        K = torch.rand((2, 2), generator=g)
        out = replay_module(FIRST_X, K.numpy()).detach().numpy()
        texts = [[f"{v:.4f}" for v in row] for row in out]
        assert recover_kernel(FIRST_X, texts).printout == tuple(tuple(r) for r in texts)


def test_bad_first_printouts_are_refused_in_words():
    with pytest.raises(ValueError, match="the printed rows must all have the same number of values"):
        recover_kernel(FIRST_X, [["1.0", "2.0"], ["3.0"]])
    with pytest.raises(ValueError, match="a 4x2 output cannot come from a 3x3 input"):
        recover_kernel(FIRST_X, [["1.0", "2.0"]] * 4)
    with pytest.raises(ValueError, match="the printout must be rows of printed numbers"):
        recover_kernel(FIRST_X, "3.6293")
    with pytest.raises(ValueError, match="is not a printed number"):
        recover_kernel(FIRST_X, [["3.6293", "x"], ["8.2101", "9.7370"]])


# ------------------------------------------------------------------------------------ the whole notebook

def test_every_printout_of_the_notebook_replays_character_for_character():
    replay = replay_notebook()
    assert replay.printouts.keys() == NOTEBOOK.keys()
    for key, text in NOTEBOOK.items():
        assert replay.printouts[key] == text, key


@pytest.mark.skipif(not SEED.exists(), reason="the seed lesson is not on this machine")
def test_the_notebook_constants_are_the_seed_lessons_text():
    seed = SEED.read_text()
    for key, text in NOTEBOOK.items():
        indented = "\n".join("    " + line if line else line for line in text.splitlines())
        assert indented in seed, key


# ------------------------------------------------------------------------------ why learning works

def test_the_stripes_loss_is_a_bowl_steep_along_1_1_and_shallow_along_1_minus_1():
    c = curvature(stripes(), (1, 2))
    np.testing.assert_allclose(c.eigenvalues, [12, 60], atol=1e-9)
    np.testing.assert_allclose(c.directions[:, 0], np.array([1, -1]) / math.sqrt(2), atol=1e-12)
    np.testing.assert_allclose(c.directions[:, 1], np.array([1, 1]) / math.sqrt(2), atol=1e-12)
    np.testing.assert_allclose(c.factor(LR), [0.64, -0.8], atol=1e-12)  # the zigzag along (1, 1)
    assert c.stable_below() == pytest.approx(1 / 30)
    # The lesson's run behaves so: after 10 steps the error along (1, 1) is (-0.8)^10 of its start.
    start = learning_start().start.ravel().astype(np.float64)
    _, final = replay_learning(stripes(), corr2d(stripes(), EDGE_K), start.reshape(1, 2), lr=LR, epochs=10)
    e0, e10 = start - [1, -1], final.ravel() - [1, -1]
    assert (e10 @ [1, 1]) / (e0 @ [1, 1]) == pytest.approx(0.8**10, rel=1e-4)
    assert (e10 @ [1, -1]) / (e0 @ [1, -1]) == pytest.approx(0.64**10, rel=1e-3)


def test_on_the_transposed_stripes_the_bowl_becomes_a_valley():
    X = stripes().T
    c = curvature(X, (1, 2))
    np.testing.assert_allclose(c.eigenvalues, [0, 80], atol=1e-9)
    np.testing.assert_allclose(c.directions[:, 0], np.array([1, -1]) / math.sqrt(2), atol=1e-12)
    assert c.stable_below() == pytest.approx(0.025)  # the lesson's 0.03 blows up here: 1 - 0.03·80 = -1.4
    np.testing.assert_allclose(c.factor(LR), [1.0, -1.4], atol=1e-12)
    # Training ends in the valley where the start projects: [1, -1] is not recovered.
    Y = corr2d(X, EDGE_K)
    start = learning_start().start
    end = descent_limit(X, Y, start)
    _, trained = replay_learning(X, Y, start, lr=0.01, epochs=300)
    np.testing.assert_allclose(trained, end, atol=1e-5)
    assert end[0, 0] == pytest.approx(-end[0, 1])
    assert end[0, 0] == pytest.approx((start[0, 0] - start[0, 1]) / 2)
    # On the stripes the bowl has one bottom, reached from anywhere.
    np.testing.assert_allclose(descent_limit(stripes(), corr2d(stripes(), EDGE_K), start), EDGE_K, atol=1e-12)


def test_a_true_convolutions_target_is_learned_as_the_flipped_kernel():
    X = stripes()
    target = conv2d(X, EDGE_K)  # convolution flips [1, -1] to [-1, 1]
    _, learned = replay_learning(X, target, learning_start().start, lr=LR, epochs=200)
    np.testing.assert_allclose(learned, [[-1, 1]], atol=1e-5)


def test_the_learning_path_is_the_run_one_epoch_at_a_time():
    X, start = stripes(), learning_start().start
    path = learning_path(X, corr2d(X, EDGE_K), start)
    assert path.shape == (11, 2) and path.dtype == np.float32
    np.testing.assert_array_equal(path[0], start.ravel())
    _, final = replay_learning(X, corr2d(X, EDGE_K), start, lr=LR, epochs=10)
    np.testing.assert_array_equal(path[-1], final.ravel())
    # Along (1, 1) the error changes sign every epoch: the zigzag of the factor 1 - 0.03·60 = -0.8.
    along = (path - [1, -1]) @ [1, 1]
    assert all(a * b < 0 for a, b in itertools.pairwise(along))


def test_the_printout_pins_the_start_down_to_its_fourth_decimal():
    # The Lesson page says so: every start whose exact replay prints the twelve numbers lies within 0.0002.
    X = stripes()
    Y = corr2d(X, EDGE_K)
    start = learning_start().start.ravel().astype(np.float64)
    value = np.array([float(v) for v in LOSSES + WEIGHT])
    half = np.array([5e-4] * 10 + [5e-5] * 2)
    offsets = np.linspace(-1e-3, 1e-3, 401)
    a, b = np.meshgrid(offsets, offsets)
    w = start + np.column_stack([a.ravel(), b.ravel()])  # (n, 2): every start of the grid at once
    P = np.lib.stride_tricks.sliding_window_view(X, (1, 2)).reshape(-1, 2)
    losses = []
    for _ in range(10):
        error = w @ P.T - Y.ravel()  # (n, 42)
        losses.append((error**2).sum(axis=1))
        w = w - LR * 2 * error @ P
    prints = (np.abs(np.column_stack([*losses, w]) - value) < half).all(axis=1)
    replaying = np.column_stack([a.ravel(), b.ravel()])[prints]
    assert len(replaying) > 1
    assert np.abs(replaying).max() < 2e-4
