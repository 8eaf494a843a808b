"""Reference for `benchmarks/bench_app.py`'s cold loads of the Lesson (`/lesson`) and Train (`/train`)
pages: the bare page (a title and a line of text) served, as they are, at a sub-path (`/sub`) of a
two-page app.

At a sub-path Streamlit's browser code first probes `/sub/_stcore/health` (a 404), waits 100 ms and
then finds the server at `/`: a cost every page but the default one pays, whatever it holds.
"""

import streamlit as st

TEXT = "A title and one line of text: the framework's own cost of a rerun."


def home() -> None:
    st.title("Bare page")
    st.write(TEXT)


def sub() -> None:
    st.title("Bare page")
    st.write(TEXT)


st.navigation([st.Page(home, title="Home", default=True), st.Page(sub, title="Sub", url_path="sub")],
              position="hidden").run()
