"""One colour language for every grid ConvLab draws, decided here and passed to the browser as data.

- An image (an input X, a window of it) is grayscale on the fixed range 0..1: 0 black, 1 white,
  whatever else the grid holds, so a picture never changes brightness because one cell changed.
  Values outside 0..1 are drawn at the nearest end and marked by the grid component.
- Every signed quantity (kernel, output, products, gradient, prediction, target) uses one diverging
  scale, symmetric around 0, so 0 is always the neutral near-white in the middle: blue below, red
  above. Grids that are compared side by side share one scale (`signed_scale(A, B)`).

The browser interpolates the same stops the same way (`Scale.to_data`), so a colour in a PNG
export, a photo and a grid on screen mean the same number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["DIVERGING_STOPS", "IMAGE", "NEUTRAL", "Scale", "contrast_ratio", "nice_limit",
           "robust_signed_scale", "signed_scale", "text_colour"]

# ColorBrewer's RdBu, reversed (Plotly's "RdBu_r"): evenly spaced stops from -vmax to +vmax.
DIVERGING_STOPS: tuple[tuple[int, int, int], ...] = (
    (5, 48, 97), (33, 102, 172), (67, 147, 195), (146, 197, 222), (209, 229, 240), (247, 247, 247),
    (253, 219, 199), (244, 165, 130), (214, 96, 77), (178, 24, 43), (103, 0, 31),
)
NEUTRAL = DIVERGING_STOPS[len(DIVERGING_STOPS) // 2]  # the colour of 0 on every signed grid
_GRAY_STOPS = ((0, 0, 0), (255, 255, 255))
# Black, not a softer near-black: on mid-gray only pure black or white reaches WCAG AA (4.5:1).
_DARK_TEXT, _LIGHT_TEXT = (0, 0, 0), (255, 255, 255)


@dataclass(frozen=True)
class Scale:
    """A colour scale: `image` (grayscale, lo=0 black, hi=1 white) or `signed` (diverging, lo=-hi)."""

    kind: Literal["image", "signed"]
    lo: float
    hi: float

    def __post_init__(self) -> None:
        if self.kind not in ("image", "signed"):
            raise ValueError(f"a scale is 'image' or 'signed', got {self.kind!r}")
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
            raise ValueError(f"a scale needs finite lo < hi, got {self.lo!r}..{self.hi!r}")
        if self.kind == "signed" and self.lo != -self.hi:
            raise ValueError("a signed scale is symmetric around 0, so that 0 is always the neutral colour")

    @property
    def stops(self) -> tuple[tuple[int, int, int], ...]:
        """Evenly spaced RGB stops from lo to hi."""
        return _GRAY_STOPS if self.kind == "image" else DIVERGING_STOPS

    def position(self, Z: np.ndarray) -> np.ndarray:
        """(...) values -> (...) positions in 0..1 along the scale (clipped at the ends)."""
        Z = np.asarray(Z, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            # Signed: 0.5 + Z / (2 hi), written so that a range as wide as float64 itself never overflows.
            t = 0.5 + 0.5 * (Z / self.hi) if self.kind == "signed" else (Z - self.lo) / (self.hi - self.lo)
        return np.clip(np.nan_to_num(t, nan=0.5), 0.0, 1.0)

    def colours(self, Z: np.ndarray) -> np.ndarray:
        """(H, W) values -> (H, W, 3) uint8 colours: linear in RGB between stops, then rounded."""
        t = self.position(Z) * (len(self.stops) - 1)
        stops = np.asarray(self.stops, dtype=np.float64)
        i = np.minimum(t.astype(np.int64), len(stops) - 2)
        f = (t - i)[..., None]
        return np.floor(stops[i] + f * (stops[i + 1] - stops[i]) + 0.5).astype(np.uint8)

    def to_data(self) -> dict:
        """The scale as the grid component reads it (JSON-safe)."""
        return {"kind": self.kind, "lo": self.lo, "hi": self.hi, "stops": [list(s) for s in self.stops]}

    def legend(self) -> str:
        """What the colours mean, in words ("blue −2 · white 0 · red +2")."""
        if self.kind == "image":
            return "black 0 · white 1"
        return f"blue −{_fmt(self.hi)} · white 0 · red +{_fmt(self.hi)}"


IMAGE = Scale("image", 0.0, 1.0)


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def nice_limit(m: float) -> float:
    """The smallest 'round' number ≥ m (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten); 1 for 0."""
    if not math.isfinite(m) or m < 0:
        raise ValueError(f"a colour range needs a finite size, got {m!r}")
    if m == 0:
        return 1.0
    exponent = math.floor(math.log10(m))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        limit = step * 10.0**exponent
        if limit >= m * (1 - 1e-12):
            return max(limit, m)
    return m  # pragma: no cover - the loop always returns (10 * 10**e > m)


def signed_scale(*grids: np.ndarray) -> Scale:
    """One diverging scale, symmetric around 0, wide enough for every grid given: ±nice(max |value|).

    Non-finite cells are ignored (they are refused before drawing); all zeros give ±1.
    """
    top = 0.0
    for Z in grids:
        a = np.abs(np.asarray(Z, dtype=np.float64))
        a = a[np.isfinite(a)]
        if a.size:
            top = max(top, float(a.max()))
    limit = nice_limit(top) if math.isfinite(top) and top < 1e300 else 1e300
    return Scale("signed", -limit, limit)


def robust_signed_scale(Z: np.ndarray, percentile: float = 99.5) -> Scale:
    """A signed scale for a photo's output: ±nice(the `percentile` of |Z|), so a few extreme edges do not
    wash every other response out to near-white; values beyond it take the end colours."""
    a = np.abs(np.asarray(Z, dtype=np.float64))
    a = a[np.isfinite(a)]
    top = float(np.percentile(a, percentile)) if a.size else 0.0
    if top == 0.0 and a.size:
        top = float(a.max())
    return signed_scale(np.array([top]))


def _luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance of an sRGB colour."""
    def lin(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG contrast ratio between two sRGB colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever contrasts more with `background` (the grid component does the same)."""
    dark, light = contrast_ratio(background, _DARK_TEXT), contrast_ratio(background, _LIGHT_TEXT)
    return _DARK_TEXT if dark >= light else _LIGHT_TEXT
