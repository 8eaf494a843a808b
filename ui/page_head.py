"""What every page starts with: the page-wide CSS and an early start on the components' code."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

_CSS = Path(__file__).parent / "app.css"
# The components' code is fetched by Streamlit only once a component's element has been rendered, after
# every widget chunk ahead of it; importing it as soon as the page's first element arrives starts the
# download and compilation ~0.3-0.5 s earlier on a cold load (benchmarks/bench_app.py). The browser's
# module map keeps one copy per URL, so the component's own import then finds it ready. URLs resolve
# against the page's address, so a server under a path prefix works too.
_PRELOAD = """<script>
for (const path of ["convlab.grid/grid.js", "convlab.loss_chart/loss_chart.js"]) {
  import(new URL(`_stcore/bidi-components/${path}`, document.baseURI).href).catch(() => {});
}
for (const path of ["convlab.grid/grid.css", "convlab.loss_chart/loss_chart.css"]) {
  const link = Object.assign(document.createElement("link"), {rel: "preload", as: "style"});
  link.href = new URL(`_stcore/bidi-components/${path}`, document.baseURI).href;
  document.head.appendChild(link);
}
</script>"""


def page_head() -> None:
    """The page-wide CSS (a compact top, the phone layout) and the components' code, fetched early."""
    st.html(f"<style>{_CSS.read_text()}</style>{_PRELOAD}", unsafe_allow_javascript=True)
