"""ConvLab: paint an image and a kernel, watch the 2D cross-correlation, train a kernel."""

from pathlib import Path

import streamlit as st

from ui.state import init_process
from ui.telemetry import log_session
from ui.widgets import app_icon

st.set_page_config(page_title="ConvLab", page_icon=app_icon(), layout="wide")
init_process()
log_session()  # a log line per session start and end, with its duration (ui/telemetry.py)

st.html(Path(__file__).parent / "ui" / "app.css")  # page-wide CSS: a compact top, a phone layout
pages = [
    # The default page is served at "/" and answers no other path, so /playground (old links, bookmarks)
    # is a hidden twin of it; the default still reserves a path of its own, which nobody links to.
    st.Page("pages/playground.py", title="Playground", icon=":material/brush:", url_path="home",
            default=True),
    st.Page("pages/playground.py", title="Playground", url_path="playground", visibility="hidden"),
    st.Page("pages/lesson.py", title="Lesson: convolutions for images", icon=":material/menu_book:",
            url_path="lesson"),
    st.Page("pages/train.py", title="Train a kernel", icon=":material/model_training:", url_path="train"),
]
st.navigation(pages, position="top").run()
