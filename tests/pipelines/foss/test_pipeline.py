"""The FOSS pipeline on real Kedro machinery: data → scenes → detector → §4.2 annotation → FOSS →
evaluation, baselines and report, with a tiny model and budget; then ``agelab predict`` on its model."""

import json
from functools import partial

import pandas as pd
import pytest
from kedro.io import MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import CSVDataset, ParquetDataset
from kedro_datasets.text import TextDataset

from agelab.command_line import main
from agelab.datasets import CheckpointDirDataset, FaceSourceDataset, ModelBundleDataset, SceneSetDataset
from agelab.models.bundle import ModelBundle
from agelab.pipelines.data import create_pipeline as create_data_pipeline
from agelab.pipelines.foss import create_pipeline
from tests.conftest import SMALL_FOSS

TRAIN = {"epochs": 1, "batch_size": 2, "max_batches_per_epoch": 2, "device": "cpu", "learning_rate": 1e-3}
# enough detector training for the tiny CenterNet to find held-out faces (AP@0.5 0.41 on the 8 val scenes,
# where the same network untrained scores 0.0; measured 2026-12-02): a wrong detector loss or decoding fails
DETECTOR_TRAIN = {"epochs": 60, "batch_size": 4, "device": "cpu", "learning_rate": 3e-3, "lr_step_size": 100}
STILL = {"scale": [1.0, 1.0], "shift": 0.0, "rotation": 0.0}
STILL |= {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0}
FOSS = {
    "scenes": {"train_scenes": 24, "val_scenes": 8, "group_scenes": 2, "max_faces": 3, "render_size": 64},
    "workers": 1,
    "model": {**SMALL_FOSS, "project_feature": True},
    "data": {"canvas": 128, "augmentation": {**STILL, "flip": True, "blur_probability": 0.0}},
    "detector_training": DETECTOR_TRAIN,
    # an untrained detector finds "faces" everywhere: with K = 1 each image has exactly one
    "annotation": {"score_threshold": 0.0, "k": 1},
    "age_pretraining": {"engine": {**TRAIN, "batch_size": 4}},  # needs model.project_feature
    "training": {"train_k": 3, "engine": TRAIN},
    "baselines": {"dlib_upsample": 0},
    "evaluation": {"tiled_grids": [2]},
    "show_progress": False,
}


@pytest.fixture
def foss_catalog(tmp_path, data_catalog, data_params):
    """``foss_catalog(foss_params)``: the data and FOSS pipelines' datasets under ``tmp_path``."""
    return partial(_catalog, tmp_path, data_catalog(tmp_path, data_params))


def _catalog(tmp_path, catalog, foss_params):
    scenes = tmp_path / "raw" / "synthetic_scenes"
    catalog["params:foss"] = MemoryDataset(foss_params)
    catalog["foss.synthetic_scenes"] = SceneSetDataset(path=str(scenes))
    catalog["foss.raw_synthetic_wider_face"] = FaceSourceDataset(
        reader="wider_face", path=str(scenes / "wider_face")
    )
    catalog["foss.raw_synthetic_images_of_groups"] = FaceSourceDataset(
        reader="images_of_groups", path=str(scenes / "images_of_groups")
    )
    catalog["foss.checkpoints"] = CheckpointDirDataset(path=str(tmp_path / "checkpoints"))
    catalog["foss.detector"] = ModelBundleDataset(filepath=str(tmp_path / "detector.pt"))
    catalog["foss.model"] = ModelBundleDataset(filepath=str(tmp_path / "foss_net.pt"))
    catalog["foss.age_annotations"] = ParquetDataset(filepath=str(tmp_path / "annotations.parquet"))
    catalog["foss.report"] = JSONDataset(filepath=str(tmp_path / "report.json"))
    catalog["foss.baseline_report"] = JSONDataset(filepath=str(tmp_path / "baselines.json"))
    catalog["foss.per_group"] = CSVDataset(filepath=str(tmp_path / "per_group.csv"))
    catalog["foss.report_markdown"] = TextDataset(filepath=str(tmp_path / "report.md"))
    catalog["foss.baseline_appearance_model"] = ModelBundleDataset(
        filepath=str(tmp_path / "no_appearance.pt"), optional=True
    )
    return catalog


def test_data_then_foss_then_predict(tmp_path, foss_catalog):
    SequentialRunner().run(create_data_pipeline() + create_pipeline(), foss_catalog(FOSS))

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["detection"]["faces"] > 0
    assert report["detection"]["ap"] > 0.2, report["detection"]  # learned: untrained, the same net scores 0.0
    by_size = report["detection"]["by_size"]
    assert set(by_size) == {"large", "medium", "small"}
    assert sum(b["faces"] for b in by_size.values()) == report["detection"]["faces"]
    groups = report["group_photos"]
    assert groups["faces"] > 0 and 0.0 <= groups["age_group_accuracy"] <= 1.0
    assert report["single_face_test"]["images"] > 0
    tiled = report["tiled_test_faces"]["2x2"]  # the test faces, four to a scene, and each alone
    assert tiled["scenes"] >= 1 and tiled["faces"] == 4 * tiled["scenes"]
    assert 0 <= tiled["paired_faces"] <= min(tiled["found_tiled"], tiled["found_single"])
    annotations = pd.read_parquet(tmp_path / "annotations.parquet")
    assert annotations.loc[annotations["split"] != "test", "n_detected"].le(1).all()
    baselines = json.loads((tmp_path / "baselines.json").read_text())
    assert 0.0 <= baselines["dlib_detection"]["ap"] <= 1.0
    assert set(baselines["dlib_detection"]["by_size"]) == {"large", "medium", "small"}
    assert "appearance" in baselines["dlib_appearance"]["skipped"]
    assert baselines["majority_group"]["group"] in {"0-2", "3-7", "8-12", "13-19", "20-36", "37-65", "66+"}
    markdown = (tmp_path / "report.md").read_text()
    assert "AP@0.5" in markdown and "dlib HOG" in markdown and "1-off" in markdown
    assert "AP small" in markdown
    per_group = pd.read_csv(tmp_path / "per_group.csv")
    assert list(per_group["row"]) == ["faces", "age", "1-off", "gender"]
    bundle = ModelBundle.load(tmp_path / "foss_net.pt")
    assert bundle.architecture == "foss" and bundle.info["end_to_end"] is False
    assert bundle.info["age_pretraining_best_epoch"] == 0  # the age network was pre-trained on crops first
    assert bundle.info["age_pretraining_best_val_mae"] >= 0
    assert (tmp_path / "checkpoints" / "foss_age").is_dir()
    # the joined stage started from that network: its checkpoint key holds the pre-trained weights' digest
    (joined_key,) = (tmp_path / "checkpoints" / "foss").glob("*/fingerprint.json")
    assert json.loads(joined_key.read_text())["initial_weights"]["age_network"]

    # agelab predict with the FOSS model: every face of a group photo, no dlib involved
    group_photo = next((tmp_path / "raw" / "synthetic_scenes" / "images_of_groups").rglob("*.jpg"))
    output = tmp_path / "ages.csv"
    code = main(
        [
            "predict",
            str(group_photo),
            "--model",
            str(tmp_path / "foss_net.pt"),
            "--output",
            str(output),
            "--score-threshold",
            "0",
            "--top-k",
            "4",
            "--annotate",
            str(tmp_path / "annotated"),
        ]
    )
    assert code == 0
    table = pd.read_csv(output)
    assert len(table) == 4 and table["age"].between(0, 100).all()
    assert table["male_probability"].between(0, 1).all()
    # the 2-batch detector's boxes are sub-pixel (its size head starts near 0) and the table rounds to 0.1 px
    assert (table["box_x1"] >= table["box_x0"]).all() and (table["box_y1"] >= table["box_y0"]).all()
    assert (tmp_path / "annotated" / f"{group_photo.stem}.annotated.jpg").is_file()

    # the same model as an MLflow pyfunc model (what `mlflow models serve` runs): every face, with P(male)
    import mlflow

    from agelab.inference.serving import log_pyfunc_model

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("foss", artifact_location=(tmp_path / "mlruns").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        log_pyfunc_model(bundle)
    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model").predict(
        pd.DataFrame({"image": [group_photo.read_bytes()]}), params={"score_threshold": 0.0}
    )
    assert (served["face"] >= 0).sum() >= 1 and served["male_probability"].between(0, 1).all()
    assert served["age"].tolist()[:1] == pytest.approx(table["age"].tolist()[:1], abs=0.01)


def test_unknown_foss_key_and_unknown_set_stop_before_training(foss_catalog):
    with pytest.raises(Exception, match=r"foss"):
        SequentialRunner().run(create_pipeline(), foss_catalog({**FOSS, "modle": {}}))
    with pytest.raises(Exception, match=r"wider_fase"):
        SequentialRunner().run(create_pipeline(), foss_catalog({**FOSS, "detection_sets": ["wider_fase"]}))
