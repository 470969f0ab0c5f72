"""The appearance pipeline on real Kedro machinery with a tiny training budget."""

import json

import pandas as pd
from kedro.io import MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.text import TextDataset

from agelab.datasets import CheckpointDirDataset, ModelBundleDataset
from agelab.models.bundle import ModelBundle
from agelab.pipelines.appearance import create_pipeline
from agelab.pipelines.data import create_pipeline as create_data_pipeline
from tests.pipelines.data.test_pipeline import PARAMS as DATA_PARAMS
from tests.pipelines.data.test_pipeline import make_catalog

APPEARANCE = {
    "image_size": 64,
    "show_progress": False,
    "training": {"epochs": 2, "batch_size": 4, "max_batches_per_epoch": 3, "device": "cpu"},
}


def test_data_then_appearance(tmp_path):
    catalog = make_catalog(tmp_path, DATA_PARAMS)
    catalog["params:appearance"] = MemoryDataset(APPEARANCE)
    catalog["appearance_checkpoints"] = CheckpointDirDataset(path=str(tmp_path / "checkpoints"))
    catalog["appearance_model"] = ModelBundleDataset(filepath=str(tmp_path / "model.pt"))
    catalog["appearance_report"] = JSONDataset(filepath=str(tmp_path / "report.json"))
    catalog["appearance_model_card"] = TextDataset(filepath=str(tmp_path / "card.md"))
    SequentialRunner().run(create_data_pipeline() + create_pipeline(), catalog)

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["count"] > 0 and report["mae"] > 0 and report["median_baseline_mae"] > 0
    assert {"cs_5", "mae_by_decade", "mae_by_age_group"} <= set(report)
    bundle = ModelBundle.load(tmp_path / "model.pt")
    assert bundle.image_size == 64 and bundle.crop_size == 64 and bundle.crop_margin == 0.2
    card = (tmp_path / "card.md").read_text()
    assert "median baseline" in card and "synthetic" in card and "20% margin" in card
    assert (tmp_path / "checkpoints").is_dir()
    model_input = pd.read_parquet(tmp_path / "model_input.parquet")
    assert report["count"] == (model_input["split"] == "test").sum()
