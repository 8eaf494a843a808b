"""Share links: every state round-trips exactly; every damaged link is refused with a reason."""

import base64
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
