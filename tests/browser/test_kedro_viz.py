"""kedro-viz as a user meets it: ``kedro viz run`` on this project, the sps pipeline's flowchart and one
node's details, in a real browser."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from agelab.pipeline_registry import register_pipelines
from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def viz_url(serve, free_port, tmp_path_factory) -> str:
    port = free_port()
    kedro = str(Path(sys.executable).parent / "kedro")
    command = [kedro, "viz", "run", "--no-browser", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    folder = tmp_path_factory.mktemp("viz")
    # the project's hooks open the MLflow store when kedro-viz makes the context: a store of the test's own
    tracking = {"MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}"}
    with serve(command, f"{url}/api/main", cwd=PROJECT_ROOT, log=folder / "viz.log", env=tracking):
        yield url


def _list_entry(page: Page, name: str):
    """The sidebar's entry of a node or dataset."""
    return page.locator(".node-list-row .row-text__label").get_by_text(name, exact=True).first


def test_the_sps_pipeline_shows_every_node_and_dataset(page: Page, viz_url: str):
    sps = register_pipelines()["sps"]
    nodes = {node.name for node in sps.nodes}
    datasets = {name for name in sps.datasets() if not name.startswith("params:") and name != "parameters"}
    page.goto(f"{viz_url}/?pid=sps")
    flowchart = page.locator(".pipeline-node")
    expect(flowchart.first).to_be_visible(timeout=30_000)
    # parameters are hidden by kedro-viz's default filter; every node and dataset is drawn
    expect(flowchart).to_have_count(len(nodes) + len(datasets))
    for name in ("train_sps", "train_recon3d_subnet", "evaluate_sps", "write_sps_model_card"):
        assert name in nodes
        expect(_list_entry(page, name)).to_be_visible()


def test_a_node_shows_its_function_inputs_and_outputs(page: Page, viz_url: str):
    page.goto(f"{viz_url}/?pid=sps")
    _list_entry(page, "train_sps").click()
    details = page.locator(".pipeline-metadata")
    expect(details).to_be_visible(timeout=30_000)
    expect(details).to_contain_text("train_sps")
    expect(details).to_contain_text("node")
    expect(details).to_contain_text("agelab/training/multitask_training.py")
    for name in ("model_input_faces", "recon3d_model", "params:sps", "sps_model", "sps_history"):
        expect(details).to_contain_text(name)
    expect(details).to_contain_text("kedro run --to-nodes='train_sps'")
