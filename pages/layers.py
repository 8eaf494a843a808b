"""Channels & layers: colour channels, two stacked layers and their receptive field, correlation as a
matrix product, and the transposed convolution — each view live on the app's grid component."""

import numpy as np
import streamlit as st

from convlab import corr2d, explain_cell
from convlab.channels import corr2d_multi_in_out, explain_channels
from convlab.colour import IMAGE, signed_scale
from convlab.images import resize_grid
from convlab.kernels import kernel_preset
from convlab.matrix import conv_matrix, conv_transpose2d, im2col, transposed_sources
from convlab.receptive import Span, receptive_field
from convlab.snippets import channels_snippet, matrix_snippet, transposed_snippet, two_layers_snippet
from convlab.stack import run_stack
from ui import layers_state as ls
from ui.grid import grid_group, last_ack, paint_data, panel, take_pick, take_stroke, view_data
from ui.state import require_entry_script
from ui.widgets import cell_text, explain_lines, factor_text, shown_exactly

require_entry_script()
ss = st.session_state
KEEP = {"persist_state": "session"}
CHANNEL_NAMES = {1: ("X",), 2: ("X[0]", "X[1]"), 3: ("red", "green", "blue")}
MAX_TERMS = 9  # products written per channel before the sum is summarised


def _number(label: str, key: str, where=st, help: str | None = None) -> None:
    low, high = ls.SETTINGS[key]
    where.number_input(label, low, high, step=1, key=f"ly.{key}", help=help, **KEEP)


def _sum_text(values: list[float]) -> str:
    return " + ".join(factor_text(v) for v in values)


def _cells(span: Span, shape: tuple[int, int], pad: tuple[int, int]) -> np.ndarray:
    """The cells of a field rectangle that the grid draws: inside the map or its drawn padding."""
    rows = [r for r in range(span.r0, span.r1 + 1) if -pad[0] <= r < shape[0] + pad[0]]
    cols = [c for c in range(span.c0, span.c1 + 1) if -pad[1] <= c < shape[1] + pad[1]]
    return np.array([(r, c) for r in rows for c in cols], dtype=int).reshape(-1, 2)


def _eq(*grids_and_value) -> str:
    """ "=" when every number shown (2 decimals) is exact, else "≈"."""
    values = [v for g in grids_and_value for v in np.ravel(g)]
    return "=" if all(shown_exactly(v) for v in values) else "≈"


def _diff(d: float) -> str:
    return "0" if d == 0 else f"{d:.1e}"


def _code(key: str, label: str, snippet) -> None:
    """An expander with the view's runnable PyTorch snippet, built only when it is opened."""
    box = st.expander(label, key=key, on_change="rerun", icon=":material/code:")
    if box.open:
        box.code(snippet(), language="python")


def _stroke(group: str, name: str, view: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """The new grid painted or typed into grid `name` of `group`, once, if it was drawn on this revision."""
    return take_stroke(group, shape, ls.revision(view), limit=ls.LIMIT, name=name)


def _paint(
    values: np.ndarray, *, group: str, name: str, view: str, scale, mode: str = "paint", **options
) -> dict:
    return paint_data(
        values,
        name=name,
        scale=scale,
        revision=ls.revision(view),
        ack=last_ack(group, name),
        mode=mode,
        **options,
    )


# ------------------------------------------------------------------------------------ colour channels

CH_IN, CH_K = "ly.ch.in", "ly.ch.k"  # X and Y (strokes, picks); kernels, biases and the explanation
CHANNEL_PRESETS = {
    "luma": "1×1: gray from colour (0.299 R + 0.587 G + 0.114 B)",
    "red_minus_blue": "1×1: red minus blue",
    "swap": "1×1: swap red and blue (3 outputs)",
    "edges": "3×3: vertical edges, summed over the channels",
    "per_channel": "3×3: one edge detector per channel (3 outputs)",
    "random": "Random 3×3, 2 outputs",
}


def _channel_kernel(key: str, C: int) -> tuple[np.ndarray, np.ndarray]:
    """A preset (O, C, k, k) kernel and its (O,) bias, for an input of C channels."""
    if key == "luma":
        weights = np.array([0.299, 0.587, 0.114])[:C]
        return (weights / weights.sum()).reshape(1, C, 1, 1), np.zeros(1)
    if key == "red_minus_blue":
        return np.array([1.0, 0.0, -1.0])[:C].reshape(1, C, 1, 1), np.zeros(1)
    if key == "swap":
        mix = np.eye(3)[::-1][:, :C]
        return mix.reshape(3, C, 1, 1), np.zeros(3)
    if key == "edges":
        return np.repeat(kernel_preset("sobel_x")[None, None], C, axis=1) / C, np.zeros(1)
    if key == "per_channel":
        K = np.zeros((3, C, 3, 3))
        for o, preset in enumerate(("sobel_x", "sobel_y", "laplacian")):
            K[o, min(o, C - 1)] = kernel_preset(preset)
        return K, np.zeros(3)
    rng = np.random.default_rng()
    return np.round(rng.normal(0, 0.5, (2, C, 3, 3)), 2), np.zeros(2)


def _on_channel_preset() -> None:
    key, ss["ly.ch.preset"] = ss.get("ly.ch.preset"), None
    if key is not None:
        K, b = _channel_kernel(key, ls.get("ch.X").shape[0])
        ls.set_channels(K=K, b=b)


def _on_channel_shape() -> None:
    """Channels in/out, kernel size or input size changed: keep what fits, fill the rest."""
    X, K, b = ls.get("ch.X"), ls.get("ch.K"), ls.get("ch.b")
    C, O, k, side = (int(ss[f"ly.ch.{n}"]) for n in ("cin", "cout", "ksize", "side"))
    if X.shape[0] < C:  # a new channel starts as a copy of the last: a gray picture has equal channels
        X = np.concatenate([X, np.repeat(X[-1:], C - X.shape[0], axis=0)])
    X = np.stack([resize_grid(x, (side, side)) for x in X[:C]])
    K2 = np.zeros((O, C, k, k))
    o, c, h = min(O, K.shape[0]), min(C, K.shape[1]), min(k, K.shape[2])
    K2[:o, :c, :h, :h] = K[:o, :c, :h, :h]
    b2 = np.zeros(O)
    b2[:o] = b[:o]
    ls.set_channels(X, K2, b2)


def _on_colour_upload() -> None:
    file = ss.get("ly.ch.upload")
    if file is not None:
        ls.load_colour(file.getvalue(), file.name)


def _on_camera() -> None:
    shot = ss.get("ly.ch.camera")
    if shot is not None:
        ls.load_colour(shot.getvalue(), "the camera's snapshot")


def _channel_lines(X, K, b, cell, settings) -> list[tuple[str, bool]]:
    """The per-channel sums behind Y[o][i, j], each written out, then their total with the bias."""
    o, i, j = cell
    e = explain_channels(X, K, o, i, j, b, **settings)
    names = CHANNEL_NAMES[X.shape[0]]
    lines = [
        (
            f"Y[{o}][{i}, {j}] = Σ over the {X.shape[0]} input channel(s) of (window ⊙ K[{o}, c]), "
            f"plus b[{o}]:",
            False,
        )
    ]
    for c, total in enumerate(e.sums):
        ec = explain_cell(X[c], K[o, c], i, j, **settings)
        pairs = list(zip(ec.window.ravel(), ec.kernel.ravel(), strict=True))
        terms = " + ".join(f"{factor_text(x)}·{factor_text(k)}" for x, k in pairs[:MAX_TERMS])
        more = f" + … ({len(pairs)} products)" if len(pairs) > MAX_TERMS else ""
        eq = _eq(ec.window, ec.kernel, total)
        lines.append((f"channel {c} ({names[c]}): {terms}{more} {eq} {cell_text(total)}", False))
    bias = f" + b[{o}] {factor_text(e.bias)}" if e.bias else ""
    eq = _eq(e.sums, e.bias, e.value)
    lines.append((f"Y[{o}][{i}, {j}] {eq} {_sum_text(list(e.sums))}{bias} {eq} {cell_text(e.value)}", True))
    if X.shape[0] > 1 and K.shape[2] == 1:
        lines.append(
            (
                "A 1×1 kernel mixes the channels cell by cell: every output cell is a weighted sum of "
                "the same cell in each channel.",
                False,
            )
        )
    return lines


def _taken_channels(X, K, b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply this run's strokes on the channel and kernel grids (first, before anything is computed)."""
    for c in range(X.shape[0]):
        new = _stroke(CH_IN, f"x{c}", "ch", X.shape[1:])
        if new is not None:
            X = X.copy()
            X[c] = new
            ls.put("ch.X", X)
    for o in range(K.shape[0]):
        for c in range(K.shape[1]):
            new = _stroke(CH_K, f"k{o}{c}", "ch", K.shape[2:])
            if new is not None:
                K = K.copy()
                K[o, c] = new
                ls.put("ch.K", K)
        new = _stroke(CH_K, f"b{o}", "ch", (1, 1))
        if new is not None:
            b = b.copy()
            b[o] = new[0, 0]
            ls.put("ch.b", b)
    return X, K, b


@st.fragment
def channels_view() -> None:
    """Input channels, one kernel slice per (output, input) channel and a bias per output, the outputs."""
    X, K, b = ls.get("ch.X"), ls.get("ch.K"), ls.get("ch.b")
    ss.setdefault("ly.ch.cin", X.shape[0])
    ss.setdefault("ly.ch.cout", K.shape[0])
    ss.setdefault("ly.ch.ksize", K.shape[2])
    ss.setdefault("ly.ch.side", X.shape[1])
    box = st.container(key="ly_settings_ch")  # three settings to a row on a phone (app.css)
    row = box.columns([1, 1, 1, 1, 1, 1, 1], vertical_alignment="bottom")
    row[0].number_input("Input channels", 1, 3, step=1, key="ly.ch.cin", on_change=_on_channel_shape)
    row[1].number_input("Output channels", 1, 4, step=1, key="ly.ch.cout", on_change=_on_channel_shape)
    row[2].number_input("Kernel size", 1, 5, step=1, key="ly.ch.ksize", on_change=_on_channel_shape)
    row[3].number_input(
        "Input size",
        2,
        32,
        step=1,
        key="ly.ch.side",
        on_change=_on_channel_shape,
        help="Rows and columns of every channel (set it before uploading for more detail).",
    )
    _number("Padding", "ch.pad", row[4])
    _number("Stride", "ch.stride", row[5])
    _number("Dilation", "ch.dil", row[6])
    preset, upload, camera, picture = box.columns([6, 2, 2, 1], vertical_alignment="bottom")
    preset.selectbox(
        "Kernel preset",
        list(CHANNEL_PRESETS),
        index=None,
        format_func=CHANNEL_PRESETS.get,
        placeholder="Load a kernel…",
        key="ly.ch.preset",
        on_change=_on_channel_preset,
    )
    with upload.popover("Colour picture", icon=":material/upload:", width="stretch"):
        st.file_uploader(
            "A picture becomes its red, green and blue channels at the input size.",
            key="ly.ch.upload",
            on_change=_on_colour_upload,
        )
    with camera.popover("Camera", icon=":material/photo_camera:", width="stretch"):
        st.camera_input(
            "Take a snapshot: its three colour channels become the input.",
            key="ly.ch.camera",
            on_change=_on_camera,
        )

    note = ss.pop(ls.CH_NOTE, None)
    if note:
        st.error(note, icon=":material/broken_image:")
    X, K, b = _taken_channels(X, K, b)
    if X.shape[0] == 3:
        picture.image(np.clip(np.moveaxis(X, 0, -1), 0, 1), width=56, caption="colour")
    C, O = X.shape[0], K.shape[0]
    settings = {
        "padding": int(ss["ly.ch.pad"]),
        "stride": int(ss["ly.ch.stride"]),
        "dilation": int(ss["ly.ch.dil"]),
    }
    try:
        Y = corr2d_multi_in_out(X, K, b, **settings)
        problem = None if np.isfinite(Y).all() else "the sums overflow: use smaller numbers"
    except ValueError as exc:
        Y, problem = None, str(exc)
    cell = tuple(ls.get("ch.cell"))
    if Y is not None:
        for o in range(O):
            picked = take_pick(CH_IN, Y.shape[1:], name=f"y{o}")
            if picked is not None:
                cell = (o, *picked)
        cell = (min(cell[0], O - 1), min(cell[1], Y.shape[1] - 1), min(cell[2], Y.shape[2] - 1))
        ls.put("ch.cell", cell)
    o, i, j = cell

    names = CHANNEL_NAMES[C]
    taps = {}
    if Y is not None:
        for c in range(C):
            e = explain_cell(X[c], K[o, c], i, j, **settings)
            taps[c] = np.stack([e.rows.ravel(), e.cols.ravel()], axis=1)
    pad = (settings["padding"],) * 2
    inputs = [
        _paint(
            X[c],
            group=CH_IN,
            name=f"x{c}",
            view="ch",
            scale=IMAGE,
            pad=pad,
            taps=taps.get(c),
            title=f"channel {c} · {names[c]}",
            height=260,
            legend=c == 0,
        )
        for c in range(C)
    ]
    x_panel = panel(
        "x",
        inputs,
        row=True,
        weight=C,
        title=f"Input X · {C} channel(s) of {X.shape[1]}×{X.shape[2]} (each grayscale: 0 black, 1 white)",
    )
    if Y is None:
        y_panel = panel("y", [], title="Outputs Y", error=f"No output: {problem}.", weight=max(O, 2))
    else:
        yscale = signed_scale(Y)
        outputs = [
            view_data(
                Y[oo],
                name=f"y{oo}",
                scale=yscale,
                pickable=True,
                height=260,
                legend=oo == 0,
                picked=(i, j) if oo == o else None,
                title=f"Y[{oo}] · {Y.shape[1]}×{Y.shape[2]}",
                label=f"Output channel {oo}: pick a cell to explain it",
            )
            for oo in range(O)
        ]
        y_panel = panel(
            "y",
            outputs,
            row=True,
            weight=max(O, 2),
            title=f"Outputs Y · {O} channel(s), one colour range: pick a cell",
        )
    grid_group(CH_IN, [x_panel, y_panel], link=ls.link())

    kscale = signed_scale(K, b)
    kernel_panels = []
    for oo in range(O):
        grids = [
            _paint(
                K[oo, c],
                group=CH_K,
                name=f"k{oo}{c}",
                view="ch",
                scale=kscale,
                mode="edit",
                title=f"K[{oo}, {c}] · {names[c]}",
                height=150,
                legend=False,
                bare=True,
            )
            for c in range(C)
        ]
        last = oo == O - 1
        grids.append(
            _paint(
                b[oo : oo + 1].reshape(1, 1),
                group=CH_K,
                name=f"b{oo}",
                view="ch",
                scale=kscale,
                mode="edit",
                title=f"bias b[{oo}]",
                height=60,
                legend=last,
                bare=True,
            )
        )
        mark = " · explained here" if oo == o and Y is not None else ""
        kernel_panels.append(
            panel(
                f"k{oo}",
                grids,
                row=True,
                weight=C + 1,
                title=f"Output channel {oo}: a kernel slice per input channel, a bias{mark}",
            )
        )
    if Y is not None:
        kernel_panels.append(
            panel(
                "explain",
                [],
                lines=_channel_lines(X, K, b, cell, settings),
                weight=3,
                title=f"Explain Y[{o}][{i}, {j}]",
            )
        )
    grid_group(CH_K, kernel_panels)
    st.caption(
        "Kernel and bias cells: click one and type a number (1/9, −2/3 and 1e-3 work), or drag to paint."
    )
    _code(
        "ly.ch.code",
        "The same numbers from PyTorch",
        lambda: channels_snippet(
            X, K, b, padding=settings["padding"], stride=settings["stride"], dilation=settings["dilation"]
        ),
    )


# ------------------------------------------------------------------------------------------ two layers

ST_IN, ST_OUT = "ly.st.in", "ly.st.out"


def _size_chain(layers, names) -> list[str]:
    """How one output cell's field grows, layer by layer back to X: size = (size − 1)·s + d·(k − 1) + 1."""
    lines, size = [], (1, 1)
    for layer, name in zip(reversed(layers), reversed(names), strict=True):
        (k, _), (s, _), (d, _) = layer.size, layer.stride, layer.dilation
        new = (size[0] - 1) * s + d * (k - 1) + 1
        why = f"({size[0]} − 1)·{s} + {k}"
        lines.append(
            f"in {name}: {why} = {new}, so {new}×{new} cells ({layer.name}: window {k}×{k}, stride {s})"
        )
        size = (new, new)
    return lines


def _on_layers_size() -> None:
    for name, key in (("st.X", "ly.st.side"), ("st.K1", "ly.st.k1"), ("st.K2", "ly.st.k2")):
        n = int(ss[key])
        ls.put(name, resize_grid(ls.get(name), (n, n)), replace=True)


@st.fragment
def layers_view() -> None:
    """X → K1 → (ReLU) → (2×2 pooling) → K2, every map drawn; a picked Y cell lights its field everywhere."""
    X, K1, K2 = ls.get("st.X"), ls.get("st.K1"), ls.get("st.K2")
    ss.setdefault("ly.st.side", X.shape[0])
    ss.setdefault("ly.st.k1", K1.shape[0])
    ss.setdefault("ly.st.k2", K2.shape[0])
    row = st.container(key="ly_settings_st").columns([1, 1, 1, 1, 1, 1, 2], vertical_alignment="bottom")
    row[0].number_input("Input size", 3, 16, step=1, key="ly.st.side", on_change=_on_layers_size)
    row[1].number_input("K1 size", 1, 5, step=1, key="ly.st.k1", on_change=_on_layers_size)
    _number("Padding 1", "st.p1", row[2], help="Zeros around X before layer 1.")
    row[3].number_input("K2 size", 1, 5, step=1, key="ly.st.k2", on_change=_on_layers_size)
    _number("Padding 2", "st.p2", row[4], help="Zeros around layer 2's input.")
    row[5].toggle("ReLU", key="ly.st.relu", help="Negative values of H1 become 0.", **KEEP)
    row[6].segmented_control(
        "Pooling",
        list(ls.POOLS),
        format_func=ls.POOLS.get,
        key="ly.st.pool",
        required=True,
        help="2×2 windows, stride 2, between the layers.",
        **KEEP,
    )

    for name, key in (("st.X", "x"), ("st.K1", "k1"), ("st.K2", "k2")):
        new = _stroke(ST_IN, key, "st", ls.get(name).shape)
        if new is not None:
            ls.put(name, new)
    X, K1, K2 = ls.get("st.X"), ls.get("st.K1"), ls.get("st.K2")
    relu, pool = bool(ss["ly.st.relu"]), ss["ly.st.pool"]
    p1, p2 = int(ss["ly.st.p1"]), int(ss["ly.st.p2"])
    try:
        stack = run_stack(
            X, K1, K2, relu=relu, pool=None if pool == "none" else pool, padding1=p1, padding2=p2
        )
        problem = None
    except ValueError as exc:
        stack, problem = None, str(exc)

    fields, cell = None, tuple(ls.get("st.cell"))
    if stack is not None:
        picked = take_pick(ST_OUT, stack.Y.shape, name="y")
        cell = picked or cell
        cell = (min(cell[0], stack.Y.shape[0] - 1), min(cell[1], stack.Y.shape[1] - 1))
        ls.put("st.cell", cell)
        fields = receptive_field(stack.layers, cell)

    kscale = signed_scale(K1, K2)
    x_taps = None if fields is None else _cells(fields[0], X.shape, (p1, p1))
    grid_group(
        ST_IN,
        [
            panel(
                "x",
                [
                    _paint(
                        X,
                        group=ST_IN,
                        name="x",
                        view="st",
                        scale=IMAGE,
                        pad=(p1, p1),
                        taps=x_taps,
                        title=f"Input X · {X.shape[0]}×{X.shape[1]}",
                        height=300,
                    )
                ],
                weight=4,
            ),
            panel(
                "k",
                [
                    _paint(
                        K1,
                        group=ST_IN,
                        name="k1",
                        view="st",
                        scale=kscale,
                        mode="edit",
                        height=150,
                        title=f"K1 (layer 1) · {K1.shape[0]}×{K1.shape[1]}",
                        legend=False,
                    ),
                    _paint(
                        K2,
                        group=ST_IN,
                        name="k2",
                        view="st",
                        scale=kscale,
                        mode="edit",
                        height=150,
                        title=f"K2 (layer 2) · {K2.shape[0]}×{K2.shape[1]}",
                    ),
                ],
                weight=2,
                title="Kernels (one colour range)",
            ),
        ],
        link=ls.link(),
    )

    if stack is None:
        grid_group(ST_OUT, [panel("maps", [], title="Maps", error=f"No output: {problem}.")])
    else:
        mscale = signed_scale(stack.H1, stack.P, stack.Y)
        maps, names = [], ["X"]
        h1_pad = (0, 0) if pool != "none" else (p2, p2)
        maps.append(
            view_data(
                stack.H1,
                name="h1",
                scale=mscale,
                height=240,
                legend=False,
                pad=h1_pad,
                taps=_cells(fields[1], stack.H1.shape, h1_pad),
                title=f"H1 = {'ReLU(' if relu else ''}X ⋆ K1{')' if relu else ''} · "
                f"{stack.H1.shape[0]}×{stack.H1.shape[1]}",
            )
        )
        names.append("H1")
        if pool != "none":
            maps.append(
                view_data(
                    stack.P,
                    name="p",
                    scale=mscale,
                    height=240,
                    legend=False,
                    pad=(p2, p2),
                    taps=_cells(fields[2], stack.P.shape, (p2, p2)),
                    title=f"P = {pool} pool(H1) · {stack.P.shape[0]}×{stack.P.shape[1]}",
                )
            )
            names.append("P")
        maps.append(
            view_data(
                stack.Y,
                name="y",
                scale=mscale,
                pickable=True,
                picked=cell,
                height=240,
                title=f"Y = {names[-1]} ⋆ K2 · {stack.Y.shape[0]}×{stack.Y.shape[1]}",
                label="Output Y: pick a cell to light up its receptive field",
            )
        )
        grid_group(
            ST_OUT,
            [
                panel(
                    "maps",
                    maps,
                    row=True,
                    weight=max(3, len(maps)),
                    title="The maps (one colour range): the picked cell's receptive field, outlined in each",
                ),
                panel(
                    "field",
                    [],
                    lines=_field_lines(stack, fields, cell, names, X.shape, (K1, K2, p1, p2, pool)),
                    weight=3,
                    title=f"Receptive field of Y[{cell[0]}, {cell[1]}]",
                ),
            ],
        )
    _code(
        "ly.st.code",
        "The same maps from PyTorch",
        lambda: two_layers_snippet(
            X, K1, K2, relu=relu, pool=None if pool == "none" else pool, padding1=p1, padding2=p2
        ),
    )


def _field_lines(stack, fields, cell, names, x_shape, setup) -> list[tuple[str, bool] | str]:
    K1, K2, p1, p2, pool = setup
    f = fields[0]
    rows, cols = f.shape
    lines: list[tuple[str, bool] | str] = [
        (
            f"Y[{cell[0]}, {cell[1]}] depends on a {rows}×{cols} block of X: rows {f.r0}…{f.r1}, "
            f"columns {f.c0}…{f.c1}.",
            True,
        ),
        "Walking back from one cell of Y:",
        *_size_chain(stack.layers, names),
    ]
    if rows > max(K1.shape[0], K2.shape[0]):
        lines.append(
            f"That is larger than either kernel ({K1.shape[0]}×{K1.shape[1]} and "
            f"{K2.shape[0]}×{K2.shape[1]}): each tap of K2 reads its own window of the map below."
        )
    outside = f.r0 < 0 or f.c0 < 0 or f.r1 >= x_shape[0] or f.c1 >= x_shape[1]
    if outside:
        lines.append(
            "Part of the field lies outside X, in the zero padding (or beyond it): those cells read "
            "0, hatched where drawn."
        )
    H, _W = x_shape
    lines += [
        "Shapes, layer by layer:",
        f"H1: ⌊({H} + 2·{p1} − {K1.shape[0]}) / 1⌋ + 1 = {stack.H1.shape[0]} (rows), "
        f"{stack.H1.shape[1]} (columns)",
    ]
    if pool != "none":
        lines.append(
            f"P: ⌊({stack.H1.shape[0]} − 2) / 2⌋ + 1 = {stack.P.shape[0]} (rows), "
            f"{stack.P.shape[1]} (columns)"
        )
    before = stack.P.shape
    lines.append(
        f"Y: ⌊({before[0]} + 2·{p2} − {K2.shape[0]}) / 1⌋ + 1 = {stack.Y.shape[0]} (rows), "
        f"{stack.Y.shape[1]} (columns)"
    )
    return lines


SIZE_LABELS = (
    ("rows", "Rows of X"),
    ("cols", "Columns of X"),
    ("krows", "Rows of K"),
    ("kcols", "Columns of K"),
)


def _size_values(view: str) -> dict[str, int]:
    """The size widgets' values that the view's grids X and K have: {"ly.<view>.rows": H, ...}."""
    X, K = ls.get(f"{view}.X"), ls.get(f"{view}.K")
    return {f"ly.{view}.{name}": n for (name, _), n in zip(SIZE_LABELS, (*X.shape, *K.shape), strict=True)}


def _on_resize(view: str) -> None:
    """A size widget of the view changed: crop or pad its X and K to the widgets' sizes."""
    for grid, (rows, cols) in (("X", ("rows", "cols")), ("K", ("krows", "kcols"))):
        shape = (int(ss[f"ly.{view}.{rows}"]), int(ss[f"ly.{view}.{cols}"]))
        ls.put(f"{view}.{grid}", resize_grid(ls.get(f"{view}.{grid}"), shape), replace=True)


def _size_inputs(row, view: str) -> None:
    """Rows and columns of X and of K in the first four columns of `row`, within the link's bounds."""
    for key, value in _size_values(view).items():
        ss.setdefault(key, value)
    bounds = [*ls.ARRAYS[f"{view}.X"].sides, *ls.ARRAYS[f"{view}.K"].sides]
    for col, (name, label), (low, high) in zip(row, SIZE_LABELS, bounds, strict=False):
        col.number_input(
            label, low, high, step=1, key=f"ly.{view}.{name}", on_change=_on_resize, args=(view,)
        )


# ------------------------------------------------------------------------------------------ the matrix

MX_IN, MX_M = "ly.mx.in", "ly.mx.m"


@st.fragment
def matrix_view() -> None:
    """Y = M·vec(X) with M built from K, and Y = im2col(X)·vec(K): both drawn and checked against corr2d."""
    X, K = ls.get("mx.X"), ls.get("mx.K")
    row = st.container(key="ly_settings_mx").columns(7, vertical_alignment="bottom")
    _size_inputs(row, "mx")
    _number("Padding", "mx.pad", row[4])
    _number("Stride", "mx.stride", row[5])
    _number("Dilation", "mx.dil", row[6])

    for name, key in (("mx.X", "x"), ("mx.K", "k")):
        new = _stroke(MX_IN, key, "mx", ls.get(name).shape)
        if new is not None:
            ls.put(name, new)
    X, K = ls.get("mx.X"), ls.get("mx.K")
    settings = {
        "padding": int(ss["ly.mx.pad"]),
        "stride": int(ss["ly.mx.stride"]),
        "dilation": int(ss["ly.mx.dil"]),
    }
    try:
        Y = corr2d(X, K, **settings)
        problem = None
    except ValueError as exc:
        Y, problem = None, str(exc)
    if Y is not None and Y.size > 64:
        Y, problem = (
            None,
            (
                f"the output would have {Y.size} cells: the matrix view draws at most 64 rows; "
                "use less padding"
            ),
        )
    cell, e = tuple(ls.get("mx.cell")), None
    if Y is not None:
        picked = take_pick(MX_IN, Y.shape, name="y")
        row_picked = take_pick(MX_M, (Y.size, 1), name="vy")  # a row of vec(Y) is a cell of Y
        if picked is not None:
            cell = picked
        elif row_picked is not None:
            cell = divmod(row_picked[0], Y.shape[1])
        cell = (min(cell[0], Y.shape[0] - 1), min(cell[1], Y.shape[1] - 1))
        ls.put("mx.cell", cell)
        e = explain_cell(X, K, *cell, **settings)

    kscale = signed_scale(K)
    x_taps = None if e is None else np.stack([e.rows.ravel(), e.cols.ravel()], axis=1)
    top = [
        panel(
            "x",
            [
                _paint(
                    X,
                    group=MX_IN,
                    name="x",
                    view="mx",
                    scale=IMAGE,
                    pad=(settings["padding"],) * 2,
                    taps=x_taps,
                    title=f"Input X · {X.shape[0]}×{X.shape[1]}",
                    height=240,
                )
            ],
            weight=3,
        ),
        panel(
            "k",
            [
                _paint(
                    K,
                    group=MX_IN,
                    name="k",
                    view="mx",
                    scale=kscale,
                    mode="edit",
                    height=160,
                    title=f"Kernel K · {K.shape[0]}×{K.shape[1]}",
                )
            ],
            weight=2,
        ),
    ]
    if Y is None:
        top.append(panel("y", [], title="Output Y", error=f"No output: {problem}.", weight=3))
        grid_group(MX_IN, top, link=ls.link())
        return
    yscale = signed_scale(Y)
    top.append(
        panel(
            "y",
            [
                view_data(
                    Y,
                    name="y",
                    scale=yscale,
                    pickable=True,
                    picked=cell,
                    height=240,
                    title=f"Y = X ⋆ K · {Y.shape[0]}×{Y.shape[1]}",
                    label="Output Y: pick a cell to see its row of the matrix",
                )
            ],
            lines=explain_lines(e),
            weight=3,
        )
    )
    grid_group(MX_IN, top, link=ls.link())

    M = conv_matrix(K, X.shape, **settings)
    cols = im2col(X, K.shape, **settings)
    r = cell[0] * Y.shape[1] + cell[1]
    x_vec, y_vec, k_vec = X.reshape(1, -1), Y.reshape(-1, 1), K.reshape(-1, 1)
    by_matrix, by_windows = M @ X.ravel(), cols @ K.ravel()
    d1, d2 = np.abs(by_matrix - Y.ravel()).max(), np.abs(by_windows - Y.ravel()).max()
    ok = d1 <= 1e-9 * max(1.0, np.abs(Y).max()) and d2 <= 1e-9 * max(1.0, np.abs(Y).max())
    nnz = int(np.count_nonzero(M))
    row_taps = np.array([(r, c) for c in range(M.shape[1])])
    # One cell size for M, vec(X)ᵀ, vec(Y), im2col and vec(K)ᵀ, so that columns and rows line up.
    cap = max(4, min(28, 420 // M.shape[0]))
    tall = {"height": 420, "max_cell": cap, "show_values": None}
    matrix_lines = [
        (
            f"M · vec(X) {'=' if ok else '≠'} vec(Y): the largest difference from corr2d is {_diff(d1)}"
            f" {'✓' if ok else '✗'}",
            True,
        ),
        f"M is {M.shape[0]}×{M.shape[1]} (one row per output cell, one column per input cell) and holds "
        f"{nnz} nonzero weights of {M.size} ({100 * nnz / M.size:.0f}%): "
        f"row {r} = cell ({cell[0]}, {cell[1]}) holds K's weights at the cells its window reads, "
        "zeros elsewhere.",
        "Taps in the padding read zeros, so they have no column: that row holds fewer weights.",
    ]
    im2col_lines = [
        (
            f"im2col(X) · vec(K) {'=' if ok else '≠'} vec(Y): the largest difference is {_diff(d2)} "
            f"{'✓' if ok else '✗'}",
            True,
        ),
        f"im2col(X) is {cols.shape[0]}×{cols.shape[1]}: row {r} is the window of cell ({cell[0]}, {cell[1]}) "
        "flattened. One matrix product computes every output: this is how libraries run convolutions.",
    ]
    grid_group(
        MX_M,
        [
            panel(
                "m",
                [
                    view_data(
                        M,
                        name="m",
                        scale=kscale,
                        taps=row_taps,
                        label="The matrix M",
                        title=f"M · {M.shape[0]}×{M.shape[1]} (built from K; row {r} outlined)",
                        **tall,
                    ),
                    view_data(
                        x_vec,
                        name="vx",
                        scale=IMAGE,
                        title="vec(X)ᵀ: the cell of X that each column of M multiplies",
                        height=40,
                        max_cell=cap,
                        legend=False,
                        bare=True,
                    ),
                ],
                lines=matrix_lines,
                weight=6,
            ),
            panel(
                "vy",
                [
                    view_data(
                        y_vec,
                        name="vy",
                        scale=yscale,
                        pickable=True,
                        picked=(r, 0),
                        legend=False,
                        title="= vec(Y)",
                        label="vec(Y): pick a row",
                        **tall,
                    )
                ],
                weight=1,
            ),
            panel(
                "cols",
                [
                    view_data(
                        cols,
                        name="cols",
                        scale=IMAGE,
                        taps=np.array([(r, c) for c in range(cols.shape[1])]),
                        title=f"im2col(X) · {cols.shape[0]}×{cols.shape[1]}",
                        legend=False,
                        **tall,
                    ),
                    view_data(
                        k_vec.T,
                        name="vk",
                        scale=kscale,
                        title="vec(K)ᵀ: the weight each column multiplies",
                        height=40,
                        max_cell=cap,
                        legend=False,
                        bare=True,
                    ),
                ],
                lines=im2col_lines,
                weight=3,
            ),
        ],
    )
    if not ok:
        st.error("Internal check failed: a matrix product differs from corr2d.")
    _code("ly.mx.code", "Build M and im2col in PyTorch", lambda: matrix_snippet(X, K, **settings))


# ------------------------------------------------------------------------------- transposed convolution

TR_IN, TR_M = "ly.tr.in", "ly.tr.m"


def _on_transposed_example(example: str) -> None:
    if example == "checkerboard":
        X, K, stride, pad = np.ones((4, 4)), np.ones((3, 3)), 2, 0
    else:
        X, K, stride, pad = np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.0, 1.0], [2.0, 3.0]]), 1, 0
    ls.put("tr.X", X, replace=True)
    ls.put("tr.K", K, replace=True)
    ss["ly.tr.stride"], ss["ly.tr.pad"] = stride, pad
    ss.update(_size_values("tr"))


@st.fragment
def transposed_view() -> None:
    """Z = the transposed convolution of X with K: each X cell scatters a scaled copy of K into Z."""
    X, K = ls.get("tr.X"), ls.get("tr.K")
    row = st.container(key="ly_settings_tr").columns([1, 1, 1, 1, 1, 1, 2], vertical_alignment="bottom")
    _size_inputs(row, "tr")
    _number("Stride", "tr.stride", row[4])
    _number("Padding", "tr.pad", row[5], help="Cropped off each side of the result.")
    first, second = row[6].columns(2)
    first.button(
        "Course example",
        key="ly.tr.ex1",
        on_click=_on_transposed_example,
        args=("course",),
        width="stretch",
    )
    second.button(
        "Checkerboard",
        key="ly.tr.ex2",
        on_click=_on_transposed_example,
        args=("checkerboard",),
        width="stretch",
        help="A 3×3 kernel at stride 2: overlapping copies double some cells.",
    )

    for name, key in (("tr.X", "x"), ("tr.K", "k")):
        new = _stroke(TR_IN, key, "tr", ls.get(name).shape)
        if new is not None:
            ls.put(name, new)
    X, K = ls.get("tr.X"), ls.get("tr.K")
    stride, pad = int(ss["ly.tr.stride"]), int(ss["ly.tr.pad"])
    try:
        Z = conv_transpose2d(X, K, stride=stride, padding=pad)
        problem = None
    except ValueError as exc:
        Z, problem = None, str(exc)
    cell, terms = tuple(ls.get("tr.cell")), []
    if Z is not None:
        picked = take_pick(TR_IN, Z.shape, name="z")
        cell = picked or cell
        cell = (min(cell[0], Z.shape[0] - 1), min(cell[1], Z.shape[1] - 1))
        ls.put("tr.cell", cell)
        terms = transposed_sources(X.shape, K.shape, cell, stride=stride, padding=pad)

    kscale = signed_scale(X, K)  # X here is a signal to upsample, not a picture: signed, shared with K
    panels = [
        panel(
            "x",
            [
                _paint(
                    X,
                    group=TR_IN,
                    name="x",
                    view="tr",
                    scale=kscale,
                    mode="edit",
                    height=200,
                    taps=np.array([t[0] for t in terms]).reshape(-1, 2) if terms else None,
                    title=f"Input X · {X.shape[0]}×{X.shape[1]}",
                )
            ],
            weight=2,
        ),
        panel(
            "k",
            [
                _paint(
                    K,
                    group=TR_IN,
                    name="k",
                    view="tr",
                    scale=kscale,
                    mode="edit",
                    height=200,
                    taps=np.array([t[1] for t in terms]).reshape(-1, 2) if terms else None,
                    title=f"Kernel K · {K.shape[0]}×{K.shape[1]}",
                    legend=False,
                )
            ],
            weight=2,
        ),
    ]
    if Z is None:
        panels.append(panel("z", [], title="Output Z", error=f"No output: {problem}.", weight=3))
        grid_group(TR_IN, panels, link=ls.link())
        return
    copies = conv_transpose2d(np.ones_like(X), np.ones_like(K), stride=stride, padding=pad)
    value = float(Z[cell])
    written = " + ".join(f"X[{r}, {c}]·K[{a}, {b}]" for (r, c), (a, b) in terms)
    numbers = " + ".join(f"{factor_text(X[rc])}·{factor_text(K[ab])}" for rc, ab in terms)
    lines = [
        (f"Z[{cell[0]}, {cell[1]}] = {written} = {numbers} {_eq(X, K, value)} {cell_text(value)}", True)
        if terms
        else (f"Z[{cell[0]}, {cell[1]}] = 0: no copy of K reaches this cell.", True),
        f"{len(terms)} cop{'y' if len(terms) == 1 else 'ies'} of K overlap here (outlined on X: the cells "
        "whose copies land here; on K: the weight each copy puts here).",
    ]
    Ho, Wo = Z.shape
    sizes = (
        f"Z is {Ho}×{Wo}: (H − 1)·stride − 2·padding + k = ({X.shape[0]} − 1)·{stride} − 2·{pad} + "
        f"{K.shape[0]} = {Ho} rows"
    )
    panels.append(
        panel(
            "z",
            [
                view_data(
                    Z,
                    name="z",
                    scale=signed_scale(Z),
                    pickable=True,
                    picked=cell,
                    height=260,
                    title=f"Z = X ⋆ᵀ K · {Ho}×{Wo}",
                    label="Output Z: pick a cell to see its terms",
                )
            ],
            lines=[*lines, sizes],
            weight=3,
        )
    )
    grid_group(TR_IN, panels, link=ls.link())

    counts = [int(n) for n in np.unique(copies)]
    M = conv_matrix(K, Z.shape, padding=pad, stride=stride)
    by_matrix = M.T @ X.ravel()
    diff = float(np.abs(by_matrix - Z.ravel()).max())
    ok = diff <= 1e-9 * max(1.0, float(np.abs(Z).max()))
    check = [
        (
            f"Z = Mᵀ · vec(X), M = the {M.shape[0]}×{M.shape[1]} matrix of correlation with K on a "
            f"{Ho}×{Wo} input: largest difference {_diff(diff)} {'✓' if ok else '✗'}",
            True,
        ),
        "Correlation maps a Z-sized grid to an X-sized one with M; the transposed convolution goes back "
        "the other way with Mᵀ — the shapes, not the numbers: it does not undo the correlation.",
    ]
    more = [
        panel(
            "copies",
            [
                view_data(
                    copies,
                    name="copies",
                    scale=signed_scale(copies),
                    height=220,
                    title="How many copies of K overlap in each cell",
                    legend=False,
                )
            ],
            lines=[
                f"Counts here: {', '.join(map(str, counts))}. "
                + (
                    "Uneven counts at this stride make the checkerboard pattern of upsampling layers."
                    if len(counts) > 1 and stride > 1
                    else "Fewer copies reach the border than the middle."
                    if len(counts) > 1
                    else "Every cell gets the same number of copies."
                )
            ],
            weight=3,
        )
    ]
    if M.shape[1] <= 64 and M.shape[0] <= 64:
        more.append(
            panel(
                "mt",
                [
                    view_data(
                        M.T,
                        name="mt",
                        scale=signed_scale(K),
                        height=300,
                        max_cell=24,
                        taps=np.array([(cell[0] * Wo + cell[1], c) for c in range(M.shape[0])]),
                        title=f"Mᵀ · {M.shape[1]}×{M.shape[0]} (row of the picked Z cell outlined)",
                    )
                ],
                lines=check,
                weight=4,
            )
        )
    else:
        more.append(
            panel("mt", [], lines=[*check, f"Mᵀ has {M.shape[1]} rows: too many to draw here."], weight=4)
        )
    grid_group(TR_M, more)
    if not ok:
        st.error("Internal check failed: Mᵀ · vec(X) differs from the transposed convolution.")
    _code(
        "ly.tr.code", "The same Z from PyTorch", lambda: transposed_snippet(X, K, stride=stride, padding=pad)
    )


# ---------------------------------------------------------------------------------------------- page


def layers_page() -> None:
    ls.ensure()
    st.title("Channels & layers")
    st.caption(
        "Beyond one channel and one layer: colour pictures, two stacked layers and their receptive "
        "field, the correlation as one matrix product, and the transposed convolution. The address "
        "bar always holds a share link to everything here."
    )
    note = ss.pop(ls.NOTE, None)
    slot = st.container()
    if note:
        slot.warning(note)
    labels = list(ls.TABS.values())
    tabs = st.tabs(labels, key="ly.tab", on_change="rerun")
    views = (channels_view, layers_view, matrix_view, transposed_view)
    for tab, view in zip(tabs, views, strict=True):
        if tab.open:
            with tab:
                view()


layers_page()
