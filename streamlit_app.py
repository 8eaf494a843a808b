"""ConvLab: paint an image and a kernel, watch the 2D cross-correlation, train a kernel."""

import streamlit as st

from ui import progress
from ui.page_head import page_head
from ui.state import init_process
from ui.telemetry import log_session
from ui.widgets import app_icon_url

st.set_page_config(page_title="ConvLab", page_icon=app_icon_url(), layout="wide")
init_process()
log_session()  # a log line per session start and end, with its duration (ui/telemetry.py)
new_visitor = progress.is_new_visitor()  # read before restore(), which marks the session as started
progress.restore()

page_head()  # page-wide CSS
# The default page is served at "/" and answers no other path, so /playground (old links, bookmarks)
# is a hidden twin of it; the default still reserves a path of its own, which nobody links to.
home = st.Page("pages/playground.py", title="Playground", icon=":material/brush:", url_path="home",
               default=True)
pages = [
    home,
    st.Page("pages/playground.py", title="Playground", url_path="playground", visibility="hidden"),
    st.Page("pages/lesson.py", title="Lesson: convolutions for images", icon=":material/menu_book:",
            url_path="lesson"),
    st.Page("pages/exercises.py", title="Exercises", icon=":material/quiz:", url_path="exercises"),
    st.Page("pages/train.py", title="Train a kernel", icon=":material/model_training:", url_path="train"),
    st.Page("pages/layers.py", title="Channels & layers", icon=":material/layers:", url_path="layers"),
]
page = st.navigation(pages, position="top")
if page.url_path in ("lesson", "exercises", "train"):
    # Not on the Playground, whose share link owns its address bar (the grid group rewrites it in place).
    progress.keep_link()
if new_visitor and page is home:
    # A newcomer is offered the lesson first, in the Playground's caption for the session: not a toast,
    # which covered a corner of the page, was gone in seconds, and whose code was one more chunk for the
    # first screen to fetch (≈ 0.07x of a cold load, benchmarks/README.md).
    progress.welcome()
page.run()
