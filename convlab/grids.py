"""Checking the grids that enter the core, with one wording of each learner-facing message."""

from __future__ import annotations

import math

import numpy as np
import torch


def as_grid(A: object, name: str, *, finite: bool = True) -> np.ndarray:
    """A non-empty 2-D real array (numpy, nested lists or a tensor) -> float64 (H, W), a view if it can.

    Raises:
        ValueError: not real numbers, not 2-D, empty, or (with `finite`) NaN or infinity in a cell.
    """
    if isinstance(A, torch.Tensor):
        A = A.detach().cpu().numpy()
    a = np.asarray(A)
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D grid, got {a.ndim}-D with shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape[0]}x{a.shape[1]})")
    a = a.astype(np.float64, copy=False)
    if finite and not np.isfinite(a).all():
        i, j = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(
            f"{name} contains NaN or infinity (first at row {i}, column {j}): "
            "every cell needs a finite number"
        )
    return a


def number_text(n: int) -> str:
    """A whole number for a message, even one past Python's int-to-text limit (4300 digits)."""
    if abs(n).bit_length() <= 64:
        return str(n)
    return f"{'-' if n < 0 else ''}about 10^{int(abs(n).bit_length() * math.log10(2))}"


def describe(value: object) -> str:
    """A value a caller passed, for an error message: short, and safe for any size of number."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return repr(bool(value) if value is not None else None)
    if isinstance(value, (int, np.integer)):
        return number_text(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40]) + "..."
    if isinstance(value, (tuple, list)) and len(value) <= 4:
        inner = ", ".join(describe(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    return f"a {type(value).__name__}"
