"""Make sure a Chromium exists for the browser tests (`tests/browser/`); called by `scripts/test`.

Found: Debian's `/usr/bin/chromium` or Playwright's own Chromium -> nothing to do. Otherwise install
one: as root with apt-get, Debian's package; else `python -m playwright install chromium`. Still
none: exit 1 under CI (the `CI` variable is set), else warn (the browser tests will be skipped).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")


def playwright_chromium() -> Path | None:
    """Playwright's own Chromium, if it is downloaded."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as pw:
            path = Path(pw.chromium.executable_path)
    except Error:
        return None
    return path if path.exists() else None


def find_chromium() -> Path | None:
    """The Chromium the browser tests will use, or None."""
    return DEBIAN_CHROMIUM if DEBIAN_CHROMIUM.exists() else playwright_chromium()


def _run(command: list[str]) -> None:
    print("ensure_browser: $ " + " ".join(command), flush=True)
    subprocess.run(command, check=False)


def install_chromium() -> None:
    """Debian's Chromium as root (Playwright 1.65 drives it fine), else Playwright's download."""
    is_root = getattr(os, "geteuid", lambda: -1)() == 0
    if is_root and shutil.which("apt-get"):
        _run(["apt-get", "update"])
        _run(["apt-get", "install", "-y", "chromium"])
        if find_chromium() is not None:
            return
    _run([sys.executable, "-m", "playwright", "install", "chromium"])


def main() -> int:
    """Find or install Chromium; print one line saying which. Non-zero only under CI without one."""
    chromium = find_chromium()
    if chromium is None:
        install_chromium()
        chromium = find_chromium()
    if chromium is not None:
        print(f"ensure_browser: using Chromium at {chromium}")
        return 0
    if os.environ.get("CI"):
        print(
            "ensure_browser: ERROR no Chromium could be installed; CI must run the browser tests",
            file=sys.stderr,
        )
        return 1
    print(
        "ensure_browser: WARNING no Chromium found or installed; browser tests will be skipped "
        "(install one with `apt-get install chromium` or `python -m playwright install chromium`)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
