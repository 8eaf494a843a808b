"""convlab.figures: the data, layout and interaction wiring of every figure, checked in Python."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from convlab import figures
from convlab.ops import corr2d
from convlab.training import KernelTrainer, TrainConfig, loss_landscape


def validated(builder):
    """`builder`, its figure also built by Plotly's validating constructor, the two JSONs compared.

    The builders skip validation for speed; this catches any property or value Plotly would reject,
    and the tests read the validated figure, where Plotly has resolved its properties.
    """

    def build(*args, **kwargs) -> go.Figure:
        made = []
        fast_figure = figures._figure

        def both(data: list[dict], layout: dict) -> go.Figure:
            made.append(go.Figure(data=data, layout=layout))  # raises ValueError on anything invalid
            return fast_figure(data, layout)

        figures._figure = both
        try:
            fast = builder(*args, **kwargs)
        finally:
            figures._figure = fast_figure
        (checked,) = made
        assert json.loads(checked.to_json()) == json.loads(fast.to_json())
        return checked

    return build


loss_curve_figure = validated(figures.loss_curve_figure)
loss_landscape_figure = validated(figures.loss_landscape_figure)


def lesson_data() -> tuple[np.ndarray, np.ndarray]:
    X = np.ones((6, 8))
    X[:, 2:6] = 0
    return X, corr2d(X, np.array([[1.0, -1.0]]))


def shapes_named(fig: go.Figure, name: str) -> list:
    return [s for s in fig.layout.shapes if s.name == name]


def test_fig_to_json_works_for_every_figure():
    X, Y = lesson_data()
    trainer = KernelTrainer(X, Y, TrainConfig())
    path = np.array([trainer.initial_weight.ravel()] + [trainer.step().weight.ravel() for _ in range(10)])
    figures = [
        loss_curve_figure([("lr 0.03", [3.0, 2.0, 1.0])], log_y=True, target_loss=0.5),
        loss_curve_figure([]),
        loss_landscape_figure(loss_landscape(X, Y), path=path, optimum=(1, -1), true_weight=(1, -1)),
    ]
    for fig in figures:
        assert json.loads(fig.to_json())["layout"]


def test_loss_curve_has_one_line_per_run_from_epoch_1_with_the_last_emphasised():
    fig = loss_curve_figure([("lr 0.1", [4.0, 2.0]), ("lr 0.03", [5.0, 3.0, 1.0])])
    first, last = fig.data
    assert (first.name, last.name) == ("lr 0.1", "lr 0.03")
    assert list(last.x) == [1, 2, 3] and list(last.y) == [5.0, 3.0, 1.0]
    assert last.line.width > first.line.width and last.opacity == 1 > first.opacity
    assert first.line.color != last.line.color
    assert fig.layout.showlegend
    assert fig.layout.xaxis.title.text == "epoch" and fig.layout.yaxis.title.text == "loss"
    assert fig.layout.xaxis.dtick == 1  # whole epochs, never 1.5
    assert not loss_curve_figure([("only", [1.0])]).layout.showlegend


def test_loss_curve_log_scale_leaves_out_zeros():
    runs = [("run", [4.0, 1.0, 0.0, 0.0])]
    linear = loss_curve_figure(runs)
    assert linear.layout.yaxis.type == "linear" and list(linear.data[0].y) == [4.0, 1.0, 0.0, 0.0]
    log = loss_curve_figure(runs, log_y=True)
    assert log.layout.yaxis.type == "log"
    assert list(log.data[0].x) == [1, 2] and list(log.data[0].y) == [4.0, 1.0]


def test_loss_curve_target_line():
    fig = loss_curve_figure([("run", [4.0, 1.0])], target_loss=0.5)
    (line,) = shapes_named(fig, "target")
    assert (line.y0, line.y1, line.x0, line.x1, line.xref) == (0.5, 0.5, 0, 1, "x domain")
    assert line.line.dash == "dash" and "0.5" in line.label.text
    assert shapes_named(loss_curve_figure([("run", [1.0])], log_y=True, target_loss=0.0), "target") == []
    with pytest.raises(ValueError, match=r"target loss must be a finite number, 0 or more"):
        loss_curve_figure([], target_loss=-1.0)


@pytest.mark.parametrize("runs", [[], [("run", [])], [("a", []), ("b", [])]])
def test_loss_curve_without_losses_says_how_to_start(runs):
    fig = loss_curve_figure(runs)
    assert [a.text for a in fig.layout.annotations] == ["Press Play or Step to start training"]
    assert loss_curve_figure([("run", [1.0])]).layout.annotations == ()


def test_loss_curve_thins_long_runs_but_keeps_the_first_and_last_epoch():
    losses = 1.0 / np.arange(1, 100_001)
    trace = loss_curve_figure([("long", losses)]).data[0]
    assert len(trace.x) <= 2000
    assert (trace.x[0], trace.x[-1]) == (1, 100_000)
    np.testing.assert_allclose(trace.y, 1.0 / np.asarray(trace.x))
    assert loss_curve_figure([("long", losses)]).layout.xaxis.dtick is None


# --- loss_landscape_figure -------------------------------------------------------------------


def test_landscape_figure_draws_the_bowl_path_optimum_and_truth():
    X, Y = lesson_data()
    land = loss_landscape(X, Y, n=21)
    trainer = KernelTrainer(X, Y, TrainConfig())
    path = np.array([trainer.initial_weight.ravel()] + [trainer.step().weight.ravel() for _ in range(5)])
    fig = loss_landscape_figure(land, path=path, optimum=(1.0, -1.0), true_weight=(1.0, -1.0))
    contour = fig.data[0]
    assert isinstance(contour, go.Contour)
    np.testing.assert_allclose(contour.z, np.sqrt(land.loss))  # √loss: evenly spaced rings
    np.testing.assert_array_equal(contour.customdata, land.loss)  # hover shows the loss itself
    assert "loss %{customdata:.4~g}" in contour.hovertemplate
    np.testing.assert_array_equal(contour.x, land.w1)
    by_name = {t.name: t for t in fig.data[1:]}
    np.testing.assert_allclose(by_name["path"].x, path[:, 0])
    np.testing.assert_allclose(by_name["path"].y, path[:, 1])
    assert by_name["path"].mode == "lines+markers"
    assert list(by_name["now"].x) == [path[-1, 0]]
    assert by_name["now"].marker.size > by_name["path"].marker.size
    assert list(by_name["least-squares optimum"].x) == [1.0]
    assert list(by_name["true kernel"].y) == [-1.0]
    assert fig.data[-1].name == "now"  # drawn last, so it stays visible on top of the optimum
    assert fig.layout.xaxis.title.text == "w1 = K[0,0]" and fig.layout.yaxis.title.text == "w2 = K[0,1]"
    assert fig.layout.yaxis.scaleanchor == "x"
    assert tuple(fig.layout.xaxis.range) == (land.w1[0], land.w1[-1])


def test_landscape_figure_for_a_2x1_kernel_and_without_a_path():
    X, _ = lesson_data()
    land = loss_landscape(X.T, corr2d(X.T, np.array([[1.0], [-1.0]])), n=11)
    fig = loss_landscape_figure(land)
    assert fig.layout.yaxis.title.text == "w2 = K[1,0]"
    assert [t.name for t in fig.data] == ["loss"]
    assert len(loss_landscape_figure(land, path=np.zeros((0, 2))).data) == 1


def test_landscape_colour_bar_is_labelled_in_loss_units():
    X, Y = lesson_data()
    land = loss_landscape(X, Y, n=11)
    colorbar = loss_landscape_figure(land).data[0].colorbar
    assert colorbar.ticktext[-1] == f"{land.loss.max():.3g}"
    labels = [float(t) for t in colorbar.ticktext]
    np.testing.assert_allclose(np.asarray(colorbar.tickvals) ** 2, labels, rtol=1e-2)


@pytest.mark.parametrize(
    ("path", "match"),
    [(np.zeros((3, 3)), r"path must be a \(k, 2\) array"), (np.array([[0.0, np.inf]]), r"NaN or infinity")],
)
def test_landscape_figure_refuses_a_bad_path(path, match):
    X, Y = lesson_data()
    with pytest.raises(ValueError, match=match):
        loss_landscape_figure(loss_landscape(X, Y, n=5), path=path)


def test_loss_curve_data_is_what_the_figure_draws():
    runs = [("old", [4.0, 0.0, float("nan"), 1.0]), ("new", [3.0, 2.0])]
    for log_y in (False, True):
        data = figures.loss_curve_data(runs, log_y=log_y, target_loss=0.5)
        fig = loss_curve_figure(runs, log_y=log_y, target_loss=0.5)
        assert [c["label"] for c in data["runs"]] == [t.name for t in fig.data]
        for curve, trace in zip(data["runs"], fig.data, strict=True):
            assert curve["x"] == list(trace.x) and curve["y"] == list(trace.y)
            assert curve["color"] == trace.line.color
        assert [c["last"] for c in data["runs"]] == [False, True]
        assert data["log"] is log_y and data["target"] == 0.5 and not data["empty"]
    assert figures.loss_curve_data(runs, log_y=True)["runs"][0]["x"] == [1, 4]  # 0 and NaN left out
    json.dumps(figures.loss_curve_data(runs))  # plain JSON for the browser
    assert figures.loss_curve_data([])["empty"] and figures.loss_curve_data([("a", [])])["empty"]
    with pytest.raises(ValueError, match="target loss"):
        figures.loss_curve_data(runs, target_loss=-1.0)
