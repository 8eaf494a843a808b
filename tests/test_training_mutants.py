"""Training helpers against numbers worked out by hand (mutation testing found the landscape's
default span, its size limits and the names in refusals could change without a test noticing)."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab.training import (
    KernelTrainer,
    TrainConfig,
    TrainingDiverged,
    least_squares_kernel,
    loss_landscape,
    make_target,
    train_kernel,
)

# X = [1, 2, 3] with the kernel (2, 0) gives Y = [2*1 + 0*2, 2*2 + 0*3] = [2, 4]; the patch matrix
# [[1, 2], [2, 3]] is invertible, so the least-squares kernel is exactly (2, 0).
X = np.array([[1.0, 2.0, 3.0]])
Y = np.array([[2.0, 4.0]])


def test_the_least_squares_kernel_of_a_hand_made_target():
    np.testing.assert_allclose(least_squares_kernel(X, Y, (1, 2)), [[2.0, 0.0]], atol=1e-12)


def test_the_landscape_on_a_three_by_three_grid_by_hand():
    land = loss_landscape(X, Y, center=(2.0, 0.0), span=1.0, n=3)
    assert land.w1.tolist() == [1.0, 2.0, 3.0] and land.w2.tolist() == [-1.0, 0.0, 1.0]
    # loss[i, j] is at (w1[j], w2[i]). At (3, 0): P w - y = [3 - 2, 6 - 4] = [1, 2], so 1 + 4 = 5.
    # At (2, 1): [2 + 2 - 2, 4 + 3 - 4] = [2, 3], so 13. At (1, -1): [1 - 2 - 2, 2 - 3 - 4] = [-3, -5], 34.
    assert land.loss[1, 1] == pytest.approx(0.0, abs=1e-12)
    assert land.loss[1, 2] == pytest.approx(5.0)
    assert land.loss[2, 1] == pytest.approx(13.0)
    assert land.loss[0, 0] == pytest.approx(34.0)
    mean = loss_landscape(X, Y, loss="mean", center=(2.0, 0.0), span=1.0, n=3)
    assert mean.loss[1, 2] == pytest.approx(2.5)


def test_the_default_span_reaches_past_the_optimum_and_the_origin():
    # Center (1, 0): the optimum (2, 0) is 1 away and the origin 1 away -> 1.5 x 1 = 1.5.
    land = loss_landscape(X, Y, center=(1.0, 0.0))
    assert land.w1.size == 81 and land.w2.size == 81
    assert (land.w1[0], land.w1[-1]) == pytest.approx((-0.5, 2.5))
    assert (land.w2[0], land.w2[-1]) == pytest.approx((-1.5, 1.5))
    # Center (0, 0): the optimum is 2 away -> 3.
    assert loss_landscape(X, Y).w1[-1] == pytest.approx(3.0)
    # A tiny problem still shows at least ±1 (the initialisation range).
    assert loss_landscape(X, Y * 1e-3, center=(0.0, 0.0)).w1[-1] == pytest.approx(1.0)


def test_the_landscape_size_is_two_to_1001():
    assert loss_landscape(X, Y, n=2).loss.shape == (2, 2)
    assert loss_landscape(X, Y, n=1001).loss.shape == (1001, 1001)
    for n in (1, 1002):
        with pytest.raises(ValueError, match=rf"^n must be a whole number from 2 to 1001, got {n}$"):
            loss_landscape(X, Y, n=n)
    with pytest.raises(ValueError, match=r"^center must be two finite numbers \(w1, w2\), got \('a', 0\)$"):
        loss_landscape(X, Y, center=("a", 0))
    with pytest.raises(ValueError, match=r"^span must be a positive number, got 0$"):
        loss_landscape(X, Y, span=0)
    with pytest.raises(ValueError, match=r"^span must be a positive number, got nan$"):
        loss_landscape(X, Y, span=float("nan"))


@pytest.mark.parametrize("function", [least_squares_kernel, loss_landscape])
def test_refusals_name_the_input_and_the_target(function):
    args = {least_squares_kernel: ((1, 2),), loss_landscape: ()}[function]
    with pytest.raises(ValueError, match=r"^the input must be a 2-D grid"):
        function(np.ones(3), Y, *args)
    with pytest.raises(ValueError, match=r"^the target must be a 2-D grid"):
        function(X, np.ones(2), *args)


def _lesson():
    X = np.ones((6, 8))
    X[:, 2:6] = 0
    return X, X[:, :-1] - X[:, 1:]  # the lesson's edge map under K = [[1, -1]], by hand


def _autograd_limit(X, Y, *, mean: bool) -> float:
    """2 / λmax of the loss's Hessian over (w1, w2), by autograd: an independent reference."""
    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def loss(w):
        err = (F.conv2d(Xt[None, None], w.reshape(1, 1, 1, 2))[0, 0] - Yt) ** 2
        return err.mean() if mean else err.sum()

    hessian = torch.autograd.functional.hessian(loss, torch.zeros(2, dtype=torch.float64))
    return 2 / torch.linalg.eigvalsh(hessian).max().item()


def test_the_advice_for_the_mean_loss_divides_the_hessian_by_the_cell_count():
    X, Y = _lesson()
    limit = _autograd_limit(X, Y, mean=True)
    assert limit == pytest.approx(_autograd_limit(X, Y, mean=False) * Y.size)  # 42 cells: 42x larger
    with pytest.raises(TrainingDiverged) as info:
        list(train_kernel(X, Y, TrainConfig(lr=3 * limit, loss="mean", epochs=1000)))
    assert info.value.stable_below == pytest.approx(limit, rel=1e-9)
    assert f"below {limit:.3g} = 2/λmax" in str(info.value)


def test_adam_has_no_learning_rate_limit_so_the_advice_is_ten_times_smaller():
    X, Y = _lesson()
    with pytest.raises(TrainingDiverged) as info:
        # Each Adam step moves a weight by about lr: at 1e37 the predictions' squares overflow float32.
        trainer = KernelTrainer(X, Y, TrainConfig(optimizer="adam", lr=1e37, epochs=100))
        while True:
            trainer.step()
    assert info.value.stable_below is None
    assert "try 1e+36 (10x smaller)" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bias": "x"}, "the bias must be a finite number, got 'x'"),
        ({"noise": -1}, "the noise must be a finite number, 0 or more, got -1"),
        ({"noise": float("inf")}, "the noise must be a finite number, 0 or more, got inf"),
        ({"seed": -1}, "the seed must be a whole number, 0 or more, got -1"),
        ({"seed": 1.5}, "the seed must be a whole number, 0 or more, got 1.5"),
    ],
)
def test_make_target_refusals_say_what_was_passed(kwargs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_target(np.ones((3, 3)), np.ones((1, 1)), **kwargs)


def test_make_target_names_the_input_and_the_kernel():
    with pytest.raises(ValueError, match=r"^the input must be a 2-D grid"):
        make_target(np.ones(3), np.ones((1, 1)))
    with pytest.raises(ValueError, match=r"^the kernel must be a 2-D grid"):
        make_target(np.ones((3, 3)), np.ones(1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be a whole number from 1 to 100000, got 0"),
        ({"seed": 2**63}, "the seed must be a whole number, 0 or more, got 9223372036854775808"),
        ({"lr": 0}, "the learning rate must be a positive number, got 0"),
        ({"bias": 2}, "bias must be True or False, got 2"),
        ({"kernel_shape": (1, 2, 3)},
         "the kernel shape must be two whole numbers from 1 to 7 (rows, columns), got (1, 2, 3)"),
    ],
)
def test_train_config_refusals_say_what_was_passed(kwargs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        TrainConfig(**kwargs)


def test_train_config_boundaries_are_accepted():
    assert TrainConfig(epochs=1).epochs == 1
    assert TrainConfig(seed=2**63 - 1).seed == 2**63 - 1
    assert TrainConfig(bias=np.bool_(True)).bias is True
