"""Mutation testing of the core (`convlab/`) and the pure UI modules with mutmut; not run in CI.

Usage:
    python benchmarks/mutation.py [--max-children 2] [--workdir DIR] [--app-tests] [--report-only]
                                  [--rerun-survivors] [--json PATH] [MUTANT_GLOB ...]

mutmut (`pip install mutmut==3.8.1`) copies the code into `<workdir>/mutants/`, plants one change at a
time (an operator, a constant, a dropped argument, ...) and runs the tests that execute the changed
function, fastest first, stopping at the first failure. A mutant is *killed* when a test fails (or the
run exceeds its CPU budget: a mutant that loops forever is noticed too) and *survives* when every test
still passes. The score is killed / (total - mutants no test executes), per module and overall, and
every survivor is listed as file:line and the change.

What is mutated: every module of `convlab/` (`convlab/web/` is JS and CSS, so mutmut skips it), the
share-link codec `ui/share.py` and the pure text helpers of `ui/widgets.py` (`show_source`, which only
calls `st.code`, is left out). The other `ui/` modules render Streamlit elements and are covered by the
AppTest and browser tests instead.

Which tests run: the unit tests (`tests/test_*.py` without the AppTest files `tests/test_app_*.py`,
which take about a minute per pass, and without `tests/browser`, which needs Chromium). `--app-tests`
adds the AppTest files. `tests/test_package.py` is left out: it checks imports in a subprocess, which
mutmut cannot attribute to a function.

Nothing in the repository is touched: the script copies the code and tests to a work directory
(a fresh temporary one unless --workdir is given; an existing --workdir is reused, and mutmut then
re-runs only the mutants whose function or tests changed), writes mutmut's configuration there as
`setup.cfg`, and adds a `tests/conftest.py` that makes hypothesis deterministic and skips its
shrinking (a failing example is enough to kill a mutant; shrinking it only costs time). Torch runs
one thread per worker (`OMP_NUM_THREADS=1`): mutmut forks its workers from a process that has already
used torch, and a forked OpenMP pool can hang, which mutmut would count as a timeout (a false kill).

Runtime on the 2-core machine with --max-children 2: see benchmarks/MUTATION.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MUTATE = ["convlab/*.py", "ui/share.py", "ui/widgets.py"]
# Lines never mutated (regular expressions, searched in every mutated file): Streamlit rendering calls.
DO_NOT_MUTATE_LINES = [r"\bst\.code\("]
# Every unit test file, including the ones added to kill mutants (tests/test_*_mutants.py).
UNIT_TESTS = sorted(
    f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")
    if not p.name.startswith("test_app_") and p.name != "test_package.py"
)
APP_TESTS = ["tests/test_app_lesson.py", "tests/test_app_playground.py", "tests/test_app_train.py"]

CONFTEST = '''"""Written by benchmarks/mutation.py in its work copy: deterministic hypothesis, no shrink."""
from hypothesis import Phase, settings

settings.register_profile(
    "mutation", derandomize=True, database=None, print_blob=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
settings.load_profile("mutation")
'''

# mutmut's exit codes (mutmut.stats.status_by_exit_code in 3.8.1), folded into the four outcomes reported.
KILLED, SURVIVED, NO_TESTS, OTHER = "killed", "survived", "no tests", "other"
OUTCOME = {1: KILLED, 3: KILLED, -24: KILLED, 24: KILLED, 152: KILLED, 255: KILLED, 36: KILLED,
           0: SURVIVED, 5: NO_TESTS, 33: NO_TESTS}


def prepare(workdir: Path, tests: list[str]) -> None:
    """Copy the code and tests into workdir and write mutmut's configuration there."""
    workdir.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", "browser")
    for name in ("convlab", "ui", "tests"):
        # dirs_exist_ok: on a reused workdir only changed files get a new mtime, so mutmut's cache holds.
        shutil.copytree(ROOT / name, workdir / name, ignore=ignore, dirs_exist_ok=True)
    for name in ("pyproject.toml", "streamlit_app.py"):
        shutil.copy2(ROOT / name, workdir / name)
    if (ROOT / "pages").is_dir():  # the AppTest files run the real app
        shutil.copytree(ROOT / "pages", workdir / "pages", ignore=ignore, dirs_exist_ok=True)
    conftest = workdir / "tests" / "conftest.py"
    if not conftest.exists() or conftest.read_text() != CONFTEST:
        conftest.write_text(CONFTEST)

    def lines(values: list[str]) -> str:
        return "".join(f"\n    {v}" for v in values)

    cfg = (
        "[mutmut]\n"
        f"source_paths ={lines(['convlab', 'ui'])}\n"
        f"only_mutate ={lines(MUTATE)}\n"
        f"do_not_mutate_patterns ={lines(DO_NOT_MUTATE_LINES)}\n"
        f"pytest_add_cli_args_test_selection ={lines(tests)}\n"
        f"pytest_add_cli_args ={lines(['-p', 'no:cacheprovider', '-p', 'no:randomly'])}\n"
        # The CPU budget per mutant is (expected seconds + constant) x multiplier x 2.
        "timeout_multiplier = 3\n"
        "timeout_constant = 2\n"
        "use_git_change_detection = False\n"
    )
    setup_cfg = workdir / "setup.cfg"
    if not setup_cfg.exists() or setup_cfg.read_text() != cfg:
        setup_cfg.write_text(cfg)


def run_mutmut(workdir: Path, max_children: int, globs: list[str], log: Path) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    env.pop("PYTHONPATH", None)
    cmd = ["mutmut", "run", "--max-children", str(max_children), *globs]
    shown = cmd if len(globs) <= 5 else [*cmd[:4], f"<{len(globs)} mutant names>"]
    print("$ (cd", workdir, "&&", " ".join(shown), ")", flush=True)
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        sys.exit(f"mutmut run failed (exit {proc.returncode}); the end of {log}:\n{tail}")
    return elapsed


def read_results(workdir: Path) -> dict[str, dict[str, int | None]]:
    """{source file: {mutant name: exit code}} from mutmut's .meta files."""
    results = {}
    for meta in sorted((workdir / "mutants").rglob("*.py.meta")):
        source = str(meta.relative_to(workdir / "mutants"))[: -len(".meta")]
        results[source] = json.loads(meta.read_text())["exit_code_by_key"]
    return results


def function_spans(source: str) -> dict[str, tuple[int, int]]:
    """{mutmut's mangled function name: (first line, last line)} for the functions and methods of a module."""
    spans = {}
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            spans[f"x_{node.name}"] = (node.lineno, node.end_lineno)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    spans[f"xǁ{node.name}ǁ{item.name}"] = (item.lineno, item.end_lineno)
    return spans


def mutant_diff(workdir: Path, name: str, source_path: str) -> str:
    """The unified diff of one mutant against its function, as `mutmut show` prints it."""
    try:  # in-process: `mutmut show` per survivor would start a new interpreter each time
        from mutmut.mutation.diff_apply import get_diff_for_mutant

        cwd = os.getcwd()
        os.chdir(workdir)
        try:
            return get_diff_for_mutant(name, path=Path(source_path))
        finally:
            os.chdir(cwd)
    except Exception:  # another mutmut version: fall back to its command line
        cmd = ["mutmut", "show", name]
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
        return proc.stdout


def describe_mutant(workdir: Path, name: str, source_path: str) -> tuple[int | None, str]:
    """(line in the original file, the change as '- old / + new') for one mutant."""
    diff = mutant_diff(workdir, name, source_path)
    removed = [ln[1:] for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    added = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    change = " / ".join([*(f"- {r.strip()}" for r in removed), *(f"+ {a.strip()}" for a in added)])
    original = (ROOT / source_path).read_text()
    function = name.rsplit(".", 1)[1].rsplit("__mutmut_", 1)[0]
    first, last = function_spans(original).get(function, (1, original.count("\n") + 1))
    line = None
    if removed:
        lines = original.splitlines()
        for n in range(first, last + 1):
            if lines[n - 1].strip() == removed[0].strip():
                line = n
                break
    return line or first, change


def report(workdir: Path, results: dict, elapsed: float | None, json_path: Path | None) -> float:
    per_module = {}
    totals = Counter()
    survivors = []
    for source, codes in results.items():
        counts = Counter("not run" if code is None else OUTCOME.get(code, OTHER) for code in codes.values())
        per_module[source] = counts
        totals.update(counts)
        survivors += [(source, name) for name, code in sorted(codes.items()) if OUTCOME.get(code) == SURVIVED]

    def score(c: Counter) -> tuple[int, int, float]:
        tested = c[KILLED] + c[SURVIVED] + c[OTHER]
        return c[KILLED], tested, (100.0 * c[KILLED] / tested if tested else 100.0)

    print(f"\n{'module':<22} {'killed':>7} {'tested':>7} {'score':>7} {'survived':>9} {'no tests':>9}")
    for source, c in per_module.items():
        k, t, s = score(c)
        print(f"{source:<22} {k:>7} {t:>7} {s:>6.1f}% {c[SURVIVED]:>9} {c[NO_TESTS]:>9}")
    k, t, s = score(totals)
    print(f"{'overall':<22} {k:>7} {t:>7} {s:>6.1f}% {totals[SURVIVED]:>9} {totals[NO_TESTS]:>9}")
    if totals["not run"]:
        print(f"({totals['not run']} mutants not run yet)")
    if totals[OTHER]:
        print(f"({totals[OTHER]} suspicious or crashed mutants count as not killed)")
    if elapsed is not None:
        print(f"mutmut run took {elapsed / 60:.1f} min")

    rows = []
    if survivors:
        print(f"\nSurviving mutants ({len(survivors)}):")
        for source, name in survivors:
            line, change = describe_mutant(workdir, name, source)
            rows.append({"file": source, "line": line, "mutant": name, "change": change})
            print(f"  {source}:{line}  {name.rsplit('.', 1)[1]}\n      {change}")
    if json_path:
        json_path.write_text(json.dumps({
            "score": s, "killed": k, "tested": t, "no_tests": totals[NO_TESTS],
            "per_module": {src: dict(c) for src, c in per_module.items()},
            "survivors": rows, "minutes": None if elapsed is None else elapsed / 60,
        }, indent=1))
    return s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant workers (default 2)")
    parser.add_argument("--workdir", type=Path, help="reuse this work copy (default: a new temporary one)")
    parser.add_argument("--app-tests", action="store_true", help="also run the AppTest files (slow)")
    parser.add_argument("--report-only", action="store_true", help="report the last run in --workdir")
    parser.add_argument("--rerun-survivors", action="store_true",
                        help="with --workdir: test again only the mutants that survived the last run or had "
                             "no tests (after adding tests)")
    parser.add_argument("--json", type=Path, help="also write the scores and survivors as JSON")
    parser.add_argument("globs", nargs="*", help="only these mutants, e.g. 'convlab.ops.*'")
    args = parser.parse_args()

    if shutil.which("mutmut") is None:
        sys.exit("mutmut is not installed: pip install mutmut==3.8.1")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="convlab-mutation-"))
    workdir = workdir.resolve()
    elapsed = None
    if not args.report_only:
        tests = UNIT_TESTS + (APP_TESTS if args.app_tests else [])
        prepare(workdir, tests)
        names = args.globs
        if args.rerun_survivors:
            # mutmut keeps a finished mutant's result unless the mutant is named on the command line.
            wanted = re.compile("|".join(re.escape(g).replace(r"\*", ".*") for g in args.globs or ["*"]))
            names = [name for codes in read_results(workdir).values()
                     for name, code in codes.items()
                     if OUTCOME.get(code) in (SURVIVED, NO_TESTS) and wanted.fullmatch(name)]
        if names or not args.rerun_survivors:
            elapsed = run_mutmut(workdir, args.max_children, names, workdir / "mutmut.log")
    results = read_results(workdir)
    if not results:
        sys.exit(f"no mutmut results in {workdir}/mutants")
    if args.globs:
        pattern = re.compile("|".join(re.escape(g).replace(r"\*", ".*") for g in args.globs))
        results = {src: {n: c for n, c in codes.items() if pattern.fullmatch(n)}
                   for src, codes in results.items()}
        results = {src: codes for src, codes in results.items() if codes}
    report(workdir, results, elapsed, args.json)
    print(f"\nwork copy: {workdir} (mutmut show <name> there shows a mutant; rerun with --workdir to reuse)")


if __name__ == "__main__":
    main()
