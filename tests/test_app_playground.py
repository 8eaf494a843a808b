"""The Playground page driven headlessly with AppTest: grids, presets, sizes, settings, links, uploads."""

import io

import numpy as np
import pytest
from app_helpers import app, grids, lines, link, panels, printouts, texts
from PIL import Image

from convlab import conv2d, corr2d
from convlab.colour import NEUTRAL
from ui import share
from ui.grid import inject_pick, inject_stroke


def _X(at) -> np.ndarray:
    return at.session_state["pg.X"]


def _K(at) -> np.ndarray:
    return at.session_state["pg.K"]


WORK = "pg.work"  # the live workspace's grid group


def _explanation(at) -> list[str]:
    return lines(at, "explain")


def _pick(at, cell: tuple[int, int]) -> None:
    inject_pick(at.session_state, WORK, cell, name="pg.output")
    at.run()


def _paint(at, X: np.ndarray) -> None:
    inject_stroke(at.session_state, WORK, X, revision=at.session_state["pg.X_rev"], name="pg.paint")
    at.run()


def _type_kernel(at, K: np.ndarray, revision: int | None = None) -> None:
    revision = at.session_state["pg.K_rev"] if revision is None else revision
    inject_stroke(at.session_state, WORK, K, revision=revision, name="pg.kedit")
    at.run()


def test_opens_on_the_lessons_edge_detection_with_every_grid_in_its_colour_scale():
    at = app()
    assert not at.exception
    g = grids(at)
    assert g["pg.paint"]["title"] == "Input X · 6×8 · Lesson stripes"
    assert g["pg.kedit"]["title"] == "Kernel K · 1×2"
    assert g["pg.output"]["title"] == "Output Y = X ⋆ K + b · 6×7"
    assert (g["pg.paint"]["mode"], g["pg.kedit"]["mode"], g["pg.output"]["mode"]) == ("paint", "edit", "view")
    np.testing.assert_array_equal(g["pg.output"]["values"], corr2d(_X(at), _K(at)))
    # Images on the fixed grayscale 0..1; every signed grid symmetric around 0, so 0 is the neutral colour.
    image = g["pg.paint"]["scale"]
    assert image["kind"] == "image" and (image["lo"], image["hi"]) == (0, 1)
    for key in ("pg.kedit", "pg.output", "pg.ex_k", "pg.ex_p"):
        scale = g[key]["scale"]
        assert scale["kind"] == "signed" and scale["lo"] == -scale["hi"], key
        assert scale["stops"][len(scale["stops"]) // 2] == list(NEUTRAL)
    # The window is part of X: it is drawn as X is; the kernel in the explanation as the kernel grid.
    assert g["pg.ex_w"]["scale"] == g["pg.paint"]["scale"]
    assert g["pg.ex_k"]["scale"] == g["pg.kedit"]["scale"]
    assert lines(at, "output")[1] == "W′ = ⌊(8 + 2·0 − 1·(2 − 1) − 1) / 1⌋ + 1 = 7"
    assert _explanation(at)[:2] == ["Y[0, 0] = 1·1 + 1·(−1)", "= 0"]  # white minus white
    assert [p for p in panels(at)] == ["input", "kernel", "output", "explain"]  # one element, four panels


def test_picking_an_output_cell_explains_it_and_outlines_its_window_on_x():
    at = app()
    _pick(at, (0, 1))
    g = grids(at)
    assert g["pg.output"]["picked"] == [0, 1]
    assert g["pg.paint"]["taps"] == [[0, 1], [0, 2]]
    assert _explanation(at)[:2] == ["Y[0, 1] = 1·1 + 0·(−1)", "= 1"]
    assert panels(at)["explain"]["lines"][1]["strong"]
    np.testing.assert_array_equal(g["pg.ex_w"]["values"], [[1.0, 0.0]])
    np.testing.assert_array_equal(g["pg.ex_p"]["values"], [[1.0, 0.0]])
    at.number_input(key="pg.bias").set_value(0.5).run()
    assert _explanation(at)[1] == "= 1 + bias 0.5 = 1.5"
    assert panels(at)["explain"]["title"].startswith("Explain Y[0, 1]")
    assert not at.exception


def test_the_explanation_rounds_as_the_grids_do_and_says_so():
    at = app()
    X = _X(at).copy()
    X[0, 0] = 0.878431
    _paint(at, X)
    text = _explanation(at)
    assert text[:2] == ["Y[0, 0] = 0.88·1 + 1·(−1)", "≈ −0.12"]
    assert "rounded to 2 decimals" in text[-1]


def test_padding_is_drawn_and_the_taps_in_it_are_outlined():
    at = app()
    at.number_input(key="pg.pad_r").set_value(1).run()
    at.number_input(key="pg.dil_r").set_value(2).run()
    at.selectbox(key="pg.kernel_preset").set_value("sobel_x").run()
    g = grids(at)
    assert g["pg.paint"]["pad"] == [1, 1]
    taps = g["pg.paint"]["taps"]
    assert len(taps) == 9  # every tap of the 3x3 kernel, with dilation 2, from (-1, -1)
    assert sorted(taps) == sorted([r, c] for r in (-1, 1, 3) for c in (-1, 1, 3))
    assert sum(r < 0 or c < 0 for r, c in taps) == 5  # these fall in the zero padding
    assert any("5 of the 9 taps fall in the zero padding" in line for line in _explanation(at))


def test_kernel_presets_show_their_name_and_input_presets_keep_the_grid_size():
    at = app()
    at.selectbox(key="pg.kernel_preset").set_value("sobel_x").run()
    g = grids(at)
    assert g["pg.kedit"]["title"] == "Kernel K · 3×3 · Sobel x"
    assert g["pg.output"]["title"].endswith("4×6")
    np.testing.assert_array_equal(_K(at), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    at.number_input(key="pg.rows").set_value(64).run()
    at.number_input(key="pg.cols").set_value(64).run()
    at.selectbox(key="pg.image_preset").set_value("noise").run()
    assert _X(at).shape == (64, 64)  # a preset does not throw the learner's grid size away
    assert at.number_input(key="pg.rows").value == 64
    assert at.selectbox(key="pg.image_preset").value is None  # an action menu, ready for the next pick
    at.selectbox(key="pg.image_preset").set_value("stripes").run()
    assert _X(at).shape == (6, 8)  # the lesson's own grid comes at the lesson's size
    assert not at.exception


def test_a_typed_kernel_number_is_used_and_the_preset_name_goes():
    at = app()
    at.selectbox(key="pg.kernel_preset").set_value("edge").run()
    _type_kernel(at, np.array([[1.0, -2 / 3]]))
    np.testing.assert_array_equal(_K(at), [[1.0, -2 / 3]])
    g = grids(at)
    assert g["pg.kedit"]["title"] == "Kernel K · 1×2"
    np.testing.assert_allclose(g["pg.output"]["values"], corr2d(_X(at), [[1.0, -2 / 3]]))


def test_a_kernel_stroke_beyond_the_limit_or_on_an_old_revision_is_ignored():
    at = app()
    rev = at.session_state["pg.K_rev"]
    _type_kernel(at, np.array([[1e9, 1.0]]))
    np.testing.assert_array_equal(_K(at), [[1.0, -1.0]])
    _type_kernel(at, np.array([[5.0, 5.0]]), revision=rev - 1)
    np.testing.assert_array_equal(_K(at), [[1.0, -1.0]])
    assert not at.exception


def test_resizing_a_preset_redraws_it_and_resizing_a_painting_keeps_it():
    at = app()
    at.number_input(key="pg.rows").set_value(10).run()
    assert _X(at).shape == (10, 8)
    _paint(at, np.ones((10, 8)))
    np.testing.assert_array_equal(_X(at), np.ones((10, 8)))
    at.number_input(key="pg.cols").set_value(12).run()
    X = _X(at)
    assert X.shape == (10, 12) and X[:, :8].all() and not X[:, 8:].any()
    assert not at.exception


def test_a_painted_stroke_updates_the_output_and_the_explanation():
    at = app()
    painted = _X(at).copy()
    painted[2, 3] = 1.0
    _paint(at, painted)
    np.testing.assert_array_equal(_X(at), painted)
    _pick(at, (2, 3))
    Y = corr2d(painted, [[1.0, -1.0]])
    np.testing.assert_array_equal(grids(at)["pg.output"]["values"], Y)
    assert _explanation(at)[1] == f"= {Y[2, 3]:g}"
    assert grids(at)["pg.paint"]["title"] == "Input X · 6×8"  # painted on: no longer the preset


def test_brush_value_and_eraser_reach_the_grid():
    at = app()
    at.number_input(key="pg.brush").set_value(-0.5).run()
    assert grids(at)["pg.paint"]["brush"] == -0.5 and grids(at)["pg.kedit"]["brush"] == -0.5
    at.toggle(key="pg.eraser").set_value(True).run()
    assert grids(at)["pg.paint"]["brush"] == 0.0


@pytest.mark.parametrize("op", ["transpose", "flip_lr", "flip_ud", "rotate", "invert", "clear"])
def test_transforms_change_the_input(op):
    at = app()
    before = _X(at).copy()
    at.pills(key="pg.edit_x").set_value(op).run()
    expected = {
        "transpose": before.T, "flip_lr": before[:, ::-1], "flip_ud": before[::-1],
        "rotate": np.rot90(before, -1), "invert": 1 - before, "clear": np.zeros_like(before),
    }[op]
    np.testing.assert_array_equal(_X(at), expected)
    assert not at.exception


@pytest.mark.parametrize(("op", "expected"), [("flip", [[-1.0, 1.0]]), ("transpose", [[1.0], [-1.0]])])
def test_kernel_flip_and_transpose(op, expected):
    at = app()
    at.pills(key="pg.edit_k").set_value(op).run()
    assert at.pills(key="pg.edit_k").value is None  # an action: ready for the next one
    np.testing.assert_array_equal(_K(at), expected)
    shape = (at.number_input(key="pg.krows").value, at.number_input(key="pg.kcols").value)
    assert shape == np.shape(expected)


def test_the_transposed_stripes_give_zeros_and_convolution_uses_the_flipped_kernel():
    at = app()
    at.pills(key="pg.edit_x").set_value("transpose").run()
    g = grids(at)
    assert g["pg.output"]["title"].endswith("8×5") and not g["pg.output"]["values"].any()
    at.segmented_control(key="pg.mode").set_value("convolution").run()
    g = grids(at)
    np.testing.assert_array_equal(g["pg.kflipped"]["values"], [[-1.0, 1.0]])
    assert g["pg.output"]["title"].startswith("Output Y = X ∗ K")
    assert any("watch the convolution follow" in t for t in texts(at))  # the subtitle names the mode
    at.pills(key="pg.edit_x").set_value("transpose").run()
    _pick(at, (0, 1))
    # Convolution flips [1, -1] to [-1, 1]: the white-to-black edge now reads -1.
    assert _explanation(at)[1] == "= −1"
    assert conv2d(_X(at), _K(at))[0, 1] == -1
    assert not at.exception


def test_padding_stride_dilation_follow_the_formula_per_axis():
    at = app()
    for key, value, shape in (("pg.pad_r", 1, "8×9"), ("pg.stride_r", 2, "4×5"), ("pg.dil_r", 3, "4×4")):
        at.number_input(key=key).set_value(value).run()
        assert grids(at)["pg.output"]["title"].endswith(shape), key
    at.toggle(key="pg.separate").set_value(True).run()
    at.number_input(key="pg.pad_c").set_value(0).run()
    assert grids(at)["pg.output"]["title"].endswith("4×3")
    at.number_input(key="pg.stride_c").set_value(1).run()
    at.number_input(key="pg.dil_c").set_value(1).run()
    X, K = _X(at), _K(at)
    Y = corr2d(X, K, padding=(1, 0), stride=(2, 1), dilation=(3, 1))
    np.testing.assert_array_equal(grids(at)["pg.output"]["values"], Y)
    assert grids(at)["pg.paint"]["pad"] == [1, 0]
    assert not at.exception


def test_a_kernel_larger_than_the_input_explains_itself_and_recovers():
    at = app()
    at.selectbox(key="pg.image_preset").set_value("counting").run()
    at.number_input(key="pg.krows").set_value(5).run()
    assert "larger than the padded input" in panels(at)["output"]["error"]
    assert "explain" not in panels(at)
    assert _X(at).shape == (3, 3)  # the learner's work is untouched
    at.number_input(key="pg.pad_r").set_value(1).run()
    assert panels(at)["output"]["error"] is None and "explain" in panels(at)
    assert not at.exception


def test_share_link_round_trip_restores_everything():
    at = app()
    at.selectbox(key="pg.kernel_preset").set_value("laplacian").run()
    at.segmented_control(key="pg.mode").set_value("convolution").run()
    at.number_input(key="pg.pad_r").set_value(2).run()
    at.number_input(key="pg.bias").set_value(-0.5).run()
    _pick(at, (3, 1))
    params = link(at)
    assert set(params) >= {"x", "k", "mode", "p", "b", "cell"}
    fresh = app(**params)
    assert not fresh.exception
    np.testing.assert_array_equal(_X(fresh), _X(at))
    np.testing.assert_array_equal(_K(fresh), _K(at))
    for key in ("pg.mode", "pg.pad_r", "pg.bias", "pg.cell_i", "pg.cell_j"):
        assert fresh.session_state[key] == at.session_state[key]
    assert _explanation(fresh) == _explanation(at)
    assert grids(fresh)["pg.output"]["picked"] == [3, 1]


def test_a_mangled_link_falls_back_to_the_lesson_with_a_note():
    at = app(x="6x8.garbage", k="zzz", s="0")
    assert not at.exception
    assert any("could not be read" in w.value for w in at.warning)
    np.testing.assert_array_equal(_K(at), [[1.0, -1.0]])


def test_link_text_never_becomes_markdown():
    phish = "[**Session expired**](http://evil.example/phish) ![t](http://evil.example/p.png)"
    at = app(x=share.encode_state(share.PlaygroundState(X=np.ones((3, 3)), K=np.ones((1, 1))))["x"],
             k="1x1.zz", mode=phish, p=phish)
    assert not at.exception
    for w in at.warning:
        # Escaped: shown as text, never a link or an image.
        assert "](http" not in w.value and "![" not in w.value


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_upload_a_picture_and_a_broken_file_with_a_hostile_name():
    at = app()
    img = Image.new("L", (80, 60), 0)
    img.paste(255, (0, 0, 40, 60))  # left half white
    at.file_uploader(key="pg.upload").set_value(("half.png", _png(img), "image/png")).run()
    X = _X(at)
    assert X.shape == (6, 8)
    assert np.allclose(X[:, :4], 1.0) and np.allclose(X[:, 4:], 0.0)
    hostile = ("[x](http://evil.example).txt", b"not a picture", "text/plain")
    at.file_uploader(key="pg.upload").set_value(hostile).run()
    assert at.error and "evil" in at.error[0].value and "](http" not in at.error[0].value
    np.testing.assert_array_equal(_X(at), X)  # nothing lost
    assert not at.exception


def test_photo_mode_uses_the_uploaded_picture_and_shows_signed_output():
    at = app()
    assert not any("built-in scene" in c for c in texts(at))  # closed: nothing built
    at.session_state["pg.photo"] = True  # the expander opened
    at.run()
    assert any("built-in scene" in c for c in texts(at))
    img = Image.new("L", (300, 200), 0)
    img.paste(255, (0, 0, 150, 200))
    at.file_uploader(key="pg.upload").set_value(("half.png", _png(img), "image/png")).run()
    assert not at.exception
    _, photo, name = at.session_state["pg.photo_img"]
    assert photo.shape == (200, 300) and photo.dtype == np.uint8 and name == "half\\.png"
    captions = [i.proto.imgs[0].caption for i in at.get("image")]
    assert any("200×300" in c for c in captions)  # the same picture, at full size
    assert any("blue −" in c and "white 0" in c for c in captions)  # signed, with its range written out


def test_sessions_do_not_share_state():
    a, b = app(), app()
    a.selectbox(key="pg.kernel_preset").set_value("gaussian").run()
    b.run()
    np.testing.assert_array_equal(_K(b), [[1.0, -1.0]])
    assert _K(a).shape == (3, 3)


def test_numbers_so_large_they_overflow_get_a_message_not_a_crash():
    at = app()
    at.session_state["pg.K"] = np.array([[1e308, 1e308]])  # as a share link or preset would set it
    at.session_state["pg.K_rev"] += 1
    at.run()
    assert not at.exception
    assert "overflow" in panels(at)["output"]["error"]


def test_the_live_holder_follows_strokes_for_downloads():
    at = app()
    painted = np.zeros((6, 8))
    painted[1, 1] = 1.0
    _paint(at, painted)
    live = at.session_state["pg.live"]
    np.testing.assert_array_equal(live["state"].X, painted)
    np.testing.assert_array_equal(live["Y"], corr2d(painted, [[1.0, -1.0]]))


def test_show_the_code_renders_only_when_open_and_downloads_are_made_on_click():
    at = app()
    assert [c for c in printouts(at) if c.startswith("def corr2d_loop")] == []  # closed: nothing built
    at.session_state["pg.show_code"] = True
    at.run()
    assert not at.exception
    codes = [c.value for c in at.code]
    assert any(c.startswith("def corr2d_loop(X, K):") for c in printouts(at))
    snippet = next(c for c in codes if "import torch" in c)
    scope: dict = {}
    exec(snippet, scope)  # the snippet prints; it must also leave Y equal to the page's output
    Y = corr2d(_X(at), _K(at))
    np.testing.assert_allclose(np.asarray(scope["Y"]).reshape(Y.shape), Y, atol=1e-5)
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    assert set(buttons) == {"Output CSV", "Output PNG", "Kernel JSON", "PyTorch snippet"}
    assert all(b.deferred_file_id and b.ignore_rerun for b in buttons.values())  # no rerun, no work per rerun


def test_a_state_too_large_for_a_link_says_so_and_keeps_the_last_link_that_fit():
    at = app()
    before = link(at)
    at.number_input(key="pg.rows").set_value(64).run()
    at.number_input(key="pg.cols").set_value(64).run()
    fitting = link(at)
    assert fitting is not None and fitting != before
    noise = np.random.default_rng(0).random((64, 64))  # 4096 distinct shades: no short link holds them
    _paint(at, noise)
    assert any("too large for a share link" in t for t in texts(at))
    assert link(at) is None  # the group writes no link: the address bar keeps the last one that fit
    np.testing.assert_array_equal(grids(at)["pg.output"]["values"], corr2d(noise, [[1.0, -1.0]]))
