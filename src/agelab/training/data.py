"""Face-crop datasets and transforms for training and evaluation.

Crops come from the data pipeline (``crop_path``: square, 20 % margin, 128 px, by
:func:`agelab.faces.crops.crop_face`). Training takes a random ``image_size`` window with a horizontal
flip and mild colour jitter; evaluation takes the centre window — the same framing ``agelab predict``
uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms import v2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class AugmentConfig:
    flip: bool = True
    random_crop: bool = True
    colour_jitter: float = 0.2  # brightness/contrast/saturation strength; 0 disables
    # probability of turning a training crop grey (three equal channels, as a black-and-white photo decodes)
    grayscale: float = 0.0


def build_transform(image_size: int, train: bool, augment: AugmentConfig | None = None) -> v2.Compose:
    augment = augment or AugmentConfig()
    steps: list = [v2.ToImage()]
    if train and augment.random_crop:
        steps.append(v2.RandomCrop(image_size))
    else:
        steps.append(v2.CenterCrop(image_size))
    if train and augment.flip:
        steps.append(v2.RandomHorizontalFlip())
    if train and augment.colour_jitter > 0:
        j = augment.colour_jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j))
    if train and augment.grayscale > 0:
        steps.append(v2.RandomGrayscale(augment.grayscale))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return v2.Compose(steps)


class FaceCropDataset(Dataset):
    """(image tensor, age) pairs from a model-input table; crops are decoded once and kept in memory when
    they fit in :attr:`PRELOAD_LIMIT_BYTES` (or as ``preload`` says)."""

    #: decoded crops are kept in memory up to this size; larger sets are read from disk every epoch
    PRELOAD_LIMIT_BYTES = 2 * 1024**3

    def __init__(self, faces: pd.DataFrame, transform: v2.Compose | None, *, preload: bool | None = None):
        self.paths = faces["crop_path"].tolist()
        self.ages = torch.as_tensor(faces["age"].to_numpy(dtype=np.float32))
        self.transform = transform
        if preload is None and self.paths:
            preload = len(self.paths) * self._read(self.paths[0]).numel() <= self.PRELOAD_LIMIT_BYTES
        self._cache = [self._read(p) for p in self.paths] if preload else None

    @staticmethod
    def _read(path: str) -> torch.Tensor:
        return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).contiguous()

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, index: int) -> torch.Tensor:
        """The decoded crop ``(3, H, W)`` uint8."""
        return self._cache[index] if self._cache is not None else self._read(self.paths[index])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(self.image(index)), self.ages[index]
