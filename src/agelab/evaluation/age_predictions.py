"""Test-split age predictions of any trained age model (appearance subnet, HPS, SPS) and their report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from agelab.evaluation.metrics import age_report
from agelab.losses.age import expected_age
from agelab.models.alexnet import age_std
from agelab.models.bundle import ModelBundle
from agelab.training.data import FaceCropDataset, build_transform
from agelab.training.engine import TrainConfig, evaluate, make_loader, resolve_device


def predict_test_ages(
    bundle: ModelBundle, test_faces: pd.DataFrame, train_ages: np.ndarray, config: TrainConfig
) -> tuple[pd.DataFrame, dict]:
    """Predictions (true, predicted, spread of the predicted distribution, error) for ``test_faces``
    through the model's own framing (centre window of the crop), and :func:`age_report` on them."""
    model = bundle.build().to(resolve_device(config.device))
    device = next(model.parameters()).device
    min_age = bundle.kwargs["min_age"]

    def predict(net: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
        logits = net(images)  # age logits: the forward of every age model
        return torch.stack([expected_age(logits, min_age), age_std(logits, min_age)], dim=-1)

    loader = make_loader(
        FaceCropDataset(test_faces, build_transform(bundle.image_size, False)), config, train=False
    )
    outputs, true = evaluate(model, predict, loader, device)
    predicted, stds = outputs[:, 0], outputs[:, 1]
    predictions = pd.DataFrame(
        {
            "image_path": test_faces["image_path"].to_numpy(),
            "crop_path": test_faces["crop_path"].to_numpy(),
            "true_age": true,
            "predicted_age": predicted,
            "predicted_std": stds,
            "absolute_error": np.abs(predicted - true),
            "age_group": test_faces["age_group"].to_numpy(),
        }
    )
    report = age_report(predicted, true, train_ages, test_faces["age_group"].to_numpy())
    return predictions, report


def report_metrics(report: dict, prefix: str = "test_") -> dict[str, dict[str, float]]:
    """The report's top-level numbers as MLflow metrics."""
    return {
        f"{prefix}{k}": {"value": float(v), "step": 0}
        for k, v in report.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
