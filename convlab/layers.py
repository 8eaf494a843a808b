"""The lesson's convolutional layer: a learnable kernel and bias around `corr2d`."""

from __future__ import annotations

from numbers import Integral

import torch
from torch import nn

from convlab.grids import describe, number_text
from convlab.ops import MAX_KERNEL_CELLS, corr2d

__all__ = ["Conv2D"]


def _kernel_size(kernel_size: tuple[int, int] | int) -> tuple[int, int]:
    """An int k -> (k, k); a pair (h, w) -> (h, w); both sides whole numbers, 1 or more."""
    pair = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    if len(pair) != 2 or not all(isinstance(side, Integral) and not isinstance(side, bool) for side in pair):
        raise ValueError(
            f"kernel_size must be a whole number or a pair (rows, columns), got {describe(kernel_size)}"
        )
    h, w = int(pair[0]), int(pair[1])
    if h < 1 or w < 1:
        raise ValueError(f"kernel_size must be at least 1x1, got {number_text(h)}x{number_text(w)}")
    if h * w > MAX_KERNEL_CELLS:
        raise ValueError(
            f"kernel_size {number_text(h)}x{number_text(w)} is too large: a kernel holds at most "
            f"{MAX_KERNEL_CELLS:,} weights here (e.g. 1024x1024)"
        )
    return h, w


class Conv2D(nn.Module):
    """One-channel 2D convolutional layer: (H, W) -> (H-h+1, W-w+1), the lesson's `conv2d` class.

    Its weight starts uniform in [0, 1) as in the lesson; pass a seeded `generator` to get the same
    starting kernel every time. Like every deep-learning "convolution" layer it computes
    cross-correlation: a learned kernel comes out already flipped, so nobody notices.
    """

    def __init__(
        self,
        kernel_size: tuple[int, int] | int = (3, 3),
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        h, w = _kernel_size(kernel_size)
        self.weight = nn.Parameter(torch.rand((h, w), generator=generator))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """(H, W) -> (H-h+1, W-w+1): cross-correlation with the weight, plus the bias."""
        return corr2d(X, self.weight) + self.bias

    def extra_repr(self) -> str:
        return f"kernel_size={tuple(self.weight.shape)}"
