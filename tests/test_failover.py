"""Failover: two replicas behind nginx (deploy/), one killed under load; its users come back from the URL.

Simulated users speak Streamlit's websocket protocol (benchmarks/bench_protocol.py) through nginx, each
with an affinity cookie of its own, as browsers do. Each Playground user opens a share link of its own
(grid, kernel, operation, padding, stride, dilation, bias, picked cell), then paints. One replica is
killed (SIGKILL, as a crash or an out-of-memory kill) while everyone paints; its users reconnect
through nginx with the address bar they had, land on the other replica, and must see exactly the page
the dead replica last showed them. A trainer on the dead replica comes back to the Train page with the
link that page wrote (settings and a marker of the run that was playing) and is told that the run
restarted. nginx is Debian's package, started here unprivileged; a missing nginx
fails under CI (`scripts/test` installs it) and skips elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import pytest
from google.protobuf.json_format import MessageToDict

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

from bench_protocol import User, component_data, grid_values, grids_in  # noqa: E402

from convlab import conv2d, corr2d  # noqa: E402
from deploy.run_replicas import Deployment, Replica, nginx_binary  # noqa: E402
from ui.share import PlaygroundState, decode_state, encode_state  # noqa: E402

if nginx_binary() is None:
    if os.environ.get("CI"):
        pytest.fail("nginx is missing: CI must run the failover test (scripts/test installs Debian's nginx)",
                    pytrace=False)
    pytest.skip("nginx is not installed (apt-get install -y nginx)", allow_module_level=True)

PLAYGROUND_PER_REPLICA = 3  # users placed on each replica before the kill
MAX_ARRIVALS = 60  # cookies tried to place them (each lands on a replica by its hash)
STROKE_EVERY_S = 0.25
LOAD_BEFORE_KILL_S = 1.0
LOAD_AFTER_KILL_S = 1.5
START_LINE = re.compile(r"convlab session start id=(\w+)")
END_LINE = re.compile(r"convlab session end id=(\w+) duration=([0-9.]+)s")
IGNORED = {"revision", "ack", "v"}  # stroke and patch bookkeeping (per connection), not what the page shows


def share_state(i: int) -> PlaygroundState:
    """User i's own Playground: a seeded grid and kernel, its own settings and picked cell."""
    rng = np.random.default_rng(i)
    H, W = 5 + i % 4, 6 + i % 3
    X = rng.integers(0, 3, (H, W)).astype(np.float64) / 2
    K = rng.integers(-2, 3, (1 + i % 3, 2)).astype(np.float64)
    state = PlaygroundState(X, K, mode=("correlation", "convolution")[i % 2], padding=(i % 2, 1),
                            stride=(1, 1 + i % 2), dilation=(1 + (i // 2) % 2, 1), bias=0.25 * (i % 3))
    out = expected_output(state)
    return PlaygroundState(**{**state.__dict__, "cell": (out.shape[0] - 1, i % out.shape[1])})


def expected_output(state: PlaygroundState) -> np.ndarray:
    """Y = X ⋆ K + b by the core, as the Playground computes it."""
    op = conv2d if state.mode == "convolution" else corr2d
    Y = op(state.X, state.K, padding=state.padding, stride=state.stride, dilation=state.dilation)
    return Y + state.bias


def without(data: Any, names: set[str]) -> Any:
    """JSON data with the keys `names` dropped at every depth."""
    if isinstance(data, dict):
        return {k: without(v, names) for k, v in data.items() if k not in names}
    if isinstance(data, list):
        return [without(v, names) for v in data]
    return data


def page(user: User) -> dict[str, Any]:
    """What the user's Playground shows, element by key: every grid's data, every widget's value."""
    shown: dict[str, Any] = {}
    for key, element in user.elements.items():
        kind = element.WhichOneof("type")
        if kind == "bidi_component":
            shown[key] = without(component_data(element), IGNORED)
        else:  # a widget: its proto as JSON, less the id of a download's file (new on every run)
            shown[key] = without(MessageToDict(getattr(element, kind)), {"deferredFileId"})
    return shown


def restored_state(user: User) -> PlaygroundState:
    """The state in the user's address bar."""
    return decode_state(dict(parse_qsl(user.query_string)))


def stroke_grid(grid: np.ndarray, index: int, n: int) -> np.ndarray:
    """User `index`'s stroke `n`: one cell toggled between 0 and 1, its own cell each time."""
    out = grid.copy()
    r, c = (index + n) % grid.shape[0], (2 * index + n) % grid.shape[1]
    out[r, c] = 0.0 if out[r, c] else 1.0
    return out


class Student:
    """One simulated browser: a cookie, the replica nginx put it on, its last page the server answered."""

    def __init__(self, index: int, url: str, page_name: str = "") -> None:
        self.index, self.url, self.page_name = index, url, page_name
        self.cookie = f"convlab_replica=student-{index}"
        self.state = share_state(index)
        query = "" if page_name else "&".join(f"{k}={v}" for k, v in encode_state(self.state).items())
        self.user = User(url, index, query, page_name=page_name, cookie=self.cookie)
        self.replica: Replica | None = None
        self.last_page: dict[str, Any] = {}
        self.last_link = query
        self.strokes = 0
        self.wrong: list[str] = []

    def check_output(self) -> None:
        """The output shown is Y of the state in the address bar (else a `wrong` entry)."""
        state = restored_state(self.user)
        shown = grid_values(grids_in(self.user.elements["pg.output"])["pg.output"])
        if not np.allclose(shown, expected_output(state), rtol=1e-9, atol=1e-12):
            self.wrong.append(f"student {self.index}: output is not Y of the state in its address bar")

    async def stroke(self) -> bool:
        """Paint one stroke; on an answer, check it and remember the page. False once disconnected."""
        grid = grid_values(grids_in(self.user.elements["pg.paint"])["pg.paint"])
        self.strokes += 1
        done = await self.user.stroke(stroke_grid(grid, self.index, self.strokes))
        if done.errors:
            return False
        self.check_output()
        self.last_page, self.last_link = page(self.user), self.user.query_string
        return True


def session_starts(replica: Replica) -> list[str]:
    """Ids of the sessions the replica logged as started."""
    return START_LINE.findall(replica.log.read_text(errors="replace"))


async def arrive(deployment: Deployment, index: int, page_name: str = "") -> Student:
    """Open one student through nginx and find the replica it landed on (from the session log)."""
    before = [len(session_starts(r)) for r in deployment.replicas]
    student = Student(index, deployment.url, page_name)
    loaded = await student.user.open()
    assert not loaded.errors, loaded.errors
    after = [len(session_starts(r)) for r in deployment.replicas]
    landed = [r for r, b, a in zip(deployment.replicas, before, after, strict=True) if a > b]
    assert len(landed) == 1, f"student {index}: a session start was logged on {len(landed)} replicas"
    student.replica = landed[0]
    if not page_name:
        student.check_output()
        student.last_page = page(student.user)
    return student


async def paint_until(students: list[Student], stop_at: float) -> None:
    """Every student strokes every STROKE_EVERY_S until `stop_at` or until its connection breaks."""

    async def one(student: Student) -> None:
        await asyncio.sleep(STROKE_EVERY_S * student.index / max(1, len(students)))
        while time.monotonic() < stop_at and not student.user.broken:
            if not await student.stroke():
                return
            await asyncio.sleep(STROKE_EVERY_S)

    await asyncio.gather(*(one(s) for s in students))


async def failover(deployment: Deployment) -> dict[str, Any]:
    """The whole scenario; returns what happened, for the assertions."""
    students: list[Student] = []
    for index in range(MAX_ARRIVALS):
        counts = {r.port: sum(s.replica is r for s in students) for r in deployment.replicas}
        if min(counts.values()) >= PLAYGROUND_PER_REPLICA:
            break
        student = await arrive(deployment, index)
        if counts[student.replica.port] >= PLAYGROUND_PER_REPLICA:
            await student.user.close()  # that replica is full: this browser goes home
            continue
        students.append(student)
    trainer = await arrive(deployment, 1000, page_name="train")
    victim = trainer.replica
    assert victim is not None
    await trainer.user.set_value("tr.epochs", int_value=100_000)
    await trainer.user.choose("tr.speed", "1000 epochs/s")
    await trainer.user.press("tr.play")
    for _ in range(3):
        await asyncio.sleep(trainer.user.auto_rerun[0] if trainer.user.auto_rerun else 0.11)
        ticked = await trainer.user.tick()
    epochs_before = int(ticked.metrics["Epoch"])

    # Everyone paints; the victim is killed in the middle of it.
    stop_at = time.monotonic() + LOAD_BEFORE_KILL_S + LOAD_AFTER_KILL_S
    load = asyncio.create_task(paint_until(students, stop_at))
    await asyncio.sleep(LOAD_BEFORE_KILL_S)
    victim.kill()
    await load
    on_victim = [s for s in students if s.replica is victim]
    survivors = [s for s in students if s.replica is not victim]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(s.user.broken for s in [*on_victim, trainer]):
        await asyncio.sleep(0.05)  # the dead replica's connections are closed by nginx
    report: dict[str, Any] = {
        "victim": victim.port, "moved": len(on_victim), "stayed": len(survivors),
        "epochs_before": epochs_before,
        "noticed": sum(bool(s.user.broken) for s in on_victim), "trainer_noticed": bool(trainer.user.broken),
        "survivors_broken": [s.index for s in survivors if s.user.broken],
        "strokes": sum(s.strokes for s in students), "restored": 0, "lost": [], "wrong": [],
    }

    # The victim's users reconnect through nginx with the address bar they had.
    for old in on_victim:
        again = Student(old.index, deployment.url)
        again.user.query_string = old.last_link
        loaded = await again.user.open()
        lost = [key for key in set(old.last_page) | set(page(again.user))
                if old.last_page.get(key) != page(again.user).get(key)]
        if loaded.errors or lost or again.user.query_string != old.last_link:
            report["lost"].append((old.index, loaded.errors, sorted(lost)))
        else:
            report["restored"] += 1
        again.check_output()
        report["wrong"] += old.wrong + again.wrong
        assert await again.stroke(), f"student {old.index} cannot paint after moving"
        report["wrong"] += again.wrong
        await again.user.close()

    # The survivors never noticed: same page, and they keep painting.
    for student in survivors:
        unchanged = page(student.user) == student.last_page
        painted = await student.stroke()
        report["wrong"] += student.wrong
        if not (unchanged and painted):
            report["lost"].append((student.index, "survivor", unchanged, painted))
        await student.user.close()

    # The trainer comes back to the Train page with the address bar it had: the link the page wrote
    # (its settings and the marker of the run that was playing), as a reconnecting browser does.
    report["train_link"] = dict(parse_qsl(trainer.user.query_string))
    again = User(deployment.url, 1000, trainer.user.query_string, page_name="train", cookie=trainer.cookie)
    loaded = await again.open()
    report["train_errors"] = loaded.errors
    report["train_metrics"] = loaded.metrics
    report["train_texts"] = loaded.texts
    report["train_link_after"] = dict(parse_qsl(again.query_string))
    await again.close()
    return report


@pytest.fixture(scope="module")
def scenario() -> tuple[dict[str, Any], Deployment]:
    deployment = Deployment(2)
    with deployment:
        report = run_async(asyncio.wait_for(failover(deployment), 240))
        time.sleep(0.5)  # the survivor's log lines of the sessions closed last
    return report, deployment


def test_killing_a_replica_loses_no_playground(scenario):
    report, _ = scenario
    assert report["moved"] >= PLAYGROUND_PER_REPLICA and report["stayed"] >= PLAYGROUND_PER_REPLICA
    assert report["noticed"] == report["moved"], "every user of the dead replica saw its connection close"
    assert report["strokes"] > 2 * (report["moved"] + report["stayed"]), "the kill happened under load"
    assert report["lost"] == []
    assert report["restored"] == report["moved"]
    assert report["wrong"] == []


def test_the_other_replicas_users_never_notice(scenario):
    report, _ = scenario
    assert report["survivors_broken"] == []


def test_a_trainer_of_the_dead_replica_gets_the_train_page_back(scenario):
    report, _ = scenario
    assert report["epochs_before"] > 0 and report["trainer_noticed"]
    assert report["train_errors"] == []
    assert report["train_metrics"].get("Epoch") == "0"  # a new run: nothing of the old one survives


def test_a_trainer_is_told_that_the_run_restarted(scenario):
    report, _ = scenario
    link = report["train_link"]
    assert link.get("epochs") == "100000" and link.get("speed") == "1000"
    assert link.get("run", "").endswith("-playing")  # written at Play, not by the ticks after it
    assert any("restarted" in text for text in report["train_texts"])
    after = report["train_link_after"]  # the settings restored; the new run has not started yet
    assert after.get("epochs") == "100000" and after.get("speed") == "1000" and "run" not in after


def test_each_session_logs_its_start_and_end_with_a_duration(scenario):
    report, deployment = scenario
    survivor = next(r for r in deployment.replicas if r.port != report["victim"])
    log = survivor.log.read_text(errors="replace")
    starts, ends = START_LINE.findall(log), END_LINE.findall(log)
    assert starts and {sid for sid, _ in ends} == set(starts)  # every session that started has ended
    assert all(float(duration) >= 0 for _, duration in ends)


def run_async(coro):
    """asyncio.run in a thread of its own: Playwright's sync API may have left a loop running here."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
