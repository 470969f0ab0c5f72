"""``kill -9`` of ``kedro run --pipelines=compare`` between two of its training runs: the rerun reuses the
run that had finished (no retraining), trains the other, and its tables and predictions equal an
uninterrupted comparison's; nothing half-written is left for the rerun to read."""

from __future__ import annotations

import os
import shutil
import signal
import time

import pandas as pd
import pytest
import yaml

from agelab.models.bundle import ModelBundle
from tests.conftest import copy_project, finish_kedro_run

TINY = {"epochs": 1, "batch_size": 4, "max_batches_per_epoch": 3, "device": "cpu", "seed": 0}
# a small project environment, over conf/base (Kedro soft-merges each key)
ENV = {
    "parameters_data.yml": {
        "data": {
            "datasets": ["synthetic"],
            "show_progress": False,
            "synthetic": {"n_faces": 40, "seed": 4, "duplicate_fraction": 0.0, "image_size": 96},
            "processing": {"workers": 1, "crop_size": 64, "chunk_size": 16},
            "cleaning": {"max_per_age": 600, "require_face": False},
            "split": {"test_fraction": 0.2},
        }
    },
    "parameters_recon3d.yml": {
        "recon3d": {
            "image_size": 64,
            "show_progress": False,
            "overlay_faces": 2,
            "morphable_model": {"bfm2017_path": "no/such/bfm.h5"},
            "training": TINY,
        }
    },
    "parameters_compare.yml": {
        "compare": {
            "seeds": [0],
            "models": ["appearance", "sps"],
            "overrides": {
                "appearance": {"image_size": 64, "show_progress": False, "training": TINY},
                # the second run trains long enough (12 steps of two AlexNets) to be killed before it ends
                "sps": {"show_progress": False, "training": {**TINY, "max_batches_per_epoch": 12}},
            },
            "sweeps": None,  # null clears the base's sweeps under Kedro's soft merge
            "groups": {
                "groups": 2,
                "reference": "appearance",
                "model": "sps",
                "examples": 2,
                "samples_per_group": 2,
            },
            "cross_models": ["appearance", "sps"],
            "cross_evaluate": [],
        }
    },
}
OUTPUTS = ("runs.csv", "table4_repeated_runs.csv", "pose_expression_groups.csv")


def _kedro_compare(start_kedro_run, project, env, log):
    return start_kedro_run(project, ["--env=kill", "--pipelines=compare"], env, log)


def _results(project) -> dict[str, pd.DataFrame]:
    reporting = project / "data/08_reporting/compare"
    tables = {
        name: pd.read_csv(reporting / name).drop(columns=["mlflow_run_id", "train_seconds"], errors="ignore")
        for name in OUTPUTS
    }
    for run in ("appearance_seed0", "sps_seed0"):
        tables[run] = pd.read_parquet(project / f"data/07_model_output/compare/{run}_predictions.parquet")
    return tables


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_a_compare_killed_between_runs_reuses_the_finished_run_and_ends_as_an_uninterrupted_one(
    tmp_path, start_kedro_run
):
    project = copy_project(tmp_path)
    (project / "conf/kill").mkdir()
    for name, content in ENV.items():
        (project / "conf/kill" / name).write_text(yaml.safe_dump(content))
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "OMP_NUM_THREADS": "1",
        "COLUMNS": "250",  # one log record per line
    }
    runs = project / "data/06_models/compare/checkpoints"

    finish_kedro_run(
        _kedro_compare(start_kedro_run, project, env, tmp_path / "reference.log"), tmp_path / "reference.log"
    )
    reference = _results(project)
    # the comparison's own outputs removed; data and the 3D subnet kept (their resumption has its own tests)
    shutil.rmtree(runs)
    for folder in ("data/06_models/compare", "data/07_model_output/compare", "data/08_reporting/compare"):
        shutil.rmtree(project / folder, ignore_errors=True)

    run = _kedro_compare(start_kedro_run, project, env, tmp_path / "killed.log")
    deadline = time.monotonic() + 900
    while not list(runs.glob("appearance_seed0/*/finished_model.pt")):  # the first run is done
        assert run.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    finished = sorted(p.relative_to(runs).parts[0] for p in runs.rglob("finished_model.pt"))
    assert finished == ["appearance_seed0"], finished  # killed after the first run, before the second ended
    assert not (project / "data/08_reporting/compare/runs.csv").exists()
    ModelBundle.load(next(runs.rglob("finished_model.pt")))  # whole (written to a temp file, then renamed)

    output = finish_kedro_run(
        _kedro_compare(start_kedro_run, project, env, tmp_path / "rerun.log"), tmp_path / "rerun.log"
    )
    assert "appearance_seed0 already trained with these settings, reusing" in output, output[-3000:]
    assert "sps_seed0 already trained" not in output
    rerun = _results(project)
    for name, table in reference.items():
        pd.testing.assert_frame_equal(rerun[name], table, obj=name)
