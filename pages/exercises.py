"""Exercises: the section's questions as checked tasks — predict, try, reveal, with hints for each mistake."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from convlab import corr2d, corr2d_loop
from convlab.colour import IMAGE, signed_scale
from convlab.exercises import (
    AUTOGRAD_CHOICES,
    EDGE_DIRECTIONS,
    EXERCISES,
    MAX_DERIVATIVE,
    SECOND_DERIVATIVE,
    AutogradReport,
    Question,
    Verdict,
    autograd_comparison,
    autograd_question,
    box_sum_answer,
    check_box_sum,
    check_correlation_matrix,
    check_derivative_kernel,
    check_edge_detector,
    check_second_derivative,
    correlation_matrix,
    derivative_kernel,
    diagonal_edge_image,
    diagonal_question,
    edge_detector_answer,
    kernel_text,
    ordinal,
    parse_grid,
    power_text,
    transposed_kernel_question,
)
from convlab.images import image_preset
from convlab.kernels import kernel_preset
from ui import progress
from ui.grid import grid_group, panel, view_data
from ui.share import escape_markdown
from ui.state import require_entry_script
from ui.widgets import show_source

require_entry_script()
ss = st.session_state
LESSON_X = np.arange(9.0).reshape(3, 3)
LESSON_K = np.array([[0.0, 1.0], [2.0, 3.0]])
AUTOGRAD_SIZES = {"the lesson's 6×8 stripes, a 1×2 kernel": ((6, 8), (1, 2)),
                  "a 32×32 image, a 3×3 kernel": ((32, 32), (3, 3))}


def _grids(key: str, *named: tuple[str, np.ndarray], images: tuple[str, ...] = (),
           shared: tuple[str, ...] = (), cell: int = 30) -> None:
    """Grids side by side as one group: titles in `images` are pictures (grayscale 0..1), the rest signed
    numbers; titles in `shared` are compared, so they share one colour range."""
    together = signed_scale(*(A for title, A in named if title in shared))
    panels = []
    for title, A in named:
        scale = IMAGE if title in images else together if title in shared else signed_scale(A)
        grid = view_data(A, name=f"{key}.{title}", scale=scale, title=title, max_cell=cell,
                         height=cell * A.shape[0], bare=True)
        panels.append(panel(title, [grid]))
    grid_group(key, panels)


def _verdict(name: str, verdict: Verdict) -> None:
    """Show a checked answer; a right one counts as done."""
    if verdict.correct:
        progress.mark_done(f"exercise.{name}")
        st.success(verdict.message, icon=":material/check_circle:")
    else:
        st.warning(f"**Not yet.** {verdict.message}", icon=":material/lightbulb:")


def _hints(*hints: str) -> None:
    with st.expander("Hints", icon=":material/help:"):
        for i, hint in enumerate(hints, start=1):
            st.markdown(f"{i}. {hint}")


def _revealed(name: str) -> bool:
    """The answer is shown: the learner asked for it, or the teacher view shows every answer."""
    if progress.teacher_view():
        return True
    return st.toggle("Reveal the answer", key=f"ex.{name}.reveal")


def _predict(name: str, question: Question, label: str) -> str | None:
    """A prediction among the question's choices -> the chosen key (None until one is picked), checked."""
    labels = {c.key: c.label for c in question.choices}
    guess = st.radio(label, list(labels), format_func=labels.get, index=None, key=f"ex.{name}.guess")
    if guess is not None:
        _verdict(name, question.check(guess))
    return guess


def _typed_kernel(name: str, label: str, placeholder: str, *, matrix: bool = False,
                  check: Callable[[np.ndarray], Verdict]) -> np.ndarray | None:
    """A kernel (or matrix) typed as numbers, parsed and checked -> the grid, or None if nothing usable."""
    widget = st.text_area if matrix else st.text_input
    text = widget(label, key=f"ex.{name}.answer", placeholder=placeholder)
    if not text.strip():
        return None
    try:
        K = parse_grid(text, name="matrix" if matrix else "kernel", max_rows=9 if matrix else 7,
                       max_cols=9 if matrix else 7)
    except ValueError as exc:
        st.error(escape_markdown(str(exc), max_chars=300), icon=":material/error:")
        return None
    _verdict(name, check(K))
    return K


def diagonal() -> None:
    st.header("1 · Diagonal edges")
    X, K = diagonal_edge_image(), kernel_preset("edge")
    Y, question = diagonal_question(X)
    st.markdown("An image with a diagonal edge: white on and below the diagonal, black above it. What does "
                "the lesson's edge detector `[1, −1]` make of it?")
    _grids("ex1a", ("X", X), ("K", K), images=("X",))
    guess = _predict("diagonal", question, "Your prediction")
    if guess is None and not progress.teacher_view():
        st.info("Make a prediction to see the output and try variations.", icon=":material/psychology:")
        return
    variants = {"X, K": (X, K), "X.T, K": (X.T, K), "X, K.T": (X, K.T), "X.T, K.T": (X.T, K.T)}
    pick = st.radio("Try: transpose the image, the kernel, or both", list(variants), horizontal=True,
                    key="ex.diagonal.try")
    A, B = variants[pick]
    shown = [(f"corr2d({pick})", corr2d(A, B))] if pick != "X, K" else []
    shown.append(("corr2d(X, K)", Y))
    _grids("ex1b", *shown, shared=tuple(title for title, _ in shown))
    if _revealed("diagonal"):
        st.info(f"**Answer: {question.right.label}.** {question.why}", icon=":material/visibility:")
    _hints("Read one row of X from left to right. Where does it change, and how?",
           "`[1, −1]` computes *left − right*. White (1) then black (0) gives …?")


def transpose_k() -> None:
    st.header("2 · Transpose the kernel instead of the image")
    X, K = image_preset("stripes"), kernel_preset("edge")
    Y, question = transposed_kernel_question()
    st.markdown("In the lesson, transposing the image made `[1, −1]` blind. Keep the stripes `X` as they are "
                "and transpose the kernel instead: what is `corr2d(X, K.T)`?")
    _grids("ex2a", ("X", X), ("K.T", K.T.copy()), images=("X",))
    guess = _predict("transpose_k", question, "Your prediction")
    if guess is None and not progress.teacher_view():
        st.info("Make a prediction to see the output.", icon=":material/psychology:")
        return
    both, turned = corr2d(X.T, K.T), corr2d(X, K).T
    _grids("ex2b", ("corr2d(X, K.T)", Y), ("corr2d(X, K)", corr2d(X, K)), ("corr2d(X.T, K.T)", both),
           shared=("corr2d(X, K.T)", "corr2d(X, K)", "corr2d(X.T, K.T)"))
    same = "equal, cell for cell" if np.array_equal(both, turned) else "NOT equal"
    st.caption(f"Computed now: `corr2d(X.T, K.T)` and `corr2d(X, K).T` are {same}.")
    if _revealed("transpose_k"):
        st.info(f"**Answer: {question.right.label}.** {question.why}", icon=":material/visibility:")
    _hints("`K.T = [[1], [−1]]` is a column: it compares each cell with the one *below* it.",
           "Walk down one column of the stripes. Does the colour ever change?")


def edge_detector() -> None:
    st.header("3 · Design an edge detector")
    labels = {key: d.label for key, d in EDGE_DIRECTIONS.items()}
    key = st.selectbox("Edges "
                       "to detect", list(labels), format_func=labels.get, key="ex.edge_detector.direction")
    d = EDGE_DIRECTIONS[key]
    st.markdown(f"Type a kernel that responds to **{d.label}** — where the brightness changes {d.rises} — "
                f"and to nothing else: 0 on a flat image and 0 on edges of other directions. It is checked "
                f"on a flat image and on ramps along and across the edge; any size up to 7×7 is fine.")
    K = _typed_kernel("edge_detector", "Your kernel (rows separated by ;)", "e.g. -1, 1   or   1 0; 0 -1",
                      check=lambda K: check_edge_detector(K, key))
    if K is not None:
        circle = image_preset("circle", (12, 12))
        _grids("ex3", ("circle", circle), ("your kernel", K), ("its response", corr2d(circle, K)),
               images=("circle",))
        st.caption("A circle has edges in every direction: your kernel should light up only where the rim "
                   "runs the way you chose.")
    if _revealed("edge_detector"):
        answer = edge_detector_answer(key)
        st.info(f"**One answer: `{kernel_text(answer)}`** — the difference of two neighbours across the "
                f"edge. Any nonzero multiple works, as do larger kernels that average along the edge (Sobel, "
                f"Prewitt).",
                icon=":material/visibility:")
    _hints("The weights must add up to 0, so a flat image gives 0.",
           f"Put a positive weight on one side of the edge and a negative one on the other side, {d.rises}.")


def second_derivative() -> None:
    st.header("4 · The second derivative")
    st.markdown("Type the finite difference for the second derivative f″ along a row (x is the column). It "
                "is checked on 1, x, x² and on images that change from row to row.")
    f = (np.arange(10.0) ** 2)[None, :]
    K = _typed_kernel("second_derivative", "Your kernel", "e.g. 1, -1", check=check_second_derivative)
    if K is not None and K.shape[0] == 1 and K.shape[1] <= 10:
        _grids("ex4", ("f(x) = x²", f), ("your kernel", K), ("its output", corr2d(f, K)), cell=34)
    if _revealed("second_derivative"):
        st.info(f"**Answer: `{kernel_text(SECOND_DERIVATIVE)}`** = (f(x+1) − f(x)) − (f(x) − f(x−1)), the "
                f"difference of two first differences; it gives 2 on x² everywhere. Three taps is the "
                f"smallest "
                f"kernel that can: it must ignore 1 and x and still see x².", icon=":material/visibility:")
    _hints("Take the difference of two neighbouring first differences.",
           "It must give 0 on a constant and on x, and 2 (the second derivative of x²) on x².")


def box_sum() -> None:
    st.header("5 · A box “integral”")
    st.markdown("Type a 3×3 kernel whose output at every cell is the **sum** of the 3×3 window — the "
                "discrete integral of the image over the window. It is checked on random images against sums "
                "computed another way (an integral image).")
    K = _typed_kernel("box_sum", "Your 3×3 kernel", "three rows separated by ;", check=check_box_sum)
    if K is not None:
        X = np.random.default_rng(7).integers(0, 4, (6, 6)).astype(np.float64)
        sums = corr2d(X, box_sum_answer())
        mine = corr2d(X, K) if K.shape == (3, 3) else None
        if mine is not None:
            _grids("ex5", ("X", X), ("your output", mine), ("window sums", sums),
                   shared=("your output", "window sums"))
    if _revealed("box_sum"):
        st.info("**Answer: every weight 1** (`[[1, 1, 1], [1, 1, 1], [1, 1, 1]]`). With 1/9 everywhere you "
                "get the mean instead — the box blur.", icon=":material/visibility:")
    _hints("Every pixel of the window counts once, none more than another.",
           "Which weight leaves a pixel's value unchanged when multiplied?")


def derivative() -> None:
    st.header("6 · The smallest kernel for a d-th derivative")
    d = st.number_input("Order of the derivative d", 1, MAX_DERIVATIVE, value=3, key="ex.derivative.d")
    xd = power_text(int(d))
    st.markdown(f"Type the smallest one-row kernel that computes the {ordinal(int(d))} derivative along x: "
                f"it must ignore every polynomial of degree below {d} and give {d}! on {xd}. Checked on "
                f"1, x, …, {xd}.")
    K = _typed_kernel("derivative", "Your kernel", "one row of numbers",
                      check=lambda K: check_derivative_kernel(K, int(d)))
    if K is not None and K.shape[0] == 1 and K.shape[1] < 12:
        f = (np.arange(12.0) ** int(d))[None, :]
        _grids("ex6", ("your kernel", K), (f"its output on {xd}", corr2d(f, K)), cell=40)
    if _revealed("derivative"):
        st.info(f"**Answer: `{kernel_text(derivative_kernel(int(d)))}`** — the binomial coefficients C({d}, "
                f"k) with alternating signs, {d} + 1 taps: the {ordinal(int(d))} difference.",
                icon=":material/visibility:")
    _hints("Apply the first difference `[−1, 1]` d times: each application is one more derivative, and one "
           "more tap.", "Pascal's triangle gives the sizes of the weights.")


def _run_autograd(size: str) -> AutogradReport:
    """Differentiate the loop and F.conv2d on inputs of `size`, timed now; kept for this session's reruns."""
    (H, W), (h, w) = AUTOGRAD_SIZES[size]
    rng = np.random.default_rng(0)
    X = image_preset("stripes") if (H, W) == (6, 8) else rng.random((H, W))
    ss["ex.autograd.report"] = report = autograd_comparison(X, rng.random((h, w)), repeats=3)
    ss["ex.autograd.ran"] = size
    return report


def autograd() -> None:
    st.header("7 · Automatic differentiation of the loop")
    st.markdown("The lesson's first `corr2d` fills a tensor of zeros cell by cell. What happens when "
                "PyTorch's autograd differentiates it, compared with `F.conv2d`?")
    show_source(corr2d_loop)
    report = ss.get("ex.autograd.report")
    question = autograd_question(report) if report is not None else None
    labels = {c.key: c.label for c in AUTOGRAD_CHOICES}
    guess = st.radio("Your "
                     "prediction", list(labels), format_func=labels.get, index=None, key="ex.autograd.guess")
    size = st.radio("Size", list(AUTOGRAD_SIZES), horizontal=True, key="ex.autograd.size")
    ready = guess is not None or progress.teacher_view()
    clicked = st.button("Run both, with gradients", key="ex.autograd.run", disabled=not ready,
                        icon=":material/play_arrow:")
    if clicked or (report is None and progress.teacher_view()):  # the teacher's answer needs a run
        report = _run_autograd(size)
        question = autograd_question(report)
    if not ready:
        st.info("Make a prediction, then run both.", icon=":material/psychology:")
        return
    if report is None:
        return
    if guess is not None:
        _verdict("autograd", question.check(guess))
    if report.error is None:
        _grids("ex7", ("∂L/∂K, loop", report.grad_K_loop), ("∂L/∂K, F.conv2d", report.grad_K_torch),
               shared=("∂L/∂K, loop", "∂L/∂K, F.conv2d"), cell=40)
        st.markdown(f"On {ss.get('ex.autograd.ran', size)}, for the loss L = sum(G · Y) with a random G: the "
                    f"gradients with respect to K and X differ by at most **{report.max_difference:.1e}** "
                    f"(float32 rounding). Forward and backward took **{report.loop_seconds * 1e3:.2f} ms** "
                    f"through the loop and **{report.torch_seconds * 1e3:.3f} ms** through `F.conv2d`: the "
                    f"loop is **{report.slowdown:.0f}× slower**, measured just now.")
    else:
        st.error(escape_markdown(report.error, max_chars=300))
    if _revealed("autograd"):
        st.info(f"**Answer: {question.right.label}.** {question.why}", icon=":material/visibility:")
    _hints("PyTorch records in-place writes into a tensor as steps of the graph.",
           "Two ways to compute the same function have the same gradient.")


def matrix() -> None:
    st.header("8 · Cross-correlation as a matrix product")
    Y = corr2d(LESSON_X, LESSON_K)
    st.markdown("Write the lesson's `corr2d(X, K)` with `X` 3×3 and `K = [[0, 1], [2, 3]]` as one matrix "
                "product: a 4×9 matrix `M` with `M @ vec(X) = vec(Y)`, where `vec` reads a grid row by row "
                "(cell (a, b) is entry 3a + b). Type M's four rows, one per output cell.")
    _grids("ex8a", ("X", LESSON_X), ("K", LESSON_K), ("Y = corr2d(X, K)", Y), cell=40)
    M = _typed_kernel("matrix", "Your matrix M (4 rows of 9 numbers, rows separated by ; or new lines)",
                      "0 1 0 2 3 0 0 0 0\n…", matrix=True,
                      check=lambda M: check_correlation_matrix(M, LESSON_K, LESSON_X.shape))
    if M is not None and M.shape[1] == LESSON_X.size:
        product = (M @ LESSON_X.ravel())[:, None]
        _grids("ex8b", ("your M", M), ("M @ vec(X)", product), ("vec(Y)", Y.reshape(-1, 1)),
               shared=("M @ vec(X)", "vec(Y)"), cell=28)
    if _revealed("matrix"):
        right = correlation_matrix(LESSON_K, LESSON_X.shape)
        _grids("ex8c", ("M", right), ("M @ vec(X)", (right @ LESSON_X.ravel())[:, None]), cell=28)
        st.info("**Answer:** row r holds K's four weights at the columns of output cell r's window, zeros "
                "elsewhere. The same works for any input size: M has one row per output cell and one column "
                "per input cell, and Mᵀ is the transposed convolution.", icon=":material/visibility:")
    _hints("Output cell (0, 0) reads input cells (0, 0), (0, 1), (1, 0), (1, 1): entries 0, 1, 3, 4 of "
           "vec(X).",
           "Each next row is the previous window shifted by one column (or one row: three columns).")


def exercises() -> None:
    st.title("Exercises")
    st.caption("The section's exercises, each checked by computing: predict, try, then reveal. Kernels are "
               "typed as numbers: `1, -2, 1` for a row, `1 0; 0 -1` for two rows, fractions such as `1/9` "
               "welcome.")
    progress.show([f"exercise.{name}" for name in EXERCISES], noun="exercises")
    for exercise in (diagonal, transpose_k, edge_detector, second_derivative, box_sum, derivative, autograd,
                     matrix):
        with st.container(border=True):
            exercise()


exercises()
