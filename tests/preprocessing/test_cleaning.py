import dataclasses
import json

import numpy as np
import pandas as pd

from agelab.preprocessing.cleaning import CleaningConfig, clean_faces
from agelab.preprocessing.duplicates import DuplicateConfig


def faces(n=10, **overrides):
    base = {
        "image_path": [f"{i:03d}.jpg" for i in range(n)],
        "dataset": "wiki",
        "age": np.arange(n) * 9.0,
        "status": "ok",
        "grayscale": False,
        "face_found": True,
        "detected": True,
        "attributes": json.dumps({"page_kind": "article"}),
        "sha256": [f"h{i}" for i in range(n)],
        "dhash": [f"{i:016x}" for i in range(n)],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_each_rule_counts_its_drops_once():
    table = faces()
    table.loc[0, "status"] = "unreadable: 000.jpg: empty file"
    table.loc[0, "grayscale"] = True  # counted under its first reason only
    table.loc[1, "attributes"] = json.dumps({"page_kind": "sandbox"})
    table.loc[2, "grayscale"] = True
    table.loc[3, ["face_found", "detected"]] = False
    table.loc[4, "sha256"] = "h5"
    kept, report = clean_faces(table, CleaningConfig(duplicates=DuplicateConfig(near_duplicates=False)))
    assert report["dropped"]["unreadable"] == 1
    assert report["dropped"]["non_article_page"] == 1
    assert report["dropped"]["grayscale"] == 1
    assert report["dropped"]["no_face"] == 1
    assert report["dropped"]["age_out_of_range"] == 1  # age 81
    assert report["dropped"]["duplicate_conflicting_labels"] == 2  # ages 36 and 45 share bytes
    assert report["faces_kept"] == len(kept) == 3
    assert report["faces_in"] == 10 == report["faces_kept"] + sum(report["dropped"].values())


def test_cap_per_age_is_seeded():
    table = faces(n=50, age=np.full(50, 30.0))
    kept_a, report = clean_faces(table, CleaningConfig(max_per_age=20, seed=1))
    kept_b, _ = clean_faces(table, CleaningConfig(max_per_age=20, seed=1))
    assert report["dropped"]["age_cap"] == 30 and len(kept_a) == 20
    assert kept_a["image_path"].tolist() == kept_b["image_path"].tolist()


def test_require_face_means_dlib_detected_it_even_when_a_dataset_box_crops_it():
    """§4 drops faces dlib does not detect; a dataset box (use_dataset_boxes) only says where to crop."""
    table = faces(n=6, age=np.full(6, 30.0) + np.arange(6))
    table.loc[1, "detected"] = False  # dlib missed it, the dataset's box cropped it
    table.loc[2, ["detected", "face_found"]] = False  # missed and no box at all
    config = CleaningConfig(max_per_age=None, duplicates=DuplicateConfig(near_duplicates=False))
    kept, report = clean_faces(table, config)
    assert report["dropped"]["no_face"] == 2 and report["dropped"]["no_box"] == 0
    assert kept["image_path"].tolist() == ["000.jpg", "003.jpg", "004.jpg", "005.jpg"]
    assert report["boxes_of_kept_faces"] == {"detected_by_dlib": 4, "dataset_box_only": 0}

    kept, report = clean_faces(table, dataclasses.replace(config, require_face=False))
    assert report["dropped"]["no_face"] == 0 and report["dropped"]["no_box"] == 1  # nothing to crop
    assert "002.jpg" not in kept["image_path"].tolist() and len(kept) == 5
    assert report["boxes_of_kept_faces"] == {"detected_by_dlib": 4, "dataset_box_only": 1}
