"""FOSS's three stages (Yoshimura & Ogata §3.3, §4.2) from the pipeline's tables to model bundles: each takes
the face-index frames and a :class:`~agelab.training.foss_config.FossConfig`, keys its checkpoints on
everything that changes what it learns, runs the record-level stage of :mod:`agelab.training.foss_training`
and packs the result as a :class:`~agelab.models.bundle.ModelBundle` with its epoch history.

1. :func:`train_detector_bundle` — CenterNet on the detection sets' train split, best epoch by AP@0.5 on val;
2. :func:`age_image_annotations` — that detector boxes the single-face age images (§4.2);
3. :func:`train_foss_bundle` — where ``foss.age_pretraining`` asks, the age sub-network first on the annotated
   single-face crops alone (:mod:`agelab.training.foss_age_pretraining`); then the whole FOSS model from the
   trained detector, tiling augmentation, the detection images mixed in, best epoch by the largest face's
   validation MAE.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from agelab.config import ConfigError
from agelab.device import resolve_device
from agelab.experiments.tracking import EpochLogger
from agelab.models.bundle import ModelBundle
from agelab.training.checkpoints import data_digest, file_digest, state_digest, training_fingerprint
from agelab.training.engine import seed_everything
from agelab.training.foss_age_pretraining import pretrain_age_network
from agelab.training.foss_config import FossConfig
from agelab.training.foss_data import FaceRecord, Source
from agelab.training.foss_training import (
    annotate_single_face_images,
    annotated_records,
    detection_split,
    records_from_index,
    train_face_detector,
    train_multi_person_model,
)

logger = logging.getLogger(__name__)


def detector_fingerprint(detection_index: pd.DataFrame, config: FossConfig) -> dict[str, Any]:
    """Checkpoint key of stage 1: the detection faces and everything that changes the detector."""
    columns = ("image_path", "box_x0", "box_y0", "box_y1", "box_x1", "split_hint", "attributes")
    return training_fingerprint(
        data_digest(detection_index, [c for c in columns if c in detection_index]),
        {
            # project_feature is the age network's side (and came later: left out, earlier keys still hold)
            "model": {k: v for k, v in dataclasses.asdict(config.model).items() if k != "project_feature"},
            "images": dataclasses.asdict(config.data),
            "loss": {"size": config.training.loss.size, "offset": config.training.loss.offset},
            "detection_k": config.evaluation.detection_k,
        },
        initial_weights={"detector_backbone": file_digest(config.model.detector_backbone_weights)},
    )


def age_pretraining_fingerprint(annotations: pd.DataFrame, config: FossConfig) -> dict[str, Any]:
    """Checkpoint key of the age pre-training: the annotated age images, the model, the crops' augmentation
    and the loss (the engine adds ``age_pretraining.engine``)."""
    return training_fingerprint(
        data_digest(annotations, ("image_path", "split", "age", "gender", "foss_use", *_BOX_COLUMNS)),
        {
            "model": dataclasses.asdict(config.model),
            "crops": {k: v for k, v in dataclasses.asdict(config.age_pretraining).items() if k != "engine"},
            "colour": {k: getattr(config.data.augmentation, k) for k in _COLOUR_JITTER},
            "loss": {k: getattr(config.training.loss, k) for k in _ATTRIBUTE_LOSS_WEIGHTS},
        },
        initial_weights={
            "age_backbone": file_digest(config.model.age_backbone_weights),
            "foss": file_digest(config.model.pretrained_weights),
        },
    )


def foss_fingerprint(
    detector: ModelBundle,
    annotations: pd.DataFrame,
    detection_index: pd.DataFrame,
    config: FossConfig,
    age_network_state: dict[str, torch.Tensor] | None = None,
) -> dict[str, Any]:
    """Checkpoint key of stage 3: age images, detection images, the trained detector's weights (and the
    pre-trained age network's), the model, the image making, the loss and K (the engine adds
    ``training.engine``)."""
    training = {k: v for k, v in dataclasses.asdict(config.training).items() if k != "engine"}
    pretrained = {"age_network": state_digest(age_network_state)} if age_network_state is not None else {}
    return training_fingerprint(
        data_digest(annotations, ("image_path", "split", "age", "foss_use"))
        + data_digest(detection_index, ("image_path", "box_x0", "box_y0", "box_x1", "box_y1", "split_hint")),
        {"model": dataclasses.asdict(config.model), "images": dataclasses.asdict(config.data), **training},
        initial_weights={
            "detector": state_digest(detector.state_dict),
            "age_backbone": file_digest(config.model.age_backbone_weights),
            "foss": file_digest(config.model.pretrained_weights),
            **pretrained,
        },
    )


_ATTRIBUTE_LOSS_WEIGHTS = ("mean", "variance", "cross_entropy", "gender")  # what face_attribute_loss reads
_COLOUR_JITTER = ("brightness", "contrast", "saturation")  # what the crops' jitter_colour reads
_BOX_COLUMNS = ("foss_box_x0", "foss_box_y0", "foss_box_x1", "foss_box_y1")


def _split_records(index: pd.DataFrame, split: str) -> list[FaceRecord]:
    return records_from_index(detection_split(index, split))


def _bundle(
    model: torch.nn.Module, architecture: str, kwargs: dict, config: FossConfig, info: dict
) -> ModelBundle:
    return ModelBundle(
        architecture=architecture,
        kwargs=kwargs,
        state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
        crop_size=config.model.crop_height,
        crop_margin=0.2,
        image_size=config.model.detector_input,
        info=info,
    )


def train_detector_bundle(
    detection_index: pd.DataFrame, checkpoint_dir: Path, config: FossConfig
) -> tuple[ModelBundle, list]:
    """Stage 1: CenterNet on the detection sets' train split, best epoch by AP@0.5 on their val split
    (checkpoints under ``checkpoint_dir/detector``)."""
    log = EpochLogger("foss_detector", "val_one_minus_ap50")
    detector, result = train_face_detector(
        _split_records(detection_index, "train"),
        _split_records(detection_index, "val"),
        config.model,
        config.data,
        config.detector_training,
        config.training.loss,
        detection_k=config.evaluation.detection_k,
        checkpoint_dir=Path(checkpoint_dir) / "detector",
        fingerprint=detector_fingerprint(detection_index, config),
        on_epoch_end=log,
        show_progress=config.show_progress,
    )
    kwargs = {
        "width": config.model.detector_width,
        "head_conv": config.model.head_conv,
        "deformable": config.model.deformable,
        "input_size": config.model.detector_input,
    }
    info = {"best_epoch": result.best_epoch, "best_val_ap": 1 - result.best_metric}
    logger.info(
        "face detector: best validation AP@0.5 %.3f (epoch %d)", 1 - result.best_metric, result.best_epoch
    )
    log.replay(result.history, result.resumed_from_epoch)
    return _bundle(detector, "centernet_face_detector", kwargs, config, info), result.history


def age_image_annotations(
    detector: ModelBundle, model_input: pd.DataFrame, config: FossConfig
) -> tuple[pd.DataFrame, dict]:
    """Stage 2 (§4.2): the trained detector boxes the single-face age images and excludes ambiguous training
    images; returns the annotation table and its report."""
    table, report = annotate_single_face_images(
        detector.build(),
        model_input[["image_path", "dataset", "split", "age", "gender"]],
        score_threshold=config.annotation.score_threshold,
        k=config.annotation.k,
        nms_iou=config.annotation.nms_iou,
        image_scale=config.annotation.image_scale,
        layout=config.annotation.layout,
        device=config.detector_training.device,
        show_progress=config.show_progress,
    )
    logger.info(
        "annotation: %d of %d age images used; excluded %s",
        report["used"],
        report["images"],
        report["excluded_by_reason"],
    )
    return table, report


def train_foss_bundle(
    detector: ModelBundle,
    annotations: pd.DataFrame,
    detection_index: pd.DataFrame,
    checkpoint_dir: Path,
    config: FossConfig,
) -> tuple[ModelBundle, list]:
    """Stage 3: the whole FOSS model from the trained detector, tiling augmentation on each age dataset, the
    detection images mixed in (checkpoints under ``checkpoint_dir/foss``)."""
    if config.training.single_face_scale is None:  # the annotation's scale
        training = dataclasses.replace(config.training, single_face_scale=config.annotation.image_scale)
        config = dataclasses.replace(config, training=training)
    age_sources = [
        Source(str(name), annotated_records(part, "train"), tiled=True)
        for name, part in annotations.groupby("dataset")
    ]
    age_sources = [s for s in age_sources if s.records]
    if not age_sources:
        raise ConfigError("no single-face training image survived the annotation; see foss_annotation_report")
    val_records = annotated_records(annotations, "val")
    if not val_records:
        raise ConfigError("no single-face validation image survived the annotation")
    detection_source = Source("detection", _split_records(detection_index, "train"), tiled=False)
    age_network_state, pretraining = None, {}
    if config.age_pretraining.enabled:
        age_network_state, pretraining = _pretrained_age_network(annotations, checkpoint_dir, config)
    log = EpochLogger("foss", "val_mae")
    model, result = train_multi_person_model(
        detector.build(),
        age_sources,
        detection_source,
        val_records,
        config.model,
        config.data,
        config.training,
        checkpoint_dir=Path(checkpoint_dir) / "foss",
        fingerprint=foss_fingerprint(detector, annotations, detection_index, config, age_network_state),
        on_epoch_end=log,
        show_progress=config.show_progress,
        age_network_state=age_network_state,
    )
    kwargs = {
        **dataclasses.asdict(config.model),
        # the weights are in the bundle: building it must not read the initial-weight files again
        "detector_backbone_weights": None,
        "age_backbone_weights": None,
        "pretrained_weights": None,
    }
    info = {
        "best_epoch": result.best_epoch,
        "best_val_mae": result.best_metric,
        "end_to_end": config.training.end_to_end,
        "datasets": sorted(annotations["dataset"].unique().tolist()),
        "detection_sets": list(config.detection_sets),
        "device": str(resolve_device(config.training.engine.device)),
        **pretraining,
    }
    log.replay(result.history, result.resumed_from_epoch)
    return _bundle(model, "foss", kwargs, config, info), result.history


def _pretrained_age_network(
    annotations: pd.DataFrame, checkpoint_dir: Path, config: FossConfig
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The age sub-network trained on the annotated single-face crops (checkpoints under
    ``checkpoint_dir/foss_age``): its weights and what the bundle's info records of it."""
    seed_everything(config.age_pretraining.engine.seed)  # the initial weights, as every stage's
    network = config.model.build().age_network()
    log = EpochLogger("foss_age_pretraining", "val_mae")
    result = pretrain_age_network(
        network,
        annotated_records(annotations, "train"),
        annotated_records(annotations, "val"),
        (config.model.crop_height, config.model.crop_width),
        config.age_pretraining,
        config.training.loss,
        config.data.augmentation,
        checkpoint_dir=Path(checkpoint_dir) / "foss_age",
        fingerprint=age_pretraining_fingerprint(annotations, config),
        on_epoch_end=log,
        show_progress=config.show_progress,
    )
    log.replay(result.history, result.resumed_from_epoch)
    logger.info(
        "age pre-training on face crops: best validation MAE %.2f (epoch %d)",
        result.best_metric,
        result.best_epoch,
    )
    state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
    info = {
        "age_pretraining_best_epoch": result.best_epoch,
        "age_pretraining_best_val_mae": result.best_metric,
    }
    return state, info
