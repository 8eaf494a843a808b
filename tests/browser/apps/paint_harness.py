"""Browser-test and benchmark harness: the paint grid and one view grid of its corr2d, nothing else.

The grid lives in `st.session_state` with a revision counter and a stroke replaces it, as on the
Playground; the view grid `out` shows `corr2d(grid, [1, −1])` with the Playground's colour scales.
So it is what a stroke round trip costs the framework and this machine without the Playground's page
around it (`benchmarks/bench_app.py` times both in one run). One button ("Load preset") replaces the
grid from Python, as a preset does on the Playground.

Query string: `?n=<side>` (2..64, default 8) sets the grid's size, `?brush=<value>` the brush (default 1).
Run by hand from the repo root: `PYTHONPATH=. streamlit run tests/browser/apps/paint_harness.py`.
"""

import numpy as np
import streamlit as st

from convlab import corr2d
from convlab.colour import IMAGE, signed_scale
from ui.grid import paint_grid, view_grid

EDGE = np.array([[1.0, -1.0]])  # the lesson's kernel, the Playground's default
ss = st.session_state


def _query_number(name: str, default: float) -> float:
    try:
        value = float(st.query_params.get(name, default))
    except ValueError:
        return default
    return value if np.isfinite(value) else default


def _load_preset() -> None:
    """Replace the grid with a checkerboard, as a page does for a preset: new grid, new revision."""
    n = ss["h.grid"].shape[0]
    ss["h.grid"] = (np.indices((n, n)).sum(axis=0) % 2).astype(np.float64)
    ss["h.rev"] += 1


if "h.grid" not in ss:
    side = int(min(max(_query_number("n", 8), 2), 64))
    ss["h.grid"] = np.zeros((side, side))
    ss["h.rev"] = 1

st.button("Load preset", key="h.preset", on_click=_load_preset)
left, right = st.columns(2)
with left:
    painted = paint_grid(ss["h.grid"], key="paint", scale=IMAGE, revision=ss["h.rev"],
                         brush=_query_number("brush", 1.0), title="X", height=330)
    if painted is not None:
        ss["h.grid"] = painted
with right:
    Y = corr2d(ss["h.grid"], EDGE)
    view_grid(Y, key="out", scale=signed_scale(Y), title="Y = corr2d(X, [1, −1])", height=330)
