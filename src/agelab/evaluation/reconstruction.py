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
from agelab.morphable.camera import mean_rotation, rotation_angle_degrees, rotation_matrix

#: |yaw| bins (degrees) the pose error is reported in
YAW_BINS = (0.0, 15.0, 30.0, 45.0, 90.0)

#: 68-point indices of the outer eye corners, the ends of the inter-ocular distance (300-W's normaliser)
OUTER_EYE_CORNERS = (36, 45)


def landmark_errors(predicted: np.ndarray, target: np.ndarray, points=LANDMARKS_48) -> np.ndarray:
    """Mean Euclidean distance (pixels) over ``points`` per face, for ``(F, 68, 2)`` arrays."""
    index = list(points)
    return np.linalg.norm(predicted[:, index] - target[:, index], axis=-1).mean(1)


def inter_ocular_distances(landmarks: np.ndarray) -> np.ndarray:
    """Distance between the outer eye corners (:data:`OUTER_EYE_CORNERS`), ``(F, 68, 2)`` → ``(F,)``."""
    left, right = OUTER_EYE_CORNERS
    return np.linalg.norm(landmarks[:, right] - landmarks[:, left], axis=-1)


def normalised_landmark_errors(predicted: np.ndarray, target: np.ndarray, points=LANDMARKS_48) -> np.ndarray:
    """Normalised mean error per face: :func:`landmark_errors` over ``points`` divided by the ``target``'s
    inter-ocular distance, so faces of every size count alike (0.05 = 5 % of the eye span)."""
    return landmark_errors(predicted, target, points) / inter_ocular_distances(target)


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
    yaw = np.abs(true_yaw)
    for lo, hi in itertools.pairwise(YAW_BINS):
        inside = (yaw >= lo) & (yaw < hi)
        if inside.any():
            bins[f"{lo:.0f}-{hi:.0f}"] = {
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
