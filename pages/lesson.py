"""Lesson: convolutions for images — the seed lesson, step by step, every number computed live."""

import numpy as np
import streamlit as st

from convlab import conv2d, corr2d, corr2d_loop, explain_cell
from convlab.colour import IMAGE, signed_scale
from convlab.images import image_preset
from convlab.kernels import kernel_preset
from convlab.training import KernelTrainer, TrainConfig
from ui import share
from ui import workspace as ws
from ui.grid import grid_group, panel, view_data
from ui.state import require_entry_script
from ui.widgets import show_source

require_entry_script()
ss = st.session_state
LESSON_X = np.arange(9.0).reshape(3, 3)
LESSON_K = np.array([[0.0, 1.0], [2.0, 3.0]])


def _grids(*named: tuple[str, np.ndarray], key: str, cell: int = 44, shared: tuple[str, ...] = (),
           images: tuple[str, ...] = ()) -> None:
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
                         height=cell * A.shape[0])
        panels.append(panel(title, [grid]))
    grid_group(key, panels)


def _open_playground(state: share.PlaygroundState, key: str) -> None:
    if st.button("Open in the Playground", key=key, icon=":material/brush:"):
        ws.load(state)
        st.switch_page("pages/playground.py")


def step_first_example() -> None:
    st.header("1 · The 3×3 example")
    st.markdown("Cross-correlation slides the kernel `K` over the input `X`; each output cell is the sum "
                "of the window times the kernel. The lesson's loop:")
    show_source(corr2d_loop)
    Y = corr2d(LESSON_X, LESSON_K)
    _grids(("X", LESSON_X), ("K", LESSON_K), ("Y = corr2d(X, K)", Y), key="l1")
    e = explain_cell(LESSON_X, LESSON_K, 0, 0)
    terms = " + ".join(f"{w:g}·{k:g}" for w, k in zip(e.window.ravel(), e.kernel.ravel(), strict=True))
    st.markdown(f"For example `Y[0, 0] = {terms} = {e.value:g}`. The lesson's answer is "
                "`[[19, 25], [37, 43]]`; here it is computed live: "
                f"`{Y.astype(int).tolist()}`.")
    st.caption("The lesson's Conv2D module starts from random weights (torch.rand), so its printed "
               "output (3.6293, …) changes on every run; with K = [[0, 1], [2, 3]] it is exact.")
    _open_playground(share.PlaygroundState(X=LESSON_X, K=LESSON_K), "l1.open")


def step_convolution() -> None:
    st.header("2 · Correlation vs convolution")
    st.markdown("A true convolution flips the kernel on both axes before sliding it. Deep-learning "
                "libraries compute cross-correlation and call it convolution: when the kernel is "
                "*learned*, the flip makes no difference — the network simply learns the flipped kernel.")
    flipped = LESSON_K[::-1, ::-1].copy()
    st.markdown("In symbols: `conv2d(X, K) = corr2d(X, flip(K))`, where `flip` turns `K` by 180°.")
    _grids(("K flipped", flipped), ("corr2d(X, K)", corr2d(LESSON_X, LESSON_K)),
           ("conv2d(X, K)", conv2d(LESSON_X, LESSON_K)), key="l2", shared=("corr2d(X, K)", "conv2d(X, K)"))
    _open_playground(share.PlaygroundState(X=LESSON_X, K=LESSON_K, mode="convolution"), "l2.open")


def step_edges() -> None:
    st.header("3 · Edge detection")
    X, K = image_preset("stripes"), kernel_preset("edge")
    st.markdown("A 6×8 image, white (1) with a black (0) band, and the kernel `[1, −1]`: the output is 1 "
                "where white turns black, −1 where black turns white, 0 elsewhere.")
    _grids(("X", X), ("K", K), ("Y = corr2d(X, K)", corr2d(X, K)), key="l3", cell=34, images=("X",))
    _open_playground(share.PlaygroundState(X=X, K=K), "l3.open")


def step_transposed() -> None:
    st.header("4 · Predict, then reveal: the transposed image")
    X, K = image_preset("stripes").T.copy(), kernel_preset("edge")
    st.markdown("Now the band is horizontal. What does `[1, −1]` find in `X.T`?")
    _grids(("X.T", X), ("K", K), key="l4a", cell=34, images=("X.T",))
    guess = st.radio("Your prediction", ["The same edges as before", "Horizontal edges (±1 in rows)",
                                         "Nothing: all zeros"], index=None, key="l4.guess", horizontal=True)
    if guess is None:
        st.info("Make a prediction to reveal the answer.")
        return
    Y = corr2d(X, K)
    verdict = "Right!" if guess.startswith("Nothing") else "Not quite."
    st.markdown(f"**{verdict}** The kernel compares each cell with its right-hand neighbour, and along a row "
                "of `X.T` nothing changes, so every output is 0:")
    K_t = kernel_preset("edge_t")
    _grids(("corr2d(X.T, K)", Y), ("K.T = [[1], [−1]]", K_t), ("corr2d(X.T, K.T)", corr2d(X, K_t)),
           key="l4b", cell=30, shared=("corr2d(X.T, K)", "corr2d(X.T, K.T)"))
    st.markdown("The transposed kernel `[[1], [−1]]` compares each cell with the one *below*: it finds "
                "the horizontal edges.")
    _open_playground(share.PlaygroundState(X=X, K=K_t), "l4.open")


@st.cache_data(show_spinner=False)
def _lesson_training(seed: int) -> tuple[list[float], np.ndarray, np.ndarray]:
    """The lesson's 10 epochs (lr 3e-2, summed squares, plain SGD) -> (losses, initial, final weights)."""
    X = image_preset("stripes")
    Y = corr2d(X, kernel_preset("edge"))
    config = TrainConfig(seed=seed)
    trainer = KernelTrainer(X, Y, config)
    steps = [trainer.step() for _ in range(config.epochs)]
    return [s.loss for s in steps], trainer.initial_weight, steps[-1].weight


def step_learning() -> None:
    st.header("5 · Learning the kernel")
    st.markdown("Can we recover `[1, −1]` from the image and its edge map alone? Start from small random "
                "weights and repeat: predict, measure the summed squared error, step against the gradient "
                "(lr = 3e-2, 10 epochs), exactly as the lesson does.")
    seed = st.number_input("Random seed of the initial weights", 0, 10_000, value=0, key="l5.seed")
    losses, initial, final = _lesson_training(int(seed))
    left, right = st.columns([2, 3])
    left.code("\n".join(f"epoch {i + 1}, loss {loss:.3f}" for i, loss in enumerate(losses)), language=None)
    with right:
        _grids(("initial", initial), ("learned", final), ("target [1, −1]", kernel_preset("edge")),
               key="l5", shared=("initial", "learned", "target [1, −1]"))
    st.markdown(f"Learned `[{final[0, 0]:.4f}, {final[0, 1]:.4f}]` — close to `[1, −1]`. The lesson printed "
                "`[0.9524, −1.0302]` from its own random start (loss 14.700 → 0.144); with a different "
                "start the path differs but the loss falls every epoch the same way.")
    if st.button("Train it yourself", key="l5.open", icon=":material/model_training:"):
        lesson_setup = {"tr.target": "preset", "tr.true_preset": "edge", "tr.lr": 3e-2, "tr.optimizer": "sgd",
                        "tr.loss": "sum", "tr.bias": False, "tr.epochs": 10, "tr.seed": int(seed),
                        "tr.init": "uniform", "tr.noise": 0.0}
        ss.update(lesson_setup)
        ss["tr.X"] = image_preset("stripes")
        ss["tr.X_rev"] = ss.get("tr.X_rev", 0) + 1
        st.switch_page("pages/train.py")


def lesson() -> None:
    st.title("Convolutions for images")
    st.caption("The classic lesson, live: every grid below is computed by ConvLab as you read.")
    step_first_example()
    step_convolution()
    step_edges()
    step_transposed()
    step_learning()


lesson()
