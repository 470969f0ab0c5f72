"""Test-split age predictions of any trained age model (appearance subnet, HPS, SPS) and their report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from agelab.device import resolve_device
from agelab.evaluation.metrics import age_report, mae_by
from agelab.faces.crop_transforms import build_transform
from agelab.models.age_distribution import AgeEstimates, age_log_probs, coverage
from agelab.models.bundle import ModelBundle
from agelab.training.data import FaceCropDataset
from agelab.training.engine import TrainConfig, evaluate, make_loader


def predict_test_ages(
    bundle: ModelBundle, test_faces: pd.DataFrame, train_ages: np.ndarray, config: TrainConfig
) -> tuple[pd.DataFrame, dict]:
    """Predictions (true, predicted, spread of the predicted distribution, error, the 50 % and 80 % age
    intervals at the bundle's temperature) for ``test_faces`` through the model's own framing (centre
    window of the crop, flip-averaged where the bundle says), and :func:`age_report` on them with the
    intervals' coverage."""
    log_probs, true = age_log_probabilities(bundle, test_faces, config)
    estimates = AgeEstimates.from_log_probs(log_probs, bundle.kwargs["min_age"], bundle.temperature)
    predicted, stds = estimates.age, estimates.std
    columns = {
        "image_path": test_faces["image_path"].to_numpy(),
        "crop_path": test_faces["crop_path"].to_numpy(),
        "true_age": true,
        "predicted_age": predicted,
        "predicted_std": stds,
        "absolute_error": np.abs(predicted - true),
        "age_group": test_faces["age_group"].to_numpy(),
    }
    report = age_report(predicted, true, train_ages, test_faces["age_group"].to_numpy())
    if "grayscale" in test_faces:  # black-and-white photos apart: §4's cleaning keeps them out of training
        grey = test_faces["grayscale"].fillna(False).astype(bool).to_numpy()
        columns["grayscale"] = grey
        report["mae_by_colour"] = mae_by(predicted, true, np.where(grey, "grayscale", "colour"))
    for level, (low, high) in estimates.intervals.items():
        name = f"{round(level * 100)}"
        columns[f"age_low_{name}"], columns[f"age_high_{name}"] = low, high
        report[f"interval_coverage_{name}"] = coverage(low, high, true)
        report[f"interval_width_{name}"] = float(np.mean(high - low + 1)) if len(low) else float("nan")
    report["temperature"] = float(bundle.temperature)
    return pd.DataFrame(columns), report


def age_log_probabilities(
    bundle: ModelBundle, faces: pd.DataFrame, config: TrainConfig
) -> tuple[np.ndarray, np.ndarray]:
    """``(N, C)`` log-probabilities of the age classes for ``faces`` (flip-averaged where the bundle says)
    and their true ages."""
    model = bundle.build().to(resolve_device(config.device))
    device = next(model.parameters()).device

    def predict(net: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
        return age_log_probs(net, images, flip=bundle.test_time_flip)

    loader = make_loader(
        FaceCropDataset(faces, build_transform(bundle.image_size, False)), config, train=False
    )
    return evaluate(model, predict, loader, device)


def report_metrics(report: dict, prefix: str = "test_") -> dict[str, dict[str, float]]:
    """The report's top-level numbers as MLflow metrics."""
    return {
        f"{prefix}{k}": {"value": float(v), "step": 0}
        for k, v in report.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
