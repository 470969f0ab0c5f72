"""A cross-dataset set is cleaned as a test set and every face of it is a test face."""

import pandas as pd
import pytest

from agelab.config import ConfigError
from agelab.preprocessing.cross_dataset import CROSS_DATASET_CLEANING, as_test_set, cross_dataset_parameters


def test_test_set_cleaning_then_the_sets_own_overrides():
    data = {
        "datasets": ["utkface"],
        "processing": {"crop_align": True, "workers": 2},
        "cleaning": {"drop_grayscale": True, "max_per_age": 600, "max_age": 117, "require_face": False},
    }
    params = cross_dataset_parameters(data, {"datasets": ["fgnet"], "cleaning": {"max_age": 70}}, where="x")
    assert params["datasets"] == ["fgnet"]
    assert params["processing"] == {"crop_align": True, "workers": 2}  # framed as the training data
    assert params["cleaning"] == {**CROSS_DATASET_CLEANING, "max_age": 70}
    assert data["cleaning"]["max_per_age"] == 600  # the project's own settings are not touched


def test_every_face_is_a_test_face_in_age_groups_of_its_own():
    faces = pd.DataFrame({"age": [1.0, 5.0, 20.0, 40.0, 60.0, 69.0], "image_path": list("abcdef")})
    test = as_test_set(faces, {"split": {"n_age_groups": 3}})
    assert (test["split"] == "test").all() and len(test) == 6
    assert test["age_group"].tolist() == sorted(test["age_group"].tolist())
    assert test["age_group"].nunique() == 3
    with pytest.raises(ConfigError, match="no faces after cleaning"):
        as_test_set(faces.iloc[:0], {})
