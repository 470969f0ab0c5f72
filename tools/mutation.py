"""make mutation: mutation testing of the math modules against their own fast tests, and a per-module score.

mutmut (configured in ``[tool.mutmut]`` of pyproject.toml) mutates each module listed in ``only_mutate`` one
change at a time and runs, per mutant, only those tests of ``pytest_add_cli_args_test_selection`` that execute
the mutated function — so each module meets the tests that mirror it (and those that call it). This script
runs it with few workers and single-threaded BLAS, then reads mutmut's result files (``mutants/**/*.meta``)
and prints one line per module.

    python tools/mutation.py                 # run (results are cached in mutants/), then the table
    python tools/mutation.py --report-only   # the table of the last run
    mutmut results / mutmut show NAME        # the surviving mutants, and the diff of one

Score = (killed + timeout) / (killed + timeout + survived + no tests): a mutant that makes its tests hang has
been detected, and one that no selected test executes counts against the module. See docs/testing.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("killed", "timeout", "survived", "no tests")


def _status(exit_code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[exit_code]


def module_counts(mutants_dir: Path) -> dict[str, Counter]:
    """``{module path: Counter(status → number of mutants)}`` from mutmut's ``*.meta`` files."""
    counts: dict[str, Counter] = {}
    for meta in sorted(mutants_dir.glob("src/**/*.py.meta")):
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        module = str(meta.relative_to(mutants_dir).with_suffix("")).removeprefix("src/agelab/")
        counts[module] = Counter(_status(code) for code in exit_codes.values())
    return counts


def score(counter: Counter) -> float:
    detected = counter["killed"] + counter["timeout"]
    tested = detected + counter["survived"] + counter["no tests"]
    return 100.0 * detected / tested if tested else float("nan")


def table(counts: dict[str, Counter]) -> str:
    """A Markdown table: one row per module and a total."""
    lines = ["| module | " + " | ".join(COLUMNS) + " | other | score |", "|---" * (len(COLUMNS) + 3) + "|"]
    total: Counter = Counter()
    for module, counter in counts.items():
        total.update(counter)
        other = sum(counter.values()) - sum(counter[c] for c in COLUMNS)
        cells = " | ".join(str(counter[c]) for c in COLUMNS)
        shown = (
            f"{score(counter):.1f} %"
            if counter["killed"] + counter["timeout"] + counter["survived"]
            else "n/a"
        )
        lines.append(f"| {module} | {cells} | {other} | {shown} |")
    other = sum(total.values()) - sum(total[c] for c in COLUMNS)
    cells = " | ".join(f"**{total[c]}**" for c in COLUMNS)
    lines.append(f"| **total** | {cells} | **{other}** | **{score(total):.1f} %** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant runs (default 2)")
    parser.add_argument("--report-only", action="store_true", help="only print the table of the last run")
    parser.add_argument("--fresh", action="store_true", help="delete mutants/ first (no cached results)")
    parser.add_argument("--fail-under", type=float, default=0.0, help="exit 1 when the total score is lower")
    args = parser.parse_args(argv)

    os.chdir(ROOT)
    if not args.report_only:
        if args.fresh:
            shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        env = dict(
            os.environ,
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            MPLBACKEND="Agg",
            KEDRO_DISABLE_TELEMETRY="true",
            DO_NOT_TRACK="1",
        )
        env.pop("PYTHONPATH", None)  # mutmut puts its mutated copy, mutants/src, first on the path itself
        mutmut = Path(sys.executable).with_name("mutmut")
        start = time.monotonic()
        subprocess.run([str(mutmut), "run", "--max-children", str(args.max_children)], env=env, check=False)
        print(f"\nmutmut run: {(time.monotonic() - start) / 60:.1f} min")

    counts = module_counts(ROOT / "mutants")
    if not counts:
        print("no results in mutants/: run without --report-only first", file=sys.stderr)
        return 2
    print(table(counts))
    total: Counter = sum(counts.values(), Counter())
    return 1 if score(total) < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
