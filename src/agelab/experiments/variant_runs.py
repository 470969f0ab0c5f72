"""One training run of the comparison (Savov et al. §5), a :class:`~agelab.experiments.grid.Variant`: its
parameters checked by its model's own configuration parser, its training through the model's library
training function (:mod:`agelab.training.appearance_training`, :mod:`~agelab.training.multitask_training`)
in a child MLflow run of the active run, kept and reused by :mod:`agelab.experiments.run_store`, and its
test predictions with the run summary that :mod:`agelab.experiments.tables` tabulates."""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agelab.config import from_mapping
from agelab.evaluation.age_predictions import predict_test_ages
from agelab.experiments.grid import CompareConfig, Variant, run_parameters
from agelab.experiments.run_store import finished_or_trained, write_recon3d_backbone
from agelab.experiments.tracking import child_run, log_params
from agelab.models.bundle import ModelBundle
from agelab.training.appearance_training import (
    AppearanceConfig,
    evaluate_appearance_subnet,
    train_appearance_subnet,
)
from agelab.training.checkpoints import run_fingerprint, state_digest
from agelab.training.engine import TrainConfig
from agelab.training.multitask_training import (
    MultiTaskConfig,
    evaluate_multitask_model,
    train_multitask_model,
)

logger = logging.getLogger(__name__)


def parameters_with_defaults(model: str, model_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params:<model>`` with every default filled in: the parameters files name only what differs from
    the configuration dataclass, but a sweep point is recognised as the model's own run by the value the
    model really trains with (:func:`~agelab.experiments.grid.plan_runs`)."""
    return dataclasses.asdict(_parsed(model, model_params or {}, where=f"{model} parameters"))


def _parsed(model: str, params: Mapping[str, Any], *, where: str) -> AppearanceConfig | MultiTaskConfig:
    """``params`` through the model's own configuration parser (unknown keys refused)."""
    return from_mapping(AppearanceConfig if model == "appearance" else MultiTaskConfig, params, where=where)


def checked_run_parameters(
    model_params: Mapping[str, Any], config: CompareConfig, variant: Variant
) -> dict[str, Any]:
    """The model's parameters for this run (:func:`~agelab.experiments.grid.run_parameters`: the overrides,
    the sweep value, the seed), checked by the model's own configuration parser so a misspelt key stops the
    comparison before any training."""
    params = run_parameters(model_params, config, variant)
    _parsed(variant.model, params, where=f"{variant.model} parameters of compare run {variant.name}")
    return params


def run_tags(variant: Variant) -> dict[str, str]:
    """The MLflow tags of the run's child run: its name, model, seed and (for a sweep point) sweep."""
    tags = {"agelab.variant": variant.name, "agelab.model": variant.model, "agelab.seed": str(variant.seed)}
    if variant.sweep:
        tags["agelab.sweep"] = variant.sweep
    return tags


def train_run(
    variant: Variant,
    model_input: pd.DataFrame,
    recon3d: ModelBundle,
    checkpoints: Path,
    run_params: dict[str, Any],
    config: CompareConfig,
    data_params: Mapping[str, Any],
    recon3d_params: Mapping[str, Any],
) -> ModelBundle:
    """Train one run in a child MLflow run, in ``checkpoints/<run>/<settings hash>``: epoch checkpoints
    while it trains (an interrupted comparison resumes the last epoch), then only the finished model, which
    a re-run with the same settings reuses. An appearance run starts from the 3D subnet's AlexNet when
    ``config.appearance_init`` is ``recon3d``."""
    settings = (run_params, state_digest(recon3d.state_dict), config.appearance_init)
    run_dir = Path(checkpoints) / variant.name / run_fingerprint(model_input, *settings)

    def train(folder: Path) -> ModelBundle:
        params = copy.deepcopy(run_params)
        if variant.model == "appearance" and config.appearance_init == "recon3d":
            params.setdefault("model", {})["pretrained_weights"] = str(
                write_recon3d_backbone(recon3d, folder)
            )
        start = time.perf_counter()
        with child_run(f"compare.{variant.name}", tags=run_tags(variant)) as run_id:
            log_params({"variant": variant.name, variant.model: params})
            if variant.model == "appearance":
                bundle, _ = train_appearance_subnet(model_input, folder, data_params, params)
            else:
                bundle, _ = train_multitask_model(
                    model_input, recon3d, folder, data_params, recon3d_params, params
                )
        bundle.info.update(
            variant=variant.name,
            mlflow_run_id=run_id,
            train_seconds=time.perf_counter() - start,
            appearance_init=config.appearance_init if variant.model == "appearance" else "",
        )
        return bundle

    return finished_or_trained(run_dir, train, name=variant.name, keep_checkpoints=config.keep_checkpoints)


def evaluate_run(
    variant: Variant, bundle: ModelBundle, model_input: pd.DataFrame, run_params: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Test-split predictions of the run and its summary (test MAE at the best validation epoch, the
    median-age baseline's, the training time; :mod:`agelab.experiments.tables`); the test MAEs are also
    logged to the run's child MLflow run."""
    evaluate = evaluate_appearance_subnet if variant.model == "appearance" else evaluate_multitask_model
    predictions, report, _ = evaluate(bundle, model_input, run_params)
    run_id = bundle.info.get("mlflow_run_id")
    if run_id:
        import mlflow

        with child_run(f"compare.{variant.name}", run_id=run_id):
            mlflow.log_metrics(
                {"test_mae": report["mae"], "test_median_baseline_mae": report["median_baseline_mae"]}
            )
    summary = {
        "variant": variant.name,
        "model": variant.model,
        "seed": variant.seed,
        "sweep": variant.sweep,
        "sweep_value": variant.sweep_value,
        "test_mae": float(report["mae"]),
        "test_median_baseline_mae": float(report["median_baseline_mae"]),
        "best_val_mae": float(bundle.info.get("best_val_mae", np.nan)),
        "best_epoch": int(bundle.info.get("best_epoch", -1)),
        "epochs": int(run_params["training"]["epochs"]),
        "train_seconds": float(bundle.info.get("train_seconds", np.nan)),
        "mlflow_run_id": run_id or "",
        "run_parameters": run_params,
    }
    return predictions, summary


def cross_dataset_predictions(test_faces: pd.DataFrame, bundles: Mapping[str, ModelBundle]) -> pd.DataFrame:
    """Per-image predictions of every run in ``bundles`` (run name → model) on one cross-dataset set, in long
    format with the run's ``variant`` and ``model`` (the run name without its ``_seed<n>``)."""
    frames = []
    ages = test_faces["age"].to_numpy()
    for name, bundle in bundles.items():
        predictions, report = predict_test_ages(bundle, test_faces, ages, TrainConfig())
        logger.info("compare: %s on %d cross-dataset faces: MAE %.2f", name, len(test_faces), report["mae"])
        frames.append(predictions.assign(variant=name, model=name.rsplit("_seed", 1)[0]))
    return pd.concat(frames, ignore_index=True)
