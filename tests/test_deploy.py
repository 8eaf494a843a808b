"""deploy/: the nginx configuration, session affinity through nginx, and the session log lines."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import telemetry

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_protocol import User  # noqa: E402

from deploy.run_replicas import Deployment, nginx_binary, render_nginx_conf  # noqa: E402

needs_nginx = pytest.mark.skipif(nginx_binary() is None and not os.environ.get("CI"),
                                 reason="nginx is not installed (apt-get install -y nginx)")
START = re.compile(r"convlab session start id=(\w+)")


def test_the_nginx_config_names_every_replica_and_keeps_a_browser_on_one(tmp_path):
    text = render_nginx_conf([8601, 8602, 8603], "127.0.0.1:8080", tmp_path)
    assert [int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+) ", text)] == [8601, 8602, 8603]
    assert "hash $convlab_affinity consistent;" in text
    assert "listen 127.0.0.1:8080;" in text and "@@" not in text
    stream = text[text.index("location /_stcore/stream"):]
    assert "proxy_set_header Upgrade $http_upgrade;" in stream.split("}")[0]


@needs_nginx
def test_debians_nginx_accepts_the_rendered_config(tmp_path):
    assert nginx_binary() is not None, "CI must have nginx (scripts/test installs it)"
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf([8601, 8602], "127.0.0.1:18080", tmp_path))
    checked = subprocess.run([nginx_binary(), "-t", "-q", "-p", str(tmp_path), "-c", str(conf),
                              "-e", str(tmp_path / "error.log")], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


async def _land(deployment: Deployment, cookie: str | None) -> int:
    """Open one session through nginx; the port of the replica that logged its start."""
    before = [len(START.findall(r.log.read_text())) for r in deployment.replicas]
    user = User(deployment.url, 0, "", cookie=cookie)
    loaded = await user.open()
    assert not loaded.errors, loaded.errors
    await user.close()
    after = [len(START.findall(r.log.read_text())) for r in deployment.replicas]
    landed = [r.port for r, b, a in zip(deployment.replicas, before, after, strict=True) if a > b]
    assert len(landed) == 1
    return landed[0]


@needs_nginx
def test_a_browser_keeps_its_replica_and_the_class_is_spread():
    assert nginx_binary() is not None, "CI must have nginx (scripts/test installs it)"
    with Deployment(2) as deployment:
        with urllib.request.urlopen(deployment.url + "/") as first_page:
            cookie = first_page.headers["Set-Cookie"]
        assert cookie.startswith("convlab_replica=") and "HttpOnly" in cookie
        # Ketama places each replica at points hashed from its (random) port, so how many of a
        # few keys land where is luck (8 keys once all landed on one); visit keys until both
        # replicas have been seen (even a 70/30 split misses one in 40 keys with p < 1e-6), and
        # check that every browser seen comes back to the same replica.
        async def visits() -> list[tuple[int, int]]:
            landed: list[tuple[int, int]] = []
            for i in range(40):
                cookie = f"convlab_replica=browser-{i}"
                landed.append((await _land(deployment, cookie), await _land(deployment, cookie)))
                if len({a for a, _ in landed}) == len(deployment.replicas) and i >= 3:
                    break
            return landed

        landed = run_async(visits())
    assert all(a == b for a, b in landed), landed  # the same browser, the same replica
    assert {a for a, _ in landed} == {r.port for r in deployment.replicas}  # the keys spread over both


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def session_lines():
    handler = _Lines()
    # Other tests (Streamlit's own logger setup) may leave this logger disabled or above INFO.
    level, disabled = telemetry.LOG.level, telemetry.LOG.disabled
    telemetry.LOG.setLevel(logging.INFO)
    telemetry.LOG.disabled = False
    telemetry.LOG.addHandler(handler)
    yield handler.lines
    telemetry.LOG.removeHandler(handler)
    telemetry.LOG.setLevel(level)
    telemetry.LOG.disabled = disabled


def test_a_session_logs_its_start_once_however_many_runs(session_lines):
    # Every AppTest runs as the same fake session: the script forgets the record an earlier test's
    # session left (a session-scoped cache can only be cleared from the script's own thread).
    at = AppTest.from_string(
        "import streamlit as st\nfrom ui import telemetry\n"
        "if not st.session_state.get('fresh'):\n"
        "    telemetry._session_record.clear()\n    st.session_state['fresh'] = True\n"
        "telemetry.log_session()\n", default_timeout=60)
    at.run()
    at.run()
    at.run()
    starts = [line for line in session_lines if "convlab session start" in line]
    assert len(starts) == 1
    assert re.fullmatch(r"convlab session start id=\w{8} sessions=\d+ rss=\d+MB", starts[0])


def test_a_session_end_says_how_long_it_lasted(session_lines):
    record = telemetry.SessionRecord("abcdef12", started=0.0)
    telemetry.session_ended(record)
    assert re.fullmatch(r"convlab session end id=abcdef12 duration=\d+\.\ds sessions=\d+ rss=\d+MB",
                        session_lines[-1])
    assert float(session_lines[-1].split("duration=")[1].split("s")[0]) > 0


def run_async(coro):
    """asyncio.run in a thread of its own: Playwright's sync API may have left a loop running here."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
