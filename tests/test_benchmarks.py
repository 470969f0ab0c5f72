"""The prepared GPU check runs green on the CPU in its dry-run form (the real run needs a CUDA device)."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, jpeg_bytes


def test_gpu_suite_dry_run_writes_its_json_and_table(tmp_path):
    faces = tmp_path / "UTKFace"
    faces.mkdir()
    for i, age in enumerate((3, 41, 90)):  # UTKFace names: age_gender_race_date.jpg.chip.jpg
        (faces / f"{age}_{i % 2}_0_2017011617452{i}.jpg.chip.jpg").write_bytes(jpeg_bytes(i, 80))
    (faces / "not_a_face_name.jpg").write_bytes(jpeg_bytes(9, 80))
    out = tmp_path / "out"
    result = subprocess.run(
        ["bash", "benchmarks/gpu_suite.sh", "--dry-run", "--out", str(out), "--utkface", str(faces)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "gpu_suite.json").read_text())
    assert results["dry_run"] is True and results["amp"] == "off"
    assert [r["model"] for r in results["training"]] == ["appearance", "sps", "foss"]
    assert all(r["samples_per_s"] > 0 for r in results["training"])
    assert [r["k"] for r in results["foss_fps"]] == [1, 3, 10, 20]
    assert [r["paper_t4_frames_per_s"] for r in results["foss_fps"]] == [24.3, 23.1, 18.4, 14.6]
    assert results["utkface_epoch"]["images"] == 3  # the file without an age in its name is left out
    table = Path(out / "gpu_suite.md").read_text()
    assert (
        "| appearance | 4 | 64 |" in table
        and "| 20 |" in table
        and "UTKFace appearance epoch: 3 JPEGs" in table
    )


def test_gpu_suite_refuses_to_run_without_a_gpu_unless_asked_for_a_dry_run(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here: the suite would run for real")
    result = subprocess.run(
        ["bash", "benchmarks/gpu_suite.sh", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "no CUDA device" in result.stderr
    assert not (tmp_path / "gpu_suite.json").exists()
