"""convlab.figures: the data, layout and interaction wiring of every figure, checked in Python."""

from __future__ import annotations

import itertools
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from convlab import figures
from convlab.figures import ACCENT
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


grid_heatmap = validated(figures.grid_heatmap)
loss_curve_figure = validated(figures.loss_curve_figure)
loss_landscape_figure = validated(figures.loss_landscape_figure)


def lesson_data() -> tuple[np.ndarray, np.ndarray]:
    X = np.ones((6, 8))
    X[:, 2:6] = 0
    return X, corr2d(X, np.array([[1.0, -1.0]]))


def rgb(colour: str) -> list[int]:
    """"rgb(103,0,31)" -> [103, 0, 31]."""
    return [int(c) for c in colour[colour.index("(") + 1 : -1].split(",")]


def shapes_named(fig: go.Figure, name: str) -> list:
    return [s for s in fig.layout.shapes if s.name == name]


def test_fig_to_json_works_for_every_figure():
    X, Y = lesson_data()
    trainer = KernelTrainer(X, Y, TrainConfig())
    path = np.array([trainer.initial_weight.ravel()] + [trainer.step().weight.ravel() for _ in range(10)])
    figures = [
        grid_heatmap(Y, title="Y", highlight=np.eye(6, 7, dtype=bool), marker=(0, 1)),
        grid_heatmap(X, diverging=False),
        loss_curve_figure([("lr 0.03", [3.0, 2.0, 1.0])], log_y=True, target_loss=0.5),
        loss_curve_figure([]),
        loss_landscape_figure(loss_landscape(X, Y), path=path, optimum=(1, -1), true_weight=(1, -1)),
    ]
    for fig in figures:
        assert json.loads(fig.to_json())["layout"]


# --- grid_heatmap ----------------------------------------------------------------------------


def test_heatmap_holds_the_grid_with_row_0_on_top_and_square_cells():
    _, Y = lesson_data()
    fig = grid_heatmap(Y)
    (heatmap,) = fig.data  # no click targets unless asked for
    assert isinstance(heatmap, go.Heatmap)
    np.testing.assert_array_equal(heatmap.z, Y)
    assert list(heatmap.x) == list(range(7)) and list(heatmap.y) == list(range(6))
    assert tuple(fig.layout.yaxis.range) == (5.5, -0.5)  # reversed: row 0 at the top
    assert tuple(fig.layout.xaxis.range) == (-0.5, 6.5)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert list(fig.layout.xaxis.ticktext) == [str(j) for j in range(7)]
    assert list(fig.layout.yaxis.tickvals) == list(range(6))
    assert fig.layout.xaxis.showticklabels and fig.layout.yaxis.showticklabels


def test_heatmap_writes_each_value_in_its_cell():
    Z = np.array([[1.0, -0.5, 0.004], [-0.004, 12.3456, 0.0]])
    fig = grid_heatmap(Z, decimals=2)
    heatmap = fig.data[0]
    assert heatmap.texttemplate == "%{text}"
    assert heatmap.text.tolist() == [["1", "-0.5", "0"], ["0", "12.35", "0"]]  # compact, and no "-0"
    assert heatmap.textfont.color is None  # Plotly's "auto": black on light cells, white on dark
    assert heatmap.textfont.size >= 14  # readable on a projector
    assert not heatmap.showscale  # the numbers are the legend


def test_heatmap_decimals_zero_and_negative_zero():
    fig = grid_heatmap(np.array([[1.0, -0.4, 0.6]]), decimals=0)
    assert fig.data[0].text.tolist() == [["1", "0", "1"]]


def test_heatmap_hover_shows_full_precision_on_both_traces():
    Z = np.array([[0.1 + 0.2, -1 / 3]], dtype=np.float64)
    heatmap, cells = grid_heatmap(Z, clickable=True).data
    assert heatmap.customdata.tolist() == [[0.1 + 0.2, -1 / 3]]  # the browser prints numbers in full
    assert heatmap.hovertemplate == "row %{y}, col %{x}: %{customdata}<extra></extra>"
    assert list(cells.text) == ["0.30000000000000004", "-0.3333333333333333"]
    assert cells.hovertemplate == "row %{customdata[0]}, col %{customdata[1]}: %{text}<extra></extra>"
    heatmap, cells = grid_heatmap(np.array([[0.1]], dtype=np.float32), clickable=True).data
    assert heatmap.customdata.tolist() == [[0.1]]  # float32's shortest form, not 0.10000000149011612
    assert list(cells.text) == ["0.1"]


def test_heatmap_scatter_points_cover_every_cell_once_for_click_selection():
    Z = np.arange(12.0).reshape(3, 4)
    fig = grid_heatmap(Z, clickable=True)
    assert isinstance(fig.data[1], go.Scatter)
    cells = fig.data[1]
    assert cells.mode == "markers"
    assert sorted(map(tuple, cells.customdata.tolist())) == [(i, j) for i in range(3) for j in range(4)]
    np.testing.assert_array_equal(cells.x, cells.customdata[:, 1])
    np.testing.assert_array_equal(cells.y, cells.customdata[:, 0])
    assert cells.marker.color == "rgba(0,0,0,0)"  # invisible, but hoverable and clickable
    assert cells.unselected.marker.opacity == 0 and cells.selected.marker.opacity == 0
    assert fig.layout.hoverdistance == -1
    assert fig.layout.clickmode == "event+select"
    assert fig.layout.hovermode == "closest"


def test_heatmap_click_targets_stop_at_max_click_cells():
    assert len(grid_heatmap(np.zeros((32, 32)), clickable=True).data) == 2  # 1024 cells: still clickable
    assert len(grid_heatmap(np.zeros((32, 33)), clickable=True).data) == 1  # too many SVG markers to redraw
    assert len(grid_heatmap(np.zeros((2, 2))).data) == 1


def test_diverging_scale_is_centred_on_zero_and_symmetric():
    fig = grid_heatmap(np.array([[-0.5, 2.0], [0.0, 1.0]]))
    heatmap = fig.data[0]
    assert heatmap.zmid == 0
    assert (heatmap.zmin, heatmap.zmax) == (-2.0, 2.0)
    zeros = grid_heatmap(np.zeros((2, 2))).data[0]
    assert (zeros.zmin, zeros.zmax) == (-1, 1)  # an all-zero grid still gets a valid range
    fixed = grid_heatmap(np.array([[0.1, -0.2]]), zmax=4.0).data[0]
    assert (fixed.zmin, fixed.zmax) == (-4.0, 4.0)


def test_diverging_scale_is_red_for_positive_and_blue_for_negative():
    heatmap = grid_heatmap(np.array([[1.0, -1.0]])).data[0]
    scale = heatmap.colorscale  # plotly resolves "RdBu" to its (position, colour) stops
    low, high = (scale[-1][1], scale[0][1]) if heatmap.reversescale else (scale[0][1], scale[-1][1])
    assert rgb(high)[0] > rgb(high)[2]  # the top of the scale (positive) is red
    assert rgb(low)[2] > rgb(low)[0]  # the bottom (negative) is blue


def test_grayscale_is_black_for_0_and_white_for_1():
    X, _ = lesson_data()
    heatmap = grid_heatmap(X, diverging=False).data[0]
    assert heatmap.colorscale[0][1] == "black" and heatmap.colorscale[-1][1] == "white"
    assert (heatmap.zmin, heatmap.zmax) == (0.0, 1.0)
    assert heatmap.zmid is None
    bright = grid_heatmap(np.array([[0.0, 3.0]]), diverging=False).data[0]
    assert (bright.zmin, bright.zmax) == (0.0, 3.0)


def test_values_are_hidden_on_big_or_tiny_grids_and_the_colour_bar_shows():
    big = grid_heatmap(np.zeros((21, 20))).data[0]  # 420 cells
    assert big.texttemplate is None and big.text is None and big.showscale
    squeezed = grid_heatmap(np.zeros((10, 10)), height=120).data[0]  # cells ~10 px tall
    assert squeezed.texttemplate is None
    assert grid_heatmap(np.zeros((3, 3)), show_values=False).data[0].texttemplate is None


def test_ticks_are_hidden_beyond_16_per_side():
    fig = grid_heatmap(np.zeros((17, 16)))
    assert fig.layout.xaxis.showticklabels and not fig.layout.yaxis.showticklabels


def test_highlight_outlines_each_true_cell_and_marker_one_cell():
    Z = np.zeros((5, 6))
    window = np.zeros((5, 6), dtype=bool)
    window[1:3, 2:5] = True  # the 2x3 window read by output cell (1, 2)
    fig = grid_heatmap(Z, highlight=window, marker=(4, 5))
    outlines = shapes_named(fig, "highlight")
    assert len(outlines) == 6
    corners = sorted((s.x0, s.x1, s.y0, s.y1) for s in outlines)
    assert corners == sorted((j - 0.5, j + 0.5, i - 0.5, i + 0.5) for i in (1, 2) for j in (2, 3, 4))
    assert all(s.line.color == ACCENT and s.line.width >= 3 and s.type == "rect" for s in outlines)
    (mark,) = shapes_named(fig, "marker")
    assert (mark.x0, mark.x1, mark.y0, mark.y1) == (4.5, 5.5, 3.5, 4.5)
    # Each outline has a dark halo underneath, drawn before every gold line.
    names = [s.name for s in fig.layout.shapes]
    assert names.count("highlight halo") == 6 and names.count("marker halo") == 1
    assert max(i for i, n in enumerate(names) if n.endswith("halo")) < names.index("highlight")
    assert grid_heatmap(Z).layout.shapes == ()


def test_heatmap_size_title_and_margins():
    fig = grid_heatmap(np.zeros((6, 8)), title="Input X")
    assert fig.layout.title.text == "Input X"
    assert 300 <= fig.layout.height <= 600
    assert fig.layout.margin.l <= 40 and fig.layout.margin.r <= 20
    assert grid_heatmap(np.zeros((2, 2)), height=300).layout.height == 300
    assert grid_heatmap(np.zeros((64, 64))).layout.height <= 620


@pytest.mark.parametrize(
    ("Z", "kwargs", "match"),
    [
        (np.zeros(4), {}, r"the grid must be a non-empty 2-D array, got shape \(4,\)"),
        (np.array([[np.nan]]), {}, r"the grid contains NaN or infinity"),
        (np.zeros((2, 2)), {"highlight": np.ones((3, 3), bool)}, r"highlight mask is 3x3 but the grid is 2x"),
        (np.zeros((2, 2)), {"marker": (2, 0)}, r"marker cell \(2, 0\) is outside the 2x2 grid"),
        (np.zeros((2, 2)), {"zmax": 0.0}, r"zmax must be a positive number"),
        (np.zeros((2, 2)), {"decimals": -1}, r"decimals must be a whole number from 0 to 10"),
    ],
)
def test_heatmap_refuses_bad_arguments(Z, kwargs, match):
    with pytest.raises(ValueError, match=match):
        grid_heatmap(Z, **kwargs)


# --- loss_curve_figure -----------------------------------------------------------------------


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


def test_diverging_scale_runs_blue_white_red_like_the_heatmaps():
    scale = figures.DIVERGING_SCALE
    assert scale[0][0] == 0.0 and scale[-1][0] == 1.0
    assert all(a[0] < b[0] for a, b in itertools.pairwise(scale))
    low, mid, high = rgb(scale[0][1]), rgb(scale[len(scale) // 2][1]), rgb(scale[-1][1])
    assert low[2] > low[0] and high[0] > high[2]  # blue for -zmax, red for +zmax
    assert min(mid) >= 240  # white-ish at 0
    heatmap = grid_heatmap(np.array([[1.0, -1.0]])).data[0]
    assert rgb(heatmap.colorscale[0][1]) == high and heatmap.reversescale  # the same stops, reversed
