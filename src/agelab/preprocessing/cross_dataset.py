"""A cross-dataset evaluation set (Savov et al. Table 5's role; FG-NET for the real-photo models): a test set,
never training data.

Every cleanly readable face dlib detects is kept, black-and-white photos included, with no cap per age. Only
exact and perceptual duplicates (one face counted twice) and ages outside the models' range are still
dropped. The same reading, analysis and cleaning as the training data otherwise, so a face is framed exactly
as the models were trained on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from agelab.config import ConfigError, from_mapping
from agelab.experiments.grid import merge_overrides
from agelab.preprocessing.splitting import SplitConfig, age_group_bounds, assign_age_groups

CROSS_DATASET_CLEANING = {"require_face": True, "drop_grayscale": False, "max_per_age": None}


def cross_dataset_parameters(
    data_params: Mapping[str, Any], overrides: Mapping[str, Any], *, where: str
) -> dict[str, Any]:
    """``data`` parameters of one cross-dataset set: the project's, with the test-set cleaning
    (:data:`CROSS_DATASET_CLEANING`), then the set's own ``overrides`` (e.g. ``{"datasets": ["fgnet"]}``)."""
    evaluation = merge_overrides(data_params, {"cleaning": CROSS_DATASET_CLEANING}, where="data")
    return merge_overrides(evaluation, overrides, where=where)


def check_cross_evaluate(
    cross_evaluate: tuple[str, ...], cross_datasets: Mapping[str, Any], *, where: str
) -> None:
    """Every name in ``<where>.cross_evaluate`` is a set ``<where>.cross_datasets`` defines."""
    for name in cross_evaluate:
        if name not in cross_datasets:
            raise ConfigError(
                f"{where}.cross_evaluate names '{name}', which {where}.cross_datasets does not "
                f"define (defined: {sorted(cross_datasets)})"
            )


def as_test_set(clean_faces: pd.DataFrame, data_params: Mapping[str, Any]) -> pd.DataFrame:
    """Every cleaned face of a cross-dataset set is a test face, in age groups of its own."""
    if clean_faces.empty:
        raise ConfigError("the cross-dataset set has no faces after cleaning; check its data overrides")
    split = from_mapping(SplitConfig, data_params.get("split"), where="data.split")
    faces = clean_faces.copy()
    faces["split"] = "test"
    ages = faces["age"].to_numpy()
    faces["age_group"] = assign_age_groups(ages, age_group_bounds(ages, split.n_age_groups))
    return faces
