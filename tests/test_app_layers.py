"""The Channels & layers page with AppTest: every view's numbers against PyTorch, strokes, picks,
uploads, refusals, and the share link that holds all four views."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from app_helpers import grids, link, panels
from PIL import Image
from streamlit.testing.v1 import AppTest

from convlab.matrix import conv_matrix, conv_transpose2d, im2col
from convlab.receptive import Layer, receptive_field_size
from ui import layers_state as ls
from ui.grid import inject_pick, inject_stroke

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
CH_IN, CH_K = "ly.ch.in", "ly.ch.k"


def _layers(tab: str | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    at.switch_page("pages/layers.py").run()
    if tab is not None:
        at.session_state["ly.tab"] = ls.TABS[tab]
        at.run()
    assert not at.exception, at.exception
    return at


def _conv(X: np.ndarray, K: np.ndarray, b=None, **settings) -> np.ndarray:
    """F.conv2d on (C, H, W) and (O, C, h, w): the independent reference."""
    bias = None if b is None else torch.tensor(b)
    return F.conv2d(torch.tensor(X)[None], torch.tensor(K), bias, **settings)[0].numpy()


def _lines(at: AppTest, name: str) -> list[str]:
    return [line["text"] for line in panels(at)[name]["lines"]]


def _rev(at: AppTest, view: str) -> int:
    return int(at.session_state[f"ly.{view}.rev"]) if f"ly.{view}.rev" in at.session_state else 0


# ------------------------------------------------------------------------------------- colour channels


def test_colour_channels_show_every_channel_and_the_output_of_f_conv2d():
    at = _layers()
    g = grids(at)
    X, K = at.session_state["ly.ch.X"], at.session_state["ly.ch.K"]
    assert X.shape == (3, 12, 12) and K.shape == (1, 3, 1, 1)
    for c in range(3):
        assert np.array_equal(g[f"x{c}"]["values"], X[c]) and g[f"x{c}"]["scale"]["kind"] == "image"
    assert np.allclose(g["y0"]["values"], _conv(X, K)[0])
    assert g["y0"]["scale"]["kind"] == "signed" and g["y0"]["scale"]["lo"] == -g["y0"]["scale"]["hi"]


def test_painting_a_channel_and_typing_a_kernel_slice_and_a_bias_change_the_output():
    at = _layers()
    X = at.session_state["ly.ch.X"].copy()
    X[1] = 0.0
    inject_stroke(at.session_state, CH_IN, X[1], _rev(at, "ch"), name="x1")
    inject_stroke(at.session_state, CH_K, np.array([[2.0]]), _rev(at, "ch"), name="k00")
    inject_stroke(at.session_state, CH_K, np.array([[-0.5]]), _rev(at, "ch"), name="b0")
    at.run()
    assert not at.exception
    K = at.session_state["ly.ch.K"]
    assert K[0, 0, 0, 0] == 2.0 and at.session_state["ly.ch.b"][0] == -0.5
    assert np.allclose(grids(at)["y0"]["values"], _conv(X, K, np.array([-0.5]))[0])


def test_a_picked_output_cell_is_explained_channel_by_channel_and_the_sums_add_up():
    at = _layers()
    at.number_input(key="ly.ch.cout").set_value(3).run()
    inject_pick(at.session_state, CH_IN, (2, 5), name="y2")
    at.run()
    assert at.session_state["ly.ch.cell"] == (2, 2, 5)
    text = _lines(at, "explain")
    assert text[0].startswith("Y[2][2, 5] = Σ over the 3 input channel(s)")
    assert [t.split(" (")[0] for t in text[1:4]] == ["channel 0", "channel 1", "channel 2"]
    # the input outlines the window of the picked cell on every channel; a 1x1 kernel reads one cell
    for c in range(3):
        assert grids(at)[f"x{c}"]["taps"] == [[2, 5]]


def test_more_channels_and_a_larger_kernel_keep_what_fits():
    at = _layers()
    K0 = at.session_state["ly.ch.K"].copy()
    at.number_input(key="ly.ch.cout").set_value(2).run()
    at.number_input(key="ly.ch.ksize").set_value(3).run()
    K = at.session_state["ly.ch.K"]
    assert K.shape == (2, 3, 3, 3) and np.array_equal(K[0, :, 0, 0], K0[0, :, 0, 0]) and not K[1].any()
    at.number_input(key="ly.ch.cin").set_value(1).run()
    assert not at.exception
    X, K = at.session_state["ly.ch.X"], at.session_state["ly.ch.K"]
    assert X.shape[0] == 1 and K.shape == (2, 1, 3, 3)
    assert set(grids(at)) >= {"x0", "k00", "k10", "b0", "b1", "y0", "y1"} and "x1" not in grids(at)
    assert np.allclose(grids(at)["y1"]["values"], _conv(X, K)[1])


def test_a_channel_preset_mixes_colours_with_a_1x1_kernel():
    at = _layers()
    at.selectbox(key="ly.ch.preset").set_value("swap").run()
    X = at.session_state["ly.ch.X"]
    g = grids(at)
    assert np.allclose(g["y0"]["values"], X[2]) and np.allclose(g["y2"]["values"], X[0])


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _uploader_script() -> None:
    """A page that hands the bytes in session state to the Layers page's upload handler, once."""
    import streamlit as st

    from ui import layers_state as ls

    ls.ensure()
    upload = st.session_state.pop("upload", None)
    if upload is not None:
        ls.load_colour(*upload)


def test_a_colour_upload_becomes_three_channels_and_a_broken_one_is_refused():
    # AppTest cannot drive st.file_uploader or st.camera_input (the browser test uploads for real):
    # both call ls.load_colour with the file's bytes, which this runs in a session of its own.
    at = AppTest.from_function(_uploader_script, default_timeout=30).run()
    at.session_state["ly.ch.cin"] = 1
    ls_X = at.session_state["ly.ch.X"].copy()
    at.session_state["upload"] = (b"not a picture", "broken*.png")
    at.run()
    assert at.session_state[ls.CH_NOTE].startswith(r"broken\*\.png: could not read this file as a picture")
    assert at.session_state[ls.CH_NOTE].endswith("Your grids are unchanged.")
    assert np.array_equal(at.session_state["ly.ch.X"], ls_X)
    rgb = np.zeros((12, 12, 3))
    rgb[:, :6, 0] = 255  # red on the left, blue on the right
    rgb[:, 6:, 2] = 255
    at.session_state["upload"] = (_png(rgb), "halves.png")
    at.run()
    X = at.session_state["ly.ch.X"]
    assert X.shape == (3, 12, 12) and at.session_state["ly.ch.K"].shape[1] == 3
    assert at.session_state["ly.ch.cin"] == 3
    assert np.array_equal(X[0][:, :6], np.ones((12, 6))) and not X[0][:, 6:].any() and not X[1].any()
    assert np.array_equal(X[2][:, 6:], np.ones((12, 6))) and not X[2][:, :6].any()


def test_a_broken_picture_note_shows_in_the_channels_view():
    at = _layers()
    at.session_state[ls.CH_NOTE] = "broken.png: not a picture. Your grids are unchanged."
    at.run()
    assert [e.value for e in at.error] == ["broken.png: not a picture. Your grids are unchanged."]
    at.run()
    assert not at.error  # shown once


# ------------------------------------------------------------------------------------------ two layers


def test_a_picked_cell_lights_its_receptive_field_in_every_map():
    at = _layers("layers")
    inject_pick(at.session_state, "ly.st.out", (3, 3), name="y")
    at.run()
    g = grids(at)
    taps_x = {tuple(t) for t in g["x"]["taps"]}
    assert taps_x == {(r, c) for r in range(3, 8) for c in range(3, 8)}  # two 3x3 layers see 5x5
    assert {tuple(t) for t in g["h1"]["taps"]} == {(r, c) for r in range(3, 6) for c in range(3, 6)}
    text = _lines(at, "field")
    assert text[0].startswith("Y[3, 3] depends on a 5×5 block of X")
    assert any("larger than either kernel" in t for t in text)
    X, K1, K2 = (at.session_state[f"ly.st.{n}"] for n in ("X", "K1", "K2"))
    H1 = np.maximum(_conv(X[None], K1[None, None])[0], 0)
    assert np.allclose(g["h1"]["values"], H1)
    assert np.allclose(g["y"]["values"], _conv(H1[None], K2[None, None])[0])


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_pooling_between_the_layers_equals_torch_and_widens_the_field(pool):
    at = _layers("layers")
    at.session_state["ly.st.pool"] = pool
    at.run()
    g = grids(at)
    X, K1, K2 = (at.session_state[f"ly.st.{n}"] for n in ("X", "K1", "K2"))
    H1 = F.relu(F.conv2d(torch.tensor(X)[None, None], torch.tensor(K1)[None, None]))
    P = (F.max_pool2d if pool == "max" else F.avg_pool2d)(H1, 2)
    Y = F.conv2d(P, torch.tensor(K2)[None, None])
    assert np.allclose(g["p"]["values"], P[0, 0].numpy()) and np.allclose(g["y"]["values"], Y[0, 0].numpy())
    # the field size the page states is the core's, for conv 3 → pool 2 → conv 3
    size = receptive_field_size([Layer((3, 3)), Layer((2, 2), stride=(2, 2)), Layer((3, 3))])
    assert _lines(at, "field")[0].split(": ")[0].endswith(f"depends on a {size[0]}×{size[1]} block of X")


def test_a_second_layer_too_large_for_the_first_map_is_explained():
    at = _layers("layers")
    at.number_input(key="ly.st.side").set_value(4).run()
    at.number_input(key="ly.st.k2").set_value(5).run()
    assert not at.exception
    error = panels(at)["maps"]["error"]
    assert error.startswith("No output: layer 2:")


# ------------------------------------------------------------------------------------------ the matrix


def test_the_matrix_and_im2col_are_drawn_and_both_give_corr2d():
    at = _layers("matrix")
    g = grids(at)
    X, K = at.session_state["ly.mx.X"], at.session_state["ly.mx.K"]
    assert np.array_equal(g["m"]["values"], conv_matrix(K, X.shape))
    assert np.array_equal(g["cols"]["values"], im2col(X, K.shape))
    Y = _conv(X[None], K[None, None])[0]
    assert np.allclose(g["vy"]["values"].ravel(), Y.ravel())
    assert np.allclose(g["m"]["values"] @ g["vx"]["values"].ravel(), Y.ravel())
    assert _lines(at, "m")[0] == "M · vec(X) = vec(Y): the largest difference from corr2d is 0 ✓"
    assert _lines(at, "cols")[0].endswith("✓")


def test_picking_a_row_of_vec_y_picks_its_cell_and_outlines_its_row_of_m():
    at = _layers("matrix")
    Y_cols = grids(at)["y"]["cols"]
    inject_pick(at.session_state, "ly.mx.m", (2 * Y_cols + 3, 0), name="vy")
    at.run()
    assert at.session_state["ly.mx.cell"] == (2, 3)
    g = grids(at)
    r = 2 * Y_cols + 3
    assert {t[0] for t in g["m"]["taps"]} == {r} and len(g["m"]["taps"]) == g["m"]["cols"]
    assert g["y"]["picked"] == [2, 3]


def test_settings_and_padding_follow_torch_and_an_oversized_matrix_is_refused():
    at = _layers("matrix")
    at.session_state["ly.mx.pad"] = 1
    at.session_state["ly.mx.stride"] = 2
    at.run()
    X, K = at.session_state["ly.mx.X"], at.session_state["ly.mx.K"]
    Y = _conv(X[None], K[None, None], padding=1, stride=2)[0]
    g = grids(at)
    assert np.allclose(g["y"]["values"], Y)
    assert np.allclose(g["m"]["values"], conv_matrix(K, X.shape, padding=1, stride=2))
    for key, value in (("rows", 8), ("cols", 8), ("krows", 1), ("kcols", 1), ("pad", 2), ("stride", 1)):
        at.number_input(key=f"ly.mx.{key}").set_value(value).run()
    assert grids(at)["x"]["values"].shape == (8, 8) and grids(at)["k"]["values"].shape == (1, 1)
    assert not at.exception
    assert "at most 64 rows" in panels(at)["y"]["error"]


# ------------------------------------------------------------------------------- transposed convolution


def test_the_course_example_and_its_terms():
    at = _layers("transposed")
    g = grids(at)
    assert np.array_equal(g["z"]["values"], [[0, 0, 1], [0, 4, 6], [4, 12, 9]])  # the course's printout
    text = _lines(at, "z")
    assert text[0] == ("Z[1, 1] = X[0, 0]·K[1, 1] + X[0, 1]·K[1, 0] + X[1, 0]·K[0, 1] + X[1, 1]·K[0, 0] = "
                       "0·3 + 1·2 + 2·1 + 3·0 = 4")
    assert sorted(map(tuple, g["x"]["taps"])) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert _lines(at, "mt")[0].endswith("largest difference 0 ✓")


def test_the_checkerboard_button_shows_uneven_overlaps_equal_to_torch():
    at = _layers("transposed")
    at.button(key="ly.tr.ex2").click().run()
    g = grids(at)
    X, K = np.ones((4, 4)), np.ones((3, 3))
    Z = F.conv_transpose2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None], stride=2)[0, 0].numpy()
    assert np.array_equal(g["z"]["values"], Z) and np.array_equal(g["copies"]["values"], Z)
    assert sorted({int(v) for v in np.unique(Z)}) == [1, 2, 4]
    assert "checkerboard" in _lines(at, "copies")[0]
    inject_pick(at.session_state, "ly.tr.in", (2, 2), name="z")
    at.run()
    assert _lines(at, "z")[1].startswith("4 copies of K overlap here")


def test_stride_and_padding_follow_torch_and_cropping_everything_is_explained():
    at = _layers("transposed")
    at.session_state["ly.tr.stride"], at.session_state["ly.tr.pad"] = 2, 1
    at.run()
    X, K = at.session_state["ly.tr.X"], at.session_state["ly.tr.K"]
    Z = F.conv_transpose2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None], stride=2, padding=1)
    assert np.allclose(grids(at)["z"]["values"], Z[0, 0].numpy())
    assert np.allclose(grids(at)["z"]["values"], conv_transpose2d(X, K, stride=2, padding=1))
    for key, value in (("rows", 1), ("cols", 1), ("krows", 1), ("kcols", 1), ("pad", 2)):
        at.number_input(key=f"ly.tr.{key}").set_value(value).run()
    assert not at.exception
    assert panels(at)["z"]["error"].startswith("No output: padding")


# ------------------------------------------------------------------------------------------ share link


def test_the_link_restores_every_view_in_a_new_session():
    at = _layers("matrix")
    inject_pick(at.session_state, "ly.mx.in", (3, 4), name="y")
    at.session_state["ly.mx.dil"] = 2
    at.run()
    X = at.session_state["ly.mx.X"].copy()
    X[0, 0] = 0.25
    inject_stroke(at.session_state, "ly.mx.in", X, _rev(at, "mx"), name="x")
    at.run()
    params = link(at)
    assert set(params) == {"ly"}
    fresh = _layers(ly=params["ly"])
    assert fresh.session_state["ly.tab"] == ls.TABS["matrix"]
    assert fresh.session_state["ly.mx.cell"] == at.session_state["ly.mx.cell"]
    assert fresh.session_state["ly.mx.dil"] == 2
    assert np.array_equal(grids(fresh)["x"]["values"], X)
    assert np.array_equal(grids(fresh)["y"]["values"], grids(at)["y"]["values"])
    for name in ls.ARRAYS:
        assert np.array_equal(fresh.session_state[f"ly.{name}"], at.session_state[f"ly.{name}"]), name


def test_a_mangled_link_gets_a_note_and_the_examples():
    at = _layers(ly="not-a-link")
    assert any("This share link could not be read" in w.value for w in at.warning)
    assert np.array_equal(at.session_state["ly.ch.X"], ls.examples()["ch.X"])


def test_the_codec_round_trips_and_refuses_what_the_page_could_not_show():
    state = ls.examples()
    state["ch.X"] = np.round(state["ch.X"] * 255) / 255
    back = ls.decode_link(ls.encode_link(state))
    for key, value in state.items():
        assert np.array_equal(back[key], value) if key in ls.ARRAYS else back[key] == value, key
    bad = dict(state, **{"ch.K": np.zeros((1, 2, 1, 1))})
    with pytest.raises(ls.LinkError, match="reads 2 channel"):
        ls.decode_link(ls.encode_link(bad))
    with pytest.raises(ls.LinkError, match="impossible size"):
        ls.decode_link(ls.encode_link(dict(state, **{"mx.X": np.zeros((9, 9))})))
    with pytest.raises(ls.LinkError, match="whole number"):
        ls.decode_link(ls.encode_link(dict(state, **{"tr.stride": 7})))
    with pytest.raises(ls.LinkError):
        ls.decode_link(ls.encode_link(state)[:-12])


@pytest.mark.parametrize("tab", ["channels", "layers", "matrix", "transposed"])
def test_each_views_snippet_runs_and_prints_the_numbers_on_screen(tab, capsys):
    at = _layers(tab)
    view = {"channels": "ch", "layers": "st", "matrix": "mx", "transposed": "tr"}[tab]
    assert not at.code  # built only when its expander is opened
    at.session_state[f"ly.{view}.code"] = True
    at.run()
    (code,) = at.code
    exec(compile(code.value, "snippet", "exec"), {})
    printed = capsys.readouterr().out
    shown = {"channels": "y0", "layers": "y", "matrix": "y", "transposed": "z"}[tab]
    printed_numbers = np.array([float(n) for n in re.findall(r"-?\d+\.\d*(?:e[+-]?\d+)?", printed)])
    assert printed_numbers.size
    # torch prints 4 decimals: every number on screen is in the printout, to that precision
    for value in grids(at)[shown]["values"].ravel():
        assert np.abs(printed_numbers - value).min() <= 5e-5 * max(1.0, abs(value)), value
