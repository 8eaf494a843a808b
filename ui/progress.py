"""A learner's progress through the lesson and its exercises, and the teacher view.

This is the shared interface; the Lesson and Exercises pages call only these functions.
"""

from __future__ import annotations

import streamlit as st

_DONE = "progress.done"
_TEACHER = "progress.teacher"


def teacher_view() -> bool:
    """True when every answer is to be shown (a teacher projecting in class)."""
    return bool(st.session_state.get(_TEACHER, False))


def mark_done(item: str) -> None:
    """Record that the learner finished `item` (a step or exercise id such as "lesson.4")."""
    done = st.session_state.setdefault(_DONE, set())
    done.add(item)


def is_done(item: str) -> bool:
    """True when the learner has finished `item`."""
    return item in st.session_state.get(_DONE, set())
