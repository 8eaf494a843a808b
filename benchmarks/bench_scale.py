"""A class on one process and on two: capacity curves, scale-out behind nginx, painters beside trainers.

Usage: python benchmarks/bench_scale.py [--levels 40,80,160,240] [--interval 2] [--seconds 20]
                                        [--painters 60] [--trainers 10] [--mix-seconds 60]
                                        [--skip-scale] [--skip-mix] [--json PATH]

Users are simulated at the protocol level (`bench_protocol.py`: Streamlit's websocket, no browser); each
Playground user paints its own pattern and checks the output against `corr2d` of its own grid.

1. **Capacity curve, one process**: a replica as `deploy/run_replicas.py` starts it, users connecting to
   it directly; at each level of --levels, that many users paint every --interval s (±25% jitter) for
   --seconds: strokes/s, p50/p95 latency, server CPU (% of one core), errors, wrong answers.
2. **Scale-out**: the same levels through nginx in front of two replicas (`deploy/`), each websocket
   placed by nginx (no cookie: a random key per connection, as a new browser gets): the same columns,
   CPU as the sum of both replicas (200% = both cores) and the busier replica's share. Capacity is the
   highest stroke rate with p95 ≤ 100 ms, no error and every answer right; the ratio two/one is printed.
   On a 2-core machine the harness and nginx run on the same cores: their CPU is printed too.
3. **Load mix, one process**: --painters users painting every 2 s plus --trainers users on the Train
   page at 1000 epochs/s with a 100,000-epoch budget, their fragment ticking as the browser's timer
   makes it, for --mix-seconds: painters' correctness, errors, p50/p95; each trainer's epochs/s and tick
   p95; server CPU and RSS against 400 MB + 2 MB per session.

Targets missed are reported, not raised; exit 1 only when no server answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_protocol import (  # noqa: E402
    Interaction,
    Phase,
    User,
    act,
    capacity,
    check,
    open_user,
    percentile,
    print_capacity,
    summarise,
)

from deploy.run_replicas import Deployment, Replica, free_port  # noqa: E402

P95_TARGET_MS = 100.0  # 30 students painting every 2 s: p95 ≤ 100 ms (PRODUCT.md)
MIX_P95_TARGET_MS = 150.0  # painters beside trainers
RSS_BASE_MB, RSS_PER_SESSION_MB = 400.0, 2.0
TRAIN_SPEED = "1000 epochs/s"
TRAIN_EPOCHS = 100_000


class Target:
    """Where the users connect, and the server processes whose CPU and memory count."""

    def __init__(self, url: str, pids: list[int], extra: dict[str, int] | None = None) -> None:
        self.url, self.pids, self.extra = url, pids, extra or {}

    def cpu_s(self) -> float:
        """CPU seconds (user + system) of the server processes so far."""
        return sum(self.cpu_each().values())

    def cpu_each(self) -> dict[int, float]:
        """CPU seconds of each server process."""
        return {pid: sum(psutil.Process(pid).cpu_times()[:2]) for pid in self.pids}

    def extra_cpu_s(self) -> dict[str, float]:
        """CPU seconds of the helpers (nginx), by name (workers included)."""
        out = {}
        for name, pid in self.extra.items():
            proc = psutil.Process(pid)
            out[name] = sum(sum(p.cpu_times()[:2]) for p in [proc, *proc.children(recursive=True)])
        return out

    def rss_mb(self) -> float:
        """Resident memory of the server processes, MB."""
        return sum(psutil.Process(pid).memory_info().rss for pid in self.pids) / 2**20


@dataclass
class Level:
    """One capacity level: the protocol phase plus how the CPU was spread."""

    phase: Phase
    shares: list[float] = field(default_factory=list)  # each process's share of the server CPU, %
    helpers_pct: dict[str, float] = field(default_factory=dict)  # nginx's CPU, % of one core

    @property
    def ok(self) -> bool:
        p = self.phase
        return p.count > 0 and p.errors == 0 and p.wrong == 0 and p.p95_ms <= P95_TARGET_MS


async def curve(target: Target, levels: list[int], interval: float, seconds: float) -> list[Level]:
    """The capacity phase of bench_protocol at every level, with the CPU of each process."""
    out = []
    for users in levels:
        each0, helpers0, t0 = target.cpu_each(), target.extra_cpu_s(), time.perf_counter()
        phase = await capacity(target, 8, users, interval, seconds)  # type: ignore[arg-type]
        wall = time.perf_counter() - t0
        each1, helpers1 = target.cpu_each(), target.extra_cpu_s()
        used = [each1[p] - each0[p] for p in target.pids]  # arrivals included, as in nginx's figure
        out.append(Level(phase, [u / max(sum(used), 1e-9) * 100 for u in used],
                         {n: (helpers1[n] - helpers0[n]) / wall * 100 for n in helpers1}))
    return out


def capacity_of(levels: list[Level]) -> tuple[float, bool]:
    """The highest stroke rate that met the targets, and whether a level missed them (a true limit)."""
    passed = [lv.phase.rate for lv in levels if lv.ok]
    return (max(passed) if passed else 0.0), any(not lv.ok for lv in levels)


def cpu_ceiling(levels: list[Level], processes: int) -> float:
    """Strokes/s the processes could serve with a whole core each: the busiest process saturates first."""
    busiest = max(levels, key=lambda lv: lv.phase.rate)
    top_share = max(busiest.shares) / 100 if processes > 1 else 1.0
    return 1000 / (busiest.phase.cpu_ms * top_share)


def print_curve(title: str, levels: list[Level], interval: float) -> None:
    """The capacity table, plus CPU per process and of the helpers."""
    print(f"\n{title}")
    print_capacity([lv.phase for lv in levels], interval)
    for lv in levels:
        split = " / ".join(f"{pct:.0f}%" for pct in lv.shares)
        helpers = ", ".join(f"{n} {pct:.0f}% of a core" for n, pct in lv.helpers_pct.items())
        print(f"  {lv.phase.users:>4} users: {lv.phase.cpu_ms:.1f} ms server CPU per stroke"
              + (f"; shares of the server CPU by process {split}" if len(lv.shares) > 1 else "")
              + (f"; {helpers}" if helpers else ""))


# --- the load mix ----------------------------------------------------------------------------------


@dataclass
class Trainer:
    """One Train page session at full speed: its epochs over time and tick latencies."""

    index: int
    epochs: list[tuple[float, int]] = field(default_factory=list)  # (time, epoch shown)
    playing_since: float | None = None  # when its first tick came (time.monotonic())
    ticks_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def rate(self) -> float:
        """Epochs per second over the run."""
        if len(self.epochs) < 2:
            return 0.0
        (t0, e0), (t1, e1) = self.epochs[0], self.epochs[-1]
        return (e1 - e0) / (t1 - t0) if t1 > t0 else 0.0


async def train(target: Target, trainer: Trainer, stop_at: float) -> None:
    """Open the Train page, ask for 100,000 epochs at 1000 epochs/s, press Play, tick until `stop_at`."""
    user = User(target.url, 500 + trainer.index, "", page_name="train")
    try:
        loaded = await user.open()
        steps = [loaded, await user.set_value("tr.epochs", int_value=TRAIN_EPOCHS),
                 await user.choose("tr.speed", TRAIN_SPEED), await user.press("tr.play")]
    except Exception as exc:  # a page that never came: the trainer's error, not the harness's
        trainer.errors.append(f"trainer {trainer.index}: {type(exc).__name__}: {exc}")
        return
    trainer.errors += [e for step in steps for e in step.errors]
    last = steps[-1]
    while time.monotonic() < stop_at and not user.broken and user.auto_rerun and not trainer.errors:
        if "Epoch" in last.metrics:
            trainer.epochs.append((time.monotonic(), int(last.metrics["Epoch"].replace(",", ""))))
        await asyncio.sleep(max(0.0, user.auto_rerun[0] - last.latency_s))  # the browser's timer
        last = await user.tick()
        if trainer.playing_since is None:
            trainer.playing_since = time.monotonic()
        trainer.ticks_ms.append(last.latency_s * 1000)
        trainer.errors += last.errors
        state = last.metrics.get("State", "training")
        if not state.startswith("train"):  # "training…" while it runs
            trainer.errors.append(f"trainer {trainer.index}: the run stopped ({state})")
    await user.close()


async def mix(target: Target, painters: int, trainers: int, seconds: float) -> dict[str, Any]:
    """Painters every 2 s beside trainers at full speed, on one process."""
    gate = asyncio.Semaphore(4)

    async def arrive(index: int) -> User:
        async with gate:
            return (await open_user(target, "playground", 100 + index, 8))[0]  # type: ignore[arg-type]

    first = await arrive(0)
    rss_one = target.rss_mb()  # the process with torch loaded and one session
    crowd = [first, *await asyncio.gather(*(arrive(i) for i in range(1, painters)))]
    arrivals = [u.broken for u in crowd if u.broken]  # users who never got a grid to paint on
    results: list[Interaction] = []
    started: list[float] = []  # when each result's stroke was sent
    problems: list[str] = []
    rng = random.Random(painters)
    crew = [Trainer(i) for i in range(trainers)]
    cpu0, t0, own0 = target.cpu_s(), time.perf_counter(), time.process_time()
    stop_at = time.monotonic() + seconds
    t_start = time.monotonic()

    async def paint(user: User) -> None:
        due, stroke = time.monotonic() + rng.uniform(0, 2.0), 0
        while (now := time.monotonic()) < stop_at and not user.broken:
            await asyncio.sleep(max(0.0, due - now))
            stroke += 1
            started.append(time.monotonic())
            result = await act("playground", user, stroke)
            results.append(result)
            if (problem := check("playground", user, result)) is not None:
                problems.append(problem)
            due += 2.0 * rng.uniform(0.75, 1.25)

    await asyncio.gather(*(paint(u) for u in crowd), *(train(target, t, stop_at) for t in crew))
    wall = time.perf_counter() - t0
    rss_end = target.rss_mb()
    phase = summarise(Phase("playground", "mix", 8, users=painters), results, target.cpu_s() - cpu0, wall,
                      problems)
    phase.client_cpu_pct = (time.process_time() - own0) / wall * 100
    phase.errors += len(arrivals)
    phase.problems = (arrivals + phase.problems)[:10]
    await asyncio.gather(*(u.close() for u in crowd))
    sessions = painters + trainers
    # Steady state: strokes sent once every trainer's run ticks (their page loads and Play are full runs,
    # a burst a class also has, reported in the whole-run numbers above).
    since = max((t.playing_since for t in crew if t.playing_since is not None), default=None)
    steady = [r.latency_s * 1000 for r, t in zip(results, started, strict=True)
              if since is not None and t > since]
    return {"painters": phase, "steady_ms": steady,
            "steady_from_s": None if since is None else since - t_start, "trainers": crew,
            "rss_one_mb": rss_one, "rss_end_mb": rss_end,
            "rss_target_mb": RSS_BASE_MB + RSS_PER_SESSION_MB * sessions, "sessions": sessions,
            "cpu_pct": phase.cpu_pct}


def print_mix(result: dict[str, Any], seconds: float) -> None:
    """The load mix's report."""
    p: Phase = result["painters"]
    crew: list[Trainer] = result["trainers"]
    ok = p.errors == 0 and p.wrong == 0 and p.p95_ms <= MIX_P95_TARGET_MS
    print(f"\nLoad mix, one process, {seconds:g} s: {p.users} painters every 2 s + {len(crew)} trainers at "
          f"{TRAIN_SPEED}")
    print(f"  painters: {p.count} strokes, {p.answered} answered, {p.wrong} wrong, {p.errors} errors, "
          f"p50 {p.p50_ms:.0f} ms, p95 {p.p95_ms:.0f} ms (target ≤ {MIX_P95_TARGET_MS:g} ms): "
          f"{'ok' if ok else 'MISSED'}")
    for problem in p.problems[:3]:
        print(f"    {problem}")
    steady = result["steady_ms"]
    if steady:
        print(f"  painters in steady state (from {result['steady_from_s']:.1f} s, when every trainer's run "
              f"ticks): {len(steady)} strokes, p50 {percentile(steady, 50):.0f} ms, "
              f"p95 {percentile(steady, 95):.0f} ms")
    rates = [t.rate() for t in crew]
    print("  trainers' epochs/s: " + ", ".join(f"{r:.0f}" for r in rates)
          + f" (median {statistics.median(rates) if rates else float('nan'):.0f})")
    ticks = [ms for t in crew for ms in t.ticks_ms]
    print(f"  trainers' ticks: {len(ticks)}, p50 {percentile(ticks, 50):.0f} ms, "
          f"p95 {percentile(ticks, 95):.0f} ms; errors: {sum(len(t.errors) for t in crew)}")
    for t in crew:
        for error in t.errors[:1]:
            print(f"    {error[:200]}")
    print(f"  server CPU {result['cpu_pct']:.0f}% of one core; harness {p.client_cpu_pct:.0f}%")
    rss_ok = result["rss_end_mb"] <= result["rss_target_mb"]
    per = (result["rss_end_mb"] - result["rss_one_mb"]) / max(1, result["sessions"] - 1)
    print(f"  server RSS: {result['rss_one_mb']:.0f} MB with one session, {result['rss_end_mb']:.0f} MB "
          f"with {result['sessions']} ({per:.1f} MB per further session); "
          f"target ≤ {result['rss_target_mb']:.0f} MB: {'ok' if rss_ok else 'MISSED'}")


# --- main ------------------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> int:
    levels = [int(n) for n in args.levels.split(",") if n.strip()]
    report: dict[str, Any] = {"loadavg_start": os.getloadavg(), "cpus": os.cpu_count()}
    print(f"load average {os.getloadavg()[0]:.1f} at start; {os.cpu_count()} CPUs")
    log_dir = REPO / "test-artifacts" / "logs"
    answered = True
    if not args.skip_scale:
        one = Replica(free_port(), "bench", log_dir / "bench-scale-one.log")
        one.start()
        try:
            one.wait_healthy()
            single = await curve(Target(one.url, [one.pid]), levels, args.interval, args.seconds)
        finally:
            one.stop()
        print_curve("One process (users connect to it directly)", single, args.interval)
        with Deployment(2, directory=log_dir / "bench-scale-deploy") as two:
            nginx_pid = two.nginx.process.pid if two.nginx.process else 0
            target = Target(two.url, [r.pid for r in two.replicas], {"nginx": nginx_pid})
            double = await curve(target, levels, args.interval, args.seconds)
        print_curve("Two processes behind nginx (CPU % summed over both: 200% = both cores)", double,
                    args.interval)
        cap1, limit1 = capacity_of(single)
        cap2, limit2 = capacity_of(double)
        bound = "" if limit1 else " (one process met every level: its limit lies higher)"
        ratio = cap2 / cap1 if cap1 else float("nan")
        more = "" if limit2 else "≥ "
        print(f"\nCapacity (highest strokes/s with p95 ≤ {P95_TARGET_MS:g} ms, no error, every answer "
              f"right): one process {cap1:.1f}/s{bound}; two behind nginx {more}{cap2:.1f}/s; "
              f"ratio {more}{ratio:.2f}x")
        if not cap1:
            print(f"  no level met the p95 target on one process (load average {os.getloadavg()[0]:.1f}: "
                  "other work on these cores sets the latency); compare the p50 columns")
        ceiling1, ceiling2 = cpu_ceiling(single, 1), cpu_ceiling(double, 2)
        print(f"CPU ceiling (each process given a whole core, from the measured CPU per stroke and each "
              f"process's share): one process {ceiling1:.0f} strokes/s; two {ceiling2:.0f} strokes/s "
              f"({ceiling2 / ceiling1:.2f}x)")
        report["single"] = [asdict(lv) for lv in single]
        report["double"] = [asdict(lv) for lv in double]
        report["capacity"] = {"one": cap1, "two": cap2, "ratio": ratio, "ceiling_one": ceiling1,
                              "ceiling_two": ceiling2}
        answered = answered and all(lv.phase.answered for lv in single + double)
    if not args.skip_mix:
        server = Replica(free_port(), "bench", log_dir / "bench-scale-mix.log")
        server.start()
        try:
            server.wait_healthy()
            result = await mix(Target(server.url, [server.pid]), args.painters, args.trainers,
                               args.mix_seconds)
        finally:
            server.stop()
        print_mix(result, args.mix_seconds)
        report["mix"] = {**result, "painters": asdict(result["painters"]),
                         "trainers": [{"rate": t.rate(), **asdict(t)} for t in result["trainers"]]}
        answered = answered and result["painters"].answered > 0
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        print(f"results written to {args.json}")
    return 0 if answered else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="40,80,160,240", help="users at each capacity level")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a user's strokes")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each capacity level")
    parser.add_argument("--painters", type=int, default=60, help="load mix: painters (every 2 s)")
    parser.add_argument("--trainers", type=int, default=10, help="load mix: trainers at 1000 epochs/s")
    parser.add_argument("--mix-seconds", type=float, default=60.0, help="load mix: duration")
    parser.add_argument("--skip-scale", action="store_true", help="skip the capacity curves")
    parser.add_argument("--skip-mix", action="store_true", help="skip the load mix")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    try:
        return asyncio.run(main_async(args))
    except RuntimeError as exc:  # a server that never came up
        print(f"harness failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
