"""The Lesson page with AppTest: its numbers are the lesson's, and each step opens its state."""

import itertools
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

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


def test_each_step_opens_the_playground_with_its_state():
    at = _lesson()
    at.radio(key="l4.guess").set_value("Nothing: all zeros").run()
    at.button(key="l4.open").click().run()
    assert not at.exception
    assert np.array_equal(at.session_state["pg.X"], image_preset("stripes").T)
    assert np.array_equal(at.session_state["pg.K"], [[1.0], [-1.0]])
    assert [s.value for s in at.subheader][:3] == ["Input X · 8×6", "Kernel K · 2×1", "Output Y · 7×6"]


def test_train_it_yourself_opens_the_train_page_with_the_lessons_setup():
    at = _lesson()
    at.number_input(key="l5.seed").set_value(3).run()
    at.button(key="l5.open").click().run()
    assert not at.exception
    assert at.session_state["tr.seed"] == 3
    assert at.session_state["tr.lr"] == 3e-2
    assert at.title[0].value == "Train a kernel"
