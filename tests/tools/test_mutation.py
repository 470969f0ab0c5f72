"""tools/mutation.py: the argued-equivalent list is readable, names mutated modules, and labels its rows."""

import sys
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT / "tools"))
import mutation  # noqa: E402


def test_every_argued_equivalent_names_a_mutated_module_and_gives_a_reason():
    equivalents = mutation.argued_equivalent()
    assert equivalents, "tools/mutation_equivalent.toml is empty or missing"
    mutated = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    for module, reasons in equivalents.items():
        path = f"src/agelab/{module}"
        assert any(path == p or (p.endswith("/*") and path.startswith(p[:-1])) for p in mutated), module
        for name, entry in reasons.items():
            assert "__mutmut_" in name and set(entry) == {"mutated", "why"}, (module, name)
            assert entry["mutated"] and len(entry["why"]) > 10, (module, name)


def test_an_argued_mutant_is_labelled_with_its_reason_and_a_killed_one_is_stale():
    rows = [
        {"module": "m.py", "mutant": "x_f__mutmut_1", "before": "a < b", "after": "a <= b",
         "kind": "argued equivalent", "reason": "a continuous draw"},
        {"module": "m.py", "mutant": "x_f__mutmut_2", "before": "a + b", "after": "a - b",
         "kind": "test gap or unclassified", "reason": ""},
    ]  # fmt: skip
    text = mutation.survivors_markdown(rows)
    assert "| x_f__mutmut_1 | `a < b` | `a <= b` | argued equivalent: a continuous draw |" in text
    assert "| x_f__mutmut_2 | `a + b` | `a - b` | test gap or unclassified |" in text
    argued = {
        "m.py": {
            "x_f__mutmut_1": {"mutated": "a <= b", "why": "r"},
            "x_f__mutmut_2": {"mutated": "a * b", "why": "r"},  # renumbered: argues another change
            "x_f__mutmut_9": {"mutated": "a", "why": "r"},  # killed
        }
    }
    assert mutation.stale_equivalents(rows, argued) == [("m.py", "x_f__mutmut_2"), ("m.py", "x_f__mutmut_9")]


def test_an_entry_labels_only_the_mutated_line_it_argues_about():
    entry = {"mutated": "a <= b", "why": "a continuous draw"}
    assert mutation._argument(entry, "a <= b") == "a continuous draw"
    assert mutation._argument(entry, "a >= b") == ""
    assert mutation._argument(None, "a <= b") == ""
