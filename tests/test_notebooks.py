"""notebooks/walkthrough.ipynb executed top to bottom (nbclient, a real kernel) on a small project that
the appearance pipeline has just trained, so the notebook cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import copy_project


@pytest.mark.slow
def test_walkthrough_notebook_runs_on_a_trained_project(
    tmp_path, monkeypatch, data_run_params, appearance_run_params
):
    project = copy_project(tmp_path, "notebooks")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("AGELAB_PROJECT", str(project))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "kedro",
            "run",
            "--pipelines=appearance",
            "--params",
            f"{data_run_params},{appearance_run_params}",
        ],
        cwd=project,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]

    notebook = nbformat.read(project / "notebooks" / "walkthrough.ipynb", as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(project / "notebooks")}},
    ).execute()
    text = "\n".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "largest difference from the pipeline's predictions" in text and "test MAE" in text
    images = [
        o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 3  # age histogram, sample crops, analysis plots
