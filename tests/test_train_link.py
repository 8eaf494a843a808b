"""The Train page's link codec: settings are read back exactly, defaults leave no trace, mangled values are
refused one by one in words that never repeat them."""

import numpy as np
import pytest

from convlab.kernels import kernel_preset
from ui.train_link import (
    FIELDS,
    LEARNING_RATES,
    PAINTED,
    PARAMS,
    SPEEDS,
    RunMarker,
    decode,
    decode_run,
    encode,
    run_marker,
)

SETTINGS = {"tr.target": "kernel", "tr.true_preset": "sobel_x", "tr.out_rows": 3, "tr.out_cols": 1,
            "tr.noise": 0.15000000000000002, "tr.optimizer": "adam", "tr.loss": "mean", "tr.lr": 3e-4,
            "tr.seed": 2**31 - 1, "tr.init": "zeros", "tr.epochs": 100_000, "tr.target_loss": 1.25e-7,
            "tr.bias": True, "tr.speed": 1000, "tr.log": True, "tr.reveal": True}


def test_the_defaults_write_nothing():
    assert encode({}) == {}
    assert encode({f.key: f.default for f in FIELDS}) == {}
    assert encode({}, kernel=kernel_preset("edge")) == {}
    assert decode({}).values == {} and decode({}).problems == []


def test_every_setting_round_trips_and_slider_noise_is_written_short():
    params = encode(SETTINGS)
    assert set(params) == {f.param for f in FIELDS}
    assert params["noise"] == "0.15" and params["lr"] == "0.0003" and params["bias"] == "1"
    restored = decode(params)
    assert restored.problems == []
    assert restored.values == {**SETTINGS, "tr.noise": 0.15}
    assert type(restored.values["tr.epochs"]) is int and type(restored.values["tr.lr"]) is float


def test_a_few_settings_are_a_short_link():
    assert encode({"tr.optimizer": "adam", "tr.lr": 0.1, "tr.epochs": 500}) == {"opt": "adam", "lr": "0.1",
                                                                               "epochs": "500"}


@pytest.mark.parametrize("lr", LEARNING_RATES)
def test_every_learning_rate_of_the_slider_is_read_back_as_that_option(lr):
    assert decode(encode({"tr.lr": lr})).values.get("tr.lr", 3e-2) == lr
    assert decode({"lr": repr(lr * (1 + 1e-12))}).values["tr.lr"] == lr  # written elsewhere, a hair off


@pytest.mark.parametrize("speed", SPEEDS)
def test_every_speed_round_trips(speed):
    assert decode(encode({"tr.speed": speed})).values.get("tr.speed", 20) == speed


def test_the_input_preset_the_typed_kernel_and_a_painted_input():
    K = np.array([[0.5, -2 / 3], [1e-3, 4.0]])
    params = encode({}, image="checkerboard", kernel=K)
    assert params["input"] == "checkerboard"
    restored = decode(params)
    assert restored.image == "checkerboard" and np.array_equal(restored.kernel, K)
    assert encode({}, image=None) == {"input": PAINTED} and decode({"input": PAINTED}).image == PAINTED


def test_the_run_marker():
    assert run_marker(0, False) is None  # nothing trained, nothing to restart
    assert run_marker(0, True) == RunMarker(0, True)
    assert encode({}, run=run_marker(37, False)) == {"run": "37"}
    assert encode({}, run=run_marker(37, True)) == {"run": "37-playing"}
    assert decode({"run": "37-playing"}).run == RunMarker(37, True)
    assert decode_run("100000") == RunMarker(100_000)
    assert decode({"run": "0"}).run is None and decode({"run": "0-playing"}).run == RunMarker(0, True)
    for text in ("", "-1", "37-paused", "1e3", "100001", "37 ", "<b>7</b>"):
        with pytest.raises(ValueError, match=r"^it is not an epoch of a run$"):
            decode_run(text)
        assert decode({"run": text}).run is None and decode({"run": text}).problems == []


MANGLED = [
    ("target", "painted<script>", "The target choice", "it is not one of the page's targets",
     "a hidden preset kernel"),
    ("hidden", "sobel", "The hidden kernel", "it is not one of the preset kernels",
     "the lesson edge [1, −1]"),
    ("rows", "8", "The kernel rows", "it is not a whole number from 1 to 7", "1"),
    ("cols", "2.0", "The kernel columns", "it is not a whole number from 1 to 7", "2"),
    ("noise", "0.33", "The noise", "it is not a step of 0.05 from 0 to 1", "0"),
    ("noise", "1.05", "The noise", "it is not a step of 0.05 from 0 to 1", "0"),
    ("opt", "SGD", "The optimizer", "it is not one of the page's optimizers", "gradient descent"),
    ("loss", "l1", "The loss", "it is not one of the page's losses", "the sum of squares"),
    ("lr", "0.05", "The learning rate", "it is not one of the slider's learning rates", "0.03"),
    ("lr", "nan", "The learning rate", "it is not a finite number", "0.03"),
    ("seed", "-1", "The seed", "it is not a whole number from 0 to 2,147,483,647", "0"),
    ("seed", "2147483648", "The seed", "it is not a whole number from 0 to 2,147,483,647", "0"),
    ("init", "ones", "The initial weights", "it is not one of the page's initial weights", "uniform"),
    ("epochs", "0", "The number of epochs", "it is not a whole number from 1 to 100,000", "10"),
    ("epochs", "9" * 5000, "The number of epochs", "it is longer than 400 characters", "10"),
    ("stop", "-0.5", "The loss to stop at", "it is negative", "0"),
    ("stop", "inf", "The loss to stop at", "it is not a finite number", "0"),
    ("stop", "[x](javascript:alert(1))", "The loss to stop at", "it is not a number", "0"),
    ("bias", "true", "The bias switch", "it is 1 (on) or 0 (off)", "off"),
    ("speed", "50", "The speed", "it is not one of the slider's speeds", "20"),
    ("log", "yes", "The log-scale switch", "it is 1 (on) or 0 (off)", "off"),
    ("reveal", "", "The reveal switch", "it is 1 (on) or 0 (off)", "off"),
    ("input", "cat.png", "The input", "it is not one of the image presets", "the lesson stripes"),
    ("kernel", "2x2.!!", "The typed kernel", "it is damaged, or not a grid of up to 7×7 numbers",
     "the lesson's [1, −1]"),
    ("kernel", "9x9.eJxjYAAAAAQAAQ", "The typed kernel", "it is damaged, or not a grid of up to 7×7 numbers",
     "the lesson's [1, −1]"),
]


@pytest.mark.parametrize(("param", "text", "name", "reason", "default"), MANGLED)
def test_a_mangled_value_is_refused_alone_and_never_repeated(param, text, name, reason, default):
    other, key, value = ("seed", "tr.seed", 7) if param != "seed" else ("epochs", "tr.epochs", 500)
    restored = decode({param: text, other: str(value), "done": "lesson.1"})
    assert restored.problems == [f"{name} in this link could not be read ({reason}), so it is {default}"]
    assert restored.values == {key: value}  # the other settings are restored
    assert restored.image is None and restored.kernel is None
    if len(text) > 3:
        assert text not in restored.problems[0]


def test_other_pages_parameters_are_not_the_train_pages():
    assert not PARAMS & {"done", "teacher", "x", "k", "mode", "p", "s", "d", "b", "cell"}
    assert decode({"x": "3x3.abc", "done": "lesson.1", "teacher": "1"}).problems == []
