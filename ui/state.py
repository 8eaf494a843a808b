"""Session state helpers: per-session defaults and process-wide settings."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import streamlit as st
import torch
from streamlit.runtime.scriptrunner import get_script_run_ctx

_threads_lock = threading.Lock()
SWITCH_INTERVAL = 0.001  # s
_PAGE, _VISIT = "app.page", "app.visit"


def init_process() -> None:
    """Process-wide settings, applied once: one torch thread, a short interpreter switch interval.

    Every computation here is small or a few strided passes over memory; waking a second core
    costs more than it gains (cold calls were 10-25x faster with one thread on 2 cores), and with
    several sessions the server's threads already share the cores.

    Sessions are threads of one interpreter: a thread that trains hands the interpreter over every
    switch interval. At Python's 5 ms a painter's 6 ms stroke waited behind each training thread in
    turn; at 1 ms the strokes interleave more finely (see README, Deploy).
    """
    with _threads_lock:
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)


def default(key: str, make: Callable[[], Any]) -> Any:
    """Set `st.session_state[key]` to `make()` if this session has no value yet; return the value."""
    if key not in st.session_state:
        st.session_state[key] = make()
    return st.session_state[key]


def require_entry_script() -> None:
    """Run the page through `streamlit_app.py`, even for the first visitor of a fresh server; then note
    which page this run shows (see `visit`).

    Streamlit keeps a relic of its old multipage apps: until some run calls `st.navigation`, a
    `pages/` folder beside the entry script makes a deep link (`/train`) run that page file on its
    own, without the entry's page config and navigation. Turning the relic off and rerunning
    routes this visit through the entry script, which calls `st.navigation` as every later one does.
    """
    from streamlit.runtime.pages_manager import PagesManager

    # Once per session: AppTest re-arms the relic before every run, and a rerun would drop a click.
    if PagesManager.uses_pages_directory and not st.session_state.get("_entry_rerun"):
        st.session_state["_entry_rerun"] = True
        PagesManager.uses_pages_directory = False
        st.rerun()
    _note_page()


def _note_page() -> None:
    """Count this session's arrivals at a page, for `visit()` (every page calls `require_entry_script`)."""
    ctx = get_script_run_ctx()
    page = ctx.page_script_hash if ctx is not None else None
    if st.session_state.get(_PAGE) != page:
        st.session_state[_PAGE] = page
        st.session_state[_VISIT] = st.session_state.get(_VISIT, 0) + 1


def visit() -> int:
    """A number that changes each time this session arrives at a page (its first run, or from another
    page). A page that keeps the last number it handled sees an arrival even if that run was cut short."""
    return st.session_state.get(_VISIT, 0)
