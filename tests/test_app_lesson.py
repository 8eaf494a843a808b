"""The Lesson page with AppTest: its numbers are the lesson's, and each step opens its state."""

import itertools
from pathlib import Path

import numpy as np
import pytest
from app_helpers import grids
from streamlit.elements.lib import policies
from streamlit.testing.v1 import AppTest

from convlab.colour import NEUTRAL
from convlab.images import image_preset

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def _lesson() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    return at.switch_page("pages/lesson.py").run()


def test_the_lesson_page_shows_the_lessons_numbers():
    at = _lesson()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "`[[19, 25], [37, 43]]`" in text
    assert "Y[0, 0] = 0·0 + 1·1 + 3·2 + 4·3 = 19" in text
    losses = next(c.value for c in at.code if c.value.startswith("epoch 1, loss"))
    lines = losses.splitlines()
    assert len(lines) == 10 and lines[-1].startswith("epoch 10, loss")
    values = [float(line.split("loss ")[1]) for line in lines]
    assert all(b < a for a, b in itertools.pairwise(values))  # falls every epoch


def test_predict_then_reveal_the_transposed_image():
    at = _lesson()
    assert any("Make a prediction" in i.value for i in at.info)
    at.radio(key="l4.guess").set_value("Nothing: all zeros").run()
    assert any("Right!" in m.value for m in at.markdown)
    at.radio(key="l4.guess").set_value("The same edges as before").run()
    assert any("Not quite." in m.value for m in at.markdown)
    assert not at.exception


def test_the_lessons_grids_speak_one_colour_language():
    g = grids(_lesson())
    # The stripes are a picture: grayscale on 0..1. The counting grid is numbers: signed, 0 white.
    assert g["l3.X"]["scale"]["kind"] == "image" and g["l4a.X.T"]["scale"]["kind"] == "image"
    assert g["l1.X"]["scale"]["kind"] == "signed"
    for key, data in g.items():
        scale = data["scale"]
        if scale["kind"] == "signed":
            assert scale["lo"] == -scale["hi"] and scale["stops"][5] == list(NEUTRAL), key
    # Grids that are compared share one range: correlation with convolution, learned with the target.
    assert g["l2.corr2d(X, K)"]["scale"] == g["l2.conv2d(X, K)"]["scale"]
    assert g["l2.K flipped"]["scale"]["hi"] == 3  # the kernel is not compared with the outputs: its own range
    assert g["l5.initial"]["scale"] == g["l5.learned"]["scale"] == g["l5.target [1, −1]"]["scale"]
    np.testing.assert_array_equal(g["l1.Y = corr2d(X, K)"]["values"], [[19, 25], [37, 43]])


@pytest.mark.parametrize(
    ("button", "guess", "X", "K", "mode", "title"),
    [
        ("l1.open", None, np.arange(9.0).reshape(3, 3), [[0.0, 1.0], [2.0, 3.0]], "correlation", "2×2"),
        ("l2.open", None, np.arange(9.0).reshape(3, 3), [[0.0, 1.0], [2.0, 3.0]], "convolution", "2×2"),
        ("l3.open", None, image_preset("stripes"), [[1.0, -1.0]], "correlation", "6×7"),
        ("l4.open", "Nothing: all zeros", image_preset("stripes").T, [[1.0], [-1.0]], "correlation", "7×6"),
    ],
)
def test_each_step_opens_the_playground_with_its_state(button, guess, X, K, mode, title):
    at = _lesson()
    if guess:
        at.radio(key="l4.guess").set_value(guess).run()
    at.button(key=button).click().run()
    assert not at.exception
    np.testing.assert_array_equal(at.session_state["pg.X"], X)
    np.testing.assert_array_equal(at.session_state["pg.K"], K)
    assert at.session_state["pg.mode"] == mode
    assert grids(at)["pg.output"]["title"].endswith(title)


def test_train_it_yourself_opens_the_train_page_with_the_lessons_setup(monkeypatch):
    # Streamlit warns (once per process, to its own non-propagating logger) when a widget gets a default
    # value and a session-state value: record every such warning.
    warnings: list[tuple] = []
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setattr(policies._LOGGER, "warning", lambda *args, **kwargs: warnings.append(args))
    at = _lesson()
    at.number_input(key="l5.seed").set_value(3).run()
    at.button(key="l5.open").click().run()
    assert not at.exception
    assert at.session_state["tr.seed"] == 3
    assert at.session_state["tr.lr"] == 3e-2
    assert at.title[0].value == "Train a kernel"
    # The lesson's setup is set through session state only: Streamlit has nothing to warn about.
    assert warnings == []
    assert not at.warning
