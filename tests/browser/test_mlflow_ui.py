"""The MLflow UI as a user meets it, on a store written by agelab's own tracking code: the runs of a small
compare (a parent run, one child run per training run), two of them compared side by side, and a model
card artifact; opened from the link agelab logs after a run (the "Model training" workflow)."""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from agelab.evaluation.metrics import age_report
from agelab.evaluation.model_card import model_card
from agelab.experiments.tracking import (
    EpochLogger,
    child_run,
    log_params,
    run_page_link,
    tag_training_experiment,
)

CARD = "appearance_model_card.md"
#: variant -> (validation MAE per epoch, test MAE)
RUNS = {"appearance_seed0": ([14.0, 11.5, 10.25], 10.75), "appearance_seed1": ([13.0, 12.0, 11.75], 12.25)}


def _card(test_mae: float) -> str:
    true = np.array([20.0, 30.0, 40.0, 50.0])
    faces = pd.DataFrame({"split": ["train"] * 6 + ["test"] * 4, "age": [18, 25, 33, 41, 52, 60, *true]})
    return model_card(
        name="appearance subnet (Savov et al. §3.2)",
        faces=faces,
        report=age_report(true + test_mae, true, faces["age"].to_numpy()[:6]),
        history=[{"epoch": 0, "samples_per_s": 75.0}],
        training={"epochs": 3, "backbone": "alexnet"},
        crop={"size": 128, "margin": 0.2, "image_size": 112},
        device="cpu",
        stand_in_model=False,
    )


@pytest.fixture(scope="module")
def compare_store(tmp_path_factory) -> dict:
    """A SQLite store holding one compare: the parent run and two appearance runs, each with its learning
    curve, test MAE and model card, logged the way the compare pipeline logs them."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        experiment_id = mlflow.create_experiment("agelab", artifact_location=(root / "artifacts").as_uri())
        mlflow.set_experiment(experiment_id=experiment_id)
        runs = {}
        with mlflow.start_run(run_name="compare") as parent:
            tag_training_experiment()
            for seed, (variant, (curve, test_mae)) in enumerate(RUNS.items()):
                with child_run(f"compare.{variant}") as run_id:
                    log_params({"variant": variant, "appearance": {"training": {"seed": seed, "epochs": 3}}})
                    logger = EpochLogger("appearance", "val_mae")
                    for epoch, mae in enumerate(curve):
                        logger(epoch, {"epoch": epoch, "val_metric": mae, "loss": 3.0 - epoch})
                    mlflow.log_metrics({"test_mae": test_mae, "test_median_baseline_mae": 20.06})
                    mlflow.log_text(_card(test_mae), CARD)
                runs[f"compare.{variant}"] = run_id
    finally:
        mlflow.set_tracking_uri(previous)
    return {"uri": uri, "root": root, "experiment": experiment_id, "parent": parent.info.run_id, "runs": runs}


@pytest.fixture(scope="module")
def mlflow_ui(serve, free_port, compare_store) -> str:
    port = free_port()
    mlflow_cli = str(Path(sys.executable).parent / "mlflow")
    command = [mlflow_cli, "ui", "--backend-store-uri", compare_store["uri"], "--host", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}"
    root = compare_store["root"]
    with serve([*command, "--port", str(port)], f"{url}/health", cwd=root, log=root / "ui.log"):
        yield url


def test_the_logged_link_opens_the_run_in_the_model_training_workflow(page: Page, mlflow_ui, compare_store):
    page.goto(run_page_link(compare_store["experiment"], compare_store["parent"], ui=mlflow_ui))
    expect(page.get_by_role("heading", name="compare")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Model registry")).to_be_visible()  # the Model training sidebar
    expect(page.get_by_text("Judges")).to_have_count(0)  # not the GenAI one


def test_the_experiment_lists_the_runs_of_the_compare(page: Page, mlflow_ui, compare_store):
    page.goto(f"{mlflow_ui}/#/experiments/{compare_store['experiment']}?workflowType=machine_learning")
    parent = page.get_by_role("gridcell").filter(has_text="compare").first
    expect(parent).to_be_visible(timeout=30_000)
    expect(page.get_by_text("3 matching runs")).to_be_visible()
    parent.get_by_role("button").first.click()  # a parent run's children are folded under it
    for name in compare_store["runs"]:
        expect(page.get_by_role("gridcell").filter(has_text=name)).to_be_visible()


def test_two_runs_compared_side_by_side(page: Page, mlflow_ui, compare_store):
    ids = list(compare_store["runs"].values())
    runs = ",".join(f'"{run_id}"' for run_id in ids)
    page.goto(
        f'{mlflow_ui}/#/compare-runs?runs=[{runs}]&experiments=["{compare_store["experiment"]}"]'
        "&workflowType=machine_learning"
    )
    expect(page.get_by_text("Comparing 2 Runs from 1 Experiment")).to_be_visible(timeout=30_000)
    # the metrics table: the test MAE of each run on the row of its name, in the runs' column order
    label = page.get_by_text("test_mae", exact=True).first
    label.scroll_into_view_if_needed()
    expect(label).to_be_visible()
    row = label.bounding_box()
    cells = [
        page.get_by_text(f"{RUNS[name.split('.')[1]][1]:.2f}", exact=True).first
        for name in compare_store["runs"]
    ]
    boxes = [cell.bounding_box() for cell in cells]
    for box in boxes:
        assert abs((box["y"] + box["height"] / 2) - (row["y"] + row["height"] / 2)) < 4, (row, box)
    assert row["x"] < boxes[0]["x"] < boxes[1]["x"]
    for name in compare_store["runs"]:
        expect(page.get_by_text(name).first).to_be_visible()


def test_a_runs_model_card_is_shown_as_a_page(page: Page, mlflow_ui, compare_store):
    run_id = compare_store["runs"]["compare.appearance_seed0"]
    page.goto(
        f"{mlflow_ui}/#/experiments/{compare_store['experiment']}/runs/{run_id}/artifacts"
        "?workflowType=machine_learning"
    )
    page.get_by_text(CARD).first.click(timeout=30_000)
    # the Markdown is rendered: the card's title and its test MAE
    expect(
        page.get_by_role("heading", name="Model card: appearance subnet (Savov et al. §3.2)")
    ).to_be_visible()
    expect(page.get_by_text("10.75").first).to_be_visible()
