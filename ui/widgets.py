"""Small Streamlit widgets shared by the pages: an exact-number grid editor, "show the code"."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from convlab.images import to_rgb

LIMIT = 1e6  # the largest magnitude a typed number may have: beyond it sums stop meaning anything here


def merge_edits(edited: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(h, w) edited values, (h, w) last good values -> the grid to use and one message per bad cell.

    A cleared or non-finite cell keeps its previous value, so a slip of the keyboard loses nothing.
    """
    values = np.asarray(edited, dtype=np.float64)
    bad = ~np.isfinite(values)
    messages = [
        f"Row {i}, column {j} is empty or not a finite number: keeping {previous[i, j]:g}."
        for i, j in zip(*np.nonzero(bad), strict=True)
    ]
    return np.where(bad, previous, values), messages


def number_grid_editor(values: np.ndarray, *, key: str, revision: int) -> np.ndarray:
    """Edit an (h, w) grid's exact numbers in a table; return the (h, w) grid to use now.

    The table starts from the grid as it was at `revision`; bump the revision when code replaces
    the grid (a preset, a flip), otherwise a keyed editor would re-apply its old edits.
    """
    base_key = f"_{key}.base"
    if st.session_state.get(base_key, (None,))[0] != revision:
        st.session_state[base_key] = (revision, np.array(values, dtype=np.float64))
    base = st.session_state[base_key][1]
    frame = pd.DataFrame(base, columns=[str(j) for j in range(base.shape[1])])
    edited = st.data_editor(
        frame,
        key=f"{key}.{revision}",
        num_rows="fixed",
        column_config={c: st.column_config.NumberColumn(c, format="%g", min_value=-LIMIT, max_value=LIMIT)
                       for c in frame.columns},
    )
    grid, messages = merge_edits(edited.apply(pd.to_numeric, errors="coerce").to_numpy(), values)
    for message in messages:
        st.warning(message, icon=":material/warning:")
    return grid


def show_source(*functions: Callable) -> None:
    """Show the source code of `functions`, as they run in this app."""
    st.code("\n\n".join(inspect.getsource(f) for f in functions), language="python", wrap_lines=True)


@functools.cache
def app_icon() -> Image.Image:
    """The browser-tab icon: a 3x3 kernel in the heatmaps' colours, drawn here so nothing is fetched."""
    K = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    return Image.fromarray(to_rgb(K)).resize((48, 48), Image.Resampling.NEAREST)
