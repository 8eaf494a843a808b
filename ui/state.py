"""Session state helpers: per-session defaults and process-wide settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import streamlit as st
import torch

_threads_lock = threading.Lock()


def init_process() -> None:
    """Process-wide settings, applied once: one torch thread.

    Every computation here is small or a few strided passes over memory; waking a second core
    costs more than it gains (cold calls were 10-25x faster with one thread on 2 cores), and with
    several sessions the server's threads already share the cores.
    """
    with _threads_lock:
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)


def default(key: str, make: Callable[[], Any]) -> Any:
    """Set `st.session_state[key]` to `make()` if this session has no value yet; return the value."""
    if key not in st.session_state:
        st.session_state[key] = make()
    return st.session_state[key]
