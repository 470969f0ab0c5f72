"""Face-crop datasets for training and evaluation.

Crops come from the data pipeline (``crop_path``: square, margin, 128 px, by
:func:`agelab.faces.crops.face_crop`); their transforms (training augmentation, the evaluation centre window
``agelab predict`` shares) are :mod:`agelab.faces.crop_transforms`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms import v2


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
