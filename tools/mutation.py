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
import ast
import difflib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "tools" / "mutation_equivalent.toml"
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


KINDS = (
    (
        "`device=` dropped or None (equivalent on the CPU the tests run on)",
        lambda o, m: "device=" in o and ("device=" not in m or "device=None" in m),
    ),
    (
        "`strict=` of zip changed (equivalent: the zipped sequences have equal lengths)",
        lambda o, m: "strict=" in o,
    ),
    ("string literal changed (a log/report text, a key, or a case-insensitive name)", lambda o, m: "XX" in m),
    (
        "argument set to None or dropped (a dtype or an optional argument)",
        lambda o, m: ("None" in m and "None" not in o) or ", )" in m or "(, " in m,
    ),
)


def _functions(path: Path) -> dict[str, list[str]]:
    """Source lines of every function and method of a mutmut-generated file, by name."""
    text = path.read_text()
    lines = text.splitlines()
    found: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = lines[node.lineno - 1 : node.end_lineno]
    return found


def change(functions: dict[str, list[str]], name: str) -> tuple[str, str]:
    """The lines mutant ``name`` changes, before and after (joined by " / ", 160 characters at most)."""
    base = name.rsplit("__mutmut_", 1)[0]
    original, mutated = functions.get(f"{base}__mutmut_orig", []), functions.get(name, [])
    diff = list(difflib.ndiff(original[1:], mutated[1:]))
    removed = [line[1:].strip() for line in diff if line.startswith("- ")]
    added = [line[1:].strip() for line in diff if line.startswith("+ ")]
    same_name = [line.replace(name, f"{base}__mutmut_orig", 1) for line in mutated[:1]]
    if original[:1] != same_name:  # a default argument in the signature
        removed.insert(0, original[0].strip() if original else "")
        added.insert(0, mutated[0].strip() if mutated else "")
    return " / ".join(removed)[:160], " / ".join(added)[:160]


def argued_equivalent(path: Path = EQUIVALENTS) -> dict[str, dict[str, dict[str, str]]]:
    """``{module: {mutant name: {"mutated": line, "why": reason}}}`` from ``tools/mutation_equivalent.toml``:
    the survivors read one by one and argued equivalent (or harmless) there. ``mutated`` is the mutated line
    as docs/mutation_survivors.md shows it, so that an entry whose mutant was renumbered (its function
    changed) no longer labels whatever mutant now has its name."""
    import tomllib

    return tomllib.loads(path.read_text()) if path.exists() else {}


def _argument(entry: dict[str, str] | None, after: str) -> str:
    """The reason of an argued-equivalent entry, if it argues about this mutated line."""
    return entry["why"] if entry and entry.get("mutated") == after else ""


def survivors(
    mutants_dir: Path, equivalents: dict[str, dict[str, dict[str, str]]] | None = None
) -> list[dict[str, str]]:
    """Every mutant that survived or that no selected test ran: module, name, the changed line before and
    after, and a kind: argued equivalent (with its reason, from ``equivalents``), a recognised equivalent
    sort, or a test gap."""
    equivalents = argued_equivalent() if equivalents is None else equivalents
    rows = []
    for meta in sorted(mutants_dir.glob("src/**/*.py.meta")):
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        left = {k: _status(c) for k, c in exit_codes.items() if _status(c) in ("survived", "no tests")}
        if not left:
            continue
        functions = _functions(meta.with_suffix(""))
        module = str(meta.relative_to(mutants_dir).with_suffix("")).removeprefix("src/agelab/")
        for key, status in sorted(
            left.items(), key=lambda item: (item[0].rsplit("_", 1)[0], int(item[0].rsplit("_", 1)[1]))
        ):
            name = key.rsplit(".", 1)[1]
            before, after = change(functions, name)
            kind = next((label for label, test in KINDS if test(before, after)), "test gap or unclassified")
            reason = _argument(equivalents.get(module, {}).get(name.replace("ǁ", ".")), after)
            if reason:
                kind = "argued equivalent"
            if status == "no tests":
                kind = "no selected test runs this function"
            rows.append(
                {
                    "module": module,
                    "mutant": name.replace("ǁ", "."),
                    "before": before,
                    "after": after,
                    "kind": kind,
                    "reason": reason,
                }
            )
    return rows


def stale_equivalents(
    rows: list[dict[str, str]], equivalents: dict[str, dict[str, dict[str, str]]]
) -> list[tuple[str, str]]:
    """The (module, mutant) pairs argued equivalent that the last run did not list as survivors with the
    argued mutated line: killed by a newer test, or renumbered after the function changed (then their
    argument must be read again)."""
    listed = {(r["module"], r["mutant"]): r["after"] for r in rows}
    return [
        (module, name)
        for module, entries in equivalents.items()
        for name, entry in entries.items()
        if not _argument(entry, listed.get((module, name), "\0"))
    ]


def survivors_markdown(rows: list[dict[str, str]]) -> str:
    def cell(text: str) -> str:
        return "`" + text.replace("`", "'").replace("|", "\\|") + "`" if text else ""

    lines = [
        "# Every surviving mutant",
        "",
        "Written by `python tools/mutation.py --survivors docs/mutation_survivors.md` from the last run's",
        "results (docs/testing.md explains the kinds).",
        "`mutmut show <module>.<mutant>` prints any one in full.",
        "",
        "| kind | mutants |",
        "|---|---|",
    ]
    lines += [f"| {kind} | {n} |" for kind, n in Counter(r["kind"] for r in rows).most_common()]
    lines += ["", "An argued-equivalent mutant's reason is in `tools/mutation_equivalent.toml` and its row."]
    for module in dict.fromkeys(r["module"] for r in rows):
        lines += [
            "",
            f"## {module}",
            "",
            "| mutant | original line | mutated line | kind |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['mutant']} | {cell(r['before'])} | {cell(r['after'])} | "
            + (f"argued equivalent: {r['reason']}" if r["reason"] else r["kind"]).replace("|", "\\|")
            + " |"
            for r in rows
            if r["module"] == module
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant runs (default 2)")
    parser.add_argument("--report-only", action="store_true", help="only print the table of the last run")
    parser.add_argument("--fresh", action="store_true", help="delete mutants/ first (no cached results)")
    parser.add_argument(
        "--survivors", type=Path, help="also write every surviving mutant to this Markdown file"
    )
    parser.add_argument(
        "--rerun-survivors",
        action="store_true",
        help="then run the survivors again (mutmut keeps a mutant's result until its function changes)",
    )
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
        run = [str(mutmut), "run", "--max-children", str(args.max_children)]
        subprocess.run(run, env=env, check=False)  # every mutant without a result (new or changed functions)
        if args.rerun_survivors:  # a new test may kill them: mutmut keeps a mutant's result otherwise
            left = [
                f"agelab.{r['module'][:-3].replace('/', '.')}.{r['mutant'].replace('.', 'ǁ')}"
                for r in survivors(ROOT / "mutants", {})
            ]
            subprocess.run([*run, *left], env=env, check=False)
        print(f"\nmutmut run: {(time.monotonic() - start) / 60:.1f} min")

    counts = module_counts(ROOT / "mutants")
    if not counts:
        print("no results in mutants/: run without --report-only first", file=sys.stderr)
        return 2
    print(table(counts))
    if args.survivors:
        rows = survivors(ROOT / "mutants")
        args.survivors.write_text(survivors_markdown(rows))
        print(f"{len(rows)} surviving mutants listed in {args.survivors}")
        stale = stale_equivalents(rows, argued_equivalent())
        for module, name in stale:
            print(f"tools/mutation_equivalent.toml: {module} {name}: no longer a survivor with that line")
    total: Counter = sum(counts.values(), Counter())
    return 1 if score(total) < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
