"""agelab.training.allocator: after retain_freed_memory a training step maps no new pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agelab.training.allocator import retain_freed_memory

STEP_FAULTS = """
import resource, sys, torch
if sys.argv[1] == "retain":
    from agelab.training.allocator import retain_freed_memory
    assert retain_freed_memory()
torch.set_num_threads(1)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(2048, 4096), torch.nn.ReLU(), torch.nn.Linear(4096, 1))
optimizer = torch.optim.Adam(model.parameters())
x = torch.randn(256, 2048)
def step():
    optimizer.zero_grad(set_to_none=True)
    model(x).square().mean().backward()
    optimizer.step()
for _ in range(3):
    step()
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(min(faults))
"""


def _faults_per_step(mode: str) -> float:
    """Page faults of the quietest of five steps after three warm-up steps: the property is that a step
    *can* run on reused pages; one step that grows the heap (fragmentation, another process's memory
    pressure on a loaded CI machine) must not decide it. Without the setting every step faults."""
    done = subprocess.run(
        [sys.executable, "-c", STEP_FAULTS, mode], capture_output=True, text=True, check=True, timeout=120
    )
    return float(done.stdout.strip())


def _huge_pages_always() -> bool:
    """Transparent huge pages in ``always`` mode fault 2 MB at a time: the baseline has few faults."""
    setting = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return setting.is_file() and "[always]" in setting.read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
@pytest.mark.skipif(_huge_pages_always(), reason="transparent huge pages 'always': 2 MB faults, no baseline")
def test_a_training_step_stops_faulting_in_fresh_pages_once_freed_memory_is_retained():
    default, retained = _faults_per_step("default"), _faults_per_step("retain")
    # 32 MB weights, their gradients and Adam's temporaries: each step maps tens of thousands of fresh pages
    assert default > 5_000
    assert retained < default / 100


def test_retain_freed_memory_is_idempotent():
    first = retain_freed_memory()
    assert retain_freed_memory() is first
