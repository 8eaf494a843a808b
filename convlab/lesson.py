"""The lesson "Convolutions for images": its data, its printouts verbatim, and the facts the Lesson page
explains (output sizes, the loss's curvature), all computed here so the page only lays them out.

`NOTEBOOK` holds every output the lesson's notebook printed, character for character. `replay_notebook`
recovers the notebook's two random draws from those printouts (`convlab.recovery`) and reruns every cell
from them, so each printout can be shown beside its replay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from convlab.grids import as_grid
from convlab.ops import corr2d, corr2d_loop
from convlab.recovery import (
    KernelFamily,
    RecoveredStart,
    recover_kernel,
    recover_start,
    replay_learning,
    replay_module,
)

__all__ = [
    "D2L_K",
    "EDGE_K",
    "EPOCHS",
    "FIRST_X",
    "KERNEL_SHAPE",
    "LR",
    "NOTEBOOK",
    "Curvature",
    "NotebookReplay",
    "curvature",
    "descent_limit",
    "first_kernel",
    "learning_path",
    "learning_start",
    "printed_numbers",
    "replay_notebook",
    "stripes",
]

# The first example's input, X = [[0, 1, 2], [3, 4, 5], [6, 7, 8]].
FIRST_X = np.arange(9.0).reshape(3, 3)
# The d2l book's kernel for that input (the notebook's kernel is random): it gives [[19, 25], [37, 43]].
D2L_K = np.array([[0.0, 1.0], [2.0, 3.0]])
# The edge detector [1, -1].
EDGE_K = np.array([[1.0, -1.0]])
# The learning run: a 1x2 kernel, plain SGD with lr 3e-2 on the summed squared error, 10 epochs.
KERNEL_SHAPE = (1, 2)
LR = 3e-2
EPOCHS = 10

# Every output the notebook printed, verbatim, in the order of its cells.
NOTEBOOK = {
    "first example": "tensor([[3.6293, 5.1562],\n        [8.2101, 9.7370]], grad_fn=<AddBackward0>)",
    "X": "tensor([[1., 1., 0., 0., 0., 0., 1., 1.],\n"
         "        [1., 1., 0., 0., 0., 0., 1., 1.],\n"
         "        [1., 1., 0., 0., 0., 0., 1., 1.],\n"
         "        [1., 1., 0., 0., 0., 0., 1., 1.],\n"
         "        [1., 1., 0., 0., 0., 0., 1., 1.],\n"
         "        [1., 1., 0., 0., 0., 0., 1., 1.]])",
    "K": "tensor([[ 1., -1.]])",
    "Y": "tensor([[ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
         "        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
         "        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
         "        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
         "        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
         "        [ 0.,  1.,  0.,  0.,  0., -1.,  0.]])",
    "X.T": "tensor([[0., 0., 0., 0., 0.],\n"
           "        [0., 0., 0., 0., 0.],\n"
           "        [0., 0., 0., 0., 0.],\n"
           "        [0., 0., 0., 0., 0.],\n"
           "        [0., 0., 0., 0., 0.],\n"
           "        [0., 0., 0., 0., 0.],\n"
           "        [0., 0., 0., 0., 0.],\n"
           "        [0., 0., 0., 0., 0.]])",
    "shapes": "(torch.Size([6, 8]), torch.Size([6, 7]))",
    "X, Y": "(tensor([[[[1., 1., 0., 0., 0., 0., 1., 1.],\n"
            "           [1., 1., 0., 0., 0., 0., 1., 1.],\n"
            "           [1., 1., 0., 0., 0., 0., 1., 1.],\n"
            "           [1., 1., 0., 0., 0., 0., 1., 1.],\n"
            "           [1., 1., 0., 0., 0., 0., 1., 1.],\n"
            "           [1., 1., 0., 0., 0., 0., 1., 1.]]]]),\n"
            " tensor([[[[ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
            "           [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
            "           [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
            "           [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
            "           [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
            "           [ 0.,  1.,  0.,  0.,  0., -1.,  0.]]]]))",
    "training": "epoch 1, loss 14.700\nepoch 2, loss 7.834\nepoch 3, loss 4.369\nepoch 4, loss 2.532\n"
                "epoch 5, loss 1.513\nepoch 6, loss 0.924\nepoch 7, loss 0.573\nepoch 8, loss 0.359\n"
                "epoch 9, loss 0.227\nepoch 10, loss 0.144",
    "weight": "tensor([[ 0.9524, -1.0302]])",
}

_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d*")


def printed_numbers(text: str) -> list[str]:
    """The decimal numbers a printout holds, in order ("loss 14.700" -> ["14.700"]; "epoch 1," is skipped)."""
    return _NUMBER.findall(text)


def stripes() -> np.ndarray:
    """(6, 8) float64: the lesson's image, built as the lesson builds it (ones, columns 2..5 black)."""
    X = np.ones((6, 8))
    X[:, 2:6] = 0.0
    return X


def first_kernel() -> KernelFamily:
    """The family of 2x2 kernels the first example's module (zero bias) turns into its printout on FIRST_X."""
    numbers = printed_numbers(NOTEBOOK["first example"])
    return recover_kernel(FIRST_X, [numbers[:2], numbers[2:]])


def learning_start() -> RecoveredStart:
    """The 1x2 initial weights from which the lesson's training prints its ten losses and final weights."""
    X = stripes()
    return recover_start(X, corr2d(X, EDGE_K), KERNEL_SHAPE, lr=LR,
                         losses=printed_numbers(NOTEBOOK["training"]),
                         weight=printed_numbers(NOTEBOOK["weight"]))


def learning_path(X: np.ndarray, Y: np.ndarray, start: np.ndarray, *, lr: float = LR,
                  epochs: int = EPOCHS) -> np.ndarray:
    """(epochs + 1, h*w) float32: the weights before the first update and after each, in the lesson's loop.

    Each epoch depends only on the weights it starts from, so replaying one epoch at a time is the same run.
    """
    path = [np.asarray(start, dtype=np.float32)]
    for _ in range(epochs):
        _, weight = replay_learning(X, Y, path[-1], lr=lr, epochs=1)
        path.append(weight)
    return np.array([w.ravel() for w in path])


@dataclass(frozen=True)
class NotebookReplay:
    """The notebook rerun from the recovered draws: `printouts` (same keys as NOTEBOOK, text as PyTorch
    prints it), the recovered `kernel` family and learning `start`."""

    printouts: dict[str, str]
    kernel: KernelFamily
    start: RecoveredStart


def _displayed(values: tuple) -> str:
    """A tuple as Jupyter displays a cell's last value (IPython's pretty printer, 79 columns): on one line
    when it fits, else one element a line, each continuation line indented under the opening parenthesis."""
    parts = [repr(v) for v in values]
    one_line = "(" + ", ".join(parts) + ")"
    if len(one_line) <= 79 and "\n" not in one_line:
        return one_line
    return "(" + ",\n ".join(part.replace("\n", "\n ") for part in parts) + ")"


def replay_notebook() -> NotebookReplay:
    """Rerun every cell of the notebook, its random draws replaced by the ones recovered from its printouts.

    Each printout is made by PyTorch itself (repr of the very tensor the cell computes), so it can be
    compared with NOTEBOOK character for character.
    """
    family, start = first_kernel(), learning_start()
    X = torch.ones((6, 8))  # the notebook's cells, in its own words
    X[:, 2:6] = 0
    K = torch.tensor([[1.0, -1.0]])
    Y = corr2d_loop(X, K)
    Y_t = corr2d_loop(X.T, K)
    losses, weight = replay_learning(X.numpy(), Y.numpy(), start.start, lr=LR, epochs=EPOCHS)
    printouts = {
        "first example": repr(replay_module(FIRST_X, family.base)),
        "X": repr(X),
        "K": repr(K),
        "Y": repr(Y),
        "X.T": repr(Y_t),
        "shapes": _displayed((X.shape, Y.shape)),
        "X, Y": _displayed((X.reshape((1, 1, 6, 8)), Y.reshape((1, 1, 6, 7)))),
        "training": "\n".join(f"epoch {i + 1}, loss {loss:.3f}" for i, loss in enumerate(losses)),
        "weight": repr(torch.tensor(weight).reshape((1, 2))),
    }
    return NotebookReplay(printouts=printouts, kernel=family, start=start)


@dataclass(frozen=True, eq=False)  # arrays have no single truth value
class Curvature:
    """The Hessian of the summed squared loss over the kernel's weights: `eigenvalues` (n,) ascending and
    their unit `directions` (n, n) as columns. It does not depend on the target or the weights."""

    eigenvalues: np.ndarray
    directions: np.ndarray

    def factor(self, lr: float) -> np.ndarray:
        """(n,): what one plain-SGD step multiplies the error along each direction by, 1 - lr·λ."""
        return 1.0 - lr * self.eigenvalues

    def stable_below(self) -> float:
        """The largest stable learning rate for plain SGD, 2 / λmax (|1 - lr·λ| < 1 for every λ)."""
        return 2.0 / float(self.eigenvalues[-1])


def curvature(X: np.ndarray, kernel_shape: tuple[int, int]) -> Curvature:
    """(H, W), (h, w) -> the curvature of loss(w) = ||corr2d(X, w) - Y||²: Hessian 2 PᵀP, P the windows."""
    Xn = as_grid(X, "the input")
    P = np.lib.stride_tricks.sliding_window_view(Xn, kernel_shape)
    P = P.reshape(-1, kernel_shape[0] * kernel_shape[1])
    eigenvalues, directions = np.linalg.eigh(2.0 * P.T @ P)
    # Sign each direction so its largest entry is positive: (1, 1) and (1, -1), never (-1, -1).
    signs = np.sign(directions[np.abs(directions).argmax(axis=0), np.arange(directions.shape[1])])
    return Curvature(eigenvalues=np.where(np.abs(eigenvalues) < 1e-9, 0.0, eigenvalues),
                     directions=directions * signs)


def descent_limit(X: np.ndarray, Y: np.ndarray, start: np.ndarray) -> np.ndarray:
    """(H, W), (H', W'), (h, w) -> (h, w): where stable gradient descent from `start` ends on this loss.

    Steps move the weights only along directions of positive curvature, so the part of the start along
    the flat directions (a valley of equally good kernels) is kept: the end is the least-squares kernel
    nearest the start.
    """
    Xn, Yn, K0 = as_grid(X, "the input"), as_grid(Y, "the target"), as_grid(start, "the start")
    P = np.lib.stride_tricks.sliding_window_view(Xn, K0.shape).reshape(-1, K0.size)
    w_min, *_ = np.linalg.lstsq(P, Yn.ravel(), rcond=None)
    _, s, Vt = np.linalg.svd(P)
    rank = int((s > s.max() * 1e-12).sum())
    Q = Vt[rank:].T
    return (w_min + Q @ (Q.T @ (K0.ravel() - w_min))).reshape(K0.shape)
