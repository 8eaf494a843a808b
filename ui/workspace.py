"""The Playground's working state in `st.session_state`: the two grids, the settings, share links.

The input X and kernel K are plain session values (no widget owns them); the paint grid and the
kernel editor show them and a revision counter tells those widgets when code replaced a grid.
Settings are widgets kept for the whole session (`persist_state="session"`), so a trip to
another page loses nothing.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from convlab.images import image_preset
from convlab.kernels import kernel_preset
from ui import share

X_KEY, X_REV, X_SOURCE = "pg.X", "pg.X_rev", "pg.X_source"
K_KEY, K_REV, K_SOURCE = "pg.K", "pg.K_rev", "pg.K_source"
PHOTO, PHOTO_ON = "pg.photo_img", "pg.photo"  # (upload's file id, uint8 picture, escaped name); the toggle
LIVE = "pg.live"  # {"state", "Y"}: the live workspace's latest numbers, read by downloads made on click
NOTE = "pg.note"  # (level, text) shown once at the top of the page, e.g. a bad upload
CELL = ("pg.cell_i", "pg.cell_j")  # the output cell being explained
MODE, BIAS, SEPARATE = "pg.mode", "pg.bias", "pg.separate"
PAD, STRIDE, DIL = ("pg.pad_r", "pg.pad_c"), ("pg.stride_r", "pg.stride_c"), ("pg.dil_r", "pg.dil_c")
MODE_LABELS = {"correlation": "Correlation", "convolution": "Convolution"}


def lesson_start() -> share.PlaygroundState:
    """The lesson's edge detection: the 6x8 stripes and the kernel [1, -1]."""
    return share.PlaygroundState(X=image_preset("stripes"), K=kernel_preset("edge"))


def set_input(X: np.ndarray, source: str | None = None) -> None:
    """Replace the input grid (H, W) from code; `source` names a preset it can be regenerated from."""
    st.session_state[X_KEY] = np.array(X, dtype=np.float64)
    st.session_state[X_REV] = st.session_state.get(X_REV, 0) + 1
    st.session_state[X_SOURCE] = source


def set_kernel(K: np.ndarray, source: str | None = None) -> None:
    """Replace the kernel (h, w) from code; `source` names the preset it came from."""
    st.session_state[K_KEY] = np.array(K, dtype=np.float64)
    st.session_state[K_REV] = st.session_state.get(K_REV, 0) + 1
    st.session_state[K_SOURCE] = source


def painted_input(X: np.ndarray) -> None:
    """The learner painted the input (H, W): it is no longer the preset it came from."""
    st.session_state[X_KEY], st.session_state[X_SOURCE] = X, None


def edited_kernel(K: np.ndarray) -> None:
    """The learner typed or painted the kernel (h, w): it is no longer the preset it came from."""
    st.session_state[K_KEY], st.session_state[K_SOURCE] = K, None


def set_cell(cell: tuple[int, int]) -> None:
    """Explain output cell (i, j) from now on."""
    st.session_state[CELL[0]], st.session_state[CELL[1]] = int(cell[0]), int(cell[1])


def clamped(state: share.PlaygroundState, out_shape: tuple[int, int]) -> share.PlaygroundState:
    """`state` with its explained cell kept inside an output of `out_shape` (and remembered so)."""
    cell = (min(state.cell[0], out_shape[0] - 1), min(state.cell[1], out_shape[1] - 1))
    if cell != state.cell:
        set_cell(cell)
        state = dataclasses.replace(state, cell=cell)
    return state


def live() -> dict:
    """This session's holder of the live workspace's latest state and output (never shared)."""
    return st.session_state.setdefault(LIVE, {"state": current(), "Y": None})


def remember(state: share.PlaygroundState, Y: np.ndarray | None) -> None:
    """Record the live workspace's numbers for the downloads, which are made after later strokes too."""
    holder = live()
    holder["state"], holder["Y"] = state, Y


def load(state: share.PlaygroundState, source: str | None = None) -> None:
    """Put a whole Playground state (a share link, a lesson step) into this session."""
    ss = st.session_state
    set_input(state.X, source)
    set_kernel(state.K)
    ss[MODE] = state.mode
    ss[BIAS] = float(state.bias)
    for keys, pair in ((PAD, state.padding), (STRIDE, state.stride), (DIL, state.dilation)):
        ss[keys[0]], ss[keys[1]] = pair
    ss[SEPARATE] = any(p[0] != p[1] for p in (state.padding, state.stride, state.dilation))
    ss[CELL[0]], ss[CELL[1]] = state.cell


def ensure() -> None:
    """Start this session's Playground once: from the share link in the URL, else the lesson."""
    if X_KEY in st.session_state:
        return
    state, source = lesson_start(), "stripes"
    params = st.query_params.to_dict()
    if "x" in params or "k" in params:
        try:
            state, source = share.decode_state(params), None
        except share.ShareLinkError as exc:
            reason = share.escape_markdown(str(exc), max_chars=200)  # the reason never echoes the link, yet
            st.session_state[NOTE] = (
                "warning",
                f"This share link could not be read ({reason}), so the lesson's example is shown instead.",
            )
    load(state, source)


def current() -> share.PlaygroundState:
    """The Playground state as it is now (settings read from the widgets' session values)."""
    ss = st.session_state
    pair = (lambda keys: (int(ss[keys[0]]), int(ss[keys[1]]))) if ss.get(SEPARATE) else (
        lambda keys: (int(ss[keys[0]]), int(ss[keys[0]]))
    )
    return share.PlaygroundState(
        X=ss[X_KEY],
        K=ss[K_KEY],
        mode=ss.get(MODE, "correlation"),
        padding=pair(PAD),
        stride=pair(STRIDE),
        dilation=pair(DIL),
        bias=float(ss.get(BIAS, 0.0)),
        cell=(int(ss.get(CELL[0], 0)), int(ss.get(CELL[1], 0))),
    )


def share_link(state: share.PlaygroundState) -> dict[str, str] | None:
    """The state as query parameters, or None if it is too long to share."""
    params = share.encode_state(state)
    return None if share.link_length(params) > share.MAX_LINK_CHARS else params
