"""The receptive field of an output cell through stacked layers: which input cells it can depend on.

Every layer (a convolution or a pooling window) maps an output index range back to an input range
per axis: output cells lo..hi read input cells lo·s − p .. hi·s − p + d·(k − 1). Applied from the last
layer to the first, one cell of the last output becomes a rectangle of the input, which can be larger
than every kernel of the stack (two 3x3 layers see 5x5) and can reach into the padding (indices
below 0 or past the edge, where the layers read zeros). ReLU works cell by cell: it changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convlab.ops import _pair, _settings

__all__ = ["Layer", "Span", "receptive_field", "receptive_field_size"]


@dataclass(frozen=True)
class Layer:
    """One sliding-window layer: a kernel or pooling window `size` (h, w) with its settings."""

    size: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    name: str = "conv"

    def __post_init__(self) -> None:
        size = _pair(self.size, "a layer's window")
        if min(size) < 1:
            raise ValueError(f"a layer's window must be at least 1x1, got {self.size}")
        p, s, d = _settings(self.padding, self.stride, self.dilation)
        for field, value in (("size", size), ("padding", p), ("stride", s), ("dilation", d)):
            object.__setattr__(self, field, value)


@dataclass(frozen=True)
class Span:
    """Input rows r0..r1 and columns c0..c1 (inclusive; may lie outside the input: padding)."""

    r0: int
    r1: int
    c0: int
    c1: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the field."""
        return self.r1 - self.r0 + 1, self.c1 - self.c0 + 1


def receptive_field(layers: Sequence[Layer], cell: tuple[int, int]) -> list[Span]:
    """The field of output cell (i, j) of the last layer in the input of every layer, first layer first.

    fields[0] is the rectangle of the network's input; fields[k] is the rectangle of layer k's input
    (the output of layer k − 1), so a page can light up every intermediate map.

    Raises:
        ValueError: no layers, or a negative cell.
    """
    if not layers:
        raise ValueError("a receptive field needs at least one layer")
    i, j = (int(v) for v in cell)
    if i < 0 or j < 0:
        raise ValueError(f"cell ({i}, {j}) is not an output cell")
    span = Span(i, i, j, j)
    fields: list[Span] = []
    for layer in reversed(layers):
        (h, w), (sh, sw), (ph, pw), (dh, dw) = layer.size, layer.stride, layer.padding, layer.dilation
        span = Span(
            span.r0 * sh - ph,
            span.r1 * sh - ph + dh * (h - 1),
            span.c0 * sw - pw,
            span.c1 * sw - pw + dw * (w - 1),
        )
        fields.append(span)
    return fields[::-1]


def receptive_field_size(layers: Sequence[Layer]) -> tuple[int, int]:
    """(rows, columns) of one output cell's field in the network's input: the same for every cell."""
    return receptive_field(layers, (0, 0))[0].shape
