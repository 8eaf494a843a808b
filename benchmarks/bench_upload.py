"""Memory of opening uploaded pictures: one decode, and five users uploading at once.

Usage: python benchmarks/bench_upload.py [--users 5] [--only single|users] [--json PATH]

Pillow allocates pixels with C malloc, which tracemalloc never sees, so every number here is the
process's resident memory read from /proc (Linux): VmRSS now, VmHWM the peak, reset before each
measurement by writing 5 to /proc/self/clear_refs.

single: each picture is opened in a fresh subprocess (so nothing earlier is still mapped):
    peak RSS growth while `load_image` runs / the bytes of the image Pillow must decode (width x
    height x Pillow's bytes per pixel of the mode it produces). Target: <= 1.2 for the largest
    picture accepted.
users: a subprocess that imports what the app's server imports (streamlit, torch, convlab), then
    starts `--users` threads that each call `load_image` on the worst picture accepted at the same
    moment, as Streamlit runs each session's script in a thread of one server process. Each
    thread's answer is checked against the same picture opened alone. Targets: peak RSS <= 600 MB,
    <= 400 MB once they are done. A real server adds its idle size (~350 MB with one session,
    benchmarks/README.md) where this process has its imports (printed): the projection is printed.

To measure the code before a change, point PYTHONPATH at an export of it, e.g.
`git archive <commit> convlab | tar -x -C /tmp/before && PYTHONPATH=/tmp/before python ...`.
Exits 0 whatever the numbers.
"""

from __future__ import annotations

import argparse
import ctypes
import io
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_IDLE_MB = 350.0  # bench_app.py's measured server RSS with one session


# ------------------------------------------------------------------------------- pictures


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int, color_type: int = 6, bit_depth: int = 8) -> bytes:
    """A valid PNG of all-zero pixels: a few hundred KB at most that decode to width x height."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    row = bytes(1 + width * channels * bit_depth // 8)  # filter byte 0, then zeros
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def encoded(fmt: str, mode: str, width: int, height: int, **params) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, (width, height), 0 if mode in ("L", "I;16", "F") else (90,) * len(mode)).save(
        buffer, format=fmt, **params
    )
    return buffer.getvalue()


def worst_pictures() -> dict[str, Callable[[], bytes]]:
    """name -> its file bytes' maker: the largest picture of each kind the budget accepts, worst first.

    Made on demand: making a picture frees memory that glibc keeps, and a decode reusing it would
    look free in the RSS.
    """
    from convlab import images

    budget = getattr(images, "MAX_DECODE_BYTES", None)
    if budget is None:  # before the budget: anything under MAX_PIXELS was decoded
        side = int(images.MAX_PIXELS**0.5)
        return {f"PNG RGBA {side}x{side} (150 KB)": partial(png_bomb, side, side)}
    rgba = int((budget // 4) ** 0.5)
    gray = int(min(budget, images.MAX_PIXELS) ** 0.5)
    gray16 = int(min(budget // 2, images.MAX_PIXELS) ** 0.5)
    webp, tiff = int((budget // 16) ** 0.5), int((budget // 8) ** 0.5)
    return {
        f"PNG RGBA {rgba}x{rgba}": partial(png_bomb, rgba, rgba),
        f"PNG L {gray}x{gray}": partial(png_bomb, gray, gray, 0),
        f"PNG 16-bit L {gray16}x{gray16}": partial(png_bomb, gray16, gray16, 0, 16),
        "JPEG RGB 7300x5475 (40 MP, drafted)": partial(encoded, "JPEG", "RGB", 7300, 5475),
        "JPEG RGB 4000x3000 progressive": partial(encoded, "JPEG", "RGB", 4000, 3000, progressive=True),
        f"WebP RGB {webp}x{webp}": partial(encoded, "WEBP", "RGB", webp, webp),
        f"TIFF RGBA {tiff}x{tiff}": partial(encoded, "TIFF", "RGBA", tiff, tiff),
        f"TIFF RGBA {tiff}x{tiff} one deflated strip": partial(
            encoded, "TIFF", "RGBA", tiff, tiff, compression="tiff_adobe_deflate", strip_size=2**30
        ),
    }


# ------------------------------------------------------------------------------- measuring


def _status(field: str) -> float:
    """A /proc/self/status memory field in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


class PeakRSS:
    """The peak resident memory in MB while the block runs, sampled every 0.2 ms.

    VmHWM alone misses peaks: Linux updates it when memory is unmapped, not when glibc returns
    freed memory with madvise (as malloc_trim does), so a thread samples the current RSS as well.
    """

    def __enter__(self) -> PeakRSS:
        Path("/proc/self/clear_refs").write_text("5")  # restarts VmHWM from the current RSS
        self.peak = _status("VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        with open("/proc/self/statm") as statm:
            while not self._stop.is_set():
                statm.seek(0)
                self.peak = max(self.peak, int(statm.read().split()[1]) * page_mb)
                time.sleep(0.0002)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _status("VmHWM"))


def decoded_bytes(data: bytes, shape: tuple[int, int] | None) -> int:
    """Bytes of the image Pillow produces for load_image(data, shape): drafted as it drafts JPEG."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        side = max(shape) if shape else min(max(img.size), 1024)
        img.draft("L", (side, side))
        per_pixel = 2 if img.mode.startswith("I;16") else 1 if img.mode in ("1", "L", "P") else 4
        return img.size[0] * img.size[1] * per_pixel


def _trim() -> None:
    """Hand freed heap memory back to the system, so a decode cannot reuse what making its input freed."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def _child_single(name: str, shape: tuple[int, int] | None) -> dict:
    from convlab.images import load_image

    data = worst_pictures()[name]()
    decoded = decoded_bytes(data, shape)
    _trim()
    time.sleep(0.05)
    before = _status("VmRSS")
    with PeakRSS() as rss:
        start = time.perf_counter()
        try:
            X = load_image(data, shape)
            outcome = f"{X.shape[0]}x{X.shape[1]}"
        except ValueError as exc:
            outcome = f"refused: {exc}"
        seconds = time.perf_counter() - start
    growth = rss.peak - before
    return {"picture": name, "shape": shape, "seconds": seconds, "peak_growth_mb": growth,
            "decoded_mb": decoded / 2**20, "ratio": growth / (decoded / 2**20), "outcome": outcome}


def _child_users(users: int) -> dict:
    import streamlit  # noqa: F401  (the server's imports, so the base size is comparable)
    import torch  # noqa: F401

    import convlab  # noqa: F401
    from convlab.images import load_image

    name, make = next(iter(worst_pictures().items()))
    data = make()
    decoded = decoded_bytes(data, (64, 64))
    expected = load_image(data, (64, 64))  # the answer alone, to check each user's
    _trim()
    time.sleep(0.2)
    base = _status("VmRSS")
    barrier = threading.Barrier(users)
    answers: list[bool] = [False] * users
    seconds: list[float] = [0.0] * users

    def user(k: int) -> None:
        payload = bytes(data)  # each session holds its own upload
        barrier.wait()
        start = time.perf_counter()
        try:
            answers[k] = bool((load_image(payload, (64, 64)) == expected).all())
        except ValueError:
            answers[k] = False
        seconds[k] = time.perf_counter() - start

    threads = [threading.Thread(target=user, args=(k,)) for k in range(users)]
    with PeakRSS() as rss:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    time.sleep(0.5)
    return {"picture": name, "decoded_mb": decoded / 2**20, "users": users, "base_mb": base,
            "peak_mb": rss.peak, "after_mb": _status("VmRSS"), "correct": sum(answers),
            "seconds": seconds}


def _run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(
                             p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)})
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--only", choices=["single", "users"])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "single":
            shape = None if rest[1] == "none" else tuple(int(n) for n in rest[1].split("x"))
            print(json.dumps(_child_single(rest[0], shape)))
        else:
            print(json.dumps(_child_users(int(rest[0]))))
        return

    sys.path.append(str(ROOT))  # after PYTHONPATH, so an exported older convlab is measured
    from convlab import images

    print(f"convlab.images from {images.__file__}; load average {os.getloadavg()[0]:.1f}")
    results: dict = {"single": [], "users": None}
    if args.only in (None, "single"):
        print("\none decode, peak RSS growth / bytes of the image Pillow decodes (target <= 1.2x):")
        print(f"{'picture':40} {'shape':>8} {'decoded':>9} {'growth':>9} {'ratio':>6} {'time':>6}  outcome")
        for name in worst_pictures():
            for shape in ("64x64", "none"):
                r = _run_child(["single", name, shape])
                results["single"].append(r)
                if "error" in r:
                    print(f"{name:40} {shape:>8}  error: {r['error']}")
                    continue
                print(f"{name:40} {shape:>8} {r['decoded_mb']:7.1f}MB {r['peak_growth_mb']:7.1f}MB "
                      f"{r['ratio']:5.2f}x {r['seconds']:5.2f}s  {r['outcome'][:60]}")
    if args.only in (None, "users"):
        r = _run_child(["users", str(args.users)])
        results["users"] = r
        if "error" in r:
            print(f"\nusers: error: {r['error']}")
        else:
            growth = r["peak_mb"] - r["base_mb"]
            print(f"\n{r['users']} users uploading {r['picture']} at once, each for a 64x64 grid:")
            print(f"  process base {r['base_mb']:.0f} MB -> peak {r['peak_mb']:.0f} MB (target <= 600), "
                  f"after {r['after_mb']:.0f} MB (target <= 400)")
            after = SERVER_IDLE_MB + r["after_mb"] - r["base_mb"]
            print(f"  peak growth {growth:.0f} MB = {growth / r['decoded_mb']:.2f}x one decoded picture; "
                  f"projected on an idle server of {SERVER_IDLE_MB:.0f} MB: peak "
                  f"{SERVER_IDLE_MB + growth:.0f} MB, after {after:.0f} MB")
            print(f"  correct answers {r['correct']}/{r['users']}; seconds per user "
                  + ", ".join(f"{s:.2f}" for s in sorted(r["seconds"])))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
