"""The package's dependency rules: the inference layer stands on the library alone, training and the
pipelines never reach up into it, and no two modules import each other (deferred imports included: a cycle
hidden inside a function is still a cycle)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SOURCE / "agelab"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _target(name: str) -> str | None:
    """The agelab module an imported name lives in: the name itself if it is a module, else its parent."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Every agelab module ``module`` imports, at the top or inside a function (TYPE_CHECKING blocks too)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([package.rsplit(".", node.level - 1)[0], base]).strip(".")
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith("agelab"):
                target = _target(name)
                if target and target != module:
                    found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_cycle_finder_finds_a_cycle_hidden_three_modules_deep():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_walker_sees_deferred_and_relative_imports(tmp_path):
    """The walker itself: ``face_ages`` → ``inference`` → ``serving`` → ``face_ages`` hid behind a deferred
    import before the inference package; a function-level import must count."""
    assert "agelab.models.bundle" in imports_of("agelab.inference.loading")
    assert "agelab.inference.serving" in imports_of("agelab.datasets.model_datasets")  # deferred, in a method


def test_no_import_cycle_in_the_package():
    assert import_cycles(GRAPH) == []


@pytest.mark.parametrize("layer", ["agelab.training", "agelab.pipelines"])
def test_training_and_the_pipelines_never_import_the_inference_layer(layer):
    offenders = {
        module: sorted(t for t in targets if t.startswith("agelab.inference"))
        for module, targets in GRAPH.items()
        if module.startswith(layer)
    }
    assert {m: t for m, t in offenders.items() if t} == {}


FORBIDDEN_IN_INFERENCE = ("agelab.training", "agelab.pipelines", "agelab.hooks")


def test_the_inference_layer_imports_no_training_pipeline_or_kedro_module():
    offenders = {
        module: sorted(t for t in targets if t.startswith(FORBIDDEN_IN_INFERENCE))
        for module, targets in GRAPH.items()
        if module.startswith("agelab.inference")
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_importing_agelab_inference_loads_no_kedro_and_no_training_code():
    """What a user's process holds after ``import agelab.inference`` (the whole public API): checked in a
    fresh interpreter, so nothing this test session imported earlier can hide a dependency."""
    probe = (
        "import json, sys, agelab.inference; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'kedro' "
        "or m.startswith(('agelab.training', 'agelab.pipelines')))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_no_test_module_imports_another_test_module():
    """Shared test helpers live in conftest files (fixtures), so each test module stands alone."""
    tests = Path(__file__).resolve().parent
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            offenders += [
                f"{path.relative_to(tests)}: {n}"
                for n in names
                if n.startswith("tests.") and n.rsplit(".", 1)[-1] != "conftest"
            ]
    assert offenders == []


def test_no_pipeline_imports_another_pipelines_nodes():
    """What two pipelines share (e.g. compare training the appearance subnet, HPS and SPS) lives in the
    library, not in one pipeline's ``nodes``."""
    offenders = {}
    for module, targets in GRAPH.items():
        parts = module.split(".")
        if parts[:2] != ["agelab", "pipelines"] or len(parts) < 3:
            continue
        own = parts[2]
        bad = [
            t
            for t in targets
            if t.startswith("agelab.pipelines.") and t.endswith(".nodes") and t.split(".")[2] != own
        ]
        if bad:
            offenders[module] = sorted(bad)
    assert offenders == {}
