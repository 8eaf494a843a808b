"""ConvLab: paint an image and a kernel, watch the 2D cross-correlation, train a kernel."""

import streamlit as st

from ui.state import init_process
from ui.widgets import app_icon

st.set_page_config(page_title="ConvLab", page_icon=app_icon(), layout="wide")
init_process()

pages = [
    st.Page("pages/playground.py", title="Playground", icon=":material/brush:", url_path="playground",
            default=True),
    st.Page("pages/lesson.py", title="Lesson: convolutions for images", icon=":material/menu_book:",
            url_path="lesson"),
    st.Page("pages/train.py", title="Train a kernel", icon=":material/model_training:", url_path="train"),
]
st.navigation(pages, position="top").run()
