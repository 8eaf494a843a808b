"""The Playground page driven headlessly with AppTest: presets, sizes, settings, links, uploads."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from convlab import conv2d, corr2d
from ui import share
from ui.paint_grid import inject_stroke

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")

TIMEOUT = 60


def _app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def _subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def _X(at: AppTest) -> np.ndarray:
    return at.session_state["pg.X"]


def _K(at: AppTest) -> np.ndarray:
    return at.session_state["pg.K"]


def _explanation(at: AppTest) -> str:
    return next(c.value for c in at.code if c.value.startswith("Y["))


def test_opens_on_the_lessons_edge_detection():
    at = _app()
    assert not at.exception
    assert _subheaders(at)[:3] == ["Input X · 6×8", "Kernel K · 1×2", "Output Y · 6×7"]
    assert np.array_equal(_K(at), [[1.0, -1.0]])
    assert any("W′ = ⌊(8 + 2·0 − 1·(2 − 1) − 1) / 1⌋ + 1 = **7**" in m.value for m in at.markdown)
    # The default explained cell is Y[0, 0]: white minus white.
    assert _explanation(at).splitlines()[-1].strip().endswith("= 0")


def test_explaining_a_cell_writes_out_window_products_and_sum():
    at = _app()
    at.number_input(key="pg.cell_j").set_value(1).run()
    text = _explanation(at)
    assert text.startswith("Y[0, 1] = 1·1 + 0·-1")
    assert text.splitlines()[-1].strip() == "= 1"
    at.number_input(key="pg.bias").set_value(0.5).run()
    assert _explanation(at).splitlines()[-1].strip() == "= 1.5"
    assert not at.exception


def test_kernel_presets_and_input_presets_load():
    at = _app()
    at.selectbox(key="pg.kernel_preset").set_value("sobel_x").run()
    assert _subheaders(at)[1:3] == ["Kernel K · 3×3", "Output Y · 4×6"]
    assert np.array_equal(_K(at), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    at.selectbox(key="pg.image_preset").set_value("checkerboard").run()
    assert _subheaders(at)[0] == "Input X · 8×8"
    assert at.selectbox(key="pg.image_preset").value is None  # an action menu, ready for the next pick
    assert not at.exception


def test_resizing_a_preset_redraws_it_and_resizing_a_painting_keeps_it():
    at = _app()
    at.number_input(key="pg.rows").set_value(10).run()
    assert _X(at).shape == (10, 8)
    inject_stroke(at.session_state, "pg.paint", np.ones((10, 8)), revision=at.session_state["pg.X_rev"])
    at.run()
    assert np.array_equal(_X(at), np.ones((10, 8)))
    at.number_input(key="pg.cols").set_value(12).run()
    X = _X(at)
    assert X.shape == (10, 12) and X[:, :8].all() and not X[:, 8:].any()
    assert not at.exception


def test_a_painted_stroke_updates_the_output():
    at = _app()
    painted = _X(at).copy()
    painted[2, 3] = 1.0
    inject_stroke(at.session_state, "pg.paint", painted, revision=at.session_state["pg.X_rev"])
    at.run()
    assert np.array_equal(_X(at), painted)
    at.number_input(key="pg.cell_i").set_value(2).run()
    at.number_input(key="pg.cell_j").set_value(3).run()
    assert _explanation(at).splitlines()[-1].strip() == f"= {corr2d(painted, [[1.0, -1.0]])[2, 3]:g}"
    assert not at.exception


@pytest.mark.parametrize("op", ["transpose", "flip_lr", "flip_ud", "rotate", "invert", "clear"])
def test_transforms_change_the_input(op):
    at = _app()
    before = _X(at).copy()
    at.button(key=f"pg.tf.{op}").click().run()
    after = _X(at)
    expected = {
        "transpose": before.T, "flip_lr": before[:, ::-1], "flip_ud": before[::-1],
        "rotate": np.rot90(before, -1), "invert": 1 - before, "clear": np.zeros_like(before),
    }[op]
    assert np.array_equal(after, expected)
    assert not at.exception


def test_the_transposed_stripes_give_zeros_and_the_flipped_kernel_is_used_in_convolution():
    at = _app()
    at.button(key="pg.tf.transpose").click().run()
    assert _subheaders(at)[2] == "Output Y · 8×5"
    at.segmented_control(key="pg.mode").set_value("convolution").run()
    assert "kernel (flipped)" not in _explanation(at)  # the text shows numbers; the flip shows in the taps
    at.button(key="pg.tf.transpose").click().run()
    at.number_input(key="pg.cell_j").set_value(1).run()
    # Convolution flips [1, -1] to [-1, 1]: the white-to-black edge now reads -1.
    assert _explanation(at).splitlines()[-1].strip() == "= -1"
    assert conv2d(_X(at), _K(at))[0, 1] == -1
    assert not at.exception


def test_padding_stride_dilation_follow_the_formula():
    at = _app()
    at.number_input(key="pg.pad_r").set_value(1).run()
    assert _subheaders(at)[2] == "Output Y · 8×9"
    at.number_input(key="pg.stride_r").set_value(2).run()
    assert _subheaders(at)[2] == "Output Y · 4×5"
    at.number_input(key="pg.dil_r").set_value(3).run()
    assert _subheaders(at)[2] == "Output Y · 4×4"
    at.toggle(key="pg.separate").set_value(True).run()
    at.number_input(key="pg.pad_c").set_value(0).run()
    assert _subheaders(at)[2] == "Output Y · 4×3"
    assert not at.exception


def test_a_kernel_larger_than_the_input_explains_itself_and_recovers():
    at = _app()
    at.selectbox(key="pg.image_preset").set_value("counting").run()
    at.number_input(key="pg.krows").set_value(5).run()
    assert at.error and "larger than the padded input" in at.error[0].value
    assert _X(at).shape == (3, 3)  # the learner's work is untouched
    at.number_input(key="pg.pad_r").set_value(1).run()
    assert not at.error
    assert not at.exception


def test_share_link_round_trip_restores_everything():
    at = _app()
    at.selectbox(key="pg.kernel_preset").set_value("laplacian").run()
    at.segmented_control(key="pg.mode").set_value("convolution").run()
    at.number_input(key="pg.pad_r").set_value(2).run()
    at.number_input(key="pg.bias").set_value(-0.5).run()
    at.number_input(key="pg.cell_i").set_value(3).run()
    params = {k: at.query_params[k] for k in at.query_params}
    assert set(params) >= {"x", "k", "mode", "p", "b", "cell"}
    fresh = _app(**{k: v[0] if isinstance(v, list) else v for k, v in params.items()})
    assert not fresh.exception
    assert np.array_equal(_X(fresh), _X(at)) and np.array_equal(_K(fresh), _K(at))
    for key in ("pg.mode", "pg.pad_r", "pg.bias", "pg.cell_i"):
        assert fresh.session_state[key] == at.session_state[key]
    assert _explanation(fresh) == _explanation(at)


def test_a_mangled_link_falls_back_to_the_lesson_with_a_note():
    at = _app(x="6x8.garbage", k="zzz", s="0")
    assert not at.exception
    assert any("could not be read" in w.value for w in at.warning)
    assert np.array_equal(_K(at), [[1.0, -1.0]])


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_upload_a_picture_and_a_broken_file():
    at = _app()
    img = Image.new("L", (80, 60), 0)
    img.paste(255, (0, 0, 40, 60))  # left half white
    at.file_uploader(key="pg.upload").set_value(("half.png", _png(img), "image/png")).run()
    X = _X(at)
    assert X.shape == (6, 8)
    assert np.allclose(X[:, :4], 1.0) and np.allclose(X[:, 4:], 0.0)
    at.file_uploader(key="pg.upload").set_value(("notes.txt", b"not a picture", "text/plain")).run()
    assert at.error and "notes.txt" in at.error[0].value
    assert np.array_equal(_X(at), X)  # nothing lost
    assert not at.exception


def test_photo_mode_runs_on_the_built_in_scene_and_a_bad_upload():
    at = _app()
    at.toggle(key="pg.photo").set_value(True).run()
    assert len(at.get("imgs")) >= 1 or at.image
    at.file_uploader(key="pg.photo_file").set_value(("x.png", b"\x89PNG broken", "image/png")).run()
    assert any("x.png" in e.value for e in at.error)
    assert not at.exception


def test_sessions_do_not_share_state():
    a, b = _app(), _app()
    a.selectbox(key="pg.kernel_preset").set_value("gaussian").run()
    b.run()
    assert np.array_equal(_K(b), [[1.0, -1.0]])
    assert _K(a).shape == (3, 3)


def test_link_state_round_trips_through_the_codec():
    at = _app()
    state = share.decode_state({k: at.query_params[k] for k in at.query_params})
    assert np.array_equal(state.X, _X(at))


def test_numbers_so_large_they_overflow_get_a_message_not_a_crash():
    at = _app()
    at.session_state["pg.K"] = np.array([[1e308, 1e308]])  # as a share link or preset would set it
    at.session_state["pg.K_rev"] += 1
    at.run()
    assert not at.exception
    assert any("overflow" in e.value for e in at.error)


def test_show_the_code_renders_only_when_open_and_downloads_are_made_on_click():
    at = _app()
    assert [c.value for c in at.code if c.value.startswith("def corr2d_loop")] == []  # closed: nothing built
    at.session_state["pg.show_code"] = True
    at.run()
    assert not at.exception
    codes = [c.value for c in at.code]
    assert any(c.startswith("def corr2d_loop(X, K):") for c in codes)
    snippet = next(c for c in codes if "import torch" in c)
    scope: dict = {}
    exec(snippet, scope)  # the snippet prints; it must also leave Y equal to the page's output
    np.testing.assert_allclose(np.asarray(scope["Y"]).reshape(corr2d(_X(at), _K(at)).shape),
                               corr2d(_X(at), _K(at)), atol=1e-5)
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    assert set(buttons) == {"Output CSV", "Output PNG", "Kernel JSON", "PyTorch snippet"}
    assert all(b.deferred_file_id and b.ignore_rerun for b in buttons.values())  # no rerun, no work per rerun
