"""The FOSS evaluation's helpers: flat detection metric names and the single-face test records."""

import pandas as pd

from agelab.evaluation.foss_evaluation import detection_metrics, single_face_test_records


def test_detection_metrics_flatten_the_overall_and_per_size_figures():
    detection = {
        "ap": 0.5,
        "recall": 0.75,
        "by_size": {"large": {"ap": 0.9, "recall": 1.0}, "small": {"ap": 0.1, "recall": 0.25}},
    }
    assert detection_metrics(detection) == {
        "detection_ap50": 0.5,
        "detection_recall": 0.75,
        "detection_ap50_large": 0.9,
        "detection_recall_large": 1.0,
        "detection_ap50_small": 0.1,
        "detection_recall_small": 0.25,
    }


def test_single_face_test_records_keep_the_test_split_with_age_and_gender_code_but_no_box():
    annotations = pd.DataFrame(
        {
            "image_path": ["a.jpg", "b.jpg", "c.jpg", "d.jpg"],
            "split": ["train", "test", "test", "val"],
            "age": [20, 31.5, 40, 50],
            "gender": ["male", "female", None, "male"],
        }
    )
    records = single_face_test_records(annotations)
    assert [r.path for r in records] == ["b.jpg", "c.jpg"]
    assert [r.ages for r in records] == [(31.5,), (40.0,)]
    assert [r.genders for r in records] == [(0,), (-1,)]  # female 0, unknown -1
    assert all(r.boxes == () for r in records)  # the detector's box, not the dataset's, is compared
