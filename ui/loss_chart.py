"""The streaming loss chart: loss per epoch on a canvas, as a Streamlit component.

Why not Plotly: Streamlit mounts a new Plotly chart whenever a figure's data change, so a chart
that streams is rebuilt from scratch many times a second, and on a classroom laptop that work
crowds out the ticks themselves. This component keeps one canvas per mount and redraws it in place;
points that arrive in a batch are animated in frame by frame (`convlab/web/loss_chart.js`).

The data are what `convlab.figures.loss_curve_data` computes (the same runs, colours, decimation
and log-scale rules as `loss_curve_figure`). The canvas carries `data-last-epoch` and
`data-points` (of the current run) so that browser tests and benchmarks can read what is drawn.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from convlab.figures import loss_curve_data


@functools.cache
def _component() -> Callable[..., Any]:
    """The registered component, on first use (see `ui.grid`). Its JS and CSS are files, served once: a
    tick sends only the curves."""
    return st.components.v2.component("convlab.loss_chart", js="loss_chart.js", css="loss_chart.css")


def loss_chart(
    runs: Sequence[tuple[str, Sequence[float]]],
    *,
    key: str,
    log_y: bool = False,
    target_loss: float | None = None,
    height: int = 300,
    y_range: tuple[float, float] | None = None,
) -> None:
    """Draw the loss per epoch of each (label, losses) run; the last run bold, earlier ones faded.

    `y_range` (lowest, highest loss) fixes the y axis (e.g. `training_session.chart_y_range`, which
    leaves out earlier runs that diverged); without it the axis covers every finite loss drawn.

    Raises:
        ValueError: a negative or non-finite target_loss, or a height under 120 px.
    """
    if height < 120:
        raise ValueError(f"the loss chart needs at least 120 px of height, got {height}")
    data = loss_curve_data(runs, log_y=log_y, target_loss=target_loss)
    extra = {"height": int(height)}
    if y_range is not None:
        extra["yRange"] = [float(y_range[0]), float(y_range[1])]
    # Bytes, not a dict: Streamlit walks a dict for dataframes and serialises it twice a run (see
    # `ui.grid.encode`), which on every tick of a long run cost more than drawing it.
    payload = json.dumps({**data, **extra}, separators=(",", ":"), allow_nan=False).encode()
    _component()(key=key, data=payload)
