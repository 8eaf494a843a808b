"""Speed of convlab's corr2d against F.conv2d, the lesson's loop and a memory-bandwidth floor.

Usage: python benchmarks/bench_core.py [--threads 1,2] [--quick] [--targets-only]

Every ratio compares timings taken in the same run, interleaved round by round (A, B, C, A, B, C,
...) so that a busy machine slows every candidate alike; each cell is a median. In the table each
timed call follows an untimed call of the same function, so every candidate starts from warm
caches rather than from the previous candidate's leftovers. "cold" timings sleep between calls,
as an app does between clicks, which is where a second torch thread costs most: waking it takes
longer than the work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from convlab.ops import corr2d, corr2d_loop

SIZES = [(6, 8), (64, 64), (256, 256), (1024, 1024), (2048, 2048)]
KERNELS = [(1, 2), (3, 3), (5, 5), (7, 7), (11, 11)]
LOOP_MAX_CELLS = 256 * 256  # the lesson's loop runs ~10 µs per output cell: seconds beyond this


@dataclass(frozen=True)
class Row:
    """Medians in seconds for one input size and kernel; None where not measured."""

    label: str
    ours: float
    conv: float
    floor: float | None
    loop: float | None


def medians(fns: dict[str, Callable[[], object]], budget: float, max_rounds: int = 2000) -> dict[str, float]:
    """Median seconds per warm call of each fn, timed round-robin for about `budget` seconds in all."""
    for fn in fns.values():  # warm up: first calls allocate, pick kernels, fault pages in
        fn()
        fn()
    start = time.perf_counter()
    for fn in fns.values():
        fn()
        fn()
    per_round = max(time.perf_counter() - start, 1e-7)
    rounds = int(min(max_rounds, max(7, budget / per_round)))
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            fn()  # untimed: brings this candidate's data back into cache
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def cold_medians(fns: dict[str, Callable[[], object]], calls: int, gap: float) -> dict[str, float]:
    """Median seconds of single calls made after `gap` seconds of idling, round-robin."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(calls):
        for name, fn in fns.items():
            time.sleep(gap)
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def measure(
    H: int, W: int, h: int, w: int, budget: float, loop_runs: int, dtype: torch.dtype = torch.float32
) -> Row:
    """corr2d (torch in, torch out) against F.conv2d on ready 4-D views, one size."""
    gen = torch.Generator().manual_seed(0)
    X, K = torch.rand(H, W, generator=gen, dtype=dtype), torch.rand(h, w, generator=gen, dtype=dtype)
    X4, K4 = X.view(1, 1, H, W), K.view(1, 1, h, w)
    fns: dict[str, Callable[[], object]] = {
        "ours": lambda: corr2d(X, K),
        "conv": lambda: F.conv2d(X4, K4),
        "floor": X.clone,  # reads the input once and writes a fresh output: no op can do less
    }
    t = medians(fns, budget)
    loop = None
    if (H - h + 1) * (W - w + 1) <= LOOP_MAX_CELLS and loop_runs:
        corr2d_loop(X[:8, :8], K[: min(h, 8), : min(w, 8)])  # the first call pays for setup
        runs = []
        for _ in range(loop_runs):
            t0 = time.perf_counter()
            corr2d_loop(X, K)
            runs.append(time.perf_counter() - t0)
        loop = statistics.median(runs)
    suffix = "" if dtype == torch.float32 else f" {str(dtype).removeprefix('torch.')}"
    return Row(f"{H}x{W} {h}x{w}{suffix}", t["ours"], t["conv"], t["floor"], loop)


def measure_lesson(budget: float) -> Row:
    """The lesson's 6x8 stripes and [[1, -1]]: numpy in, numpy out, against a bare F.conv2d call."""
    X = np.ones((6, 8), dtype=np.float32)
    X[:, 2:6] = 0
    K = np.array([[1.0, -1.0]], dtype=np.float32)
    X4, K4 = torch.from_numpy(X).view(1, 1, 6, 8), torch.from_numpy(K).view(1, 1, 1, 2)
    t = medians({"ours": lambda: corr2d(X, K), "conv": lambda: F.conv2d(X4, K4)}, budget, max_rounds=20000)
    return Row("6x8 1x2 lesson, numpy", t["ours"], t["conv"], None, None)


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(num: float | None, den: float | None) -> str:
    return "-" if num is None or den is None else f"{num / den:.3g}x"


def print_table(rows: list[Row]) -> None:
    head = f"{'input kernel':<24} {'corr2d':>10} {'F.conv2d':>10} {'vs conv':>8} {'floor':>10} " \
           f"{'vs floor':>9} {'loop':>9} {'loop/ours':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.label:<24} {fmt_time(r.ours):>10} {fmt_time(r.conv):>10} {fmt_ratio(r.ours, r.conv):>8} "
            f"{fmt_time(r.floor):>10} {fmt_ratio(r.ours, r.floor):>9} {fmt_time(r.loop):>9} "
            f"{fmt_ratio(r.loop, r.ours):>10}"
        )


def check(name: str, value: float, limit: float, at_most: bool = True) -> bool:
    ok = value <= limit if at_most else value >= limit
    sign = "<=" if at_most else ">="
    print(f"  {'PASS' if ok else 'MISS'}  {name}: {value:.3g}x (target {sign} {limit:g}x)")
    return ok


def run(threads: int, quick: bool, targets_only: bool) -> None:
    torch.set_num_threads(threads)
    budget = 0.15 if quick else 0.6
    print(f"\n=== torch threads: {threads} (float32; corr2d torch in, torch out unless noted) ===")
    rows = [measure_lesson(budget)]
    for H, W in [(256, 256), (1024, 1024)] if targets_only else SIZES:
        for h, w in [(3, 3)] if targets_only else KERNELS:
            if h > H or w > W:
                continue  # no output at all: corr2d refuses, as F.conv2d does
            # the loop takes seconds at 256x256: a few runs where a target reads it, one elsewhere
            few = not quick and (H <= 64 or (h, w) == (3, 3))
            rows.append(measure(H, W, h, w, budget, loop_runs=3 if few else 1))
    for size in () if targets_only else (256, 1024):  # integers and most numpy data compute in float64
        rows.append(measure(size, size, 3, 3, budget, loop_runs=0, dtype=torch.float64))
    print_table(rows)
    by = {r.label: r for r in rows}
    big, mid, lesson = by["1024x1024 3x3"], by["256x256 3x3"], by["6x8 1x2 lesson, numpy"]
    print("targets:")
    check("1024x1024 3x3, corr2d / F.conv2d", big.ours / big.conv, 0.10)
    check("1024x1024 3x3, corr2d / floor (stretch)", big.ours / big.floor, 5)
    check("256x256 3x3, corr2d / F.conv2d", mid.ours / mid.conv, 0.75)
    check("6x8 1x2 numpy in and out, corr2d / bare F.conv2d", lesson.ours / lesson.conv, 3)
    check("256x256 3x3, loop / corr2d", mid.loop / mid.ours, 1000, at_most=False)
    print("cold single calls (after 0.2 s idle, median of several):")
    for (H, W), (h, w) in [((6, 8), (1, 2)), ((256, 256), (3, 3)), ((1024, 1024), (3, 3))]:
        X, K = torch.rand(H, W), torch.rand(h, w)
        X4, K4 = X.view(1, 1, H, W), K.view(1, 1, h, w)
        t = cold_medians(
            {"ours": lambda X=X, K=K: corr2d(X, K), "conv": lambda X4=X4, K4=K4: F.conv2d(X4, K4)},
            calls=5 if quick else 11,
            gap=0.2,
        )
        print(f"  {H}x{W} {h}x{w}: corr2d {fmt_time(t['ours'])}, F.conv2d {fmt_time(t['conv'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="torch thread counts to run, e.g. 1 or 1,2")
    parser.add_argument("--quick", action="store_true", help="shorter timings, noisier medians")
    parser.add_argument("--targets-only", action="store_true", help="only the rows the targets read")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, numpy {np.__version__}, {torch.backends.cpu.get_cpu_capability()}")
    for threads in (int(t) for t in args.threads.split(",")):
        run(threads, args.quick, args.targets_only)


if __name__ == "__main__":
    main()
