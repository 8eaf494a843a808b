"""Kernel presets: the lesson's edge detector and the classic 3x3 image-processing kernels.

All values are written for cross-correlation (what `corr2d` and `F.conv2d` compute), so the
descriptions say what each kernel does when slid over an image without flipping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convlab.grids import describe

__all__ = ["KERNELS", "MAX_KERNEL_SIDE", "KernelPreset", "kernel_preset"]

MAX_KERNEL_SIDE = 7  # kernels are edited as numbers in a grid: 1x1 up to 7x7


@dataclass(frozen=True)
class KernelPreset:
    """A named kernel: `values` is a read-only float64 (h, w) grid."""

    key: str
    label: str
    description: str
    # Arrays have no single truth value, so comparing or hashing presets goes by their names.
    values: np.ndarray = field(compare=False)

    def __post_init__(self) -> None:
        values = np.array(self.values, dtype=np.float64)  # a private copy nobody else can write to
        if values.ndim != 2 or values.size == 0:
            raise ValueError(f"kernel {self.key!r} must be a non-empty 2-D grid, got shape {values.shape}")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)


_SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
_PREWITT_X = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]

_PRESETS = (
    KernelPreset(
        "identity", "Identity",
        "Copies the centre pixel, so with padding 1 the output equals the input",
        [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    ),
    KernelPreset(
        "edge", "Lesson edge [1, −1]",
        "Responds +1 where brightness drops from left to right: the lesson's edge detector",
        [[1, -1]],
    ),
    KernelPreset(
        "edge_t", "Lesson edge transposed [1; −1]",
        "Responds +1 where brightness drops from top to bottom: the lesson's detector turned on its side",
        [[1], [-1]],
    ),
    KernelPreset(
        "sobel_x", "Sobel x",
        "Responds where brightness rises from left to right (vertical edges), averaging over 3 rows",
        _SOBEL_X,
    ),
    KernelPreset(
        "sobel_y", "Sobel y",
        "Responds where brightness rises from top to bottom (horizontal edges), averaging over 3 columns",
        np.transpose(_SOBEL_X),
    ),
    KernelPreset(
        "prewitt_x", "Prewitt x",
        "Like Sobel x but weighs the 3 rows equally: right column minus left column",
        _PREWITT_X,
    ),
    KernelPreset(
        "prewitt_y", "Prewitt y",
        "Like Sobel y but weighs the 3 columns equally: bottom row minus top row",
        np.transpose(_PREWITT_X),
    ),
    KernelPreset(
        "laplacian", "Laplacian",
        "Zero on flat areas and smooth ramps, strong on both sides of an edge or on a lone dot",
        [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    ),
    KernelPreset(
        "box_blur", "Box blur",
        "Replaces each pixel by the plain average of its 3x3 neighbourhood",
        np.full((3, 3), 1 / 9),
    ),
    KernelPreset(
        "gaussian", "Gaussian blur",
        "A gentler blur: a weighted average that counts the centre most and the corners least",
        np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    ),
    KernelPreset(
        "sharpen", "Sharpen",
        "Adds to each pixel how much it differs from its 4 neighbours, so edges stand out more",
        [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    ),
    KernelPreset(
        "emboss", "Emboss",
        "Compares the bottom-right neighbours with the top-left ones, like light falling on a relief",
        [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    ),
    KernelPreset(
        "outline", "Outline",
        "Centre minus all 8 neighbours: zero on flat areas, bright where anything changes",
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    ),
)

KERNELS: dict[str, KernelPreset] = {preset.key: preset for preset in _PRESETS}


def kernel_preset(key: str) -> np.ndarray:
    """The preset kernel `key` as a fresh writable float64 (h, w) array."""
    if key not in KERNELS:
        raise ValueError(f"unknown kernel preset {describe(key)}: choose one of {', '.join(KERNELS)}")
    return KERNELS[key].values.copy()
