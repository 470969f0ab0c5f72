"""``kill -9`` of ``kedro run --pipelines=data`` during the per-image analysis: the rerun completes from the
analysis parts already written, and its outputs equal an uninterrupted run's; nothing half-written is read."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time

import pandas as pd
import pytest

from tests.conftest import copy_project, finish_kedro_run

FACES = 96
CHUNK = 4  # one analysis part per 4 images: 24 parts, written one after another
PARAMS = (
    f"data.synthetic.n_faces={FACES},data.show_progress=false,data.processing.workers=1,"
    f"data.processing.chunk_size={CHUNK}"
)


def _kedro_data(start_kedro_run, project, env, log):
    return start_kedro_run(project, ["--pipelines=data", "--params", PARAMS], env, log)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_data_run_killed_mid_analysis_resumes_to_the_uninterrupted_outputs(tmp_path, start_kedro_run):
    project = copy_project(tmp_path)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "OMP_NUM_THREADS": "1",
        "COLUMNS": "250",  # one log record per line
    }
    model_input = project / "data/05_model_input/model_input_faces.parquet"
    parts = project / "data/02_intermediate/face_cache/parts"

    finish_kedro_run(
        _kedro_data(start_kedro_run, project, env, tmp_path / "reference.log"), tmp_path / "reference.log"
    )
    reference = pd.read_parquet(model_input)
    reference_analysis = pd.read_parquet(project / "data/02_intermediate/face_analysis.parquet")
    total_parts = len(list(parts.glob("*.parquet")))  # the rendered set's images (duplicates too) / CHUNK
    assert total_parts >= FACES // CHUNK
    # every output but the rendered raw set (its files key the analysis cache), from nothing
    for derived in (project / "data").iterdir():
        if derived.name != "01_raw":
            shutil.rmtree(derived)

    run = _kedro_data(start_kedro_run, project, env, tmp_path / "killed.log")
    deadline = time.monotonic() + 600
    while len(list(parts.glob("*.parquet"))) < 3:  # the analysis has begun writing its parts
        assert run.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    written = len(list(parts.glob("*.parquet")))
    assert 3 <= written < total_parts, written  # killed in the middle of the analysis
    assert not model_input.exists()
    for part in parts.glob("*.parquet"):
        pd.read_parquet(part)  # every part that exists is whole

    output = finish_kedro_run(
        _kedro_data(start_kedro_run, project, env, tmp_path / "rerun.log"), tmp_path / "rerun.log"
    )
    cached = re.search(r"face analysis: (\d+) of (\d+) images cached", output)
    assert cached and int(cached[1]) == written * CHUNK, output[-3000:]  # resumed, not redone
    pd.testing.assert_frame_equal(pd.read_parquet(model_input), reference)
    pd.testing.assert_frame_equal(
        pd.read_parquet(project / "data/02_intermediate/face_analysis.parquet"), reference_analysis
    )
