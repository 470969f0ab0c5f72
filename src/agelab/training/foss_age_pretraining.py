"""FOSS's age sub-network pre-trained on single face crops before the joined stage.

Yoshimura & Ogata §4.2 start the joined stage "from the weight trained with IMDB-WIKI": an age network that
already knows faces. Where no such weights are held, this stage makes them from the single-face age images
themselves: each training image is cut at the box §4.2's annotation gave it, exactly as the facial-cropping
connection cuts (:func:`~agelab.detection.boxes.crop_regions`' margins, ``roi_align`` to crop_height ×
crop_width), and :class:`~agelab.models.foss.FaceCropAgeNetwork` — the TResNet and both heads, the detector's
intermediate feature replaced by zeros — learns age and gender with §3.2's per-face terms
(:func:`~agelab.losses.foss.face_attribute_loss`: λ_mean L_mean + λ_var L_var + λ_ce L_ce + λ_gen L_bce).
A crop costs one TResNet pass and no detector pass, so an epoch over UTKFace takes minutes where the joined
stage's takes most of an hour (docs/foss.md). :meth:`~agelab.models.foss.FossNet.start_from_age_network` then
hands the weights to the joined stage with the feature's projection zeroed: it starts from this network's
function and learns how much of the detector's feature to use.

Augmentation: the box jittered in size and position (the detector's boxes are not exact either), the crop cut
at a random lower resolution and scaled back up (faces in a tiled scene are a third of their size here), a
horizontal flip and §4.2's colour jitter. Randomness is drawn from (seed, epoch, index), so a resumed run sees
the same crops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torchvision.ops import roi_align

from agelab.config import ConfigError
from agelab.detection.augmentation import Augmentation, jitter_colour
from agelab.detection.boxes import SIDE_MARGIN, TOP_MARGIN, crop_regions
from agelab.losses.age import age_moments
from agelab.losses.foss import FossLossWeights, face_attribute_loss
from agelab.models.foss import FaceCropAgeNetwork
from agelab.training.engine import FitResult, TrainConfig, fit, seed_everything
from agelab.training.foss_data import FaceRecord
from agelab.training.foss_training import known_age_mae


@dataclass(frozen=True)
class AgePretrainingConfig:
    """``parameters_foss.yml: foss.age_pretraining``; ``engine.epochs: 0`` (the default) skips the stage."""

    engine: TrainConfig = field(  # conf/base's engine; epochs 0: off
        default_factory=lambda: TrainConfig(epochs=0, batch_size=32, learning_rate=1e-3, lr_step_size=10)
    )
    box_jitter: float = 0.1  # box size × 1 ± this, its centre moved up to half this of its size each way
    resolution: tuple[float, float] = (
        0.35,
        1.0,
    )  # the crop is cut at this fraction of its size, then resized
    flip: bool = True

    def __post_init__(self) -> None:
        low, high = self.resolution
        if not 0 < low <= high <= 1:
            raise ConfigError(
                f"foss.age_pretraining.resolution must be 0 < low <= high <= 1, got {self.resolution}"
            )
        if not 0 <= self.box_jitter < 1:
            raise ConfigError(f"foss.age_pretraining.box_jitter must be in [0, 1), got {self.box_jitter}")

    @property
    def enabled(self) -> bool:
        return self.engine.epochs > 0


def jitter_box(box: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """``box`` (x0, y0, x1, y1) scaled about its centre by 1 ± ``strength`` and its centre moved up to
    ``strength / 2`` of its width / height each way."""
    if strength <= 0:
        return box
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    scale = rng.uniform(1 - strength, 1 + strength)
    cx = (x0 + x1) / 2 + rng.uniform(-strength, strength) / 2 * w
    cy = (y0 + y1) / 2 + rng.uniform(-strength, strength) / 2 * h
    return np.array([cx - scale * w / 2, cy - scale * h / 2, cx + scale * w / 2, cy + scale * h / 2])


@dataclass
class FaceCropSet(Dataset):
    """Single-face records → (crop (3, crop_height, crop_width) in [0, 1], {"age", "gender"}), cut as the
    facial-cropping connection cuts; ``train`` false: no augmentation."""

    records: Sequence[FaceRecord]
    crop_size: tuple[int, int]  # (height, width)
    train: bool = True
    config: AgePretrainingConfig = field(default_factory=AgePretrainingConfig)
    colour: Augmentation = field(default_factory=Augmentation)
    margins: tuple[float, float] = (TOP_MARGIN, SIDE_MARGIN)
    seed: int = 0
    epoch: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        several = [r.path for r in self.records if len(r.boxes) != 1]
        if several:
            raise ValueError(f"{len(several)} records do not hold exactly one face, e.g. {several[0]}")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        record = self.records[index]
        face = record.load()
        image = torch.from_numpy(face.image.copy()).permute(2, 0, 1).float().div_(255)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        box = face.boxes[0]
        size = self.crop_size
        if self.train:
            box = jitter_box(box, self.config.box_jitter, rng)
            fraction = rng.uniform(*self.config.resolution)
            size = (max(4, round(size[0] * fraction)), max(4, round(size[1] * fraction)))
        region = crop_regions(torch.as_tensor(box, dtype=torch.float32)[None], *self.margins)
        rois = torch.cat((torch.zeros(1, 1), region), 1)
        crop = roi_align(image[None], rois, size, 1.0, -1, aligned=True)
        if size != self.crop_size:
            crop = F.interpolate(crop, self.crop_size, mode="bilinear", align_corners=False)
        crop = crop[0].clamp(0, 1)
        if self.train:
            if self.config.flip and rng.random() < 0.5:
                crop = crop.flip(-1)
            crop = jitter_colour(crop, self.colour, rng)
        targets = {
            "age": torch.tensor(float(face.ages[0]), dtype=torch.float32),
            "gender": torch.tensor(int(face.genders[0]), dtype=torch.long),
        }
        return crop, targets


def _loss(
    output: tuple[torch.Tensor, torch.Tensor], targets: Mapping[str, torch.Tensor], weights: FossLossWeights
) -> torch.Tensor:
    age_logits, gender_logits = output
    return face_attribute_loss(age_logits, gender_logits, targets["age"], targets["gender"], weights)[0]


def _predicted_age(model: FaceCropAgeNetwork, crops: torch.Tensor) -> torch.Tensor:
    return age_moments(model(crops)[0])[0]


def pretrain_age_network(
    network: FaceCropAgeNetwork,
    train_records: Sequence[FaceRecord],
    val_records: Sequence[FaceRecord],
    crop_size: tuple[int, int],
    config: AgePretrainingConfig,
    loss_weights: FossLossWeights,
    colour: Augmentation,
    *,
    checkpoint_dir: str | Path | None = None,
    fingerprint: dict[str, Any] | None = None,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    show_progress: bool = True,
) -> FitResult:
    """Train ``network`` on crops of the single-face ``train_records``; the weights of the epoch with the
    lowest validation MAE (each validation crop's expected age) are kept in it and returned."""
    if not train_records or not val_records:
        raise ConfigError("age pre-training needs single-face training and validation images")
    seed_everything(config.engine.seed)
    train_set = FaceCropSet(train_records, crop_size, True, config, colour, seed=config.engine.seed)
    val_set = FaceCropSet(val_records, crop_size, False, config, colour)
    return fit(
        network,
        partial(_loss, weights=loss_weights),
        _predicted_age,
        known_age_mae,
        train_set,
        val_set,
        dataclasses.replace(config.engine, alternate_age_groups=False),
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
        on_epoch_start=train_set.set_epoch,
        on_epoch_end=on_epoch_end,
        show_progress=show_progress,
        target_key="age",
    )


__all__ = ["AgePretrainingConfig", "FaceCropSet", "jitter_box", "pretrain_age_network"]
