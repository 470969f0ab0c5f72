"""FOSS training stages (§3.3, §4.2) on the shared engine (:func:`agelab.training.engine.fit`):

1. :func:`train_face_detector` — CenterNet alone on the detection set (L_det), validated by AP@0.5;
2. :func:`annotate_single_face_images` — that detector boxes the single-face age images; training images
   with more than one detected face (or none) are excluded, test images keep their largest face;
3. :func:`train_multi_person_model` — the whole FOSS network from the trained detector (frozen, or end to
   end), K = 9 with tiling augmentation, on the age images mixed with the detection set; validated by the
   MAE of the largest detected face.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from agelab.config import ConfigError
from agelab.detection.augmentation import Augmentation
from agelab.detection.boxes import largest_box_index, suppress_duplicates
from agelab.detection.encoding import decode_boxes
from agelab.detection.tiling import centred_on_canvas, grid_for_scale, images_in_grid
from agelab.device import resolve_device
from agelab.evaluation.detection import ImageDetections, average_precision
from agelab.evaluation.multi_person import read_rgb_or_reason
from agelab.losses.age import age_moments
from agelab.losses.detection import centernet_loss
from agelab.losses.foss import FossLossWeights, foss_loss
from agelab.models.centernet import CenterNetFaceDetector
from agelab.models.foss import FossNet
from agelab.models.foss_decoding import estimate_faces, image_tensor
from agelab.parallel import progress_bar
from agelab.training.engine import FitResult, TrainConfig, fit, seed_everything
from agelab.training.foss_data import GENDER_CODES, FaceRecord, FossImageSet, Source
from agelab.training.optimizers import adam

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FossModelConfig:
    """``parameters_foss.yml: foss.model`` — :class:`~agelab.models.foss.FossNet`'s arguments."""

    detector_width: float = 1.0
    head_conv: int = 256
    detector_backbone: str = "dla34"  # agelab.models.dla.DLA_VARIANTS
    deformable: bool = True
    detector_input: int = 480
    age_width: float = 0.9
    age_backbone: str = "tresnet_s"  # agelab.models.tresnet.TRESNET_VARIANTS
    crop_width: int = 160
    crop_height: int = 224
    intermediate_feature: bool = True
    intermediate_channels: int = 48
    # a 1×1 projection of the detector's feature even where its width is intermediate_channels already: the
    # age pre-training (foss.age_pretraining) needs it, zeroed, to start the joined model at its outputs
    project_feature: bool = False
    head_channels: int = 512
    dropout: float = 0.2
    top_k: int = 20
    score_threshold: float = 0.2
    # initial weights, state-dict files you hold (None: random initialisation); see FossNet
    detector_backbone_weights: str | None = None  # DLA-34, for the detector stage
    age_backbone_weights: str | None = None  # TResNet, for the joint stage
    pretrained_weights: str | None = None  # a whole FossNet (e.g. trained on IMDB-WIKI), joint stage

    def build(self) -> FossNet:
        return FossNet(**dataclasses.asdict(self))

    def build_detector(self) -> CenterNetFaceDetector:
        return CenterNetFaceDetector(
            self.detector_width,
            self.head_conv,
            self.deformable,
            self.detector_input,
            self.detector_backbone_weights,
            self.detector_backbone,
        )


@dataclass(frozen=True)
class DataConfig:
    """How training images are made: canvas size, tiling, augmentation."""

    canvas: int = 480
    max_objects: int | None = None  # target rows per image; None: every face of the most crowded image
    tile_choices: tuple[int, ...] = (1, 4, 9)
    max_distinct: int = 4
    augmentation: Augmentation = field(default_factory=Augmentation)  # §4.2's flip, scale, crop, rotation,
    # colour and blur


@dataclass(frozen=True)
class FossTrainingConfig:
    """``parameters_foss.yml: foss.training``."""

    train_k: int = 9  # K during training with tiling (paper; 1 without)
    end_to_end: bool = False  # §3.3: frozen detector (False) or end-to-end learning
    # an age image alone on the canvas (one tile, and every validation image) fills this central part of each
    # side, black around it; None: foss.annotation.image_scale, the scale at which the detector boxed it (a
    # detector that learnt faces from group photos misses a face filling the picture)
    single_face_scale: float | None = None
    loss: FossLossWeights = field(default_factory=FossLossWeights)
    engine: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.single_face_scale is not None and not 0 < self.single_face_scale <= 1:
            raise ConfigError(
                f"foss.training.single_face_scale must be in (0, 1], got {self.single_face_scale}"
            )


def records_from_index(index: pd.DataFrame) -> list[FaceRecord]:
    """Face-index rows (one per face, shared ``image_path``) → one record per image."""
    records = []
    for path, group in index.groupby("image_path", sort=True):
        boxed = group.dropna(subset=["box_x0", "box_y0", "box_x1", "box_y1"])
        records.append(
            FaceRecord(
                str(path),
                tuple(
                    tuple(map(float, b)) for b in boxed[["box_x0", "box_y0", "box_x1", "box_y1"]].to_numpy()
                ),
                tuple(float(a) for a in boxed["age"]),
                tuple(GENDER_CODES.get(g, -1) for g in boxed["gender"]),
            )
        )
    return records


def detection_split(index: pd.DataFrame, split: str) -> pd.DataFrame:
    """The detection sets' rows of one split (``split_hint``: WIDER FACE's train / val files)."""
    part = index[index["split_hint"] == split]
    if part.empty:
        raise ConfigError(
            f"the detection sets have no '{split}' images (WIDER FACE: wider_face_{split}_bbx_gt.txt)"
        )
    return part


# -- 1. detector ---------------------------------------------------------------------------------------
def _detector_loss(output, targets, lambda_size: float, lambda_offset: float) -> torch.Tensor:
    return centernet_loss(output, targets, lambda_size, lambda_offset)[0]


def _detector_predict(model: CenterNetFaceDetector, images: torch.Tensor, k: int) -> torch.Tensor:
    network_input, scale = model.letterbox(images)
    output = model.forward_network(network_input)
    boxes, scores = decode_boxes(output.heatmap, output.size, output.offset, k)
    return torch.cat((boxes / scale, scores[..., None]), -1).flatten(1)


def one_minus_ap(predictions: np.ndarray, truth: np.ndarray) -> float:
    """Validation metric of the detector (lower is better): 1 − AP@0.5 over the batch of images."""
    images = []
    for predicted, real in zip(predictions.reshape(len(predictions), -1, 5), truth, strict=True):
        real = real.reshape(-1, 5)
        images.append(ImageDetections(predicted[:, :4], predicted[:, 4], real[real[:, 4] > 0, :4]))
    return 1.0 - average_precision(images)["ap"]


def train_face_detector(
    train_records: Sequence[FaceRecord],
    val_records: Sequence[FaceRecord],
    model_config: FossModelConfig,
    data_config: DataConfig,
    train_config: TrainConfig,
    loss: FossLossWeights,
    *,
    detection_k: int = 100,  # peaks scored by the validation AP (not the K age crops)
    checkpoint_dir: str | Path | None = None,
    fingerprint: dict[str, Any] | None = None,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    show_progress: bool = True,
) -> tuple[CenterNetFaceDetector, FitResult]:
    seed_everything(train_config.seed)  # the initial weights too: a run is reproducible from its settings
    detector = model_config.build_detector()
    train_set = _image_set([Source("detection", train_records, tiled=False)], model_config, data_config, True)
    val_set = _image_set([Source("detection", val_records, tiled=False)], model_config, data_config, False)
    result = fit(
        detector,
        partial(_detector_loss, lambda_size=loss.size, lambda_offset=loss.offset),
        partial(_detector_predict, k=detection_k),
        one_minus_ap,
        train_set,
        val_set,
        dataclasses.replace(train_config, alternate_age_groups=False),
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
        on_epoch_start=train_set.set_epoch,
        on_epoch_end=on_epoch_end,
        show_progress=show_progress,
        target_key="truth",
    )
    return detector, result


def _image_set(
    sources: list[Source],
    model: FossModelConfig,
    data: DataConfig,
    train: bool,
    seed: int = 0,
    single_face_scale: float = 1.0,
) -> FossImageSet:
    return FossImageSet(
        sources,
        canvas=data.canvas,
        detector_input=model.detector_input,
        max_objects=data.max_objects,
        train=train,
        tile_choices=tuple(data.tile_choices),
        max_distinct=data.max_distinct,
        augmentation=data.augmentation,
        seed=seed,
        single_face_scale=single_face_scale,
    )


# -- 2. annotation ---------------------------------------------------------------------------------------
#: how §4.2 shows each age image to the detector (``foss.annotation.layout``)
ANNOTATION_LAYOUTS = ("canvas", "grid")


def _annotation_row(record: dict, found: np.ndarray) -> dict:
    """One image's §4.2 verdict from its detections ``found`` ``(n, 5)`` (boxes in its pixels, score)."""
    n = len(found)
    box = found[largest_box_index(found[:, :4])] if n else np.full(5, np.nan)
    if record.get("split") == "test":
        use, reason = n > 0, "" if n else "no face detected"
    else:
        use = n == 1
        reason = "" if use else ("no face detected" if n == 0 else f"{n} faces detected")
    return {
        **record,
        "n_detected": n,
        "foss_box_x0": float(box[0]),
        "foss_box_y0": float(box[1]),
        "foss_box_x1": float(box[2]),
        "foss_box_y1": float(box[3]),
        "foss_score": float(box[4]),
        "foss_use": bool(use),
        "reason": reason,
    }


@torch.no_grad()
def annotate_single_face_images(
    detector: CenterNetFaceDetector,
    faces: pd.DataFrame,
    *,
    score_threshold: float = 0.2,
    k: int = 20,
    nms_iou: float | None = 0.5,
    device: str = "auto",
    show_progress: bool = True,
    image_scale: float = 1.0,
    layout: str = "canvas",
) -> tuple[pd.DataFrame, dict]:
    """§4.2: box every single-face image (``image_path``, ``split``, ``age``, ``gender``) with the trained
    detector (duplicates overlapping by IoU > ``nms_iou`` count once). Adds ``n_detected``, the box of the
    largest detection and ``foss_use``: training and
    validation images are used only with exactly one detected face; test images keep their largest face.
    Unreadable images are skipped and counted (``reason``). With ``image_scale`` < 1 the detector sees each
    image at that fraction of each side of a larger picture: with ``layout="canvas"`` alone at the centre of a
    black canvas (:func:`~agelab.detection.tiling.centred_on_canvas`, one detector pass per image); with
    ``layout="grid"`` beside the next images in a 1/scale × 1/scale grid
    (:func:`~agelab.detection.tiling.images_in_grid`, one pass per grid: 9 times fewer at 1/3), where an image
    owns the detections centred on it, clipped to it. Boxes are returned in each image's own pixels."""
    if layout not in ANNOTATION_LAYOUTS:
        raise ConfigError(f"foss.annotation.layout must be 'canvas' or 'grid', got {layout!r}")
    grid = grid_for_scale(image_scale) if layout == "grid" else 1
    target = resolve_device(device)
    detector = detector.to(target).eval()
    records = [row._asdict() for row in faces.itertuples(index=False)]
    rows: list[dict] = [{}] * len(records)  # filled in input order, a grid's images when it is full
    pending: list[tuple[int, np.ndarray]] = []  # readable images waiting for their grid

    def detect(picture: np.ndarray) -> torch.Tensor:
        output = _detector_predict(detector, image_tensor(picture, target), k).view(-1, 5).cpu()
        return output[output[:, 4] >= score_threshold]

    def finish(index: int, detections: torch.Tensor) -> None:
        kept = suppress_duplicates(detections[:, :4], detections[:, 4], nms_iou)
        rows[index] = _annotation_row(records[index], detections[kept].numpy())

    def flush_grid() -> None:
        picture, rectangles = images_in_grid([pixels for _, pixels in pending], grid)
        output = detect(picture)
        centre_x, centre_y = (output[:, 0] + output[:, 2]) / 2, (output[:, 1] + output[:, 3]) / 2
        for (index, _), (left, top, right, bottom) in zip(pending, rectangles, strict=True):
            mine = output[(centre_x >= left) & (centre_x < right) & (centre_y >= top) & (centre_y < bottom)]
            corner = torch.tensor([left, top, left, top], dtype=mine.dtype)
            clipped = torch.minimum(mine[:, :4].clamp(min=corner), torch.tensor([right, bottom] * 2)) - corner
            finish(index, torch.cat((clipped, mine[:, 4:]), 1))
        pending.clear()

    bar = progress_bar(total=len(records), desc="annotate age images", unit="img", disable=not show_progress)
    with bar:
        for index, record in enumerate(records):
            pixels, problem = read_rgb_or_reason(record["image_path"])
            if pixels is None:
                rows[index] = {**record, "n_detected": 0, "foss_use": False, "reason": problem}
            elif layout == "grid":
                pending.append((index, pixels))
                if len(pending) == grid * grid:
                    flush_grid()
            else:
                canvas, (left, top) = centred_on_canvas(pixels, image_scale)
                output = detect(canvas)
                output[:, :4] -= torch.tensor([left, top, left, top], dtype=output.dtype)
                finish(index, output)
            bar.update()
        if pending:
            flush_grid()
    table = pd.DataFrame(rows)  # every image has its row once the last grid is flushed
    report = {
        "images": len(table),
        "used": int(table["foss_use"].sum()) if len(table) else 0,
        "excluded_by_reason": table.loc[~table["foss_use"], "reason"]
        .map(
            lambda r: (
                r.split(":")[0] if r.startswith("unreadable") else ("several faces" if "faces" in r else r)
            )
        )
        .value_counts()
        .to_dict()
        if len(table)
        else {},
        "by_split": {
            split: {"images": len(g), "used": int(g["foss_use"].sum())} for split, g in table.groupby("split")
        }
        if len(table)
        else {},
    }
    return table, report


def annotated_records(annotations: pd.DataFrame, split: str) -> list[FaceRecord]:
    """Single-face records of one split from the annotation table (the detector's box, the dataset's age)."""
    part = annotations[(annotations["split"] == split) & annotations["foss_use"]]
    return [
        FaceRecord(
            str(r.image_path),
            ((r.foss_box_x0, r.foss_box_y0, r.foss_box_x1, r.foss_box_y1),),
            (float(r.age),),
            (GENDER_CODES.get(r.gender, -1),),
        )
        for r in part.itertuples()
    ]


# -- 3. the whole model ----------------------------------------------------------------------------------
def _foss_loss(output, targets, weights: FossLossWeights) -> torch.Tensor:
    return foss_loss(output, targets, weights)[0]


def _largest_face_age(model: FossNet, images: torch.Tensor, threshold: float, k: int) -> torch.Tensor:
    """Validation prediction: the age of the largest face above ``threshold`` (else the most confident)."""
    output = model(images, k)
    ages, _ = age_moments(output.age_logits)
    boxes = output.boxes
    areas = (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)
    areas = torch.where(output.scores >= threshold, areas, -1.0 + output.scores)
    return ages.gather(1, areas.argmax(1, keepdim=True)).squeeze(1)


def known_age_mae(predictions: np.ndarray, targets: np.ndarray) -> float:
    """The mean absolute error over the targets with an age (NaN: none); NaN where none has one."""
    known = np.isfinite(targets)
    return float(np.abs(predictions[known] - targets[known]).mean()) if known.any() else float("nan")


def train_multi_person_model(
    detector: CenterNetFaceDetector,
    age_sources: Sequence[Source],
    detection_source: Source | None,
    val_records: Sequence[FaceRecord],
    model_config: FossModelConfig,
    data_config: DataConfig,
    config: FossTrainingConfig,
    *,
    checkpoint_dir: str | Path | None = None,
    fingerprint: dict[str, Any] | None = None,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    show_progress: bool = True,
    age_network_state: dict[str, torch.Tensor] | None = None,
) -> tuple[FossNet, FitResult]:
    """The joined stage; ``age_network_state``: a pre-trained
    :class:`~agelab.models.foss.FaceCropAgeNetwork`'s weights to start the age sub-network from
    (:meth:`~agelab.models.foss.FossNet.start_from_age_network`)."""
    seed_everything(config.engine.seed)
    # §4.2: the detection sub-network always starts from the trained detector (also over pretrained_weights)
    model = dataclasses.replace(model_config, detector_backbone_weights=None).build()
    model.detector.load_state_dict(detector.state_dict())
    if age_network_state is not None:
        model.start_from_age_network(age_network_state)
    model.freeze_detector(not config.end_to_end)
    sources = list(age_sources) + (
        [detection_source] if detection_source and detection_source.records else []
    )
    scale = config.single_face_scale or 1.0
    train_set = _image_set(sources, model_config, data_config, True, config.engine.seed, scale)
    # the validation images are an age set too: alone, at the scale a training image alone has
    val_set = _image_set([Source("val", val_records, tiled=True)], model_config, data_config, False, 0, scale)
    weights = dataclasses.replace(config.loss, detection=config.end_to_end)
    result = fit(
        _TopK(model, config.train_k),
        partial(_foss_loss, weights=weights),
        partial(_largest_face_age_of, threshold=model_config.score_threshold, k=model_config.top_k),
        known_age_mae,
        train_set,
        val_set,
        dataclasses.replace(config.engine, alternate_age_groups=False),
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
        make_optimizer=_trainable_adam,
        on_epoch_start=train_set.set_epoch,
        on_epoch_end=on_epoch_end,
        show_progress=show_progress,
        target_key="age",
    )
    return model, result


class _TopK(nn.Module):
    """The model with the training K (9 with tiling) as its default number of crops."""

    def __init__(self, model: FossNet, k: int) -> None:
        super().__init__()
        self.model = model
        self.k = k

    def forward(self, images: torch.Tensor):
        return self.model(images, self.k)


def _largest_face_age_of(wrapper: _TopK, images: torch.Tensor, threshold: float, k: int) -> torch.Tensor:
    return _largest_face_age(wrapper.model, images, threshold, k)


def _trainable_adam(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    return adam(params, lr=config.learning_rate, weight_decay=config.weight_decay)


__all__ = [
    "DataConfig",
    "FossModelConfig",
    "FossTrainingConfig",
    "annotate_single_face_images",
    "annotated_records",
    "estimate_faces",
    "records_from_index",
    "train_face_detector",
    "train_multi_person_model",
]
