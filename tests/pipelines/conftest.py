"""Fixtures of the pipeline tests: the tiny data pipeline's parameters and a temp-dir catalog for it, and
the tiny 3D subnet that the recon3d, multitask and compare tests train. Each test gets its own copy of the
parameters, so one test changing them cannot change another's."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import ParquetDataset

from agelab.datasets import FaceCacheDataset, FaceSourceDataset
from agelab.pipelines.data.pipeline import RAW_DATASETS

DATA_PARAMS = {
    "datasets": ["synthetic"],
    "show_progress": False,
    "synthetic": {
        "n_faces": 30,
        "seed": 4,
        "grayscale_fraction": 0.1,
        "duplicate_fraction": 0.1,
        "image_size": 96,
    },
    "processing": {"workers": 1, "crop_size": 64, "chunk_size": 16},
    "cleaning": {"max_per_age": 600, "require_face": False},  # as conf/base: the synthetic boxes crop misses
    "split": {"test_fraction": 0.2},
}

RECON3D_PARAMS = {
    "image_size": 64,
    "show_progress": False,
    "overlay_faces": 3,
    "morphable_model": {"bfm2017_path": "no/such/bfm.h5"},
    "training": {"epochs": 2, "batch_size": 4, "max_batches_per_epoch": 3, "device": "cpu"},
}


def _data_catalog(tmp_path: Path, params: dict[str, Any]) -> DataCatalog:
    datasets = {
        f"raw_{name}": FaceSourceDataset(reader=name, path=str(tmp_path / "raw" / name))
        for name in RAW_DATASETS
    }
    datasets.update(
        face_cache=FaceCacheDataset(path=str(tmp_path / "cache")),
        face_index=ParquetDataset(filepath=str(tmp_path / "face_index.parquet")),
        model_input_faces=ParquetDataset(filepath=str(tmp_path / "model_input.parquet")),
        cleaning_report=JSONDataset(filepath=str(tmp_path / "cleaning_report.json")),
        **{"params:data": MemoryDataset(params)},
    )
    return DataCatalog(datasets=datasets)


@pytest.fixture
def data_params() -> dict[str, Any]:
    """``params:data`` of a 30-face synthetic set, 64 px crops, one worker."""
    return copy.deepcopy(DATA_PARAMS)


@pytest.fixture
def data_catalog() -> Callable[[Path, dict[str, Any]], DataCatalog]:
    """``data_catalog(folder, params)``: the data pipeline's catalog with every file under ``folder``."""
    return _data_catalog


@pytest.fixture
def recon3d_params() -> dict[str, Any]:
    """``params:recon3d`` of a 64 px 3D subnet trained 2 epochs of 3 batches."""
    return copy.deepcopy(RECON3D_PARAMS)
