"""Colour numbers against published references: WCAG 2 contrast ratios and the scale's edge cases.

Mutation testing showed the contrast helpers were only checked through "text is readable", which a
wrong exponent or coefficient still passes; these pin them to values computed from the WCAG 2.1
definition by hand (relative luminance L = 0.2126 R + 0.7152 G + 0.0722 B of linearised sRGB).
"""

import numpy as np
import pytest

from convlab.colour import IMAGE, Scale, contrast_ratio, robust_signed_scale, signed_scale, text_colour


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [
        ((255, 255, 255), (0, 0, 0), 21.0),  # the maximum, by definition
        ((0, 0, 0), (255, 255, 255), 21.0),  # order does not matter
        ((255, 255, 255), (255, 255, 255), 1.0),
        # #777777 on white: the classic "just fails AA" gray, 4.48:1 (WebAIM's checker).
        ((119, 119, 119), (255, 255, 255), 4.4781),
        # #767676 on white: the lightest gray that passes AA, 4.54:1.
        ((118, 118, 118), (255, 255, 255), 4.5421),
        # Pure red, green, blue on black: 5.25, 15.3, 2.44 (L = 0.2126, 0.7152, 0.0722).
        ((255, 0, 0), (0, 0, 0), 5.252),
        ((0, 255, 0), (0, 0, 0), 15.304),
        ((0, 0, 255), (0, 0, 0), 2.444),
        # A dark channel value on the linear segment (c/255 <= 0.04045): 10/255/12.92 = 0.0030353.
        ((10, 10, 10), (0, 0, 0), 1.0607),
    ],
)
def test_contrast_ratio_matches_wcag(a, b, ratio):
    assert contrast_ratio(a, b) == pytest.approx(ratio, abs=6e-4)


def test_text_colour_picks_the_higher_contrast_and_black_on_a_tie():
    assert text_colour((255, 255, 255)) == (0, 0, 0)
    assert text_colour((0, 0, 0)) == (255, 255, 255)
    assert text_colour((5, 48, 97)) == (255, 255, 255)  # the darkest blue stop
    assert text_colour((247, 247, 247)) == (0, 0, 0)  # the neutral
    # Mid-gray #777777: black gives 4.69, white 4.48, so black.
    assert text_colour((119, 119, 119)) == (0, 0, 0)
    assert text_colour((117, 117, 117)) == (255, 255, 255)  # white 4.60, black 4.57


def test_an_image_scale_maps_numbers_not_integers():
    # Integer input is still placed on the 0..1 float range (0.5 of an int array is not truncated).
    assert IMAGE.position(np.array([0, 1])).tolist() == [0.0, 1.0]
    assert IMAGE.colours(np.array([[0.5]]))[0, 0].tolist() == [128, 128, 128]
    # ±1 on ±2 is halfway between stops 7 and 8 (and 2 and 3): (244+214)/2, (165+96)/2 rounded up, ...
    assert Scale("signed", -2.0, 2.0).colours(np.array([[1, -1]])).tolist() == [[[229, 131, 104],
                                                                                  [107, 172, 209]]]
    assert IMAGE.colours(np.array([[0.25]])).dtype == np.uint8


def test_not_a_number_sits_in_the_middle_of_the_scale_and_huge_values_clip_silently():
    with np.errstate(all="raise"):  # no warning escapes as an error either
        t = Scale("signed", -1.0, 1.0).position(np.array([np.nan, 1e308, -1e308, np.inf]))
    assert t.tolist() == [0.5, 1.0, 0.0, 1.0]


def test_a_photos_robust_range_falls_back_to_the_maximum_when_most_cells_are_zero():
    Z = np.zeros(1000)
    Z[0] = 3.0  # the 99.5th percentile of |Z| is 0, so the single non-zero value sets the range
    assert robust_signed_scale(Z).hi == 3.0
    assert robust_signed_scale(np.zeros((4, 4))).hi == 1.0  # all zeros: ±1
    assert robust_signed_scale(np.array([[np.nan]])).hi == 1.0  # nothing finite: ±1
    assert robust_signed_scale(np.array([-7, 1, 2], dtype=np.int64)).hi == 8.0  # ints, |-7| -> 8
    assert signed_scale(np.array([[-7, 1]], dtype=np.int8)).hi == 8.0


def test_a_range_past_1e300_is_capped_at_1e300():
    # nice_limit would round 1e305 to 1e305; the scale stops at 1e300 so that lo - hi stays finite.
    assert signed_scale(np.array([[1e305]])).hi == 1e300
    assert signed_scale(np.array([[-1e308, 1.0]])).lo == -1e300
    assert signed_scale(np.array([[3e299]])).hi == 3e299
