import math

import numpy as np
import pytest
import torch

from agelab.evaluation.reconstruction import (
    expression_correlations,
    landmark_errors,
    omega_to_euler_degrees,
    pose_report,
)
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
