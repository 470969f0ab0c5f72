"""The trained FOSS model evaluated as Yoshimura & Ogata §4.3–4.4 do, and simple baselines beside it, all
through :mod:`agelab.evaluation.multi_person`'s protocols:

- :func:`evaluate_foss_model` — detector AP@0.5 and recall (WIDER FACE protocol, val split), the Images of
  Groups protocol on the group sets, the largest-face MAE on the single-face test split (Tables 1, 3–5);
- :func:`evaluate_foss_baselines` — dlib's HOG detector, the majority age group, dlib + the appearance subnet;
- :func:`group_predictions_plot` — Fig. 4-style group photos with each detected face's box and age.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from agelab.detection.holdout import evaluation_split
from agelab.device import resolve_device
from agelab.evaluation.age_groups import GROUP_LABELS, age_group_index
from agelab.evaluation.face_predictors import detector_faces, dlib_faces, foss_faces
from agelab.evaluation.multi_person import (
    Predictor,
    detection_average_precision,
    detection_truth_from_index,
    evaluate_group_photos,
    largest_face_mae,
)
from agelab.evaluation.plots import group_predictions_figure
from agelab.evaluation.tiled_faces import tiled_face_mae
from agelab.models.bundle import ModelBundle
from agelab.training.foss_config import FossConfig, detector_label, detector_spec
from agelab.training.foss_data import GENDER_CODES, FaceRecord
from agelab.training.foss_training import detection_split

logger = logging.getLogger(__name__)


def detection_metrics(detection: dict) -> dict[str, float]:
    """The detection figures as flat metric names (``detection_ap50`` is the overall AP@0.5)."""
    metrics = {"detection_ap50": detection["ap"], "detection_recall": detection["recall"]}
    for size, figures in detection["by_size"].items():
        metrics[f"detection_ap50_{size}"] = figures["ap"]
        metrics[f"detection_recall_{size}"] = figures["recall"]
    return metrics


def single_face_test_records(annotations: pd.DataFrame) -> list[FaceRecord]:
    """Single-face test images with their label (the box is the detector's; only the age is compared)."""
    part = annotations[annotations["split"] == "test"]
    return [
        FaceRecord(str(r.image_path), (), (float(r.age),), (GENDER_CODES.get(r.gender, -1),))
        for r in part.itertuples()
    ]


def tiled_scenes(
    predict: Predictor, annotations: pd.DataFrame, threshold: float, config: FossConfig, label: str
) -> dict[str, dict[str, float]]:
    """``evaluation.tiled_grids``: every single-face test image (whatever a detector finds in it alone) in
    g × g scenes (scene size ``data.canvas``), MAE in the scene beside the same faces alone; ``{}`` when no
    grid is configured."""
    records = single_face_test_records(annotations) if config.evaluation.tiled_grids else []
    return {
        f"{grid}x{grid}": tiled_face_mae(
            predict,
            records,
            grid,
            config.data.canvas,
            threshold,
            seed=config.evaluation.tiled_seed,
            show_progress=config.show_progress,
            label=label,
        )
        for grid in config.evaluation.tiled_grids
    }


def _group_and_single_face(
    predict: Predictor,
    group_index: pd.DataFrame,
    annotations: pd.DataFrame,
    threshold: float,
    config: FossConfig,
    label: str,
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """One predictor through the IoG protocol on the group sets and the largest-face MAE on the
    single-face test split (§4.2–4.4): the group metrics, the per-group table, the detected faces and
    the single-face figures."""
    groups, table, detections = evaluate_group_photos(
        predict, group_index, threshold, show_progress=config.show_progress, label=label
    )
    single = largest_face_mae(
        predict,
        single_face_test_records(annotations),
        threshold,
        tuple(config.evaluation.single_face_age_range),
        show_progress=config.show_progress,
        label=label,
    )
    return groups, table, detections, single


def evaluate_foss_model(
    bundle: ModelBundle,
    detection_index: pd.DataFrame,
    group_index: pd.DataFrame,
    annotations: pd.DataFrame,
    config: FossConfig,
) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    """Detector AP@0.5 and recall, overall and by face height (held-out test photos where the detection
    index has them, else the val split; WIDER FACE protocol, every one of
    the detector's top ``evaluation.detection_k`` peaks scored), the IoG protocol on the group sets, the
    largest-face MAE on the single-face test split. Returns the group photos' detections, the per-group
    table, the report and its headline numbers as MLflow metrics."""
    device = resolve_device(config.training.engine.device)
    model = bundle.build().to(device)
    predict = foss_faces(model, config.evaluation.k, device, config.evaluation.nms_iou)
    threshold = config.model.score_threshold
    progress = config.show_progress
    detection = detection_average_precision(
        detector_faces(model.detector, config.evaluation.detection_k, device, config.evaluation.nms_iou),
        detection_truth_from_index(detection_split(detection_index, evaluation_split(detection_index))),
        show_progress=progress,
        label="FOSS",
    )
    groups, table, detections, single = _group_and_single_face(
        predict, group_index, annotations, threshold, config, "FOSS"
    )
    report = {
        "detection": detection,
        "detection_split": evaluation_split(detection_index),
        "group_sets": list(config.group_sets),
        "group_photos": groups,
        "single_face_test": single,
        "tiled_test_faces": tiled_scenes(predict, annotations, threshold, config, "FOSS"),
        "model": bundle.info,
    }
    metrics = {
        **detection_metrics(detection),
        "group_age_accuracy": groups["age_group_accuracy"],
        "group_one_off_accuracy": groups["one_off_accuracy"],
        "group_gender_accuracy": groups["gender_accuracy"],
        "single_face_mae": single["mae"],
        **{
            f"tiled_{name}_{key}": figures[key]
            for name, figures in report["tiled_test_faces"].items()
            for key in ("mae_tiled", "paired_mae_tiled", "paired_mae_single")
        },
    }
    logger.info(
        "FOSS: AP@0.5 %.3f (large %.3f, medium %.3f, small %.3f); group photos: age group %.1f %%, "
        "1-off %.1f %%, gender %.1f %%; single-face MAE %.2f",
        detection["ap"],
        *(detection["by_size"][size]["ap"] for size in ("large", "medium", "small")),
        100 * groups["age_group_accuracy"],
        100 * groups["one_off_accuracy"],
        100 * groups["gender_accuracy"],
        single["mae"],
    )
    return (
        detections,
        table.reset_index(names="row"),
        report,
        {k: {"value": float(v), "step": 0} for k, v in metrics.items() if np.isfinite(v)},
    )


def evaluate_foss_baselines(
    detection_index: pd.DataFrame,
    group_index: pd.DataFrame,
    annotations: pd.DataFrame,
    model_input: pd.DataFrame,
    appearance: ModelBundle | None,
    config: FossConfig,
) -> dict:
    """Simple baselines beside FOSS: dlib's HOG detector (AP@0.5 overall and by face height, the same
    protocol as FOSS), the majority age group of the training images, and dlib + the appearance subnet
    when one is given (``kedro run --pipelines=appearance`` trains it)."""
    b = config.baselines
    progress = config.show_progress
    threshold = 0.0  # dlib's own decision threshold
    dlib_only = dlib_faces(b.dlib_upsample, b.dlib_min_score)
    split = evaluation_split(detection_index)
    truth = detection_truth_from_index(detection_split(detection_index, split))
    report: dict[str, Any] = {
        "dlib_detection": detection_average_precision(dlib_only, truth, show_progress=progress, label="dlib"),
        "detection_split": split,
        "detectors": {},
    }
    for spec in b.extra_detectors:
        kind, upsample = detector_spec(spec)
        report["detectors"][detector_label(spec)] = detection_average_precision(
            dlib_faces(upsample, b.dlib_min_score, detector=kind),
            truth,
            show_progress=progress,
            label=detector_label(spec),
        )
    train_ages = model_input.loc[model_input["split"] == "train", "age"].to_numpy()
    majority = int(np.bincount(age_group_index(train_ages), minlength=len(GROUP_LABELS)).argmax())
    truth = age_group_index(group_index["age"].to_numpy())
    report["majority_group"] = {
        "group": GROUP_LABELS[majority],
        "age_group_accuracy": float((truth == majority).mean()) if len(truth) else float("nan"),
        "one_off_accuracy": float((np.abs(truth - majority) <= 1).mean()) if len(truth) else float("nan"),
    }
    if appearance is None:
        report["dlib_appearance"] = {
            "skipped": "no appearance model: run `kedro run --pipelines=appearance` first"
        }
        return report
    device = resolve_device(config.training.engine.device)
    with_ages = dlib_faces(b.dlib_upsample, b.dlib_min_score, appearance, device)
    groups, table, _, single = _group_and_single_face(
        with_ages, group_index, annotations, threshold, config, "dlib+appearance"
    )
    report["dlib_appearance"] = {
        "group_photos": groups,
        "per_group": table.to_dict(),
        "single_face_test": single,
        "tiled_test_faces": tiled_scenes(with_ages, annotations, threshold, config, "dlib+appearance"),
    }
    return report


def group_predictions_plot(
    bundle: ModelBundle, group_index: pd.DataFrame, detection_index: pd.DataFrame, config: FossConfig
) -> Figure:
    """Fig. 4-style: the first six group photos with each detected face's box and estimated age; with no
    group set selected, the first six of the detection sets' evaluation photos (held-out test photos where
    the index has them), never trained on."""
    model = bundle.build()
    predict = foss_faces(model, config.evaluation.k, nms_iou=config.evaluation.nms_iou)
    if group_index.empty:
        photos = detection_split(detection_index, evaluation_split(detection_index))
    else:
        photos = group_index
    paths = sorted(photos["image_path"].unique())[:6]
    return group_predictions_figure(paths, predict, config.model.score_threshold)
