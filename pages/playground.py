"""Playground: paint an input and a kernel, see their cross-correlation live, explain any output cell."""

from urllib.parse import urlencode

import numpy as np
import streamlit as st

from convlab import CellExplanation, conv2d, corr2d, corr2d_loop, explain_cell
from convlab.colour import IMAGE, robust_signed_scale, signed_scale
from convlab.export import kernel_to_json, pytorch_snippet, to_csv, to_png
from convlab.images import IMAGES, image_preset, load_image, resize_grid, transform
from convlab.kernels import KERNELS, kernel_preset
from ui import progress, share
from ui import workspace as ws
from ui.grid import grid_group, last_ack, live_spec, paint_data, panel, take_pick, take_stroke, view_data
from ui.state import require_entry_script
from ui.widgets import explain_lines, show_source

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
KERNEL_EDITS = {"flip": "Flip ↻180°", "transpose": "Transpose"}
LESSON_SHAPED = ("stripes", "counting")  # presets that are the lesson's own grids keep the lesson's size
GRID_HEIGHT = 330  # px: the input, kernel, output and explanation fit the first screen at 1280x800
WORK = "pg.work"  # the live workspace's grid group


# ------------------------------------------------------------------------------------- callbacks


def _on_image_preset() -> None:
    key = ss["pg.image_preset"]
    if key is None:
        return
    shape = None if key in LESSON_SHAPED else ss[ws.X_KEY].shape
    X = image_preset(key, shape)
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
    if file is not None:
        _load_into_grid(file.getvalue(), share.escape_markdown(file.name))


def _on_camera() -> None:
    shot = ss.get("pg.camera")
    if shot is not None:
        _load_into_grid(shot.getvalue(), "The camera's snapshot")


def _load_into_grid(data: bytes, name: str) -> None:
    """A picture's bytes -> the input grid at its current size (grayscale); a note if it cannot be read."""
    try:
        X = load_image(data, (int(ss["pg.rows"]), int(ss["pg.cols"])))
    except ValueError as exc:
        ss[ws.NOTE] = ("error", f"{name}: {exc}. Your grid is unchanged.")
        return
    # Quantised to 1/255 steps, as the picture's own pixels were, so share links stay short.
    ws.set_input(np.round(X * 255) / 255)


def _uploaded_photo() -> tuple[np.ndarray, str] | None:
    """The uploaded picture at full size (longer side ≤ 1024) as uint8 (H, W) and its escaped name.

    Decoded once per uploaded file, when photo mode first needs it, and kept as one byte a pixel.
    """
    file = ss.get("pg.upload")
    if file is None:
        return None
    kept = ss.get(ws.PHOTO)
    if kept is None or kept[0] != file.file_id:
        name = share.escape_markdown(file.name)
        try:
            photo = load_image(file.getvalue(), None)
        except ValueError as exc:
            st.error(f"{name}: {exc}.")
            return None
        kept = ss[ws.PHOTO] = (file.file_id, np.round(photo * 255).astype(np.uint8), name)
    return kept[1], kept[2]


def _on_kernel_preset() -> None:
    key = ss["pg.kernel_preset"]
    if key is not None:
        K = kernel_preset(key)
        ws.set_kernel(K, source=key)
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


# ---------------------------------------------------------------------------------------- panels


def _pair_input(col, label: str, keys: tuple[str, str], bounds: tuple[int, int], help: str) -> None:
    low, high = bounds
    if ss.get(ws.SEPARATE):
        rows, cols = col.columns(2)
        rows.number_input(f"{label} ↕", low, high, step=1, key=keys[0], help=f"{help} (rows)", **KEEP)
        cols.number_input(f"{label} ↔", low, high, step=1, key=keys[1], help=f"{help} (columns)", **KEEP)
    else:
        col.number_input(label, low, high, step=1, key=keys[0], help=help, **KEEP)


def _settings_label() -> str:
    """The operation and its settings in a few words, e.g. "Correlation · padding 1 · stride 2"."""
    def pair(keys: tuple[str, str], default: int) -> str:
        r, c = int(ss.get(keys[0], default)), int(ss.get(keys[1], default))
        return f"{r}" if not ss.get(ws.SEPARATE) or r == c else f"{r}↕ {c}↔"

    parts = [ws.MODE_LABELS.get(ss.get(ws.MODE), "Correlation"), f"padding {pair(ws.PAD, 0)}",
             f"stride {pair(ws.STRIDE, 1)}", f"dilation {pair(ws.DIL, 1)}"]
    bias = float(ss.get(ws.BIAS) or 0.0)
    return " · ".join(parts + ([f"bias {bias:g}"] if bias else []))


def settings_tools() -> None:
    """Operation settings: correlation or convolution, padding, stride, dilation, bias (in a popover)."""
    st.segmented_control("Operation", list(ws.MODE_LABELS), format_func=ws.MODE_LABELS.get, key=ws.MODE,
                         required=True, **KEEP)
    pad, stride, dil, bias = st.columns(4, vertical_alignment="bottom")
    _pair_input(pad, "Padding", ws.PAD, share.PADDING, "Zeros added around the input on each side.")
    _pair_input(stride, "Stride", ws.STRIDE, share.STRIDE, "How far the kernel moves between output cells.")
    _pair_input(dil, "Dilation", ws.DIL, share.DILATION, "Spacing between the kernel's taps (1 = touching).")
    bias.number_input("Bias", step=0.1, format="%g", key=ws.BIAS, help="Added to every output cell.", **KEEP)
    st.toggle("Per axis", key=ws.SEPARATE, on_change=_on_separate, **KEEP,
              help="Set padding, stride and dilation separately for rows (↕) and columns (↔).")


def setup_row() -> None:
    """The operation's settings, the input's and the kernel's tools (presets, sizes, edits, uploads), the
    camera and the brush, each in a popover labelled with what it holds.

    Outside the live fragment: each tool replaces a grid and reruns the page. In popovers because the
    browser renders a popover's content (and fetches its widgets' code) only once it is opened: with these
    widgets laid out on the first screen, a first visit took ≈ 0.3 s longer to draw the grids
    (benchmarks/bench_app.py).
    """
    X, K = ss[ws.X_KEY], ss[ws.K_KEY]
    ss.setdefault("pg.rows", X.shape[0])
    ss.setdefault("pg.cols", X.shape[1])
    ss.setdefault("pg.krows", K.shape[0])
    ss.setdefault("pg.kcols", K.shape[1])
    brush = "eraser" if ss.get("pg.eraser") else f"{float(ss.get('pg.brush', 1.0)):g}"
    with st.container(horizontal=True, key="pg_tools"):
        settings = st.popover(_settings_label(), icon=":material/tune:", key="pg.settings_tools")
        inputs = st.popover("Input X: presets, size, edits, upload", icon=":material/image:",
                            key="pg.input_tools")
        kernels = st.popover("Kernel K: presets, size, flip", icon=":material/grid_on:",
                             key="pg.kernel_tools")
        camera = st.popover("Camera", icon=":material/photo_camera:", key="pg.camera_tools")
        brushes = st.popover(f"Brush: {brush}", icon=":material/brush:", key="pg.brush_tools")
    with settings:
        settings_tools()
    with inputs:
        preset, rows, cols = st.columns([2, 1, 1], vertical_alignment="bottom")
        preset.selectbox("Input preset", list(IMAGES), index=None, format_func=lambda k: IMAGES[k].label,
                         placeholder="Load a picture…", key="pg.image_preset", on_change=_on_image_preset)
        rows.number_input("Rows", *share.INPUT_SIDES, step=1, key="pg.rows", on_change=_on_input_size)
        cols.number_input("Columns", *share.INPUT_SIDES, step=1, key="pg.cols", on_change=_on_input_size)
        st.pills("Edit the input X", list(TRANSFORMS), format_func=TRANSFORMS.get, key="pg.edit_x",
                 on_change=_on_input_edit)
        st.file_uploader("Upload a picture: it becomes a grayscale grid of the current size (set Rows and "
                         "Columns first for more detail); Photo mode below uses it at full size.",
                         key="pg.upload", on_change=_on_upload)
    with kernels:
        preset, rows, cols = st.columns([2, 1, 1], vertical_alignment="bottom")
        preset.selectbox("Kernel preset", list(KERNELS), index=None, format_func=lambda k: KERNELS[k].label,
                         placeholder="Load a kernel…", key="pg.kernel_preset", on_change=_on_kernel_preset)
        rows.number_input("Rows", *share.KERNEL_SIDES, step=1, key="pg.krows", on_change=_on_kernel_size)
        cols.number_input("Cols", *share.KERNEL_SIDES, step=1, key="pg.kcols", on_change=_on_kernel_size,
                          help="Columns of the kernel")
        st.pills("Edit the kernel K", list(KERNEL_EDITS), format_func=KERNEL_EDITS.get, key="pg.edit_k",
                 on_change=_on_kernel_edit)
    with camera:
        st.camera_input("A snapshot becomes a grayscale grid of the current size.", key="pg.camera",
                        on_change=_on_camera)
    with brushes:
        st.number_input("Brush value", value=1.0, step=0.5, format="%g", key="pg.brush", min_value=-1e6,
                        max_value=1e6, help="Dragging on the input (or the kernel) paints this value.",
                        **KEEP)
        st.toggle("Eraser", key="pg.eraser", **KEEP,
                  help="Paint zeros. Right-drag erases too, and on a touch screen a stroke that starts on "
                       "the brush value.")


def _compute(state: share.PlaygroundState) -> tuple[np.ndarray | None, str | None]:
    """Y = X ⋆ K + b (H', W'), or None and the reason there is no output."""
    op = conv2d if state.mode == "convolution" else corr2d
    try:
        Y = op(state.X, state.K, padding=state.padding, stride=state.stride, dilation=state.dilation)
        Y = Y + state.bias
    except ValueError as exc:
        return None, f"No output: {exc}."
    if not np.isfinite(Y).all():
        return None, ("No output: the numbers are so large that the sums overflow. Use smaller kernel "
                      "values, input values or bias.")
    return Y, None


def _formula(name: str, n: int, k: int, p: int, s: int, d: int) -> str:
    out = (n + 2 * p - d * (k - 1) - 1) // s + 1
    return f"{name}′ = ⌊({n} + 2·{p} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {out}"


@st.fragment
def workspace() -> None:
    """The live loop: input, kernel, output and the picked cell's explanation, drawn as one grid group.

    Strokes, typed kernel numbers and picks rerun only this fragment, and it sends one element. Every
    change is read first, then everything is computed, then drawn.
    """
    X, K = ss[ws.X_KEY], ss[ws.K_KEY]
    painted = take_stroke(WORK, X.shape, ss[ws.X_REV], name="pg.paint")
    if painted is not None:
        ws.painted_input(painted)
    edited = take_stroke(WORK, K.shape, ss[ws.K_REV], name="pg.kedit")
    if edited is not None:
        ws.edited_kernel(edited)
        if ss.get(ws.PHOTO_ON):
            st.rerun(scope="app")  # photo mode, outside this fragment, follows the kernel
    state = ws.current()
    Y, problem = _compute(state)
    e = None
    if Y is not None:
        picked = take_pick(WORK, Y.shape, name="pg.output")
        if picked is not None:
            ws.set_cell(picked)
            state = ws.current()
        state = ws.clamped(state, Y.shape)
        e = _explanation(state)
    panels = [_input_panel(state, e), _kernel_panel(state), _output_panel(state, Y, problem)]
    if e is not None:
        panels.append(_explain_panel(state, e))
    link = ws.share_link(state)
    # The address bar is always a share link, which the grid group writes (replacing the history entry):
    # through Streamlit's query params every change would re-render the whole page and add a history
    # entry, so Back would step through edits instead of leaving the page.
    live = None if Y is None else live_spec(
        x="pg.paint", k="pg.kedit", out="pg.output", flip=state.mode == "convolution", padding=state.padding,
        stride=state.stride, dilation=state.dilation, bias=state.bias,
        flipped="pg.kflipped" if state.mode == "convolution" else None, stale=["explain"], animate=True)
    grid_group(WORK, panels, link=None if link is None else urlencode(link), live=live)
    if e is not None and not np.isclose(e.value, Y[state.cell]):
        st.error(f"Internal check failed: the output shows {Y[state.cell]:g}.")
    ws.remember(state, Y)
    if link is None:
        st.caption(":material/link_off: This state is too large for a share link (an uploaded picture with "
                   "many shades); the address bar keeps the last state that fit.")


def _explanation(state: share.PlaygroundState) -> CellExplanation:
    K = state.K[::-1, ::-1] if state.mode == "convolution" else state.K
    return explain_cell(state.X, K, *state.cell, padding=state.padding, stride=state.stride,
                        dilation=state.dilation, bias=state.bias)


def _brush() -> float:
    return 0.0 if ss.get("pg.eraser") else float(ss.get("pg.brush", 1.0))


def _input_panel(state: share.PlaygroundState, e: CellExplanation | None) -> dict:
    X = state.X
    source = ss.get(ws.X_SOURCE)
    name = f" · {IMAGES[source].label}" if source else ""
    taps = None if e is None else np.stack([e.rows.ravel(), e.cols.ravel()], axis=1)
    grid = paint_data(X, name="pg.paint", scale=IMAGE, revision=ss[ws.X_REV], ack=last_ack(WORK, "pg.paint"),
                      brush=_brush(), pad=state.padding, taps=taps, height=GRID_HEIGHT,
                      title=f"Input X · {X.shape[0]}×{X.shape[1]}{name}")
    return panel("input", [grid], weight=5)


def _kernel_panel(state: share.PlaygroundState) -> dict:
    K = state.K
    source = ss.get(ws.K_SOURCE)
    name = f" · {KERNELS[source].label}" if source else ""
    grids = [paint_data(K, name="pg.kedit", mode="edit", scale=signed_scale(K), revision=ss[ws.K_REV],
                        ack=last_ack(WORK, "pg.kedit"), brush=_brush(), height=GRID_HEIGHT * 3 // 4,
                        title=f"Kernel K · {K.shape[0]}×{K.shape[1]}{name}")]
    if state.mode == "convolution":
        Kf = K[::-1, ::-1]
        grids.append(view_data(Kf, name="pg.kflipped", scale=signed_scale(K), height=120, legend=False,
                               title="K flipped: what convolution slides"))
    return panel("kernel", grids, weight=4)


def _output_panel(state: share.PlaygroundState, Y: np.ndarray | None, problem: str | None) -> dict:
    op = "⋆" if state.mode == "correlation" else "∗"
    if Y is None:
        return panel("output", [], title=f"Output Y = X {op} K + b", error=problem, weight=5)
    X, K = state.X, state.K
    (ph, pw), (sh, sw), (dh, dw) = state.padding, state.stride, state.dilation
    grid = view_data(Y, name="pg.output", scale=signed_scale(Y), picked=state.cell, pickable=True,
                     title=f"Output Y = X {op} K + b · {Y.shape[0]}×{Y.shape[1]}", height=GRID_HEIGHT,
                     label="Output Y: pick a cell to explain it")
    lines = [_formula("H", X.shape[0], K.shape[0], ph, sh, dh),
             _formula("W", X.shape[1], K.shape[1], pw, sw, dw)]
    return panel("output", [grid], lines=lines, weight=5)


def _explain_panel(state: share.PlaygroundState, e: CellExplanation) -> dict:
    """How the picked output cell is computed: window ⊙ kernel, summed, plus bias."""
    flipped = " flipped" if state.mode == "convolution" else ""
    small = {"height": 110, "legend": False, "bare": True}
    # The window shares the input's grayscale and the kernel shares the kernel grid's scale.
    grids = [
        view_data(e.window, name="pg.ex_w", scale=IMAGE, title="window", **small),
        view_data(e.kernel, name="pg.ex_k", scale=signed_scale(state.K), title=f"K{flipped}", **small),
        view_data(e.products, name="pg.ex_p", scale=signed_scale(e.products), title="products", **small),
    ]
    return panel("explain", grids, row=True, lines=explain_lines(e), weight=4,
                 title=f"Explain Y[{e.i}, {e.j}]: its receptive field, outlined on X, times K, summed")


def _on_input_edit() -> None:
    op, ss["pg.edit_x"] = ss.get("pg.edit_x"), None  # an action, not a choice: ready for the next one
    if op is not None:
        _on_transform(op)


def _on_kernel_edit() -> None:
    op, ss["pg.edit_k"] = ss.get("pg.edit_k"), None
    if op is not None:
        _on_kernel_op(op)


def photo_panel(state: share.PlaygroundState) -> None:
    """The current kernel on the uploaded picture (or a built-in scene) at full size, input beside output."""
    photo, name = _uploaded_photo() or (None, None)
    if photo is None:
        st.caption("No picture uploaded yet (Input X above: upload a picture): a built-in scene is used.")
        photo, name = _sample_photo(), "built-in scene"
    P = photo.astype(np.float32) / 255
    op = conv2d if state.mode == "convolution" else corr2d
    try:
        out = op(P, state.K.astype(np.float32), padding=state.padding, stride=state.stride,
                 dilation=state.dilation) + np.float32(state.bias)
    except ValueError as exc:
        st.error(f"No output: {exc}.")
        return
    scale = robust_signed_scale(out)
    left, right = st.columns(2)
    left.image(IMAGE.colours(P), caption=f"{name} · {P.shape[0]}×{P.shape[1]} (grayscale, 0 black, 1 white)",
               width="stretch", output_format="PNG")
    right.image(scale.colours(out), width="stretch", output_format="PNG",
                caption=f"output {out.shape[0]}×{out.shape[1]} · {scale.legend()} (stronger responses "
                        "take the end colours)")


@st.cache_data(show_spinner=False)
def _sample_photo() -> np.ndarray:
    """A 512x512 synthetic scene (uint8) with edges in every direction, so photo mode works offline."""
    scene = np.clip(0.55 * image_preset("letter", (512, 512)) + 0.3 * image_preset("circle", (512, 512))
                    + 0.25 * image_preset("gradient", (512, 512)), 0.0, 1.0)
    return np.round(scene * 255).astype(np.uint8)


def export_panel() -> None:
    """Show the code, and downloads made on click from the live workspace's latest state."""
    live = ws.live()  # the fragment updates this object, so downloads never go stale after a stroke

    def snippet() -> str:
        s = live["state"]
        return pytorch_snippet(s.X, s.K, padding=s.padding, stride=s.stride, dilation=s.dilation, bias=s.bias,
                               mode=s.mode)

    def png() -> bytes:
        Y = live["Y"]
        return to_png(Y, scale=max(1, 256 // max(Y.shape))) if Y is not None else b""

    code = st.expander("Show the code", key="pg.show_code", on_change="rerun")
    if code.open:
        with code:
            st.markdown("The lesson's loop, which the app checks itself against:")
            show_source(corr2d_loop)
            st.markdown("The same numbers from PyTorch, runnable as it is:")
            st.code(snippet(), language="python")
    # In a popover: its four buttons (and their code) reach the browser only when it is opened.
    downloads, link = st.columns([2, 10], vertical_alignment="center")
    with downloads.popover("Download", icon=":material/download:", width="stretch"):
        st.download_button("Output CSV", lambda: to_csv(live["Y"]) if live["Y"] is not None else "",
                           "output.csv", "text/csv", key="pg.dl_csv", on_click="ignore",
                           icon=":material/download:", width="stretch")
        st.download_button("Output PNG", png, "output.png", "image/png", key="pg.dl_png", on_click="ignore",
                           icon=":material/download:", width="stretch")
        st.download_button("Kernel JSON", lambda: kernel_to_json(live["state"].K, mode=live["state"].mode),
                           "kernel.json", "application/json", key="pg.dl_kernel", on_click="ignore",
                           icon=":material/download:", width="stretch")
        st.download_button("PyTorch snippet", snippet, "convlab_snippet.py", "text/x-python",
                           key="pg.dl_snippet", on_click="ignore", icon=":material/download:",
                           width="stretch")
    link.caption(":material/link: The address bar always holds a share link that restores exactly this "
                 "state.")


def playground() -> None:
    ws.ensure()
    st.title("Playground")
    what = "convolution" if ss.get(ws.MODE) == "convolution" else "cross-correlation"
    welcome = progress.welcome_text()  # a newcomer's offer of the lesson, in the caption: no line of its own
    st.caption(f"Paint the input, type or paint the kernel, and watch the {what} follow every change. "
               "Click an output cell to see how it is computed." + (f" {welcome}" if welcome else ""))
    note = ss.pop(ws.NOTE, None)
    slot = st.container()  # always there, so a note does not shift (and remount) everything below it
    if note:
        getattr(slot, note[0])(note[1])
    # The grids are sent before the tools above them (their place is kept), so the browser fetches the
    # grid component's code while the tools are still arriving.
    setup = st.container(key="pg_setup")
    workspace()
    with setup:
        setup_row()
    with st.container(key="pg_more"):
        # An expander, not a toggle: no widget family beyond the page's own to load on a first visit.
        photo = st.expander("Photo mode: apply the kernel to the uploaded picture at full size",
                            key=ws.PHOTO_ON, on_change="rerun")
        if photo.open:
            with photo:
                photo_panel(ws.current())
        export_panel()


playground()
