"""Single-image inference shared by ``agelab predict`` and tests: model loading from a bundle file or an
MLflow URI, and face preparation through the very crop function and margins used in training."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agelab.faces.crops import CropSpec, crop_face
from agelab.losses.age import expected_age
from agelab.models.alexnet import age_std
from agelab.models.bundle import ModelBundle
from agelab.training.data import build_transform

RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class ModelNotFoundError(FileNotFoundError):
    pass


@dataclass
class AgePredictor:
    model: nn.Module
    min_age: int
    crop: CropSpec
    image_size: int
    device: torch.device

    def prepare(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> torch.Tensor:
        """Network input for each face: the training crop (:func:`crop_face`) then the evaluation
        transform (centre window, ImageNet normalisation)."""
        transform = build_transform(self.image_size, train=False)
        crops = [
            torch.from_numpy(crop_face(image, box, self.crop)[0].copy()).permute(2, 0, 1) for box in boxes
        ]
        return (
            torch.stack([transform(c) for c in crops])
            if crops
            else torch.zeros(0, 3, self.image_size, self.image_size)
        )

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        if len(inputs) == 0:
            return np.zeros(0), np.zeros(0)
        logits = self.model(inputs.to(self.device))
        return expected_age(logits, self.min_age).cpu().numpy(), age_std(logits, self.min_age).cpu().numpy()


def load_predictor(model: str, device: str = "auto") -> AgePredictor:
    """``model``: a bundle file (``data/06_models/.../*.pt``), an MLflow run id, ``runs:/<id>/model`` or
    ``models:/<name>/<version>``."""
    target = torch.device(
        "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)
    )
    path = Path(model)
    if path.is_file():
        bundle = ModelBundle.load(path)
        return AgePredictor(
            bundle.build().to(target),
            bundle.kwargs["min_age"],
            CropSpec(bundle.crop_size, bundle.crop_margin),
            bundle.image_size,
            target,
        )
    uri = f"runs:/{model}/model" if RUN_ID.match(model) else model
    if not uri.startswith(("runs:/", "models:/")):
        raise ModelNotFoundError(
            f"no model at '{path.resolve()}': give a model file (data/06_models/.../*.pt), "
            "an MLflow run id, runs:/<run id>/model or models:/<name>/<version>"
        )
    import mlflow

    try:
        info = mlflow.models.get_model_info(uri)
        network = mlflow.pytorch.load_model(uri, map_location=target)
    except Exception as exc:
        raise ModelNotFoundError(
            f"no MLflow model at {uri} (tracking URI {mlflow.get_tracking_uri()}): {exc}"
        ) from exc
    meta = info.metadata or {}
    if "crop_size" not in meta:
        raise ModelNotFoundError(f"{uri} was not logged by agelab (no crop settings in its metadata)")
    return AgePredictor(
        _in_eval_mode(network),
        int(meta["agelab_kwargs"]["min_age"]),
        CropSpec(int(meta["crop_size"]), float(meta["crop_margin"])),
        int(meta["image_size"]),
        target,
    )


def _in_eval_mode(network: nn.Module) -> nn.Module:
    """MLflow 3 logs PyTorch models as torch.export programs ("pt2"), already traced in eval mode and
    refusing ``.eval()``; pickled modules are switched to eval mode as usual."""
    try:
        return network.eval()
    except NotImplementedError:
        return network
