import dataclasses
import json

import numpy as np
import pandas as pd

from agelab.preprocessing.cleaning import DROP_REASONS, CleaningConfig, clean_faces, detection_rates
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


def _plain(**overrides) -> CleaningConfig:
    values = {"max_per_age": None, "duplicates": DuplicateConfig(near_duplicates=False)}
    return CleaningConfig(**(values | overrides))


def test_missing_values_count_as_failures_and_the_age_range_is_half_open():
    table = faces(n=9, age=np.array([10.0, 80.0, 9.99, np.nan, 79.9, 30.0, 31.0, 32.0, 33.0]))
    table["status"] = table["status"].astype(object)
    table.loc[5, "status"] = None  # no analysis: unreadable
    table["detected"] = table["detected"].astype(object)
    table.loc[6, "detected"] = None  # dlib did not report a face
    table["face_found"] = table["face_found"].astype(object)
    table.loc[7, "face_found"] = None
    kept, report = clean_faces(table, _plain(min_age=10, require_face=True))
    assert kept["image_path"].tolist() == ["000.jpg", "004.jpg", "008.jpg"]
    assert report["dropped"] == {
        **dict.fromkeys(DROP_REASONS, 0),
        "unreadable": 1,
        "no_face": 1,
        "no_box": 1,
        "age_out_of_range": 3,  # 80 (the bound is exclusive), 9.99, no age
    }
    assert report["unreadable_examples"] == [None]
    kept, report = clean_faces(table, _plain(min_age=10, require_face=False))
    assert report["dropped"]["no_box"] == 1 and "006.jpg" in kept["image_path"].tolist()
    assert report["boxes_of_kept_faces"] == {"detected_by_dlib": 3, "dataset_box_only": 1}


def test_page_kinds_other_than_article_are_dropped_and_unparsable_attributes_kept():
    attributes = [
        json.dumps({"page_kind": "user"}),
        json.dumps({"page_kind": "article"}),
        json.dumps({"other": 1}),  # no page kind: an article
        "",  # no attributes: an article
        "{not json",  # unparsable: an article
        json.dumps({"page_kind": "sandbox"}),
    ]
    table = faces(n=6, age=np.arange(6) * 10.0 + 5, attributes=attributes)
    table.loc[2, "grayscale"] = True
    kept, report = clean_faces(table, _plain())
    assert kept["image_path"].tolist() == ["001.jpg", "003.jpg", "004.jpg"]
    assert report["dropped"]["non_article_page"] == 2 and report["dropped"]["grayscale"] == 1
    kept, report = clean_faces(table, _plain(drop_non_article_pages=False, drop_grayscale=False))
    assert len(kept) == 6 and sum(report["dropped"].values()) == 0


def test_missing_and_non_object_attributes_are_articles_not_a_crash():
    # NaN is what a join leaves where one reader has no attributes column; "[1]" and "7" are JSON, not objects
    table = faces(n=4, age=np.array([20.0, 30.0, 40.0, 50.0]), attributes=[np.nan, "[1]", "7", None])
    kept, report = clean_faces(table, _plain())
    assert len(kept) == 4 and report["dropped"]["non_article_page"] == 0


def test_report_counts_per_dataset_and_records_the_configuration():
    table = faces(n=5, age=np.array([20.0, 21.0, 90.0, 22.0, 95.0]), dataset=["wiki"] * 3 + ["imdb"] * 2)
    table["status"] = ["ok", "unreadable: 001.jpg: truncated", "ok", "ok", "ok"]
    config = _plain()
    kept, report = clean_faces(table, config)
    assert report["faces_in"] == 5 and report["faces_kept"] == 2 == len(kept)
    zero = dict.fromkeys(DROP_REASONS, 0)
    assert report["per_dataset"] == {
        "imdb": {"faces": 2, "kept": 1, **zero, "age_out_of_range": 1},
        "wiki": {"faces": 3, "kept": 1, **zero, "unreadable": 1, "age_out_of_range": 1},
    }
    assert report["unreadable_examples"] == ["unreadable: 001.jpg: truncated"]
    assert report["duplicate_groups"] == 0 and report["duplicate_groups_conflicting"] == 0
    assert report["duplicate_examples"] == []
    assert report["config"]["max_age"] == 80 and report["config"]["duplicates"] == vars(config.duplicates)
    assert report["config"]["require_face"] is True


def test_exact_duplicates_are_reported_with_their_groups():
    table = faces(n=4, age=np.array([20.0, 20.0, 30.0, 40.0]), sha256=["a", "a", "b", "c"])
    kept, report = clean_faces(table, _plain())
    assert len(kept) == 3 and report["dropped"]["duplicate"] == 1
    assert report["duplicate_groups"] == 1 and len(report["duplicate_examples"]) == 1


def test_age_cap_keeps_exactly_max_per_age_of_each_whole_year():
    table = faces(n=7, age=np.array([30.0, 30.2, 30.9, 31.0, 31.5, 40.0, 41.0]))
    kept, report = clean_faces(table, _plain(max_per_age=2))
    assert report["dropped"]["age_cap"] == 1  # three faces aged 30.x, two aged 31.x
    assert np.floor(kept["age"]).value_counts().to_dict() == {30: 2, 31: 2, 40: 1, 41: 1}


def test_detection_rates_count_readable_faces_only_and_a_missing_flag_as_missed():
    table = pd.DataFrame(
        {
            "dataset": ["wiki", "wiki", "wiki", "imdb", "imdb", "imdb"],
            "status": ["ok", "ok", "unreadable: x", "ok", "ok", "ok"],
            "detected": [True, None, True, True, True, False],
        }
    )
    rates = detection_rates(table)
    assert rates == {"imdb": 2 / 3, "wiki": 0.5}


def test_report_keeps_at_most_20_examples_of_duplicates_and_unreadable_images():
    # rows 0..41: 21 pairs of byte-identical images (same age); rows 42..62: 21 unreadable images
    n = 63
    sha = [f"d{i // 2}" for i in range(42)] + [f"u{i}" for i in range(21)]
    ages = np.array([float(i // 2) for i in range(42)] + [50.0] * 21)
    table = faces(n=n, age=ages, sha256=sha)
    statuses = ["ok"] * 42 + [f"unreadable: {i:03d}.jpg: empty file" for i in range(42, n)]
    table["status"] = statuses
    kept, report = clean_faces(table, _plain())
    assert report["dropped"]["duplicate"] == 21 and report["dropped"]["unreadable"] == 21 and len(kept) == 21
    assert report["duplicate_groups"] == 21 and len(report["duplicate_examples"]) == 20
    assert report["unreadable_examples"] == statuses[42:62]
