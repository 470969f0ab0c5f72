"""Benchmark scripts: the prepared GPU check runs green on the CPU in its dry-run form (the real run needs a
CUDA device); the WIDER detector benchmark builds each detector it is named."""

import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

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


def _wider_detectors():
    path = PROJECT_ROOT / "benchmarks" / "wider_detectors.py"
    spec = importlib.util.spec_from_file_location("wider_detectors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wider_detectors_scores_a_saved_foss_detector_bundle_and_names_dlib_specs(tmp_path):
    from agelab.models.bundle import ModelBundle
    from agelab.models.centernet import CenterNetFaceDetector

    kwargs = {"width": 0.25, "head_conv": 16, "deformable": False, "input_size": 64}
    torch.manual_seed(0)
    detector = CenterNetFaceDetector(**kwargs)
    bundle = ModelBundle(
        architecture="centernet_face_detector",
        kwargs=kwargs,
        state_dict=detector.state_dict(),
        crop_size=112,
        crop_margin=0.2,
        image_size=64,
        info={},
    )
    bundle.save(tmp_path / "face_detector.pt")
    benchmark = _wider_detectors()
    label, predict = benchmark.predictor(f"foss:{tmp_path / 'face_detector.pt'}", -0.5)
    assert label.startswith("FOSS detector")
    faces = predict(np.zeros((48, 80, 3), np.uint8))
    assert faces.boxes.shape == (len(faces.scores), 4) and 0 < len(faces.scores) <= 100
    # boxes clipped to the 80 x 48 image
    assert (faces.boxes[:, [0, 2]] <= 80).all() and (faces.boxes[:, [1, 3]] <= 48).all()
    assert benchmark.predictor("hog:1", -0.5)[0] == "dlib HOG, up-sampling 1"
    with pytest.raises(ValueError, match="hog"):
        benchmark.predictor("cnn:1", -0.5)
