"""The loss-landscape figure's data, checked against the landscape and path given (mutation testing
found the current point, its epoch, the axis ranges and the colour bar's levels could change without
a test noticing). Purely visual settings (colours, widths, margins) are not pinned here."""

import numpy as np
import pytest

from convlab.figures import loss_landscape_figure
from convlab.training import loss_landscape

X = np.array([[1.0, 2.0, 3.0]])
Y = np.array([[2.0, 4.0]])  # the least-squares kernel is (2, 0)
LAND = loss_landscape(X, Y, center=(2.0, 0.0), span=1.0, n=5)


def _trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_the_current_point_is_the_paths_last_point_with_its_epoch():
    path = np.array([[0.0, 0.0], [1.0, 0.5], [1.5, 0.25], [1.9, 0.1]])
    fig = loss_landscape_figure(LAND, path=path)
    now = _trace(fig, "now")
    assert list(now.x) == [1.9] and list(now.y) == [0.1]
    assert now.hovertemplate.startswith("now (epoch 3): ")
    line = _trace(fig, "path")
    assert list(line.x) == [0.0, 1.0, 1.5, 1.9] and list(line.y) == [0.0, 0.5, 0.25, 0.1]
    assert list(line.customdata) == [0, 1, 2, 3]
    assert line.hovertemplate.startswith("epoch %{customdata}: ")


def test_the_axes_span_the_landscape_exactly():
    fig = loss_landscape_figure(LAND)
    assert tuple(fig.layout.xaxis.range) == (1.0, 3.0)
    assert tuple(fig.layout.yaxis.range) == (-1.0, 1.0)
    assert fig.layout.yaxis.scaleratio == 1  # w1 and w2 drawn to the same scale: circles stay circles
    assert fig.layout.height == 480
    assert loss_landscape_figure(LAND, height=300).layout.height == 300
    # Without a path there is no path and no current point, and the figure still draws.
    assert {t.name for t in fig.data} & {"path", "now"} == set()


def test_the_colour_bar_labels_five_levels_of_the_loss_from_zero():
    fig = loss_landscape_figure(LAND)
    bar = fig.data[0].colorbar
    top = float(LAND.loss.max())
    # Levels evenly spaced in sqrt(loss): 0, 1/4, 1/2, 3/4, 1 of sqrt(top); labels are the loss itself.
    np.testing.assert_allclose(bar.tickvals, np.sqrt(top) * np.array([0, 0.25, 0.5, 0.75, 1.0]))
    # The largest loss is 34 at (1, -1); levels 34 x (0, 1/16, 1/4, 9/16, 1): 0, 2.125, 8.5, 19.125, 34.
    assert top == pytest.approx(34.0)
    labels = list(bar.ticktext)
    assert (labels[0], labels[2], labels[3], labels[4]) == ("0", "8.5", "19.1", "34")
    assert labels[1] in ("2.12", "2.13")  # 2.125 lands on either side after the square root and back
    assert bar.title.text == "loss"


def test_a_path_must_be_finite_pairs():
    with pytest.raises(ValueError, match=r"^the path contains NaN or infinity: every point needs finite"):
        loss_landscape_figure(LAND, path=np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match=r"got shape \(2, 3\)"):
        loss_landscape_figure(LAND, path=np.zeros((2, 3)))
    fig = loss_landscape_figure(LAND, path=[[1, 2]])  # integer lists are fine
    assert list(_trace(fig, "now").x) == [1.0]


def test_the_markers_for_the_truth_and_the_optimum_are_where_they_were_asked_to_be():
    fig = loss_landscape_figure(LAND, optimum=(2.0, 0.0), true_weight=(2.5, -0.5))
    truth, best = _trace(fig, "true kernel"), _trace(fig, "least-squares optimum")
    assert (list(truth.x), list(truth.y)) == ([2.5], [-0.5])
    assert (list(best.x), list(best.y)) == ([2.0], [0.0])
    # An open circle is drawn in its own colour (a filled rim would hide it); a filled star gets a black rim.
    assert truth.marker.line.color == truth.marker.color
    assert best.marker.line.color == "black"
