"""Learning a kernel from (input, target) pairs: the lesson's training loop, made steppable.

`KernelTrainer` runs exactly the lesson's loop (Y_hat = corr2d(X, w); loss = ((Y - Y_hat)**2).sum();
zero the gradient; backward; update) one epoch at a time, in float32 like the lesson, so a page can
play, pause and step it. The loss is quadratic in the weights, so its curvature is known exactly:
`stability` gives the learning-rate limit upfront, and a trainer stops as soon as the loss grows for
GROWTH_EPOCHS epochs in a row past that limit. `loss_landscape` and `least_squares_kernel` give the
exact picture and the exact answer for comparison.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from convlab.grids import as_grid, describe
from convlab.kernels import MAX_KERNEL_SIDE
from convlab.ops import corr2d, output_shape

__all__ = [
    "ADAM_BETAS",
    "GROWTH_EPOCHS",
    "INITS",
    "LOSSES",
    "MAX_EPOCHS",
    "MOMENTUM",
    "OPTIMIZERS",
    "OPTIMIZER_NAMES",
    "KernelTrainer",
    "Landscape",
    "Stability",
    "TrainConfig",
    "TrainStep",
    "TrainingDiverged",
    "least_squares_kernel",
    "loss_landscape",
    "make_target",
    "stability",
    "train_kernel",
]

# The choices TrainConfig accepts, in the order a page lists them.
OPTIMIZERS = ("sgd", "momentum", "adam")
LOSSES = ("sum", "mean")
INITS = ("uniform", "zeros", "normal")
MAX_EPOCHS = 100_000

MOMENTUM = 0.9  # β of "momentum": each step keeps 0.9 of the last one
# torch.optim.Adam's defaults, so the app's Adam is the one learners meet in PyTorch.
ADAM_BETAS = (0.9, 0.999)
# A loss that rises this many epochs in a row (see KernelTrainer.step) has diverged.
GROWTH_EPOCHS = 3
_ADAM_EPS = 1e-8
_NORMAL_STD = 0.1


def _fmt(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def _is_whole(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: object) -> bool:
    real = isinstance(value, (int, float, np.integer, np.floating))
    return real and not isinstance(value, (bool, np.bool_))


def _choice(value: object, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise ValueError(f"unknown {what} {describe(value)}: choose one of {', '.join(choices)}")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run; the defaults are the lesson's (1x2 kernel, lr 3e-2, 10 epochs)."""

    # (h, w) of the learned kernel, each side 1..7; the lesson learns a 1x2 edge detector.
    kernel_shape: tuple[int, int] = (1, 2)
    # Step size of every update; positive and finite.
    lr: float = 3e-2
    # Full-batch updates to run (one epoch = one update on the whole image), 1..100000.
    epochs: int = 10
    # Seeds the initial weights: same seed, same numbers, bit for bit.
    seed: int = 0
    # "sgd": w -= lr * grad as in the lesson; "momentum": SGD with momentum 0.9; "adam": Adam.
    optimizer: str = "sgd"
    # Learn a bias added to every output cell too (the lesson's conv has none).
    bias: bool = False
    # "sum": the lesson's summed squared error; "mean": the same divided by the number of cells.
    loss: str = "sum"
    # "uniform": PyTorch's conv default U(-1/sqrt(h*w), 1/sqrt(h*w)) as the lesson's LazyConv2d;
    # "zeros"; "normal": N(0, 0.1^2).
    init: str = "uniform"

    def __post_init__(self) -> None:
        shape = self.kernel_shape
        if (
            not isinstance(shape, (tuple, list))
            or len(shape) != 2
            or not all(_is_whole(s) and 1 <= s <= MAX_KERNEL_SIDE for s in shape)
        ):
            raise ValueError(
                f"the kernel shape must be two whole numbers from 1 to {MAX_KERNEL_SIDE} "
                f"(rows, columns), got {describe(shape)}"
            )
        object.__setattr__(self, "kernel_shape", (int(shape[0]), int(shape[1])))
        if not _is_real(self.lr) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(f"the learning rate must be a positive number, got {describe(self.lr)}")
        object.__setattr__(self, "lr", float(self.lr))
        if not _is_whole(self.epochs) or not 1 <= self.epochs <= MAX_EPOCHS:
            raise ValueError(
                f"epochs must be a whole number from 1 to {MAX_EPOCHS}, got {describe(self.epochs)}"
            )
        if not _is_whole(self.seed) or not 0 <= self.seed < 2**63:
            raise ValueError(f"the seed must be a whole number, 0 or more, got {describe(self.seed)}")
        if not isinstance(self.bias, (bool, np.bool_)):
            raise ValueError(f"bias must be True or False, got {describe(self.bias)}")
        object.__setattr__(self, "bias", bool(self.bias))
        _choice(self.optimizer, OPTIMIZERS, "optimizer")
        _choice(self.loss, LOSSES, "loss")
        _choice(self.init, INITS, "initialisation")


@dataclass(frozen=True, eq=False)  # arrays have no single truth value: compare steps field by field
class TrainStep:
    """One epoch: `loss` of the weights before the update; `weight`, `grad` (h, w) after / used by it."""

    epoch: int  # 1-based, as the lesson prints it
    loss: float  # before this epoch's update: exactly what the lesson prints
    weight: np.ndarray  # (h, w) float32, after the update
    bias: float  # after the update; 0.0 when the bias is off
    grad: np.ndarray  # (h, w) float32, the gradient this update used
    grad_bias: float  # 0.0 when the bias is off


class TrainingDiverged(ArithmeticError):
    """The loss grew for GROWTH_EPOCHS epochs in a row, or stopped being a finite number: the learning
    rate is too large."""

    def __init__(
        self,
        epoch: int,
        lr: float,
        what: str,
        stable_below: float | None = None,
        *,
        loss: float = math.nan,
        why: str | None = None,
    ) -> None:
        """`stable_below`: the largest stable learning rate, when the optimizer has one (SGD, momentum),
        and `why` the sentence that explains it (`Stability.limit_text`).

        `epoch` is the epoch that failed (its update was not applied), `loss` the loss it computed
        before its update (inf or NaN when that is what failed), as the lesson would print it.
        """
        self.epoch = epoch
        self.lr = lr
        self.stable_below = stable_below
        self.loss = loss
        if stable_below is None or _nice_below(stable_below) >= lr:
            explanation = (
                f"The learning rate {lr:g} is too large for this input — try {lr / 10:g} (10x smaller)."
            )
        else:
            # The limit is known exactly: name the largest round rate under it, rather than 10x
            # smaller (which can diverge again, or crawl).
            limit = why or _limit_words(stable_below)
            explanation = (
                f"The learning rate {lr:g} is too large: {limit}. Try {_nice_below(stable_below):g}."
            )
        super().__init__(f"Training diverged at epoch {epoch}: {what}. {explanation}")


def _limit_words(limit: float) -> str:
    return f"this optimizer converges on this input only for learning rates below {limit:.3g}"


# How the page and the messages name each optimizer: what it is, with its constants.
OPTIMIZER_NAMES = {
    "sgd": "gradient descent",
    "momentum": f"gradient descent with momentum (β = {MOMENTUM:g})",
    "adam": f"Adam (β₁ = {ADAM_BETAS[0]:g}, β₂ = {ADAM_BETAS[1]:g})",
}


@dataclass(frozen=True)
class Stability:
    """What the loss's curvature says about a learning rate; exact, since the loss is quadratic.

    The loss's Hessian over the weights (and bias) is H = 2 PᵀP, divided by the N output cells for
    the mean loss, with P the (N, h*w) patch matrix (plus a column of ones for the bias). Along an
    eigenvector of H with eigenvalue λ (a curvature), a gradient-descent step multiplies the error
    by 1 − lr·λ: it shrinks for every λ only if lr < 2/λmax. Heavy-ball momentum β widens that to
    2(1 + β)/λmax. Adam divides each step by the gradient's own size, so it has no such limit.
    """

    optimizer: str  # one of OPTIMIZERS
    lr: float
    curvatures: tuple[float, ...]  # the Hessian's eigenvalues, largest first
    cells: int  # N, the output cells the mean loss divides by
    limit: float | None  # the largest stable lr for this optimizer; None for Adam or a flat loss

    @property
    def steepest(self) -> float:
        """λmax: the largest curvature of the loss."""
        return self.curvatures[0]

    @property
    def diverges(self) -> bool:
        """True when the theory says this learning rate makes the loss grow without bound."""
        return self.limit is not None and self.lr > self.limit

    @property
    def limit_text(self) -> str | None:
        """'gradient descent converges on this input only for learning rates below 0.0333 = 2/λmax
        (λmax = 60, the loss's steepest curvature)'; None when there is no limit."""
        if self.limit is None:
            return None
        formula = "2(1 + β)/λmax" if self.optimizer == "momentum" else "2/λmax"
        return (
            f"{OPTIMIZER_NAMES[self.optimizer]} converges on this input only for learning rates below "
            f"{self.limit:.3g} = {formula} (λmax = {self.steepest:.3g}, the loss's steepest curvature)"
        )


def stability(X: np.ndarray, config: TrainConfig) -> Stability:
    """The curvature of config's loss on the input X (H, W), and the learning-rate limit it sets.

    Raises:
        ValueError: X not a finite 2-D grid, or smaller than the kernel.
    """
    Xn = _copy(X, "the input")
    expected = output_shape(Xn.shape, config.kernel_shape)  # refuses a kernel larger than X
    P = _patches(Xn, config.kernel_shape)
    if config.bias:
        P = np.hstack([P, np.ones((P.shape[0], 1))])
    cells = int(np.prod(expected))
    with np.errstate(over="ignore", invalid="ignore"):
        hessian = 2 * P.T @ P / (cells if config.loss == "mean" else 1)
    if not np.isfinite(hessian).all():
        curvatures: tuple[float, ...] = (math.inf,)
    else:
        curvatures = tuple(float(v) for v in np.linalg.eigvalsh(hessian)[::-1])
    top = curvatures[0]
    limit = None
    # top == 0: an all-zero input and no bias, so no gradient at all.
    if config.optimizer != "adam" and 0 < top < math.inf:
        beta = MOMENTUM if config.optimizer == "momentum" else 0.0
        limit = 2 * (1 + beta) / top
    return Stability(optimizer=config.optimizer, lr=config.lr, curvatures=curvatures, cells=cells,
                     limit=limit)


def _nice_below(limit: float) -> float:
    """The largest of 1, 2, 3, 5 times a power of ten that is smaller than `limit` (> 0)."""
    exponent = math.floor(math.log10(limit))
    candidates = [m * 10.0**e for e in (exponent - 1, exponent) for m in (1, 2, 3, 5)]
    return max(c for c in candidates if c < limit)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch single-threaded inside the block, restoring this thread's setting after.

    One epoch on a small grid is a few tiny ops; splitting each over OpenMP threads only adds
    barriers, and when another process holds the other core every barrier waits for a time slice:
    measured 30-200 epochs/s with 2 threads against 560-2800 with 1 on the lesson's 6x8 under load.
    torch's thread count is per thread once set (new threads read a global), so this stays local.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _copy(A: object, name: str) -> np.ndarray:
    """A checked float64 (H, W) copy, so later changes to the caller's array change nothing here."""
    return np.array(as_grid(A, name))


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_OVERFLOW = "larger than the largest number a computer float holds (about 1.8e308)"


def _float32(A: np.ndarray, name: str) -> torch.Tensor:
    """A finite float64 grid -> float32 tensor, refusing numbers float32 cannot hold."""
    big = np.abs(A) > _FLOAT32_MAX
    if big.any():
        i, j = np.argwhere(big)[0]
        raise ValueError(
            f"{name} holds {A[i, j]:.3g} (row {i}, column {j}), too large for float32, the precision "
            f"training uses (numbers up to about {_FLOAT32_MAX:.1e}): scale the numbers down"
        )
    return torch.tensor(A, dtype=torch.float32)


def _check_target(X: np.ndarray, Y: np.ndarray, kernel_shape: tuple[int, int]) -> None:
    """Refuse a target whose shape a kernel of `kernel_shape` cannot produce from X."""
    expected = output_shape(X.shape, kernel_shape)
    if Y.shape != expected:
        raise ValueError(
            f"target is {_fmt(Y.shape)} but a {_fmt(kernel_shape)} kernel on a {_fmt(X.shape)} input "
            f"gives {_fmt(expected)}"
        )


def _init_params(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial (h, w) weight and () bias, float32, drawn from a generator seeded by config.seed."""
    g = torch.Generator().manual_seed(config.seed)
    h, w = config.kernel_shape
    # (1, 1, h, w) like a conv layer's weight, so torch.manual_seed(seed) + nn.Conv2d draws the same.
    weight = torch.zeros(1, 1, h, w)
    bias = torch.zeros(())
    if config.init == "uniform":
        torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=g)
        if config.bias:
            bound = 1 / math.sqrt(h * w)  # nn.Conv2d.reset_parameters' bias bound
            torch.nn.init.uniform_(bias, -bound, bound, generator=g)
    elif config.init == "normal":
        torch.nn.init.normal_(weight, 0.0, _NORMAL_STD, generator=g)
        if config.bias:
            torch.nn.init.normal_(bias, 0.0, _NORMAL_STD, generator=g)
    return weight.reshape(h, w), bias


class KernelTrainer:
    """Learns an (h, w) kernel (and optionally a bias) so that corr2d(X, kernel) + bias fits Y.

    `step()` runs one epoch whenever called; it does not stop at config.epochs (train_kernel does),
    so a page can keep stepping. Reset is a new KernelTrainer with the same config: same numbers.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, config: TrainConfig) -> None:
        """X (H, W) input and Y (H-h+1, W-w+1) target, with (h, w) = config.kernel_shape.

        Raises:
            ValueError: X or Y not a finite 2-D grid, a kernel larger than X, or Y of the wrong shape.
        """
        if not isinstance(config, TrainConfig):
            raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
        Xn, Yn = _copy(X, "the input"), _copy(Y, "the target")
        _check_target(Xn, Yn, config.kernel_shape)
        self._config = config
        # float32 like the lesson, so the numbers match what PyTorch prints there.
        self._X = _float32(Xn, "the input")
        self._Y = _float32(Yn, "the target")
        self._w0, self._b0 = _init_params(config)
        self._w = self._w0.clone().requires_grad_(True)
        self._b = self._b0.clone().requires_grad_(config.bias)
        self._epoch = 0
        # Optimizer state per parameter: momentum buffers, or Adam's first and second moments.
        self._state: dict[str, list[torch.Tensor]] = {
            "buf": [torch.zeros_like(self._w), torch.zeros_like(self._b)],
            "m": [torch.zeros_like(self._w), torch.zeros_like(self._b)],
            "v": [torch.zeros_like(self._w), torch.zeros_like(self._b)],
        }
        self._check_start()
        self._stability = stability(Xn, config)
        self._last_losses: deque[float] = deque(maxlen=GROWTH_EPOCHS)  # the epochs before the next
        self._highest = -math.inf  # the highest loss any epoch reported

    def _check_start(self) -> None:
        """Refuse data whose loss or gradient overflows float32 before any update.

        No learning rate can help then, so blaming it (as a divergence at epoch 1 would) misleads.
        """
        params = [p for p in (self._w, self._b) if p.requires_grad]
        with _one_thread():
            loss = self._loss(self._forward())
            grads = torch.autograd.grad(loss, params)
        if not math.isfinite(loss.item()):
            what = f"the loss is already {_name(loss.item())}"
        elif not all(torch.isfinite(g).all() for g in grads):
            what = "the gradient is already infinite"
        else:
            what = None
        if what is not None:
            raise ValueError(
                f"{what} before any update: the squared differences between the target and the "
                f"prediction are too large for float32, the precision training uses (numbers up to "
                f"about {_FLOAT32_MAX:.1e}), so no learning rate can help. Scale the input and the "
                f"target down (values within about ±1e15 are safe)"
            )
    @property
    def config(self) -> TrainConfig:
        """The settings this trainer was built with."""
        return self._config

    @property
    def initial_weight(self) -> np.ndarray:
        """(h, w) float32 copy of the weights before any update (what Reset returns to)."""
        return self._w0.numpy().copy()

    @property
    def initial_bias(self) -> float:
        """The bias before any update; 0.0 when the bias is off."""
        return float(self._b0)

    @property
    def weight(self) -> np.ndarray:
        """(h, w) float32 copy of the current weights."""
        return self._w.detach().numpy().copy()

    @property
    def bias(self) -> float:
        """The current bias; 0.0 when the bias is off."""
        return float(self._b.detach())

    @property
    def epoch(self) -> int:
        """Number of updates done so far."""
        return self._epoch

    def _forward(self) -> torch.Tensor:
        """Y_hat (H', W') float32 = corr2d(X, w) (+ b), with the autograd graph."""
        Y_hat = corr2d(self._X, self._w)
        return Y_hat + self._b if self._config.bias else Y_hat

    def _loss(self, Y_hat: torch.Tensor) -> torch.Tensor:
        squared = (self._Y - Y_hat) ** 2
        return squared.sum() if self._config.loss == "sum" else squared.mean()

    def predict(self) -> np.ndarray:
        """(H', W') float32: the current prediction corr2d(X, w) (+ b)."""
        with _one_thread():
            return self._forward().detach().numpy().copy()

    def loss(self) -> float:
        """The current loss, without updating (bitwise the loss the next step reports)."""
        # Same graph-building path as step(): corr2d rounds differently without autograd on big inputs.
        with _one_thread():
            return self._loss(self._forward()).detach().item()

    def step(self) -> TrainStep:
        """Run one epoch (one full-batch update) and report it.

        Raises:
            TrainingDiverged: the loss grew for GROWTH_EPOCHS epochs in a row (see `_grew`), or the
                loss or the updated weights are not finite; the failing epoch's update is not applied.
        """
        with _one_thread():
            return self._step()

    def _step(self) -> TrainStep:
        """The lesson's loop body: forward, loss, zero grad, backward, update."""
        epoch = self._epoch + 1
        loss = self._loss(self._forward())
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise self._diverged(epoch, f"the loss became {_name(loss_value)}", loss_value)
        if self._grew(loss_value):
            chain = " → ".join(f"{v:.4g}" for v in [*self._last_losses, loss_value])
            what = f"the loss grew for {GROWTH_EPOCHS} epochs in a row ({chain})"
            raise self._diverged(epoch, what, loss_value)
        self._w.grad = None  # zero the gradient, as the lesson's conv2d.zero_grad()
        self._b.grad = None
        loss.backward()
        grads = [self._w.grad, self._b.grad if self._config.bias else torch.zeros_like(self._b)]
        with torch.no_grad():
            new_params, new_state = self._update([self._w.detach(), self._b.detach()], grads, epoch)
        for p in new_params:
            if not torch.isfinite(p).all():
                bad = float(p[~torch.isfinite(p)][0])
                raise self._diverged(epoch, f"the weights became {_name(bad)}", loss_value)
        with torch.no_grad():
            self._w.copy_(new_params[0])
            self._b.copy_(new_params[1])
        self._state = new_state
        self._epoch = epoch
        self._last_losses.append(loss_value)
        self._highest = max(self._highest, loss_value)
        return TrainStep(
            epoch=epoch,
            loss=loss_value,
            weight=_frozen(new_params[0]),
            bias=float(new_params[1]),
            grad=_frozen(grads[0]),
            grad_bias=float(grads[1]),
        )

    def _grew(self, loss: float) -> bool:
        """True when `loss` ends GROWTH_EPOCHS rises in a row that show the run diverging.

        Where the theory knows the limit (gradient descent, momentum), a rise is real divergence only
        above it: below it, momentum's loss rises for a while as the weights swing past the bottom,
        and comes back. Without a limit (Adam), the loss must also reach its highest yet, so that
        Adam's big early swings, which shrink again, do not count.
        """
        earlier = self._last_losses
        if len(earlier) < GROWTH_EPOCHS:
            return False
        rising = all(b > a for a, b in itertools.pairwise([*earlier, loss]))
        if not rising:
            return False
        if self._stability.limit is not None:
            return self._stability.diverges
        return loss > self._highest

    @property
    def stability(self) -> Stability:
        """The loss's curvature on this input and the learning-rate limit it sets."""
        return self._stability

    def _diverged(self, epoch: int, what: str, loss: float) -> TrainingDiverged:
        """The error to raise, with the stable learning-rate limit when the optimizer has one."""
        st = self._stability
        return TrainingDiverged(epoch, self._config.lr, what, st.limit, loss=loss, why=st.limit_text)

    def _update(
        self, params: list[torch.Tensor], grads: list[torch.Tensor], t: int
    ) -> tuple[list[torch.Tensor], dict[str, list[torch.Tensor]]]:
        """New parameters and optimizer state, computed out of place so divergence changes nothing."""
        lr, kind, state = self._config.lr, self._config.optimizer, dict(self._state)
        if kind == "sgd":
            return [p - lr * g for p, g in zip(params, grads, strict=True)], state
        if kind == "momentum":
            # PyTorch's convention (dampening 0): buf = 0.9 buf + grad; w -= lr * buf.
            state["buf"] = [MOMENTUM * b + g for b, g in zip(state["buf"], grads, strict=True)]
            return [p - lr * b for p, b in zip(params, state["buf"], strict=True)], state
        beta1, beta2 = ADAM_BETAS
        state["m"] = [beta1 * m + (1 - beta1) * g for m, g in zip(state["m"], grads, strict=True)]
        state["v"] = [beta2 * v + (1 - beta2) * g * g for v, g in zip(state["v"], grads, strict=True)]
        # Bias correction: the moments start at zero, so early averages are scaled back up.
        step_size = lr / (1 - beta1**t)
        root_correction = math.sqrt(1 - beta2**t)
        new = [
            p - step_size * m / (v.sqrt() / root_correction + _ADAM_EPS)
            for p, m, v in zip(params, state["m"], state["v"], strict=True)
        ]
        return new, state


def _name(value: float) -> str:
    """How a learner reads a non-finite number."""
    return "NaN (not a number)" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _frozen(t: torch.Tensor) -> np.ndarray:
    """A read-only numpy copy, so a TrainStep cannot be changed after the fact."""
    a = t.detach().numpy().copy()
    a.setflags(write=False)
    return a


def train_kernel(X: np.ndarray, Y: np.ndarray, config: TrainConfig) -> Iterator[TrainStep]:
    """Yield one TrainStep per epoch for config.epochs epochs; X (H, W), Y (H', W').

    Raises:
        ValueError: at the call (not at the first step) for the inputs KernelTrainer refuses.
        TrainingDiverged: while iterating, when the learning rate is too large.
    """
    trainer = KernelTrainer(X, Y, config)
    return (trainer.step() for _ in range(config.epochs))


def make_target(
    X: np.ndarray, K: np.ndarray, *, bias: float = 0.0, noise: float = 0.0, seed: int = 0
) -> np.ndarray:
    """(H, W), (h, w) -> (H-h+1, W-w+1) float64: corr2d(X, K) + bias + N(0, noise^2) noise, seeded.

    Raises:
        ValueError: X or K not a finite 2-D grid, K larger than X, or a bad bias, noise or seed.
    """
    Xn, Kn = _copy(X, "the input"), _copy(K, "the kernel")
    if not _is_real(bias) or not math.isfinite(bias):
        raise ValueError(f"the bias must be a finite number, got {describe(bias)}")
    if not _is_real(noise) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"the noise must be a finite number, 0 or more, got {describe(noise)}")
    if not _is_whole(seed) or seed < 0:
        raise ValueError(f"the seed must be a whole number, 0 or more, got {describe(seed)}")
    with np.errstate(over="ignore", invalid="ignore"):
        Y = corr2d(Xn, Kn) + float(bias)
        if noise > 0:
            Y = Y + float(noise) * np.random.default_rng(seed).standard_normal(Y.shape)
    if not np.isfinite(Y).all():
        raise ValueError(
            f"the target's numbers overflow: they are {_OVERFLOW}; use a smaller input, kernel, bias or noise"
        )
    return Y


def _patches(X: np.ndarray, kernel_shape: tuple[int, int]) -> np.ndarray:
    """(H, W) -> (H'*W', h*w): row k holds the window output cell k reads, so P @ K.ravel() = corr2d."""
    windows = np.lib.stride_tricks.sliding_window_view(X, kernel_shape)
    return windows.reshape(-1, kernel_shape[0] * kernel_shape[1])


def least_squares_kernel(X: np.ndarray, Y: np.ndarray, kernel_shape: tuple[int, int]) -> np.ndarray:
    """(H, W), (H', W') -> (h, w) float64: the kernel with the smallest summed squared error, no bias.

    When several kernels are equally good (e.g. a constant input), the smallest one is returned.

    Raises:
        ValueError: X or Y not a finite 2-D grid, a bad kernel shape, or Y of the wrong shape.
    """
    shape = TrainConfig(kernel_shape=tuple(kernel_shape)).kernel_shape
    Xn, Yn = _copy(X, "the input"), _copy(Y, "the target")
    _check_target(Xn, Yn, shape)
    K, *_ = np.linalg.lstsq(_patches(Xn, shape), Yn.ravel(), rcond=None)
    return K.reshape(shape)


@dataclass(frozen=True, eq=False)  # arrays have no single truth value
class Landscape:
    """The loss over a grid of two-weight kernels: w1 (n,), w2 (m,), loss (m, n) with loss[i, j] at
    (w1[j], w2[i]); `kernel_shape` (1, 2) or (2, 1) says which cells w1 and w2 are."""

    w1: np.ndarray
    w2: np.ndarray
    loss: np.ndarray
    kernel_shape: tuple[int, int] = (1, 2)


def _two_weight_shape(X: np.ndarray, Y: np.ndarray) -> tuple[int, int]:
    """The kernel shape (H-H'+1, W-W'+1) that maps X to Y's shape, if it has exactly two cells."""
    shape = (X.shape[0] - Y.shape[0] + 1, X.shape[1] - Y.shape[1] + 1)
    if shape not in ((1, 2), (2, 1)):
        raise ValueError(
            f"the loss landscape needs a kernel with exactly two weights (1x2 or 2x1), but a "
            f"{_fmt(X.shape)} input and a {_fmt(Y.shape)} target mean a {_fmt(shape)} kernel"
        )
    return shape


def loss_landscape(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    loss: str = "sum",
    center: tuple[float, float] = (0.0, 0.0),
    span: float | None = None,
    n: int = 81,
) -> Landscape:
    """(H, W), (H', W') -> Landscape of the loss of every kernel (w1, w2) in center ± span, n x n.

    The loss is quadratic in the kernel: with P the (N, 2) patch matrix, A = PᵀP and w* the
    least-squares kernel, ||P w - y||² = (w - w*)ᵀ A (w - w*) + ||P w* - y||² exactly, evaluated for
    the whole grid at once. The default span is 1.5x the distance (largest coordinate) from the
    center to the farther of the optimum w* and the origin, to two significant figures, and at
    least 1 so that the uniform initialisation range ±1/√2 is on the map.

    Raises:
        ValueError: X or Y not a finite 2-D grid, shapes that do not mean a two-weight kernel, an
            unknown loss, or a bad center, span or n.
    """
    _choice(loss, LOSSES, "loss")
    Xn, Yn = _copy(X, "the input"), _copy(Y, "the target")
    shape = _two_weight_shape(Xn, Yn)
    if len(center) != 2 or not all(_is_real(c) and math.isfinite(c) for c in center):
        raise ValueError(f"center must be two finite numbers (w1, w2), got {describe(center)}")
    if not _is_whole(n) or not 2 <= n <= 1001:
        raise ValueError(f"n must be a whole number from 2 to 1001, got {describe(n)}")
    c = np.asarray(center, dtype=np.float64)
    P, y = _patches(Xn, shape), Yn.ravel()
    w_star, *_ = np.linalg.lstsq(P, y, rcond=None)
    if span is None:
        # Two significant figures keep the axis ticks round; the 50% margin absorbs the rounding.
        span = float(f"{max(1.5 * max(np.abs(w_star - c).max(), np.abs(c).max()), 1.0):.2g}")
    elif not _is_real(span) or not math.isfinite(span) or span <= 0:
        raise ValueError(f"span must be a positive number, got {describe(span)}")
    with np.errstate(over="ignore", invalid="ignore"):
        A = P.T @ P
        residual = float(((P @ w_star - y) ** 2).sum())
        w1 = np.linspace(c[0] - span, c[0] + span, n)
        w2 = np.linspace(c[1] - span, c[1] + span, n)
        d1, d2 = w1[None, :] - w_star[0], w2[:, None] - w_star[1]  # (1, n), (n, 1) broadcast to (n, n)
        # A is positive semi-definite, so the form is >= 0; clip the rounding below zero.
        quad = np.maximum(A[0, 0] * d1**2 + 2 * A[0, 1] * d1 * d2 + A[1, 1] * d2**2, 0.0)
        total = quad + residual
    if not (np.isfinite(w1).all() and np.isfinite(w2).all() and np.isfinite(total).all()):
        raise ValueError(
            f"the landscape's numbers overflow: its weights or losses are {_OVERFLOW}; "
            "use a smaller span, center, input or target"
        )
    return Landscape(w1=w1, w2=w2, loss=total / y.size if loss == "mean" else total, kernel_shape=shape)
