"""One log line when a session starts, resumes or ends, with its duration, the server's session count and RSS.

Streamlit gives scripts no session-end hook; it does call the `on_release` of a session-scoped
`st.cache_resource` when the session's websocket goes away (the runtime clears the session's caches on
disconnect and on shutdown). So each session creates one small record through such a cache, and its
release writes the end line. A browser that reconnects within `server.disconnectedSessionTTL` gets its
old session back: the record is created again and the line says `resume`, with the age of the session
(its start time is kept in the session's own state).

Lines go through Streamlit's logger setup (its format and `logger.level`, INFO by default), e.g.
`convlab session end id=3f2a9c1e duration=1834.2s sessions=29 rss=402MB`.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.logger import get_logger

LOG = get_logger("convlab.sessions")
_STARTED_KEY = "_telemetry.started"  # (id, monotonic start) of this session, kept across reconnects
_lock = threading.Lock()
_live_sessions = 0


@dataclass(frozen=True)
class SessionRecord:
    """This session's id (random, not Streamlit's) and when it started (time.monotonic())."""

    session_id: str
    started: float


def rss_mb() -> float:
    """This process's resident memory, MB (Linux /proc; NaN elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError, AttributeError):
        return float("nan")


def live_sessions() -> int:
    """Sessions of this process with a connected browser, as counted by the start/end lines."""
    return _live_sessions


def _count(change: int) -> int:
    global _live_sessions
    with _lock:
        _live_sessions = max(0, _live_sessions + change)
        return _live_sessions


def session_ended(record: SessionRecord) -> None:
    """Log the end of a session (its browser disconnected): its duration so far."""
    sessions = _count(-1)
    LOG.info("convlab session end id=%s duration=%.1fs sessions=%d rss=%.0fMB", record.session_id,
             time.monotonic() - record.started, sessions, rss_mb())


@st.cache_resource(scope="session", on_release=session_ended, show_spinner=False)
def _session_record() -> SessionRecord:
    known = st.session_state.get(_STARTED_KEY)
    if known is None:
        record = SessionRecord(uuid.uuid4().hex[:8], time.monotonic())
        st.session_state[_STARTED_KEY] = (record.session_id, record.started)
        event, age = "start", ""
    else:
        record = SessionRecord(*known)
        event, age = "resume", f" age={time.monotonic() - record.started:.1f}s"
    LOG.info("convlab session %s id=%s%s sessions=%d rss=%.0fMB", event, record.session_id, age, _count(+1),
             rss_mb())
    return record


def log_session() -> None:
    """Call once per run from the entry script: logs this session's start (or resume) the first time."""
    _session_record()
