"""The recon3d pipeline on real Kedro machinery with a tiny training budget."""

import json

import pandas as pd
import pytest
import torch
from kedro.io import MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import CSVDataset

from agelab.datasets import CheckpointDirDataset, ModelBundleDataset
from agelab.models.bundle import ModelBundle
from agelab.pipelines.data import create_pipeline as create_data_pipeline
from agelab.pipelines.recon3d import create_pipeline


def test_data_then_recon3d(tmp_path, data_catalog, data_params, recon3d_params):
    catalog = data_catalog(tmp_path, data_params)
    catalog["params:recon3d"] = MemoryDataset(recon3d_params)
    catalog["recon3d_checkpoints"] = CheckpointDirDataset(path=str(tmp_path / "checkpoints"))
    catalog["recon3d_model"] = ModelBundleDataset(filepath=str(tmp_path / "recon3d.pt"))
    catalog["recon3d_report"] = JSONDataset(filepath=str(tmp_path / "report.json"))
    catalog["recon3d_predictions"] = CSVDataset(filepath=str(tmp_path / "predictions.csv"))
    catalog["recon3d_history"] = JSONDataset(filepath=str(tmp_path / "history.json"))
    SequentialRunner().run(create_data_pipeline() + create_pipeline(), catalog)

    report = json.loads((tmp_path / "report.json").read_text())
    model_input = pd.read_parquet(tmp_path / "model_input.parquet")
    assert report["faces"] == (model_input["split"] == "test").sum()
    assert report["morphable_model"] == "procedural" and report["stand_in_model"]
    # synthetic faces carry their rendering ground truth: pose and expression are evaluated
    truth_keys = {
        "pose_error_deg",
        "mean_pose_baseline_deg",
        "landmark_error_vs_truth_px",
        "expression_correlation",
    }
    assert truth_keys <= set(report)
    assert report["pose_error_deg"] >= 0 and report["landmark_error_vs_dlib_px"] > 0
    # learnt: the fit places landmarks closer to dlib's than the mean face placed where faces are on average
    assert report["landmark_error_vs_dlib_px"] < report["mean_face_landmark_error_vs_dlib_px"]
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert {"yaw", "pose_error_deg", "expr_smile"} <= set(predictions.columns)
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in history] == [0, 1]
    (fingerprint,) = (tmp_path / "checkpoints").glob("*/fingerprint.json")
    parts = set(json.loads(fingerprint.read_text()))
    assert {"data", "model", "loss", "flip", "morphable_model", "training"} <= parts

    bundle = ModelBundle.load(tmp_path / "recon3d.pt")
    assert bundle.architecture == "recon3d_subnet" and bundle.info["morphable_model"] == "procedural"
    z = bundle.build()(torch.zeros(1, 3, 64, 64))
    assert z.shape == (1, 257)


def test_landmark_term_uses_the_faces_dlib_detected_unless_told_otherwise():

    from agelab.config import ConfigError
    from agelab.training.reconstruction_data import landmark_weights as _landmark_weights

    faces = pd.DataFrame({"detected": [True, False, None]})
    assert _landmark_weights(faces, "detected").tolist() == [1.0, 0.0, 0.0]
    assert _landmark_weights(faces, "all").tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ConfigError, match="landmark_faces"):
        _landmark_weights(faces, "some")


def test_report_numbers_become_flat_mlflow_metrics():
    from agelab.training.reconstruction_training import flat_metrics

    report = {"pose_error_deg": 3.0, "stand_in_model": True, "by_abs_yaw": {"0-15": {"count": 2}}, "x": "s"}
    assert flat_metrics(report, "test_") == {
        "test_pose_error_deg": {"value": 3.0, "step": 0},
        "test_by_abs_yaw.0-15.count": {"value": 2.0, "step": 0},
    }


def test_a_cross_dataset_sets_annotated_landmarks_score_the_trained_subnet(
    tmp_path, data_catalog, data_params, recon3d_params
):
    """``--env=real``'s landmark check in small: the 3D subnet trained on one rendered set is scored against
    a second set's annotated 68 points (the synthetic set ships them, as FG-NET's .pts do), beside dlib's
    landmarks and the mean face; normalised by the annotated eye span."""
    from agelab.datasets import FaceSourceDataset

    catalog = data_catalog(tmp_path, data_params)
    wild = {"datasets": ["synthetic"], "synthetic": {"n_faces": 24, "seed": 9, "duplicate_fraction": 0.0}}
    catalog["params:recon3d"] = MemoryDataset(
        {**recon3d_params, "cross_evaluate": ["wild"], "cross_datasets": {"wild": wild}}
    )
    catalog["recon3d_cross_wild.raw_synthetic"] = FaceSourceDataset(
        reader="synthetic", path=str(tmp_path / "raw" / "synthetic_wild")
    )
    catalog["recon3d_checkpoints"] = CheckpointDirDataset(path=str(tmp_path / "checkpoints"))
    catalog["recon3d_model"] = ModelBundleDataset(filepath=str(tmp_path / "recon3d.pt"))
    catalog["recon3d_cross_wild.report"] = JSONDataset(filepath=str(tmp_path / "wild.json"))
    catalog["recon3d_cross_wild.predictions"] = CSVDataset(filepath=str(tmp_path / "wild.csv"))
    catalog["recon3d_cross_wild.overlays"] = MemoryDataset()
    SequentialRunner().run(create_data_pipeline() + create_pipeline(("wild",)), catalog)

    report = json.loads((tmp_path / "wild.json").read_text())
    predictions = pd.read_csv(tmp_path / "wild.csv")
    assert report["faces"] == len(predictions) > 0 and report["markups"] == {"ibug_68": 48}
    train_paths = set(pd.read_parquet(tmp_path / "model_input.parquet")["image_path"])
    assert not train_paths & set(predictions["image_path"])  # never trained on
    assert report["nme_recon3d"] == pytest.approx(predictions["nme_recon3d"].mean())
    # the annotated points are framed as the crops are: dlib's landmarks land well inside the mean face's
    # error (a wrong frame would put every detector far off); the 18-step fit stays near the mean face it
    # starts from (that it learns is the test above's; on FG-NET, docs/real_faces.md)
    assert 0 < report["nme_dlib"] < 0.8 * report["nme_mean_face"]
    assert report["nme_recon3d"] < 1.01 * report["nme_mean_face"]
    overlay = catalog["recon3d_cross_wild.overlays"].load()  # faces best to worst, three landmark sets each
    shown = min(recon3d_params["overlay_faces"], len(predictions))
    first_row = overlay.axes[:shown]
    titles = [ax.get_title() for ax in first_row]
    assert titles[0] == f"age {predictions.sort_values('nme_recon3d')['age'].iloc[0]:.0f}, " + (
        f"NME {predictions['nme_recon3d'].min():.3f}"
    )
    assert all(len(ax.collections) == 3 for ax in first_row)
    assert [t.get_text() for t in overlay.legends[0].get_texts()] == ["annotated", "3D fit", "dlib"]


def test_a_cross_dataset_set_without_annotated_points_is_refused_by_name():
    from agelab.config import ConfigError
    from agelab.pipelines.recon3d.nodes import evaluate_recon3d_cross_dataset

    bundle = ModelBundle("recon3d_subnet", {}, {}, 128, 0.2, 64, info={"morphable_model": "procedural"})
    faces = pd.DataFrame({"landmarks_68": [json.dumps([[0.0, 0.0]] * 68)], "landmarks": [""]})
    params = {"morphable_model": {"bfm2017_path": "no/such/bfm.h5"}}
    with pytest.raises(ConfigError, match=r"cross_datasets\.utk: no face has both annotated"):
        evaluate_recon3d_cross_dataset(bundle, faces, params, name="utk")
