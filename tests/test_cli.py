"""``agelab predict`` end to end on a real photograph, and the crop it shares with training."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
import skimage.data
import torch
from PIL import Image

from agelab.faces.crop_transforms import build_transform
from agelab.faces.crops import CropSpec, crop_face, crop_window
from agelab.inference import ModelNotFoundError, load_predictor
from agelab.models.bundle import ModelBundle
from agelab.preprocessing.face_cache import AnalysisConfig, FaceCache, analyse_faces
from agelab.readers import read_dataset
from tests.conftest import PROJECT_ROOT, png_header_only, untrained_appearance_bundle


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "appearance_subnet.pt"
    untrained_appearance_bundle().save(path)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(skimage.data.astronaut()).save(
        folder / "30_1_0_20170101000000001.jpg.chip.jpg", quality=95
    )
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def test_inference_crops_faces_exactly_as_the_data_pipeline(photos, bundle_path, tmp_path):
    index = read_dataset("utkface", photos).index
    analysis = analyse_faces(
        index, FaceCache(tmp_path), AnalysisConfig(crop_size=128, crop_margin=0.2), show_progress=False
    )
    row = analysis[analysis["status"] == "ok"].iloc[0]
    box = (row.face_box_x0, row.face_box_y0, row.face_box_x1, row.face_box_y1)
    assert json.loads(row.crop_window) == pytest.approx(list(crop_window(box, 0.2)), abs=1e-3)
    predictor = load_predictor(str(bundle_path), "cpu")
    assert predictor.crop == CropSpec(128, 0.2)
    image = np.asarray(Image.open(photos / "30_1_0_20170101000000001.jpg.chip.jpg").convert("RGB"))
    inference_crop = crop_face(image, box, predictor.crop)[0]
    training_crop = np.asarray(Image.open(row.crop_path))  # stored as JPEG q95
    assert np.abs(inference_crop.astype(int) - training_crop).mean() < 3
    expected = build_transform(112, train=False)(torch.from_numpy(inference_crop.copy()).permute(2, 0, 1))
    assert torch.equal(predictor.prepare(image, [box])[0], expected)


def test_aligned_inference_crops_faces_exactly_as_the_data_pipeline(photos, tmp_path):
    """A model trained on aligned crops (``processing.crop_align``) gets the same aligned crop from
    ``agelab predict``: the same landmarks, the same transform, the same pixels (up to the cache's JPEG)."""
    index = read_dataset("utkface", photos).index
    config = AnalysisConfig(crop_size=128, crop_margin=0.2, crop_align=True)
    assert config.fingerprint() != AnalysisConfig(crop_size=128, crop_margin=0.2).fingerprint()
    analysis = analyse_faces(index, FaceCache(tmp_path), config, show_progress=False)
    row = analysis[analysis["status"] == "ok"].iloc[0]
    box = (row.face_box_x0, row.face_box_y0, row.face_box_x1, row.face_box_y1)
    bundle = untrained_appearance_bundle()
    bundle.crop_align = True
    bundle.save(tmp_path / "aligned.pt")
    predictor = load_predictor(str(tmp_path / "aligned.pt"), "cpu")
    assert predictor.crop == CropSpec(128, 0.2, align=True)
    image = np.asarray(Image.open(photos / "30_1_0_20170101000000001.jpg.chip.jpg").convert("RGB"))
    inference_crop = predictor.crops(image, [box])[0].permute(1, 2, 0).numpy()
    training_crop = np.asarray(Image.open(row.crop_path))  # stored as JPEG q95
    assert np.abs(inference_crop.astype(int) - training_crop).mean() < 3
    box_crop = crop_face(image, box, CropSpec(128, 0.2))[0]
    assert (
        np.abs(box_crop.astype(int) - training_crop).mean()
        > 3 * np.abs(inference_crop.astype(int) - training_crop).mean()
    )
    points = np.asarray(json.loads(row.landmarks_68))
    matrix = np.asarray(json.loads(row.crop_matrix))
    np.testing.assert_allclose(
        json.loads(row.landmarks_68_crop), points @ matrix[:, :2].T + matrix[:, 2], atol=0.02
    )


def test_agelab_predict_on_a_real_photo(photos, bundle_path, tmp_path):
    output = tmp_path / "ages.csv"
    bomb = tmp_path / "bomb.png"  # 30,000 × 30,000 pixels declared: Pillow's DecompressionBombError
    bomb.write_bytes(png_header_only(30_000, 30_000))
    run = subprocess.run(
        [
            str(PROJECT_ROOT / ".venv/bin/agelab"),
            "predict",
            str(photos),
            str(bomb),
            "--model",
            str(bundle_path),
            "--output",
            str(output),
            "--annotate",
            str(tmp_path / "annotated"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "broken.jpg: not a readable image" in run.stderr
    assert "bomb.png: not a readable image" in run.stderr and "Traceback" not in run.stderr
    table = pd.read_csv(output)
    assert len(table) == 1 and table.loc[0, "face"] == 0
    assert 0 <= table.loc[0, "age"] <= 80 and table.loc[0, "age_std"] > 0
    row = table.loc[0]  # the 50 % interval inside the 80 % one, both whole ages in the model's range
    assert 0 <= row.age_low_80 <= row.age_low_50 <= row.age_high_50 <= row.age_high_80 <= 80
    assert row.age_high_80 > row.age_low_80
    assert 150 < table.loc[0, "box_x0"] < 200
    assert (tmp_path / "annotated" / "30_1_0_20170101000000001.jpg.chip.annotated.jpg").is_file()
    assert "3 images, 1 faces, 0 without a face, 2 unreadable" in run.stdout


def test_missing_model_says_where_it_looked(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"no model at .*nothing\.pt"):
        load_predictor(str(tmp_path / "nothing.pt"))


def test_model_from_an_mlflow_run(bundle_path, photos, tmp_path):
    import mlflow

    from agelab.datasets import MlflowModelDataset

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("predict-from-a-run")  # not an experiment id an earlier test left active
    bundle = ModelBundle.load(bundle_path)
    with mlflow.start_run() as run:
        MlflowModelDataset(registered_model_name="agelab-appearance").save(bundle)
    from_run = load_predictor(run.info.run_id, "cpu")
    from_file = load_predictor(str(bundle_path), "cpu")
    # the catalog's model datasets also register each logged model by name (the Model Registry)
    (version,) = mlflow.MlflowClient().search_model_versions("name='agelab-appearance'")
    assert version.run_id == run.info.run_id and int(version.version) == 1
    from_registry = load_predictor("models:/agelab-appearance/1", "cpu")
    image = skimage.data.astronaut()
    box = (179, 83, 267, 171)
    a, _ = from_run.predict(from_run.prepare(image, [box]))
    b, _ = from_file.predict(from_file.prepare(image, [box]))
    c, _ = from_registry.predict(from_registry.prepare(image, [box]))
    assert a == pytest.approx(b, abs=1e-4) and c == pytest.approx(b, abs=1e-4)
    assert from_run.crop == from_file.crop and from_run.image_size == 112


def test_a_killed_predict_keeps_its_rows_and_resume_finishes_like_an_uninterrupted_run(
    photos, bundle_path, tmp_path
):
    import os
    import shutil
    import signal
    import time

    folder = tmp_path / "many"
    folder.mkdir()
    for k in range(12):
        shutil.copy(photos / "30_1_0_20170101000000001.jpg.chip.jpg", folder / f"{k:02d}.jpg")
    agelab = [str(PROJECT_ROOT / ".venv/bin/agelab"), "predict", str(folder), "--model", str(bundle_path)]
    agelab += ["--batch-size", "1"]
    whole = tmp_path / "whole.csv"
    subprocess.run([*agelab, "--output", str(whole)], check=True, capture_output=True, timeout=300)

    output = tmp_path / "ages.csv"
    partial = tmp_path / "ages.csv.partial.csv"
    process = subprocess.Popen(
        [*agelab, "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not partial.exists() or partial.read_text().count("\n") < 4):
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not output.exists()  # nothing half-written where the output goes
    kept = partial.read_text().count("\n") - 1
    assert 3 <= kept < 12, kept  # the rows of the files finished before the kill

    run = subprocess.run(
        [*agelab, "--output", str(output), "--resume"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert f"resuming, {kept} files already in" in run.stdout
    pd.testing.assert_frame_equal(pd.read_csv(output), pd.read_csv(whole))
    assert not partial.exists()


def test_predicted_intervals_follow_the_bundle_temperature_and_flip_setting(photos, tmp_path):
    """Temperature widens the intervals without moving the age; flip averaging is the mean of the face's and
    its mirror's distributions, as in the evaluation (agelab.models.age_distribution)."""
    from agelab.models.age_distribution import age_log_probs, central_interval, softmax

    bundle = untrained_appearance_bundle(seed=3)
    ages = torch.arange(81, dtype=torch.float32)  # an age head peaked at 30 (sd 6 years), as a trained one is
    bundle.state_dict["age_head.bias"] = -0.5 * ((ages - 30) / 6) ** 2
    bundle.state_dict["age_head.weight"] = bundle.state_dict["age_head.weight"] * 0.01
    image = np.asarray(Image.open(photos / "30_1_0_20170101000000001.jpg.chip.jpg").convert("RGB"))
    box = (170.0, 60.0, 330.0, 250.0)
    estimates = {}
    for temperature in (0.5, 1.0, 4.0):
        bundle.temperature = temperature
        bundle.save(tmp_path / "m.pt")
        predictor = load_predictor(str(tmp_path / "m.pt"), "cpu")
        estimates[temperature] = predictor.estimate(predictor.prepare(image, [box]))
    ages = {t: e.age[0] for t, e in estimates.items()}
    assert ages[0.5] == pytest.approx(ages[4.0]) == pytest.approx(ages[1.0])
    widths = {t: e.intervals[0.8][1][0] - e.intervals[0.8][0][0] for t, e in estimates.items()}
    assert widths[0.5] <= widths[1.0] <= widths[4.0] and widths[0.5] < widths[4.0]

    bundle.temperature, bundle.test_time_flip = 2.0, True
    bundle.save(tmp_path / "flip.pt")
    predictor = load_predictor(str(tmp_path / "flip.pt"), "cpu")
    inputs = predictor.prepare(image, [box])
    with torch.no_grad():
        expected = age_log_probs(predictor.model, inputs, flip=True).numpy()
    got = predictor.estimate(inputs)
    probs = softmax(expected)
    assert got.age[0] == pytest.approx(float(probs[0] @ np.arange(81)), abs=1e-4)
    low, high = central_interval(softmax(expected, 2.0), 0, 0.5)
    assert (got.intervals[0.5][0][0], got.intervals[0.5][1][0]) == (low[0], high[0])
