"""The Lesson page with AppTest: every figure the lesson printed is on the page, replayed by ConvLab; each
prediction gets its own feedback; each step opens its state in the Playground or the Train page."""

from pathlib import Path

import numpy as np
import pytest
from app_helpers import _walk, grids, printouts, texts
from streamlit.elements.lib import policies
from streamlit.testing.v1 import AppTest

from convlab import conv2d, corr2d
from convlab.colour import NEUTRAL
from convlab.images import image_preset
from convlab.lesson import curvature, first_kernel, learning_start, stripes

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")

# Every output the notebook printed, copied here from the seed lesson by hand (independently of
# convlab.lesson.NOTEBOOK, which the page shows beside the replay).
SEED_PRINTOUTS = [
    "tensor([[3.6293, 5.1562],\n        [8.2101, 9.7370]], grad_fn=<AddBackward0>)",
    "tensor([[1., 1., 0., 0., 0., 0., 1., 1.],\n" + "        [1., 1., 0., 0., 0., 0., 1., 1.],\n" * 4
    + "        [1., 1., 0., 0., 0., 0., 1., 1.]])",
    "tensor([[ 1., -1.]])",
    "tensor([[ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n" + "        [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n" * 4
    + "        [ 0.,  1.,  0.,  0.,  0., -1.,  0.]])",
    "tensor([[0., 0., 0., 0., 0.],\n" + "        [0., 0., 0., 0., 0.],\n" * 6
    + "        [0., 0., 0., 0., 0.]])",
    "(torch.Size([6, 8]), torch.Size([6, 7]))",
    "(tensor([[[[1., 1., 0., 0., 0., 0., 1., 1.],\n"
    + "           [1., 1., 0., 0., 0., 0., 1., 1.],\n" * 4
    + "           [1., 1., 0., 0., 0., 0., 1., 1.]]]]),\n"
    " tensor([[[[ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n"
    + "           [ 0.,  1.,  0.,  0.,  0., -1.,  0.],\n" * 4
    + "           [ 0.,  1.,  0.,  0.,  0., -1.,  0.]]]]))",
    "epoch 1, loss 14.700\nepoch 2, loss 7.834\nepoch 3, loss 4.369\nepoch 4, loss 2.532\n"
    "epoch 5, loss 1.513\nepoch 6, loss 0.924\nepoch 7, loss 0.573\nepoch 8, loss 0.359\n"
    "epoch 9, loss 0.227\nepoch 10, loss 0.144",
    "tensor([[ 0.9524, -1.0302]])",
]
RIGHT = {"l1.size": "6×7", "l2.params": "5", "l4.guess": "In columns 1 and 5: the two vertical edges",
         "l5.guess": "Nothing: all zeros", "l6.guess": "At [1, −1]"}


STEP_OF = {"l1": 1, "l2": 2, "l3": 3, "l4": 4, "l5": 5, "l6": 6}  # a key's prefix -> the step showing it


def _lesson(step: int = 1, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page("pages/lesson.py").run()
    return _go(at, step)


def _go(at: AppTest, step: int) -> AppTest:
    """Show `step` with its button in the stepper (step 1 is shown on arrival)."""
    if at.session_state["l.step"] != step:
        at.button(key=f"l.step{step}").click().run()
    assert not at.exception
    assert at.header[0].value.startswith(f"{step} · ")
    return at


def _choices(at: AppTest, key: str) -> list[str]:
    """The answers of the prediction `key`, one button each (`{key}.0`, `{key}.1`, …)."""
    return [b.label for b in at.button if b.key.rsplit(".", 1)[0] == key]


def _answer(at: AppTest, key: str, choice: str) -> AppTest:
    _go(at, STEP_OF[key[:2]])
    at.button(key=f"{key}.{_choices(at, key).index(choice)}").click().run()
    assert not at.exception
    return at


def _answer_all(at: AppTest) -> AppTest:
    for key, choice in RIGHT.items():
        _answer(at, key, choice)
    _go(at, 3)
    at.number_input(key="l3.guess").set_value(5).run()
    assert not at.exception
    return at


def _scrolls(at: AppTest) -> list:
    return [e for e in _walk(at.main) if type(getattr(e, "proto", None)).__name__ == "BidiComponent"
            and e.proto.component_name == "convlab.scroll_top"]


def _every_step(at: AppTest):
    """Show each step of `at` in turn (the same app, updated in place): yields the step shown."""
    for step in range(1, 7):
        _go(at, step)
        yield step


def _side(at: AppTest, column: int) -> list[str]:
    """Code blocks in one column of each replay expander: 0 the notebook's, 1 ConvLab's replay."""
    return [code for e in at.expander if "beside ConvLab's replay" in e.label
            for code in printouts(e.columns[column])]


def test_every_printed_figure_of_the_lesson_is_on_the_page_replayed():
    at = _answer_all(_lesson())
    replayed, typed, identical, g = [], [], 0, {}
    for _ in _every_step(at):
        replayed += _side(at, 1)
        typed += _side(at, 0)
        identical += len([c for c in at.caption if c.value == "Identical, character for character."])
        assert not at.error
        g |= grids(at)
    for printout in SEED_PRINTOUTS:
        assert printout in replayed, printout  # computed by ConvLab now, equal to the lesson's text
        assert printout in typed, printout  # and the lesson's own text beside it
    assert sorted(replayed) == sorted(SEED_PRINTOUTS)
    assert identical == 6  # every replay expander agrees (steps 1, 2, 4, 5 and two in 6)
    # The first example's output, recovered kernel moved nowhere: the grid's numbers print the same digits.
    printed = [[f"{v:.4f}" for v in row] for row in g["l2.output"]["values"]]
    assert printed == [["3.6293", "5.1562"], ["8.2101", "9.7370"]]
    # The learned weights, and the start they came from, on the grids.
    assert [f"{v:.4f}" for v in g["l6.learned"]["values"].ravel()] == ["0.9524", "-1.0302"]
    np.testing.assert_allclose(g["l6.recovered start"]["values"], [[-0.117, -0.608]], atol=2e-3)


def test_the_d2l_example_is_credited_to_the_book():
    at = _lesson()
    text = " ".join(texts(at))
    assert "Y[0, 0] = 0·0 + 1·1 + 3·2 + 4·3 = 19" in text
    assert "`[[19, 25], [37, 43]]` come from the d2l book" in text and "not from the notebook" in text
    np.testing.assert_array_equal(grids(at)["l1.Y = corr2d(X, K)"]["values"], [[19, 25], [37, 43]])


def test_the_first_screen_has_no_plotly_chart_and_the_landscape_waits_for_a_toggle():
    at = _answer_all(_lesson())
    for _ in _every_step(at):
        assert not at.get("plotly_chart")
    at.toggle(key="l6.landscape_on").set_value(True).run()
    assert len(at.get("plotly_chart")) == 1
    caption = " ".join(texts(at))
    c = curvature(stripes(), (1, 2))
    np.testing.assert_allclose(c.eigenvalues, [12, 60])
    assert "steep along (1, 1) (curvature λ = 60) and shallow along (1, −1) (λ = 12)" in caption
    assert "by 1 − 0.03·60 = −0.8" in caption and "by 1 − 0.03·12 = 0.64" in caption


@pytest.mark.parametrize(
    ("key", "choices"),
    [
        ("l1.size", ["6×8", "6×7", "5×7", "5×8"]),
        ("l2.params", ["4", "5", "8", "9"]),
        ("l4.guess", ["In columns 1 and 5: the two vertical edges", "In two rows: the horizontal edges",
                      "Wherever the image is white", "In columns 2 and 6, where the band starts and ends"]),
        ("l5.guess", ["The same edges as before", "Horizontal edges (±1 in rows)", "Nothing: all zeros"]),
        ("l6.guess", ["At [1, −1]", "Somewhere else with loss 0", "It depends on the random start"]),
    ],
)
def test_each_prediction_gets_its_own_feedback(key, choices):
    step = STEP_OF[key[:2]]
    at = _lesson(step)
    assert _choices(at, key) == choices
    assert not at.session_state["progress.done"] if "progress.done" in at.session_state else True
    feedback = []
    for choice in choices:
        _answer(at, key, choice)
        chosen = [b.label for b in at.button if b.key.startswith(f"{key}.") and b.proto.type == "primary"]
        assert chosen == [choice]  # the chosen answer is the filled button
        right = [s.value for s in at.success if s.value.startswith("**Right!**")]
        wrong = [w.value for w in at.warning if w.value.startswith("**Not quite.**")]
        shown = right if choice == RIGHT[key] else wrong
        assert len(shown) == 1, choice
        feedback.append(shown[0])
    assert len(set(feedback)) == len(choices)  # no two answers get the same words
    assert f"lesson.{step}" in at.session_state["progress.done"]


def test_nothing_is_revealed_before_a_prediction_except_in_the_teacher_view():
    at = _lesson()
    asks, g = 0, {}
    for _ in _every_step(at):
        asks += len([m for m in at.markdown if "Pick an answer to reveal the result." in m.value])
        g |= grids(at)
    assert asks == 5
    assert "l5b.corr2d(X.T, K)" not in g and "l4.Y = corr2d(X, K)" not in g
    assert "progress.done" not in at.session_state or not at.session_state["progress.done"]
    teacher = _lesson(**{"progress.teacher": True})
    answers, g = [], {}
    for _ in _every_step(teacher):
        assert not [m for m in [*teacher.info, *teacher.markdown]
                    if "Pick an answer" in m.value or "Type your number" in m.value]
        answers += [s.value for s in teacher.success if s.value.startswith("**Answer:**")]
        g |= grids(teacher)
    assert len(answers) == 6
    assert "**Answer:** Nothing: all zeros." in " ".join(answers)
    np.testing.assert_array_equal(g["l5b.corr2d(X.T, K)"]["values"], np.zeros((8, 5)))
    np.testing.assert_array_equal(g["l4.Y = corr2d(X, K)"]["values"], corr2d(stripes(), [[1.0, -1.0]]))


@pytest.mark.parametrize(
    ("guess", "verdict", "words"),
    [(5, "**Right!**", "0·3 + 1·2 + 3·1 + 4·0 = 5"),
     (19, "**Not quite.** 19 is the *cross-correlation*", "flip"),
     (7, "**Not quite.** 7 is neither the convolution nor the correlation (19)", "= 5")],
)
def test_one_convolution_cell_by_hand(guess, verdict, words):
    at = _lesson(3)
    assert any("Type your number" in i.value for i in at.info)
    at.number_input(key="l3.guess").set_value(guess).run()
    shown = [e.value for e in [*at.success, *at.warning] if e.value.startswith(verdict)]
    assert len(shown) == 1 and words in shown[0]
    assert "lesson.3" in at.session_state["progress.done"]
    g = grids(at)
    np.testing.assert_array_equal(g["l3.conv2d(X, K)"]["values"], g["l3.corr2d(X, K flipped)"]["values"])
    assert g["l3.conv2d(X, K)"]["values"][0, 0] == 5


def test_vertical_edges_are_called_vertical_and_their_columns_explained():
    at = _answer(_lesson(), "l4.guess", RIGHT["l4.guess"])
    text = " ".join(texts(at))
    assert "The notebook says this kernel detects *horizontal* edges; it does not." in text
    assert "`Y[i, 1] = X[i, 1]·1 + X[i, 2]·(−1) = 1 − 0 = 1`" in text
    assert "`Y[i, 5] = X[i, 5]·1 + X[i, 6]·(−1) = 0 − 1 = -1`" in text
    assert "**feature map**" in text and "**receptive field**" in text
    # Two layers: Z[0, j] reads two cells of Y and three of X.
    at.slider(key="l4.field").set_value(4).run()
    g = grids(at)
    in_Y = g["l4.fields.cells of Y that Z[0, j] reads"]["values"]
    in_X = g["l4.fields.its receptive field in X"]["values"]
    np.testing.assert_array_equal(np.argwhere(in_Y), [[0, 4], [0, 5]])
    np.testing.assert_array_equal(np.argwhere(in_X), [[0, 4], [0, 5], [0, 6]])


def test_the_output_size_rule_with_the_lessons_shapes():
    at = _answer(_lesson(), "l1.size", "6×7")
    text = " ".join(texts(at))
    assert "**n − k + 1**" in text
    for row in ["| the stripes X | 6×8 | 1×2 | 6 − 1 + 1 = 6 | 8 − 2 + 1 = 7 | **6×7** |",
                "| the transposed stripes X.T | 8×6 | 1×2 | 8 − 1 + 1 = 8 | 6 − 2 + 1 = 5 | **8×5** |",
                "| the 3×3 example | 3×3 | 2×2 | 3 − 2 + 1 = 2 | 3 − 2 + 1 = 2 | **2×2** |"]:
        assert row in text


def test_moving_along_the_first_kernels_family_keeps_the_output():
    at = _lesson(2)
    family = first_kernel()
    np.testing.assert_array_equal(grids(at)["l2.kernel"]["values"], family.base)
    assert any(t.endswith("torch.rand could have drawn this kernel too.") for t in texts(at))
    at.slider(key="l2.s").set_value(0.3).run()
    at.slider(key="l2.t").set_value(-0.2).run()
    g = grids(at)
    np.testing.assert_allclose(g["l2.kernel"]["values"], family.kernel(0.3, -0.2), atol=1e-12)
    assert [[f"{v:.4f}" for v in row] for row in g["l2.output"]["values"]] == [["3.6293", "5.1562"],
                                                                               ["8.2101", "9.7370"]]
    assert any(t.endswith("torch.rand could have drawn this kernel too.") for t in texts(at))
    at.slider(key="l2.t").set_value(0.0).run()  # s alone takes K[0, 1] below 0
    g = grids(at)
    assert g["l2.kernel"]["values"].min() < 0
    assert [[f"{v:.4f}" for v in row] for row in g["l2.output"]["values"]] == [["3.6293", "5.1562"],
                                                                               ["8.2101", "9.7370"]]
    assert SEED_PRINTOUTS[0] in printouts(at)
    assert any("torch.rand could never draw it, yet the output is the same" in t for t in texts(at))


def test_the_counter_case_and_its_numbers_come_from_the_core():
    at = _answer(_lesson(), "l6.guess", RIGHT["l6.guess"])
    text = " ".join(texts(at))
    assert "λ = 60 along (1, 1) and λ = 12 along (1, −1)" in text
    assert "80 along (1, 1) and **0** along (1, −1)" in text
    assert "lr below 2/80 = 0.025" in text and "1 − 0.03·80 = −1.4" in text
    assert "descent ends at `[0.2456, -0.2456]`" in text


def test_the_lessons_grids_speak_one_colour_language():
    g = {}
    at = _answer_all(_lesson())
    for _ in _every_step(at):
        g |= grids(at)
    assert g["l4a.X"]["scale"]["kind"] == "image" and g["l5a.X.T"]["scale"]["kind"] == "image"
    assert g["l1.X"]["scale"]["kind"] == "signed"
    for key, data in g.items():
        scale = data["scale"]
        if scale["kind"] == "signed":
            assert scale["lo"] == -scale["hi"] and scale["stops"][5] == list(NEUTRAL), key
    compared = [g[f"l3.{name}"]["scale"] for name in ("corr2d(X, K)", "conv2d(X, K)", "corr2d(X, K flipped)")]
    assert compared[0] == compared[1] == compared[2]
    assert g["l3.K flipped"]["scale"]["hi"] == 3  # the kernel is not compared with the outputs: its own range
    assert g["l6.recovered start"]["scale"] == g["l6.learned"]["scale"] == g["l6.target [1, −1]"]["scale"]
    assert g["l6.own.initial"]["scale"] == g["l6.own.learned"]["scale"]


@pytest.mark.parametrize(
    ("button", "X", "K", "mode", "title"),
    [
        ("l1.open", np.arange(9.0).reshape(3, 3), [[0.0, 1.0], [2.0, 3.0]], "correlation", "2×2"),
        ("l3.open", np.arange(9.0).reshape(3, 3), [[0.0, 1.0], [2.0, 3.0]], "convolution", "2×2"),
        ("l4.open", image_preset("stripes"), [[1.0, -1.0]], "correlation", "6×7"),
        ("l5.open", image_preset("stripes").T, [[1.0], [-1.0]], "correlation", "7×6"),
    ],
)
def test_each_step_opens_the_playground_with_its_state(button, X, K, mode, title):
    at = _go(_answer_all(_lesson()), STEP_OF[button[:2]])
    at.button(key=button).click().run()
    assert not at.exception
    np.testing.assert_array_equal(at.session_state["pg.X"], X)
    np.testing.assert_array_equal(at.session_state["pg.K"], K)
    assert at.session_state["pg.mode"] == mode
    assert grids(at)["pg.output"]["title"].endswith(title)


@pytest.fixture
def streamlit_warnings(monkeypatch) -> list[tuple]:
    # Streamlit warns (once per process, to its own non-propagating logger) when a widget gets a default
    # value and a session-state value: record every such warning.
    warnings: list[tuple] = []
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setattr(policies._LOGGER, "warning", lambda *args, **kwargs: warnings.append(args))
    return warnings


def test_train_it_yourself_opens_the_train_page_with_the_lessons_setup(streamlit_warnings):
    at = _lesson(6)
    at.number_input(key="l6.seed").set_value(3).run()
    at.button(key="l6.open").click().run()
    assert not at.exception
    assert at.session_state["tr.seed"] == 3
    assert at.session_state["tr.lr"] == 3e-2
    assert at.title[0].value == "Train a kernel"
    assert streamlit_warnings == []
    assert not at.warning


def test_what_if_train_on_the_transposed_image(streamlit_warnings):
    at = _answer(_lesson(), "l6.guess", RIGHT["l6.guess"])
    at.button(key="l6.what_if_t").click().run()
    assert not at.exception
    assert at.title[0].value == "Train a kernel"
    np.testing.assert_array_equal(at.session_state["tr.X"], stripes().T)
    assert at.session_state["tr.lr"] == 1e-2 < curvature(stripes().T, (1, 2)).stable_below()
    assert at.session_state["tr.target"] == "preset" and at.session_state["tr.true_preset"] == "edge"
    assert streamlit_warnings == []


def test_what_if_the_target_is_a_true_convolution(streamlit_warnings):
    at = _answer(_lesson(), "l6.guess", RIGHT["l6.guess"])
    at.button(key="l6.what_if_conv").click().run()
    assert not at.exception
    assert at.title[0].value == "Train a kernel"
    assert at.session_state["tr.target"] == "output"
    np.testing.assert_array_equal(at.session_state["tr.Y_paint"], conv2d(stripes(), [[1.0, -1.0]]))
    np.testing.assert_array_equal(at.session_state["tr.Y_paint"], corr2d(stripes(), [[-1.0, 1.0]]))
    np.testing.assert_array_equal(at.session_state["tr.X"], stripes())
    assert streamlit_warnings == []


def test_the_recovered_numbers_are_computed_never_typed_into_the_page():
    # The page shows the recovered draws and their replays, but holds none of their digits: the core
    # computes them from the notebook's printouts when the page runs.
    source = (Path(__file__).resolve().parents[1] / "pages" / "lesson.py").read_text()
    family, start = first_kernel(), learning_start().start
    digits = [f"{v:.4f}" for v in [*family.base.ravel(), *start.ravel()]]
    for text in [*digits, "3.6293", "9.7370", "14.700", "0.144", "0.9524", "1.0302", "0.2456"]:
        assert text.lstrip("-") not in source, text


def test_one_step_at_a_time_with_a_stepper_previous_and_next():
    at = _lesson()
    assert [b.label for b in at.button if b.key.startswith("l.step")] == [
        "1 · The 3×3 example", "2 · The layer", "3 · Convolution", "4 · Edges", "5 · Transposed",
        "6 · Learning"]
    assert len(at.header) == 1 and "l2.kernel" not in grids(at)  # step 1 alone
    assert "step" not in at.query_params
    assert not _scrolls(at)  # a first visit loads no scrolling code
    at.button(key="l.next").click().run()
    assert at.header[0].value.startswith("2 · ") and at.query_params["step"] == "2"
    assert len(_scrolls(at)) == 1  # the new step starts at the page's top (Streamlit keeps the scroll)
    at.button(key="l.prev").click().run()
    assert at.header[0].value.startswith("1 · ") and "step" not in at.query_params
    _answer(at, "l1.size", "6×7")
    ticked = [b.label for b in at.button if b.key.startswith("l.step") and b.proto.icon]
    assert ticked == ["1 · The 3×3 example"]  # a finished step is ticked in the stepper
    _go(at, 6)
    assert not [b for b in at.button if b.key == "l.next"]
    at.button(key="l.exercises").click().run()
    assert not at.exception and at.title[0].value.startswith("Exercises")


@pytest.mark.parametrize(("raw", "step", "refused"), [("4", 4, False), ("1", 1, False), ("9", 1, True),
                                                      ("two", 1, True), ("-3", 1, True), ("²", 1, True),
                                                      ("[x](http://evil.example)", 1, True)])
def test_a_link_opens_its_step_and_a_bad_step_is_refused_with_a_message(raw, step, refused):
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["step"] = raw
    at.switch_page("pages/lesson.py").run()
    assert not at.exception
    assert at.header[0].value.startswith(f"{step} · ")
    notes = [i.value for i in at.info if "is not a step of the lesson" in i.value]
    assert len(notes) == int(refused)
    if refused:
        assert "step" not in at.query_params  # the bad step leaves the address bar
        assert "evil" not in notes[0]  # the link's text is not echoed as markdown


def _step_shown(at: AppTest) -> int:
    assert not at.exception
    return int(at.header[0].value.split(" · ")[0])


def test_back_and_forward_reread_the_link():
    """The browser's Back and Forward rerun the page with an older link: the step follows the link."""
    at = _lesson()
    at.button(key="l.next").click().run()
    at.button(key="l.next").click().run()
    assert _step_shown(at) == 3 and at.query_params["step"] == "3"
    at.query_params["step"] = "2"  # Back
    assert _step_shown(at.run()) == 2
    del at.query_params["step"]  # Back to the lesson's first entry: step 1, and the link stays as it is
    assert _step_shown(at.run()) == 1 and "step" not in at.query_params
    at.query_params["step"] = "2"  # Forward
    assert _step_shown(at.run()) == 2
    at.button(key="l.prev").click().run()  # a button still moves the step and rewrites the link
    assert _step_shown(at) == 1 and "step" not in at.query_params


def test_from_another_page_the_lesson_opens_on_the_step_left_and_writes_it_into_the_link():
    at = _lesson(3)
    at.switch_page("pages/playground.py").run()
    del at.query_params["step"]  # a page switch drops the query string
    at.switch_page("pages/lesson.py").run()
    assert _step_shown(at) == 3 and at.query_params["step"] == "3"  # a reload keeps the step
    at.button(key="l.next").click().run()
    assert _step_shown(at) == 4 and at.query_params["step"] == "4"
    del at.query_params["step"]  # Back to the entry the lesson opened on: its step, not step 1
    assert _step_shown(at.run()) == 3 and at.query_params["step"] == "3"
    at.button(key="l.step1").click().run()  # step 1 is written too: this visit's bare link means step 3
    assert _step_shown(at) == 1 and at.query_params["step"] == "1"


def test_a_button_wins_over_a_link_the_browser_has_not_updated_yet():
    """A second click on Next can carry the link from before the first one's rerun reached the browser."""
    at = _lesson()
    at.button(key="l.next").click().run()
    at.query_params.pop("step")  # the browser had not yet applied ?step=2 when Next was clicked again
    at.button(key="l.next").click().run()
    assert _step_shown(at) == 3 and at.query_params["step"] == "3"


def test_what_a_learner_set_on_a_step_is_still_there_after_visiting_another():
    at = _lesson(3)
    at.number_input(key="l3.guess").set_value(5).run()
    _go(at, 2)
    at.slider(key="l2.s").set_value(0.3).run()
    _go(_go(at, 4), 3)
    assert at.number_input(key="l3.guess").value == 5
    assert any(s.value.startswith("**Right!**") for s in at.success)
    _go(at, 2)
    assert at.slider(key="l2.s").value == 0.3
