"""Versions of a grid group's data, for testing patches: Python's `diff`, the browser's `applyPatch`."""

from __future__ import annotations

import numpy as np

from convlab.colour import IMAGE


def group_data(X: np.ndarray, *, title: str = "Input", error: str | None = None, link: str = "x=1") -> dict:
    """A group's data as a page builds it: a painted grid, a view of X + 1 with lines, maybe an error."""
    from convlab.colour import signed_scale
    from ui.grid import paint_data, panel, view_data

    Y = X + 1
    panels = [panel("in", [paint_data(X, name="x", scale=IMAGE, title=title)]),
              panel("out", [view_data(Y, name="y", scale=signed_scale(Y), pickable=True)],
                    lines=[f"sum {Y.sum():g}"], error=error)]
    return {"panels": panels, "link": link}


def group_versions() -> list[dict]:
    """Nine versions of a group's data: a cell painted, a title, a new range and shape, an error, the link
    changed or gone, a panel gone."""
    rng = np.random.default_rng(3)
    X = rng.integers(0, 2, (3, 4)).astype(float)
    other = X.copy()
    other[1, 2] = 1 - other[1, 2]
    data = [group_data(X), group_data(other), group_data(other, title="Input · 3×4"), group_data(-other * 5),
            group_data(np.zeros((5, 2))), group_data(X, error="No output: too small."),
            {**group_data(X), "link": "x=2"}]
    without_link = group_data(X)
    del without_link["link"]
    one_panel = group_data(X)
    one_panel["panels"] = one_panel["panels"][:1]
    return [*data, without_link, one_panel]
