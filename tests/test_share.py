"""Share links: every state round-trips exactly; every damaged link is refused with a reason."""

import base64
import re
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ui.share import (
    MAX_LINK_CHARS,
    PlaygroundState,
    ShareLinkError,
    decode_grid,
    decode_state,
    encode_grid,
    encode_state,
    escape_markdown,
    link_length,
)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=finite))
def test_grids_round_trip_bit_for_bit(A):
    B = decode_grid(encode_grid(A))
    assert B.shape == A.shape
    assert np.array_equal(B, A)
    nonzero = A != 0  # bit for bit, except that the palette may merge -0.0 into 0.0
    assert B[nonzero].tobytes() == A[nonzero].tobytes()


def test_many_distinct_values_use_the_raw_form():
    A = np.random.default_rng(0).random((20, 20))
    assert np.array_equal(decode_grid(encode_grid(A)), A)


def test_a_painted_64x64_grid_and_an_uploaded_one_fit_in_a_link():
    painted = np.zeros((64, 64))
    painted[10:40, 5:20] = 1.0
    upload = np.round(np.random.default_rng(1).random((64, 64)) * 255) / 255
    for X in (painted, upload):
        params = encode_state(PlaygroundState(X=X, K=np.ones((7, 7))))
        assert link_length(params) < MAX_LINK_CHARS
    assert len(encode_grid(painted)) < 200


def test_state_round_trip_keeps_every_setting():
    state = PlaygroundState(
        X=np.arange(12.0).reshape(3, 4), K=np.array([[1.0, -1.0]]), mode="convolution",
        padding=(1, 2), stride=(2, 1), dilation=(1, 3), bias=-0.25, cell=(1, 2),
    )
    back = decode_state(encode_state(state))
    assert np.array_equal(back.X, state.X) and np.array_equal(back.K, state.K)
    assert (back.mode, back.padding, back.stride, back.dilation, back.bias, back.cell) == (
        "convolution", (1, 2), (2, 1), (1, 3), -0.25, (1, 2)
    )


def test_defaults_are_left_out_of_the_link():
    params = encode_state(PlaygroundState(X=np.zeros((3, 3)), K=np.ones((1, 2))))
    assert set(params) == {"x", "k"}


def _raw(payload: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(payload)).decode().rstrip("=")


good = {"x": encode_grid(np.ones((6, 8))), "k": encode_grid(np.array([[1.0, -1.0]]))}


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({}, "no input grid"),
        ({**good, "x": "garbage"}, "damaged"),
        ({**good, "x": "6x8.!!!!"}, "unknown grid format"),
        ({**good, "x": "6x8.AAA"}, "damaged"),
        ({**good, "x": "99x8." + good["x"].split(".")[1]}, "outside"),
        ({**good, "x": "6x9." + good["x"].split(".")[1]}, "truncated"),
        ({**good, "x": "1x1." + _raw(b"R" + np.array([np.nan]).tobytes())}, "NaN"),
        ({**good, "x": "1x1." + _raw(b"Z123")}, "unknown"),
        ({**good, "k": encode_grid(np.ones((8, 8)))}, "outside"),
        ({**good, "mode": "sideways"}, "neither"),
        ({**good, "p": "a"}, "whole number"),
        ({**good, "s": "0"}, "stride"),
        ({**good, "d": "1,2,3"}, "dilation"),
        ({**good, "b": "nan"}, "finite"),
        ({**good, "b": "x"}, "not a number"),
    ],
)
def test_mangled_links_are_refused_with_a_reason(params, match):
    with pytest.raises(ShareLinkError, match=match):
        decode_state(params)


def test_a_link_that_inflates_to_gigabytes_is_refused_cheaply():
    bomb = "4x4." + _raw(b"R" + bytes(50_000_000))
    with pytest.raises(ShareLinkError, match="truncated"):
        decode_grid(bomb)


# --- issue 12: user text is data, refusals in words, only states the widgets can show ----------------

INJECTIONS = [
    "[**Session expired: click here to sign in again**](http://evil.example/phish)",
    "![t](http://evil.example/pixel.png)",
    "<img src=x onerror=alert(1)>",
    ":red[warning] $x^2$ :material/lock:",
    "9" * 5000,
    "1x1.AAAA\n# heading",
]
INTERNALS = ("unpack", "base64", "Error -3", "index out of range", "4300", "digits", "Traceback", "bytes")


def _assert_learner_message(message: str, injected: str) -> None:
    for fragment in ("http", "evil", "<img", ":red[", "$x", "9999", "# heading", "**"):
        if fragment in injected:
            assert fragment not in message, message
    assert not any(word in message for word in INTERNALS), message


@pytest.mark.parametrize("field", ["x", "k", "mode", "p", "s", "d", "b", "cell"])
@pytest.mark.parametrize("injected", INJECTIONS)
def test_no_link_field_is_echoed_into_the_message(field, injected):
    with pytest.raises(ShareLinkError) as info:
        decode_state({**good, field: injected})
    _assert_learner_message(str(info.value), injected)


@pytest.mark.parametrize(
    "x",
    [
        "garbage", "6x8", "6x8.", "6x8.!!!!", "6x8.AAA", "99999x8.AAAA", "6x" + "9" * 5000 + ".AA",
        "6x8." + "A" * 381, "6x9." + good["x"].split(".")[1], "x.AAAA", "6x8.eJw", "\x00",
    ],
)
def test_damaged_grids_are_refused_without_python_internals(x):
    with pytest.raises(ShareLinkError) as info:
        decode_state({**good, "x": x})
    _assert_learner_message(str(info.value), x)
    assert str(info.value).startswith("the input grid in the link ")


@pytest.mark.parametrize(
    ("X", "K", "match"),
    [
        (np.ones((2, 2)), np.ones((1, 2)), r"^the input grid in the link is 2x2, outside the 3 to 64 rows"),
        (np.ones((3, 2)), np.ones((1, 2)), r"is 3x2, outside the 3 to 64"),
        (np.ones((65, 8)), np.ones((1, 2)), r"is 65x8, outside the 3 to 64"),
        (np.ones((6, 8)), np.ones((8, 1)), r"^the kernel in the link is 8x1, outside the 1 to 7"),
        (np.full((6, 8), 2e6), np.ones((1, 2)), r"holds numbers beyond ±1,000,000"),
        (np.ones((6, 8)), np.full((1, 2), -1e300), r"^the kernel in the link holds numbers beyond"),
    ],
)
def test_links_restore_only_grids_the_widgets_can_show(X, K, match):
    # The issue: ?x=<2x2> restored a 2x2 input that Rows/Columns (minimum 3) later reshaped silently.
    with pytest.raises(ShareLinkError, match=match):
        decode_state(encode_state(PlaygroundState(X=X, K=K)))


def test_the_smallest_and_largest_grids_the_widgets_allow_round_trip():
    for X, K in ((np.ones((3, 3)), np.ones((1, 1))), (np.ones((64, 64)), np.ones((7, 7)))):
        back = decode_state(encode_state(PlaygroundState(X=X, K=K)))
        assert back.X.shape == X.shape and back.K.shape == K.shape


def test_an_explained_cell_outside_the_output_is_refused():
    state = PlaygroundState(X=np.ones((6, 8)), K=np.ones((1, 2)), cell=(6, 0))  # the output is 6x7
    with pytest.raises(ShareLinkError, match=r"explained cell 6,0 is outside the 6x7 output"):
        decode_state(encode_state(state))
    big_kernel = PlaygroundState(X=np.ones((3, 3)), K=np.ones((7, 7)), cell=(2, 2))  # no output at all
    assert decode_state(encode_state(big_kernel)).cell == (2, 2)  # the page explains the kernel


@pytest.mark.parametrize("injected", [*INJECTIONS, "my_photo*.png", "a\nb\rc\x1b[31m", "é 漢字 ✓"])
def test_escape_markdown_leaves_no_markup(injected):
    escaped = escape_markdown(injected)
    assert "\n" not in escaped and "\r" not in escaped and "\x1b" not in escaped
    # Every Markdown, HTML, math, emoji and colour-directive character is backslash-escaped.
    unescaped = re.sub(r"\\.", "", escaped)
    assert not set(unescaped) & set("\\`*_{}[]()<>#+-.!|~$:&\"'=^")
    assert len(escaped.replace("\\", "")) <= 80
    if len(injected) <= 80 and injected.isprintable():
        assert re.sub(r"\\(.)", r"\1", escaped) == injected  # shown literally, nothing lost
