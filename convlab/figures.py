"""Plotly figures for loss curves and loss landscapes; built here, shown by the pages.

Grids are not Plotly figures: the grid component (`ui/grid.py`) draws them with `convlab.colour`'s
scales, so Plotly's bundle is loaded only on a page that shows a real chart (the loss landscape).

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

__all__ = ["ACCENT", "loss_curve_data", "loss_curve_figure", "loss_landscape_figure"]

# Gold from the IBM colour-blind-safe palette: stands out on red, blue, white and black cells.
ACCENT = "#FFB000"
# Runs cycle through colour-blind-safe colours by position, so each keeps its colour as runs are added.
_RUN_COLOURS = ("#648FFF", "#DC267F", "#FE6100", "#785EF0", "#009E73", "#56B4E9")

# Resolved here, as Plotly's validators would.
_VIRIDIS = get_colorscale("Viridis")
_MAX_CURVE_POINTS = 2000  # per run: a 100000-epoch run would otherwise send 100000 points a tick


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
