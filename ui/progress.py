"""A learner's progress through the lesson and its exercises, and the teacher view.

This is the shared interface; the Lesson and Exercises pages call only these functions:
`teacher_view()`, `mark_done(item)`, `is_done(item)` and, once near a page's top, `show(items, noun)`.
The entry script marks a newcomer (`welcome()`); the Playground's caption adds `welcome_text()`.
Item ids are "<part>.<name>", e.g. "lesson.4" or "exercise.matrix".

Progress lives in the session and in the address bar, so a reload or a shared link brings it back:
`?done=exercise.diagonal.matrix~lesson.1.4&teacher=1` (ids grouped by part). The entry script calls
`restore()` on every run; it reads the link once per session, and a mangled link starts empty with a
polite note instead of an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import streamlit as st

_DONE = "progress.done"
_TEACHER = "progress.teacher"
_RESTORED = "progress.restored"
_NOTE = "progress.note"
_WELCOME = "progress.welcome"
_TOGGLE = "progress.teacher_toggle"
_BARS = "_progress.bars"  # this run's progress bars: redrawn in place when an item is done later in the run

DONE_PARAM, TEACHER_PARAM = "done", "teacher"
MAX_ITEMS = 100
MAX_CHARS = 1000
_ITEM = re.compile(r"[a-z]+\.[a-z0-9_]+")
_NAME = re.compile(r"[a-z0-9_]+")


def _check_item(item: str) -> str:
    if not isinstance(item, str) or not _ITEM.fullmatch(item):
        raise ValueError(f"a progress item is '<part>.<name>' in lower case, e.g. 'lesson.4', got {item!r}")
    return item


def encode_done(items: Iterable[str]) -> str:
    """Finished items -> the `done` parameter: "exercise.diagonal.matrix~lesson.1.4" (parts sorted)."""
    parts: dict[str, list[str]] = {}
    for item in sorted({_check_item(i) for i in items}):
        part, name = item.split(".", 1)
        parts.setdefault(part, []).append(name)
    return "~".join(".".join([part, *names]) for part, names in sorted(parts.items()))


def decode_done(text: str) -> set[str]:
    """The `done` parameter -> finished items.

    Raises:
        ValueError: a reason in the learner's words that never repeats the link's text.
    """
    if len(text) > MAX_CHARS:
        raise ValueError(f"it is longer than {MAX_CHARS} characters")
    items: set[str] = set()
    for group in filter(None, text.split("~")):
        part, *names = group.split(".")
        if not names or not re.fullmatch(r"[a-z]+", part) or not all(_NAME.fullmatch(n) for n in names):
            raise ValueError("a name in it is not a step or an exercise")
        items.update(f"{part}.{name}" for name in names)
    if len(items) > MAX_ITEMS:
        raise ValueError(f"it lists more than {MAX_ITEMS} steps and exercises")
    return items


def decode_teacher(text: str) -> bool:
    """The `teacher` parameter ("1" or "0") -> the teacher view on or off; ValueError otherwise."""
    if text not in ("0", "1"):
        raise ValueError("the teacher view is teacher=1 (on) or teacher=0 (off)")
    return text == "1"


def restore() -> None:
    """Start this session's progress from the link, once; forget the last run's progress bars (every run)."""
    ss = st.session_state
    ss[_BARS] = []
    if ss.get(_RESTORED):
        return
    ss[_RESTORED] = True
    done: set[str] = set()
    problems = []
    params = st.query_params
    if DONE_PARAM in params:
        try:
            done = decode_done(params[DONE_PARAM])
        except ValueError as exc:
            problems.append(f"the progress in this link could not be read ({exc}), so it starts empty")
    if TEACHER_PARAM in params:
        try:
            ss[_TEACHER] = decode_teacher(params[TEACHER_PARAM])
        except ValueError as exc:
            problems.append(f"{exc}, so it stays off")
    ss[_DONE] = ss.get(_DONE, set()) | done
    if problems:
        ss[_NOTE] = "; ".join(problems).capitalize() + "."


def is_new_visitor() -> bool:
    """True on the first run of a session opened without any query parameters (no share link, no progress)."""
    return not st.session_state.get(_RESTORED) and not st.query_params.to_dict()


def welcome() -> None:
    """Mark this session as a newcomer's: `welcome_text()` offers the lesson until something is done."""
    st.session_state[_WELCOME] = True


def welcome_text() -> str:
    """A sentence (markdown) offering a newcomer the lesson, or "" once any step or exercise is done."""
    ss = st.session_state
    if not ss.get(_WELCOME) or ss.get(_DONE):
        return ""
    return "**New here?** Start with the **Lesson** (menu above), then the **Exercises**."


def teacher_view() -> bool:
    """True when every answer is to be shown (a teacher projecting in class)."""
    return bool(st.session_state.get(_TEACHER, False))


def mark_done(item: str) -> None:
    """Record that the learner finished `item` (a step or exercise id such as "lesson.4")."""
    done = st.session_state.setdefault(_DONE, set())
    if _check_item(item) in done:
        return
    done.add(item)
    for draw in st.session_state.get(_BARS, []):
        draw()
    _write_link()


def is_done(item: str) -> bool:
    """True when the learner has finished `item`."""
    return item in st.session_state.get(_DONE, set())


def count(items: Sequence[str]) -> int:
    """How many of `items` are done."""
    return sum(is_done(item) for item in items)


def keep_link() -> None:
    """Keep the progress and the teacher view in the address bar of a page that does not show them (a
    page switch drops the query string), so that a reload there brings them back."""
    _write_link()


def _write_link() -> None:
    """Put the progress and the teacher view into the address bar (only what changed)."""
    params = st.query_params
    wanted = {DONE_PARAM: encode_done(st.session_state.get(_DONE, set())),
              TEACHER_PARAM: "1" if teacher_view() else ""}
    for name, value in wanted.items():
        if value and params.get(name) != value:
            params[name] = value
        elif not value and name in params:
            del params[name]


def _on_teacher() -> None:
    st.session_state[_TEACHER] = bool(st.session_state[_TOGGLE])
    _write_link()


def show(items: Sequence[str], noun: str = "steps") -> None:
    """A compact row: "3 of 8 exercises done" with a bar, and the teacher-view toggle. Call it once, near the
    page's top; items marked done later in the same run update the bar in place."""
    for item in items:
        _check_item(item)
    note = st.session_state.pop(_NOTE, None)
    if note:
        st.info(note, icon=":material/info:")
    bar, toggle = st.columns([3, 1], vertical_alignment="center")
    slot = bar.empty()

    def draw() -> None:
        n = count(items)
        slot.progress(n / len(items) if items else 0.0, text=f"{n} of {len(items)} {noun} done")

    draw()
    st.session_state.setdefault(_BARS, []).append(draw)
    st.session_state[_TOGGLE] = teacher_view()
    toggle.toggle("Teacher view", key=_TOGGLE, on_change=_on_teacher,
                  help="Show every answer, e.g. to project the page in class (or open it with ?teacher=1).")
    _write_link()
