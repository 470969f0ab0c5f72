"""The data pipeline on real Kedro machinery: SequentialRunner over a temp-dir catalog, and a real
``kedro run`` + ``kedro viz build`` in a copy of the project."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from kedro.runner import SequentialRunner

from agelab.pipelines.data import create_pipeline
from agelab.readers import DatasetNotFoundError
from tests.conftest import copy_project


def test_pipeline_on_synthetic_default(tmp_path, data_catalog, data_params):
    catalog = data_catalog(tmp_path, data_params)
    SequentialRunner().run(create_pipeline(), catalog)
    model_input = pd.read_parquet(tmp_path / "model_input.parquet")
    report = json.loads((tmp_path / "cleaning_report.json").read_text())
    assert report["faces_in"] == 33
    assert report["dropped"]["grayscale"] >= 1
    assert report["dropped"]["duplicate"] + report["dropped"]["duplicate_conflicting_labels"] >= 3
    assert 0 < report["dlib_detection_rate"]["synthetic"] <= 1
    assert len(model_input) == report["faces_kept"]
    assert set(model_input["split"]) == {"train", "val", "test"}
    assert model_input["age"].lt(80).all()
    assert not model_input["image_path"].duplicated().any()
    assert model_input["crop_path"].map(os.path.exists).all()


def test_missing_selected_dataset_names_path_and_setting(tmp_path, data_catalog, data_params):
    catalog = data_catalog(tmp_path, {**data_params, "datasets": ["agedb"]})
    with pytest.raises(
        DatasetNotFoundError, match=r"raw/agedb.*parameters data.datasets \(catalog entry raw_agedb\)"
    ):
        SequentialRunner().run(create_pipeline(), catalog)


def test_unknown_parameter_key_stops_the_run(tmp_path, data_catalog, data_params):
    catalog = data_catalog(tmp_path, {**data_params, "synthetic": {"n_face": 3}})
    with pytest.raises(Exception, match=r"n_face.*data\.synthetic"):
        SequentialRunner().run(create_pipeline(), catalog)


@pytest.mark.slow
def test_kedro_run_logs_to_mlflow_and_viz_builds(tmp_path, data_run_params):
    project = copy_project(tmp_path)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "KEDRO_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
    }
    kedro = [sys.executable, "-m", "kedro"]
    run = subprocess.run(
        [*kedro, "run", "--pipelines=data", "--params", data_run_params],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (project / "data/08_reporting/sample_grid.png").stat().st_size > 10_000
    # a quiet console: no third-party deprecation blocks (omegaconf's register_new_resolver, kedro-mlflow
    # replacing the metrics datasets), no warning of any kind
    assert "WARNING" not in run.stdout + run.stderr and "Warning" not in run.stdout + run.stderr, run.stdout

    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["agelab"])
    assert len(runs) == 1 and runs.loc[0, "status"] == "FINISHED"
    assert runs.loc[0, "params.data.synthetic.n_faces"] == "16"
    assert runs.loc[0, "metrics.data_metrics.faces_kept"] > 0
    artifacts = {a.path for a in mlflow.artifacts.list_artifacts(run_id=runs.loc[0, "run_id"])}
    assert {"sample_grid.png", "data_report.json"} <= artifacts

    viz = subprocess.run(
        [*kedro, "viz", "build"], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert viz.returncode == 0, viz.stderr[-3000:]
    api = json.loads((project / "build" / "api" / "main").read_text())
    assert {"render_synthetic_face_set", "clean_face_index"} <= {n["name"] for n in api["nodes"]}
