"""The documented scale-out recipe, for real: ``kedro run --pipelines=data`` once, then
``torchrun --nproc_per_node=2 -m kedro run --pipelines=appearance_only`` (DDP over gloo on this CPU); rank 0
alone logs to MLflow. And FOSS's training stages under ``torchrun`` (``foss_ddp_worker.py``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT, copy_project


@pytest.mark.slow
def test_kedro_pipeline_under_torchrun_trains_with_ddp_and_logs_once(
    tmp_path, data_run_params, appearance_run_params
):
    project = copy_project(tmp_path)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "OMP_NUM_THREADS": "1",
    }
    data = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--pipelines=data", "--params", data_run_params],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert data.returncode == 0, data.stderr[-3000:]
    torchrun = [
        str(PROJECT_ROOT / ".venv/bin/torchrun"),
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "kedro",
        "run",
        "--pipelines=appearance_only",
        "--params",
        f"{data_run_params},{appearance_run_params}",
    ]
    run = subprocess.run(torchrun, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "distributed training: rank 0 of 2" in output and "distributed training: rank 1 of 2" in output
    assert "torchrun rank 1:" in output, output[-6000:]
    assert (project / "data/06_models/appearance/appearance_subnet.pt").is_file()

    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["agelab"], search_all_experiments=False)
    assert sorted(runs["tags.mlflow.runName"]) == ["appearance_only", "data"]  # no stray run from rank 1
    appearance = runs[runs["tags.mlflow.runName"] == "appearance_only"].iloc[0]
    assert appearance["status"] == "FINISHED" and appearance["metrics.appearance_metrics.test_mae"] >= 0


@pytest.mark.slow
def test_foss_training_under_torchrun_gives_both_ranks_the_same_weights(tmp_path):
    """Both FOSS stages (detector; frozen-detector and end-to-end FOSS) under DDP on gloo: DDP refuses a
    model with parameters that get no gradient (DLA's unused projections did), and the ranks must agree."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join((str(PROJECT_ROOT / "src"), os.environ.get("PYTHONPATH", ""))),
    }
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(PROJECT_ROOT / "tests/training/foss_ddp_worker.py"),
        str(tmp_path),
    ]
    run = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "rank 0 finished" in output and "rank 1 finished" in output
    assert "distributed training: rank 1 of 2" in output
    import torch

    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert set(rank0) == {"detector", "foss_end_to_end_False", "foss_end_to_end_True"}
    for stage, state in rank0.items():
        learnt = [k for k in state if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
        assert len(learnt) > 100
        for key in learnt:  # BatchNorm statistics follow each rank's last batch; rank 0 checkpoints its own
            assert torch.equal(state[key], rank1[stage][key]), (stage, key)
