"""agelab.experiments.tracking_store: several processes start on one new MLflow SQLite store at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from agelab.experiments.tracking_store import prepare_sqlite_store, sqlite_store_path
from tests.conftest import copy_project


def test_the_store_file_of_a_tracking_uri():
    project = Path("/work/project")
    assert sqlite_store_path("sqlite:///mlflow.db", project) == project / "mlflow.db"
    assert sqlite_store_path("sqlite:////srv/team/mlflow.db", project) == Path("/srv/team/mlflow.db")
    assert sqlite_store_path("sqlite:///runs/m.db?timeout=30", project) == project / "runs/m.db"
    assert sqlite_store_path("sqlite:///:memory:", project) is None
    assert sqlite_store_path("http://127.0.0.1:5000", project) is None
    assert prepare_sqlite_store("http://127.0.0.1:5000", project) is None


LOG_ONE_RUN = """
import sys, mlflow
from pathlib import Path
from agelab.experiments.tracking_store import prepare_sqlite_store
store = Path(sys.argv[1])
prepare_sqlite_store(f"sqlite:///{store}", store.parent)
mlflow.set_tracking_uri(f"sqlite:///{store}")
mlflow.set_experiment("team")
with mlflow.start_run(run_name=sys.argv[2]):
    mlflow.log_metric("mae", 5.0)
"""


def test_processes_starting_together_on_a_new_store_all_record_their_runs(tmp_path):
    store = tmp_path / "mlflow.db"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", LOG_ONE_RUN, str(store), f"run{i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(3)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], "\n".join(o[-2000:] for o in outputs)
    mlflow.set_tracking_uri(f"sqlite:///{store}")
    runs = mlflow.search_runs(experiment_names=["team"])
    assert sorted(runs["tags.mlflow.runName"]) == ["run0", "run1", "run2"]
    assert (tmp_path / "mlflow.db.lock").is_file()


@pytest.mark.slow
def test_two_kedro_runs_started_together_on_one_new_store_both_finish(tmp_path):
    """Two project checkouts (two users of a team box) share one MLflow store; before the lock both runs
    stopped at start-up on a fresh store (concurrent schema migrations)."""
    store = tmp_path / "team" / "mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "kedro",
        "run",
        "--pipelines=data",
        "--nodes=render_synthetic_face_set",
        "--params",
        "data.synthetic.n_faces=4",
    ]
    projects = []
    for name in ("alice", "bob"):
        (tmp_path / name).mkdir()
        projects.append(copy_project(tmp_path / name))
    runs = [
        subprocess.Popen(command, cwd=p, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for p in projects
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    mlflow.set_tracking_uri(f"sqlite:///{store}")
    recorded = mlflow.search_runs(experiment_names=["agelab"])
    assert len(recorded) == 2 and set(recorded["status"]) == {"FINISHED"}
