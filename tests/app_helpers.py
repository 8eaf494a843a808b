"""Reading what the pages show in AppTest, where the grid component is an unknown element."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
from streamlit.testing.v1 import AppTest

from ui.grid import decode

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
TIMEOUT = 60


def app(**params: str) -> AppTest:
    """The app after its first run, opened with these query parameters."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def _walk(node) -> Iterator:
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield child
            yield from _walk(child)


def _grid_components(at: AppTest) -> Iterator[dict]:
    for element in _walk(at.main):
        proto = getattr(element, "proto", None)
        if type(proto).__name__ == "BidiComponent" and proto.component_name == "convlab.grid":
            yield decode(proto.bytes)  # ui.grid sends compact JSON as bytes


def grids(at: AppTest) -> dict[str, dict]:
    """Every grid on the page, alone or in a group: its name -> the data it was sent (values as (H, W))."""
    found = {}
    for data in _grid_components(at):
        for grid in [g for p in data["panels"] for g in p["grids"]] if "panels" in data else [data]:
            grid["values"] = np.array(grid["values"], dtype=np.float64).reshape(grid["rows"], grid["cols"])
            found[grid["name"]] = grid
    return found


def panels(at: AppTest) -> dict[str, dict]:
    """Every panel of every grid group on the page: its name -> its data (title, grids, lines, error)."""
    return {p["name"]: p for data in _grid_components(at) for p in data.get("panels", [])}


def link(at: AppTest) -> dict[str, str] | None:
    """The share link the Playground's grid group writes into the address bar, as query parameters."""
    for data in _grid_components(at):
        if "link" in data:
            return dict(parse_qsl(data["link"]))
    return None


def lines(at: AppTest, panel: str) -> list[str]:
    """The lines of text under a panel's grids."""
    return [line["text"] for line in panels(at)[panel]["lines"]]


def components(at: AppTest, name: str) -> list[dict]:
    """The data of every component named `name` (e.g. "convlab.loss_chart") on the page."""
    return [json.loads(e.proto.bytes or e.proto.json) for e in _walk(at.main)
            if type(getattr(e, "proto", None)).__name__ == "BidiComponent" and e.proto.component_name == name]


def texts(at: AppTest) -> list[str]:
    """All markdown and caption text, in page order."""
    return [e.value for e in _walk(at.main) if type(e).__name__ in ("Markdown", "Caption")]


def printouts(node) -> list[str]:
    """The text of every printout (ui.widgets.printout) under `node`: an AppTest or one of its blocks."""
    found = []
    for h in node.html:
        m = re.fullmatch(r'<pre class="cl-printout">(.*)</pre>', h.value, flags=re.S)
        if m:
            found.append(html.unescape(m.group(1)))
    return found


def stats(node) -> dict[str, str]:
    """The labelled numbers of every stats row (ui/widgets.py `stats`) under `node`: label -> value."""
    found = {}
    for h in node.html:
        for label, value in re.findall(r'data-label="([^"]*)"><span>[^<]*</span><b>([^<]*)</b>', h.value):
            found[html.unescape(label)] = html.unescape(value)
    return found


def popovers(at: AppTest) -> list[str]:
    """The label of every popover on the page, in order."""
    return [e.proto.popover.label for e in _walk(at.main)
            if type(getattr(e, "proto", None)).__name__ == "Block"
            and e.proto.WhichOneof("type") == "popover"]
