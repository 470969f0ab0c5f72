"""§5.3's extremeness groups on the comparison's runs: seed-averaged per-face errors of the reference and the
joint model, grouped by the 3D subnet's pose and expression estimates, checked against hand-computed
values; the test set's overall paired test, figures and most improved extreme faces."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from agelab.experiments.extremeness_groups import (
    cross_dataset_group_analysis,
    extremeness_group_analysis,
    group_tables,
    most_improved_extremes,
    paired_faces,
)
from agelab.experiments.grid import GroupAnalysis, compare_config
from agelab.experiments.tables import per_image_errors

FACES = ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
TRUE_AGES = [10.0, 20.0, 30.0, 40.0]
# per-face errors: appearance seeds (2, 4) -> 3; (6, 2) -> 4; (1, 1) -> 1; (10, 6) -> 8
APPEARANCE = [[12, 26, 31, 50], [14, 22, 29, 46]]
# sps seeds: (1, 1) -> 1; (4, 4) -> 4; (2, 0) -> 1; (3, 1) -> 2
SPS = [[11, 24, 32, 43], [9, 16, 30, 41]]


def _run(model: str, seed: int, predicted: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image_path": FACES,
            "crop_path": [f"crops/{f}" for f in FACES],
            "true_age": TRUE_AGES,
            "predicted_age": predicted,
            "absolute_error": np.abs(np.subtract(predicted, TRUE_AGES)),
            "variant": f"{model}_seed{seed}",
            "model": model,
        }
    )


def _runs(model: str, predicted_by_seed: list[list[float]]) -> pd.DataFrame:
    return pd.concat(
        [_run(model, seed, predicted) for seed, predicted in enumerate(predicted_by_seed)], ignore_index=True
    )


def _extremeness(**true_columns: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image_path": FACES,
            "crop_path": [f"crops/{f}" for f in FACES],
            "pose_predicted": [0.1, 0.9, 0.2, 0.8],  # least extreme: a, c; most: b, d
            "expression_predicted": [5.0, 1.0, 2.0, 9.0],  # least: b, c; most: a, d
            **true_columns,
        }
    )


def test_groups_average_each_faces_error_over_seeds_and_split_by_the_3d_estimates():
    appearance = _runs("appearance", APPEARANCE)
    sps = _runs("sps", SPS)
    groups, pose_plot, expression_plot = cross_dataset_group_analysis(
        _extremeness(),
        pd.concat([appearance, sps]),
        compare_config({"groups": {"groups": 2}}).groups,
        name="fgnet",
    )
    pose = groups[groups["metric"] == "pose"].set_index("group")
    assert pose["source"].eq("predicted").all()
    assert pose["images"].tolist() == [2, 2]
    assert pose.loc[1, ["mae_reference", "mae_model"]].tolist() == pytest.approx([2.0, 1.0])  # a, c
    assert pose.loc[2, ["mae_reference", "mae_model"]].tolist() == pytest.approx([6.0, 3.0])  # b, d
    assert pose["mae_difference"].tolist() == pytest.approx([-1.0, -3.0])
    expression = groups[groups["metric"] == "expression"].set_index("group")
    assert expression.loc[1, ["mae_reference", "mae_model"]].tolist() == pytest.approx([2.5, 2.5])  # b, c
    assert expression.loc[2, ["mae_reference", "mae_model"]].tolist() == pytest.approx([5.5, 1.5])  # a, d
    assert "fgnet" in pose_plot.axes[0].get_xlabel() + pose_plot.axes[0].get_title()
    assert expression_plot is not pose_plot


def _paired(**true_columns: list[float]) -> pd.DataFrame:
    return paired_faces(
        _extremeness(**true_columns),
        per_image_errors([_run("appearance", s, p) for s, p in enumerate(APPEARANCE)]),
        per_image_errors([_run("sps", s, p) for s, p in enumerate(SPS)]),
    )


def test_paired_faces_hold_both_models_seed_averaged_predictions_and_errors():
    faces = _paired().set_index("image_path")
    assert faces["absolute_error_ref"].tolist() == pytest.approx([3.0, 4.0, 1.0, 8.0])
    assert faces["absolute_error_mod"].tolist() == pytest.approx([1.0, 4.0, 1.0, 2.0])
    assert faces.loc["d.jpg", ["predicted_age_ref", "predicted_age_mod"]].tolist() == pytest.approx(
        [48.0, 42.0]
    )
    assert faces["true_age"].tolist() == TRUE_AGES


def test_group_tables_label_every_extremeness_column_by_metric_and_source():
    faces = _paired(pose_true=[0.4, 0.3, 0.2, 0.1], expression_true=[1.0, 2.0, 3.0, 4.0])
    groups = group_tables(faces, 2)
    assert list(groups.columns[:3]) == ["metric", "source", "group"]
    assert list(dict.fromkeys(zip(groups["metric"], groups["source"], strict=True))) == [
        ("pose", "predicted"),
        ("expression", "predicted"),
        ("pose", "true"),
        ("expression", "true"),
    ]
    true_pose = groups[(groups["metric"] == "pose") & (groups["source"] == "true")].set_index("group")
    # the true pose ranks d, c (least extreme) before b, a
    assert true_pose.loc[1, ["mae_reference", "mae_model"]].tolist() == pytest.approx([4.5, 1.5])
    assert true_pose.loc[2, ["mae_reference", "mae_model"]].tolist() == pytest.approx([3.5, 2.5])


def test_most_improved_extremes_are_the_extreme_faces_with_the_largest_gain_first():
    faces = _paired()
    # most extreme of 2 groups: pose b, d; expression a, d. Gains: a 2, b 0, d 6; c is in neither
    examples = most_improved_extremes(faces, 2, 2)
    assert examples["crop_path"].tolist() == ["crops/d.jpg", "crops/a.jpg"]
    assert list(examples.columns) == ["crop_path", "true_age", "predicted_reference", "predicted_model"]
    assert examples[["predicted_reference", "predicted_model"]].to_numpy().tolist() == [
        [48.0, 42.0],
        [13.0, 10.0],
    ]
    assert len(most_improved_extremes(faces, 2, 10)) == 3


def test_the_test_sets_analysis_tests_all_faces_and_each_seed_and_draws_five_figures():
    loaded = []

    def load_crop(path: str) -> np.ndarray:
        loaded.append(path)
        return np.zeros((8, 8, 3), np.uint8)

    reference = [_run("appearance", s, p) for s, p in enumerate(APPEARANCE)]
    model = [_run("sps", s, p) for s, p in enumerate(SPS)]
    analysis = GroupAnalysis(groups=2, examples=2, samples_per_group=1)
    groups, overall, figures = extremeness_group_analysis(
        _extremeness(), reference, model, analysis, seeds=[3, 4], load_crop=load_crop
    )
    assert overall["images"] == 4
    assert overall["mae_reference"] == pytest.approx(4.0) and overall["mae_model"] == pytest.approx(2.0)
    assert overall["mean_difference"] == pytest.approx(-2.0)
    assert [row["seed"] for row in overall["per_seed"]] == [3, 4]
    # seed 3: appearance errors (2, 6, 1, 10), sps (1, 4, 2, 3)
    assert overall["per_seed"][0]["mean_difference"] == pytest.approx(-2.25)
    assert set(zip(groups["metric"], groups["source"], strict=True)) == {
        ("pose", "predicted"),
        ("expression", "predicted"),
    }
    assert len(figures) == 5 and all(isinstance(f, Figure) for f in figures)
    # one sample crop per group for pose and expression, then the 2 most improved extreme faces
    assert len(loaded) == 2 * 2 + 2 and loaded[-2:] == ["crops/d.jpg", "crops/a.jpg"]
