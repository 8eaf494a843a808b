"""The core package stays a core: importing it pulls in no streamlit and changes no process settings."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import convlab

PACKAGE_DIR = Path(convlab.__file__).parent

# Runs in a fresh interpreter, where sys.modules starts empty; one run serves every test below
# because importing torch costs seconds.
PROBE = """
import importlib, json, pkgutil, sys
import torch
threads_before = torch.get_num_threads()
import convlab
report = {
    "streamlit_after_import": "streamlit" in sys.modules,
    "threads": [threads_before, torch.get_num_threads()],
    "modules_pulling_streamlit": [],
}
for m in pkgutil.walk_packages(convlab.__path__, "convlab."):
    importlib.import_module(m.name)
    if "streamlit" in sys.modules:
        report["modules_pulling_streamlit"].append(m.name)
        break
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def fresh_import() -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PACKAGE_DIR.parent, capture_output=True, text=True, timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_convlab_does_not_import_streamlit(fresh_import):
    assert fresh_import["streamlit_after_import"] is False


def test_no_convlab_module_imports_streamlit_even_lazily(fresh_import):
    # Every module, not only those __init__ imports: a page-only helper must not creep into the core.
    assert fresh_import["modules_pulling_streamlit"] == []


def test_importing_convlab_keeps_torchs_thread_count(fresh_import):
    # The thread count is a process-wide choice for the app's entry point, not a side effect of an import.
    before, after = fresh_import["threads"]
    assert after == before


def test_no_file_under_convlab_imports_streamlit():
    pattern = re.compile(r"^\s*(import\s+streamlit|from\s+streamlit\b)", re.MULTILINE)
    offenders = [str(p) for p in sorted(PACKAGE_DIR.rglob("*.py")) if pattern.search(p.read_text())]
    assert offenders == []


def test_the_server_compresses_its_websocket():
    """A stroke's rerun is mostly the last one again: permessage-deflate makes it ~17x smaller on the wire."""
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableWebsocketCompression"] is True
