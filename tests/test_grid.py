"""The grid component's Python side: strokes and picks through AppTest, parsing, what it refuses.

AppTest cannot run the component's JavaScript, so strokes and picks are injected as the component's
state (`inject_stroke`, `inject_pick`) the way the browser's `setStateValue` would set them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from grid_versions import group_versions
from streamlit.testing.v1 import AppTest

from convlab.colour import IMAGE
from ui.grid import (
    decode,
    inject_pick,
    inject_stroke,
    is_new,
    paint_grid,
    parse_pick,
    parse_stroke,
    view_grid,
)

KEY = "img"


def grid_app() -> None:
    """A page in miniature: a painted grid with its revision, a preset button, and a pickable view."""
    import numpy as np
    import streamlit as st

    from convlab.colour import IMAGE, signed_scale
    from ui.grid import paint_grid, view_grid

    if "X" not in st.session_state:
        st.session_state.X = np.zeros((3, 4))
        st.session_state.X_rev = 0
    if st.button("Preset", key="preset"):
        st.session_state.X = np.ones((3, 4))
        st.session_state.X_rev += 1
    painted = paint_grid(st.session_state.X, key="img", scale=IMAGE, revision=st.session_state.X_rev)
    if painted is not None:
        st.session_state.X = painted
        st.session_state.returned = st.session_state.get("returned", 0) + 1
    X = st.session_state.X
    cell = st.session_state.get("cell")
    picked = view_grid(X, key="view", scale=signed_scale(X), pickable=True, picked=cell)
    if picked is not None:
        st.session_state.cell = picked
        st.session_state.picks = st.session_state.get("picks", 0) + 1
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


def sent(at: AppTest, key: str = KEY) -> dict:
    """The data the grid `key` sent to the browser, parsed as the browser's JSON.parse would (no NaN)."""

    def reject(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    for component in at.get("bidi_component"):
        json.loads(component.proto.bytes, parse_constant=reject)  # no NaN, as the browser's parser wants
        data = decode(component.proto.bytes)
        if data["name"] == key:
            # The code travels by path (served once), never inside the element.
            assert component.proto.js_source_path == "grid.js" and not component.proto.js_content
            return data
    raise AssertionError(f"no grid {key}")


def test_a_stroke_returns_its_grid_once(at: AppTest) -> None:
    inject_stroke(at.session_state, KEY, painted([(0, 0), (2, 3)]), revision=0)
    at.run()
    np.testing.assert_array_equal(at.session_state.X, painted([(0, 0), (2, 3)]))
    assert at.session_state.returned == 1
    at.run()  # the same stroke again (any rerun): not returned twice
    assert at.session_state.returned == 1
    inject_stroke(at.session_state, KEY, painted([(1, 1)]), revision=0)
    at.run()
    assert at.session_state.returned == 2


def test_a_stroke_on_an_old_revision_or_of_the_wrong_shape_is_ignored(at: AppTest) -> None:
    at.button(key="preset").click().run()
    inject_stroke(at.session_state, KEY, painted([(0, 0)]), revision=0)  # painted before the preset
    at.run()
    np.testing.assert_array_equal(at.session_state.X, np.ones((3, 4)))
    inject_stroke(at.session_state, KEY, np.zeros((2, 2)), revision=1)
    at.run()
    np.testing.assert_array_equal(at.session_state.X, np.ones((3, 4)))
    assert "returned" not in at.session_state


def test_the_browser_gets_the_painted_grid_its_acknowledgement_and_the_scale(at: AppTest) -> None:
    assert sent(at).get("ack") is None  # nothing acknowledged yet (left out of the data)
    inject_stroke(at.session_state, KEY, painted([(0, 0)]), revision=0)
    at.run()
    data = sent(at)
    assert data["values"] == painted([(0, 0)]).ravel().tolist()
    assert data["ack"] == {"id": "apptest", "seq": 1}
    assert (data["rows"], data["cols"], data["revision"], data["mode"]) == (3, 4, 0, "paint")
    assert data["scale"] == IMAGE.to_data()


def test_a_pick_is_returned_once_and_marked(at: AppTest) -> None:
    inject_pick(at.session_state, "view", (2, 1))
    at.run()
    assert at.session_state.cell == (2, 1) and at.session_state.picks == 1
    assert sent(at, "view")["picked"] == [2, 1] and sent(at, "view")["pickable"] is True
    at.run()
    assert at.session_state.picks == 1
    inject_pick(at.session_state, "view", (9, 9))  # outside the grid: ignored
    at.run()
    assert at.session_state.cell == (2, 1) and at.session_state.picks == 1


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


@pytest.mark.parametrize("grid", [[[0, 1], [0]], [1, 2], [[float("nan")]], "x", None, [], [[2e6]]])
def test_parse_stroke_keeps_an_unusable_grid_as_none(grid: object) -> None:
    # Still acknowledged (id and seq are fine), never returned; 2e6 is beyond the typed-number limit.
    stroke = parse_stroke({"id": "a", "seq": 1, "revision": 0, "grid": grid})
    assert stroke is not None
    assert stroke.grid is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"id": "a", "seq": 1, "row": 1, "col": 2}, (1, 2, "a", 1)),
        ({"id": "a", "seq": 1, "row": 3, "col": 0}, None),  # outside (3, 4)
        ({"id": "a", "seq": 1, "row": -1, "col": 0}, None),
        ({"id": "a", "seq": 1, "row": True, "col": 0}, None),
        ({"id": 5, "seq": 1, "row": 0, "col": 0}, None),
        ("pick", None),
    ],
)
def test_parse_pick(raw: object, expected: tuple | None) -> None:
    assert parse_pick(raw, (3, 4)) == expected


def test_is_new_compares_instance_and_sequence() -> None:
    assert is_new("a", 5, None)
    assert is_new("a", 5, {"id": "a", "seq": 4})
    assert not is_new("a", 5, {"id": "a", "seq": 5})
    assert not is_new("a", 5, {"id": "a", "seq": 6})
    assert is_new("a", 5, {"id": "b", "seq": 9})  # a remounted component counts from 1 again


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((65, 3), {}, r"1 to 64 rows and columns, got shape \(65, 3\)"),
        ((3,), {}, r"got shape \(3,\)"),
        ((3, 3), {"brush": float("nan")}, "brush value must be a finite number"),
        ((3, 3), {"brush": 1e7}, "brush value must be a finite number within"),
        ((3, 3), {"mode": "view"}, "'paint' or 'edit'"),
    ],
)
def test_bad_arguments_raise_a_clear_error(shape: tuple[int, ...], kwargs: dict, message: str) -> None:
    # Checked before anything is drawn, so bare mode (no script run) is enough.
    with pytest.raises(ValueError, match=message):
        paint_grid(np.zeros(shape), key="img", scale=IMAGE, **kwargs)


@pytest.mark.parametrize("values", [np.array([[1.0, np.nan]]), np.array([[np.inf]]), np.zeros((0, 3))])
def test_grids_refuse_what_they_cannot_draw(values: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"NaN or infinity|rows and columns"):
        view_grid(values, key="g", scale=IMAGE)


def test_loss_chart_refuses_a_tiny_height_and_a_bad_target() -> None:
    from ui.loss_chart import loss_chart

    with pytest.raises(ValueError, match="120 px"):
        loss_chart([("a", [1.0])], key="l", height=50)
    with pytest.raises(ValueError, match="target loss"):
        loss_chart([("a", [1.0])], key="l", target_loss=float("nan"))


def group_app() -> None:
    """Two grids in one group: a painted one, and a pickable view of it."""
    import numpy as np
    import streamlit as st

    from convlab.colour import IMAGE, signed_scale
    from ui.grid import grid_group, last_ack, paint_data, panel, take_pick, take_stroke, view_data

    if "X" not in st.session_state:
        st.session_state.X = np.zeros((3, 4))
    painted = take_stroke("work", (3, 4), 0, name="x")
    if painted is not None:
        st.session_state.X = painted
    picked = take_pick("work", (3, 4), name="y")
    if picked is not None:
        st.session_state.cell = picked
    X = st.session_state.X
    grid_group("work", [
        panel("in", [paint_data(X, name="x", scale=IMAGE, ack=last_ack("work", "x"))], weight=2),
        panel("out", [view_data(X, name="y", scale=signed_scale(X), pickable=True,
                                picked=st.session_state.get("cell"))], lines=["a line", ("the total", True)]),
    ])


def test_a_group_sends_every_panel_in_one_element_and_routes_events_by_name() -> None:
    at = AppTest.from_function(group_app).run()
    (component,) = at.get("bidi_component")
    data = decode(component.proto.bytes)
    assert [p["name"] for p in data["panels"]] == ["in", "out"]
    assert data["panels"][0]["weight"] == 2.0 and data["panels"][1]["lines"][1] == {"text": "the total",
                                                                                    "strong": True}
    inject_stroke(at.session_state, "work", painted([(1, 1)]), revision=0, name="x")
    at.run()
    np.testing.assert_array_equal(at.session_state.X, painted([(1, 1)]))
    inject_pick(at.session_state, "work", (2, 3), name="y")
    at.run()
    assert at.session_state.cell == (2, 3)
    # The pick did not replay the stroke: both events live side by side in the group's state.
    state = at.session_state["work"]
    assert set(state["stroke"]) == {"x"} and set(state["pick"]) == {"y"}
    data = decode(at.get("bidi_component")[0].proto.bytes)
    assert data["panels"][0]["grids"][0]["ack"] == {"id": "apptest", "seq": 1}
    assert data["panels"][1]["grids"][0]["picked"] == [2, 3]
    assert not at.exception


def test_encode_writes_compact_json_whose_numbers_are_exactly_the_grids() -> None:
    from ui.grid import encode

    values = [1.0, 0.0, -2.0, 0.1 + 0.2, 1e16, 1 / 3, 2.5e-300, 100.0]
    scale = IMAGE.to_data()
    data = {"panels": [{"name": "p", "title": 'lr 1.0, "values":3', "lines": [{"text": "= 1.0, 2.0"}],
                        "grids": [{"name": "g", "values": values, "scale": scale}]}]}
    payload = encode(data)
    assert b"[1,0,-2,0.30000000000000004,1e+16," in payload and b" " not in payload.split(b'"title"')[0]
    assert decode(payload) == data  # every number the same float, every text untouched
    assert data["panels"][0]["grids"][0]["values"] is values  # the caller's data is not changed
    with pytest.raises(ValueError):
        encode({"name": "g", "values": [float("nan")], "scale": scale})  # the browser's JSON has no NaN


# --- patches: a fragment's rerun sends a group only what changed -------------------------------------


@pytest.mark.parametrize("old", range(9))
@pytest.mark.parametrize("new", range(9))
def test_a_patch_takes_any_version_to_any_other(old: int, new: int) -> None:
    from ui.grid import _dumps, _wire, apply_patch, diff, encode

    variants = group_versions()
    before, after = _wire(variants[old]), _wire(variants[new])
    snapshot = json.loads(encode(variants[old]))
    sets, gone = diff(before, after)
    assert apply_patch(before, sets, gone) == after
    assert json.loads(encode(variants[old])) == snapshot, "the old version is not changed"
    if old == new:
        assert (sets, gone) == ({}, [])
    # Through bytes, as the bench and the browser read it: the same data as the whole message.
    patch = _dumps({"v": 2, "base": 1, "set": sets, "del": gone}).encode()
    base = {**decode(encode(variants[old])), "v": 1}
    assert {**decode(patch, base), "v": 1} == {**decode(encode(variants[new])), "v": 1}


def test_a_small_change_patches_only_the_changed_values() -> None:
    from ui.grid import _wire, diff

    variants = group_versions()
    sets, gone = diff(_wire(variants[0]), _wire(variants[1]))
    # One input cell changed: the input's values, the output's values, its line; nothing else.
    assert set(sets) == {"panels/0/grids/0/values", "panels/1/grids/0/values", "panels/1/lines/0/text"}
    assert gone == []
    sets, gone = diff(_wire(variants[0]), _wire(variants[6]))
    assert sets == {"link": "x=2"} and gone == []


def _message(at: AppTest) -> dict:
    (component,) = at.get("bidi_component")
    return json.loads(component.proto.bytes)


def test_a_fragment_rerun_sends_a_patch_and_a_sync_request_the_whole_data(monkeypatch) -> None:
    import ui.grid

    at = AppTest.from_function(group_app)
    # AppTest runs whole pages only: this session's runs count as a fragment's when it says so.
    monkeypatch.setattr(ui.grid, "_in_fragment_run", lambda: bool(at.session_state["fragment"]))
    at.session_state["fragment"] = False
    at.run()
    first = _message(at)
    assert "panels" in first and first["v"] == 1
    shown = decode(at.get("bidi_component")[0].proto.bytes)
    at.session_state["fragment"] = True

    X = painted([(1, 1)])
    inject_stroke(at.session_state, "work", X, revision=0, name="x")
    at.run()
    patch = _message(at)
    assert patch["base"] == 1 and patch["v"] == 2 and "panels" not in patch
    # The painted grid taken as it is comes back as "your stroke", not as its values again.
    assert patch["set"]["panels/0/grids/0/values"] == {"stroke": ["x", "apptest", 1]}
    assert "stops" not in json.dumps(patch) and len(at.get("bidi_component")[0].proto.bytes) < 400
    shown = decode(at.get("bidi_component")[0].proto.bytes, shown, {("x", "apptest", 1): X.tolist()})
    assert shown == decode(ui.grid._dumps({**_wire_of(at), "v": 2}).encode())
    np.testing.assert_array_equal(np.reshape(shown["panels"][1]["grids"][0]["values"], (3, 4)), X)

    at.session_state["work"] = {**at.session_state["work"], "sync": {"id": "browser", "seq": 1}}
    at.run()
    assert "panels" in _message(at) and _message(at)["v"] == 3, "a sync request gets the whole data"
    at.run()
    assert "base" in _message(at), "once"
    at.session_state["fragment"] = False
    at.run()
    assert "panels" in _message(at), "a whole-page run sends everything: the element may be new"
    assert not at.exception


def _wire_of(at: AppTest) -> dict:
    """The wire form the group last sent, as the session remembers it."""
    return at.session_state["_grid.sent.work"][1]
