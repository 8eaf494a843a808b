"""Playground: paint an input and a kernel, see their cross-correlation live, explain any output cell."""

import dataclasses
import functools

import numpy as np
import streamlit as st

from convlab import conv2d, corr2d, corr2d_loop, explain_cell, output_shape
from convlab.export import kernel_to_json, pytorch_snippet, to_csv, to_png
from convlab.figures import MAX_CLICK_CELLS, grid_heatmap
from convlab.images import IMAGES, image_preset, load_image, resize_grid, to_rgb, transform
from convlab.kernels import KERNELS, kernel_preset
from ui import share
from ui import workspace as ws
from ui.grid_view import grid_view
from ui.paint_grid import paint_grid
from ui.state import require_entry_script
from ui.widgets import number_grid_editor, show_source

require_entry_script()
ss = st.session_state
KEEP = {"persist_state": "session"}
TRANSFORMS = {
    "transpose": "Transpose",
    "flip_lr": "Flip ↔",
    "flip_ud": "Flip ↕",
    "rotate": "Rotate ↻",
    "invert": "Invert",
    "clear": "Clear",
}
PLOT_CONFIG = {"displayModeBar": False}


@st.cache_data(max_entries=8, show_spinner=False)
def _load_picture(data: bytes, shape: tuple[int, int] | None) -> np.ndarray:
    """Uploaded bytes -> grayscale (H, W) in [0, 1]; cached so reruns never decode twice."""
    return load_image(data, shape)


def _on_image_preset() -> None:
    key = ss["pg.image_preset"]
    if key is not None:
        X = image_preset(key)
        ws.set_input(X, source=key)
        ss["pg.rows"], ss["pg.cols"] = X.shape
        ss["pg.image_preset"] = None


def _on_input_size() -> None:
    shape = (int(ss["pg.rows"]), int(ss["pg.cols"]))
    source = ss.get(ws.X_SOURCE)
    # A preset not painted on yet is redrawn at the new size; a painting is cropped or padded.
    X = image_preset(source, shape) if source else resize_grid(ss[ws.X_KEY], shape)
    ws.set_input(X, source=source)


def _on_transform(op: str) -> None:
    ws.set_input(transform(ss[ws.X_KEY], op))
    ss["pg.rows"], ss["pg.cols"] = ss[ws.X_KEY].shape


def _on_upload() -> None:
    file = ss.get("pg.upload")
    if file is None:
        return
    try:
        X = _load_picture(file.getvalue(), (int(ss["pg.rows"]), int(ss["pg.cols"])))
    except ValueError as exc:
        ss[ws.NOTE] = ("error", f"{file.name}: {exc}. Your grid is unchanged.")
        return
    # Quantised to 1/255 steps, as the picture's own pixels were, so share links stay short.
    ws.set_input(np.round(X * 255) / 255)


def _on_kernel_preset() -> None:
    key = ss["pg.kernel_preset"]
    if key is not None:
        K = kernel_preset(key)
        ws.set_kernel(K)
        ss["pg.krows"], ss["pg.kcols"] = K.shape
        ss["pg.kernel_preset"] = None


def _on_kernel_size() -> None:
    ws.set_kernel(resize_grid(ss[ws.K_KEY], (int(ss["pg.krows"]), int(ss["pg.kcols"]))))


def _on_kernel_op(op: str) -> None:
    K = ss[ws.K_KEY]
    ws.set_kernel(K[::-1, ::-1] if op == "flip" else K.T)
    ss["pg.krows"], ss["pg.kcols"] = ss[ws.K_KEY].shape


def _on_separate() -> None:
    if ss[ws.SEPARATE]:  # columns start from the rows' values, so nothing jumps
        for rows, cols in (ws.PAD, ws.STRIDE, ws.DIL):
            ss[cols] = ss[rows]


def _pair_input(col, label: str, keys: tuple[str, str], bounds: tuple[int, int], help: str) -> None:
    low, high = bounds
    if ss.get(ws.SEPARATE):
        rows, cols = col.columns(2)
        rows.number_input(f"{label} ↕", low, high, step=1, key=keys[0], help=f"{help} (rows)", **KEEP)
        cols.number_input(f"{label} ↔", low, high, step=1, key=keys[1], help=f"{help} (columns)", **KEEP)
    else:
        col.number_input(label, low, high, step=1, key=keys[0], help=help, **KEEP)


def settings_row() -> None:
    """Operation settings: correlation or convolution, padding, stride, dilation, bias."""
    mode, pad, stride, dil, bias, separate = st.columns([3, 2, 2, 2, 2, 2], vertical_alignment="bottom")
    mode.segmented_control("Operation", list(ws.MODE_LABELS), format_func=ws.MODE_LABELS.get, key=ws.MODE,
                           required=True, **KEEP)
    _pair_input(pad, "Padding", ws.PAD, share.PADDING, "Zeros added around the input on each side.")
    _pair_input(stride, "Stride", ws.STRIDE, share.STRIDE, "How far the kernel moves between output cells.")
    _pair_input(dil, "Dilation", ws.DIL, share.DILATION, "Spacing between the kernel's taps (1 = touching).")
    bias.number_input("Bias", step=0.1, format="%g", key=ws.BIAS, help="Added to every output cell.", **KEEP)
    separate.toggle("Rows ≠ columns", key=ws.SEPARATE, on_change=_on_separate, **KEEP,
                    help="Set padding, stride and dilation separately for rows (↕) and columns (↔).")


def input_panel(highlight: np.ndarray | None) -> np.ndarray:
    """The input grid X (H, W): presets, size, upload, transforms, and the paint grid."""
    X = ss[ws.X_KEY]
    st.subheader(f"Input X · {X.shape[0]}×{X.shape[1]}")
    preset, rows, cols = st.columns([2, 1, 1])
    preset.selectbox("Image preset", list(IMAGES), index=None, format_func=lambda k: IMAGES[k].label,
                     placeholder="Load a preset…", key="pg.image_preset", on_change=_on_image_preset)
    ss.setdefault("pg.rows", X.shape[0])
    ss.setdefault("pg.cols", X.shape[1])
    rows.number_input("Rows", *share.INPUT_SIDES, step=1, key="pg.rows", on_change=_on_input_size)
    cols.number_input("Columns", *share.INPUT_SIDES, step=1, key="pg.cols", on_change=_on_input_size)

    brush, eraser = st.columns([2, 1], vertical_alignment="bottom")
    brush_value = brush.number_input("Brush value", value=1.0, step=0.5, format="%g", key="pg.brush",
                                     help="Left-drag paints this value; right-drag erases.", **KEEP)
    erase = eraser.toggle("Eraser", key="pg.eraser", **KEEP)
    painted = paint_grid(X, key="pg.paint", brush=0.0 if erase else brush_value,
                         revision=ss[ws.X_REV], vmin=min(0.0, float(X.min())),
                         vmax=max(1.0, float(X.max())), highlight=highlight)
    if painted is not None:
        ss[ws.X_KEY], ss[ws.X_SOURCE] = painted, None
        X = painted
    ops = [*st.columns(3), *st.columns(3)]
    for col, (op, label) in zip(ops, TRANSFORMS.items(), strict=True):
        col.button(label, key=f"pg.tf.{op}", on_click=_on_transform, args=(op,), width="stretch")
    with st.expander("Upload a picture"):
        st.file_uploader("A picture becomes a grayscale grid of the size above (make the grid larger first "
                         "for more detail).", type=None, key="pg.upload", on_change=_on_upload)
    source = ss.get(ws.X_SOURCE)
    if source:
        st.caption(f"**{IMAGES[source].label}** — {IMAGES[source].description}")
    return X


def kernel_panel() -> np.ndarray:
    """The kernel K (h, w): presets, size, exact numbers, flip and transpose."""
    K = ss[ws.K_KEY]
    st.subheader(f"Kernel K · {K.shape[0]}×{K.shape[1]}")
    st.selectbox("Kernel preset", list(KERNELS), index=None, format_func=lambda k: KERNELS[k].label,
                 placeholder="Load a preset…", key="pg.kernel_preset", on_change=_on_kernel_preset)
    ss.setdefault("pg.krows", K.shape[0])
    ss.setdefault("pg.kcols", K.shape[1])
    rows, cols = st.columns(2)
    rows.number_input("Rows", *share.KERNEL_SIDES, step=1, key="pg.krows", on_change=_on_kernel_size)
    cols.number_input("Columns", *share.KERNEL_SIDES, step=1, key="pg.kcols", on_change=_on_kernel_size)
    K = number_grid_editor(K, key="pg.kedit", revision=ss[ws.K_REV])
    ss[ws.K_KEY] = K
    flip, transpose = st.columns(2)
    flip.button("Flip ↻180°", key="pg.kflip", on_click=_on_kernel_op, args=("flip",),
                width="stretch")
    transpose.button("Transpose", key="pg.ktranspose", on_click=_on_kernel_op, args=("transpose",),
                     width="stretch")
    if ss.get(ws.MODE) == "convolution":
        st.caption("Convolution slides the kernel flipped on both axes:")
        grid_view(K[::-1, ::-1], key="pg.kflipped", title="flipped K")
    return K


def _window_mask(state: share.PlaygroundState) -> np.ndarray | None:
    """(H, W) mask of the input cells the explained output cell reads, or None without an output."""
    try:
        e = explain_cell(np.zeros(state.X.shape), state.K, *state.cell, padding=state.padding,
                         stride=state.stride, dilation=state.dilation)
    except ValueError:
        return None
    mask = np.zeros(state.X.shape, dtype=bool)
    mask[e.rows[e.inside], e.cols[e.inside]] = True
    return mask


def _formula(name: str, n: int, k: int, p: int, s: int, d: int) -> str:
    out = (n + 2 * p - d * (k - 1) - 1) // s + 1
    return f"{name}′ = ⌊({n} + 2·{p} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = **{out}**"


def output_panel(state: share.PlaygroundState) -> np.ndarray | None:
    """The output Y = X ⋆ K + b (H', W') as a heatmap; clicking a cell picks it for explanation."""
    X, K = state.X, state.K
    op = conv2d if state.mode == "convolution" else corr2d
    try:
        Ho, Wo = output_shape(X.shape, K.shape, padding=state.padding, stride=state.stride,
                              dilation=state.dilation)
        Y = op(X, K, padding=state.padding, stride=state.stride, dilation=state.dilation) + state.bias
    except ValueError as exc:
        st.subheader("Output Y")
        st.error(f"No output: {exc}.", icon=":material/block:")
        return None
    if not np.isfinite(Y).all():
        st.subheader("Output Y")
        st.error("No output: the numbers are so large that the sums overflow. Use smaller kernel values, "
                 "input values or bias.", icon=":material/block:")
        return None
    st.subheader(f"Output Y · {Ho}×{Wo}")
    (ph, pw), (sh, sw), (dh, dw) = state.padding, state.stride, state.dilation
    st.markdown(_formula("H", X.shape[0], K.shape[0], ph, sh, dh) + "  \n"
                + _formula("W", X.shape[1], K.shape[1], pw, sw, dw))
    event = st.plotly_chart(grid_heatmap(Y, marker=state.cell, clickable=True), on_select="rerun",
                            selection_mode="points", config=PLOT_CONFIG, key="pg.output")
    points = event.selection.points if event else []
    if points:
        picked = (round(points[0]["y"]), round(points[0]["x"]))
        if picked != ss.get("pg.last_pick"):
            ss["pg.last_pick"] = picked
            ss[ws.CELL[0]], ss[ws.CELL[1]] = picked
            st.rerun()  # the input's window highlight was drawn before this click was known
    how = ("Click an output cell" if Y.size <= MAX_CLICK_CELLS else "Pick an output row and column below")
    st.caption(f"{how} to see how it is computed. Red is positive, blue negative.")
    return Y


def explain_panel(state: share.PlaygroundState, Y: np.ndarray) -> None:
    """How the picked output cell is computed: window × kernel, summed, plus bias."""
    st.subheader("Explain a cell")
    Ho, Wo = Y.shape
    r, c, _ = st.columns([1, 1, 3])
    i = r.number_input("Output row", 0, Ho - 1, step=1, key=ws.CELL[0], on_change=ss.pop,
                       args=("pg.last_pick", None), **KEEP)
    j = c.number_input("Output column", 0, Wo - 1, step=1, key=ws.CELL[1], on_change=ss.pop,
                       args=("pg.last_pick", None), **KEEP)
    K = state.K[::-1, ::-1] if state.mode == "convolution" else state.K
    e = explain_cell(state.X, K, i, j, padding=state.padding, stride=state.stride,
                     dilation=state.dilation, bias=state.bias)
    # Canvas components, not Plotly: every stroke changes them, and a changed Plotly chart is
    # mounted afresh by the browser (three of them doubled a stroke's time on screen).
    window, kernel, products = st.columns(3)
    flipped = " (flipped)" if state.mode == "convolution" else ""
    with window:
        grid_view(e.window, key="pg.ex_w", title="window of X")
    with kernel:
        grid_view(e.kernel, key="pg.ex_k", title=f"kernel{flipped}")
    with products:
        grid_view(e.products, key="pg.ex_p", title="products")
    terms = " + ".join(f"{w:g}·{k:g}" for w, k in zip(e.window.ravel(), e.kernel.ravel(), strict=True))
    padded = "" if e.inside.all() else f"  ({int((~e.inside).sum())} taps fall in the zero padding)"
    st.code(f"Y[{i}, {j}] = {terms}\n        = {e.total:g}\n        + bias {e.bias:g}\n        = {e.value:g}"
            f"{padded}", language=None, wrap_lines=True)
    if not np.isclose(e.value, Y[i, j]):
        st.error(f"Internal check failed: the heatmap shows {Y[i, j]:g}.")


def photo_panel(state: share.PlaygroundState) -> None:
    """The current kernel on a full-resolution picture (up to 1024x1024), input beside output."""
    file = st.file_uploader("Picture (any common format); without one a built-in scene is used",
                            key="pg.photo_file")
    photo = None
    if file is not None:
        try:
            photo = _load_picture(file.getvalue(), None)
        except ValueError as exc:
            st.error(f"{file.name}: {exc}.")
    if photo is None:
        photo = _sample_photo()
    op = conv2d if state.mode == "convolution" else corr2d
    try:
        out = op(photo.astype(np.float32), state.K.astype(np.float32), padding=state.padding,
                 stride=state.stride, dilation=state.dilation) + np.float32(state.bias)
    except ValueError as exc:
        st.error(f"No output: {exc}.")
        return
    left, right = st.columns(2)
    left.image(to_rgb(photo, diverging=False), caption=f"input {photo.shape[0]}×{photo.shape[1]}",
               width="stretch")
    right.image(to_rgb(out), caption=f"output {out.shape[0]}×{out.shape[1]} (red +, blue −)",
                width="stretch")


@st.cache_data(show_spinner=False)
def _sample_photo() -> np.ndarray:
    """A 512x512 synthetic scene with edges in every direction, so photo mode works offline."""
    return np.clip(0.55 * image_preset("letter", (512, 512)) + 0.3 * image_preset("circle", (512, 512))
                   + 0.25 * image_preset("gradient", (512, 512)), 0.0, 1.0)


def export_panel(state: share.PlaygroundState, Y: np.ndarray | None, link_ok: bool) -> None:
    """Show the code, downloads, and the share link."""
    snippet = functools.partial(pytorch_snippet, state.X, state.K, padding=state.padding, stride=state.stride,
                                dilation=state.dilation, bias=state.bias, mode=state.mode)
    # Tracked, so that a closed expander costs nothing: highlighting code is slow in the browser.
    code = st.expander("Show the code", key="pg.show_code", on_change="rerun")
    if code.open:
        with code:
            st.markdown("The lesson's loop, which the app checks itself against:")
            show_source(corr2d_loop)
            st.markdown("The same numbers from PyTorch, runnable as it is:")
            st.code(snippet(), language="python")
    # Files are made only when clicked (callables), and a click does not rerun the page.
    cols = st.columns(4)
    if Y is not None:
        cols[0].download_button("Output CSV", functools.partial(to_csv, Y), "output.csv", "text/csv",
                                key="pg.dl_csv", on_click="ignore", icon=":material/download:")
        cols[1].download_button("Output PNG", functools.partial(to_png, Y, scale=max(1, 256 // max(Y.shape))),
                                "output.png", "image/png", key="pg.dl_png", on_click="ignore",
                                icon=":material/download:")
    cols[2].download_button("Kernel JSON", functools.partial(kernel_to_json, state.K, mode=state.mode),
                            "kernel.json", "application/json", key="pg.dl_kernel", on_click="ignore",
                            icon=":material/download:")
    cols[3].download_button("PyTorch snippet", snippet, "convlab_snippet.py", "text/x-python",
                            key="pg.dl_snippet", on_click="ignore", icon=":material/download:")
    if link_ok:
        st.caption(":material/link: The address bar now holds a share link that restores exactly this state.")
    else:
        st.caption(":material/link_off: This state is too large for a share link (an uploaded picture with "
                   "many shades); the address bar keeps the last state that fit.")


def playground() -> None:
    ws.ensure()
    st.title("Playground")
    st.caption("Paint the input, edit the kernel, and watch the cross-correlation follow every change.")
    note = ss.pop(ws.NOTE, None)
    slot = st.container()  # always there, so a note does not shift (and remount) everything below it
    if note:
        getattr(slot, note[0])(note[1])
    settings_row()
    state = ws.current()
    ws.clamp_cell(state)
    state = ws.current()
    left, middle, right = st.columns([5, 4, 5], gap="medium")
    with left:
        X = input_panel(_window_mask(state))
    with middle:
        K = kernel_panel()
    state = dataclasses.replace(state, X=X, K=K)
    with right:
        Y = output_panel(state)
    if Y is not None:
        explain_panel(state, Y)
    link_ok = ws.sync_link(state)
    if st.toggle("Photo mode: apply the kernel to a full-size picture", key="pg.photo", **KEEP):
        photo_panel(state)
    export_panel(state, Y, link_ok)


playground()
