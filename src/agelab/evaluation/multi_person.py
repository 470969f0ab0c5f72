"""Evaluation of multi-person age estimation (FOSS §4.3–4.4) for any "image → faces" predictor, so the
FOSS model and the two-model baselines (dlib detector + an age network) go through the same code:

- detection AP@0.5 and recall on a WIDER-FACE-format set, overall and by face size (the protocol of
  :mod:`agelab.evaluation.detection`; faces flagged ``invalid`` are ignore boxes);
- the Images of Groups protocol on a group set (age group, 1-off, gender, per group);
- single-face test images: the largest detected face against the label, MAE (and in an age range, e.g.
  UTKFace's 21–60 protocol).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from agelab.detection.boxes import largest_box_index
from agelab.evaluation.age_groups import GroupPhotoFaces, age_group_index, group_photo_metrics
from agelab.evaluation.detection import ImageDetections, wider_face_evaluation
from agelab.parallel import progress_bar
from agelab.training.foss_data import GENDER_CODES, FaceRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Faces:
    """What a predictor says about one image."""

    boxes: np.ndarray  # (N, 4)
    scores: np.ndarray  # (N,)
    ages: np.ndarray  # (N,) NaN where the predictor gives none
    male_probability: np.ndarray  # (N,) NaN where the predictor gives none


Predictor = Callable[[np.ndarray], Faces]


def read_rgb_or_reason(path: str) -> tuple[np.ndarray | None, str]:
    """The image at ``path`` as ``(H, W, 3)`` uint8 RGB and ``""``, or ``None`` and why it is unreadable."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB")), ""
    except (OSError, UnidentifiedImageError) as exc:
        return None, f"unreadable: {exc}"


def read_rgb(path: str) -> np.ndarray | None:
    pixels, problem = read_rgb_or_reason(path)
    if pixels is None:
        logger.warning("skipped unreadable image %s: %s", path, problem.removeprefix("unreadable: "))
    return pixels


@dataclass(frozen=True)
class DetectionTruth:
    """The ground truth of one detection-set image: its faces' boxes and which of them are ignore boxes."""

    path: str
    boxes: np.ndarray  # (M, 4) x0 y0 x1 y1, the file's pixels
    ignore: np.ndarray  # (M,) bool


BOX_COLUMNS = ["box_x0", "box_y0", "box_x1", "box_y1"]
DETECTION_COLUMNS = ["image_path", "x0", "y0", "x1", "y1", "score", "age", "male_probability"]


def detection_truth_from_index(index: pd.DataFrame) -> list[DetectionTruth]:
    """Face-index rows of a WIDER-FACE-format set → one :class:`DetectionTruth` per image; a face whose
    ``attributes`` say ``"invalid": 1`` (WIDER FACE's own flag) becomes an ignore box."""
    truths = []
    for path, group in index.groupby("image_path", sort=True):
        boxed = group.dropna(subset=BOX_COLUMNS)
        ignore = [bool(json.loads(a or "{}").get("invalid", 0)) for a in boxed["attributes"]]
        truths.append(
            DetectionTruth(
                str(path), boxed[BOX_COLUMNS].to_numpy(np.float64).reshape(-1, 4), np.array(ignore, bool)
            )
        )
    return truths


def detection_average_precision(
    predict: Predictor, truths: Sequence[DetectionTruth], *, show_progress: bool = False, label: str = ""
) -> dict:
    """AP@0.5 and recall of ``predict`` over ``truths``, overall and ``by_size``
    (:func:`~agelab.evaluation.detection.wider_face_evaluation`; every detection the predictor returns is
    scored); unreadable images are counted."""
    images, skipped = [], 0
    for truth in progress_bar(
        truths, desc=f"detection AP {label}".strip(), unit="img", disable=not show_progress
    ):
        pixels = read_rgb(truth.path)
        if pixels is None:
            skipped += 1
            continue
        faces = predict(pixels)
        images.append(ImageDetections(faces.boxes, faces.scores, truth.boxes, truth.ignore))
    return {**wider_face_evaluation(images), "images": len(images), "skipped_images": skipped}


def group_photos(group_index: pd.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Images of Groups face index → per image: path, eye midpoints (N, 2), true groups, genders."""
    photos = []
    for path, group in group_index.groupby("image_path", sort=True):
        eyes = np.array([np.mean(json.loads(marks), axis=0) for marks in group["landmarks"]], np.float64)
        photos.append(
            (
                str(path),
                eyes.reshape(-1, 2),
                age_group_index(group["age"].to_numpy()),
                np.array([GENDER_CODES.get(g, -1) for g in group["gender"]]),
            )
        )
    return photos


def evaluate_group_photos(
    predict: Predictor,
    group_index: pd.DataFrame,
    score_threshold: float,
    *,
    show_progress: bool = False,
    label: str = "",
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """IoG protocol: overall metrics, the per-group table, and one row per detected face (for plots)."""
    photos, detections, skipped = [], [], 0
    for path, eyes, groups, genders in progress_bar(
        group_photos(group_index), desc=f"group photos {label}".strip(), unit="img", disable=not show_progress
    ):
        pixels = read_rgb(path)
        if pixels is None:
            skipped += 1
            continue
        faces = predict(pixels)
        keep = faces.scores >= score_threshold
        photos.append(
            GroupPhotoFaces(
                faces.boxes[keep], faces.ages[keep], faces.male_probability[keep], eyes, groups, genders
            )
        )
        for box, score, age, male in zip(
            faces.boxes[keep], faces.scores[keep], faces.ages[keep], faces.male_probability[keep], strict=True
        ):
            detections.append(
                {
                    "image_path": path,
                    "x0": box[0],
                    "y0": box[1],
                    "x1": box[2],
                    "y1": box[3],
                    "score": score,
                    "age": age,
                    "male_probability": male,
                }
            )
    metrics, table = group_photo_metrics(photos)
    metrics["skipped_images"] = skipped
    # the columns are named even when nothing was detected, so the saved CSV reads back
    return metrics, table, pd.DataFrame(detections, columns=DETECTION_COLUMNS)


def largest_face_mae(
    predict: Predictor,
    records: Sequence[FaceRecord],
    score_threshold: float,
    age_range: tuple[float, float] | None = None,
    *,
    show_progress: bool = False,
    label: str = "",
) -> dict[str, float]:
    """§4.2's test rule on single-face images: the largest detected face is the target; images where
    nothing is detected count as misses (reported, excluded from the MAE)."""
    errors, in_range, missed, skipped = [], [], 0, 0
    for record in progress_bar(
        records, desc=f"single faces {label}".strip(), unit="img", disable=not show_progress
    ):
        pixels = read_rgb(record.path)
        if pixels is None:
            skipped += 1
            continue
        faces = predict(pixels)
        keep = faces.scores >= score_threshold
        index = largest_box_index(faces.boxes[keep])
        if index < 0 or not np.isfinite(faces.ages[keep][index]):
            missed += 1
            continue
        truth = record.ages[0]
        error = abs(float(faces.ages[keep][index]) - truth)
        errors.append(error)
        if age_range is None or age_range[0] <= truth <= age_range[1]:
            in_range.append(error)
    result = {
        "images": len(records),
        "mae": float(np.mean(errors)) if errors else float("nan"),
        "no_face_detected": missed,
        "skipped_images": skipped,
    }
    if age_range is not None:
        result[f"mae_{int(age_range[0])}_{int(age_range[1])}"] = (
            float(np.mean(in_range)) if in_range else float("nan")
        )
        result[f"faces_{int(age_range[0])}_{int(age_range[1])}"] = len(in_range)
    return result
