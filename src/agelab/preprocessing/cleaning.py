"""Cleaning as in Savov et al. §4, every drop counted under its first reason.

Order: unreadable image → Wikipedia sandbox/user page → black-and-white image → no face detected by dlib
(``require_face``) → no box to crop the face from → age outside [min_age, max_age) (the paper keeps ages
below 80) → duplicates → at most ``max_per_age`` images per integer age label (seeded choice).

Two ideas are kept apart: *did dlib detect the face* (the analysis column ``detected``; §4's rule, which
``require_face`` applies) and *is there a box to crop it from* (``face_found``: dlib's box, or the dataset's
own box where ``processing.use_dataset_boxes`` lets a face dlib missed be cropped from it). A face without a
box is always dropped (``no_box``): there is nothing to train on.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from agelab.preprocessing.duplicates import DuplicateConfig, resolve_duplicates

DROP_REASONS = (
    "unreadable",
    "non_article_page",
    "grayscale",
    "no_face",
    "no_box",
    "age_out_of_range",
    "duplicate",
    "duplicate_conflicting_labels",
    "age_cap",
)


@dataclass(frozen=True)
class CleaningConfig:
    """``parameters_data.yml: cleaning``."""

    drop_non_article_pages: bool = True
    drop_grayscale: bool = True
    require_face: bool = True  # §4: drop faces dlib's detector does not find, whatever box could crop them
    min_age: float = 0
    max_age: float = 80  # exclusive: "we keep images labeled below 80 years of age"
    max_per_age: int | None = 600
    seed: int = 0
    duplicates: DuplicateConfig = field(default_factory=DuplicateConfig)


def _page_kind(attributes: object) -> str:
    """The ``page_kind`` of a face's JSON ``attributes``; "article" where it is missing, empty (NaN after a
    join), not JSON or not an object."""
    if not isinstance(attributes, str) or not attributes:
        return "article"
    try:
        parsed = json.loads(attributes)
    except json.JSONDecodeError:
        return "article"
    return parsed.get("page_kind", "article") if isinstance(parsed, dict) else "article"


def clean_faces(faces: pd.DataFrame, config: CleaningConfig) -> tuple[pd.DataFrame, dict]:
    """Apply the §4 rules to faces joined with their analysis; return kept rows and the report."""
    reason = pd.Series("", index=faces.index, dtype=object)

    def mark(condition: pd.Series, name: str) -> None:
        reason[(reason == "") & condition.fillna(False).astype(bool)] = name

    mark(faces["status"].fillna("unreadable").ne("ok"), "unreadable")
    if config.drop_non_article_pages:
        mark(faces["attributes"].map(_page_kind).ne("article"), "non_article_page")
    if config.drop_grayscale:
        mark(faces["grayscale"].astype(bool), "grayscale")
    detected = faces["detected"].fillna(False).astype(bool)
    has_box = faces["face_found"].fillna(False).astype(bool)
    if config.require_face:
        mark(~detected, "no_face")
    mark(~has_box, "no_box")
    age = faces["age"]
    mark(age.isna() | (age < config.min_age) | (age >= config.max_age), "age_out_of_range")

    remaining = reason == ""
    duplicate_reason, groups = resolve_duplicates(faces[remaining], config.duplicates)
    reason[duplicate_reason.index] = reason[duplicate_reason.index].where(
        duplicate_reason == "", duplicate_reason
    )

    if config.max_per_age:
        rng = np.random.default_rng(config.seed)
        keep = faces.index[reason == ""]
        labels = np.floor(faces.loc[keep, "age"]).astype(int)
        for _label, members in labels.groupby(labels).groups.items():
            if len(members) > config.max_per_age:
                over = rng.choice(np.asarray(members), size=len(members) - config.max_per_age, replace=False)
                reason[over] = "age_cap"

    counts = Counter(reason[reason != ""])
    per_dataset = {
        name: {
            "faces": len(group),
            "kept": int((reason[group.index] == "").sum()),
            **{r: int((reason[group.index] == r).sum()) for r in DROP_REASONS},
        }
        for name, group in faces.groupby("dataset")
    }
    report = {
        "faces_in": len(faces),
        "faces_kept": int((reason == "").sum()),
        "dropped": {r: int(counts.get(r, 0)) for r in DROP_REASONS},
        "per_dataset": per_dataset,
        "boxes_of_kept_faces": _box_sources(faces[reason == ""]),
        "duplicate_groups": len(groups),
        "duplicate_groups_conflicting": sum(g["conflicting_labels"] for g in groups),
        "duplicate_examples": groups[:20],
        "unreadable_examples": faces.loc[reason == "unreadable", "status"].head(20).tolist(),
        "config": {
            k: (v if not hasattr(v, "__dataclass_fields__") else vars(v)) for k, v in vars(config).items()
        },
    }
    kept = faces[reason == ""].copy()
    return kept, report


def _box_sources(kept: pd.DataFrame) -> dict[str, int]:
    """How the kept faces were found: dlib detected them, or only the dataset's box crops them."""
    detected = kept["detected"].fillna(False).astype(bool)
    return {"detected_by_dlib": int(detected.sum()), "dataset_box_only": int((~detected).sum())}


def detection_rates(faces: pd.DataFrame) -> dict[str, float]:
    """Share of readable faces dlib's detector found, per dataset (a realism check for synthetic data)."""
    readable = faces[faces["status"] == "ok"]
    return {
        name: float(group["detected"].fillna(False).astype(bool).mean())
        for name, group in readable.groupby("dataset")
    }
