"""Lesson: convolutions for images — the seed lesson step by step, every number computed live, its own
random runs replayed digit for digit from draws ConvLab recovers from the printouts."""

import numpy as np
import streamlit as st

from convlab import conv2d, corr2d, corr2d_loop, explain_cell, output_shape
from convlab.colour import IMAGE, signed_scale
from convlab.figures import loss_landscape_figure
from convlab.layers import Conv2D
from convlab.lesson import (
    D2L_K,
    EDGE_K,
    EPOCHS,
    FIRST_X,
    KERNEL_SHAPE,
    LR,
    NOTEBOOK,
    NotebookReplay,
    curvature,
    descent_limit,
    learning_path,
    replay_notebook,
    stripes,
)
from convlab.recovery import replay_module
from convlab.training import KernelTrainer, TrainConfig, loss_landscape
from ui import share
from ui import workspace as ws
from ui.grid import grid_group, panel, view_data
from ui.progress import is_done, mark_done, teacher_view
from ui.state import require_entry_script, visit
from ui.widgets import cell_text, printout, scroll_to_top, show_source

require_entry_script()
ss = st.session_state
PLOT_CONFIG = {"displayModeBar": False}
KEEP = {"persist_state": "session"}  # a widget keeps its value while another step is shown
FLIP_K = D2L_K[::-1, ::-1].copy()


@st.cache_data(show_spinner="Recovering the notebook's random draws from its printouts…")
def _notebook() -> NotebookReplay:
    """The notebook rerun from its recovered draws: a pure function of constants (each call gets a copy)."""
    return replay_notebook()


def _grids(*named: tuple[str, np.ndarray], key: str, cell: int = 44, shared: tuple[str, ...] = (),
           images: tuple[str, ...] = (), decimals: int = 2) -> None:
    """Show grids side by side (one grid group, one element) with their values written in, cells of one size.

    Grids titled in `images` are pictures: grayscale, 1 white and 0 black as in the lesson. Every other
    grid is numbers on the signed scale (0 white); the grids titled in `shared` are compared, so they
    share one colour range.
    """
    together = signed_scale(*(A for title, A in named if title in shared))
    panels = []
    for title, A in named:
        scale = IMAGE if title in images else together if title in shared else signed_scale(A)
        grid = view_data(A, name=f"{key}.{title}", scale=scale, title=title, max_cell=cell,
                         height=cell * A.shape[0], decimals=decimals)
        panels.append(panel(title, [grid]))
    grid_group(key, panels)


def _choose(key: str, choice: str) -> None:
    ss[key] = choice


def _predict(step: int, question: str, answers: dict[str, tuple[bool, str]], key: str) -> bool:
    """Ask first; once the learner answers, that answer's own feedback (and the step counts as done).

    `answers`: choice -> (right?, feedback), one button each (`{key}.{i}`; the chosen one is filled), the
    choice kept in `ss[key]`. Buttons, not a radio: the lesson's first screen then needs no other widget
    family's code (each costs the cold load 0.1-0.3 s, benchmarks/bench_app.py). In the teacher view the
    right answer shows at once. Returns True when the answer may be revealed.
    """
    guess = ss.get(key)
    waiting = guess not in answers and not teacher_view()
    hint = " *Pick an answer to reveal the result.*" if waiting else ""
    st.markdown(f"**Predict first.** {question}{hint}")
    with st.container(horizontal=True, key=f"{key}.choices"):
        for i, choice in enumerate(answers):
            st.button(choice, key=f"{key}.{i}", type="primary" if choice == guess else "secondary",
                      on_click=_choose, args=(key, choice))
    if guess not in answers:
        if teacher_view():
            right = next(choice for choice, (ok, _) in answers.items() if ok)
            st.success(f"**Answer:** {right}. {answers[right][1]}", icon=":material/school:")
            return True
        return False
    ok, feedback = answers[guess]
    if ok:
        st.success(f"**Right!** {feedback}", icon=":material/check_circle:")
    else:
        st.warning(f"**Not quite.** {feedback}", icon=":material/lightbulb:")
    mark_done(f"lesson.{step}")
    return True


def _printouts(*keys: str, expanded: bool = False, what: str | None = None) -> None:
    """The notebook's printouts beside ConvLab's replay of the same cells, and whether they agree."""
    replay = _notebook().printouts
    what = what or "The notebook's printout" + ("s" if len(keys) > 1 else "")
    label = f"{what} beside ConvLab's replay"
    with st.expander(label, expanded=expanded, icon=":material/terminal:"):
        left, right = st.columns(2)
        left.caption("The notebook printed")
        right.caption("ConvLab reruns the cell now and prints")
        for key in keys:
            printout(NOTEBOOK[key], where=left)
            printout(replay[key], where=right)
        if all(replay[key] == NOTEBOOK[key] for key in keys):
            st.caption("Identical, character for character.")
        else:
            st.error("The replay differs from the notebook's printout.")


def _open_playground(state: share.PlaygroundState, key: str) -> None:
    if st.button("Open in the Playground", key=key, icon=":material/brush:"):
        ws.load(state)
        st.switch_page("pages/playground.py")


def _open_train(key: str, label: str, X: np.ndarray, settings: dict, icon: str) -> None:
    """A button opening the Train page on input X, set up by `settings` (its widgets' session-state keys)."""
    if st.button(label, key=key, icon=icon):
        lesson_setup = {"tr.target": "preset", "tr.true_preset": "edge", "tr.lr": LR, "tr.optimizer": "sgd",
                        "tr.loss": "sum", "tr.bias": False, "tr.epochs": EPOCHS, "tr.seed": 0,
                        "tr.init": "uniform", "tr.noise": 0.0}
        ss.update({**lesson_setup, **settings})
        ss["tr.X"] = X.copy()
        ss["tr.X_rev"] = ss.get("tr.X_rev", 0) + 1
        st.switch_page("pages/train.py")


def _n(v: float) -> str:
    """A number in running text: up to 4 decimals, a typographic minus."""
    return cell_text(float(v), 4)


def _shape(shape: tuple[int, int]) -> str:
    return f"{shape[0]}×{shape[1]}"


def step_first_example() -> None:
    st.header("1 · The 3×3 example, and the output's size")
    st.markdown("Cross-correlation slides the kernel `K` over the input `X`; each output cell is the sum "
                "of the window times the kernel. The lesson's loop:")
    show_source(corr2d_loop)
    Y = corr2d(FIRST_X, D2L_K)
    _grids(("X", FIRST_X), ("K", D2L_K), ("Y = corr2d(X, K)", Y), key="l1")
    e = explain_cell(FIRST_X, D2L_K, 0, 0)
    terms = " + ".join(f"{w:g}·{k:g}" for w, k in zip(e.window.ravel(), e.kernel.ravel(), strict=True))
    st.markdown(f"For example `Y[0, 0] = {terms} = {e.value:g}`. This kernel and its answer "
                f"`{Y.astype(int).tolist()}` come from the d2l book (*Dive into Deep "
                "Learning*, §7.2), not from the notebook: the notebook's kernel was random — step 2 "
                "recovers it.")
    _open_playground(share.PlaygroundState(X=FIRST_X, K=D2L_K), "l1.open")

    st.subheader("How big is the output?")
    X, K = stripes(), EDGE_K
    size_answers = {
        "6×8": (False, "That keeps the input's size, which needs zero padding around the input. Without "
                       "it the kernel must fit inside: a 1×2 kernel has only 7 places in a row of 8."),
        "6×7": (True, "The kernel is one row high, so it fits in all 6 rows, and two columns wide, so it "
                      "fits in 8 − 2 + 1 = 7 places along a row."),
        "5×7": (False, "The columns are right (8 − 2 + 1 = 7), but the kernel is only one row high: it fits "
                       "in every one of the 6 rows (6 − 1 + 1 = 6)."),
        "5×8": (False, "Rows and columns are swapped: the kernel is 1 row by 2 columns, so the rows stay 6 "
                       "and the columns drop by one, to 7."),
    }
    if not _predict(1, f"Step 4's stripes `X` are {_shape(X.shape)} and the kernel `[1, −1]` is "
                       f"{_shape(K.shape)}. What shape is `Y = corr2d(X, K)`?", size_answers, "l1.size"):
        return
    rows = [("the 3×3 example", FIRST_X.shape, D2L_K.shape), ("the stripes X", X.shape, K.shape),
            ("the transposed stripes X.T", X.T.shape, K.shape)]
    table = "\n".join(f"| {name} | {_shape(x)} | {_shape(k)} | {x[0]} − {k[0]} + 1 = {y[0]} | "
                      f"{x[1]} − {k[1]} + 1 = {y[1]} | **{_shape(y)}** |"
                      for name, x, k in rows for y in [output_shape(x, k)])
    st.markdown("Along each axis a kernel of k cells fits in **n − k + 1** positions of an input of n "
                "cells, one output cell per position:\n\n"
                "| input | n | k | rows | columns | output |\n|---|---|---|---|---|---|\n" + table)
    _printouts("shapes")


def step_layer() -> None:
    st.header("2 · The notebook's layer: a learnable kernel plus one bias")
    st.markdown("The notebook wraps the loop in a PyTorch module with two parameters: the kernel, "
                "`self.weight = nn.Parameter(torch.rand(kernel_size))` — random, uniform in [0, 1) — and "
                "the bias, `self.bias = nn.Parameter(torch.zeros(1))`. Its forward is "
                "`corr2d(X, self.weight) + self.bias`.")
    with st.expander("ConvLab's copy of the module", icon=":material/code:"):
        show_source(Conv2D)
    answers = {
        "4": (False, "Those are the kernel's weights; the layer learns its bias too — `self.bias`, one "
                     "number added to every output cell."),
        "5": (True, "Four kernel weights and one bias. The bias is a single scalar shared by every output "
                    "cell: `corr2d(X, weight) + bias`."),
        "8": (False, "Four weights, yes, but not a bias per output cell: `torch.zeros(1)` is one number, "
                     "added to every cell."),
        "9": (False, "The layer learns a kernel, not one number per input pixel: its size does not depend "
                     "on the image's."),
    }
    _predict(2, "How many numbers does `conv2d((2, 2))` learn?", answers, "l2.params")

    st.subheader("The notebook's random kernel, recovered")
    family = _notebook().kernel
    st.markdown("The notebook ran the layer once on `X = arange(9).reshape(3, 3)` and printed its output. "
                "Its random kernel was never printed, but the output gives it away: ConvLab finds a kernel "
                "that torch.rand could have drawn and that prints the very same digits.")
    _printouts("first example", expanded=True)
    base = family.base.astype(np.float64)
    total, fixed = base.sum(), base.ravel() @ FIRST_X[:2, :2].ravel()
    d1, d2 = family.directions
    st.markdown(
        "**Why it cannot be the notebook's exact kernel.** The four windows of `arange(9)` are "
        "`[[a, a+1], [a+3, a+4]]` for a = 0, 1, 3, 4: each is the first window plus a constant. So every "
        "output is `0·k₁ + 1·k₂ + 3·k₃ + 4·k₄` plus `a` times the kernel's sum — two numbers, "
        f"{cell_text(fixed, 4)} and {cell_text(total, 4)}, whatever the four weights are. Four unknowns, "
        "two equations: a whole plane of kernels prints the same output. Adding any multiple of "
        f"`{d1.astype(int).tolist()}` or `{d2.astype(int).tolist()}` (each sums to 0 and gives 0 on the "
        "first window) changes no output. Move along the plane:")
    left, right = st.columns(2)
    s = left.slider(f"Add s × {d1.astype(int).tolist()}", -0.3, 0.3, 0.0, 0.01, key="l2.s", **KEEP)
    t = right.slider(f"Add t × {d2.astype(int).tolist()}", -0.3, 0.3, 0.0, 0.01, key="l2.t", **KEEP)
    K = family.kernel(s, t)
    out = replay_module(FIRST_X, K)
    Y = out.detach().numpy().astype(np.float64)
    _grids(("kernel", K), ("output", Y), key="l2", decimals=4)
    printout(repr(out))
    same = [[f"{v:.4f}" for v in row] for row in Y] == [list(row) for row in family.printout]
    drawable = bool(((K >= 0) & (K < 1)).all())
    st.markdown(("The output prints the notebook's digits. " if same else
                 "The output moved in the last digit (float32 rounding). ")
                + ("torch.rand could have drawn this kernel too." if drawable else
                   "This kernel has a weight outside [0, 1): torch.rand could never draw it, yet the output "
                   "is the same."))


def step_convolution() -> None:
    st.header("3 · Correlation vs convolution")
    st.markdown("A true convolution flips the kernel on both axes (turns it by 180°) before sliding it. "
                "Try one cell by hand, with the 3×3 example's `X` and `K = [[0, 1], [2, 3]]`:")
    right_value = float(conv2d(FIRST_X, D2L_K)[0, 0])
    corr_value = float(corr2d(FIRST_X, D2L_K)[0, 0])
    guess = st.columns(3)[0].number_input("conv2d(X, K)[0, 0] =", value=None, step=1.0, format="%g",
                                          key="l3.guess", placeholder="your number", **KEEP)
    explain = (f"flip `K` to `{FLIP_K.astype(int).tolist()}`, then multiply it with the window "
               f"`[[0, 1], [3, 4]]` cell by cell: 0·3 + 1·2 + 3·1 + 4·0 = {right_value:g}.")
    if guess is None and not teacher_view():
        st.info("Type your number to reveal the answer.", icon=":material/psychology:")
        return
    if guess is None:
        st.success(f"**Answer:** {right_value:g}: {explain}", icon=":material/school:")
    elif guess == right_value:
        st.success(f"**Right!** You {explain}", icon=":material/check_circle:")
    elif guess == corr_value:
        st.warning(f"**Not quite.** {corr_value:g} is the *cross-correlation*: convolution first turns the "
                   f"kernel by 180°. So {explain}", icon=":material/lightbulb:")
    else:
        st.warning(f"**Not quite.** {guess:g} is neither the convolution nor the correlation "
                   f"({corr_value:g}): {explain}", icon=":material/lightbulb:")
    if guess is not None:
        mark_done("lesson.3")
    st.markdown("So a convolution *is* a cross-correlation with the flipped kernel: "
                "**`conv2d(X, K) = corr2d(X, flip(K))`**. Deep-learning libraries compute cross-correlation "
                "and call it convolution: when the kernel is *learned*, the flip makes no difference — the "
                "network simply learns the flipped kernel (step 6 shows it).")
    _grids(("K flipped", FLIP_K), ("corr2d(X, K)", corr2d(FIRST_X, D2L_K)),
           ("conv2d(X, K)", conv2d(FIRST_X, D2L_K)), ("corr2d(X, K flipped)", corr2d(FIRST_X, FLIP_K)),
           key="l3", shared=("corr2d(X, K)", "conv2d(X, K)", "corr2d(X, K flipped)"))
    _open_playground(share.PlaygroundState(X=FIRST_X, K=D2L_K, mode="convolution"), "l3.open")


def step_edges() -> None:
    st.header("4 · Edge detection: `[1, −1]` finds vertical edges")
    X, K = stripes(), EDGE_K
    st.markdown("A 6×8 image, white (1) with a black (0) band, and the kernel `[1, −1]`:")
    _grids(("X", X), ("K", K), key="l4a", cell=34, images=("X",))
    answers = {
        "In columns 1 and 5: the two vertical edges": (
            True, "Each output compares a pixel with its right-hand neighbour, so only where white meets "
                  "black along a row is it not 0."),
        "In two rows: the horizontal edges": (
            False, "`[1, −1]` compares each pixel with its right-hand neighbour: it sees changes along a "
                   "row, and the boundaries here run top to bottom."),
        "Wherever the image is white": (
            False, "The kernel responds to change, not to brightness: white beside white gives 1 − 1 = 0."),
        "In columns 2 and 6, where the band starts and ends": (
            False, "Close, but output column j reads input columns j and j + 1: the edge between input "
                   "columns 1 and 2 lands in output column 1."),
    }
    if not _predict(4, "Where will `Y = corr2d(X, K)` be non-zero?", answers, "l4.guess"):
        return
    Y = corr2d(X, K)
    _grids(("Y = corr2d(X, K)", Y), key="l4", cell=34)
    lines = []
    for j in (1, 5):
        e = explain_cell(X, K, 0, j)
        a, b = e.window.ravel()
        lines.append(f"`Y[i, {j}] = X[i, {j}]·1 + X[i, {j + 1}]·(−1) = {a:g} − {b:g} = {e.value:g}`")
    st.markdown(
        "**Vertical, not horizontal.** The notebook says this kernel detects *horizontal* edges; it does "
        "not. The boundaries between white and black here run top to bottom — they are **vertical** "
        "edges — and `[1, −1]`, which takes each pixel minus its right-hand neighbour, responds only to "
        "changes along a row, that is to vertical edges (step 5 shows it is blind to horizontal ones).\n\n"
        "**Why columns 1 and 5.** Output column j reads input columns j and j + 1. Columns 0–1 are white, "
        "2–5 black, 6–7 white:\n\n- " + "\n- ".join(lines) + "\n\nso white-to-black gives +1 in column 1, "
        "black-to-white −1 in column 5, and every pair of equal neighbours 0.")
    with st.expander("Feature map and receptive field", icon=":material/visibility:"):
        st.markdown(
            "`Y` is a **feature map**: a map of where the feature the kernel looks for (here a vertical "
            "edge) occurs in the image. Each cell of it sees only the window it was computed from — "
            "`Y[i, j]` sees `X[i, j]` and `X[i, j+1]` — its **receptive field** (the Playground outlines it "
            "when you click an output cell). Stack a second layer and the field grows: `Z = corr2d(Y, K)` "
            "reads two neighbouring cells of `Y`, which between them read three of `X`.")
        j = st.slider("Column j of Z[0, j]", 0, Y.shape[1] - 2, 2, key="l4.field", **KEEP)
        in_Y, in_X = np.zeros_like(Y), np.zeros_like(X)
        in_Y[0, j:j + 2] = 1.0
        in_X[0, j:j + 3] = 1.0
        _grids(("Z = corr2d(Y, K)", corr2d(Y, K)), ("cells of Y that Z[0, j] reads", in_Y),
               ("its receptive field in X", in_X), key="l4.fields", cell=26)
    _printouts("X", "K", "Y")
    _open_playground(share.PlaygroundState(X=X, K=K), "l4.open")


def step_transposed() -> None:
    st.header("5 · Predict, then reveal: the transposed image")
    X, K = stripes().T.copy(), EDGE_K
    st.markdown("Now the band is horizontal. What does `[1, −1]` find in `X.T`?")
    _grids(("X.T", X), ("K", K), key="l5a", cell=34, images=("X.T",))
    answers = {
        "The same edges as before": (
            False, "The kernel does not turn with the image: it still compares each pixel with its "
                   "right-hand neighbour, and along every row of `X.T` all pixels are equal."),
        "Horizontal edges (±1 in rows)": (
            False, "That is what the transposed kernel `[[1], [−1]]` finds. `[1, −1]` compares along rows, "
                   "and each row of `X.T` is all white or all black."),
        "Nothing: all zeros": (
            True, "Along every row of `X.T` nothing changes, so every output is 0: `[1, −1]` is blind to "
                  "horizontal edges."),
    }
    if not _predict(5, "Your prediction", answers, "l5.guess"):
        return
    Y = corr2d(X, K)
    st.markdown(f"`X.T` is {_shape(X.shape)}, so the output is {X.shape[0]} × ({X.shape[1]} − 2 + 1) = "
                f"{_shape(Y.shape)}, and all zeros:")
    K_t = EDGE_K.T.copy()
    _grids(("corr2d(X.T, K)", Y), ("K.T = [[1], [−1]]", K_t), ("corr2d(X.T, K.T)", corr2d(X, K_t)),
           key="l5b", cell=30, shared=("corr2d(X.T, K)", "corr2d(X.T, K.T)"))
    st.markdown("The transposed kernel `[[1], [−1]]` compares each cell with the one *below*: it finds "
                "the horizontal edges.")
    _printouts("X.T")
    _open_playground(share.PlaygroundState(X=X, K=K_t), "l5.open")


@st.cache_data(show_spinner=False)
def _notebook_path() -> np.ndarray:
    """(11, 2) float64: the notebook's weights before its first update and after each of its 10."""
    X = stripes()
    return learning_path(X, corr2d(X, EDGE_K), _notebook().start.start).astype(np.float64)


@st.cache_data(show_spinner=False)
def _your_run(seed: int) -> tuple[list[float], np.ndarray, np.ndarray]:
    """The lesson's 10 epochs (lr 3e-2, summed squares, plain SGD) from a seeded start -> (losses, initial,
    final weights)."""
    X = stripes()
    config = TrainConfig(seed=seed)
    trainer = KernelTrainer(X, corr2d(X, EDGE_K), config)
    steps = [trainer.step() for _ in range(config.epochs)]
    return [s.loss for s in steps], trainer.initial_weight, steps[-1].weight


def _landscape() -> None:
    """The loss over the two weights with the notebook's path, and its caption (numbers from the core)."""
    X = stripes()
    Y = corr2d(X, EDGE_K)
    c = curvature(X, KERNEL_SHAPE)
    fig = loss_landscape_figure(loss_landscape(X, Y), path=_notebook_path(), optimum=(1.0, -1.0), height=420)
    chart, caption = st.columns([3, 2], vertical_alignment="center")
    chart.plotly_chart(fig, config=PLOT_CONFIG, key="l6.landscape")
    low, high = c.eigenvalues
    shrink, zigzag = (_n(f) for f in c.factor(LR))
    caption.caption(f"The notebook's ten steps from its recovered start. The bowl is steep along (1, 1) "
                    f"(curvature λ = {high:g}) and shallow along (1, −1) (λ = {low:g}). Each step multiplies "
                    f"the error along (1, 1) by 1 − {LR:g}·{high:g} = {zigzag}: it overshoots and changes "
                    f"side every epoch — the zigzag — while along (1, −1) it shrinks by 1 − {LR:g}·{low:g} = "
                    f"{shrink} without turning.")


def step_learning() -> None:
    st.header("6 · Learning the kernel")
    st.markdown("Can we recover `[1, −1]` from the image and its edge map alone? Start from random weights "
                "and repeat, for each **epoch** (one pass over the whole image; here one update):\n"
                "- predict `Ŷ = corr2d(X, w)` and measure the loss, the summed squared error `Σ (Y − Ŷ)²`;\n"
                "- compute the **gradient**: for each weight, how fast the loss grows as that weight grows;\n"
                "- step against it: `w ← w − lr · gradient`. The **learning rate** `lr` (here 3e-2) sets how "
                "far each step goes.")
    start = _notebook().start.start
    theirs, yours = st.tabs(["The notebook's run, replayed", "Your own random start"])
    with theirs:
        inside = "inside" if np.abs(start).max() < 1 / np.sqrt(2) else "outside"
        st.markdown("The notebook started from `nn.LazyConv2d`'s random weights and printed only the losses "
                    "and the final kernel. From those twelve numbers ConvLab recovers a start, "
                    f"`[{start[0, 0]:.4f}, {start[0, 1]:.4f}]` — {inside} the layer's initialisation range "
                    "±1/√2 ≈ ±0.7071 — and reruns the notebook's loop (on `X` and `Y` reshaped to 1×1×6×8 "
                    "and 1×1×6×7, as `nn.LazyConv2d` wants them) from it:")
        _printouts("X, Y", what="The notebook's reshaped X and Y")
        _printouts("training", "weight", expanded=True, what="The notebook's losses and learned kernel")
        _grids(("recovered start", start.astype(np.float64)), ("learned", _notebook_path()[-1:]),
               ("target [1, −1]", EDGE_K), key="l6", shared=("recovered start", "learned", "target [1, −1]"),
               decimals=4)
        with st.expander("How can a random start be recovered?", icon=":material/search:"):
            st.markdown(
                "The loss `Σ (Y − corr2d(X, w))²` is quadratic in the two weights, and each SGD step is "
                "affine (`w ← w − lr · 2PᵀP (w − [1, −1])`, with P the image's windows). So every printed "
                "loss and the printed final weights are smooth functions of the unknown start: twelve "
                "equations, two unknowns. A Gauss–Newton least-squares fit solves them; a plain fit still "
                "misses one printed digit by a hair, so ConvLab then moves the start to where the worst "
                "printed digit has the most room, and checks the float32 replay digit for digit. The twelve "
                "rounded numbers pin the start down to its fourth decimal: every start that prints them "
                "lies within 0.0002 of this one. (The first example is different: its four outputs only "
                "fix two combinations of four weights — see step 2.)")
    with yours:
        seed = st.number_input("Random seed of the initial weights", 0, 10_000, value=0, key="l6.seed",
                               **KEEP)
        losses, initial, final = _your_run(int(seed))
        left, right = st.columns([2, 3])
        printout("\n".join(f"epoch {i + 1}, loss {loss:.3f}" for i, loss in enumerate(losses)), where=left)
        with right:
            _grids(("initial", initial), ("learned", final), ("target [1, −1]", EDGE_K),
                   key="l6.own", shared=("initial", "learned", "target [1, −1]"))
        _open_train("l6.open", "Train it yourself", stripes(), {"tr.seed": int(seed)},
                    ":material/model_training:")
    st.subheader("Why learning finds [1, −1]")
    answers = {
        "At [1, −1]": (
            True, "The loss is a bowl with a single lowest point, and every plain-SGD step at this learning "
                  "rate shrinks the distance to it."),
        "Somewhere else with loss 0": (
            False, "Only [1, −1] has loss 0 on the stripes: the image holds both kinds of window the two "
                   "weights need to be told apart (see below)."),
        "It depends on the random start": (
            False, "Not on this image: the loss is a bowl with one lowest point, reached from any start. "
                   "(On `X.T` it would — see the counter-case below.)"),
    }
    if _predict(6, "If the notebook's run went on for 100 epochs, where would the kernel end?", answers,
                "l6.guess"):
        _why_learning_works(start)


def _why_learning_works(start: np.ndarray) -> None:
    X, X_t = stripes(), stripes().T.copy()
    c, c_t = curvature(X, KERNEL_SHAPE), curvature(X_t, KERNEL_SHAPE)
    low, high = c.eigenvalues
    shrink, zigzag = (_n(f) for f in c.factor(LR))
    st.markdown(
        "The loss is a quadratic **bowl** over (w₁, w₂) with one lowest point, because the stripes hold "
        "both windows that tell the weights apart: `(1, 0)` at the white-to-black edge pins down w₁ "
        "(the output there is w₁), and `(0, 1)` at the black-to-white edge pins down w₂. The bowl's "
        f"curvature (the Hessian's eigenvalues) is λ = {high:g} along (1, 1) and λ = {low:g} along (1, −1): "
        f"both positive, so there is one bottom, and with lr = {LR:g} every step multiplies the error by "
        f"{zigzag} along (1, 1) and {shrink} along (1, −1) — both smaller than 1 in "
        "size, so the run converges (it would for any lr below "
        f"2/{high:g} ≈ {c.stable_below():.4f}).")
    if st.toggle("Show the loss landscape", key="l6.landscape_on", **KEEP):
        _landscape()
    Y_t = corr2d(X_t, EDGE_K)
    end = descent_limit(X_t, Y_t, start)
    low_t, high_t = c_t.eigenvalues
    st.markdown(
        f"**The counter-case: train on `X.T`.** Every window of `X.T` is `(1, 1)` or `(0, 0)`, so the "
        "output only ever sees w₁ + w₂. The Hessian's eigenvalues become "
        f"{high_t:g} along (1, 1) and **{low_t:g}** along (1, −1): the bowl becomes a flat-bottomed "
        "**valley** of equally good kernels — every `[a, −a]` gives loss 0 — and `[1, −1]` cannot be "
        "recovered. From the notebook's start, descent ends at "
        f"`[{end[0, 0]:.4f}, {end[0, 1]:.4f}]`, wherever the start projects onto the valley floor. (It "
        f"needs lr below 2/{high_t:g} = {c_t.stable_below():g}: at the lesson's {LR:g} each step multiplies "
        f"the error along (1, 1) by 1 − {LR:g}·{high_t:g} = {_n(c_t.factor(LR)[1])}, and the run blows up.)")
    st.markdown("**What if…**")
    left, right = st.columns(2)
    with left:
        _open_train("l6.what_if_t", "Train on X.T (lr 0.01)", X_t,
                    {"tr.lr": 1e-2, "tr.epochs": 100, "tr.reveal": True}, ":material/swap_vert:")
    with right:
        _open_train("l6.what_if_conv", "Train on a true convolution's output", X,
                    {"tr.target": "output", "tr.Y_paint": conv2d(X, EDGE_K), "tr.out_rows": 1,
                     "tr.out_cols": 2, "tr.Y_rev": ss.get("tr.Y_rev", 0) + 1, "tr.epochs": 50},
                    ":material/flip:")
    st.caption("The second target is `conv2d(X, [1, −1])`, made with the flipped kernel: training learns "
               "`[−1, 1]`, the flip, and nobody can tell the difference from the output.")


STEPS = {  # step -> (its button's label, the function that draws it)
    1: ("The 3×3 example", step_first_example),
    2: ("The layer", step_layer),
    3: ("Convolution", step_convolution),
    4: ("Edges", step_edges),
    5: ("Transposed", step_transposed),
    6: ("Learning", step_learning),
}
STEP = "l.step"  # this session's step; the address bar's ?step=N says it too (a reload or a link keeps it)
READ = "l.step_read"  # the link's step as the page last read or wrote it (None: no ?step)
BARE = "l.bare_step"  # the step a link without ?step stands for in this visit of the lesson
VISIT = "l.visit"  # the visit (`ui.state.visit`) the lesson last handled
MOVES, SCROLLED = "l.moves", "l.scrolled"  # step changes made, and those the page was scrolled up for


def _go(step: int) -> None:
    ss[STEP] = step
    ss[MOVES] = ss.get(MOVES, 0) + 1  # the next run starts the step at the page's top


def current_step() -> int:
    """The step to show: the link's ?step=N when the link changes under the page (a link followed, the
    browser's Back or Forward), else this session's; a bad N says so and shows 1.

    Each step change writes the link (step 1 as no ?step, unless this visit's link without one stands for
    another step), and Streamlit adds a history entry for it, so Back and Forward walk the steps. A link
    without ?step stands for the step this visit opened on: 1, or the session's step when the lesson is
    reached from another page (then written into the link, so a reload keeps it).
    """
    raw = st.query_params.get("step")
    if ss.get(VISIT) != visit():  # arriving: this session's first run, or from another page
        ss[VISIT] = visit()
        ss[BARE] = ss.get(STEP, 1) if raw is None else 1
        followed = raw is not None  # a link to a step
    else:  # the link changed under the page (Back, Forward), unless a step button moved the step first
        followed = raw != ss.get(READ) and ss.get(MOVES, 0) == ss.get(SCROLLED, 0)
        if followed:
            ss[MOVES] = ss.get(MOVES, 0) + 1  # the step starts at the page's top
    if followed:
        if raw is None:
            ss[STEP] = ss[BARE]
        elif raw in {str(n) for n in STEPS}:
            ss[STEP] = int(raw)
        else:
            # The link's text is not echoed: it would be read as markdown (a link, an image).
            st.info(f"This link's step is not a step of the lesson (1 to {len(STEPS)}): here is step 1.",
                    icon=":material/info:")
            ss[STEP] = 1
    step = ss.setdefault(STEP, 1)
    wanted = None if step == 1 and ss[BARE] == 1 else str(step)
    if raw != wanted:  # only a change: each write is a message to the browser (and a history entry)
        if wanted is None:
            del st.query_params["step"]
        else:
            st.query_params["step"] = wanted
    ss[READ] = wanted
    return step


def stepper(step: int, *, where: str) -> None:
    """The steps as a row of buttons (the current one filled, finished ones ticked), or Previous / Next."""
    if where == "top":
        with st.container(horizontal=True, key="l.steps"):
            for n, (label, _) in STEPS.items():
                st.button(f"{n} · {label}", key=f"l.step{n}", on_click=_go, args=(n,),
                          type="primary" if n == step else "secondary",
                          icon=":material/check_circle:" if is_done(f"lesson.{n}") else None)
        return
    with st.container(horizontal=True, key="l.pager"):
        if step > 1:
            st.button(f"Previous: {step - 1} · {STEPS[step - 1][0]}", key="l.prev", on_click=_go,
                      args=(step - 1,), icon=":material/arrow_back:")
        if step < len(STEPS):
            st.button(f"Next: {step + 1} · {STEPS[step + 1][0]}", key="l.next", on_click=_go,
                      args=(step + 1,), type="primary", icon=":material/arrow_forward:",
                      icon_position="right")
        elif st.button("On to the exercises", key="l.exercises", type="primary",
                       icon=":material/arrow_forward:", icon_position="right"):
            st.switch_page("pages/exercises.py")


def lesson() -> None:
    st.title("Convolutions for images")
    st.caption("The classic lesson in six steps, live: every grid is computed by ConvLab as you read, and "
               "the notebook's own printouts are replayed digit for digit.")
    step = current_step()
    if ss.get(MOVES, 0) != ss.get(SCROLLED, 0):  # a step button, Back or Forward changed the step
        ss[SCROLLED] = ss[MOVES]
        scroll_to_top(key=f"l.scroll.{ss[MOVES]}")
    top = st.container()
    STEPS[step][1]()
    with top:  # drawn after the step, so that a step finished in this run is ticked already
        stepper(step, where="top")
    stepper(step, where="bottom")


lesson()
