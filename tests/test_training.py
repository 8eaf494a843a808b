"""convlab.training against the lesson's printed loop, PyTorch's own layers and optimizers, and algebra."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convlab.images import image_preset
from convlab.ops import corr2d, corr2d_loop
from convlab.training import (
    KernelTrainer,
    Landscape,
    TrainConfig,
    TrainingDiverged,
    TrainStep,
    least_squares_kernel,
    loss_landscape,
    make_target,
    train_kernel,
)

SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


@pytest.fixture
def one_thread():
    """The reference loops single-threaded too: tiny ops on 2 busy cores crawl with OpenMP barriers."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def lesson_data() -> tuple[np.ndarray, np.ndarray]:
    """The lesson's 6x8 "white and black image" and its edge map under K = [[1, -1]]."""
    X = np.ones((6, 8))
    X[:, 2:6] = 0
    return X, corr2d(X, np.array([[1.0, -1.0]]))


def patches(X: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H'*W', h*w) windows, built with a plain loop as an independent reference."""
    h, w = shape
    rows, cols = X.shape[0] - h + 1, X.shape[1] - w + 1
    return np.array([X[i : i + h, j : j + w].ravel() for i in range(rows) for j in range(cols)])


# --- the lesson ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(100))
def test_lesson_loss_falls_every_epoch_and_lands_near_the_edge_detector(seed):
    X, Y = lesson_data()
    steps = list(train_kernel(X, Y, TrainConfig(seed=seed)))
    losses = [s.loss for s in steps]
    assert [s.epoch for s in steps] == list(range(1, 11))
    assert all(b < a for a, b in itertools.pairwise(losses))
    # Observed over seeds 0..299: the largest error after 10 epochs is 0.087 (seed 296).
    assert np.abs(steps[-1].weight - [[1.0, -1.0]]).max() < 0.1


def test_lesson_numbers_for_seed_0():
    X, Y = lesson_data()
    steps = list(train_kernel(X, Y, TrainConfig()))
    printed = [f"epoch {s.epoch}, loss {s.loss:.3f}" for s in steps]
    assert printed[0] == "epoch 1, loss 19.158"
    assert printed[-1] == "epoch 10, loss 0.043"
    np.testing.assert_allclose(steps[-1].weight, [[1.0063342, -0.9661731]], atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 7, 42])
def test_uniform_init_is_what_the_lessons_lazyconv2d_draws_after_manual_seed(seed):
    X, Y = lesson_data()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        conv = nn.LazyConv2d(1, kernel_size=(1, 2), bias=False)
        conv(torch.zeros(1, 1, 6, 8))
    trainer = KernelTrainer(X, Y, TrainConfig(seed=seed))
    assert np.array_equal(trainer.initial_weight, conv.weight.detach().reshape(1, 2).numpy())


def test_uniform_init_with_bias_is_nn_conv2ds_weight_and_bias():
    X = np.random.default_rng(0).random((9, 9))
    config = TrainConfig(kernel_shape=(3, 3), bias=True, seed=5)
    with torch.random.fork_rng():
        torch.manual_seed(5)
        conv = nn.Conv2d(1, 1, kernel_size=(3, 3))
    trainer = KernelTrainer(X, make_target(X, SOBEL_X), config)
    assert np.array_equal(trainer.initial_weight, conv.weight.detach()[0, 0].numpy())
    assert trainer.initial_bias == conv.bias.item()
    assert np.abs(trainer.initial_weight).max() <= 1 / 3  # U(-1/sqrt(fan_in), 1/sqrt(fan_in))


@pytest.mark.usefixtures("one_thread")
def test_training_matches_the_lessons_loop_written_with_conv2d():
    X, Y = lesson_data()
    config = TrainConfig(epochs=30)
    trainer = KernelTrainer(X, Y, config)
    # The lesson's own code, verbatim apart from the names, from the same initial weights.
    weight = torch.tensor(trainer.initial_weight).reshape(1, 1, 1, 2).requires_grad_(True)
    Xt = torch.tensor(X, dtype=torch.float32).reshape(1, 1, 6, 8)
    Yt = torch.tensor(Y, dtype=torch.float32).reshape(1, 1, 6, 7)
    for _ in range(config.epochs):
        Y_hat = F.conv2d(Xt, weight)
        loss = (Yt - Y_hat) ** 2
        weight.grad = None
        loss.sum().backward()
        grad = weight.grad.clone()
        weight.data[:] -= config.lr * weight.grad
        step = trainer.step()
        assert step.loss == pytest.approx(loss.sum().item(), rel=1e-6, abs=1e-7)
        np.testing.assert_allclose(step.grad, grad.reshape(1, 2).numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(step.weight, weight.detach().reshape(1, 2).numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("optimizer", "lr", "make_optim"),
    [
        ("momentum", 1e-3, lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9)),
        ("adam", 0.05, lambda params, lr: torch.optim.Adam(params, lr=lr)),
    ],
)
@pytest.mark.usefixtures("one_thread")
def test_momentum_and_adam_match_torch_optim(optimizer, lr, make_optim):
    X = np.random.default_rng(1).random((10, 12))
    Y = make_target(X, SOBEL_X, bias=0.3)
    config = TrainConfig(kernel_shape=(3, 3), optimizer=optimizer, lr=lr, bias=True, epochs=60)
    trainer = KernelTrainer(X, Y, config)
    weight = torch.tensor(trainer.initial_weight).reshape(1, 1, 3, 3).requires_grad_(True)
    bias = torch.tensor([trainer.initial_bias]).requires_grad_(True)
    optim = make_optim([weight, bias], lr)
    Xt = torch.tensor(X, dtype=torch.float32).reshape(1, 1, 10, 12)
    Yt = torch.tensor(Y, dtype=torch.float32).reshape(1, 1, 8, 10)
    for _ in range(config.epochs):
        loss = ((Yt - F.conv2d(Xt, weight, bias)) ** 2).sum()
        optim.zero_grad()
        loss.backward()
        optim.step()
        step = trainer.step()
        assert step.loss == pytest.approx(loss.item(), rel=1e-5)
    np.testing.assert_allclose(trainer.weight, weight.detach()[0, 0].numpy(), atol=1e-5)
    assert trainer.bias == pytest.approx(bias.item(), abs=1e-5)


def test_first_step_reports_the_loss_of_the_initial_weights():
    X, Y = lesson_data()
    trainer = KernelTrainer(X, Y, TrainConfig(seed=3))
    K = torch.tensor(trainer.initial_weight, dtype=torch.float64)
    expected = float(((torch.tensor(Y) - corr2d_loop(torch.tensor(X), K)) ** 2).sum())
    assert trainer.loss() == pytest.approx(expected, rel=1e-6)
    assert trainer.step().loss == pytest.approx(expected, rel=1e-6)


def test_loss_and_predict_describe_the_current_weights():
    X = np.random.default_rng(2).random((20, 20))
    trainer = KernelTrainer(X, make_target(X, SOBEL_X), TrainConfig(kernel_shape=(3, 3), lr=1e-3))
    for _ in range(5):
        current = trainer.loss()
        np.testing.assert_allclose(trainer.predict(), corr2d(X, trainer.weight.astype(np.float64)), atol=1e-5)
        assert trainer.step().loss == current  # bitwise: the page shows one number for one state


def test_step_records_the_update_it_made():
    X, Y = lesson_data()
    trainer = KernelTrainer(X, Y, TrainConfig())
    before = trainer.weight
    step = trainer.step()
    assert trainer.epoch == 1
    assert isinstance(step, TrainStep)
    np.testing.assert_array_equal(step.weight, trainer.weight)
    np.testing.assert_allclose(step.weight, before - 3e-2 * step.grad, atol=1e-7)
    assert step.bias == 0.0 and step.grad_bias == 0.0
    assert not step.weight.flags.writeable  # a recorded step cannot be edited afterwards
    np.testing.assert_array_equal(trainer.initial_weight, before)


# --- determinism -----------------------------------------------------------------------------


def test_same_config_and_data_give_bitwise_the_same_steps():
    X = np.random.default_rng(3).random((12, 12))
    Y = make_target(X, SOBEL_X, noise=0.1)
    config = TrainConfig(kernel_shape=(3, 3), optimizer="adam", lr=0.05, bias=True, epochs=25, seed=9)
    a, b = list(train_kernel(X, Y, config)), list(train_kernel(X, Y, config))
    for s, t in zip(a, b, strict=True):
        assert (s.epoch, s.loss, s.bias, s.grad_bias) == (t.epoch, t.loss, t.bias, t.grad_bias)
        assert np.array_equal(s.weight, t.weight) and np.array_equal(s.grad, t.grad)


def test_different_seeds_give_different_initial_weights():
    X, Y = lesson_data()
    inits = {KernelTrainer(X, Y, TrainConfig(seed=s)).initial_weight.tobytes() for s in range(20)}
    assert len(inits) == 20


@pytest.mark.parametrize(
    ("init", "check"), [("zeros", lambda w: np.all(w == 0)), ("normal", lambda w: 0.05 < w.std() < 0.15)]
)
def test_other_initialisations(init, check):
    X = np.random.default_rng(4).random((30, 30))
    trainer = KernelTrainer(X, make_target(X, np.ones((7, 7))), TrainConfig(kernel_shape=(7, 7), init=init))
    assert check(trainer.initial_weight)
    assert trainer.initial_weight.dtype == np.float32


def test_step_leaves_torchs_thread_count_as_it_was():
    X, Y = lesson_data()
    before = torch.get_num_threads()
    KernelTrainer(X, Y, TrainConfig()).step()
    assert torch.get_num_threads() == before


# --- gradients and losses --------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    H=st.integers(2, 9),
    W=st.integers(2, 9),
    h=st.integers(1, 3),
    w=st.integers(1, 3),
    loss=st.sampled_from(["sum", "mean"]),
    seed=st.integers(0, 2**16),
)
def test_grad_is_the_analytic_gradient(H, W, h, w, loss, seed):
    h, w = min(h, H), min(w, W)
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((H, W)), rng.standard_normal((H - h + 1, W - w + 1))
    config = TrainConfig(kernel_shape=(h, w), loss=loss, bias=True, init="normal", seed=seed)
    trainer = KernelTrainer(X, Y, config)
    P = patches(X.astype(np.float32).astype(np.float64), (h, w))
    residual = Y.ravel() - P @ trainer.initial_weight.ravel() - trainer.initial_bias  # Y - Y_hat
    scale = 2.0 if loss == "sum" else 2.0 / Y.size
    step = trainer.step()
    np.testing.assert_allclose(step.grad.ravel(), -scale * P.T @ residual, rtol=1e-4, atol=1e-4)
    assert step.grad_bias == pytest.approx(-scale * residual.sum(), rel=1e-4, abs=1e-4)


def test_mean_loss_is_the_sum_over_the_number_of_cells():
    X, Y = lesson_data()
    summed = KernelTrainer(X, Y, TrainConfig(loss="sum")).step()
    mean = KernelTrainer(X, Y, TrainConfig(loss="mean")).step()
    assert mean.loss == pytest.approx(summed.loss / Y.size, rel=1e-6)
    np.testing.assert_allclose(mean.grad, summed.grad / Y.size, rtol=1e-5)


# --- learning other kernels ------------------------------------------------------------------


@pytest.mark.parametrize(("optimizer", "lr"), [("momentum", 2e-3), ("adam", 0.05)])
def test_momentum_and_adam_recover_a_hidden_sobel_kernel(optimizer, lr):
    X = np.random.default_rng(0).random((16, 16))
    config = TrainConfig(kernel_shape=(3, 3), optimizer=optimizer, lr=lr, epochs=300)
    steps = list(train_kernel(X, make_target(X, SOBEL_X), config))
    assert steps[-1].loss < 1e-3 * steps[0].loss
    # Observed after 300 epochs: errors below 1e-6 for both; 1e-2 leaves room for other CPUs.
    assert np.abs(steps[-1].weight - SOBEL_X).max() < 1e-2


def test_a_learned_bias_recovers_the_hidden_bias():
    X = np.random.default_rng(5).random((8, 8))
    Y = make_target(X, np.array([[1.0, -1.0]]), bias=0.5)
    steps = list(train_kernel(X, Y, TrainConfig(lr=0.01, bias=True, epochs=400)))
    assert steps[-1].bias == pytest.approx(0.5, abs=1e-3)
    np.testing.assert_allclose(steps[-1].weight, [[1.0, -1.0]], atol=1e-3)


# --- divergence ------------------------------------------------------------------------------


def test_a_huge_learning_rate_on_the_lesson_diverges_with_advice():
    X, Y = lesson_data()
    trainer = KernelTrainer(X, Y, TrainConfig(lr=10.0, epochs=100))
    # Issue 11: lr 10 used to run to inf at epoch 8; the loss has grown three epochs in a row by epoch 4.
    expected = (r"^Training diverged at epoch 4: the loss grew for 3 epochs in a row "
                r"\(19\.16 → 9\.945e\+05 → 2\.736e\+11 → 9\.698e\+16\)\. The learning rate 10 is too large")
    with pytest.raises(TrainingDiverged, match=expected) as info:
        while True:
            trainer.step()
    assert (info.value.epoch, info.value.lr) == (4, 10.0)
    # SGD on this loss is stable only below 2 / λmax(2 PᵀP) = 2 / 60: the advice names a rate that works.
    assert info.value.stable_below == pytest.approx(1 / 30)
    assert str(info.value).endswith(
        "gradient descent converges on this input only for learning rates below 0.0333 = 2/λmax "
        "(λmax = 60, the loss's steepest curvature). Try 0.03."
    )
    # The trainer keeps its last state: epoch 4's update was not applied.
    assert trainer.epoch == 3 and np.isfinite(trainer.weight).all()
    steps = list(train_kernel(X, Y, TrainConfig(lr=0.03, epochs=100)))
    assert steps[-1].loss < 1e-6


def test_a_loss_that_overflows_at_once_is_still_reported_as_inf():
    X, Y = lesson_data()
    trainer = KernelTrainer(X, Y, TrainConfig(lr=1e20))
    expected = r"^Training diverged at epoch 2: the loss became inf\."
    with pytest.raises(TrainingDiverged, match=expected) as info:
        while True:
            trainer.step()
    assert info.value.loss == math.inf and trainer.epoch == 1


def test_divergence_message_without_a_known_limit_says_10x_smaller():
    error = TrainingDiverged(7, 0.5, "the loss became inf")
    assert str(error) == (
        "Training diverged at epoch 7: the loss became inf. The learning rate 0.5 is too large "
        "for this input — try 0.05 (10x smaller)."
    )
    assert isinstance(error, ArithmeticError)


def test_momentum_divergence_uses_the_heavy_ball_limit():
    X, Y = lesson_data()
    with pytest.raises(TrainingDiverged, match="learning rate") as info:
        list(train_kernel(X, Y, TrainConfig(optimizer="momentum", lr=0.1, epochs=1000)))
    assert info.value.stable_below == pytest.approx(2 * 1.9 / 60)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kernel_shape": (0, 2)}, r"kernel shape must be two whole numbers from 1 to 7"),
        ({"kernel_shape": (8, 1)}, r"from 1 to 7"),
        ({"kernel_shape": (2,)}, r"kernel shape"),
        ({"kernel_shape": (1.5, 2)}, r"kernel shape"),
        ({"lr": 0.0}, r"learning rate must be a positive number"),
        ({"lr": -1e-3}, r"learning rate"),
        ({"lr": math.inf}, r"learning rate"),
        ({"lr": math.nan}, r"learning rate"),
        ({"epochs": 0}, r"epochs must be a whole number from 1 to 100000"),
        ({"epochs": 100_001}, r"epochs"),
        ({"epochs": 2.5}, r"epochs"),
        ({"seed": -1}, r"seed must be a whole number"),
        ({"optimizer": "rmsprop"}, r"unknown optimizer 'rmsprop': choose one of sgd, momentum, adam"),
        ({"loss": "abs"}, r"unknown loss 'abs': choose one of sum, mean"),
        ({"init": "ones"}, r"unknown initialisation 'ones'"),
        ({"bias": "yes"}, r"bias must be True or False"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_config_normalises_and_is_frozen():
    config = TrainConfig(kernel_shape=[3, np.int64(2)], lr=1)
    assert config.kernel_shape == (3, 2) and isinstance(config.lr, float)
    with pytest.raises(AttributeError):
        config.lr = 1.0


def test_a_target_of_the_wrong_shape_is_explained():
    X, Y = lesson_data()
    with pytest.raises(ValueError, match=r"^target is 6x7 but a 1x3 kernel on a 6x8 input gives 6x6$"):
        KernelTrainer(X, Y, TrainConfig(kernel_shape=(1, 3)))


@pytest.mark.parametrize(
    ("X", "Y", "match"),
    [
        (np.ones(8), np.ones(7), r"the input must be a 2-D grid, got 1-D with shape \(8,\)"),
        (np.ones((6, 8)), np.full((6, 7), np.nan), r"target contains NaN or infinity \(first at row 0, "),
        (np.ones((1, 1)), np.ones((1, 1)), r"kernel 1x2 is larger than the padded input 1x1"),
        (np.array([["a", "b"]]), np.ones((1, 1)), r"the input must hold real numbers"),
    ],
)
def test_bad_data_is_explained(X, Y, match):
    with pytest.raises(ValueError, match=match):
        KernelTrainer(X, Y, TrainConfig())


def test_train_kernel_checks_its_arguments_at_the_call():
    X, Y = lesson_data()
    with pytest.raises(ValueError, match="target is 6x7"):
        train_kernel(X, Y, TrainConfig(kernel_shape=(2, 2)))  # not iterated: still refused


# --- targets, least squares and the landscape ------------------------------------------------


def test_make_target_is_corr2d_plus_bias_plus_seeded_noise():
    X = np.random.default_rng(6).random((40, 40))
    clean = make_target(X, SOBEL_X, bias=0.25)
    expected = (patches(X, (3, 3)) @ SOBEL_X.ravel()).reshape(38, 38) + 0.25
    np.testing.assert_allclose(clean, expected, atol=1e-12)
    noisy = make_target(X, SOBEL_X, bias=0.25, noise=0.1, seed=1)
    assert np.array_equal(noisy, make_target(X, SOBEL_X, bias=0.25, noise=0.1, seed=1))
    assert not np.array_equal(noisy, make_target(X, SOBEL_X, bias=0.25, noise=0.1, seed=2))
    assert (noisy - clean).std() == pytest.approx(0.1, rel=0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"noise": -0.1}, r"the noise must be a finite number, 0 or more"),
        ({"bias": math.nan}, r"the bias must be a finite number"),
    ],
)
def test_make_target_refuses_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_target(np.ones((4, 4)), np.ones((2, 2)), **kwargs)


def test_least_squares_recovers_the_lessons_kernel_exactly():
    X, Y = lesson_data()
    np.testing.assert_allclose(least_squares_kernel(X, Y, (1, 2)), [[1.0, -1.0]], rtol=0, atol=1e-12)


def test_least_squares_recovers_sobel_and_refuses_a_wrong_shape():
    X = np.random.default_rng(7).random((12, 9))
    np.testing.assert_allclose(least_squares_kernel(X, make_target(X, SOBEL_X), (3, 3)), SOBEL_X, atol=1e-10)
    with pytest.raises(ValueError, match=r"target is 10x7 but a 2x2 kernel on a 12x9 input gives 11x8"):
        least_squares_kernel(X, make_target(X, SOBEL_X), (2, 2))


def direct_loss(X: np.ndarray, Y: np.ndarray, K: np.ndarray, loss: str) -> float:
    squared = (Y - corr2d(X, K)) ** 2
    return float(squared.sum() if loss == "sum" else squared.mean())


@pytest.mark.parametrize("loss", ["sum", "mean"])
@pytest.mark.parametrize("transpose", [False, True])
def test_landscape_equals_direct_evaluation(loss, transpose):
    rng = np.random.default_rng(8)
    X = rng.random((7, 9))
    K = np.array([[0.7, -1.3]])
    X, K = (X.T, K.T) if transpose else (X, K)
    Y = make_target(X, K, noise=0.2, seed=3)
    land = loss_landscape(X, Y, loss=loss, center=(0.5, -0.5), span=2.0, n=41)
    assert isinstance(land, Landscape)
    assert land.kernel_shape == K.shape
    assert land.w1.shape == (41,) and land.w2.shape == (41,) and land.loss.shape == (41, 41)
    assert land.w1[0] == pytest.approx(-1.5) and land.w2[-1] == pytest.approx(1.5)
    for i, j in rng.integers(0, 41, size=(25, 2)):
        w = np.array([land.w1[j], land.w2[i]]).reshape(K.shape)
        assert land.loss[i, j] == pytest.approx(direct_loss(X, Y, w, loss), rel=1e-9, abs=1e-12)


def test_landscape_default_span_holds_the_optimum_and_the_origin():
    X, Y = lesson_data()
    land = loss_landscape(X, Y)
    assert land.w1[0] == -1.5 and land.w1[-1] == 1.5  # 1.5x the optimum's distance (1, -1)
    i, j = np.unravel_index(land.loss.argmin(), land.loss.shape)
    assert (land.w1[j], land.w2[i]) == pytest.approx((1.0, -1.0), abs=0.04)
    far = make_target(X, np.array([[4.0, 3.0]]))
    land = loss_landscape(X, far, center=(1.0, 1.0))
    assert land.w1[0] < 1.0 - 3 < 1.0 + 3 < land.w1[-1] and land.w2[0] < 0.0


def test_landscape_is_vectorised():
    X = np.random.default_rng(9).random((64, 64))
    land = loss_landscape(X, make_target(X, np.array([[1.0], [-1.0]])), n=1001)
    assert land.loss.shape == (1001, 1001) and np.all(land.loss >= 0)


@pytest.mark.parametrize(
    ("Y_shape", "kwargs", "match"),
    [
        ((6, 6), {}, r"exactly two weights \(1x2 or 2x1\), but a 6x8 input and a 6x6 target mean a 1x3 "),
        ((5, 7), {}, r"mean a 2x2 kernel"),
        ((6, 7), {"loss": "max"}, r"unknown loss 'max'"),
        ((6, 7), {"span": 0.0}, r"span must be a positive number"),
        ((6, 7), {"n": 1}, r"n must be a whole number from 2 to 1001"),
        ((6, 7), {"center": (0.0, math.inf)}, r"center must be two finite numbers"),
    ],
)
def test_landscape_refuses_what_it_cannot_draw(Y_shape, kwargs, match):
    with pytest.raises(ValueError, match=match):
        loss_landscape(np.ones((6, 8)), np.zeros(Y_shape), **kwargs)


# --- issue 12: overflow said up front, the bias column in the advice -----------------------------


def test_the_advice_counts_the_bias_column_of_the_hessian():
    X, Y = lesson_data()
    # Independent reference: the Hessian of the summed loss over (w1, w2, b) by autograd.
    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def loss(params):
        w, b = params[:2].reshape(1, 1, 1, 2), params[2]
        return ((F.conv2d(Xt[None, None], w)[0, 0] + b - Yt) ** 2).sum()

    hessian = torch.autograd.functional.hessian(loss, torch.zeros(3, dtype=torch.float64))
    limit = 2 / torch.linalg.eigvalsh(hessian).max().item()
    assert limit == pytest.approx(0.016089, abs=1e-6)
    with pytest.raises(TrainingDiverged) as info:
        list(train_kernel(X, Y, TrainConfig(lr=0.03, bias=True, epochs=1000)))
    assert info.value.stable_below == pytest.approx(limit, rel=1e-6)
    assert "Try 0.01." in str(info.value) and "below 0.0161 = 2/λmax" in str(info.value)
    # The limit is real: just under it the run converges, just over it the loss grows until stopped.
    below = list(train_kernel(X, Y, TrainConfig(lr=0.0159, bias=True, epochs=3000)))
    assert below[-1].loss < 1e-6
    with pytest.raises(TrainingDiverged, match="the loss grew for 3 epochs in a row"):
        list(train_kernel(X, Y, TrainConfig(lr=0.0163, bias=True, epochs=1500)))


@pytest.mark.parametrize(
    ("X", "Y", "config", "match"),
    [
        # The painted target of 1e30: squared, it overflows float32 before any step.
        (lesson_data()[0], np.full((6, 7), 1e30), TrainConfig(),
         r"^the loss is already inf before any update: .* no learning rate can help"),
        (lesson_data()[0], np.full((6, 7), 1e30), TrainConfig(lr=1e-4),
         r"^the loss is already inf before any update"),
        (np.full((6, 8), 1e39), np.zeros((6, 7)), TrainConfig(),
         r"^the input holds 1e\+39 \(row 0, column 0\), too large for float32"),
        (np.ones((6, 8)), np.full((6, 7), -4e38), TrainConfig(),
         r"^the target holds -4e\+38 \(row 0, column 0\), too large for float32"),
        # A finite loss (1e38) whose gradient (4e39) is not.
        (np.array([[1e20, 1e20]]), np.array([[1e19]]), TrainConfig(init="zeros"),
         r"^the gradient is already infinite before any update"),
    ],
)
def test_data_that_overflows_float32_is_refused_up_front_not_blamed_on_the_lr(X, Y, config, match):
    with pytest.raises(ValueError, match=match) as info:
        KernelTrainer(X, Y, config)
    assert "learning rate" not in str(info.value).split("so no learning rate")[0]
    with pytest.raises(ValueError, match=match):
        train_kernel(X, Y, config)


def test_large_but_safe_data_still_trains():
    X, Y = lesson_data()
    trainer = KernelTrainer(X * 1e6, Y * 1e6, TrainConfig(lr=1e-14))
    assert math.isfinite(trainer.step().loss)


def test_divergence_reports_the_loss_of_the_epoch_that_failed():
    X, Y = lesson_data()
    with pytest.raises(TrainingDiverged) as info:
        list(train_kernel(X, Y, TrainConfig(lr=10.0, epochs=100)))
    assert info.value.epoch == 4 and info.value.loss == pytest.approx(9.698e16, rel=1e-3)
    assert math.isnan(TrainingDiverged(3, 0.1, "x").loss)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        # 361 draws of N(0, 1e308²): some exceed 1.8 standard deviations, so overflow.
        (lambda: make_target(np.ones((20, 20)), np.ones((2, 2)), noise=1e308), "the target's numbers"),
        (lambda: make_target(np.full((3, 3), 1e308), np.ones((2, 2))), "the target's numbers overflow"),
        (lambda: make_target(np.ones((3, 3)), np.ones((2, 2)), bias=1.7e308, noise=1e308), "overflow"),
        (lambda: loss_landscape(*lesson_data(), span=1e308), "the landscape's numbers overflow"),
        (lambda: loss_landscape(*lesson_data(), center=(1e308, 1e308), span=1e308), "overflow"),
        (lambda: loss_landscape(np.full((3, 3), 1e200), np.zeros((3, 2))), "the landscape's numbers"),
    ],
)
def test_overflow_in_targets_and_landscapes_is_reported_not_returned(call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way
        with pytest.raises(ValueError, match=match):
            call()


# --- the Train page's run: bounded history, one set of numbers (ui/training_session) ---------------


def _run(config: TrainConfig, X=None, Y=None, **kwargs):
    from ui.training_session import Run

    if X is None:
        X, Y = lesson_data()
    return Run(X=X, Y=Y, config=config, trainer=KernelTrainer(X, Y, config), **kwargs)


def test_a_long_run_keeps_every_loss_but_only_recent_steps_and_a_thinned_path(monkeypatch):
    from ui import training_session as ts

    monkeypatch.setattr(ts, "PATH_POINTS", 50)
    config = TrainConfig(kernel_shape=(2, 2), lr=0.01, epochs=1000)
    X = image_preset("letter", (8, 8))
    Y = corr2d(X, np.array([[1.0, -1.0], [0.5, 0.0]]))
    reference = list(train_kernel(X, Y, config))  # every step, as the old history kept them
    run = _run(config, X, Y)
    run.advance(1000)
    assert run.epoch == 1000 and run.state == "finished"
    # Every epoch's loss, exactly as the steps reported it (float32 holds them without rounding).
    assert run.losses == [s.loss for s in reference]
    assert run.loss_array.dtype == np.float32 and run.loss_array.shape == (1000,)
    # Whole steps only for the recent epochs; the page's printout and gradient read those.
    assert len(run.steps) == ts.RECENT_STEPS and [s.epoch for s in run.steps] == list(range(901, 1001))
    assert np.array_equal(run.steps[-1].grad, reference[-1].grad)
    # The path: the start, older epochs thinned evenly, then every recent epoch, each exact.
    path = run.path
    assert len(path) <= 2 * ts.PATH_POINTS + ts.RECENT_STEPS + 1
    np.testing.assert_array_equal(path[0], run.trainer.initial_weight.ravel())
    np.testing.assert_array_equal(path[-ts.RECENT_STEPS:], [s.weight.ravel() for s in reference[900:]])
    every = run._every
    older = path[1 : -ts.RECENT_STEPS]
    assert every > 1 and len(older) == 900 // every
    thinned = [reference[k * every - 1].weight.ravel() for k in range(1, len(older) + 1)]
    np.testing.assert_array_equal(older, thinned)


def test_a_100000_epoch_run_holds_well_under_a_megabyte():
    from ui import training_session as ts

    run = _run(TrainConfig(epochs=100_000))
    for epoch in range(1, 100_001):  # record synthetic steps: the history, not the training, is tested
        run._record(TrainStep(epoch=epoch, loss=1.0 / epoch, weight=np.zeros((1, 2), np.float32), bias=0.0,
                              grad=np.zeros((1, 2), np.float32), grad_bias=0.0))
    assert len(run.steps) == ts.RECENT_STEPS
    assert len(run.path) <= 2 * ts.PATH_POINTS + ts.RECENT_STEPS + 1
    assert run.loss_array.nbytes <= 4 * 2 * 100_000
    assert len(run.losses) == 100_000 and run.losses[-1] == np.float32(1e-5)


def test_the_loss_shown_is_the_last_printed_one_and_the_states_are_named():
    run = _run(TrainConfig(epochs=3))
    assert run.state == "ready" and run.log_lines() == []
    assert run.shown_loss == run.trainer.loss()  # before any epoch: what epoch 1 will print
    run.step_once()
    # The issue: the metric said 8.33 (after the update) while the log said 19.158 (before it).
    assert len(run.log_lines()) == 1 and run.log_lines()[0].startswith("epoch 1, loss ")
    assert f"{run.shown_loss:.3f}" == run.log_lines()[-1].split("loss ")[1]
    assert run.shown_loss == run.steps[-1].loss
    assert run.state == "paused"
    run.running = True
    assert run.state == "training…"
    run.advance(5)
    assert run.state == "finished" and not run.running  # not "paused"
    assert run.epoch == 3 and run.log_lines()[-1].startswith("epoch 3, loss ")


def test_a_diverged_run_names_the_same_epoch_everywhere():
    run = _run(TrainConfig(lr=10.0, epochs=100))
    run.advance(100)
    assert run.state == "diverged"
    assert "Training diverged at epoch 4" in run.error
    assert run.epoch == 4  # the Epoch metric, the message and the log's last line agree
    assert run.log_lines(3)[-1] == "epoch 4, loss 9.698e+16 (diverged)"
    assert run.log_lines(3)[-2].startswith("epoch 3, loss ")
    assert run.shown_loss == pytest.approx(9.698e16, rel=1e-3)
    assert run.trainer.epoch == 3 and all(np.isfinite(run.losses))  # epoch 4's update was not applied


def test_earlier_runs_have_unique_labels_and_diverged_ones_leave_the_y_range(monkeypatch):
    from types import SimpleNamespace

    from ui import training_session as ts

    monkeypatch.setattr(ts, "st", SimpleNamespace(session_state={}))
    X, Y = lesson_data()
    run = ts.ensure(X, Y, TrainConfig(lr=10.0, epochs=50), 0.0)
    run.advance(50)  # diverges at epoch 4, its losses reaching about 3e11
    ts.reset()
    ts.current().advance(10)
    ts.reset()
    ts.current().advance(10)
    ts.ensure(X, Y, TrainConfig(lr=0.03, epochs=20), 0.0).advance(20)
    labels = [label for label, _ in ts.st.session_state[ts.EARLIER]]
    assert labels == ["run 1 · GD lr=10 sum", "run 2 · GD lr=10 sum", "run 3 · GD lr=10 sum"]
    assert ts.current().label == "run 4 · GD lr=0.03 sum"
    assert ts.st.session_state[ts.EARLIER_DIVERGED] == labels
    lo, hi = ts.chart_y_range()
    current = ts.current().loss_array
    assert (lo, hi) == (float(current.min()), float(current.max()))  # the 1e33 runs left out
    everything = ts.loss_y_range(ts.chart_runs())
    assert everything[1] > 1e11
    assert ts.loss_y_range([("a", [0.0, 2.0, math.inf])], log_y=True) == (2.0, 2.0)
    assert ts.loss_y_range([("a", [])]) is None
    ts.clear_earlier()
    assert ts.st.session_state[ts.EARLIER] == [] and ts.st.session_state[ts.EARLIER_DIVERGED] == []


def test_only_a_stable_run_whose_loss_fell_is_a_success():
    run = _run(TrainConfig(epochs=10))  # the lesson
    run.advance(10)
    kind, text = run.verdict()
    assert kind == "success"
    assert text.startswith("Training finished 10 epochs: the loss fell from 19.16 to 0.04")
    # Just over the limit, 5 epochs end before the growth shows: finished, but never green.
    run = _run(TrainConfig(lr=1.01 / 30, epochs=5))
    run.advance(5)
    kind, text = run.verdict()
    assert run.state == "finished" and kind == "warning"
    assert "not converging: the learning rate 0.0336667 is above 0.0333" in text
    # Adam at lr 10 swings the loss up: finished, not diverged, and said so.
    run = _run(TrainConfig(optimizer="adam", lr=10.0, epochs=10))
    run.advance(10)
    kind, text = run.verdict()
    assert kind == "warning" and "the loss did not go down (epoch 1: 19.16, epoch 10:" in text
    run = _run(TrainConfig(lr=0.1, epochs=10))
    run.advance(10)
    assert run.verdict() == ("error", run.error) and run.state == "diverged" and run.epoch == 4
    assert _run(TrainConfig()).verdict() is None  # ready: nothing to say yet


def test_the_loss_after_the_last_update_is_the_next_epochs_printed_loss():
    run = _run(TrainConfig(epochs=10))
    run.advance(3)
    after = run.loss_after
    run.step_once()
    assert run.steps[-1].loss == after
    diverged = _run(TrainConfig(lr=0.1, epochs=10))
    diverged.advance(10)
    assert diverged.loss_after is None  # epoch 4's update was not applied


class _FakeClock:
    """A clock that moves on by `per_call` seconds every time it is read."""

    def __init__(self, per_call: float) -> None:
        self.now, self.per_call = 0.0, per_call

    def __call__(self) -> float:
        self.now += self.per_call
        return self.now


def test_a_tick_trains_for_at_most_its_time_budget_whatever_the_speed():
    from ui import training_session as ts

    run = _run(TrainConfig(epochs=100_000, lr=0.001))
    run.running = True
    # Epochs that take 10 ms each (as on a busy server): 1000 epochs/s owes 110 a tick, the 25 ms budget
    # allows 3 (the third starts at 20 ms, the fourth would start at 30 ms).
    done = run.play_tick(1000, now=0.0, tick=0.11, budget=0.025, clock=_FakeClock(0.010))
    assert done == 3 and run.epoch == 3
    # The cut epochs are dropped, not owed: the next tick owes one tick's worth again, not 214.
    assert run.play_tick(1000, now=0.11, tick=0.11, budget=0.025, clock=_FakeClock(0.010)) == 3
    assert run.behind
    # 3 epochs per 0.11 s tick: the page reports ≈27 epochs/s, not the 1000 asked.
    for k in range(2, 6):
        run.play_tick(1000, now=0.11 * k, tick=0.11, budget=0.025, clock=_FakeClock(0.010))
    assert run.achieved_rate == pytest.approx(3 / 0.11)
    # Always at least one epoch a tick, so a run on a very slow server still moves.
    assert run.play_tick(1000, now=0.66, tick=0.11, budget=0.025, clock=_FakeClock(1.0)) == 1
    # Fast epochs: the whole tick's due is paid and the run is not behind.
    fast = _run(TrainConfig(epochs=100_000, lr=0.001))
    fast.running = True
    for k in range(5):
        done = fast.play_tick(100, now=0.11 * k, tick=0.11, budget=0.025, clock=_FakeClock(1e-5))
        assert done in (10, 11, 12)
    assert not fast.behind and fast.achieved_rate == pytest.approx(100, rel=0.1)
    assert ts.TICK_BUDGET == 0.025


def test_the_process_training_share_is_split_between_the_sessions_playing():
    from ui.training_session import PROCESS_TICKS, TICK_BUDGET, TrainingShare

    share = TrainingShare(share=0.5, window=1.0)  # half a core; playing = ticked within 1 s
    # One trainer: its tick budget, never more (0.5 of a core over 0.1 s ticks would be 50 ms).
    assert share.budget("a", tick=0.1, now=0.0) == TICK_BUDGET
    # Ten trainers at 10 ticks a second share half a core: 5 ms a tick each, 0.5 s of training a second.
    for k in range(10):
        budget = share.budget(f"s{k}", tick=0.1, now=0.5)
    assert share.playing(0.5) == 11 and budget == pytest.approx(0.5 * 0.1 / 11)
    # ... and their ticks are spread: PROCESS_TICKS a second in all (at 15, 11 sessions tick every 0.73 s).
    assert share.interval(0.5) == pytest.approx(11 / PROCESS_TICKS)
    # Sessions that stopped ticking (paused, closed) drop out after the window: the others get more.
    assert share.budget("a", tick=0.1, now=1.8) == TICK_BUDGET
    assert share.playing(1.8) == 1


def test_a_tick_stops_at_the_end_of_the_run():
    run = _run(TrainConfig(epochs=5))
    run.running = True
    assert run.play_tick(1000, now=0.0, tick=0.11, clock=_FakeClock(1e-6)) == 5
    assert run.state == "finished" and not run.running and not run.behind
