"""Browser-test harness for the paint grid: paint, read the grid back as text and as a heatmap.

Run by hand from the repo root: `PYTHONPATH=. streamlit run tests/browser/apps/paint_harness.py`.
"""

import json

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui.paint_grid import paint_grid

SIZES = {"8x8": 8, "64x64": 64}


def load_preset() -> None:
    """Replace the grid with a checkerboard, as a page does for a preset: new grid, new revision."""
    n = st.session_state.n
    st.session_state.grid = (np.indices((n, n)).sum(axis=0) % 2).astype(np.float64)
    st.session_state.rev += 1


def harness() -> None:
    """Controls in one row, then the grid beside what Python holds."""
    size_col, preset_col, brush_col, highlight_col = st.columns(4, vertical_alignment="bottom")
    n = SIZES[size_col.radio("Size", list(SIZES), horizontal=True, key="size")]
    if st.session_state.get("n") != n:
        st.session_state.n = n
        st.session_state.grid = np.zeros((n, n))
        st.session_state.rev = st.session_state.get("rev", 0) + 1
    preset_col.button("Load preset", key="preset", on_click=load_preset)
    brush = brush_col.number_input("Brush", value=1.0, step=0.5, key="brush")
    highlight = None
    if highlight_col.checkbox("Highlight a window", key="highlight"):
        highlight = np.zeros((n, n), dtype=bool)
        highlight[1:4, 2:5] = True
    left, right = st.columns(2)
    with left:
        grid = paint_grid(
            st.session_state.grid,
            key="paint",
            brush=brush,
            revision=st.session_state.rev,
            highlight=highlight,
        )
        if grid is not None:
            st.session_state.grid = grid
    with right:
        grid = st.session_state.grid
        st.write(f"sum = {grid.sum():g}")
        cells = json.dumps(np.argwhere(grid != 0).tolist(), separators=(",", ":"))
        st.code(cells, language=None, wrap_lines=True, height=120)
        if st.checkbox("Heatmap", key="heatmap"):
            figure = go.Figure(go.Heatmap(z=grid, colorscale="gray", zmin=0, zmax=1, showscale=False))
            figure.update_layout(height=300, margin=dict(l=0, r=0, t=0, b=0), yaxis_autorange="reversed")
            st.plotly_chart(figure, key="heatmap_chart")


harness()
