"""Reference page for `benchmarks/bench_protocol.py`: the least a Streamlit page sends (a title, a line)."""

import streamlit as st

st.title("Bare page")
st.write("A title and one line of text: the framework's own cost of a rerun.")
