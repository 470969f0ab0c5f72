"""Table 5's cross-dataset sets are scored as test sets: uncapped, grayscale kept, dlib-detected faces."""

import json

import numpy as np
import pandas as pd

from agelab.config import from_mapping
from agelab.pipelines.compare.nodes import cross_data_parameters
from agelab.preprocessing.cleaning import CleaningConfig, clean_faces

DATA = {"datasets": ["synthetic"], "cleaning": {"max_per_age": 600, "require_face": False, "seed": 0}}
COMPARE = {"cross_datasets": {"utkface": {"datasets": ["utkface"]}, "mine": {"cleaning": {"max_age": 60}}}}


def _faces(n):
    return pd.DataFrame(
        {
            "image_path": [f"{i:04d}.jpg" for i in range(n)],
            "dataset": "utkface",
            "age": np.full(n, 30.0),
            "status": "ok",
            "grayscale": np.arange(n) % 10 == 0,
            "face_found": True,
            "detected": np.arange(n) % 7 != 0,
            "attributes": json.dumps({"page_kind": "article"}),
            "sha256": [f"h{i}" for i in range(n)],
            "dhash": [f"{i:016x}" for i in range(n)],
        }
    )


def test_cross_dataset_cleaning_keeps_every_detected_face_uncapped():
    params = cross_data_parameters(DATA, COMPARE, name="utkface")
    assert params["datasets"] == ["utkface"]
    config = from_mapping(CleaningConfig, params["cleaning"], where="test")
    table = _faces(700)  # over the training cap of 600 faces for age 30
    table["dhash"] = [f"{i * 7919:016x}" for i in range(700)]
    kept, report = clean_faces(table, config)
    assert report["dropped"]["age_cap"] == 0 and report["dropped"]["grayscale"] == 0
    assert len(kept) == int(table["detected"].sum()) == 600  # every face dlib detected, nothing else
    assert kept["grayscale"].sum() == 60


def test_a_sets_own_cleaning_overrides_still_apply():
    params = cross_data_parameters(DATA, COMPARE, name="mine")
    assert params["cleaning"]["max_age"] == 60 and params["cleaning"]["max_per_age"] is None
    assert DATA["cleaning"]["max_per_age"] == 600  # the project's own parameters are not modified
