"""What every page starts with: the page-wide CSS."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

_CSS = Path(__file__).parent / "app.css"


def page_head() -> None:
    """The page-wide CSS: a compact top, the Playground's phone layout, printouts.

    (Fetching the components' code early from here was tried: the script runs only once the page's first
    elements render, as late as Streamlit's own request, so it gained nothing measurable.)
    """
    st.html(_CSS)
