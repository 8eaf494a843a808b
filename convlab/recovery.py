"""Recovering a lesson's random starts from its printouts, and replaying them digit for digit.

The lesson drew two things at random and printed only their consequences: the first example's 2x2
kernel (`torch.rand`, zero bias) and the initial 1x2 weights of the learning run (`nn.LazyConv2d`'s
default initialisation). Both printouts are smooth functions of the unknowns, so they can be solved
for:

- **the learning run**: the summed squared loss is quadratic in the weights and each plain-SGD step is
  affine, so every printed loss and the printed final weights are smooth functions of the start. Ten
  losses and two weights are twelve equations for two unknowns: a Levenberg–Marquardt fit finds the
  start, and Lawson's reweighting then moves it to where the worst printed digit has the most room
  (a plain least-squares fit can leave one digit a hair off while a start that replays all exists);
- **the first example**: the output is linear in the kernel, but the 2x2 windows of `arange(9)`
  differ by constants, so the four outputs fix only two combinations of the four weights. Every
  kernel of a two-dimensional family prints the same numbers; `recover_kernel` returns one inside
  `torch.rand`'s range [0, 1) and the directions along which the output stays put.

Each answer is replayed in float32 the way the lesson computed it, and checked digit for digit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
import torch.nn.functional as F

from convlab.grids import as_grid, describe
from convlab.ops import corr2d_loop

__all__ = [
    "KernelFamily",
    "Printed",
    "RecoveredStart",
    "printed",
    "recover_kernel",
    "recover_start",
    "replay_learning",
    "replay_module",
]

_NUMBER = re.compile(r"-?\d+(?:\.(\d+))?")
# torch.rand draws float32 multiples of 2^-24 in [0, 1): the recovered kernel is one of them.
_RAND_STEP = 2.0**-24
_FIT_ITERATIONS = 400
_BOX_ITERATIONS = 2000


@dataclass(frozen=True)
class Printed:
    """A printed number: its `text`, its `value`, its `decimals`, and `half_unit`, half a unit of its
    last digit (the true value lies within it, as the number was rounded to print)."""

    text: str
    value: float
    decimals: int
    half_unit: float

    def format(self, value: float) -> str:
        """`value` printed with this number's decimals, as Python's f"{value:.{decimals}f}" does."""
        return f"{value:.{self.decimals}f}"


def printed(text: str) -> Printed:
    """Parse a printed number such as "14.700", "-1.0302" or "−1.0302" (a typographic minus)."""
    if not isinstance(text, str) or not _NUMBER.fullmatch(text.strip().replace("−", "-")):
        raise ValueError(f"{describe(text)} is not a printed number like 14.700 or -1.0302")
    clean = text.strip().replace("−", "-")
    decimals = len(_NUMBER.fullmatch(clean).group(1) or "")
    return Printed(text=clean, value=float(clean), decimals=decimals, half_unit=0.5 * 10.0**-decimals)


def _printed_all(texts: Sequence[str], what: str) -> list[Printed]:
    if isinstance(texts, str) or not isinstance(texts, Sequence) or len(texts) == 0:
        raise ValueError(f"{what} must be a list of printed numbers, got {describe(texts)}")
    return [printed(t) for t in texts]


def _patches(X: np.ndarray, kernel_shape: tuple[int, int]) -> np.ndarray:
    """(H, W) -> (H'*W', h*w): row k is the window output cell k reads, so P @ K.ravel() = corr2d."""
    windows = np.lib.stride_tricks.sliding_window_view(X, kernel_shape)
    return windows.reshape(-1, kernel_shape[0] * kernel_shape[1])


def _minimax_fit(
    fun: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], x0: np.ndarray
) -> tuple[np.ndarray, float]:
    """The x with the smallest worst |residual| found from x0, and that worst residual.

    `fun(x)` -> (residuals (m,), Jacobian (m, n)). Levenberg–Marquardt steps on a weighted sum of
    squares: first with equal weights (least squares), then with Lawson's weights, which grow on the
    residuals that stay large and so drive the fit toward the smallest largest residual.
    """
    x = np.asarray(x0, dtype=np.float64)
    r, J = fun(x)
    best_x, best = x, float(np.abs(r).max())
    u = np.full(r.size, 1.0 / r.size)
    damping = 1e-3
    for iteration in range(_FIT_ITERATIONS):
        s = np.sqrt(u)
        A, b = J * s[:, None], r * s
        H, g, cost = A.T @ A, A.T @ b, float(b @ b)
        scale = np.diag(np.diag(H)) + 1e-12 * np.eye(x.size)
        while True:
            dx = np.linalg.solve(H + damping * scale, -g)
            r_new, J_new = fun(x + dx)
            if float(((r_new * s) ** 2).sum()) <= cost or damping > 1e12:
                break
            damping *= 10.0
        damping = max(damping / 10.0, 1e-12)
        x, r, J = x + dx, r_new, J_new
        worst = float(np.abs(r).max())
        if worst < best:
            best_x, best = x, worst
        if iteration >= _FIT_ITERATIONS // 8:  # least squares has settled: reweight toward the worst
            u = u * np.abs(r)
            total = u.sum()
            if not np.isfinite(total) or total == 0.0:
                break
            u = u / total
    return best_x, best


# ----------------------------------------------------------------------------------------- learning


def replay_learning(
    X: np.ndarray, Y: np.ndarray, start: np.ndarray, *, lr: float, epochs: int
) -> tuple[list[float], np.ndarray]:
    """The lesson's training loop in float32 from the kernel `start` (h, w): losses and final weight.

    X (H, W), Y (H-h+1, W-w+1). Each epoch, as the lesson: Y_hat = conv(X) (PyTorch's conv2d, as
    nn.LazyConv2d), loss = ((Y - Y_hat)**2).sum(), backward, weight -= lr * grad. Returns the `epochs`
    losses, each computed *before* its epoch's update (what the lesson prints), and the (h, w) float32
    weight after the last update.
    """
    Xn, Yn = as_grid(X, "the input"), as_grid(Y, "the target")
    K = np.asarray(start, dtype=np.float32)
    X4 = torch.tensor(Xn, dtype=torch.float32).reshape(1, 1, *Xn.shape)
    Y4 = torch.tensor(Yn, dtype=torch.float32).reshape(1, 1, *Yn.shape)
    weight = torch.tensor(K).reshape(1, 1, *K.shape).requires_grad_(True)
    losses = []
    for _ in range(epochs):
        loss = (Y4 - F.conv2d(X4, weight)) ** 2
        weight.grad = None
        loss.sum().backward()
        weight.data[:] -= lr * weight.grad
        losses.append(loss.sum().item())
    return losses, weight.detach().reshape(K.shape).numpy().copy()


def _learning_model(
    P: np.ndarray, y: np.ndarray, lr: float, epochs: int
) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """start (n,) -> losses (E,), their Jacobian (E, n), final weight (n,), its Jacobian (n, n), in float64.

    Each step is affine: w <- w - lr * 2 Pᵀ(P w - y), so dw_k/dw_0 = Mᵏ with M = I - 2 lr PᵀP.
    """
    M = np.eye(P.shape[1]) - 2.0 * lr * (P.T @ P)

    def model(start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        w, dw = np.array(start, dtype=np.float64), np.eye(P.shape[1])
        losses, dlosses = np.empty(epochs), np.empty((epochs, P.shape[1]))
        for k in range(epochs):
            error = P @ w - y
            losses[k], dlosses[k] = error @ error, 2.0 * (error @ P) @ dw
            w, dw = w - 2.0 * lr * (P.T @ error), M @ dw
        return losses, dlosses, w, dw

    return model


@dataclass(frozen=True, eq=False)  # arrays have no single truth value
class RecoveredStart:
    """Initial weights that replay a learning printout: `start` (h, w) float32; `losses` and `weight`, the
    replayed printout formatted as printed; `worst`, the largest distance between the exact (float64)
    replay and a printed number, in half units of its last digit (under 1: every digit replays)."""

    start: np.ndarray
    losses: tuple[str, ...]
    weight: tuple[str, ...]
    worst: float


def recover_start(
    X: np.ndarray,
    Y: np.ndarray,
    kernel_shape: tuple[int, int],
    *,
    lr: float,
    losses: Sequence[str],
    weight: Sequence[str],
) -> RecoveredStart:
    """The initial (h, w) weights from which the lesson's loop (see `replay_learning`) prints `losses`
    (one per epoch) and ends at `weight` (h*w printed numbers, row by row).

    Raises:
        ValueError: bad inputs, or printouts that no start can produce, naming the closest start and
            the printed number it misses.
    """
    Xn, Yn = as_grid(X, "the input"), as_grid(Y, "the target")
    fits = isinstance(kernel_shape, (tuple, list)) and len(kernel_shape) == 2 and all(
        isinstance(n, int) and 1 <= n <= side for n, side in zip(kernel_shape, Xn.shape, strict=True))
    if not fits:
        raise ValueError(f"the kernel shape must be two whole numbers (rows, columns) that fit in the "
                         f"{Xn.shape[0]}x{Xn.shape[1]} input, got {describe(kernel_shape)}")
    h, w = kernel_shape
    if Yn.shape != (Xn.shape[0] - h + 1, Xn.shape[1] - w + 1):
        raise ValueError(f"a {h}x{w} kernel on a {Xn.shape[0]}x{Xn.shape[1]} input cannot give a "
                         f"{Yn.shape[0]}x{Yn.shape[1]} target")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive number, got {describe(lr)}")
    printed_losses = _printed_all(losses, "the printed losses")
    printed_weight = _printed_all(weight, "the printed weights")
    if len(printed_weight) != h * w:
        raise ValueError(f"a {h}x{w} kernel has {h * w} weights, but {len(printed_weight)} were printed")
    P, y = _patches(Xn, (h, w)), Yn.ravel()
    model = _learning_model(P, y, float(lr), len(printed_losses))
    targets = printed_losses + printed_weight
    value = np.array([p.value for p in targets])
    half = np.array([p.half_unit for p in targets])

    def residuals(start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ls, dls, wf, dwf = model(start)
        return (np.concatenate([ls, wf]) - value) / half, np.vstack([dls, dwf]) / half[:, None]

    # The final weight is affine in the start (w_E = Mᴱ w_0 + c): solving that alone is a close first guess.
    _, _, c, ME = model(np.zeros(h * w))
    guess, *_ = np.linalg.lstsq(ME, value[-h * w:] - c, rcond=None)
    best, worst = _minimax_fit(residuals, guess)
    start = best.astype(np.float32).reshape(h, w)
    replayed_losses, final = replay_learning(Xn, Yn, start, lr=float(lr), epochs=len(printed_losses))
    texts = [p.format(v) for p, v in zip(targets, [*replayed_losses, *final.ravel()], strict=True)]
    for i, (p, text) in enumerate(zip(targets, texts, strict=True)):
        if text != p.text and not (float(text) == 0.0 == p.value):  # "-0.000" prints "0.000" too
            n = len(printed_losses)
            what = f"epoch {i + 1}'s loss" if i < n else f"weight {i - n + 1}"
            shown = ", ".join(f"{v:.4f}" for v in start.ravel())
            raise ValueError(
                f"No starting weights replay this printout: the closest start, [{shown}], prints {what} as "
                f"{text} instead of {p.text}. The printed numbers do not belong to one run of this loop."
            )
    n = len(printed_losses)
    return RecoveredStart(start=start, losses=tuple(texts[:n]), weight=tuple(texts[n:]), worst=worst)


# ------------------------------------------------------------------------------------- first example


def replay_module(X: np.ndarray, K: np.ndarray, bias: float = 0.0) -> torch.Tensor:
    """The lesson's conv2d module in float32 with weight K (h, w) and `bias`: (H, W) -> (H-h+1, W-w+1).

    Its forward as the lesson wrote it: the double loop of `corr2d_loop`, plus the bias; the weights are
    parameters, so the result prints with grad_fn=<AddBackward0> like the lesson's.
    """
    weight = torch.nn.Parameter(torch.tensor(np.asarray(K, dtype=np.float32)))
    b = torch.nn.Parameter(torch.tensor([float(bias)], dtype=torch.float32))
    return corr2d_loop(torch.tensor(as_grid(X, "the input"), dtype=torch.float32), weight) + b


def _null_space(C: np.ndarray) -> list[np.ndarray]:
    """Integer (or, for non-integer C, exact rational) basis of {k : C k = 0}, from exact elimination.

    Exact arithmetic (floats are rationals) so the directions are the clean integer kernels a learner can
    check by hand, and the rank is never a matter of a tolerance.
    """
    rows = [[Fraction(float(v)) for v in row] for row in C]
    n = C.shape[1]
    pivots: list[int] = []
    r = 0
    for col in range(n):
        pivot = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        rows[r] = [v / rows[r][col] for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(col)
        r += 1
    basis = []
    for free in (c for c in range(n) if c not in pivots):
        vector = [Fraction(0)] * n
        vector[free] = Fraction(1)
        for i, col in enumerate(pivots):
            vector[col] = -rows[i][free]
        scale = math.lcm(*(v.denominator for v in vector))
        whole = [int(v * scale) for v in vector]
        divisor = math.gcd(*whole)
        basis.append(np.array([v / divisor for v in whole], dtype=np.float64))
    return basis


@dataclass(frozen=True, eq=False)  # arrays have no single truth value
class KernelFamily:
    """Every kernel base + Σ tᵢ·directions[i] prints the same output: `base` (h, w) float32, a value
    torch.rand can draw (in [0, 1), a multiple of 2⁻²⁴); `directions`, (h, w) grids d with corr2d(X, d) = 0;
    `printout`, the output the base prints, row by row, formatted as printed; `worst` as RecoveredStart's."""

    base: np.ndarray
    directions: tuple[np.ndarray, ...]
    printout: tuple[tuple[str, ...], ...]
    worst: float

    def kernel(self, *steps: float) -> np.ndarray:
        """(h, w) float64: the base moved `steps[i]` along directions[i] (missing steps are 0)."""
        if len(steps) > len(self.directions):
            raise ValueError(f"the family has {len(self.directions)} directions, got {len(steps)} steps")
        K = self.base.astype(np.float64)
        for t, d in zip(steps, self.directions, strict=False):
            K = K + float(t) * d
        return K


def _in_box(C: np.ndarray, target: np.ndarray, lo: float, hi: float) -> np.ndarray | None:
    """The k in [lo, hi]ⁿ with C k = C target nearest the box's centre, or None when there is none.

    Dykstra's alternating projections between the box and the affine set converge to the projection of
    the starting point onto their intersection (both sets are convex).
    """
    _, s, Vt = np.linalg.svd(C)
    rank = int((s > s.max() * 1e-12).sum()) if s.size else 0
    Q = Vt[rank:].T  # (n, n - rank): orthonormal basis of the null space

    def onto_family(k: np.ndarray) -> np.ndarray:
        return target + Q @ (Q.T @ (k - target))

    x = np.full(C.shape[1], (lo + hi) / 2)
    p = q = np.zeros_like(x)
    for _ in range(_BOX_ITERATIONS):
        y = np.clip(x + p, lo, hi)
        p = x + p - y
        x_new = onto_family(y + q)
        q = y + q - x_new
        if np.abs(x_new - x).max() < 1e-15:
            x = x_new
            break
        x = x_new
    if x.min() < lo - 1e-9 or x.max() > hi + 1e-9:
        return None
    return np.clip(x, lo, hi)


def recover_kernel(X: np.ndarray, printout: Sequence[Sequence[str]], *, bias: float = 0.0) -> KernelFamily:
    """A kernel in [0, 1) that the lesson's module (see `replay_module`, with `bias`) turns into `printout`
    on X (H, W), and the directions along which the output does not change.

    `printout` is the printed output, (H', W') printed numbers; the kernel is (H-H'+1, W-W'+1).

    Raises:
        ValueError: bad inputs, outputs no kernel can produce together, or outputs that need a weight
            outside [0, 1) (where torch.rand draws).
    """
    Xn = as_grid(X, "the input")
    if isinstance(printout, str) or not isinstance(printout, Sequence) or not printout:
        raise ValueError(f"the printout must be rows of printed numbers, got {describe(printout)}")
    rows = [_printed_all(row, "each printed row") for row in printout]
    if len({len(row) for row in rows}) != 1:
        raise ValueError("the printed rows must all have the same number of values")
    out_shape = (len(rows), len(rows[0]))
    shape = (Xn.shape[0] - out_shape[0] + 1, Xn.shape[1] - out_shape[1] + 1)
    if shape[0] < 1 or shape[1] < 1:
        raise ValueError(f"a {out_shape[0]}x{out_shape[1]} output cannot come from a "
                         f"{Xn.shape[0]}x{Xn.shape[1]} input")
    flat = [p for row in rows for p in row]
    value = np.array([p.value for p in flat]) - float(bias)
    half = np.array([p.half_unit for p in flat])
    C = _patches(Xn, shape)
    k, worst = _minimax_fit(lambda k: ((C @ k - value) / half, C / half[:, None]), np.full(C.shape[1], 0.5))
    if worst >= 1.0:
        i = int(np.argmax(np.abs(C @ k - value) / half))
        free = C.shape[1] - len(_null_space(C))
        raise ValueError(
            f"No {shape[0]}x{shape[1]} kernel gives these outputs together: the closest one prints "
            f"row {i // out_shape[1]}, column {i % out_shape[1]} as {flat[i].format(C[i] @ k + bias)} "
            f"instead of {flat[i].text}. (On this input the {len(flat)} outputs are tied to one another: "
            f"only {free} combinations of them are free.)"
        )
    # One of torch.rand's values: a multiple of 2^-24 in [0, 1). Rounding to that grid moves the output by
    # under 1e-6, far inside the printed digits' room, and the replay below checks it.
    base = _in_box(C, k, _RAND_STEP, 1.0 - 2 * _RAND_STEP)
    if base is None:
        raise ValueError(
            f"No {shape[0]}x{shape[1]} kernel with every weight in [0, 1) — where torch.rand draws — gives "
            "these outputs: they need a weight below 0 or of 1 or more."
        )
    base = (np.round(base / _RAND_STEP) * _RAND_STEP).astype(np.float32).reshape(shape)
    replayed = replay_module(Xn, base, bias).detach().numpy()
    texts = [p.format(v) for p, v in zip(flat, replayed.ravel(), strict=True)]
    for i, (p, text) in enumerate(zip(flat, texts, strict=True)):
        if text != p.text and not (float(text) == 0.0 == p.value):
            raise ValueError(
                f"No {shape[0]}x{shape[1]} kernel in [0, 1) replays this printout in float32: the closest "
                f"prints row {i // out_shape[1]}, column {i % out_shape[1]} as {text} instead of {p.text}."
            )
    directions = tuple(d.reshape(shape) for d in _null_space(C))
    printout_texts = tuple(tuple(texts[r * out_shape[1]:(r + 1) * out_shape[1]]) for r in range(out_shape[0]))
    return KernelFamily(base=base, directions=directions, printout=printout_texts, worst=worst)
