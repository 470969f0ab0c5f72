"""Training and validation images for FOSS (§3.3, §4.2): single-face age sets (tiled), multi-face detection
sets (age loss masked), drawn with size-weighted probabilities; one epoch = the largest set.

Every item is a square ``canvas`` × ``canvas`` RGB image in [0, 1] (the model letterboxes it to the
detector's input itself) and a dict of targets: padded ground-truth boxes with their ages (NaN where
unknown) and genders (−1 where unknown), and the CenterNet targets at the detector's stride-4 resolution.
Training images are augmented as §4.2 says (:mod:`agelab.detection.augmentation`: flip, scaling, crop,
rotation, colour, blur; boxes follow, faces pushed off the canvas are dropped). Randomness is drawn from
(seed, epoch, index), so a resumed run sees the same images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from agelab.detection.augmentation import Augmentation, augment_geometry, jitter_colour
from agelab.detection.boxes import largest_box_index
from agelab.detection.encoding import STRIDE, encode_boxes
from agelab.detection.tiling import FaceImage, letterbox_into, tile_images

GENDER_CODES = {"male": 1, "female": 0}


@dataclass(frozen=True)
class FaceRecord:
    """One image file and its faces (boxes in the file's pixels)."""

    path: str
    boxes: tuple[tuple[float, float, float, float], ...]
    ages: tuple[float, ...]
    genders: tuple[int, ...]

    def load(self) -> FaceImage:
        with Image.open(self.path) as image:
            pixels = np.asarray(image.convert("RGB"))
        return FaceImage(
            pixels,
            np.asarray(self.boxes, np.float64).reshape(-1, 4),
            np.asarray(self.ages, np.float64),
            np.asarray(self.genders, np.int64),
        )


@dataclass(frozen=True)
class Source:
    name: str
    records: Sequence[FaceRecord]
    tiled: bool  # single-face age sets are tiled; detection scenes are fed whole


@dataclass
class FossImageSet(Dataset):
    """Size-weighted mixture of ``sources`` (training) or the images of one source in order (``train``
    false: no augmentation, no tiling)."""

    sources: Sequence[Source]
    canvas: int
    detector_input: int
    max_objects: int | None = None
    train: bool = True
    tile_choices: tuple[int, ...] = (1, 4, 9)
    max_distinct: int = 4
    augmentation: Augmentation = field(default_factory=Augmentation)
    seed: int = 0
    # an age-set image drawn alone (one tile, or a validation image) fills this central part of each side of
    # the canvas, black around it: at §4.2's annotation scale the detector finds the face it found there
    single_face_scale: float = 1.0
    epoch: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        sizes = np.array([len(s.records) for s in self.sources], np.float64)
        if not len(sizes) or sizes.sum() == 0:
            raise ValueError("FOSS training needs at least one non-empty image source")
        self.weights = sizes / sizes.sum()
        if not 0 < self.single_face_scale <= 1:
            raise ValueError(f"single_face_scale must be in (0, 1], got {self.single_face_scale}")
        if self.detector_input % 32:
            raise ValueError(f"detector_input must be a multiple of 32, got {self.detector_input}")
        self.objects = self._target_rows()

    def _target_rows(self) -> int:
        """Rows of the padded targets: every face of every image this set can make (a detection image's
        faces, or a tiled image's ``max(tile_choices)`` tiles of the most crowded age image). Augmentation
        only moves or drops faces. A configured ``max_objects`` is a checked bound: an image holding more
        faces fails here, before training, instead of its extra faces being trained as background."""
        most, where = 0, ""
        for source in self.sources:
            tiles = max(self.tile_choices) if (self.train and source.tiled) else 1
            for record in source.records:
                if len(record.boxes) * tiles > most:
                    most, where = len(record.boxes) * tiles, f"{record.path} ({source.name}, ×{tiles} tiles)"
        if self.max_objects is None:
            return max(1, most)
        if most > self.max_objects:
            raise ValueError(
                f"max_objects={self.max_objects} is below the {most} faces of {where}; raise it, or set it "
                "to null to size the targets to the most crowded image"
            )
        return self.max_objects

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.train:
            return max(len(s.records) for s in self.sources)
        return sum(len(s.records) for s in self.sources)

    def _pick(self, index: int, rng: np.random.Generator) -> tuple[Source, int]:
        if self.train:
            source = self.sources[int(rng.choice(len(self.sources), p=self.weights))]
            return source, int(rng.integers(len(source.records)))
        for source in self.sources:
            if index < len(source.records):
                return source, index
            index -= len(source.records)
        raise IndexError(index)

    def compose(self, index: int) -> FaceImage:
        """The canvas image and its faces for item ``index`` (before tensors and targets)."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        source, item = self._pick(index, rng)
        tiles = int(rng.choice(self.tile_choices)) if (self.train and source.tiled) else 1
        if tiles > 1:
            candidates = rng.choice(len(source.records), size=min(len(source.records), 16), replace=False)
            candidates = np.concatenate(([item], candidates[candidates != item]))
            face_image = tile_images(
                lambda i: source.records[i].load(), candidates, self.canvas, tiles, rng, self.max_distinct
            )
        else:
            canvas = np.zeros((self.canvas, self.canvas, 3), np.uint8)
            cell = round(self.canvas * self.single_face_scale) if source.tiled else self.canvas
            corner = (self.canvas - cell) // 2
            face_image = letterbox_into(canvas, source.records[item].load(), corner, corner, cell, cell)
        if self.train:
            face_image = augment_geometry(face_image, self.augmentation, rng)
        return face_image

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        face_image = self.compose(index)
        image = torch.from_numpy(face_image.image).permute(2, 0, 1).float() / 255
        if self.train:
            image = jitter_colour(
                image, self.augmentation, np.random.default_rng([self.seed, self.epoch, index, 1])
            )
        return image, self.targets(face_image)

    def targets(self, face_image: FaceImage) -> dict[str, torch.Tensor]:
        m = self.objects
        boxes = face_image.boxes
        count = len(boxes)
        padded = np.zeros((m, 4), np.float32)
        padded[:count] = boxes
        box_mask = np.zeros(m, np.float32)
        box_mask[:count] = 1
        ages = np.full(m, np.nan, np.float32)
        ages[:count] = face_image.ages
        genders = np.full(m, -1, np.int64)
        genders[:count] = face_image.genders
        scale = self.detector_input / self.canvas
        cells = self.detector_input // STRIDE
        detection = encode_boxes(boxes * scale, (cells, cells), m).as_tensors()
        largest = largest_box_index(boxes)
        truth = np.concatenate((padded, box_mask[:, None]), 1)
        return {
            **detection,
            "boxes": torch.from_numpy(padded),
            "box_mask": torch.from_numpy(box_mask),
            "ages": torch.from_numpy(ages),
            "genders": torch.from_numpy(genders),
            "age": torch.tensor(float(ages[largest]) if largest >= 0 else float("nan")),
            "truth": torch.from_numpy(truth),
        }
