"""Reference page for `benchmarks/bench_protocol.py`: the paint grid alone, kept as the Playground keeps it.

The grid lives in `st.session_state` with a revision counter, and a stroke replaces it, exactly as
on the Playground; nothing else is on the page. `?n=<side>` sets the grid's size (default 8).
To measure another grid component, change the one import below: it must take
`(values, key=..., revision=...)` (and `scale=...` if it has that parameter) and return the
painted grid once per new stroke, else None. `ui.paint_grid.paint_grid` was the first round's grid.
"""

import inspect

import numpy as np
import streamlit as st

from ui.grid import paint_grid as grid_component

KEY = "pg.paint"  # the Playground's key, so the benchmark finds both grids the same way
ss = st.session_state
extra = {}
if "scale" in inspect.signature(grid_component).parameters:  # the grid component with colour scales
    from convlab.colour import IMAGE

    extra["scale"] = IMAGE  # the Playground's input scale

if "bench.grid" not in ss:
    try:
        side = int(st.query_params.get("n", "8"))
    except ValueError:
        side = 8
    ss["bench.grid"] = np.zeros((min(max(side, 1), 64),) * 2)
    ss["bench.rev"] = 1

painted = grid_component(ss["bench.grid"], key=KEY, revision=ss["bench.rev"], **extra)
if painted is not None:
    ss["bench.grid"] = painted
