"""Refusal wordings and boundaries, with every number worked out by hand (mutation testing found the
size words, the per-axis settings in messages, the share-link text helpers and the kernel checks
could change without a test noticing)."""

import base64
import zlib

import numpy as np
import pytest

from convlab import Conv2D, corr2d
from convlab.grids import as_grid, describe
from convlab.kernels import KernelPreset, kernel_preset
from ui.share import (
    PlaygroundState,
    ShareLinkError,
    decode_grid,
    decode_state,
    encode_grid,
    encode_state,
    escape_markdown,
    link_length,
)

X8 = np.ones((8, 8))
K3 = np.ones((3, 3))


@pytest.mark.parametrize(
    ("padding", "message"),
    [
        # (8 + 2*10000)^2 = 20008^2 = 400,320,064 cells.
        (10_000, "padding 10000 would make the input 20008x20008, 400 million cells: too large to compute "
                 "here (the limit is 33.6 million cells), so please use less padding"),
        ((10_000, 5_000), "padding 10000,5000 would make the input 20008x10008, 200 million cells"),
        # (8 + 2*496) x (8 + 2*499996) = 1,000 x 1,000,000 = exactly one billion.
        ((496, 499_996), "padding 496,499996 would make the input 1000x1000000, 1 billion cells"),
        # 60008^2 = 3,600,960,064.
        (30_000, "60008x60008, 3.6 billion cells"),
        # 1,000,000 x 1,000,000: exactly one trillion.
        (499_996, "1000000x1000000, 1 trillion cells"),
        # 1,000,000 x 1,000,000,000 = 10^15: from here on the whole number is written out.
        ((499_996, 499_999_996), "1000000x1000000000, 1000000000000000 cells"),
        # 999,999 x 1,000,000,000 is just under 10^15: still in trillions.
        ((499_995, 499_999_996), None),
    ],
)
def test_padding_refusals_say_the_size_in_words(padding, message):
    with pytest.raises(ValueError) as info:
        corr2d(X8, K3, padding=padding)
    text = str(info.value)
    if message is None:
        # (8 + 2*499995) = 999,998 rows: 999,998 x 10^9 = 9.99998e14 -> "1e+03 trillion"
        assert "999998x1000000000, 1e+03 trillion cells" in text
    else:
        assert message in text


def test_a_padded_input_just_over_the_limit_is_counted_in_millions():
    # Padding 3000 on 8x8 gives a 6008x6008 input: 36,096,064 cells, just over the 33.6 million limit.
    with pytest.raises(ValueError, match=r"6008x6008, 36.1 million cells"):
        corr2d(X8, np.ones((1, 1)), padding=3000)


def test_share_links_write_equal_pairs_once_and_unequal_pairs_with_a_comma():
    state = PlaygroundState(X=np.ones((4, 4)), K=np.ones((1, 1)), padding=(2, 2), stride=(1, 3),
                            dilation=(3, 1), cell=(2, 1))
    params = encode_state(state)
    assert (params["p"], params["s"], params["d"], params["cell"]) == ("2", "1,3", "3,1", "2,1")
    assert "b" not in params and "mode" not in params


def test_link_length_counts_every_character_of_the_query():
    # "?x=ab&k=c" is 9 characters: each pair costs len(key) + len(value) + 2 ("?" or "&", and "=").
    assert link_length({"x": "ab", "k": "c"}) == len("?x=ab&k=c")
    assert link_length({}) == 0


def test_escape_markdown_cuts_at_exactly_max_chars():
    assert escape_markdown("a" * 80) == "a" * 80
    assert escape_markdown("a" * 81) == "a" * 79 + "…"
    assert escape_markdown("abcdef", max_chars=4) == "abc…"
    assert escape_markdown("a\tb\nc") == "a b c"  # one space per control character
    assert escape_markdown("x.y") == "x\\.y"


def test_kernel_presets_are_read_only_float_grids():
    assert kernel_preset("identity").dtype == np.float64
    preset = KernelPreset("one", "One", "a single weight", [[1]])
    assert preset.values.dtype == np.float64 and preset.values.tolist() == [[1.0]]
    with pytest.raises(ValueError, match="read-only"):
        preset.values[0, 0] = 2.0
    with pytest.raises(ValueError, match=r"must be a non-empty 2-D grid, got shape \(1, 0\)"):
        KernelPreset("empty", "Empty", "nothing", np.ones((1, 0)))


def test_conv2d_kernel_sides_must_each_be_one_or_more():
    assert tuple(Conv2D((3, 1)).weight.shape[-2:]) == (3, 1)
    assert tuple(Conv2D((1, 3)).weight.shape[-2:]) == (1, 3)
    with pytest.raises(ValueError, match=r"^kernel_size must be at least 1x1, got 3x0$"):
        Conv2D((3, 0))
    with pytest.raises(ValueError, match=r"got 'big'$"):
        Conv2D("big")


def _link(**extra):
    return {"x": encode_grid(np.ones((6, 8))), "k": encode_grid(np.ones((1, 2))), **extra}


@pytest.mark.parametrize(
    ("field", "text", "ok"),
    [
        ("p", "8", True), ("p", "9", False), ("p", "0,8", True), ("p", "8,9", False), ("p", "9,0", False),
        ("s", "1,8", True), ("s", "1,9", False), ("s", "9,1", False), ("s", "0,1", False),
        ("d", "8", True), ("d", "8,9", False),
    ],
)
def test_link_settings_accept_exactly_their_widgets_range(field, text, ok):
    if ok:
        decode_state(_link(**{field: text}))
    else:
        with pytest.raises(ShareLinkError, match=r"must be one or two whole numbers from [01] to 8$"):
            decode_state(_link(**{field: text}))


def test_a_link_bias_may_be_written_in_up_to_32_characters():
    assert decode_state(_link(b="0." + "0" * 29 + "5")).bias == 5e-30  # 32 characters
    with pytest.raises(ShareLinkError, match=r"^the link's bias is not a number$"):
        decode_state(_link(b="0." + "0" * 30 + "5"))  # 33 characters
    with pytest.raises(ShareLinkError, match=r"^the link's bias is not a finite number$"):
        decode_state(_link(b="inf"))


def test_a_palette_index_past_the_palette_is_damage_not_a_crash():
    def packed(payload: bytes) -> str:
        return base64.urlsafe_b64encode(zlib.compress(payload)).decode().rstrip("=")

    one = np.array([1.5]).tobytes()
    # A 1-colour palette (byte 0 means 1 colour) and cells naming colour 0: fine.
    assert decode_grid("1x2." + packed(b"P\x00" + one + bytes([0, 0]))).tolist() == [[1.5, 1.5]]
    # Colour 1 does not exist.
    with pytest.raises(ShareLinkError, match=r"^the grid in the link is damaged"):
        decode_grid("1x2." + packed(b"P\x00" + one + bytes([0, 1])))
    # A raw grid of one cell.
    assert decode_grid("1x1." + packed(b"R" + np.array([-2.25]).tobytes())).tolist() == [[-2.25]]
    with pytest.raises(ShareLinkError, match=r"^the grid in the link is 1x2, outside the 3 to 64 rows and "
                                             r"columns the Playground's grids can have$"):
        decode_grid("1x2." + packed(b"P\x00" + one + bytes([0, 0])), min_side=3)
    with pytest.raises(ShareLinkError, match=r"beyond ±1,000,000, more than the Playground lets you paint or "
                                             r"type$"):
        decode_grid("1x1." + packed(b"R" + np.array([2e6]).tobytes()))
    with pytest.raises(ShareLinkError, match=r"perhaps the link was cut short when it was copied\)$"):
        decode_grid(5)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("a" * 40, "'" + "a" * 40 + "'"),  # up to 40 characters: whole
        ("a" * 41, "'" + "a" * 40 + "'..."),  # longer: cut at 40 with an ellipsis
        ((1,), "(1,)"),  # a one-element tuple keeps its comma
        ((1, 2), "(1, 2)"),
        ([1, 2], "[1, 2]"),
        ((1, 2, 3, 4), "(1, 2, 3, 4)"),
        ((1, 2, 3, 4, 5), "a tuple"),  # longer sequences are named, not listed
        ({}, "a dict"),
        (None, "None"),
        (2**64 - 1, "18446744073709551615"),  # 64 bits: every digit
        (2**64, "about 10^19"),  # beyond: its size
        (-(2**64), "-about 10^19"),
    ],
)
def test_describe_writes_values_for_messages(value, text):
    assert describe(value) == text


def test_grid_refusals_say_the_shape_and_the_reason():
    with pytest.raises(ValueError, match=r"^X is empty \(shape 0x3\)$"):
        as_grid(np.ones((0, 3)), "X")
    with pytest.raises(ValueError, match=r"^X must hold real numbers, got dtype <U1$"):
        as_grid(np.array([["a"]]), "X")
    expected = r"^X contains NaN or infinity \(first at row 1, column 0\): every cell needs a finite number$"
    with pytest.raises(ValueError, match=expected):
        as_grid(np.array([[1.0], [np.inf]]), "X")
    for dtype in (np.bool_, np.int8, np.uint16, np.float32):
        assert as_grid(np.ones((1, 1), dtype=dtype), "X").dtype == np.float64


def test_big_endian_and_integer_inputs_compute_like_native_floats():
    X = np.arange(9.0).reshape(3, 3)
    # By hand: 2x2 sums of [[0,1,2],[3,4,5],[6,7,8]] are 8, 12, 20, 24.
    for A in (X.astype(">f8"), X.astype(">f4"), X.astype(np.int64), X.astype(np.uint8)):
        np.testing.assert_array_equal(corr2d(A, np.ones((2, 2))), [[8.0, 12.0], [20.0, 24.0]])
