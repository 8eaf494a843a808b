"""Fuzzing every public core function and the share-link decoder: each call gives the right answer
(checked against F.conv2d where it applies) or a ValueError/TypeError a learner can read, within
hypothesis's deadline. Python's and torch's own messages are the failures this looks for."""

import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import convlab
from convlab import (
    Conv2D,
    TrainConfig,
    conv2d,
    corr2d,
    explain_cell,
    image_preset,
    kernel_from_json,
    loss_landscape,
    make_target,
    output_shape,
    resize_grid,
    to_rgb,
    transform,
)
from ui.share import ShareLinkError, decode_state, encode_grid

FUZZ = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])

# Fragments of messages from Python, numpy and torch themselves: a learner should never see them.
INTERNALS = re.compile(
    r"unpack|not subscriptable|has no len|object of type|unsupported operand|ufunc|Maximum allowed dimension|"
    r"expected non-negative|Exceeds the limit|int too large|index out of range|Traceback|"
    r"got an unexpected keyword|"
    r"must be real number, not|argument must be|can't convert|could not broadcast|RuntimeError"
)

weird_ints = st.one_of(
    st.integers(-3, 10), st.sampled_from([10**4, 10**5, 2**31, 2**62, 2**63, 10**30, -(10**30)])
)
weird_scalars = st.one_of(
    weird_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([None, "1", "", True, (), (1,), (1, 2, 3), [2, 2], (1, None), (0, 10**30)]),
)
setting = st.one_of(weird_ints, st.tuples(weird_ints, weird_ints), weird_scalars)
values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
odd_values = st.one_of(values, st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0]))


def grids(elements=values, max_side=9, dtypes=(np.float64, np.float32, np.int64, np.bool_)):
    return st.sampled_from(dtypes).flatmap(
        lambda dtype: arrays(
            dtype,
            st.tuples(st.integers(0, max_side), st.integers(0, max_side)),
            elements=st.booleans() if dtype == np.bool_ else (
                st.integers(-100, 100) if dtype == np.int64 else elements.filter(
                    lambda v: dtype != np.float32 or not math.isfinite(v) or abs(v) < 3e38
                )
            ),
        )
    )


def _refusal_in_words(exc: Exception) -> None:
    assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    message = str(exc)
    assert message and len(message) < 400, message
    assert not INTERNALS.search(message), message


def _call(fn, *args, **kwargs):
    """fn(...) -> its result, or None after checking its refusal; warnings count as failures."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return fn(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            _refusal_in_words(exc)
            return None


@FUZZ
@given(
    X=grids(odd_values), K=grids(odd_values, max_side=4), padding=setting, stride=setting,
    dilation=setting, flip=st.booleans(), as_tensor=st.booleans(),
)
def test_corr2d_and_conv2d_are_right_or_refuse_in_words(X, K, padding, stride, dilation, flip, as_tensor):
    fn = conv2d if flip else corr2d
    Xin = torch.from_numpy(X.copy()) if as_tensor and X.dtype != np.bool_ else X
    Y = _call(fn, Xin, K, padding=padding, stride=stride, dilation=dilation)
    if Y is None:
        return
    Y = np.asarray(Y.detach() if isinstance(Y, torch.Tensor) else Y, dtype=np.float64)
    p, s, d = (tuple(v) if isinstance(v, (tuple, list)) else (v, v) for v in (padding, stride, dilation))
    Kt = torch.tensor(K.astype(np.float64))
    if flip:
        Kt = Kt.flip((0, 1))
    Xp = F.pad(torch.tensor(X.astype(np.float64)), (p[1], p[1], p[0], p[0]))
    H, W = Xp.shape
    expected = F.conv2d(Xp[None, None], Kt[None, None], stride=(min(s[0], H), min(s[1], W)),
                        dilation=tuple(dv if k > 1 else 1 for dv, k in zip(d, K.shape, strict=True)))[0, 0]
    assert Y.shape == tuple(expected.shape)
    np.testing.assert_allclose(Y, expected.numpy(), rtol=1e-4, atol=1e-3 * max(1.0, float(np.abs(X).max())))


@FUZZ
@given(input_shape=st.one_of(st.tuples(weird_ints, weird_ints), weird_scalars),
       kernel_shape=st.one_of(st.tuples(weird_ints, weird_ints), weird_scalars),
       padding=setting, stride=setting, dilation=setting)
def test_output_shape_is_the_formula_or_a_refusal(input_shape, kernel_shape, padding, stride, dilation):
    shape = _call(output_shape, input_shape, kernel_shape, padding=padding, stride=stride, dilation=dilation)
    if shape is None:
        return
    (H, W), (h, w) = input_shape, kernel_shape
    p, s, d = (tuple(v) if isinstance(v, (tuple, list)) else (v, v) for v in (padding, stride, dilation))
    rows = (H + 2 * p[0] - d[0] * (h - 1) - 1) // s[0] + 1
    assert shape == (rows, (W + 2 * p[1] - d[1] * (w - 1) - 1) // s[1] + 1)


@FUZZ
@given(X=grids(odd_values, max_side=6), K=grids(odd_values, max_side=3), i=weird_ints, j=weird_ints,
       padding=setting, stride=setting, bias=st.one_of(odd_values, weird_scalars))
def test_explain_cell_matches_corr2d_or_refuses(X, K, i, j, padding, stride, bias):
    e = _call(explain_cell, X, K, i, j, padding=padding, stride=stride, bias=bias)
    if e is None:
        return
    Y = corr2d(X.astype(np.float64), K.astype(np.float64), padding=padding, stride=stride)
    assert math.isfinite(e.value)
    assert e.value == pytest.approx(float(Y[i, j]) + float(bias), rel=1e-9, abs=1e-9 * (1 + abs(e.value)))


@FUZZ
@given(
    key=st.sampled_from([*convlab.IMAGES, "zebra"]),
    shape=st.one_of(st.none(), st.tuples(weird_ints, weird_ints), weird_scalars),
    seed=st.one_of(weird_ints, weird_scalars),
)
def test_image_presets_are_finite_grids_or_refuse(key, shape, seed):
    X = _call(image_preset, key, shape, seed=seed)
    if X is not None:
        assert X.ndim == 2 and np.isfinite(X).all()
        if shape is not None:
            assert X.shape == tuple(shape)


@FUZZ
@given(Z=grids(odd_values), diverging=st.booleans(), vmax=st.one_of(st.none(), odd_values, weird_scalars))
def test_to_rgb_colours_or_refuses(Z, diverging, vmax):
    rgb = _call(to_rgb, Z, diverging=diverging, vmax=vmax)
    if rgb is not None:
        assert rgb.shape == (*Z.shape, 3) and rgb.dtype == np.uint8


@FUZZ
@given(X=grids(odd_values), op=st.sampled_from(["transpose", "rotate", "invert", "clear", "spin"]),
       shape=st.one_of(st.tuples(weird_ints, weird_ints), weird_scalars))
def test_edits_keep_values_or_refuse(X, op, shape):
    Y = _call(transform, X, op)
    if Y is not None and op == "transpose":
        np.testing.assert_array_equal(Y, X.T.astype(np.float64))
    R = _call(resize_grid, X, shape)
    if R is not None:
        h, w = min(R.shape[0], X.shape[0]), min(R.shape[1], X.shape[1])
        np.testing.assert_array_equal(R[:h, :w], X[:h, :w].astype(np.float64))


@FUZZ
@given(kernel_size=st.one_of(st.tuples(weird_ints, weird_ints), weird_scalars))
def test_conv2d_layer_builds_or_refuses(kernel_size):
    layer = _call(Conv2D, kernel_size)
    if layer is not None:
        assert layer.weight.numel() <= 2**20


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    X=grids(odd_values, max_side=6, dtypes=(np.float64,)),
    K=grids(odd_values, max_side=3, dtypes=(np.float64,)),
    bias=odd_values, noise=odd_values, seed=weird_ints,
    span=st.one_of(st.none(), odd_values), center=st.tuples(odd_values, odd_values),
)
def test_targets_and_landscapes_are_finite_or_refuse(X, K, bias, noise, seed, span, center):
    Y = _call(make_target, X, K, bias=bias, noise=noise, seed=seed)
    if Y is None:
        return
    assert np.isfinite(Y).all()
    if K.shape in ((1, 2), (2, 1)):
        landscape = _call(loss_landscape, X, Y, span=span, center=center, n=5)
        if landscape is not None:
            assert np.isfinite(landscape.loss).all() and (landscape.loss >= 0).all()
    trainer = _call(convlab.KernelTrainer, X, Y, TrainConfig(kernel_shape=K.shape, init="zeros")
                    if min(K.shape) >= 1 and max(K.shape) <= 7 else TrainConfig())
    if trainer is not None:
        try:
            step = trainer.step()
        except convlab.TrainingDiverged as exc:
            assert "learning rate" in str(exc)
        else:
            assert math.isfinite(step.loss)


@FUZZ
@given(text=st.one_of(st.text(max_size=60), st.binary(max_size=40).map(lambda b: b.decode("latin-1"))))
def test_kernel_json_reads_or_refuses(text):
    K = _call(kernel_from_json, text)
    if K is not None:
        assert K.ndim == 2 and np.isfinite(K).all()


# ----------------------------------------------------------------------------------------- links

link_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["0", "1,2", "8", "9", "-1", "1,2,3", "nan", "inf", "1e999", "9" * 5000, "0x10", "1_0", " 1"]
    ),
)


def _grid_text(draw_shape, draw_values):
    return st.builds(lambda A: encode_grid(A), arrays(np.float64, draw_shape, elements=draw_values))


@settings(max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=st.one_of(link_text, _grid_text(st.tuples(st.integers(1, 66), st.integers(1, 66)), odd_values)),
    k=st.one_of(link_text, _grid_text(st.tuples(st.integers(1, 8), st.integers(1, 8)), values)),
    extra=st.dictionaries(st.sampled_from(["mode", "p", "s", "d", "b", "cell"]), link_text, max_size=4),
    mangle=st.integers(0, 3),
)
def test_any_link_restores_a_showable_state_or_refuses_in_words(x, k, extra, mangle):
    if mangle == 1 and "." in x:
        x = x[: len(x) * 2 // 3]
    elif mangle == 2 and "." in x:
        x = x.replace(".", ".A", 1)
    try:
        state = decode_state({"x": x, "k": k, **extra})
    except ShareLinkError as exc:
        message = str(exc)
        assert not INTERNALS.search(message), message
        assert len(message) < 250
        for value in (x, k, *extra.values()):
            # Only numbers the decoder itself parsed ("is 2x2", "cell 6,0") may appear; shorter
            # values could match the message's own words ("inf" in "infinity").
            safe = re.fullmatch(r"[0-9]{1,4}(x[0-9]{1,4}|,[0-9]{1,3})?", value) is not None
            assert len(value) < 6 or value not in message or safe, message
        return
    assert min(state.X.shape) >= 3 and max(state.X.shape) <= 64
    assert min(state.K.shape) >= 1 and max(state.K.shape) <= 7
    assert np.isfinite(state.X).all() and np.abs(state.X).max() <= 1e6
    assert math.isfinite(state.bias)
    for pair, low in ((state.padding, 0), (state.stride, 1), (state.dilation, 1)):
        assert all(low <= v <= 8 for v in pair)
