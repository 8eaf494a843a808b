"""Two stacked layers, as the course's next sections build them: X → K1 → (ReLU) → (2x2 pooling) → K2.

`run_stack` computes every map and the `Layer`s of the stack, so a page can draw the maps and light up
one output cell's receptive field in each of them (`convlab.receptive`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from convlab.ops import corr2d
from convlab.pooling import pool2d
from convlab.receptive import Layer

__all__ = ["Stack", "run_stack"]

POOL = 2  # the pooling window and its stride


@dataclass(frozen=True)
class Stack:
    """Every map of the stack: H1 (after the optional ReLU), P (after pooling; H1 without), Y."""

    H1: np.ndarray
    P: np.ndarray
    Y: np.ndarray
    layers: tuple[Layer, ...]  # conv1, [pool], conv2: what the receptive field walks back through
    inputs: tuple[str, ...]  # the name of each layer's input map: ("X", "H1", "P") or ("X", "H1")


def run_stack(
    X: np.ndarray,
    K1: np.ndarray,
    K2: np.ndarray,
    *,
    relu: bool = True,
    pool: Literal["max", "avg"] | None = None,
    padding1: int = 0,
    padding2: int = 0,
) -> Stack:
    """(H, W), (h1, w1), (h2, w2) -> every map of conv K1 → [ReLU] → [2x2 pool, stride 2] → conv K2.

    Raises:
        ValueError: anything corr2d or pool2d refuses, naming the layer (e.g. a map too small for K2).
    """
    try:
        H1 = corr2d(X, K1, padding=padding1)
    except ValueError as exc:
        raise ValueError(f"layer 1: {exc}") from None
    if relu:
        H1 = np.maximum(H1, 0.0)
    layers = [Layer(np.shape(K1), padding=(padding1, padding1), name="conv 1")]
    P = H1
    if pool is not None:
        try:
            P = pool2d(H1, POOL, mode=pool)
        except ValueError as exc:
            raise ValueError(f"pooling: {exc}") from None
        layers.append(Layer((POOL, POOL), stride=(POOL, POOL), name=f"{pool} pool"))
    try:
        Y = corr2d(P, K2, padding=padding2)
    except ValueError as exc:
        raise ValueError(f"layer 2: {exc}") from None
    layers.append(Layer(np.shape(K2), padding=(padding2, padding2), name="conv 2"))
    inputs = ("X", "H1", "P") if pool is not None else ("X", "H1")
    return Stack(H1, P, Y, tuple(layers), inputs)
