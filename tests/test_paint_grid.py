"""The paint grid's Python side: strokes through AppTest, stroke parsing, argument checks.

AppTest cannot run the component's JavaScript, so strokes are injected as the component's state
(`inject_stroke`) the way the browser's `setStateValue("stroke", ...)` would set it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ui.paint_grid import Stroke, inject_stroke, is_new_stroke, paint_grid, parse_stroke

KEY = "img"


def grid_app() -> None:
    """A page in miniature: the grid and its revision in session state, a preset button."""
    import numpy as np
    import streamlit as st

    from ui.paint_grid import paint_grid

    if "X" not in st.session_state:
        st.session_state.X = np.zeros((3, 4))
        st.session_state.X_rev = 0
    if st.button("Preset", key="preset"):
        st.session_state.X = np.ones((3, 4))
        st.session_state.X_rev += 1
    painted = paint_grid(st.session_state.X, key="img", revision=st.session_state.X_rev)
    if painted is not None:
        st.session_state.X = painted
        st.session_state.returned = st.session_state.get("returned", 0) + 1
    st.write(f"sum = {st.session_state.X.sum():g}")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_function(grid_app).run()
    assert not app.exception
    return app


def painted(cells: list[tuple[int, int]], base: np.ndarray | None = None) -> np.ndarray:
    grid = np.zeros((3, 4)) if base is None else base.copy()
    for r, c in cells:
        grid[r, c] = 1.0
    return grid


def test_a_stroke_returns_its_grid_once(at: AppTest) -> None:
    grid = painted([(0, 1), (2, 3)])
    inject_stroke(at.session_state, KEY, grid, revision=0)
    at.run()
    assert not at.exception
    np.testing.assert_array_equal(at.session_state.X, grid)
    assert at.session_state.returned == 1
    assert at.markdown[0].value == "sum = 2"


def test_the_same_stroke_is_not_returned_twice(at: AppTest) -> None:
    inject_stroke(at.session_state, KEY, painted([(1, 1)]), revision=0)
    at.run()
    at.run()  # the stroke is still the component's state
    inject_stroke(at.session_state, KEY, painted([(2, 2)]), revision=0, seq=1)  # a replay of seq 1
    at.run()
    assert not at.exception
    assert at.session_state.returned == 1
    np.testing.assert_array_equal(at.session_state.X, painted([(1, 1)]))


def test_each_new_stroke_is_returned(at: AppTest) -> None:
    inject_stroke(at.session_state, KEY, painted([(1, 1)]), revision=0)
    at.run()
    inject_stroke(at.session_state, KEY, painted([(1, 1), (1, 2)]), revision=0)
    at.run()
    assert not at.exception
    assert at.session_state.returned == 2
    np.testing.assert_array_equal(at.session_state.X, painted([(1, 1), (1, 2)]))


def test_a_stroke_on_an_old_revision_is_ignored(at: AppTest) -> None:
    at.button(key="preset").click().run()
    assert at.session_state.X_rev == 1
    inject_stroke(at.session_state, KEY, painted([(0, 0)]), revision=0)  # painted before the preset
    at.run()
    assert not at.exception
    assert "returned" not in at.session_state
    np.testing.assert_array_equal(at.session_state.X, np.ones((3, 4)))
    inject_stroke(at.session_state, KEY, painted([(0, 0)], base=np.full((3, 4), 0.5)), revision=1)
    at.run()
    assert at.session_state.returned == 1
    assert at.markdown[0].value == "sum = 6.5"


def test_a_stroke_with_the_wrong_shape_is_ignored(at: AppTest) -> None:
    inject_stroke(at.session_state, KEY, np.ones((4, 3)), revision=0)
    at.run()
    assert not at.exception
    assert "returned" not in at.session_state


def sent_data(at: AppTest) -> dict:
    """The `data` the last run sent to the browser, parsed as strictly as the browser's JSON.parse."""

    def reject(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    (component,) = at.get("bidi_component")
    return json.loads(component.proto.json, parse_constant=reject)


def test_the_browser_gets_the_painted_grid_and_its_acknowledgement(at: AppTest) -> None:
    assert sent_data(at)["ack"] is None
    inject_stroke(at.session_state, KEY, painted([(0, 0)]), revision=0)
    at.run()
    data = sent_data(at)
    # The page stores the returned grid after paint_grid ran: the data must already hold it.
    assert data["values"] == painted([(0, 0)]).ravel().tolist()
    assert data["ack"] == {"id": "apptest", "seq": 1}
    assert (data["rows"], data["cols"], data["revision"]) == (3, 4, 0)


def finite_app() -> None:
    import numpy as np

    from ui.paint_grid import paint_grid

    X = np.array([[np.nan, np.inf, -np.inf, 0.5]])
    paint_grid(X, key="img", vmin=-1.0, vmax=2.0, highlight=X > 0, show_values=np.bool_(True))


def test_only_finite_numbers_go_to_the_browser() -> None:
    at = AppTest.from_function(finite_app).run()
    assert not at.exception
    data = sent_data(at)
    assert data["values"] == [0.0, 2.0, -1.0, 0.5]
    assert data["highlight"] == [0, 1, 0, 1]
    assert data["showValues"] is True


def test_parse_stroke_reads_what_the_browser_sends() -> None:
    stroke = parse_stroke({"id": "ab", "seq": 3, "revision": 2, "grid": [[0, 1], [0.5, 0]]})
    assert stroke is not None
    assert (stroke.id, stroke.seq, stroke.revision) == ("ab", 3, 2)
    np.testing.assert_array_equal(stroke.grid, [[0, 1], [0.5, 0]])


@pytest.mark.parametrize(
    "raw",
    [None, "stroke", {}, {"id": 1, "seq": 1, "revision": 0}, {"id": "a", "seq": True, "revision": 0}],
)
def test_parse_stroke_rejects_malformed_state(raw: object) -> None:
    assert parse_stroke(raw) is None


@pytest.mark.parametrize("grid", [[[0, 1], [0]], [1, 2], [[float("nan")]], "x", None, []])
def test_parse_stroke_keeps_an_unusable_grid_as_none(grid: object) -> None:
    # Still acknowledged (id and seq are fine), never returned.
    stroke = parse_stroke({"id": "a", "seq": 1, "revision": 0, "grid": grid})
    assert stroke is not None
    assert stroke.grid is None


def test_is_new_stroke_compares_instance_and_sequence() -> None:
    stroke = Stroke("a", 5, 0, None)
    assert is_new_stroke(stroke, None)
    assert is_new_stroke(stroke, {"id": "a", "seq": 4})
    assert not is_new_stroke(stroke, {"id": "a", "seq": 5})
    assert not is_new_stroke(stroke, {"id": "a", "seq": 6})
    assert is_new_stroke(stroke, {"id": "b", "seq": 9})  # a remounted component counts from 1 again


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((65, 3), {}, r"1 to 64 rows and columns, got shape \(65, 3\)"),
        ((3,), {}, r"got shape \(3,\)"),
        ((3, 3), {"vmin": 1.0, "vmax": 1.0}, "vmin must be below vmax"),
        ((3, 3), {"brush": float("nan")}, "must be finite"),
        ((3, 3), {"highlight": np.ones((2, 2), dtype=bool)}, r"highlight mask has shape \(2, 2\)"),
        ((3, 3), {"height": 4}, "at least 16 px"),
    ],
)
def test_bad_arguments_raise_a_clear_error(shape: tuple[int, ...], kwargs: dict, message: str) -> None:
    # Checked before anything is drawn, so bare mode (no script run) is enough.
    with pytest.raises(ValueError, match=message):
        paint_grid(np.zeros(shape), key="img", **kwargs)


def test_paint_grid_outside_streamlit_returns_none() -> None:
    # Bare mode (no script run): nothing is shown, nothing was painted.
    assert paint_grid(np.zeros((2, 2)), key="bare") is None
