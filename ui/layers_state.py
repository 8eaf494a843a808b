"""The Layers page's state: its four views' grids and settings, and the share link that holds them all.

Grids are plain session values (`ly.<view>.<name>`) that code replaces with a revision bump (as on the
Playground); settings are widgets kept for the session. The share link is one query parameter, `ly`:
every view's grids and settings as compact JSON, zlib-compressed and base64url-encoded, read back
field by field against the same bounds the widgets have, so a mangled link is refused with a reason
and the page starts from its examples instead.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass

import numpy as np
import streamlit as st

from convlab.images import image_preset, load_image_rgb
from convlab.kernels import kernel_preset
from ui.share import escape_markdown

PARAM = "ly"
MAX_LINK_CHARS = 16_000  # beyond this some browsers and chat apps cut links; the page says so instead
LIMIT = 1e6  # the largest magnitude of a cell, as on the grid component
NOTE = "ly.note"  # a note for the top of the page (a link that could not be read)
CH_NOTE = "ly.ch.note"  # a note for the channels view (a picture that could not be read)
TABS = {
    "channels": "Colour channels",
    "layers": "Two layers",
    "matrix": "As a matrix",
    "transposed": "Transposed convolution",
}
POOLS = {"none": "None", "max": "2×2 max", "avg": "2×2 average"}


class LinkError(ValueError):
    """A share link that cannot be read; the message says why in plain words."""


@dataclass(frozen=True)
class Bounds:
    """How many dimensions an array has and the range of each side."""

    ndim: int
    sides: tuple[tuple[int, int], ...]  # (low, high) per dimension


# Every grid of the page: (session key, bounds). Settings: (session key, low, high).
ARRAYS = {
    "ch.X": Bounds(3, ((1, 3), (2, 32), (2, 32))),
    "ch.K": Bounds(4, ((1, 4), (1, 3), (1, 5), (1, 5))),
    "ch.b": Bounds(1, ((1, 4),)),
    "st.X": Bounds(2, ((3, 16), (3, 16))),
    "st.K1": Bounds(2, ((1, 5), (1, 5))),
    "st.K2": Bounds(2, ((1, 5), (1, 5))),
    "mx.X": Bounds(2, ((2, 8), (2, 8))),
    "mx.K": Bounds(2, ((1, 4), (1, 4))),
    "tr.X": Bounds(2, ((1, 6), (1, 6))),
    "tr.K": Bounds(2, ((1, 4), (1, 4))),
}
SETTINGS = {
    "ch.pad": (0, 2),
    "ch.stride": (1, 3),
    "ch.dil": (1, 3),
    "st.p1": (0, 2),
    "st.p2": (0, 2),
    "st.relu": (0, 1),
    "mx.pad": (0, 2),
    "mx.stride": (1, 3),
    "mx.dil": (1, 2),
    "tr.stride": (1, 3),
    "tr.pad": (0, 2),
}
CELLS = {"ch.cell": 3, "st.cell": 2, "mx.cell": 2, "tr.cell": 2}  # picked cells: (o, i, j) or (i, j)
VIEWS = ("ch", "st", "mx", "tr")


def colour_scene(shape: tuple[int, int] = (12, 12)) -> np.ndarray:
    """A small colour picture (3, H, W): a red square, a green disc and a blue gradient, overlapping."""
    square, disc, ramp = (image_preset(k, shape) for k in ("square", "circle", "gradient"))
    scene = np.stack([np.maximum(square, 0.3 * ramp), np.maximum(disc, 0.3 * ramp), ramp])
    return np.round(scene * 255) / 255  # whole 255ths, as a picture's pixels: a short share link


def examples() -> dict:
    """The page's starting state: every view's example grids and settings."""
    luma = np.array([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1)
    return {
        "tab": "channels",
        "ch.X": colour_scene(),
        "ch.K": luma,
        "ch.b": np.zeros(1),
        "ch.pad": 0,
        "ch.stride": 1,
        "ch.dil": 1,
        "ch.cell": (0, 4, 4),
        "st.X": image_preset("circle", (10, 10)),
        "st.K1": kernel_preset("sobel_x"),
        "st.K2": kernel_preset("box_blur"),
        "st.p1": 0,
        "st.p2": 0,
        "st.relu": 1,
        "st.pool": "none",
        "st.cell": (2, 1),
        "mx.X": image_preset("stripes"),
        "mx.K": kernel_preset("edge"),
        "mx.pad": 0,
        "mx.stride": 1,
        "mx.dil": 1,
        "mx.cell": (0, 1),
        "tr.X": np.array([[0.0, 1.0], [2.0, 3.0]]),
        "tr.K": np.array([[0.0, 1.0], [2.0, 3.0]]),
        "tr.stride": 1,
        "tr.pad": 0,
        "tr.cell": (1, 1),
    }


# ------------------------------------------------------------------------------------------ the link


def _array_json(A: np.ndarray) -> dict:
    """An array as {"s": shape, "v": values}; values that are all whole 255ths (pictures) as integers."""
    flat = np.asarray(A, dtype=np.float64).ravel()
    steps = flat * 255
    if np.allclose(steps, np.round(steps), rtol=0, atol=1e-9):
        return {"s": list(A.shape), "q": 255, "v": [int(v) for v in np.round(steps)]}
    return {"s": list(A.shape), "v": flat.tolist()}  # shortest exact reprs: the numbers come back exactly


def encode_link(state: dict) -> str:
    """The whole page state -> the value of the `ly` query parameter (base64url of zlib'd JSON)."""
    data = {key: _array_json(value) if key in ARRAYS else value for key, value in state.items()}
    data["v"] = 1
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _read_array(key: str, raw: object) -> np.ndarray:
    bounds = ARRAYS[key]
    name = key.split(".")[1]
    if not isinstance(raw, dict) or not isinstance(raw.get("s"), list) or not isinstance(raw.get("v"), list):
        raise LinkError(f"its grid {name} is not a grid")
    shape = raw["s"]
    if len(shape) != bounds.ndim or not all(
        _whole(n) and lo <= n <= hi for n, (lo, hi) in zip(shape, bounds.sides, strict=True)
    ):
        raise LinkError(f"its grid {name} has an impossible size {shape}")
    values = raw["v"]
    if len(values) != int(np.prod(shape)) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    ):
        raise LinkError(f"its grid {name} does not hold {int(np.prod(shape))} numbers")
    A = np.array(values, dtype=np.float64).reshape(shape)
    if raw.get("q") is not None:
        if raw["q"] != 255:
            raise LinkError(f"its grid {name} has an unknown scale")
        A = A / 255
    if not np.isfinite(A).all() or np.abs(A).max() > LIMIT:
        raise LinkError(f"its grid {name} holds a number beyond ±{LIMIT:g}")
    return A


def decode_link(text: str) -> dict:
    """The `ly` query parameter -> a page state (only the fields it holds), checked against the bounds.

    Raises:
        LinkError: the text is not a link of this page, or a field is missing its shape or bounds.
    """
    if len(text) > 4 * MAX_LINK_CHARS:
        raise LinkError("it is far too long")
    try:
        raw = zlib.decompressobj().decompress(
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), 1 << 20
        )
        data = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError, UnicodeDecodeError):
        raise LinkError("it is not a link of this page, or it was cut short") from None
    if not isinstance(data, dict) or data.get("v") != 1:
        raise LinkError("it is not a link of this page")
    state: dict = {}
    for key, value in data.items():
        if key in ARRAYS:
            state[key] = _read_array(key, value)
        elif key in SETTINGS:
            low, high = SETTINGS[key]
            if not (_whole(value) and low <= value <= high):
                raise LinkError(f"its setting {key.split('.')[1]} is not a whole number from {low} to {high}")
            state[key] = value
        elif key in CELLS:
            if not (
                isinstance(value, list)
                and len(value) == CELLS[key]
                and all(_whole(v) and 0 <= v < 64 for v in value)
            ):
                raise LinkError("its picked cell is not a cell")
            state[key] = tuple(value)
        elif key == "st.pool":
            if value not in POOLS:
                raise LinkError("its pooling is none of none, max or avg")
            state[key] = value
        elif key == "tab":
            if value not in TABS:
                raise LinkError("it names no view of this page")
            state[key] = value
    X, K, b = (state.get(k) for k in ("ch.X", "ch.K", "ch.b"))
    if X is not None and K is not None and K.shape[1] != X.shape[0]:
        raise LinkError(f"its kernel reads {K.shape[1]} channel(s) but its input has {X.shape[0]}")
    if K is not None and K.shape[2] != K.shape[3]:
        raise LinkError("its channel kernel is not square")
    if K is not None and b is not None and b.shape[0] != K.shape[0]:
        raise LinkError(f"it has {b.shape[0]} bias(es) for {K.shape[0]} output channel(s)")
    return state


# ------------------------------------------------------------------------------------- session state


def _key(name: str) -> str:
    return f"ly.{name}"


def revision(view: str) -> int:
    """The revision of a view's grids: bumped whenever code replaces one of them."""
    return int(st.session_state.get(_key(f"{view}.rev"), 0))


def get(name: str):
    """The session value of a field of the page state (e.g. "ch.X", "st.pool")."""
    return st.session_state[_key(name)]


def put(name: str, value, *, replace: bool = False) -> None:
    """Set a field; `replace`: code replaced a grid, which the browser must show (a revision bump)."""
    st.session_state[_key(name)] = np.array(value, dtype=np.float64) if name in ARRAYS else value
    if replace:
        view = name.split(".")[0]
        st.session_state[_key(f"{view}.rev")] = revision(view) + 1


def load(state: dict) -> None:
    """Put a (partial) page state into this session: grids replaced, settings set before their widgets."""
    for name, value in state.items():
        if name == "tab":
            st.session_state[_key("tab")] = TABS[value]
        elif name in ARRAYS:
            put(name, value, replace=True)
        elif name == "st.relu":
            st.session_state[_key(name)] = bool(value)  # a toggle's value
        else:
            st.session_state[_key(name)] = value


def ensure() -> None:
    """Start this session's page once: the examples, overlaid with the share link in the URL if any."""
    if _key("ready") in st.session_state:
        return
    st.session_state[_key("ready")] = True
    load(examples())
    text = st.query_params.get(PARAM)
    if text:
        try:
            load(decode_link(text))
        except LinkError as exc:
            st.session_state[NOTE] = f"This share link could not be read ({exc}), so the examples are shown."


def current() -> dict:
    """The whole page state as the link holds it."""
    ss = st.session_state
    state = {name: ss[_key(name)] for name in [*ARRAYS, *SETTINGS, *CELLS, "st.pool"]}
    state["st.relu"] = int(bool(state["st.relu"]))
    state["tab"] = next((k for k, label in TABS.items() if label == ss.get(_key("tab"))), "channels")
    return state


def link() -> str | None:
    """The query string of the share link, or None when it would be too long to share."""
    text = encode_link(current())
    return None if len(text) > MAX_LINK_CHARS else f"{PARAM}={text}"


def set_channels(
    X: np.ndarray | None = None, K: np.ndarray | None = None, b: np.ndarray | None = None
) -> None:
    """Replace the channels view's grids from code ((C, H, W), (O, C, k, k), (O,)), and its shape widgets."""
    for name, value in (("ch.X", X), ("ch.K", K), ("ch.b", b)):
        if value is not None:
            put(name, value, replace=True)
    X, K = get("ch.X"), get("ch.K")
    ss = st.session_state
    ss["ly.ch.cin"], ss["ly.ch.cout"], ss["ly.ch.ksize"] = X.shape[0], K.shape[0], K.shape[2]
    ss["ly.ch.side"] = X.shape[1]


def load_colour(data: bytes, name: str) -> None:
    """A picture's bytes -> the channels view's input as three colour channels at the input size.

    The kernel keeps its slices for the channels it had (new ones start at 0). A picture that cannot be
    read leaves every grid as it was and a note (`CH_NOTE`) naming the file.
    """
    side = int(st.session_state.get("ly.ch.side", get("ch.X").shape[1]))
    try:
        X = load_image_rgb(data, (side, side))
    except ValueError as exc:
        st.session_state[CH_NOTE] = f"{escape_markdown(name)}: {exc}. Your grids are unchanged."
        return
    X = np.round(X * 255) / 255  # whole 255ths, as the picture's pixels were: short share links
    K, b = get("ch.K"), get("ch.b")
    K3 = np.zeros((K.shape[0], 3, *K.shape[2:]))
    K3[:, : min(3, K.shape[1])] = K[:, :3]
    set_channels(X, K3, b)
