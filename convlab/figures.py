"""Plotly figures for grids, loss curves and loss landscapes; built here, shown by the pages.

Everything is `plotly.graph_objects`: the pages pass these figures to Streamlit and choose the
chart config (modebar, theme) themselves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import get_colorscale

from convlab.training import Landscape

__all__ = ["ACCENT", "DIVERGING_SCALE", "cell_text", "grid_heatmap", "loss_curve_data", "loss_curve_figure",
           "loss_landscape_figure"]

# Gold from the IBM colour-blind-safe palette: stands out on red, blue, white and black cells.
ACCENT = "#FFB000"
_HALO = "rgba(0,0,0,0.75)"
# Runs cycle through colour-blind-safe colours by position, so each keeps its colour as runs are added.
_RUN_COLOURS = ("#648FFF", "#DC267F", "#FE6100", "#785EF0", "#009E73", "#56B4E9")

# Resolved here, as Plotly's validators would: plotly.js has its own "RdBu", with grey in the middle.
_RDBU = get_colorscale("RdBu")
_VIRIDIS = get_colorscale("Viridis")
# The heatmaps' diverging scale as (position, colour) stops from -zmax (0) to +zmax (1): blue, white, red.
DIVERGING_SCALE = [[round(1.0 - pos, 10), colour] for pos, colour in reversed(_RDBU)]
_MAX_TICKS = 16  # more tick labels per side than this overlap on a projector
_MAX_TEXT_CELLS = 400  # beyond 20x20 the numbers are noise; the colour carries the picture
# Each click target is an SVG marker the browser redraws on every rerun: 4,000 of them took a 64x64
# stroke from 342 to 862 ms in the app benchmark. Above 32x32, cells are picked by number instead.
MAX_CLICK_CELLS = 1024
_MIN_FONT = 10  # px; smaller text is unreadable from the back of a classroom
_MAX_FONT = 24
# Width a page column usually gives a chart; only used to size text and the default height, since
# the real width is the browser's.
_NOMINAL_WIDTH = 560
_MAX_CELL = 64  # px: a 1x2 kernel should not fill the screen
_MAX_PLOT_HEIGHT = 560
_MAX_CURVE_POINTS = 2000  # per run: a 100000-epoch run would otherwise send 100000 points a tick


def _margin(title: str | None) -> dict[str, int]:
    return {"l": 36, "r": 12, "t": 44 if title else 12, "b": 30}


def cell_text(Z: np.ndarray, decimals: int) -> np.ndarray:
    """(H, W) -> (H, W) strings rounded to `decimals` places without trailing zeros ("1", "0.5").

    Never "-0": a sign on a zero misleads.
    """
    text = np.char.mod(f"%.{decimals}f", Z)
    if decimals:
        text = np.char.rstrip(np.char.rstrip(text, "0"), ".")
    text[text == "-0"] = "0"
    return text


def _shortest(Z: np.ndarray) -> np.ndarray:
    """(H, W) float64 holding the shortest decimal that round-trips each value in Z's own dtype.

    The browser prints numbers in their shortest float64 form, so a float32 0.1 would show as
    0.10000000149011612; going through its float32 string shows 0.1.
    """
    return Z.astype(np.float64) if Z.dtype == np.float64 else Z.astype(str).astype(np.float64)


def _font_size(cell_px: float, text: np.ndarray) -> float:
    """Largest font (px) that fits the longest text in a cell, capped for projector legibility."""
    chars = int(np.char.str_len(text).max())
    # A digit is about 0.6 em wide; leave a tenth of the cell as padding.
    return min(_MAX_FONT, 0.42 * cell_px, 0.9 * cell_px / (0.6 * chars))


def _cell_rect(i: int, j: int, colour: str, width: float, name: str) -> dict:
    """An outlined (unfilled) square around cell (i, j), in data coordinates."""
    return {
        "type": "rect",
        "xref": "x",
        "yref": "y",
        "x0": j - 0.5,
        "x1": j + 0.5,
        "y0": i - 0.5,
        "y1": i + 0.5,
        "line": {"color": colour, "width": width},
        "fillcolor": "rgba(0,0,0,0)",
        "layer": "above",
        "name": name,
    }


def _as_grid(Z: np.ndarray) -> np.ndarray:
    """A finite, non-empty 2-D real grid as float32 or float64 (anything else becomes float64)."""
    a = np.asarray(Z)
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise ValueError(f"the grid must hold real numbers, got dtype {a.dtype}")
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"the grid must be a non-empty 2-D array, got shape {a.shape}")
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError("the grid contains NaN or infinity: every cell needs a finite number")
    return a


def _figure(data: list[dict], layout: dict) -> go.Figure:
    """A go.Figure of plain-dict traces and layout, with the default template, built unvalidated.

    Validation deep-copies every property and the template through Plotly's validators: 17 ms for
    an 8x7 heatmap against 5 ms unvalidated, with the same JSON. The builders' dicts are checked
    against the validating constructor in the tests instead, once, not on every rerun.
    """
    name = pio.templates.default
    template = pio.templates[name].to_plotly_json() if name else {}
    layout = {"template": template, **_pruned(layout)}
    return go.Figure(data=[_pruned(trace) for trace in data], layout=layout, _validate=False)


def _pruned(spec: dict) -> dict:
    """`spec` without None values and empty lists, at any depth, as Plotly's validation leaves it."""
    out = {}
    for key, value in spec.items():
        if isinstance(value, dict):
            value = _pruned(value)
        elif isinstance(value, list):
            if not value:
                continue
            value = [_pruned(v) if isinstance(v, dict) else v for v in value]
        if value is not None:
            out[key] = value
    return out


def grid_heatmap(
    Z: np.ndarray,
    *,
    title: str | None = None,
    show_values: bool = True,
    decimals: int = 2,
    highlight: np.ndarray | None = None,
    marker: tuple[int, int] | None = None,
    zmax: float | None = None,
    diverging: bool = True,
    height: int | None = None,
    clickable: bool = False,
) -> go.Figure:
    """A heatmap of an (H, W) grid: row 0 on top, square cells, the value written in each cell.

    Colours: diverging (red positive, blue negative, white 0, symmetric range ±zmax, default
    max|Z|) or grayscale (0 black, 1 white, as the lesson's "white and black image"). Values are
    written when `show_values`, the grid has at most 400 cells and the text fits (the colour bar
    shows otherwise). `highlight` (H, W) bool outlines each True cell (the window of an explained
    output cell) and `marker` (i, j) outlines one cell, both in ACCENT. When `clickable` and the grid
    has at most MAX_CLICK_CELLS cells, a transparent scatter point sits on each cell centre with
    customdata [i, j], so a page's click selection reports the cell.

    Raises:
        ValueError: Z not a finite 2-D grid, a highlight of another shape, a marker outside the
            grid, or a bad zmax or decimals.
    """
    Z = _as_grid(Z)
    H, W = Z.shape
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool) or not 0 <= decimals <= 10:
        raise ValueError(f"decimals must be a whole number from 0 to 10, got {decimals!r}")
    if zmax is not None and not (math.isfinite(zmax) and zmax > 0):
        raise ValueError(f"zmax must be a positive number, got {zmax!r}")
    mask = _highlight_mask(highlight, Z.shape)
    if marker is not None and not (0 <= marker[0] < H and 0 <= marker[1] < W):
        raise ValueError(f"marker cell ({marker[0]}, {marker[1]}) is outside the {H}x{W} grid")

    if height is None:
        cell_px = min(_NOMINAL_WIDTH / W, _MAX_PLOT_HEIGHT / H, _MAX_CELL)
        height = round(cell_px * H) + sum(_margin(title)[k] for k in ("t", "b"))
    else:
        plot_height = height - sum(_margin(title)[k] for k in ("t", "b"))
        cell_px = min(_NOMINAL_WIDTH / W, plot_height / H)

    show_text = show_values and H * W <= _MAX_TEXT_CELLS
    if show_text:
        text = cell_text(Z, decimals)
        font = _font_size(cell_px, text)
        show_text = font >= _MIN_FONT

    if diverging:
        top = float(zmax) if zmax is not None else float(np.abs(Z).max()) or 1.0  # all zero: any range
        colours = {"colorscale": _RDBU, "reversescale": True, "zmid": 0.0, "zmin": -top, "zmax": top}
    else:
        colours = {
            "colorscale": [[0.0, "black"], [1.0, "white"]],
            "zmin": min(0.0, float(Z.min())),
            "zmax": float(zmax) if zmax is not None else max(1.0, float(Z.max())),
        }
    # Numbers, not strings: go.Figure deep-copies string arrays element by element (slow at 64x64).
    full = _shortest(Z)
    hover = "row %{y}, col %{x}: %{customdata}<extra></extra>"
    # Plain dicts, validated once by go.Figure: trace objects would be deep-copied into it.
    heatmap = {
        "type": "heatmap",
        "z": Z,
        "x": np.arange(W),
        "y": np.arange(H),
        "customdata": full,
        "hovertemplate": hover,
        "showscale": not show_text,
        "colorbar": {"thickness": 14, "len": 0.9, "outlinewidth": 0},
        "xgap": 1 if H * W <= _MAX_TEXT_CELLS else 0,
        "ygap": 1 if H * W <= _MAX_TEXT_CELLS else 0,
        "name": "grid",
        **colours,
    }
    if show_text:
        heatmap["text"] = text
        heatmap["texttemplate"] = "%{text}"
        # Font colour is left to Plotly's "auto", which picks black or white against each cell.
        heatmap["textfont"] = {"size": round(font)}
    data = [heatmap]
    if clickable and H * W <= MAX_CLICK_CELLS:
        data.append(_click_targets(full, cell_px))
    cells = [(int(i), int(j), 4, "highlight") for i, j in np.argwhere(mask)]
    if marker is not None:
        cells.append((int(marker[0]), int(marker[1]), 6, "marker"))
    # A dark halo under every gold outline keeps it visible on white cells too; all halos go first
    # so that no halo covers a neighbour's gold edge.
    shapes = [_cell_rect(i, j, _HALO, width + 4, f"{name} halo") for i, j, width, name in cells]
    shapes += [_cell_rect(i, j, ACCENT, width, name) for i, j, width, name in cells]

    # One go.Figure call with the whole layout: each update_* call re-validates, 3x slower.
    layout = {
        "title": {"text": title, "x": 0.5, "xanchor": "center", "font": {"size": 18}} if title else None,
        "height": height,
        "margin": _margin(title),
        "shapes": shapes,
        "hovermode": "closest",
        "hoverdistance": -1,
        "clickmode": "event+select",
        "dragmode": False,  # a stray drag on a projector should not zoom the grid away
        "showlegend": False,
        "plot_bgcolor": "rgba(0,0,0,0)",
        "paper_bgcolor": "rgba(0,0,0,0)",
        "xaxis": {**_grid_axis(W), "range": [-0.5, W - 0.5], "constrain": "domain"},
        # From H - 0.5 down to -0.5 puts row 0 on top, as in a matrix; equal scales make square cells.
        "yaxis": {
            **_grid_axis(H),
            "range": [H - 0.5, -0.5],
            "scaleanchor": "x",
            "scaleratio": 1,
            "constrain": "domain",
        },
    }
    return _figure(data, layout)


def _click_targets(full: np.ndarray, cell_px: float) -> dict:
    """An invisible scatter trace with a point on each cell centre of an (H, W) grid, customdata [i, j]."""
    H, W = full.shape
    rows, cols = np.divmod(np.arange(H * W), W)
    # Streamlit's on_select reports scatter points only; hoverdistance=-1 makes a click anywhere
    # in a cell select its centre. The same hover label as the heatmap, whichever trace wins.
    return {
        "type": "scatter",
        "x": cols,
        "y": rows,
        "mode": "markers",
        "marker": {"color": "rgba(0,0,0,0)", "size": max(6.0, 0.8 * cell_px)},
        "selected": {"marker": {"opacity": 0.0}},
        "unselected": {"marker": {"opacity": 0.0}},
        "customdata": np.stack([rows, cols], axis=1),
        # customdata must stay [i, j] for the pages, so the value for the label travels as text.
        "text": full.ravel().astype(str),
        "hovertemplate": "row %{customdata[0]}, col %{customdata[1]}: %{text}<extra></extra>",
        "showlegend": False,
        "name": "cells",
    }


def _highlight_mask(highlight: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """A (H, W) bool mask from `highlight` (None -> all False)."""
    if highlight is None:
        return np.zeros(shape, dtype=bool)
    mask = np.asarray(highlight)
    if mask.shape != shape:
        raise ValueError(
            f"the highlight mask is {'x'.join(map(str, mask.shape))} but the grid is {shape[0]}x{shape[1]}"
        )
    return mask.astype(bool)


def _grid_axis(n: int) -> dict:
    """Integer ticks 0..n-1 when they fit, no grid lines."""
    return {
        "tickmode": "array",
        "tickvals": list(range(n)),
        "ticktext": [str(k) for k in range(n)],
        "showticklabels": n <= _MAX_TICKS,
        "ticks": "",
        "showgrid": False,
        "zeroline": False,
        "fixedrange": True,
    }


def _decimate(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most _MAX_CURVE_POINTS evenly spaced points, always keeping the first and the last."""
    if x.size <= _MAX_CURVE_POINTS:
        return x, y
    keep = np.unique(np.linspace(0, x.size - 1, _MAX_CURVE_POINTS).round().astype(int))
    return x[keep], y[keep]


_START_MESSAGE = "Press Play or Step to start training"


def loss_curve_data(
    runs: Sequence[tuple[str, Sequence[float]]],
    *,
    log_y: bool = False,
    target_loss: float | None = None,
) -> dict:
    """The loss curves as plain JSON data: runs [{label, color, x, y, last}], log, target, empty, message.

    x holds epochs (from 1) and y their losses, after the rules `loss_curve_figure` states
    (non-finite and, on a log scale, non-positive losses left out; at most 2000 points per run).
    The streaming chart of the Train page draws exactly these numbers.

    Raises:
        ValueError: a negative or non-finite target_loss.
    """
    if target_loss is not None and not (math.isfinite(target_loss) and target_loss >= 0):
        raise ValueError(f"the target loss must be a finite number, 0 or more, got {target_loss!r}")
    curves = []
    for k, (label, losses) in enumerate(runs):
        y = np.asarray(losses, dtype=np.float64).ravel()
        x = np.arange(1, y.size + 1)
        keep = np.isfinite(y) & (y > 0) if log_y else np.isfinite(y)
        x, y = _decimate(x[keep], y[keep])
        curves.append({"label": str(label), "color": _RUN_COLOURS[k % len(_RUN_COLOURS)], "x": x.tolist(),
                       "y": y.tolist(), "last": k == len(runs) - 1})
    return {
        "runs": curves,
        "log": bool(log_y),
        "target": None if target_loss is None else float(target_loss),
        "empty": all(not c["x"] for c in curves),
        "message": _START_MESSAGE,
    }


def loss_curve_figure(
    runs: Sequence[tuple[str, Sequence[float]]],
    *,
    log_y: bool = False,
    target_loss: float | None = None,
    height: int | None = None,
) -> go.Figure:
    """Loss per epoch (x from 1), one line per (label, losses) run; the last run bold, earlier faded.

    On a log scale, losses that are 0 (or negative) have no place and are left out, as are
    non-finite values on either scale. Runs longer than 2000 epochs are drawn from 2000 evenly
    spaced epochs (first and last kept). `target_loss` is a dashed horizontal line (not drawn on
    a log scale when it is 0). No losses at all gives an empty chart saying how to start.

    Raises:
        ValueError: a negative or non-finite target_loss.
    """
    data = loss_curve_data(runs, log_y=log_y, target_loss=target_loss)
    traces = []
    for curve in data["runs"]:
        x, y, last = np.asarray(curve["x"], dtype=np.int64), np.asarray(curve["y"]), curve["last"]
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": y,
                "name": curve["label"],
                "mode": "lines+markers" if y.size <= 60 else "lines",
                "line": {"color": curve["color"], "width": 3.5 if last else 1.5},
                "marker": {"size": 7 if last else 4},
                "opacity": 1.0 if last else 0.55,
                # The run's name shows in the label's side box, so no label text is parsed as a template.
                "hovertemplate": "epoch %{x}: loss %{y:.4g}",
            }
        )
    empty = all(t["x"].size == 0 for t in traces)
    longest = max((t["x"][-1] for t in traces if t["x"].size), default=0)
    layout = {
        "height": height or 360,
        "margin": {"l": 56, "r": 12, "t": 12, "b": 44},
        "showlegend": len(runs) > 1,
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        "hovermode": "closest",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "paper_bgcolor": "rgba(0,0,0,0)",
        # Whole epochs only: with few epochs Plotly would otherwise tick at 1.5, 2, 2.5, ...
        "xaxis": {"title": {"text": "epoch"}, "tickformat": "d", "dtick": 1 if longest <= 10 else None},
        "yaxis": {"title": {"text": "loss"}, "type": "log" if log_y else "linear", "exponentformat": "power"},
        "annotations": [],
        "shapes": [],
    }
    if empty:
        layout["xaxis"]["range"] = [1, 10]
        layout["yaxis"]["showticklabels"] = False
        layout["annotations"].append(
            {
                "text": _START_MESSAGE,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 18},
            }
        )
    if target_loss is not None and (target_loss > 0 or not log_y):
        layout["shapes"].append(
            {
                "type": "line",
                "xref": "x domain",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": target_loss,
                "y1": target_loss,
                "line": {"color": "gray", "width": 2, "dash": "dash"},
                # A shape label, not an annotation: annotations need log10(y) on a log axis, labels don't.
                "label": {"text": f"target {target_loss:.3g}", "textposition": "end", "yanchor": "bottom"},
                "name": "target",
            }
        )
    return _figure(traces, layout)


def _path_array(path: np.ndarray | None) -> np.ndarray:
    """(k, 2) finite float64 path, (0, 2) when None."""
    if path is None:
        return np.zeros((0, 2))
    p = np.asarray(path, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"the path must be a (k, 2) array of (w1, w2) points, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("the path contains NaN or infinity: every point needs finite weights")
    return p


def _sqrt_colourbar(loss: np.ndarray) -> dict:
    """Colour bar for √loss levels, labelled with the loss itself."""
    top = math.sqrt(float(loss.max()))
    levels = np.linspace(0, top, 5)
    return {
        "title": {"text": "loss"},
        "tickmode": "array",
        "tickvals": levels,
        "ticktext": [f"{v**2:.3g}" for v in levels],
        "thickness": 14,
        "outlinewidth": 0,
    }


def loss_landscape_figure(
    landscape: Landscape,
    *,
    path: np.ndarray | None = None,
    optimum: tuple[float, float] | None = None,
    true_weight: tuple[float, float] | None = None,
    height: int | None = None,
) -> go.Figure:
    """Contours of the loss over (w1, w2), with the optimiser's path (k, 2), the optimum and the truth.

    Levels are spaced in √loss: for a quadratic bowl that gives evenly spaced rings (plain loss
    crowds them at the rim), while hover and the colour bar show the loss itself. The path's last
    point is drawn large as the current weights.

    Raises:
        ValueError: a path that is not a finite (k, 2) array.
    """
    p = _path_array(path)
    second = "K[0,1]" if landscape.kernel_shape == (1, 2) else "K[1,0]"
    traces: list[dict] = [
        {
            "type": "contour",
            "x": landscape.w1,
            "y": landscape.w2,
            "z": np.sqrt(landscape.loss),
            "customdata": landscape.loss,
            "hovertemplate": "w1 %{x:.3f}, w2 %{y:.3f}<br>loss %{customdata:.4~g}<extra></extra>",
            "colorscale": _VIRIDIS,
            "ncontours": 24,
            "contours": {"coloring": "heatmap", "showlines": True},
            "line": {"color": "rgba(255,255,255,0.35)", "width": 1},
            "colorbar": _sqrt_colourbar(landscape.loss),
            "name": "loss",
            "showlegend": False,
        }
    ]
    # Drawn before the path so that the moving point stays on top when it reaches them.
    if true_weight is not None:
        traces.append(_point(true_weight, "true kernel", "circle-open", "#00E5FF", 26))
    if optimum is not None:
        traces.append(_point(optimum, "least-squares optimum", "star", "white", 18))
    if p.shape[0]:
        epochs, _ = _decimate(np.arange(p.shape[0]), np.arange(p.shape[0]))
        traces.append(
            {
                "type": "scatter",
                "x": p[epochs, 0],
                "y": p[epochs, 1],
                "mode": "lines+markers",
                "line": {"color": "white", "width": 2},
                "marker": {"color": "white", "size": 6, "line": {"color": "black", "width": 1}},
                "customdata": epochs,
                "hovertemplate": "epoch %{customdata}: w1 %{x:.4f}, w2 %{y:.4f}<extra></extra>",
                "name": "path",
            }
        )
        traces.append(
            {
                "type": "scatter",
                "x": p[-1:, 0],
                "y": p[-1:, 1],
                "mode": "markers",
                "marker": {"color": ACCENT, "size": 16, "line": {"color": "black", "width": 2}},
                "hovertemplate": f"now (epoch {p.shape[0] - 1}): w1 %{{x:.4f}}, w2 %{{y:.4f}}<extra></extra>",
                "name": "now",
            }
        )
    axis = {"constrain": "domain", "showgrid": False, "zeroline": False}
    layout = {
        "height": height or 480,
        # The legend sits below the w1 axis title, in a bottom margin made for both.
        "margin": {"l": 56, "r": 12, "t": 12, "b": 96},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
        "hovermode": "closest",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "paper_bgcolor": "rgba(0,0,0,0)",
        "xaxis": {**axis, "title": {"text": "w1 = K[0,0]"}, "range": [landscape.w1[0], landscape.w1[-1]]},
        "yaxis": {
            **axis,
            "title": {"text": f"w2 = {second}"},
            "range": [landscape.w2[0], landscape.w2[-1]],
            "scaleanchor": "x",
            "scaleratio": 1,
        },
    }
    return _figure(traces, layout)


def _point(w: tuple[float, float], name: str, symbol: str, colour: str, size: int) -> dict:
    """One labelled marker at weights (w1, w2); filled symbols get a black rim to show on any level."""
    rim = {"color": colour, "width": 3} if symbol.endswith("-open") else {"color": "black", "width": 2}
    return {
        "type": "scatter",
        "x": [float(w[0])],
        "y": [float(w[1])],
        "mode": "markers",
        "marker": {"symbol": symbol, "color": colour, "size": size, "line": rim},
        "hovertemplate": f"{name}: w1 %{{x:.4f}}, w2 %{{y:.4f}}<extra></extra>",
        "name": name,
    }
