"""§5.3's extremeness groups on a cross-dataset set: seed-averaged per-face errors of the reference and the
joint model, grouped by the 3D subnet's pose and expression estimates, checked against hand-computed
values."""

import numpy as np
import pandas as pd
import pytest

from agelab.pipelines.compare.nodes import analyse_cross_groups

FACES = ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
TRUE_AGES = [10.0, 20.0, 30.0, 40.0]


def _runs(model: str, predicted_by_seed: list[list[float]]) -> pd.DataFrame:
    frames = []
    for seed, predicted in enumerate(predicted_by_seed):
        frames.append(
            pd.DataFrame(
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
        )
    return pd.concat(frames, ignore_index=True)


def test_groups_average_each_faces_error_over_seeds_and_split_by_the_3d_estimates():
    # per-face errors: appearance seeds (2, 4) -> 3; (6, 2) -> 4; (1, 1) -> 1; (10, 6) -> 8
    appearance = _runs("appearance", [[12, 26, 31, 50], [14, 22, 29, 46]])
    # sps seeds: (1, 1) -> 1; (4, 4) -> 4; (2, 0) -> 1; (3, 1) -> 2
    sps = _runs("sps", [[11, 24, 32, 43], [9, 16, 30, 41]])
    extremeness = pd.DataFrame(
        {
            "image_path": FACES,
            "crop_path": [f"crops/{f}" for f in FACES],
            "pose_predicted": [0.1, 0.9, 0.2, 0.8],  # least extreme: a, c; most: b, d
            "expression_predicted": [5.0, 1.0, 2.0, 9.0],  # least: b, c; most: a, d
        }
    )
    groups, pose_plot, expression_plot = analyse_cross_groups(
        extremeness, pd.concat([appearance, sps]), {"groups": {"groups": 2}}, name="fgnet"
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
