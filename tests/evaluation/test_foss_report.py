import math

import pandas as pd

from agelab.evaluation.foss_report import foss_report_markdown


def _detection(ap: float, small_ap: float) -> dict:
    return {
        "ap": ap,
        "recall": 0.9,
        "faces": 12,
        "images": 3,
        "by_size": {
            "large": {"ap": 0.95, "recall": 1.0, "faces": 5},
            "medium": {"ap": math.nan, "recall": math.nan, "faces": 0},
            "small": {"ap": small_ap, "recall": 0.5, "faces": 7},
        },
    }


def _report(**extra) -> dict:
    """A FOSS evaluation report (detection AP 0.812) with ``extra`` keys."""
    groups = {"age_group_accuracy": 0.5, "one_off_accuracy": 0.8, "gender_accuracy": 0.7}
    return {
        "detection": _detection(0.812, 0.25),
        "group_photos": {**groups, "matched_faces": 4, "faces": 5},
        "single_face_test": {"mae": 6.0, "no_face_detected": 0, "images": 3},
        **extra,
    }


def test_report_shows_the_detection_figures_by_face_size():
    report = _report()
    baselines = {"dlib_detection": _detection(0.5, 0.125)}
    markdown = foss_report_markdown(report, baselines, {}, pd.DataFrame(), {})
    assert "| FOSS CenterNet (DLA-34) | 0.812 | 0.900 | 12 | 3 |" in markdown
    assert "| FOSS CenterNet (DLA-34) | 0.950 | 1.000 | 5 | — | — | 0 | 0.250 | 0.500 | 7 |" in markdown
    assert "| dlib HOG (baseline) | 0.950 | 1.000 | 5 | — | — | 0 | 0.125 | 0.500 | 7 |" in markdown
    assert "all-point interpolated" in markdown


def test_held_out_photos_and_every_extra_detector_are_reported():
    report = _report(detection_split="test")
    baselines = {
        "dlib_detection": _detection(0.5, 0.125),
        "detection_split": "test",
        "detectors": {"dlib MMOD CNN, up-sampling 0": _detection(0.625, 0.0)},
    }
    markdown = foss_report_markdown(report, baselines, {}, pd.DataFrame(), {})
    assert "held-out test photos, never used in training or to pick an epoch" in markdown
    assert "| dlib MMOD CNN, up-sampling 0 | 0.625 | 0.900 | 12 | 3 |" in markdown
    assert "| dlib MMOD CNN, up-sampling 0 | 0.950 | 1.000 | 5 | — | — | 0 | 0.000 | 0.500 | 7 |" in markdown


def test_tiled_scenes_are_reported_beside_the_same_faces_alone():
    tiled = {
        "scenes": 2,
        "faces": 18,
        "found_tiled": 17,
        "mae_tiled": 6.5,
        "found_single": 18,
        "mae_single": 5.25,
        "paired_faces": 17,
        "paired_mae_tiled": 6.5,
        "paired_mae_single": 5.0,
    }
    report = _report(tiled_test_faces={"3x3": tiled})
    markdown = foss_report_markdown(report, {"dlib_detection": _detection(0.5, 0.1)}, {}, pd.DataFrame(), {})
    assert "## Many faces at once" in markdown
    assert "| FOSS, 3x3 | 2 | 18 | 17 | 6.50 | 18 | 5.25 | 17 | 6.50 | 5.00 |" in markdown


def test_without_a_group_set_the_report_says_the_group_protocol_did_not_run():
    report = _report(
        group_sets=[], group_photos={"age_group_accuracy": math.nan, "matched_faces": 0, "faces": 0}
    )
    markdown = foss_report_markdown(
        report, {"dlib_detection": _detection(0.5, 0.125)}, {}, pd.DataFrame(), {}
    )
    assert "No group set selected (`foss.group_sets: []`)" in markdown
    assert "1-off" not in markdown and "majority group" not in markdown
    assert "## Single-face test images" in markdown
    with_groups = foss_report_markdown(
        _report(), {"dlib_detection": _detection(0.5, 0.125)}, {}, pd.DataFrame(), {}
    )
    assert "| FOSS | 50.0 | 80.0 | 70.0 | 4 / 5 |" in with_groups and "No group set" not in with_groups


def test_a_selected_group_set_with_no_faces_found_is_reported_not_taken_for_no_set():
    nothing = {"age_group_accuracy": math.nan, "one_off_accuracy": math.nan, "gender_accuracy": math.nan}
    report = _report(
        group_sets=["images_of_groups"], group_photos={**nothing, "matched_faces": 0, "faces": 0}
    )
    markdown = foss_report_markdown(
        report, {"dlib_detection": _detection(0.5, 0.125)}, {}, pd.DataFrame(), {}
    )
    assert "No group set selected" not in markdown and "| FOSS | — | — | — | 0 / 0 |" in markdown
