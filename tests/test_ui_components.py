"""The canvas components' Python side: what they refuse before anything reaches the browser."""

import numpy as np
import pytest

from ui.grid_view import grid_view
from ui.loss_chart import loss_chart


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (np.array([1.0, 2.0]), "2-D"),
        (np.zeros((0, 3)), "non-empty"),
        (np.array([[1.0, np.nan]]), "NaN or infinity"),
        (np.array([[np.inf]]), "NaN or infinity"),
    ],
)
def test_grid_view_refuses_what_it_cannot_draw(grid, message):
    with pytest.raises(ValueError, match=message):
        grid_view(grid, key="g")


def test_loss_chart_refuses_a_tiny_height_and_a_bad_target():
    with pytest.raises(ValueError, match="120 px"):
        loss_chart([("a", [1.0])], key="l", height=50)
    with pytest.raises(ValueError, match="target loss"):
        loss_chart([("a", [1.0])], key="l", target_loss=float("nan"))
