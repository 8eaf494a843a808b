"""Ten users at once on one server: each paints its own pattern or trains, and checks its own numbers.

Usage: python benchmarks/bench_load.py [--users 10] [--trainers 3] [--seconds 60] [--json PATH]

One headless Chromium, one browser context (so one Streamlit session) per user, all on loopback.
Painters (the first users) open the Playground and paint a pattern of their own (a different row
and length each), erasing and repainting; after every stroke they wait until their output grid
(`pg.output`, its canvas's `data-values`) holds `corr2d` of *their* grid, which fails if sessions
leaked into each other. Trainers open the
Train page and press Step (the epoch must go up by exactly one), Play, Pause and Step again.

Every click or stroke is timed inside the page, from the pointerup (the events' own clock) to the
moment the expected response is on screen: the output grid's numbers, or the Epoch/State metric. The
target is at most 1 s each. New actions stop after --seconds; the server log must hold no error.
Note that the ten pages render in the same 2-core machine as the server, so the browser's own
work is part of every latency here (real users each bring their own CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, Page, WebSocket, async_playwright
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_app import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    VIEWPORT,
    Server,
    machine,
    percentile,
)
from browser_helpers import FIND_GRID_JS  # bench_app puts tests/browser on the path

from convlab import corr2d
from convlab.images import image_preset
from convlab.kernels import kernel_preset

LIMIT_MS = 1000.0
STRIPES = image_preset("stripes")
EDGE = kernel_preset("edge")

# In-page probe: `arm(cond)` starts a measurement at the next pointerup; t1 is set when `cond` holds,
# checked on DOM mutations (the output grid's canvas included: it sits in a shadow root, which the
# body's observer does not see) and animation frames. cond is {values: [...]} (the Playground's output
# grid drew these numbers) or {metric: label, text: value} (the Train page's progress row shows this value).
PROBE_JS = f"""() => {{
  {FIND_GRID_JS};
  const p = window.__probe = {{cond: null, t0: 0, t1: 0, seen: null}};
  const holds = () => {{
    const c = p.cond;
    if (c.values) {{
      const canvas = gridCanvas('pg.output');
      if (!canvas || canvas.dataset.values === p.seen) return false;
      p.seen = canvas.dataset.values;
      const got = JSON.parse(p.seen);
      return got.length === c.values.length && got.every((v, i) => Math.abs(v - c.values[i]) < 1e-9);
    }}
    for (const m of document.querySelectorAll('.cl-stat')) {{
      const value = m.querySelector('b');
      if (m.dataset.label === c.metric && value) return value.textContent.trim() === c.text;
    }}
    return false;
  }};
  const check = () => {{ if (p.cond && p.t0 && !p.t1 && holds()) p.t1 = performance.now(); }};
  window.__arm = (cond) => Object.assign(p, {{cond, t0: 0, t1: 0, seen: null}});
  window.addEventListener('pointerup', (e) => {{ if (p.cond && !p.t0) p.t0 = e.timeStamp; }}, true);
  const options = {{subtree: true, childList: true, attributes: true, characterData: true}};
  new MutationObserver(check).observe(document.body, options);
  const canvasObserver = new MutationObserver(check);
  let watched = null;
  const frame = () => {{
    const canvas = gridCanvas('pg.output');
    if (canvas && canvas !== watched) {{
      canvasObserver.disconnect();
      canvasObserver.observe(canvas, {{attributes: true, attributeFilter: ['data-values']}});
      watched = canvas;
    }}
    check();
    requestAnimationFrame(frame);
  }};
  requestAnimationFrame(frame);
}}"""


class Start:
    """All users load their page first; then they act together until the deadline."""

    def __init__(self, users: int, seconds: float) -> None:
        self.barrier = asyncio.Barrier(users)
        self.seconds = seconds
        self.deadline = 0.0

    async def wait(self) -> float:
        """Wait until every user has loaded; return the monotonic deadline for new actions."""
        await self.barrier.wait()
        if not self.deadline:  # the first user through sets it (one event loop: no race)
            self.deadline = time.monotonic() + self.seconds
        return self.deadline


@dataclass
class User:
    name: str
    role: str
    latencies: list[tuple[str, float]] = field(default_factory=list)
    server_ms: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    load_ms: float = 0.0
    frames: list[tuple[float, str]] = field(default_factory=list)  # (monotonic s, "sent" | "finished")

    def watch(self, ws: WebSocket) -> None:
        """Note when the page sends a message and when a script run ends (ForwardMsg.script_finished)."""
        ws.on("framesent", lambda _: self.frames.append((time.monotonic(), "sent")))
        ws.on("framereceived", self._received)

    def _received(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes) and len(payload) < 512:  # script_finished frames are small
            try:
                if ForwardMsg.FromString(payload).WhichOneof("type") == "script_finished":
                    self.frames.append((time.monotonic(), "finished"))
            except Exception:  # not a ForwardMsg on its own (e.g. a cached-message reference)
                pass

    def server_round_trip(self, since: float) -> float | None:
        """ms from the first message sent after `since` to the first script end after it."""
        sent = next((t for t, kind in self.frames if kind == "sent" and t >= since), None)
        if sent is None:
            return None
        done = next((t for t, kind in self.frames if kind == "finished" and t >= sent), None)
        return None if done is None else (done - sent) * 1000


async def timed(page: Page, user: User, action: str, cond: dict, act) -> None:
    """Arm the probe with `cond`, run `act()` (a click or a stroke), wait for `cond`; record the time."""
    await page.evaluate("cond => window.__arm(cond)", cond)
    since = time.monotonic()
    await act()
    try:
        await page.wait_for_function("() => window.__probe.t1 > 0", timeout=TIMEOUT_MS, polling=50)
    except Exception:
        user.errors.append(f"{action}: no expected response within {TIMEOUT_MS / 1000:.0f} s ({cond})")
        return
    user.latencies.append((action, await page.evaluate("() => window.__probe.t1 - window.__probe.t0")))
    # Only painters' pages run nothing on a timer, so only there is the first script end after
    # the stroke the stroke's own rerun (a trainer's page ends fragment runs all the time).
    server = user.server_round_trip(since) if user.role == "painter" else None
    if server is not None:
        user.server_ms.append((action, server))


async def wait_idle(page: Page) -> None:
    await page.wait_for_function(
        """() => document.querySelector('[data-testid="stApp"]')
                   ?.getAttribute('data-test-script-state') === 'notRunning'""",
        timeout=TIMEOUT_MS,
        polling=50,
    )


async def wait_for_grid(page: Page, name: str, timeout_ms: float = TIMEOUT_MS) -> None:
    """Wait until the grid `name` has drawn its values."""
    await page.wait_for_function(f"(name) => {{ {FIND_GRID_JS}; return !!gridData(name); }}", arg=name,
                                 timeout=timeout_ms, polling=100)


async def open_page(page: Page, url: str, grid_name: str, user: User) -> None:
    page.on("websocket", user.watch)
    start = time.perf_counter()
    await page.goto(url)
    await wait_for_grid(page, grid_name, 120_000)
    user.load_ms = (time.perf_counter() - start) * 1000
    await wait_idle(page)
    await page.evaluate(PROBE_JS)


async def stroke(page: Page, cells: list[tuple[int, int]], button: str) -> None:
    """A drag over `cells` of the Playground input grid (`pg.paint`, zero padding drawn around it)."""
    box = await page.evaluate(
        f"""() => {{ {FIND_GRID_JS};
          const el = gridCanvas('pg.paint');
          el.scrollIntoView({{block: 'center'}});
          const r = el.getBoundingClientRect();
          const [ph, pw] = (el.dataset.pad || '0,0').split(',').map(Number);
          return {{x: r.left, y: r.top, w: r.width, h: r.height, rows: +el.dataset.rows + 2 * ph,
                   cols: +el.dataset.cols + 2 * pw, ph, pw}}; }}"""
    )
    points = [(box["x"] + (c + box["pw"] + 0.5) * box["w"] / box["cols"],
               box["y"] + (r + box["ph"] + 0.5) * box["h"] / box["rows"]) for r, c in cells]
    await page.mouse.move(*points[0])
    await page.mouse.down(button=button)
    for x, y in points[1:]:
        await page.mouse.move(x, y, steps=3)
    await page.mouse.up(button=button)


async def painter(browser: Browser, url: str, user: User, index: int, start: Start) -> None:
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await context.new_page()
        try:
            await open_page(page, url, "pg.output", user)
        except Exception:
            await start.barrier.abort()  # the others must not wait for this one
            raise
        deadline = await start.wait()
        # Each painter its own row (1..5) and length (2..4 cells) inside the black band (columns 2..5).
        row, length = 1 + index % 5, 2 + index % 3
        grid = STRIPES.copy()
        cycle = 0
        while time.monotonic() < deadline and cycle < 6:
            paint = cycle % 2 == 0
            grid[row, 2 : 2 + length] = 1.0 if paint else 0.0
            want = corr2d(grid, EDGE).ravel().tolist()
            cells = [(row, 2), (row, 1 + length)]
            await timed(page, user, "paint" if paint else "erase", {"values": want},
                        lambda cells=cells, paint=paint: stroke(page, cells, "left" if paint else "right"))
            await wait_idle(page)
            cycle += 1
    except Exception as error:
        user.errors.append(f"{type(error).__name__}: {error}")
    finally:
        await context.close()


async def epoch(page: Page) -> int:
    text = await page.get_by_test_id("stMetric").filter(has_text="Epoch").get_by_test_id(
        "stMetricValue").inner_text()
    return int(text)


async def trainer(browser: Browser, url: str, user: User, start: Start) -> None:
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await context.new_page()
        try:
            await open_page(page, f"{url}/train", "tr.pred", user)
        except Exception:
            await start.barrier.abort()
            raise
        box = page.locator(".st-key-tr-epochs input")
        await box.fill("100000")
        await box.press("Enter")
        await page.wait_for_function(
            "() => document.querySelector('.st-key-tr-epochs input')?.value === '100000'", polling=50
        )
        await wait_idle(page)
        deadline = await start.wait()
        button = {name: page.locator(f".st-key-tr-{name} button") for name in ("play", "pause", "step")}
        n = await epoch(page)
        for _ in range(3):
            await timed(page, user, "step", {"metric": "Epoch", "text": str(n + 1)}, button["step"].click)
            n += 1
            await wait_idle(page)
        while time.monotonic() < deadline - 5:
            await timed(page, user, "play", {"metric": "State", "text": "training…"}, button["play"].click)
            await page.wait_for_function(  # it trains: the epoch count moves on
                f"""() => [...document.querySelectorAll('[data-testid="stMetric"]')]
                      .some((m) => m.textContent.startsWith('Epoch')
                           && +m.querySelector('[data-testid="stMetricValue"]').textContent > {n + 5})""",
                timeout=TIMEOUT_MS, polling=100,
            )
            await timed(page, user, "pause", {"metric": "State", "text": "paused"}, button["pause"].click)
            await wait_idle(page)
            n = await epoch(page)
            await timed(page, user, "step", {"metric": "Epoch", "text": str(n + 1)}, button["step"].click)
            await wait_idle(page)
            n = await epoch(page)
            break
    except Exception as error:
        user.errors.append(f"{type(error).__name__}: {error}")
    finally:
        await context.close()


async def sample_server(server: Server, stop: asyncio.Event, peaks: dict[str, float]) -> None:
    while not stop.is_set():
        peaks["rss_mb"] = max(peaks.get("rss_mb", 0.0), server.rss_mb())
        await asyncio.sleep(0.5)  # a sampling period, not a wait for anything


async def run(args: argparse.Namespace) -> tuple[list[User], dict]:
    info: dict = {"machine": machine()}
    users = [User(f"user {k + 1}", "trainer" if k >= args.users - args.trainers else "painter")
             for k in range(args.users)]
    with Server("streamlit_app.py", "bench-load") as server:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            warm = await browser.new_context(viewport=VIEWPORT)  # the server's first run imports torch
            page = await warm.new_page()
            await page.goto(server.url)
            await wait_for_grid(page, "pg.output", 120_000)
            await warm.close()
            info["rss_before_mb"] = server.rss_mb()
            stop, peaks = asyncio.Event(), {}
            sampler = asyncio.create_task(sample_server(server, stop, peaks))
            start_all = Start(len(users), args.seconds)
            start = time.monotonic()
            tasks = [painter(browser, server.url, u, k, start_all) if u.role == "painter"
                     else trainer(browser, server.url, u, start_all) for k, u in enumerate(users)]
            await asyncio.gather(*tasks)
            info["seconds"] = time.monotonic() - start
            stop.set()
            await sampler
            info["rss_peak_mb"] = peaks.get("rss_mb", 0.0)
            info["rss_after_mb"] = server.rss_mb()
            await browser.close()
    info["log_errors"] = server.errors()
    info["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return users, info


def report(users: list[User], info: dict) -> bool:
    m = info["machine"]
    print(f"\nMachine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM; load average {m['load_avg']} at "
          f"start, {m['load_avg_end']} at end. {len(users)} users for {info['seconds']:.0f} s.")
    print("\n| user | role | page load | actions | p50 | p95 | max | > 1 s | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    everything: list[float] = []
    for u in users:
        values = [ms for _, ms in u.latencies]
        everything += values
        over = sum(v > LIMIT_MS for v in values)
        if values:
            p50, p95 = statistics.median(values), percentile(values, 95)
            stats = f"{p50:.0f} ms | {p95:.0f} ms | {max(values):.0f} ms"
        else:
            stats = "- | - | -"
        print(f"| {u.name} | {u.role} | {u.load_ms / 1000:.1f} s | {len(values)} | {stats} | {over} | "
              f"{len(u.errors)} |")
    over = sum(v > LIMIT_MS for v in everything)
    errors = [f"{u.name}: {e}" for u in users for e in u.errors]
    print(f"| all | | | {len(everything)} | {statistics.median(everything):.0f} ms | "
          f"{percentile(everything, 95):.0f} ms | {max(everything):.0f} ms | {over} | {len(errors)} |")
    print("\nBy action: on screen (in the page) | painters' server round trip (stroke sent -> rerun ended)")
    for kind in ("paint", "erase", "step", "play", "pause"):
        values = [ms for u in users for a, ms in u.latencies if a == kind]
        server = [ms for u in users for a, ms in u.server_ms if a == kind]
        if values:
            line = (f"  {kind:6s} n={len(values):3d}  p50 {statistics.median(values):5.0f} ms  "
                    f"p95 {percentile(values, 95):5.0f} ms  max {max(values):5.0f} ms")
            if server:
                line += (f"  |  p50 {statistics.median(server):5.0f} ms  p95 {percentile(server, 95):5.0f} ms"
                         f"  max {max(server):5.0f} ms")
            print(line)
    print(f"\nServer RSS: {info['rss_before_mb']:.0f} MB before, peak {info['rss_peak_mb']:.0f} MB, "
          f"{info['rss_after_mb']:.0f} MB after; server log problems: {len(info['log_errors'])}")
    for line in errors + info["log_errors"][:20]:
        print(f"  {line}")
    ok = not errors and not info["log_errors"] and over == 0
    print(f"\nEvery response correct and within {LIMIT_MS / 1000:g} s, no server errors: "
          f"{'yes' if ok else 'NO'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--trainers", type=int, default=3, help="how many of the users train (default 3)")
    parser.add_argument("--seconds", type=float, default=60.0, help="no new actions after this (default 60)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args()
    users, info = asyncio.run(run(args))
    report(users, info)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "info": info,
            "users": [{"name": u.name, "role": u.role, "load_ms": u.load_ms, "latencies_ms": u.latencies,
                       "server_round_trip_ms": u.server_ms, "errors": u.errors} for u in users],
        }, indent=2))


if __name__ == "__main__":
    main()
