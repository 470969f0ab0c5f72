"""How well the 3D subnet reconstructs faces: landmark reprojection error (pixels), pose error (degrees)
and expression recovery (correlation), each beside the baseline of predicting the mean.

Pose and expression need ground truth, which only the synthetic set has; landmark error against dlib's
landmarks is available for every dataset, and against hand-annotated points (FG-NET) as the normalised mean
error of face alignment: the mean point distance over the inter-ocular distance.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from agelab.faces.detection import LANDMARKS_48
from agelab.faces.landmark_schemes import IBUG_68, PointCorrespondence
from agelab.morphable.camera import mean_rotation, rotation_angle_degrees, rotation_matrix

#: |yaw| bins (degrees) the pose error is reported in
YAW_BINS = (0.0, 15.0, 30.0, 45.0, 90.0)


def landmark_errors(predicted: np.ndarray, target: np.ndarray, points=LANDMARKS_48) -> np.ndarray:
    """Mean Euclidean distance (pixels) over ``points`` per face, for ``(F, 68, 2)`` arrays."""
    index = list(points)
    return np.linalg.norm(predicted[:, index] - target[:, index], axis=-1).mean(1)


def inter_ocular_distances(
    landmarks: np.ndarray, corners: tuple[int, int] = IBUG_68.outer_eye_corners
) -> np.ndarray:
    """Distance between the outer eye corners (``corners`` of the markup), ``(F, P, 2)`` → ``(F,)``."""
    left, right = corners
    return np.linalg.norm(landmarks[:, right] - landmarks[:, left], axis=-1)


def normalised_landmark_errors(
    predicted: np.ndarray, annotated: np.ndarray, correspondence: PointCorrespondence = IBUG_68
) -> np.ndarray:
    """Normalised mean error per face: the mean distance between ``predicted`` (iBUG 68 points) and the
    ``annotated`` points over the points both markups share (``correspondence``), divided by the annotated
    inter-ocular distance, so faces of every size count alike (0.05 = 5 % of the eye span)."""
    ibug, marked = list(correspondence.ibug), list(correspondence.annotated)
    distances = np.linalg.norm(predicted[:, ibug] - annotated[:, marked], axis=-1).mean(1)
    return distances / inter_ocular_distances(annotated, correspondence.outer_eye_corners)


def yaw_bins(yaw: np.ndarray) -> dict[str, np.ndarray]:
    """The faces in each |yaw| bin of :data:`YAW_BINS`, as masks (``"0-15"``: 0° ≤ |yaw| < 15°)."""
    return {
        f"{lo:.0f}-{hi:.0f}": (np.abs(yaw) >= lo) & (np.abs(yaw) < hi)
        for lo, hi in itertools.pairwise(YAW_BINS)
    }


def pose_errors(predicted_omega: np.ndarray, true_omega: np.ndarray) -> np.ndarray:
    """Geodesic angle (degrees) between predicted and true rotations, per face."""
    return rotation_angle_degrees(
        torch.as_tensor(predicted_omega, dtype=torch.float64),
        torch.as_tensor(true_omega, dtype=torch.float64),
    ).numpy()


def omega_to_euler_degrees(omega: np.ndarray) -> np.ndarray:
    """Yaw, pitch, roll (degrees) of R = R_y(yaw) R_x(pitch) R_z(roll), the synthetic set's convention."""
    r = rotation_matrix(torch.as_tensor(omega, dtype=torch.float64)).numpy()
    pitch = np.arcsin(np.clip(-r[:, 1, 2], -1, 1))
    yaw = np.arctan2(r[:, 0, 2], r[:, 2, 2])
    roll = np.arctan2(r[:, 1, 0], r[:, 1, 1])
    return np.degrees(np.stack([yaw, pitch, roll], 1))


def expression_correlations(predicted: np.ndarray, true: np.ndarray, names: list[str]) -> dict[str, float]:
    """Pearson correlation of each named expression coefficient (the first ``len(names)`` of δ); NaN where
    either side is constant (all values equal: ``np.ptp``, not ``std``, which sees the mean's rounding)."""
    result = {}
    for i, name in enumerate(names):
        p, t = predicted[:, i], true[:, i]
        result[name] = float(np.corrcoef(p, t)[0, 1]) if np.ptp(p) > 0 and np.ptp(t) > 0 else float("nan")
    return result


def pose_report(
    predicted_omega: np.ndarray, true_omega: np.ndarray, train_omega: np.ndarray, true_yaw: np.ndarray
) -> dict:
    """Pose error of the predictions and of the mean-pose baseline, overall and by |yaw| bin."""
    errors = pose_errors(predicted_omega, true_omega)
    mean_pose = mean_rotation(torch.as_tensor(train_omega, dtype=torch.float64)).numpy()
    baseline = pose_errors(np.tile(mean_pose, (len(true_omega), 1)), true_omega)
    bins = {}
    for label, inside in yaw_bins(true_yaw).items():
        if inside.any():
            bins[label] = {
                "count": int(inside.sum()),
                "pose_error_deg": float(errors[inside].mean()),
                "mean_pose_baseline_deg": float(baseline[inside].mean()),
            }
    return {
        "pose_error_deg": float(errors.mean()),
        "pose_error_median_deg": float(np.median(errors)),
        "mean_pose_baseline_deg": float(baseline.mean()),
        "by_abs_yaw": bins,
    }
