"""Streamlit-side helpers of ConvLab: widgets, the paint grid, session state and share links."""
