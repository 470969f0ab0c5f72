"""A trained model with everything inference needs to reproduce training's view of a face: the
architecture and its arguments, the weights, the crop (size, margin, aligned or not) and the network input
size."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agelab.atomic import atomic_write_bytes
from agelab.faces.crops import CropSpec

BUNDLE_ARTIFACT = "agelab_model.pt"
"""The bundle file's name inside a logged MLflow model (``artifacts/agelab_model.pt``): what
:func:`agelab.inference.loading.load_bundle` looks for and :mod:`agelab.inference.serving` writes."""

ARCHITECTURES: dict[str, Any] = {}


def register_architecture(name: str):
    def decorate(constructor):
        ARCHITECTURES[name] = constructor
        return constructor

    return decorate


@dataclass
class ModelBundle:
    architecture: str
    kwargs: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    crop_size: int
    crop_margin: float
    image_size: int
    info: dict[str, Any] = field(default_factory=dict)  # training data, metrics, speed: for model cards
    crop_align: bool = False  # similarity-aligned crops (agelab.faces.alignment) instead of box crops
    test_time_flip: bool = False  # average the face's and its mirror's age distributions
    temperature: float = 1.0  # of the age intervals (agelab.models.age_distribution), fitted on validation

    @property
    def crop_spec(self) -> CropSpec:
        """The framing the model was trained on, for :func:`agelab.faces.crops.face_crop`."""
        return CropSpec(self.crop_size, self.crop_margin, self.crop_align)

    def build(self) -> nn.Module:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; known: {sorted(ARCHITECTURES)}")
        model = ARCHITECTURES[self.architecture](**{**self.kwargs, "pretrained_weights": None})
        model.load_state_dict(self.state_dict)
        return model.eval()

    def save(self, path: str | Path) -> None:
        buffer = io.BytesIO()
        torch.save(self.__dict__, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> ModelBundle:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model at {path.resolve()}")
        return cls(**torch.load(path, map_location="cpu", weights_only=False))
