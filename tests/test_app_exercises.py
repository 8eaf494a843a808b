"""The Exercises page with AppTest: every exercise accepts a right answer and refuses a wrong one with the
hint for that mistake; progress shows, goes into the link and survives a reload; the teacher view shows every
answer; a newcomer is offered the lesson."""

from __future__ import annotations

import pytest
from app_helpers import app, grids
from streamlit.testing.v1 import AppTest

from convlab.exercises import EXERCISES

RIGHT_MATRIX = "0 1 0 2 3 0 0 0 0\n0 0 1 0 2 3 0 0 0\n0 0 0 0 1 0 2 3 0\n0 0 0 0 0 1 0 2 3"
TURNED_MATRIX = "; ".join(" ".join(c) for c in zip(*map(str.split, RIGHT_MATRIX.splitlines()), strict=True))


def _exercises(**params: str) -> AppTest:
    at = app(**params)
    return at.switch_page("pages/exercises.py").run()


def _bar(at: AppTest) -> str:
    (bar,) = at.get("progress")
    return bar.proto.text


def _answer_box(at: AppTest, name: str):
    key = f"ex.{name}.answer"
    return at.text_area(key=key) if name == "matrix" else at.text_input(key=key)


def _says(elements, text: str) -> bool:
    return any(text in e.value for e in elements)


# What each exercise takes (a radio's key and choice, or typed text), a right answer and a wrong one with a
# words of its hint.
TYPED = {
    "edge_detector": ("1; -1", "1, -1", "it measures vertical edges"),  # direction set to horizontal below
    "second_derivative": ("1, -2, 1", "1, -1", "still holds a first derivative"),
    "box_sum": ("1 1 1; 1 1 1; 1 1 1", "1/9 1/9 1/9; 1/9 1/9 1/9; 1/9 1/9 1/9", "the box blur"),
    "derivative": ("[-1, 3, -3, 1]", "1 -3 3 -1", "signs are reversed"),
    "matrix": (RIGHT_MATRIX, TURNED_MATRIX, "That is the transpose"),
}
CHOSEN = {
    "diagonal": ("plus", "minus", "wrong sign"),
    "transpose_k": ("zeros", "turned", "corr2d(X.T, K.T) = corr2d(X, K).T"),
}


@pytest.fixture(scope="module")
def page() -> AppTest:
    at = _exercises()
    assert not at.exception
    return at


def test_the_page_offers_every_exercise_with_nothing_done(page):
    assert [h.value for h in page.header] == [
        "1 · Diagonal edges", "2 · Transpose the kernel instead of the image", "3 · Design an edge detector",
        "4 · The second derivative", "5 · A box “integral”", "6 · The smallest kernel for a d-th derivative",
        "7 · Automatic differentiation of the loop", "8 · Cross-correlation as a matrix product"]
    assert _bar(page) == "0 of 8 exercises done"
    assert not page.success and not page.warning
    assert "done" not in page.query_params and "teacher" not in page.query_params
    assert _says(page.info, "Make a prediction")  # predict first: no output until then
    assert "ex1b.corr2d(X, K)" not in grids(page)


@pytest.mark.parametrize("name", list(CHOSEN))
def test_predictions_are_accepted_or_refused_with_their_hint(name):
    right, wrong, hint = CHOSEN[name]
    at = _exercises()
    at.radio(key=f"ex.{name}.guess").set_value(wrong).run()
    assert _says(at.warning, hint) and not at.success
    assert _bar(at) == "0 of 8 exercises done"
    at.radio(key=f"ex.{name}.guess").set_value(right).run()
    assert len(at.success) == 1 and not at.warning
    assert _bar(at) == "1 of 8 exercises done" and at.query_params["done"] == f"exercise.{name}"
    assert not at.exception


def test_the_diagonal_output_and_its_variants_are_live():
    at = _exercises()
    at.radio(key="ex.diagonal.guess").set_value("plus").run()
    g = grids(at)
    assert g["ex1b.corr2d(X, K)"]["values"].diagonal().tolist() == [1.0] * 7
    at.radio(key="ex.diagonal.try").set_value("X.T, K").run()
    Y = grids(at)["ex1b.corr2d(X.T, K)"]["values"]
    assert Y.shape == (7, 8)[::-1] and Y.min() == -1 and Y.max() == 0  # white above the diagonal now: −1s
    assert grids(at)["ex1b.corr2d(X.T, K)"]["scale"] == grids(at)["ex1b.corr2d(X, K)"]["scale"]


@pytest.mark.parametrize("name", list(TYPED))
def test_typed_answers_are_accepted_or_refused_with_their_hint(name):
    right, wrong, hint = TYPED[name]
    at = _exercises()
    if name == "edge_detector":
        at.selectbox(key="ex.edge_detector.direction").set_value("horizontal").run()
    _answer_box(at, name).set_value(wrong).run()
    assert _says(at.warning, hint) and not at.success, [w.value for w in at.warning]
    assert _bar(at) == "0 of 8 exercises done"
    _answer_box(at, name).set_value(right).run()
    assert len(at.success) == 1 and not at.warning and _bar(at) == "1 of 8 exercises done"
    assert not at.exception


def test_a_kernel_is_checked_on_screen_as_it_is_typed():
    at = _exercises()
    at.text_input(key="ex.second_derivative.answer").set_value("1, -2, 1").run()
    assert grids(at)["ex4.its output"]["values"].tolist() == [[2.0] * 8]
    at.text_input(key="ex.box_sum.answer").set_value("1 1 1; 1 1 1; 1 1 1").run()
    g = grids(at)
    assert (g["ex5.your output"]["values"] == g["ex5.window sums"]["values"]).all()
    assert g["ex5.your output"]["scale"] == g["ex5.window sums"]["scale"]


def test_the_d_th_derivative_follows_the_chosen_order():
    at = _exercises()
    at.number_input(key="ex.derivative.d").set_value(2).run()
    at.text_input(key="ex.derivative.answer").set_value("1 -2 1").run()
    assert _says(at.success, "2! = 2")
    at.number_input(key="ex.derivative.d").set_value(4).run()
    assert _says(at.warning, "must ignore 1, x, …, x³ — 4 conditions")


def test_typing_that_is_not_numbers_gets_a_message_and_the_page_keeps_running():
    at = _exercises()
    at.text_input(key="ex.box_sum.answer").set_value("1, [x](http://evil)").run()
    assert not at.exception and len(at.error) == 1
    message = at.error[0].value
    assert "is not a number" in message and "](http" not in message  # escaped: never a link
    assert at.text_input(key="ex.box_sum.answer").value == "1, [x](http://evil)"  # the learner's text stays


def test_autograd_is_run_live_after_a_prediction():
    at = _exercises()
    assert at.button(key="ex.autograd.run").disabled  # predict first
    at.radio(key="ex.autograd.guess").set_value("fails").run()
    at.button(key="ex.autograd.run").click().run()
    assert _says(at.warning, "CopySlices")
    text = " ".join(m.value for m in at.markdown)
    assert "× slower**, measured just now" in text and "differ by at most" in text
    g = grids(at)
    assert (abs(g["ex7.∂L/∂K, loop"]["values"] - g["ex7.∂L/∂K, F.conv2d"]["values"]) < 1e-5).all()
    at.radio(key="ex.autograd.guess").set_value("same").run()  # the measured run is kept for the verdict
    assert _says(at.success, "gradients match F.conv2d's") and _bar(at) == "1 of 8 exercises done"
    assert not at.exception


def test_progress_survives_a_reload_through_the_link():
    at = _exercises()
    at.radio(key="ex.diagonal.guess").set_value("plus").run()
    at.text_input(key="ex.box_sum.answer").set_value("1 1 1; 1 1 1; 1 1 1").run()
    link = at.query_params["done"]
    assert link == "exercise.box_sum.diagonal" and _bar(at) == "2 of 8 exercises done"
    reloaded = _exercises(done=link)  # a new session, opened with the address bar's link
    assert _bar(reloaded) == "2 of 8 exercises done" and not reloaded.exception
    assert reloaded.query_params["done"] == link
    reloaded.text_input(key="ex.second_derivative.answer").set_value("1 -2 1").run()
    assert _bar(reloaded) == "3 of 8 exercises done"
    assert reloaded.query_params["done"] == "exercise.box_sum.diagonal.second_derivative"


def test_progress_from_the_lesson_is_kept_beside_the_exercises():
    at = _exercises(done="lesson.1.4~exercise.matrix")
    assert _bar(at) == "1 of 8 exercises done"
    at.radio(key="ex.diagonal.guess").set_value("plus").run()
    assert at.query_params["done"] == "exercise.diagonal.matrix~lesson.1.4"


@pytest.mark.parametrize(("link", "echo"), [("exercise.Diagonal", "Diagonal"), ("../etc", "etc"),
                                            ("x" * 1200, "xxx"), ("lesson", "lesson")])
def test_a_mangled_progress_link_starts_empty_with_a_polite_note(link, echo):
    at = _exercises(done=link)
    assert not at.exception and _bar(at) == "0 of 8 exercises done"
    (note,) = at.info[:1]
    assert note.value.startswith("The progress in this link could not be read (")
    assert "starts empty" in note.value and echo not in note.value  # the note never repeats the link
    at.run()
    assert not any("could not be read" in i.value for i in at.info)  # said once


def test_a_mangled_teacher_flag_is_refused_politely():
    at = _exercises(teacher="yes")
    assert not at.exception and _says(at.info, "The teacher view is teacher=1 (on) or teacher=0 (off)")
    assert not at.toggle(key="progress.teacher_toggle").value


ANSWERS = ["Answer: A diagonal line of +1", "Answer: All zeros", "One answer: `[−1, 1]`",
           "Answer: `[1, −2, 1]`", "Answer: every weight 1", "Answer: `[−1, 3, −3, 1]`",
           "Answer: It runs and gives F.conv2d's gradient", "Answer:** row r holds K's four weights"]


def test_the_teacher_view_reveals_every_answer():
    at = _exercises(teacher="1")
    shown = " ".join(i.value for i in at.info)
    assert all(answer in shown for answer in ANSWERS), shown
    assert at.toggle(key="progress.teacher_toggle").value and at.query_params["teacher"] == "1"
    assert "ex8c.M" in grids(at) and not at.exception


def test_the_teacher_toggle_reveals_every_answer_and_goes_into_the_link():
    at = _exercises()
    assert not any("Answer:" in i.value for i in at.info)
    at.toggle(key="progress.teacher_toggle").set_value(True).run()
    shown = " ".join(i.value for i in at.info)
    assert all(answer in shown for answer in ANSWERS)
    assert at.query_params["teacher"] == "1"
    at.switch_page("pages/train.py").run()  # a page without the toggle keeps the teacher view
    at.switch_page("pages/exercises.py").run()
    assert at.toggle(key="progress.teacher_toggle").value
    at.toggle(key="progress.teacher_toggle").set_value(False).run()
    assert "teacher" not in at.query_params and not any("Answer:" in i.value for i in at.info)


def test_a_learner_reveals_one_answer():
    at = _exercises()
    at.toggle(key="ex.matrix.reveal").set_value(True).run()
    shown = [i.value for i in at.info if "Answer" in i.value]
    assert len(shown) == 1 and "row r holds" in shown[0]
    assert grids(at)["ex8c.M"]["values"][0].tolist() == [0, 1, 0, 2, 3, 0, 0, 0, 0]


def _welcome(at: AppTest) -> bool:
    """True when the Playground's caption offers the lesson (the newcomer's welcome)."""
    return any("**New here?** Start with the **Lesson** (menu above)" in c.value for c in at.caption)


def test_a_newcomer_is_offered_the_lesson_in_the_caption():
    at = app()
    assert _welcome(at) and not at.toast  # a sentence of the caption, not a toast over the page
    at.run()
    assert _welcome(at)  # kept for the session: the caption does not shrink under a painting hand
    assert not _welcome(app(x="anything"))  # a share link opens what was shared, without the welcome
    assert not _welcome(app(done="lesson.1"))  # nor does a link with progress
    at.switch_page("pages/lesson.py").run()
    at.button(key="l1.size.1").click().run()  # a step done: no longer new
    assert not _welcome(at.switch_page("pages/playground.py").run())


def test_every_exercise_is_driven_here():
    assert set(EXERCISES) == set(TYPED) | set(CHOSEN) | {"autograd"}
