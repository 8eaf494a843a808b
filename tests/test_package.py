"""The core package stays a core: importing it pulls in no streamlit and changes no process settings."""

import re
import subprocess
import sys
from pathlib import Path

import convlab

PACKAGE_DIR = Path(convlab.__file__).parent
REPO_ROOT = PACKAGE_DIR.parent


def run_python(code: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter from the repository root (fresh: sys.modules starts empty)."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_importing_convlab_does_not_import_streamlit():
    result = run_python("import sys, convlab; assert 'streamlit' not in sys.modules, 'streamlit imported'")
    assert result.returncode == 0, result.stderr


def test_no_convlab_module_imports_streamlit_even_lazily():
    # Every module, not only those __init__ imports: a page-only helper must not creep into the core.
    code = (
        "import importlib, pkgutil, sys, convlab\n"
        "for m in pkgutil.walk_packages(convlab.__path__, 'convlab.'):\n"
        "    importlib.import_module(m.name)\n"
        "    assert 'streamlit' not in sys.modules, m.name\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr


def test_no_file_under_convlab_mentions_an_import_of_streamlit():
    pattern = re.compile(r"^\s*(import\s+streamlit|from\s+streamlit\b)", re.MULTILINE)
    offenders = [str(p) for p in sorted(PACKAGE_DIR.rglob("*.py")) if pattern.search(p.read_text())]
    assert offenders == []


def test_importing_convlab_keeps_torchs_thread_count():
    # Thread count is a process-wide choice for the app's entry point, never a side effect of an import.
    code = "import torch; n = torch.get_num_threads(); import convlab; assert torch.get_num_threads() == n"
    result = run_python(code)
    assert result.returncode == 0, result.stderr
