"""ConvLab's core: 2D cross-correlation made exact, fast and teachable. Never imports streamlit."""

from convlab.ops import CellExplanation, conv2d, corr2d, corr2d_loop, explain_cell, output_shape

__all__ = [
    "CellExplanation",
    "conv2d",
    "corr2d",
    "corr2d_loop",
    "explain_cell",
    "output_shape",
]
