"""The Images of Groups protocol (FOSS §4.3, Tables 1–2): seven age groups, age-group accuracy, 1-off
accuracy (the predicted group is the true one or a neighbour), gender accuracy, per true group.

Ground-truth faces are given by eye centres (IoG has no boxes): a face is matched to the detection (above
the confidence threshold) whose box contains its eye midpoint and whose centre is nearest, one detection
per face, nearest pairs first. Unmatched faces count as wrong and are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agelab.readers.images_of_groups import AGE_GROUPS

GROUP_LABELS = tuple(label for label, _, _ in AGE_GROUPS.values())
GROUP_LOWER_BOUNDS = np.array([low for _, low, _ in AGE_GROUPS.values()][1:], np.float64)


def age_group_index(ages: np.ndarray) -> np.ndarray:
    """Group 0..6 of each age (rounded to whole years first: 2.6 → 3 → "3-7")."""
    return np.searchsorted(GROUP_LOWER_BOUNDS, np.round(np.asarray(ages, np.float64)), side="right")


@dataclass(frozen=True)
class GroupPhotoFaces:
    """One photo: detections (boxes, ages, male probabilities) and ground truth (eye midpoints,
    true group index, gender 1 male / 0 female / −1 unknown)."""

    boxes: np.ndarray
    ages: np.ndarray
    male_probability: np.ndarray
    eye_midpoints: np.ndarray
    true_groups: np.ndarray
    true_genders: np.ndarray


def match_by_eyes(boxes: np.ndarray, eye_midpoints: np.ndarray) -> np.ndarray:
    """For each ground-truth face, the index of its detection or −1."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    points = np.asarray(eye_midpoints, np.float64).reshape(-1, 2)
    matches = np.full(len(points), -1)
    if not len(boxes) or not len(points):
        return matches
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    inside = (
        (points[:, None, 0] >= boxes[None, :, 0])
        & (points[:, None, 0] <= boxes[None, :, 2])
        & (points[:, None, 1] >= boxes[None, :, 1])
        & (points[:, None, 1] <= boxes[None, :, 3])
    )
    distance = np.linalg.norm(points[:, None] - centres[None], axis=-1)
    distance[~inside] = np.inf
    used = np.zeros(len(boxes), bool)
    for flat in np.argsort(distance, axis=None):
        face, det = divmod(int(flat), len(boxes))
        if not np.isfinite(distance[face, det]):
            break
        if matches[face] < 0 and not used[det]:
            matches[face], used[det] = det, True
    return matches


def group_photo_metrics(photos: Sequence[GroupPhotoFaces]) -> tuple[dict[str, float], pd.DataFrame]:
    """Overall accuracies and the per-group table (Table 2 layout: rows age / 1-off / gender)."""
    true_groups, predicted_groups, genders, predicted_genders, found = [], [], [], [], []
    for photo in photos:
        matches = match_by_eyes(photo.boxes, photo.eye_midpoints)
        hit = matches >= 0
        groups = np.full(len(matches), -10)
        groups[hit] = age_group_index(np.asarray(photo.ages)[matches[hit]])
        male = np.full(len(matches), -1)
        probability = np.asarray(photo.male_probability, np.float64)[matches[hit]]
        male[hit] = np.where(np.isnan(probability), -1, (probability >= 0.5).astype(int))
        true_groups.append(np.asarray(photo.true_groups))
        predicted_groups.append(groups)
        genders.append(np.asarray(photo.true_genders))
        predicted_genders.append(male)
        found.append(hit)
    t = np.concatenate(true_groups) if true_groups else np.zeros(0, int)
    p = np.concatenate(predicted_groups) if predicted_groups else np.zeros(0, int)
    g = np.concatenate(genders) if genders else np.zeros(0, int)
    pg = np.concatenate(predicted_genders) if predicted_genders else np.zeros(0, int)
    f = np.concatenate(found) if found else np.zeros(0, bool)
    exact, one_off = p == t, np.abs(p - t) <= 1
    known = g >= 0
    if not (pg >= 0).any():  # a model without a gender output: no gender accuracy
        known = np.zeros_like(known)
    metrics = {
        "faces": len(t),
        "matched_faces": int(f.sum()),
        "age_group_accuracy": float(exact.mean()) if len(t) else float("nan"),
        "one_off_accuracy": float(one_off.mean()) if len(t) else float("nan"),
        "gender_accuracy": float((pg[known] == g[known]).mean()) if known.any() else float("nan"),
    }
    rows = {}
    for k, label in enumerate(GROUP_LABELS):
        in_group = t == k
        rows[label] = {
            "faces": int(in_group.sum()),
            "age": float(exact[in_group].mean() * 100) if in_group.any() else float("nan"),
            "1-off": float(one_off[in_group].mean() * 100) if in_group.any() else float("nan"),
            "gender": float((pg[in_group & known] == g[in_group & known]).mean() * 100)
            if (in_group & known).any()
            else float("nan"),
        }
    return metrics, pd.DataFrame(rows)
