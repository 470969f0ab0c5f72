"""agelab.experiments.tracking_store: several processes start on one new MLflow SQLite store at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest

from agelab.experiments.tracking_store import prepare_sqlite_store, sqlite_store_path
from tests.conftest import copy_project


def test_the_store_file_of_a_tracking_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative store is where MLflow opens it: in the working folder
    assert sqlite_store_path("sqlite:///mlflow.db") == tmp_path / "mlflow.db"
    assert sqlite_store_path("sqlite:////srv/team/mlflow.db") == Path("/srv/team/mlflow.db")
    assert sqlite_store_path("sqlite:///runs/m.db?timeout=30") == tmp_path / "runs/m.db"
    assert sqlite_store_path("sqlite:///:memory:") is None
    assert sqlite_store_path("http://127.0.0.1:5000") is None
    assert prepare_sqlite_store("http://127.0.0.1:5000") is None


def test_another_users_read_only_lock_file_does_not_stop_a_run(tmp_path):
    store = tmp_path / "mlflow.db"
    assert prepare_sqlite_store(f"sqlite:///{store}", "team") == store
    lock = tmp_path / "mlflow.db.lock"
    assert lock.stat().st_mode & 0o777 == 0o666  # writable by the other users of a shared store
    lock.chmod(0o444)  # as if another user's umask had made it read-only to us
    assert prepare_sqlite_store(f"sqlite:///{store}", "team") == store
    mlflow.set_tracking_uri(f"sqlite:///{store}")
    assert mlflow.get_experiment_by_name("team") is not None


LOG_ONE_RUN = """
import sys, mlflow
from pathlib import Path
from agelab.experiments.tracking_store import prepare_sqlite_store
store = Path(sys.argv[1])
while not store.with_name("go").exists():  # start together
    pass
prepare_sqlite_store(f"sqlite:///{store}", "team")
client = mlflow.MlflowClient(f"sqlite:///{store}")
experiment = client.get_experiment_by_name("team").experiment_id  # kedro-mlflow's look-up, no create
mlflow.set_tracking_uri(f"sqlite:///{store}")
with mlflow.start_run(run_name=sys.argv[2], experiment_id=experiment):
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
    time.sleep(2)  # all three have imported MLflow and wait
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=180)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], "\n".join(o[-2000:] for o in outputs)
    mlflow.set_tracking_uri(f"sqlite:///{store}")
    runs = mlflow.search_runs(experiment_names=["team"])
    assert sorted(runs["tags.mlflow.runName"]) == ["run0", "run1", "run2"]
    assert (tmp_path / "mlflow.db.lock").is_file()


@pytest.mark.slow
@pytest.mark.timeout(1800)
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
