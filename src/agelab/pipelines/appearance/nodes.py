"""Thin nodes over :mod:`agelab.training.appearance_training` and :mod:`agelab.evaluation`."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from agelab.evaluation.age_predictions import predict_test_ages, report_metrics
from agelab.evaluation.model_card import model_card
from agelab.evaluation.plots import learning_curves, predicted_vs_true
from agelab.models.bundle import ModelBundle
from agelab.preprocessing.cross_dataset import cross_dataset_parameters
from agelab.training.appearance_training import (
    appearance_config,
    evaluate_appearance_subnet,
    split_faces,
    train_appearance_subnet,
)

logger = logging.getLogger(__name__)

__all__ = [
    "cross_dataset_data_parameters",
    "evaluate_appearance_cross_dataset",
    "evaluate_appearance_subnet",
    "pass_model",
    "plot_appearance",
    "train_appearance_subnet",
    "write_model_card",
]


def cross_dataset_data_parameters(data_params: dict[str, Any], params: dict[str, Any], *, name: str) -> dict:
    """``data`` settings of the cross-dataset set ``name`` (:func:`cross_dataset_parameters`)."""
    overrides = appearance_config(params).cross_datasets[name]
    return cross_dataset_parameters(data_params, overrides, where=f"appearance.cross_datasets.{name}")


def evaluate_appearance_cross_dataset(
    bundle: ModelBundle,
    test_faces: pd.DataFrame,
    model_input: pd.DataFrame,
    params: dict[str, Any],
    *,
    name: str,
) -> tuple[pd.DataFrame, dict, dict]:
    """Predictions on every face of a dataset never trained on, its report (MAE, CS, by decade, colour vs
    black-and-white, interval coverage) and the headline numbers as MLflow metrics."""
    config = appearance_config(params)
    predictions, report = predict_test_ages(
        bundle, test_faces, split_faces(model_input, "train")["age"].to_numpy(), config.training
    )
    logger.info(
        "appearance subnet on %s (never trained on): MAE %.2f over %d faces",
        name,
        report["mae"],
        report["count"],
    )
    return predictions, report, report_metrics(report, prefix=f"{name}_")


def plot_appearance(predictions: pd.DataFrame, history: list[dict]) -> tuple[Figure, Figure]:
    return (
        predicted_vs_true(predictions["predicted_age"].to_numpy(), predictions["true_age"].to_numpy()),
        learning_curves(history),
    )


def write_model_card(
    bundle: ModelBundle,
    model_input: pd.DataFrame,
    report: dict,
    history: list[dict],
    params: dict[str, Any],
    *cross_reports: dict,
) -> str:
    """The model card; ``cross_reports`` are those of ``appearance.cross_evaluate``'s sets, in its order."""
    config = appearance_config(params)
    return model_card(
        name="appearance subnet (Savov et al. §3.2)",
        faces=model_input,
        report=report,
        history=history,
        training={
            **dataclasses.asdict(config.training),
            "lambda_dist": config.lambda_dist,
            "label_sigma": config.label_sigma,
            "image_size": config.image_size,
            "backbone": config.model.backbone,
            "pretrained_weights": config.model.pretrained_weights or "none (random init)",
            "best_epoch": bundle.info.get("best_epoch"),
        },
        crop={
            "size": bundle.crop_size,
            "margin": bundle.crop_margin,
            "aligned": bundle.crop_align,
            "image_size": bundle.image_size,
        },
        device=bundle.info.get("device", "cpu"),
        stand_in_model="synthetic" in bundle.info.get("datasets", []),
        cross_reports=dict(zip(config.cross_evaluate, cross_reports, strict=True)),
    )


def pass_model(bundle: ModelBundle) -> ModelBundle:
    """Hands the bundle to the MLflow model dataset (a separate output so logging is visible in the graph)."""
    return bundle
