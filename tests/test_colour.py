"""convlab.colour: one colour language, checked against its promises and the browser's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convlab.colour import (
    DIVERGING_STOPS,
    IMAGE,
    NEUTRAL,
    Scale,
    contrast_ratio,
    nice_limit,
    robust_signed_scale,
    signed_scale,
    text_colour,
)


def test_zero_is_the_neutral_colour_on_every_signed_scale():
    for grids in ([np.array([[1.0, -1.0]])], [np.array([[0.37]])], [np.array([[-4e-39, 2e-39]])],
                  [np.zeros((2, 2))], [np.array([[19.158]]), np.array([[-3.0]])]):
        scale = signed_scale(*grids)
        assert scale.lo == -scale.hi
        assert tuple(scale.colours(np.zeros((1, 1)))[0, 0]) == NEUTRAL == (247, 247, 247)


def test_signed_ends_are_blue_and_red_and_beyond_them_clipped():
    scale = signed_scale(np.array([[2.0]]))
    c = scale.colours(np.array([[-2.0, 2.0, -50.0, 50.0]]))[0]
    assert tuple(c[0]) == DIVERGING_STOPS[0] == tuple(c[2])  # darkest blue
    assert tuple(c[1]) == DIVERGING_STOPS[-1] == tuple(c[3])  # darkest red


def test_images_are_grayscale_on_a_fixed_zero_to_one_range():
    c = IMAGE.colours(np.array([[0.0, 1.0, 0.5, -3.0, 7.0]]))[0]
    assert c[0].tolist() == [0, 0, 0] and c[1].tolist() == [255, 255, 255]
    assert c[2].tolist() == [128, 128, 128]  # 127.5 rounds half up, as the browser does
    assert c[3].tolist() == [0, 0, 0] and c[4].tolist() == [255, 255, 255]  # clipped (the grid marks them)


def test_compared_grids_share_one_range():
    learned, true = np.array([[0.37, -0.2]]), np.array([[1.0, -1.0]])
    shared = signed_scale(learned, true)
    assert shared == signed_scale(true, learned) and shared.hi == 1.0
    # 0.37 is not the colour of 1 any more.
    assert tuple(shared.colours(learned)[0, 0]) != tuple(shared.colours(true)[0, 0])


def test_the_colours_interpolate_linearly_between_the_stops_like_the_browser():
    scale = Scale("signed", -1.0, 1.0)
    # Halfway between stop 5 (neutral) and stop 6: the mean of the two, rounded half up.
    t = 0.5 + 0.5 / 10
    v = t * 2 - 1
    pairs = zip(DIVERGING_STOPS[5], DIVERGING_STOPS[6], strict=True)
    expected = [int(np.floor((a + b) / 2 + 0.5)) for a, b in pairs]
    assert scale.colours(np.array([[v]]))[0, 0].tolist() == expected


@pytest.mark.parametrize(("m", "limit"), [(0, 1), (1, 1), (0.37, 0.4), (19.158, 20), (2.2, 2.5), (7, 8),
                                          (9.5, 10), (1e-39, 1e-39), (0.878431, 1)])
def test_nice_limit_rounds_up_to_a_round_number(m, limit):
    assert nice_limit(m) == pytest.approx(limit) and nice_limit(m) >= m


@given(st.floats(min_value=0, max_value=1e300, allow_nan=False))
def test_nice_limit_is_never_below_its_input(m):
    assert nice_limit(m) >= m


def test_scales_refuse_what_would_break_the_promise():
    with pytest.raises(ValueError, match="symmetric"):
        Scale("signed", -1.0, 2.0)
    with pytest.raises(ValueError, match="lo < hi"):
        Scale("image", 1.0, 1.0)
    with pytest.raises(ValueError, match="'image' or 'signed'"):
        Scale("viridis", 0.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        nice_limit(float("inf"))


def test_non_finite_cells_do_not_set_the_range():
    assert signed_scale(np.array([[np.nan, np.inf, 2.0]])).hi == 2.0


def test_a_photos_range_ignores_a_few_extreme_edges():
    Z = np.full((100, 100), 0.1)
    Z[0, 0] = 50.0  # one extreme response
    scale = robust_signed_scale(Z)
    assert scale.hi == pytest.approx(0.1) and signed_scale(Z).hi == 50


def test_cell_text_is_readable_on_every_colour_of_both_scales():
    for scale in (IMAGE, signed_scale(np.array([[1.0]]))):
        for v in np.linspace(scale.lo, scale.hi, 201):
            background = tuple(int(c) for c in scale.colours(np.array([[v]]))[0, 0])
            assert contrast_ratio(background, text_colour(background)) >= 4.5, (v, background)


def test_legends_say_what_the_colours_mean():
    assert IMAGE.legend() == "black 0 · white 1"
    assert signed_scale(np.array([[2.2]])).legend() == "blue −2.5 · white 0 · red +2.5"
    assert IMAGE.to_data() == {"kind": "image", "lo": 0.0, "hi": 1.0, "stops": [[0, 0, 0], [255, 255, 255]]}
