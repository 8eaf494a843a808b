"""Make sure Debian's nginx exists for the failover test (`tests/test_failover.py`); called by `scripts/test`.

The test starts nginx itself, unprivileged, from a temporary directory: only the binary is needed. Found
-> nothing to do. Otherwise, as root with apt-get, install Debian's package (and stop the system nginx that
the package's install may start: the test needs no daemon). Still none: exit 1 under CI (the `CI`
variable is set), else warn (the failover test will be skipped).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DEBIAN_NGINX = Path("/usr/sbin/nginx")


def find_nginx() -> Path | None:
    """The nginx binary the failover test will use, or None."""
    found = shutil.which("nginx")
    return Path(found) if found else DEBIAN_NGINX if DEBIAN_NGINX.exists() else None


def _run(command: list[str]) -> int:
    print("ensure_nginx: $ " + " ".join(command), flush=True)
    return subprocess.run(command, check=False).returncode


def install_nginx() -> None:
    """Debian's nginx as root; a daemon the package's scripts started is stopped again."""
    if getattr(os, "geteuid", lambda: -1)() != 0 or not shutil.which("apt-get"):
        return
    if _run(["apt-get", "install", "-y", "nginx"]) != 0:  # a stale package list: refresh it once
        _run(["apt-get", "update"])
        _run(["apt-get", "install", "-y", "nginx"])
    nginx = find_nginx()
    if nginx is not None and Path("/run/nginx.pid").exists():
        _run([str(nginx), "-s", "quit"])


def main() -> int:
    """Find or install nginx; print one line saying which. Non-zero only under CI without one."""
    nginx = find_nginx()
    if nginx is None:
        install_nginx()
        nginx = find_nginx()
    if nginx is not None:
        print(f"ensure_nginx: using nginx at {nginx}")
        return 0
    if os.environ.get("CI"):
        print("ensure_nginx: ERROR nginx could not be installed; CI must run the failover test",
              file=sys.stderr)
        return 1
    print("ensure_nginx: WARNING no nginx found or installed; the failover test will be skipped "
          "(install it with `apt-get install nginx`)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
