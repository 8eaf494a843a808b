"""Train a kernel: learn a kernel from an input and a target, watching the loss as it streams."""

import time

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner import get_script_run_ctx

from convlab import corr2d
from convlab.colour import IMAGE, signed_scale
from convlab.figures import loss_landscape_figure
from convlab.images import IMAGES, image_preset, resize_grid
from convlab.kernels import KERNELS, kernel_preset
from convlab.outcomes import MAX_PREDICTED_EPOCHS, OUTCOMES, feedback
from convlab.training import OPTIMIZER_NAMES, TrainConfig, make_target
from ui import share, train_link
from ui import training_session as ts
from ui.grid import edit_grid, grid_group, paint_grid, panel, view_data
from ui.loss_chart import loss_chart
from ui.state import default, require_entry_script
from ui.widgets import printout, stats

require_entry_script()
ss = st.session_state
KEEP = {"persist_state": "session"}
PLOT_CONFIG = {"displayModeBar": False}
LEARNING_RATES = list(train_link.LEARNING_RATES)  # the link reads back only these
SPEEDS = {n: f"{n} epoch{'s' if n > 1 else ''}/s" for n in train_link.SPEEDS}
# Seconds between server ticks at full speed: under 10 a second (a 0.1 s timer was measured at 10.2 a
# second, its ticks drifting early); the chart animates the epochs of each tick in.
TICK = 0.11
LANDSCAPE_DELAY = 1.0  # s after a first visit's first screen before the Plotly landscape is drawn
TARGETS = {
    "preset": "A hidden preset kernel",
    "kernel": "A kernel I type in",
    "output": "A target output I paint",
}
OPTIMIZERS = {
    "sgd": "Gradient descent — PyTorch's SGD on the full batch (the lesson's)",
    "momentum": "Momentum (β = 0.9) — PyTorch's SGD with momentum=0.9, full batch",
    "adam": "Adam (β₁ = 0.9, β₂ = 0.999) — PyTorch's defaults",
}
LOSSES = {"sum": "Sum of squares (lesson)", "mean": "Mean of squares"}
LOSS_NAMES = {"sum": "the summed squared error", "mean": "the mean squared error"}


def _defaults() -> None:
    default("tr.X", lambda: image_preset(train_link.DEFAULT_INPUT))
    default(ts.INPUT_NAME, lambda: train_link.DEFAULT_INPUT)
    default("tr.X_rev", lambda: 0)
    default("tr.K_true", lambda: kernel_preset("edge"))
    default("tr.K_rev", lambda: 0)
    default("tr.Y_paint", lambda: np.zeros((6, 7)))
    default("tr.Y_rev", lambda: 0)
    # Widgets that other pages may set (the lesson's "Train it yourself") take their defaults from
    # session state only: a default value as well makes Streamlit warn.
    for key, value in (("tr.true_preset", "edge"), ("tr.lr", 3e-2), ("tr.epochs", 10), ("tr.speed", 20),
                       ("tr.target_loss", 0.0), ("tr.out_rows", 1), ("tr.out_cols", 2)):
        default(key, lambda value=value: value)


def _on_input_preset() -> None:
    key = ss["tr.x_preset"]
    if key is not None:
        ss["tr.X"], ss[ts.INPUT_NAME] = image_preset(key), key
        ss["tr.X_rev"] += 1
        ss["tr.x_preset"] = None


def _on_true_size() -> None:
    ss["tr.K_true"] = resize_grid(ss["tr.K_true"], (int(ss["tr.k_rows"]), int(ss["tr.k_cols"])))
    ss["tr.K_rev"] += 1


def input_tools() -> None:
    """The input's preset (its grid is painted on the page)."""
    st.selectbox("Image preset", list(IMAGES), index=None, format_func=lambda k: IMAGES[k].label,
                 placeholder="Load a preset…", key="tr.x_preset", on_change=_on_input_preset)


def input_grid() -> np.ndarray:
    """The input X (H, W), painted on the page."""
    X = ss["tr.X"]
    painted = paint_grid(X, key="tr.paint_x", scale=IMAGE, revision=ss["tr.X_rev"], height=220,
                         title=f"Input X · {X.shape[0]}×{X.shape[1]}")
    if painted is not None:
        ss["tr.X"] = X = painted
        ss[ts.INPUT_NAME] = None  # not a preset any more: the link cannot keep it
    return X


Target = tuple[np.ndarray, tuple[int, int], np.ndarray | None]  # Y, the kernel shape to learn, K_true


def data_panel(X: np.ndarray, tools: DeltaGenerator) -> Target | None:
    """The target Y (H', W'), the kernel shape to learn, and the true kernel if known; None (said on the
    page) when the kernel does not fit the input.

    Its choices sit in `tools` (a popover); a kernel to type or a target to paint is drawn on the page.
    """
    with tools:
        kind = st.radio("Learn from", list(TARGETS), format_func=TARGETS.get, key="tr.target", **KEEP)
    K_true = None
    if kind == "preset":
        with tools:
            name = st.selectbox("Hidden kernel", list(KERNELS), format_func=lambda k: KERNELS[k].label,
                                key="tr.true_preset", **KEEP)
        K_true = kernel_preset(name)
    elif kind == "kernel":
        ss.setdefault("tr.k_rows", ss["tr.K_true"].shape[0])
        ss.setdefault("tr.k_cols", ss["tr.K_true"].shape[1])
        with tools:
            rows, cols = st.columns(2)
            rows.number_input("Kernel rows", *share.KERNEL_SIDES, key="tr.k_rows", on_change=_on_true_size)
            cols.number_input("Kernel columns", *share.KERNEL_SIDES, key="tr.k_cols", on_change=_on_true_size)
        K_true = ss["tr.K_true"]
        edited = edit_grid(K_true, key="tr.kedit", scale=signed_scale(K_true), revision=ss["tr.K_rev"],
                           title="true kernel (type its numbers)", height=180)
        if edited is not None:
            ss["tr.K_true"] = K_true = edited
    if K_true is not None:
        shape = K_true.shape
        if shape[0] > X.shape[0] or shape[1] > X.shape[1]:
            st.error(f"The kernel {shape[0]}×{shape[1]} is larger than the input "
                     f"{X.shape[0]}×{X.shape[1]}: choose a larger image or a smaller kernel.")
            return None
        with tools:
            noise = st.slider("Noise added to the target (std)", 0.0, 1.0, step=0.05, key="tr.noise", **KEEP)
            if kind == "preset":
                st.toggle("Reveal the hidden kernel", key="tr.reveal", **KEEP,
                          help="Show the kernel that made the target beside the learned one.")
        Y = make_target(X, K_true, noise=noise, seed=int(ss.get("tr.seed", 0)))
        return Y, shape, K_true
    with tools:
        rows, cols = st.columns(2)
        kr = rows.number_input("Kernel rows", 1, min(7, X.shape[0]), key="tr.out_rows", **KEEP)
        kc = cols.number_input("Kernel columns", 1, min(7, X.shape[1]), key="tr.out_cols", **KEEP)
        brush = st.number_input("Brush value", value=1.0, step=0.5, format="%g", key="tr.y_brush", **KEEP)
    target_shape = (X.shape[0] - kr + 1, X.shape[1] - kc + 1)
    if ss["tr.Y_paint"].shape != target_shape:
        lesson_shape = target_shape == (X.shape[0], X.shape[1] - 1)
        ss["tr.Y_paint"] = corr2d(X, kernel_preset("edge")) if lesson_shape else np.zeros(target_shape)
        ss["tr.Y_rev"] += 1
    st.caption(f"Paint what the kernel should output: drag paints {brush:g} (set under Target), right-drag "
               "erases.")
    Y = ss["tr.Y_paint"]
    painted = paint_grid(Y, key="tr.paint_y", scale=signed_scale(Y, [brush]), brush=brush,
                         revision=ss["tr.Y_rev"], title="target Y (paint it)", height=260)
    if painted is not None:
        ss["tr.Y_paint"] = Y = painted
    return Y, (int(kr), int(kc)), None


def _ask(what: str) -> None:
    """A different optimizer or loss was picked: ask the learner to predict what it will do."""
    ss["tr.ask"] = what
    ss["tr.prediction"] = None


def model_panel(kernel_shape: tuple[int, int]) -> tuple[TrainConfig, float]:
    """The model and optimiser settings (in a popover) -> (TrainConfig, target loss or 0)."""
    # Full width: each optimizer's name says what it is, which takes a line.
    optimizer = st.selectbox("Optimizer", list(OPTIMIZERS), format_func=OPTIMIZERS.get, key="tr.optimizer",
                             on_change=_ask, args=("optimizer",), **KEEP)
    loss = st.selectbox("Loss", list(LOSSES), format_func=LOSSES.get, key="tr.loss", on_change=_ask,
                        args=("loss",), **KEEP)
    lr = st.select_slider("Learning rate (log scale)", LEARNING_RATES, format_func=lambda v: f"{v:g}",
                          key="tr.lr", **KEEP)
    a, b = st.columns(2)
    seed = a.number_input("Init seed", 0, 2**31 - 1, step=1, key="tr.seed", **KEEP)
    init = b.selectbox("Initial weights", ["uniform", "normal", "zeros"], key="tr.init", **KEEP,
                       help="uniform is PyTorch's default for a conv layer, as in the lesson.")
    a, b = st.columns(2)
    epochs = a.number_input("Stop after epochs", 1, 100_000, step=10, key="tr.epochs", **KEEP)
    target_loss = b.number_input("…or at loss ≤", 0.0, format="%g", key="tr.target_loss",
                                 help="0 means: don't stop on the loss.", **KEEP)
    bias = st.toggle("Learn a bias too", key="tr.bias", **KEEP)
    config = TrainConfig(kernel_shape=kernel_shape, lr=float(lr), epochs=int(epochs), seed=int(seed),
                         optimizer=optimizer, bias=bias, loss=loss, init=init)
    return config, float(target_loss)


def predict_first(run: ts.Run) -> None:
    """One light question after a change of optimizer or loss: predict, then see what happened and why.

    It never blocks: Play works whether or not it is answered. The answer comes from running the
    settings for real (`convlab.outcomes`), so it is right for whatever input, lr and budget are set.
    """
    what = ss.get("tr.ask")
    if what not in ("optimizer", "loss"):
        return
    c = run.config
    picked = OPTIMIZER_NAMES[c.optimizer] if what == "optimizer" else LOSS_NAMES[c.loss]
    n = min(c.epochs, MAX_PREDICTED_EPOCHS)
    with st.container(border=True):
        choice = st.radio(f"Predict first: with {picked}, at lr {c.lr:g}, what will the loss do over "
                          f"{'the' if n == c.epochs else 'the first'} {n} epochs?", list(OUTCOMES),
                          format_func=OUTCOMES.get, index=None, key="tr.prediction")
        if choice is None:
            st.caption("Pick one, then press Play to watch; the answer explains it.")
            return
        right, text = feedback(run.outcome, choice, c)
        (st.success if right else st.info)(text)


def stability_note(run: ts.Run) -> None:
    """Say upfront what the loss's curvature allows: the learning rate's limit, and whether lr is over it."""
    s, c = run.stability, run.config
    if s.limit is None:
        if c.optimizer == "adam":
            st.caption(f"Adam moves each weight by about lr = {c.lr:g} per epoch, whatever the curvature; it "
                       "has no learning-rate limit here.")
        return
    if s.diverges:
        why = (f" Along the steepest direction each update multiplies the error by 1 − lr·λmax = "
               f"{1 - c.lr * s.steepest:.3g}: it grows." if c.optimizer == "sgd" else "")
        st.warning(f"Expect this run to diverge: {s.limit_text}, and lr is {c.lr:g}.{why} The run stops once "
                   "the loss has grown 3 epochs in a row.", icon=":material/warning:")
    else:
        st.caption(f"Stable: {s.limit_text}; lr is {c.lr:g}.")


def controls(running: bool) -> None:
    """Play or Pause (one button, as a player's), Step, Reset: outside the live fragment, so each click
    reruns the page (which the end of a run does too, turning Pause back into Play)."""
    with st.container(horizontal=True, key="tr.controls"):
        if running:
            st.button("Pause", key="tr.pause", on_click=ts.pause, type="primary", icon=":material/pause:")
        else:
            st.button("Play", key="tr.play", on_click=ts.play, type="primary", icon=":material/play_arrow:")
        st.button("Step", key="tr.step", on_click=ts.step, icon=":material/skip_next:")
        st.button("Reset", key="tr.reset", on_click=ts.reset, icon=":material/replay:")


def speed_tools() -> None:
    st.select_slider("Speed", list(SPEEDS), format_func=SPEEDS.get, key="tr.speed", **KEEP)
    st.toggle("Log-scale loss", key="tr.log", **KEEP)


def _interval(speed: int, now: float) -> float:
    """Seconds between ticks: ≥ TICK, ≥ one epoch, and longer when many sessions play on this process
    (their ticks are spread, see `ts.PROCESS_TICKS`; each tick then trains for longer)."""
    return max(TICK, 1.0 / speed, ts.SHARE.interval(now))


def _session_key() -> str:
    """This browser session's id (the process's training time is shared between the sessions playing)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def live_view(run: ts.Run, K_true: np.ndarray | None) -> None:
    """What changes while training, in one fragment that trains and redraws on every tick.

    Streamlit mounts a Plotly chart afresh whenever its figure changes, and inside a ticking
    fragment a changed chart keeps being remounted on later ticks: that work starved the ticks
    (3-4 loss updates a second). So everything live is drawn by canvas components that redraw in
    place, and the loss landscape (Plotly) is drawn by full reruns: Step, Pause and the end of a run.
    """
    speed = int(ss.get("tr.speed", 20))
    interval = _interval(speed, time.monotonic())

    @st.fragment(run_every=interval if run.running else None)
    def live() -> None:
        run_now = ts.current()
        if run_now.running:
            now = time.monotonic()
            run_now.play_tick(speed, now, interval, budget=ts.SHARE.budget(_session_key(), interval, now))
            if not run_now.running:
                st.rerun(scope="app")  # the run ended on its own: stop the timer, redraw the landscape
            wanted = _interval(speed, now)
            if not interval / 1.5 <= wanted <= interval * 1.5:
                # More (or fewer) sessions play on this process now: a full run re-arms the timer.
                st.rerun(scope="app")
        _draw_progress(run_now, speed)
        _draw_grids(run_now, K_true)

    live()
    if np.prod(run.config.kernel_shape) == 2 and not run.config.bias:
        _landscape(run, K_true)


def _draw_progress(run: ts.Run, speed: int) -> None:
    n = run.epoch
    items = [("Epoch", str(n), "Updates made so far (one epoch = one update on the whole image).")]
    if n == 0:
        items.append(("Loss at the start", f"{run.shown_loss:.4g}",
                      "The loss of the initial weights: what epoch 1 will print."))
    else:
        # The printout's last line is this loss: each epoch prints its loss before its update, as the lesson.
        items.append((f"Loss before update {n}", f"{run.shown_loss:.4g}",
                      f"What the printout's last line says: the loss epoch {n} computed before its update."))
        after = run.loss_after
        items.append((f"Loss after update {n}", "—" if after is None else f"{after:.4g}",
                      f"The loss of the current weights, which epoch {n + 1} would print first."
                      if after is not None else "The epoch that diverged did not apply its update."))
    items.append(("State", run.state, "ready, playing, paused, finished or diverged"))
    stats(items)
    verdict = run.verdict()
    if verdict is not None:
        kind, text = verdict
        {"error": st.error, "warning": st.warning, "success": st.success}[kind](
            text, icon=":material/trending_up:" if kind == "error" else None)
    elif run.running and run.behind and (rate := run.achieved_rate) is not None:
        playing = ts.SHARE.playing(time.monotonic())
        others = f" between the {playing} runs playing on it" if playing > 1 else ""
        st.caption(f"Training at {rate:.0f} epochs/s, not {speed}: the server shares its time{others}, "
                   "so that nobody waits for others.")
    log_y = bool(ss.get("tr.log"))
    chart, log = st.columns([3, 2], gap="medium")
    with chart:
        loss_chart(ts.chart_runs(), key="tr.loss_chart", log_y=log_y, target_loss=run.target_loss or None,
                   height=300, y_range=ts.chart_y_range(log_y))
    printout("\n".join(run.log_lines(10)) or "# the lesson prints a line per epoch here", where=log)
    log.caption("Each line: the loss an epoch computed before its update, as the lesson prints it.")


def _panel(name: str, title: str, values: np.ndarray | None, *, weight: float = 1.0,
           lines: tuple[str, ...] = (), **options) -> dict:
    """One panel of the live grids: the grid, or a note when its numbers are not finite (a diverged run)."""
    if values is None:
        return panel(name, [], lines=lines, weight=weight)
    if not np.isfinite(values).all():
        return panel(name, [], title=title, error="not finite: the run diverged", weight=weight)
    return panel(name, [view_data(values, name=name, title=title, **options)], lines=lines, weight=weight)


def _draw_grids(run: ts.Run, K_true: np.ndarray | None) -> None:
    """The goal beside the progress, as one grid group: true kernel, learned kernel, gradient; target,
    prediction.

    Compared grids share one colour range (true with learned, target with prediction), so a colour
    means the same number in both; 0 is white in every one of them.
    """
    W = run.trainer.weight
    Y_hat = run.trainer.predict()
    kernels = signed_scale(W, *([K_true] if K_true is not None else []))
    outputs = signed_scale(run.Y, *([Y_hat] if np.isfinite(Y_hat).all() else []))
    small = {"decimals": 3, "height": 150}
    hidden = ("The true kernel is hidden: “Reveal the hidden kernel” (under Target Y) shows it beside the "
              "learned one." if ss.get("tr.target") == "preset" else
              "A painted target has no true kernel: the learned one is the best fit.")
    grad = run.steps[-1].grad if run.steps else None
    panels = [
        _panel("tr.answer", "true kernel", K_true, scale=kernels, **small) if K_true is not None
        else _panel("tr.answer", "", None, lines=(hidden,)),
        _panel("tr.learned", "learned kernel", W, scale=kernels, **small,
               lines=(f"bias = {run.trainer.bias:.4g}",) if run.config.bias else ()),
        _panel("tr.grad", "gradient of the last update", grad, scale=signed_scale(grad), **small)
        if grad is not None else _panel("tr.grad", "", None, lines=("The gradient appears after a step.",)),
        _panel("tr.target_fig", "target Y", run.Y, scale=outputs, height=240, weight=1.5),
        _panel("tr.pred", "prediction Ŷ", Y_hat, scale=outputs, height=240, weight=1.5),
    ]
    grid_group("tr.live", panels)


def _landscape(run: ts.Run, K_true: np.ndarray | None) -> None:
    st.subheader("The loss landscape over the two weights")
    if not ss.get("tr.landscape_ready"):
        # Plotly's 4.7 MB bundle takes the browser's main thread for about a second: on a first visit
        # the grids and the loss chart are drawn first, and the landscape follows a moment later.
        st.caption(":material/hourglass_top: Drawing the landscape…")
        _landscape_soon()
        return
    path = run.path
    true = tuple(K_true.ravel()) if K_true is not None and K_true.size == 2 else None
    fig = loss_landscape_figure(run.landscape, path=path, optimum=tuple(run.best_kernel.ravel()),
                                true_weight=true, height=420)
    st.plotly_chart(fig, config=PLOT_CONFIG, key="tr.landscape")
    if run.running:
        st.caption("The path shows where Play was pressed; Pause or the end of the run draws the rest.")


@st.fragment(run_every=LANDSCAPE_DELAY)
def _landscape_soon() -> None:
    """Ticks once after the first screen is drawn, then reruns the page with the landscape in it."""
    if ss.get("tr.landscape_wait"):
        ss["tr.landscape_ready"] = True
        st.rerun(scope="app")
    ss["tr.landscape_wait"] = True


def train_page() -> None:
    ts.restore_link()  # once per session, before the widgets read their keys
    _defaults()
    st.title("Train a kernel")
    st.caption("Gradient descent finds a kernel that turns the input into the target, one epoch at a time. "
               "The defaults are the lesson's: learn [1, −1] from the stripes with lr 0.03 for 10 epochs.")
    notes = st.container()
    try:
        run = _setup_and_run()
    finally:
        ts.keep_link()  # also when a refusal stops the page: the address bar holds what was set
    if run is not None:
        with notes:
            for icon, note in ts.link_notes(run):
                st.info(note, icon=icon)


def _summaries() -> dict[str, str]:
    """What each settings popover holds now, for its label (read before its widgets are drawn)."""
    name = ss.get(ts.INPUT_NAME)
    source = IMAGES[name].label if name in IMAGES else "painted"
    kind = ss.get("tr.target", "preset")
    target = {"preset": "a hidden kernel", "kernel": "a typed kernel", "output": "a painted output"}[kind]
    if kind == "preset" and ss.get("tr.reveal"):
        target = KERNELS[ss.get("tr.true_preset", "edge")].label
    optimizer = {"sgd": "SGD", "momentum": "momentum", "adam": "Adam"}[ss.get("tr.optimizer", "sgd")]
    speed = int(ss.get("tr.speed", 20))
    return {
        "input": f"Input preset: {source}",
        "target": f"Target Y from {target}",
        "model": f"{optimizer} · lr {float(ss.get('tr.lr', 3e-2)):g} · {int(ss.get('tr.epochs', 10))} epochs",
        "speed": f"{speed} epoch{'s' if speed > 1 else ''}/s" + (" · log scale" if ss.get("tr.log") else ""),
    }


def _setup_and_run() -> ts.Run | None:
    """The settings, then the run's controls and live view; the run (None when the settings are refused).

    Every setting sits in a popover labelled with its value: the browser draws a popover's widgets (and
    fetches their code) only when it is opened, so the first screen is the grids, the controls and the
    chart (a cold load ≈ 0.4 s sooner than with the settings laid out, benchmarks/bench_app.py).
    """
    labels = _summaries()
    with st.container(horizontal=True, key="tr.setup"):
        inputs = st.popover(labels["input"], icon=":material/image:", key="tr.input_tools")
        target = st.popover(labels["target"], icon=":material/target:", key="tr.target_tools")
        model = st.popover(labels["model"], icon=":material/tune:", key="tr.model_tools")
        speed = st.popover(labels["speed"], icon=":material/speed:", key="tr.speed_tools")
    try:
        return _data_and_live(target, model)
    finally:
        # Filled last, also when the settings are refused (the input may be what needs changing): the
        # grids go out first, so the browser fetches their code while these arrive.
        with inputs:
            input_tools()
        with speed:
            speed_tools()


def _data_and_live(target: DeltaGenerator, model: DeltaGenerator) -> ts.Run | None:
    """The input and target (left, with what to expect of the run), the controls and the live run (right);
    the run, or None if refused."""
    data, live = st.columns([2, 3], gap="large")
    with data:
        X = input_grid()
        target_data = data_panel(X, target)
        expect = st.container()  # under the input, which the learning rate's limit is about
    if target_data is None:
        return None
    Y, kernel_shape, K_true = target_data
    with live:
        buttons = st.container()  # filled once the run is known: Play or Pause follows its state
        try:
            with model:
                config, target_loss = model_panel(kernel_shape)
            run = ts.ensure(X, Y, config, target_loss)
        except ValueError as exc:
            st.error(f"Can't train with these settings: {exc}.")
            return None
        with buttons:
            controls(run.running)
    with expect:
        predict_first(run)
        stability_note(run)
    with live:
        revealed = ss.get("tr.target") != "preset" or ss.get("tr.reveal")
        live_view(run, K_true if revealed else None)
        if ss.get(ts.EARLIER):
            st.button("Clear earlier runs", key="tr.clear", on_click=ts.clear_earlier)
    return run


train_page()
