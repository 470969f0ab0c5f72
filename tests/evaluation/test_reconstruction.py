import math
import warnings

import numpy as np
import pytest
import torch

from agelab.evaluation.reconstruction import (
    expression_correlations,
    inter_ocular_distances,
    landmark_errors,
    normalised_landmark_errors,
    omega_to_euler_degrees,
    pose_errors,
    pose_report,
)
from agelab.faces.landmark_schemes import FGNET_68
from agelab.morphable.camera import euler_to_omega, mean_rotation, rotation_angle_degrees


def _omega(yaw, pitch=0.0, roll=0.0):
    return euler_to_omega(math.radians(yaw), math.radians(pitch), math.radians(roll)).numpy()


def test_euler_angles_come_back_from_omega():
    omegas = np.stack([_omega(30, -10, 5), _omega(-60, 20, -15)])
    np.testing.assert_allclose(omega_to_euler_degrees(omegas), [[30, -10, 5], [-60, 20, -15]], atol=1e-9)


def test_rotation_angle_and_mean_rotation():
    a, b = torch.as_tensor(_omega(10))[None], torch.as_tensor(_omega(-25))[None]
    assert float(rotation_angle_degrees(a, b)) == pytest.approx(35)
    mean = mean_rotation(torch.as_tensor(np.stack([_omega(20), _omega(-20), _omega(0)])))
    assert float(mean.norm()) < 1e-9


def test_pose_report_against_the_mean_pose_baseline():
    true = np.stack([_omega(y) for y in (-40, -10, 10, 40)])
    predicted = np.stack([_omega(y + 2) for y in (-40, -10, 10, 40)])
    report = pose_report(predicted, true, true, np.array([-40, -10, 10, 40.0]))
    assert report["pose_error_deg"] == pytest.approx(2)
    assert report["mean_pose_baseline_deg"] == pytest.approx(25)
    assert report["by_abs_yaw"]["0-15"]["count"] == 2
    assert report["by_abs_yaw"]["30-45"]["mean_pose_baseline_deg"] == pytest.approx(40)


def test_landmark_errors_and_expression_correlations():
    target = np.zeros((2, 68, 2))
    predicted = target.copy()
    predicted[0, :, 0] = 3.0
    predicted[1, :17] = 100.0  # jaw points are not among the 48
    np.testing.assert_allclose(landmark_errors(predicted, target), [3.0, 0.0])
    rng = np.random.default_rng(0)
    true = rng.normal(size=(50, 2))
    correlations = expression_correlations(np.stack([2 * true[:, 0], -true[:, 1]], 1), true, ["a", "b"])
    assert correlations == pytest.approx({"a": 1.0, "b": -1.0})


def test_normalised_landmark_errors_divide_by_the_outer_eye_corners_span():
    target = np.full((2, 68, 2), 10.0)
    target[:, 36] = (20.0, 30.0)
    target[0, 45] = (60.0, 30.0)  # eye span 40 px
    target[1, 45] = (26.0, 38.0)  # eye span |(6, 8)| = 10 px
    np.testing.assert_allclose(inter_ocular_distances(target), [40.0, 10.0])
    predicted = target.copy()
    predicted[:, :, 0] += 2.0  # every point 2 px off
    predicted[:, :17] += 50.0  # the jaw is not among the 48 points
    np.testing.assert_allclose(normalised_landmark_errors(predicted, target), [2.0 / 40.0, 2.0 / 10.0])
    # 12 of the 48 points 2 px off, 36 exact: a mean of 0.5 px
    predicted = target.copy()
    predicted[:, 48:60, 1] -= 2.0
    np.testing.assert_allclose(normalised_landmark_errors(predicted, target), [0.5 / 40.0, 0.5 / 10.0])


def test_an_annotation_in_another_markup_is_compared_point_for_point_through_its_correspondence():
    """FG-NET's point 27 is iBUG's 36 (the right eye's outer corner), its 67 the nose tip (iBUG 30), ..."""
    rng = np.random.default_rng(3)
    ibug = rng.uniform(0.0, 100.0, size=(1, 68, 2))
    fgnet = np.full((1, 68, 2), 1e6)  # points without an iBUG counterpart: never read
    fgnet[:, list(FGNET_68.annotated)] = ibug[:, list(FGNET_68.ibug)]
    assert normalised_landmark_errors(ibug, fgnet, FGNET_68) == pytest.approx([0.0])
    assert fgnet[0, 27] == pytest.approx(ibug[0, 36]) and fgnet[0, 67] == pytest.approx(ibug[0, 30])
    shifted = ibug.copy()
    shifted[..., 0] += 3.0  # every point 3 px off, over FG-NET's eye span (its points 27 and 32)
    span = np.linalg.norm(fgnet[0, 32] - fgnet[0, 27])
    assert span == pytest.approx(np.linalg.norm(ibug[0, 45] - ibug[0, 36]))
    assert normalised_landmark_errors(shifted, fgnet, FGNET_68) == pytest.approx([3.0 / span])


def test_landmark_errors_are_distances_to_a_target_away_from_the_origin():
    target = np.full((1, 68, 2), 10.0)
    predicted = target.copy()
    predicted[0, :, 0] += 3.0
    predicted[0, :, 1] -= 4.0  # every point 5 px off: |(3, −4)| = 5
    np.testing.assert_allclose(landmark_errors(predicted, target), [5.0])


def test_a_constant_coefficient_has_no_correlation_and_raises_no_warning():
    rng = np.random.default_rng(1)
    varying = rng.normal(size=10)
    predicted = np.stack([np.full(10, 0.5), varying], 1)  # "a" predicted constant (mean exactly 0.5)
    true = np.stack([varying, np.full(10, -1.0)], 1)  # "b" constant in the ground truth
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # np.corrcoef of a constant would divide by a zero spread
        correlations = expression_correlations(predicted, true, ["a", "b"])
    assert set(correlations) == {"a", "b"}
    assert math.isnan(correlations["a"]) and math.isnan(correlations["b"])


def test_a_constant_prediction_whose_mean_rounds_still_has_no_correlation():
    predicted = np.full((3, 1), 0.1)  # 0.1 + 0.1 + 0.1 = 0.30000000000000004 in float64
    true = np.array([[1.0], [2.0], [4.0]])
    assert math.isnan(expression_correlations(predicted, true, ["a"])["a"])


def _gimbal_lock_poses() -> np.ndarray:
    """Pitch ±90° under a grid of yaws and rolls: −R[1, 2] = sin(pitch) lands an ulp beyond ±1 for some."""
    return np.stack(
        [
            _omega(yaw, pitch, roll)
            for yaw in np.linspace(-80, 80, 33)
            for roll in np.linspace(-40, 40, 9)
            for pitch in (90.0, -90.0)
        ]
    )


def test_the_pitch_of_a_looked_up_or_down_head_is_plus_or_minus_90_never_nan():
    pitch = omega_to_euler_degrees(_gimbal_lock_poses())[:, 1]
    assert np.isfinite(pitch).all()
    np.testing.assert_allclose(np.abs(pitch), 90.0, atol=1e-3)
    assert (pitch[0::2] > 0).all() and (pitch[1::2] < 0).all()


def test_pose_errors_of_float32_predictions_are_computed_in_float64():
    """R Rᵀ of the same float32 ω is the identity to 1e-16 in float64 (an angle of ~1e-6°); in float32
    the trace's rounding alone reads as up to 0.04°."""
    omega = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    assert float(pose_errors(omega, omega).max()) < 1e-4


def test_pose_report_bins_include_their_lower_edge_and_report_each_bins_error():
    """|yaw| = 0 falls in 0-15 and |yaw| = 15 in 15-30 only (bins are [lo, hi))."""
    yaws = np.array([0.0, 15.0, -15.0, 40.0])
    true = np.stack([_omega(y) for y in yaws])
    predicted = np.stack([_omega(y + e) for y, e in zip(yaws, (1.0, 2.0, 4.0, 8.0), strict=True)])
    report = pose_report(predicted, true, true, yaws)
    assert {name: b["count"] for name, b in report["by_abs_yaw"].items()} == {
        "0-15": 1,
        "15-30": 2,
        "30-45": 1,
    }
    assert report["by_abs_yaw"]["0-15"]["pose_error_deg"] == pytest.approx(1.0)
    assert report["by_abs_yaw"]["15-30"]["pose_error_deg"] == pytest.approx(3.0)  # (2 + 4) / 2
    assert report["pose_error_deg"] == pytest.approx(15.0 / 4)
    assert report["pose_error_median_deg"] == pytest.approx(3.0)  # the median of 1, 2, 4, 8


def test_euler_angles_of_float32_omegas_are_computed_in_float64():
    """The 3D subnet's ω is float32. ω = (0, 0.5, 0) (exact in float32) is a pure yaw of 0.5 rad =
    28.64788975654116°, recovered in float64 to ~1e-14°; a float32 Rodrigues and arctan2 would be off by the
    float32 spacing at 28.6° (~1e-6°). ω = (0.25, 0, 0) is a pure pitch of 0.25 rad = 14.32394487827058°."""
    omega = np.array([[0.0, 0.5, 0.0], [0.25, 0.0, 0.0]], np.float32)
    euler = omega_to_euler_degrees(omega)
    np.testing.assert_allclose(
        euler, [[28.64788975654116, 0, 0], [0, 14.32394487827058, 0]], rtol=0, atol=1e-9
    )


def test_coefficients_that_vary_by_less_than_one_still_have_a_correlation():
    """δ coefficients are small: a spread of 1 or less is a spread. "a": true = 0.1 + 0.2 · predicted
    (predicted spread exactly 1, true 0.2) → r = 1; "b": true = 0.5 − 2.5 · predicted (spreads 0.2 and 0.5)
    → r = −1."""
    predicted = np.array([[0.0, 0.3], [0.5, 0.2], [1.0, 0.1]])
    true = np.array([[0.1, -0.25], [0.2, 0.0], [0.3, 0.25]])
    correlations = expression_correlations(predicted, true, ["a", "b"])
    assert correlations == pytest.approx({"a": 1.0, "b": -1.0})
