"""Training pairs for the 3D subnet: a face crop for the network, and for L_fit (Eq. 6) the same crop in
linear RGB plus its 68 dlib landmarks in the network input's pixel frame.

The network sees the centre ``image_size`` window of the data pipeline's crop (the appearance subnet's
framing, so HPS/SPS can share one input). dlib reports landmarks on integer pixel indices; they are moved
to the continuous frame the image-formation model uses (pixel (i, j) centred at (j + 0.5, i + 0.5)).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from agelab.colour import srgb_to_linear
from agelab.config import ConfigError
from agelab.faces.crop_transforms import IMAGENET_MEAN, IMAGENET_STD, AugmentConfig
from agelab.faces.crops import apply_affine, window_matrix
from agelab.faces.detection import MIRROR_68
from agelab.training.data import FaceCropDataset

_MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
_STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)


def _as_array(value) -> np.ndarray:
    if isinstance(value, str):
        value = json.loads(value)
    return np.asarray(value, dtype=np.float64)


def crop_landmarks(faces: pd.DataFrame, column: str, crop_size: int, image_size: int, *, dlib: bool):
    """Landmarks ``(F, 68, 2)`` of ``column`` (image pixels) in the network input's pixel frame."""
    offset = (crop_size - image_size) / 2
    shift = 0.5 if dlib else 0.0
    # the crop's image -> crop matrix (box or aligned crop); tables written before it existed hold the window
    matrices = (
        faces["crop_matrix"]
        if "crop_matrix" in faces
        else pd.Series([None] * len(faces), index=faces.index, dtype=object)
    )
    points = [
        apply_affine(
            _as_array(lm) + shift,
            _as_array(m) if isinstance(m, str) and m else window_matrix(tuple(_as_array(w)), crop_size),
        )
        - offset
        for lm, w, m in zip(faces[column], faces["crop_window"], matrices, strict=True)
    ]
    return np.stack(points).astype(np.float32) if points else np.zeros((0, 68, 2), np.float32)


def has_landmarks(faces: pd.DataFrame, column: str = "landmarks_68") -> pd.Series:
    """Faces whose ``column`` holds 68 points (dlib ran on a face box)."""

    def ok(value) -> bool:
        try:
            return _as_array(value).shape == (68, 2)
        except (ValueError, TypeError):
            return False

    return faces[column].map(ok)


def split_with_landmarks(model_input: pd.DataFrame, split: str) -> pd.DataFrame:
    """The faces of one split that have dlib landmarks (every face the data pipeline cropped)."""
    part = model_input[model_input["split"] == split]
    part = part[has_landmarks(part)]
    if part.empty:
        raise ConfigError(f"model input has no '{split}' faces with dlib landmarks; check the data pipeline")
    return part


def landmark_weights(faces: pd.DataFrame, which: str) -> np.ndarray:
    """1 for faces whose landmarks train the landmark term, else 0 (they still train the photometric one).

    ``detected``: dlib's landmarks are trusted where dlib's detector found the face; on a face it missed
    (placed by the dataset's own box: strong turns, extreme expressions) the shape predictor regresses
    towards a frontal shape, which would teach the subnet frontal poses. ``all``: every face."""
    if which == "all":
        return np.ones(len(faces))
    if which == "detected":
        if "detected" not in faces:
            raise ConfigError("landmark_faces: detected needs the data pipeline's 'detected' column")
        return faces["detected"].fillna(False).astype(bool).to_numpy(dtype=float)
    raise ConfigError(f"landmark_faces is '{which}'; choose 'detected' or 'all'")


class FaceReconstructionDataset(Dataset):
    """``(normalised image, {"image": linear RGB, "landmarks": (68, 2), "landmark_weight": (), "age": ()})``
    pairs. ``landmark_weights`` (default 1) scale each face's landmark term of L_fit.

    ``augment`` is the appearance subnet's policy (:class:`~agelab.faces.crop_transforms.AugmentConfig`),
    so models compared with each other see the same images: a random ``image_size`` window of the crop (the
    landmarks move with it), a mirror (landmarks mirrored and renumbered) and colour jitter. L_fit's
    photometric target is the augmented image itself, so the 3D branch explains what the network sees."""

    def __init__(
        self,
        faces: pd.DataFrame,
        *,
        crop_size: int,
        image_size: int,
        augment: AugmentConfig | None = None,
        landmark_weights: np.ndarray | None = None,
    ):
        self.crops = FaceCropDataset(faces, transform=None)
        weights = np.ones(len(faces)) if landmark_weights is None else np.asarray(landmark_weights, float)
        self.landmark_weights = torch.as_tensor(weights, dtype=torch.float32)
        self.landmarks = torch.as_tensor(
            crop_landmarks(faces, "landmarks_68", crop_size, image_size, dlib=True)
        )
        self.start = (crop_size - image_size) // 2
        self.image_size = image_size
        self.augment = augment or AugmentConfig(flip=False, random_crop=False, colour_jitter=0.0)
        j = self.augment.colour_jitter
        self.jitter = v2.ColorJitter(brightness=j, contrast=j, saturation=j) if j > 0 else None
        self.grayscale = v2.RandomGrayscale(self.augment.grayscale) if self.augment.grayscale > 0 else None

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        crop = self.crops.image(index)
        x0 = y0 = self.start
        if self.augment.random_crop:
            x0, y0 = (int(v) for v in torch.randint(0, 2 * self.start + 1, (2,)))
        size = self.image_size
        srgb = crop[:, y0 : y0 + size, x0 : x0 + size]
        if self.jitter is not None:
            srgb = self.jitter(srgb)
        if self.grayscale is not None:
            srgb = self.grayscale(srgb)
        srgb = srgb.float() / 255
        offset = torch.tensor([self.start - x0, self.start - y0], dtype=torch.float32)
        landmarks = self.landmarks[index] + offset
        if self.augment.flip and torch.rand(()) < 0.5:
            srgb = srgb.flip(-1)
            landmarks = landmarks[MIRROR_68] * torch.tensor([-1.0, 1.0]) + torch.tensor(
                [float(self.image_size), 0.0]
            )
        target = {
            "image": srgb_to_linear(srgb),
            "landmarks": landmarks,
            "landmark_weight": self.landmark_weights[index],
            "age": self.crops.ages[index],
        }
        return (srgb - _MEAN) / _STD, target
