"""Thin nodes over :mod:`agelab.training.multitask_training`: train HPS or SPS (Savov et al. §3.3),
evaluate age on the test split, plot κ, the model card."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from agelab.evaluation.model_card import model_card
from agelab.evaluation.plots import kappa_curves, learning_curves, predicted_vs_true
from agelab.models.bundle import ModelBundle
from agelab.models.multitask import STITCH_NAMES
from agelab.training.multitask_training import (
    evaluate_multitask_model,
    multitask_config,
    train_multitask_model,
)

logger = logging.getLogger(__name__)

__all__ = [
    "evaluate_multitask_model",
    "pass_model",
    "plot_multitask",
    "train_multitask_model",
    "write_multitask_model_card",
]


def plot_multitask(predictions: pd.DataFrame, history: list[dict]) -> tuple[Figure, Figure, Figure]:
    """Predicted vs true age, learning curves and κ per epoch (SPS; an empty note for HPS)."""
    return (
        predicted_vs_true(predictions["predicted_age"].to_numpy(), predictions["true_age"].to_numpy()),
        learning_curves(history),
        kappa_curves(history, STITCH_NAMES),
    )


def write_multitask_model_card(
    bundle: ModelBundle, model_input: pd.DataFrame, report: dict, history: list[dict], params: dict[str, Any]
) -> str:
    config = multitask_config(params)
    title = {"sps": "SPS, soft parameter sharing (cross-stitch)", "hps": "HPS, hard parameter sharing"}
    return model_card(
        name=f"{title[config.sharing]} (Savov et al. §3.3)",
        faces=model_input,
        report=report,
        history=history,
        training={
            **dataclasses.asdict(config.training),
            "w (Eq. 12)": config.w,
            "lambda_dist": config.lambda_dist,
            "age_l2": config.age_l2,
            "kappa_same": config.model.kappa_same if config.sharing == "sps" else "n/a",
            "kappa optimizer": f"Adagrad, lr {config.kappa_learning_rate}"
            if config.sharing == "sps"
            else "n/a",
            "3D branch": "pre-trained recon3d subnet",
            "best_epoch": bundle.info.get("best_epoch"),
        },
        crop={"size": bundle.crop_size, "margin": bundle.crop_margin, "image_size": bundle.image_size},
        device=bundle.info.get("device", "cpu"),
        stand_in_model="synthetic" in bundle.info.get("datasets", []),
    )


def pass_model(bundle: ModelBundle) -> ModelBundle:
    return bundle
