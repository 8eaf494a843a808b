"""Run ConvLab as N Streamlit replicas behind nginx on one machine (one replica per core).

Usage: python deploy/run_replicas.py [--replicas N] [--port 8080] [--address 0.0.0.0]
                                     [--first-port 8601] [--dir DIR]

Starts N `streamlit run streamlit_app.py` processes on consecutive loopback ports (only nginx reaches
them), each with the same cookie secret (`$CONVLAB_COOKIE_SECRET`, else one made for this launch) and
the same XSRF/CORS settings, waits until every one answers `/_stcore/health`, then runs Debian's nginx
unprivileged in `--dir` with the configuration rendered from `deploy/nginx.conf.template` (one cookie
per browser decides its replica: see the comments there). Ctrl-C stops everything. A replica that dies
is reported and left down: its users reconnect through nginx to another replica and their pages come
back from the share link in the address bar.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
HEALTH_TIMEOUT_S = 90.0
SECRET_ENV = "CONVLAB_COOKIE_SECRET"
# Every replica gets the same security settings: a browser's XSRF cookie (set by whichever replica served
# its page) must be accepted by the replica that receives its upload, and st.login cookies are signed with
# the cookie secret. CORS stays on: the page and the websocket are same-origin through nginx.
REPLICA_FLAGS = (
    "--server.headless", "true",
    "--server.enableXsrfProtection", "true",
    "--server.enableCORS", "true",
    "--server.fileWatcherType", "none",
    "--browser.gatherUsageStats", "false",
)  # fmt: skip


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Poll `url`/_stcore/health until it answers `ok`; raise with the log's tail if the process exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else ""
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)  # a process still booting: nothing else to wait on
    raise RuntimeError(f"{url} not healthy after {timeout_s:.0f} s")


def stop_process(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    """Stop one child by its PID: `sig`, wait, then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Replica:
    """One `streamlit run` of the app on a loopback port, its output in `log`."""

    def __init__(self, port: int, secret: str, log: Path, *, script: Path = REPO / "streamlit_app.py",
                 flags: Sequence[str] = ()) -> None:
        self.port, self.secret, self.log, self.script, self.flags = port, secret, log, script, list(flags)
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "replica not started"
        return self.process.pid

    def start(self) -> None:
        """Start the process (its own process group, so Ctrl-C reaches it through us only)."""
        env = dict(os.environ, STREAMLIT_SERVER_COOKIE_SECRET=self.secret)  # not on the command line
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "streamlit", "run", str(self.script),
                   "--server.address", "127.0.0.1", "--server.port", str(self.port),
                   *REPLICA_FLAGS, *self.flags]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def wait_healthy(self, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
        """Block until the replica answers its health check."""
        assert self.process is not None, "replica not started"
        wait_healthy(self.url, self.process, self.log, timeout_s)

    def kill(self) -> None:
        """Kill the replica at once (SIGKILL), as a crash or an out-of-memory kill would."""
        stop_process(self.process, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the replica cleanly."""
        stop_process(self.process)


def nginx_binary() -> str | None:
    """Debian's nginx (`apt-get install nginx`), or None."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def render_nginx_conf(ports: Sequence[int], listen: str, prefix: Path, *, workers: str = "1",
                      access_log: str = "off") -> str:
    """The nginx.conf for replicas on these loopback ports, listening on `listen` (`addr:port`)."""
    servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in ports)
    text = TEMPLATE.read_text()
    for name, value in {"UPSTREAM_SERVERS": servers, "LISTEN": listen, "PREFIX": str(prefix),
                        "WORKERS": workers, "ACCESS_LOG": access_log}.items():
        text = text.replace(f"@@{name}@@", value)
    assert "@@" not in text, "a placeholder of the nginx template was left unfilled"
    return text


class Nginx:
    """Debian's nginx run unprivileged in the foreground from a directory of its own."""

    def __init__(self, ports: Sequence[int], *, listen_port: int, address: str = "127.0.0.1",
                 prefix: Path | None = None, workers: str = "1", access_log: bool = False) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed: `apt-get install -y nginx` (Debian's package)")
        self.binary = binary
        self.prefix = prefix or Path(tempfile.mkdtemp(prefix="convlab-nginx-"))
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.port = listen_port
        self.url = f"http://{'127.0.0.1' if address == '0.0.0.0' else address}:{listen_port}"
        self.conf = self.prefix / "nginx.conf"
        log = str(self.prefix / "access.log") if access_log else "off"
        self.conf.write_text(render_nginx_conf(ports, f"{address}:{listen_port}", self.prefix,
                                               workers=workers, access_log=log))
        self.process: subprocess.Popen[bytes] | None = None

    def _command(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.prefix), "-c", str(self.conf),
                "-e", str(self.prefix / "error.log"), *extra]

    def start(self) -> None:
        """Check the configuration, start nginx and wait until it answers health checks through a replica."""
        checked = subprocess.run(self._command("-t", "-q"), capture_output=True, text=True, check=False)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx rejected {self.conf}:\n{checked.stderr}")
        self.process = subprocess.Popen(self._command("-g", "daemon off;"), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, start_new_session=True)
        wait_healthy(self.url, self.process, self.prefix / "error.log", 15.0)

    def stop(self) -> None:
        """Stop nginx (SIGQUIT: a graceful shutdown that closes websockets)."""
        stop_process(self.process, signal.SIGQUIT)

    def error_log(self) -> str:
        """What nginx logged (warnings and errors)."""
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Deployment:
    """N replicas plus nginx in front of them: start() and stop(), or use as a context manager."""

    def __init__(self, replicas: int = 2, *, listen_port: int | None = None, address: str = "127.0.0.1",
                 first_port: int | None = None, directory: Path | None = None, secret: str | None = None,
                 workers: str = "1", access_log: bool = False) -> None:
        self.dir = directory or Path(tempfile.mkdtemp(prefix="convlab-deploy-"))
        self.secret = secret or os.environ.get(SECRET_ENV) or secrets.token_hex(32)
        ports = [first_port + i if first_port else free_port() for i in range(replicas)]
        self.replicas = [Replica(port, self.secret, self.dir / f"replica-{port}.log") for port in ports]
        self.nginx = Nginx(ports, listen_port=listen_port or free_port(address), address=address,
                           prefix=self.dir / "nginx", workers=workers, access_log=access_log)

    @property
    def url(self) -> str:
        """Where users connect: nginx."""
        return self.nginx.url

    def start(self) -> Deployment:
        """Start every replica (all booting at once), wait for their health, then start nginx."""
        try:
            for replica in self.replicas:
                replica.start()
            for replica in self.replicas:
                replica.wait_healthy()
            self.nginx.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop nginx, then every replica."""
        self.nginx.stop()
        for replica in self.replicas:
            replica.stop()

    def __enter__(self) -> Deployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=os.cpu_count() or 1,
                        help="Streamlit processes (default: one per core)")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port, where users connect")
    parser.add_argument("--address", default="0.0.0.0", help="nginx's address (default: every interface)")
    parser.add_argument("--first-port", type=int, default=8601, help="the first replica's loopback port")
    parser.add_argument("--dir", type=Path, help="logs and nginx's files (default: a new temp directory)")
    args = parser.parse_args()
    deployment = Deployment(args.replicas, listen_port=args.port, address=args.address,
                            first_port=args.first_port, directory=args.dir, workers="auto", access_log=True)
    deployment.start()
    print(f"ConvLab: {args.replicas} replicas on ports {', '.join(str(r.port) for r in deployment.replicas)}"
          f" behind nginx at {deployment.url} (health: {deployment.url}/_stcore/health); logs in "
          f"{deployment.dir}. Ctrl-C stops everything.", flush=True)
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    reported: set[int] = set()
    try:
        while not stopping:
            for replica in deployment.replicas:
                code = replica.process.poll() if replica.process else None
                if code is not None and replica.port not in reported:
                    reported.add(replica.port)
                    print(f"replica on port {replica.port} exited with {code}; its users move to the others "
                          f"(see {replica.log})", file=sys.stderr, flush=True)
            if deployment.nginx.process and deployment.nginx.process.poll() is not None:
                print(f"nginx exited:\n{deployment.nginx.error_log()}", file=sys.stderr)
                return 1
            time.sleep(1)
    finally:
        deployment.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
