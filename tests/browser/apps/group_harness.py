"""Browser-test harness: a grid group in a fragment, and a button that makes Python lose track of the
version the browser holds, as a run cut short would. The next patch names a version the browser never
drew, so the browser must ask for the whole data (its "sync" state) and draw it.

Run by hand from the repo root: `PYTHONPATH=. streamlit run tests/browser/apps/group_harness.py`.
"""

import numpy as np
import streamlit as st

from convlab import corr2d
from convlab.colour import IMAGE, signed_scale
from ui.grid import grid_group, last_ack, paint_data, panel, take_stroke, view_data

EDGE = np.array([[1.0, -1.0]])
GROUP = "g"
ss = st.session_state


def _lose_version() -> None:
    """Python now believes it last sent a version the browser never drew."""
    version, wire = ss[f"_grid.sent.{GROUP}"]
    ss[f"_grid.sent.{GROUP}"] = (version + 100, wire)


@st.fragment
def workspace() -> None:
    if "h.grid" not in ss:
        ss["h.grid"] = np.zeros((6, 6))
    painted = take_stroke(GROUP, ss["h.grid"].shape, 1, name="paint")
    if painted is not None:
        ss["h.grid"] = painted
    st.button("Lose the browser's version", key="h.lose", on_click=_lose_version)
    X = ss["h.grid"]
    Y = corr2d(X, EDGE)
    grid_group(GROUP, [
        panel("in", [paint_data(X, name="paint", scale=IMAGE, revision=1, ack=last_ack(GROUP, "paint"))]),
        panel("out", [view_data(Y, name="out", scale=signed_scale(Y))], lines=[f"sum {Y.sum():g}"]),
    ])


workspace()
