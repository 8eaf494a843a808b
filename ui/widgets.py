"""Helpers shared by the pages: "show the code", numbers as the grids write them, explanation text."""

from __future__ import annotations

import base64
import functools
import html
import inspect
import io
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from convlab.colour import signed_scale

MAX_TERMS = 16  # products written out; beyond this the sum is summarised (a 7x7 kernel has 49)


def cell_text(v: float, decimals: int = 2) -> str:
    """A value as the grids write it (grid.js `cellText`): `decimals` places, no trailing zeros, never "-0",
    typographic minus."""
    if abs(v) >= 1e5:
        text = f"{v:.1e}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")
    else:
        text = f"{v:.{decimals}f}"
        if decimals:
            text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text.replace("-", "−")


def shown_exactly(v: float) -> bool:
    """True when `cell_text(v)` reads back as v (to 12 digits): "=" may then be written, else "≈"."""
    shown = float(cell_text(v).replace("−", "-"))
    return abs(shown - v) <= 1e-12 * max(1.0, abs(v))


def factor_text(v: float) -> str:
    """A value as the grids write it, in parentheses when negative: a factor of a written product."""
    text = cell_text(v)
    return f"({text})" if text.startswith("−") else text


def explain_lines(e) -> list[tuple[str, bool]]:
    """The sum behind one output cell, rounded as the grids show it: (line, strong) pairs, the value strong.

    `e` is a `convlab.CellExplanation`. "≈" marks a line whose shown numbers are rounded.
    """
    pairs = list(zip(e.window.ravel(), e.kernel.ravel(), strict=True))
    terms = [f"{factor_text(x)}·{factor_text(k)}" for x, k in pairs[:MAX_TERMS]]
    if len(pairs) > MAX_TERMS:
        terms.append(f"… ({len(pairs)} products in all)")
    exact = all(shown_exactly(v) for v in [*e.window.ravel(), *e.kernel.ravel(), e.total, e.bias, e.value])
    eq = "=" if exact else "≈"
    padded = int((~e.inside).sum())
    lines = [
        (f"Y[{e.i}, {e.j}] = " + " + ".join(terms), False),
        (f"{eq} {cell_text(e.total)} + bias {factor_text(e.bias)} {eq} {cell_text(e.value)}" if e.bias
         else f"{eq} {cell_text(e.value)}", True),
    ]
    if padded:
        note = f"{padded} of the {len(pairs)} taps fall in the zero padding (hatched on X): they add 0"
        lines.append((note, False))
    if not exact:
        lines.append(("Numbers are rounded to 2 decimals as in the grids; hover a cell for 4 digits.", False))
    return lines


def printout(text: str, *, where: Any = None) -> None:
    """Text as a program prints it: monospace, every space kept (class `cl-printout`, styled by app.css).

    Not `st.code`: its highlighter is a 1.5 MB script that the browser compiles before it draws the
    rest of the page (the Train page's cold load went from 3.7 s to ... without it, benchmarks/bench_app.py).
    """
    (where or st).html(f'<pre class="cl-printout">{html.escape(text)}</pre>')


def stats(items: list[tuple[str, str, str]]) -> None:
    """A row of labelled numbers (label, value, what it means on hover), as one light element.

    Not `st.metric`: its code is one more widget family for the browser to fetch and compile before the
    first screen is drawn (≈ 0.15 s of a cold load, benchmarks/bench_app.py). Styled by app.css
    (`cl-stats`); tests and benchmarks read `data-label`.
    """
    cells = "".join(f'<div class="cl-stat" title="{html.escape(tip)}" data-label="{html.escape(label)}">'
                    f'<span>{html.escape(label)}</span><b>{html.escape(value)}</b></div>'
                    for label, value, tip in items)
    st.html(f'<div class="cl-stats">{cells}</div>')


def show_source(*functions: Callable, where: Any = None) -> None:
    """Show the source code of `functions`, as they run in this app."""
    printout("\n\n".join(inspect.getsource(f) for f in functions), where=where)


@functools.cache
def app_icon() -> Image.Image:
    """The browser-tab icon: a 3x3 kernel in the grids' signed colours, drawn here so nothing is fetched."""
    K = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    return Image.fromarray(signed_scale(K).colours(K)).resize((48, 48), Image.Resampling.NEAREST)


@functools.cache
def app_icon_url() -> str:
    """The browser-tab icon as a data URL (a 48x48 PNG, ≈ 200 bytes): Streamlit passes it to the browser
    as it is, where an image would be stored as a media file and fetched while the page loads."""
    buffer = io.BytesIO()
    app_icon().save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@functools.cache
def _scroll_component() -> Callable[..., Any]:
    """The registered component, on first use (see `ui.grid`): `convlab/web/scroll_top.js`, no state."""
    return st.components.v2.component("convlab.scroll_top", js="scroll_top.js")


def scroll_to_top(*, key: str) -> None:
    """Scroll the page to its top once, when this element first appears (a new `key` appears anew).

    Streamlit keeps the scroll position across reruns: a lesson step shown by the Next button at the
    bottom of the last one would otherwise open somewhere in its middle.
    """
    _scroll_component()(key=key)
