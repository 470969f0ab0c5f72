"""Thin nodes over :mod:`agelab.synthetic.scenes`, :mod:`agelab.training.foss_training` and
:mod:`agelab.evaluation.multi_person` (FOSS, Yoshimura & Ogata)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from agelab.config import ConfigError, from_mapping
from agelab.datasets.face_source_dataset import FaceSource
from agelab.device import resolve_device
from agelab.evaluation.face_predictors import detector_faces, dlib_faces, foss_faces
from agelab.evaluation.multi_person import (
    detection_average_precision,
    detection_truth_from_index,
    evaluate_group_photos,
    largest_face_mae,
)
from agelab.experiments.tracking import EpochLogger
from agelab.models.bundle import ModelBundle
from agelab.parallel import resolve_workers
from agelab.readers.schema import to_frame
from agelab.synthetic.scenes import RenderedSceneSets, SceneSetConfig
from agelab.training.checkpoints import data_digest, file_digest, state_digest, training_fingerprint
from agelab.training.engine import TrainConfig
from agelab.training.foss_data import Source
from agelab.training.foss_training import (
    DataConfig,
    FossModelConfig,
    FossTrainingConfig,
    annotate_single_face_images,
    annotated_records,
    records_from_index,
    train_face_detector,
    train_multi_person_model,
)

logger = logging.getLogger(__name__)

SYNTHETIC = "synthetic_scenes"


@dataclasses.dataclass(frozen=True)
class AnnotationConfig:
    score_threshold: float = 0.2
    k: int = 20
    nms_iou: float | None = 0.5  # duplicates of one face count once (None: raw CenterNet peaks)


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    k: int = 20  # paper: K = 20 age crops at test time
    detection_k: int = 100  # heatmap peaks scored by detection AP (the detector alone; not capped at K)
    nms_iou: float | None = 0.5
    single_face_age_range: tuple[float, float] = (21.0, 60.0)  # UTKFace protocol of Table 5


@dataclasses.dataclass(frozen=True)
class BaselineConfig:
    dlib_upsample: int = 1  # small faces: dlib's HOG window is 80 px without up-sampling
    dlib_min_score: float = -0.5  # below dlib's own 0 threshold, for the precision-recall curve


@dataclasses.dataclass(frozen=True)
class FossConfig:
    """``parameters_foss.yml: foss``."""

    detection_sets: tuple[str, ...] = (SYNTHETIC,)
    group_sets: tuple[str, ...] = (SYNTHETIC,)
    scenes: SceneSetConfig = dataclasses.field(default_factory=SceneSetConfig)
    workers: int | str = "auto"
    model: FossModelConfig = dataclasses.field(default_factory=FossModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    detector_training: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    annotation: AnnotationConfig = dataclasses.field(default_factory=AnnotationConfig)
    training: FossTrainingConfig = dataclasses.field(default_factory=FossTrainingConfig)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig)
    baselines: BaselineConfig = dataclasses.field(default_factory=BaselineConfig)
    show_progress: bool = True


def _config(params: dict[str, Any]) -> FossConfig:
    return from_mapping(FossConfig, params, where="foss")


def render_synthetic_scenes(params: dict[str, Any]) -> RenderedSceneSets:
    """Recipe for the embedded multi-face scenes; the catalog renders them when a set selects them."""
    config = _config(params)
    return RenderedSceneSets(
        config.scenes,
        workers=resolve_workers(config.workers),
        show_progress=config.show_progress,
        enabled=SYNTHETIC in config.detection_sets or SYNTHETIC in config.group_sets,
    )


def read_foss_sets(
    _rendered: pd.DataFrame, params: dict[str, Any], **sources: FaceSource
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The selected detection sets (WIDER FACE format) and group sets (Images of Groups format), each read by
    its real dataset's reader; the read reports say what was skipped and why."""
    config = _config(params)
    frames: dict[str, list[pd.DataFrame]] = {"detection": [], "groups": []}
    reports = {}
    for kind, names, prefix in (
        ("detection", config.detection_sets, "detection"),
        ("groups", config.group_sets, "groups"),
    ):
        if not names:
            raise ConfigError(f"foss.{kind if kind == 'groups' else 'detection'}_sets selects no dataset")
        for name in names:
            key = f"{prefix}_{name}"
            if key not in sources:
                known = sorted(k.split("_", 1)[1] for k in sources if k.startswith(prefix))
                raise ConfigError(f"foss.{kind}_sets names {name!r}; known: {known}")
            result = sources[key].read(name=name, selected_by=f"foss.{kind}_sets")
            frames[kind].append(result.index)
            reports[f"{kind}:{name}"] = result.report.to_dict()
    detection = pd.concat(frames["detection"], ignore_index=True) if frames["detection"] else to_frame([])
    groups = pd.concat(frames["groups"], ignore_index=True) if frames["groups"] else to_frame([])
    for name, frame in (("detection", detection), ("group", groups)):
        if frame.empty:
            raise ConfigError(f"the selected {name} sets hold no face; see the read report")
    return detection, groups, reports


def detector_fingerprint(detection_index: pd.DataFrame, config: FossConfig) -> dict[str, Any]:
    """Checkpoint key of stage 1: the detection faces and everything that changes the detector."""
    columns = ("image_path", "box_x0", "box_y0", "box_y1", "box_x1", "split_hint", "attributes")
    return training_fingerprint(
        data_digest(detection_index, [c for c in columns if c in detection_index]),
        {
            "model": dataclasses.asdict(config.model),
            "images": dataclasses.asdict(config.data),
            "loss": {"size": config.training.loss.size, "offset": config.training.loss.offset},
            "detection_k": config.evaluation.detection_k,
        },
        initial_weights={"detector_backbone": file_digest(config.model.detector_backbone_weights)},
    )


def foss_fingerprint(
    detector: ModelBundle, annotations: pd.DataFrame, detection_index: pd.DataFrame, config: FossConfig
) -> dict[str, Any]:
    """Checkpoint key of stage 3: age images, detection images, the trained detector's weights, the model,
    the image making, the loss and K (the engine adds ``training.engine``)."""
    training = {k: v for k, v in dataclasses.asdict(config.training).items() if k != "engine"}
    return training_fingerprint(
        data_digest(annotations, ("image_path", "split", "age", "foss_use"))
        + data_digest(detection_index, ("image_path", "box_x0", "box_y0", "box_x1", "box_y1", "split_hint")),
        {"model": dataclasses.asdict(config.model), "images": dataclasses.asdict(config.data), **training},
        initial_weights={
            "detector": state_digest(detector.state_dict),
            "age_backbone": file_digest(config.model.age_backbone_weights),
            "foss": file_digest(config.model.pretrained_weights),
        },
    )


def _split(index: pd.DataFrame, split: str) -> pd.DataFrame:
    part = index[index["split_hint"] == split]
    if part.empty:
        raise ConfigError(
            f"the detection sets have no '{split}' images (WIDER FACE: wider_face_{split}_bbx_gt.txt)"
        )
    return part


def _split_records(index: pd.DataFrame, split: str) -> list:
    return records_from_index(_split(index, split))


def _detection_metrics(detection: dict) -> dict[str, float]:
    """The detection figures as flat metric names (``detection_ap50`` is the overall AP@0.5)."""
    metrics = {"detection_ap50": detection["ap"], "detection_recall": detection["recall"]}
    for size, figures in detection["by_size"].items():
        metrics[f"detection_ap50_{size}"] = figures["ap"]
        metrics[f"detection_recall_{size}"] = figures["recall"]
    return metrics


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


def train_detector(
    detection_index: pd.DataFrame, checkpoint_dir: Path, params: dict[str, Any]
) -> tuple[ModelBundle, list]:
    """CenterNet on the detection sets' train split, best epoch by AP@0.5 on their val split."""
    config = _config(params)
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


def annotate_age_images(
    detector: ModelBundle, model_input: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict]:
    """§4.2: the trained detector boxes the single-face age images and excludes ambiguous training images."""
    config = _config(params)
    table, report = annotate_single_face_images(
        detector.build(),
        model_input[["image_path", "dataset", "split", "age", "gender"]],
        score_threshold=config.annotation.score_threshold,
        k=config.annotation.k,
        nms_iou=config.annotation.nms_iou,
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


def train_foss(
    detector: ModelBundle,
    annotations: pd.DataFrame,
    detection_index: pd.DataFrame,
    checkpoint_dir: Path,
    params: dict[str, Any],
) -> tuple[ModelBundle, list]:
    """The whole FOSS model from the trained detector, tiling augmentation, detection images mixed in."""
    config = _config(params)
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
        fingerprint=foss_fingerprint(detector, annotations, detection_index, config),
        on_epoch_end=log,
        show_progress=config.show_progress,
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
    }
    log.replay(result.history, result.resumed_from_epoch)
    return _bundle(model, "foss", kwargs, config, info), result.history


def evaluate_foss(
    bundle: ModelBundle,
    detection_index: pd.DataFrame,
    group_index: pd.DataFrame,
    annotations: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    """Detector AP@0.5 and recall, overall and by face height (val split; WIDER FACE protocol, every one of
    the detector's top ``evaluation.detection_k`` peaks scored), the IoG protocol on the group sets, the
    largest-face MAE on the single-face test split."""
    config = _config(params)
    device = resolve_device(config.training.engine.device)
    model = bundle.build().to(device)
    predict = foss_faces(model, config.evaluation.k, device, config.evaluation.nms_iou)
    threshold = config.model.score_threshold
    progress = config.show_progress
    detection = detection_average_precision(
        detector_faces(model.detector, config.evaluation.detection_k, device, config.evaluation.nms_iou),
        detection_truth_from_index(_split(detection_index, "val")),
        show_progress=progress,
        label="FOSS",
    )
    groups, table, detections = evaluate_group_photos(
        predict, group_index, threshold, show_progress=progress, label="FOSS"
    )
    single = largest_face_mae(
        predict,
        _test_records(annotations),
        threshold,
        tuple(config.evaluation.single_face_age_range),
        show_progress=progress,
        label="FOSS",
    )
    report = {
        "detection": detection,
        "group_photos": groups,
        "single_face_test": single,
        "model": bundle.info,
    }
    metrics = {
        **_detection_metrics(detection),
        "group_age_accuracy": groups["age_group_accuracy"],
        "group_one_off_accuracy": groups["one_off_accuracy"],
        "group_gender_accuracy": groups["gender_accuracy"],
        "single_face_mae": single["mae"],
    }
    logger.info(
        "FOSS: AP@0.5 %.3f (large %.3f, medium %.3f, small %.3f); group photos: age group %.1f %%, "
        "1-off %.1f %%, gender %.1f %%; single-face MAE %.2f",
        detection["ap"],
        *(detection["by_size"][size]["ap"] for size in ("large", "medium", "small")),
        100 * groups["age_group_accuracy"],
        100 * groups["one_off_accuracy"],
        100 * groups["gender_accuracy"],
        single["mae"],
    )
    return (
        detections,
        table.reset_index(names="row"),
        report,
        {k: {"value": float(v), "step": 0} for k, v in metrics.items() if np.isfinite(v)},
    )


def _test_records(annotations: pd.DataFrame) -> list:
    """Single-face test images with their label (the box is the detector's; only the age is compared)."""
    part = annotations[annotations["split"] == "test"]
    from agelab.training.foss_data import GENDER_CODES, FaceRecord

    return [
        FaceRecord(str(r.image_path), (), (float(r.age),), (GENDER_CODES.get(r.gender, -1),))
        for r in part.itertuples()
    ]


def evaluate_baselines(
    detection_index: pd.DataFrame,
    group_index: pd.DataFrame,
    annotations: pd.DataFrame,
    model_input: pd.DataFrame,
    appearance: ModelBundle | None,
    params: dict[str, Any],
) -> dict:
    """Simple baselines beside FOSS: dlib's HOG detector (AP@0.5 overall and by face height, the same
    protocol as FOSS), the majority age group of the training
    images, and dlib + the appearance subnet when ``kedro run --pipelines=appearance`` has trained one."""
    config = _config(params)
    b = config.baselines
    progress = config.show_progress
    threshold = 0.0  # dlib's own decision threshold
    dlib_only = dlib_faces(b.dlib_upsample, b.dlib_min_score)
    report: dict[str, Any] = {
        "dlib_detection": detection_average_precision(
            dlib_only,
            detection_truth_from_index(_split(detection_index, "val")),
            show_progress=progress,
            label="dlib",
        )
    }
    train_ages = model_input.loc[model_input["split"] == "train", "age"].to_numpy()
    from agelab.evaluation.age_groups import GROUP_LABELS, age_group_index

    majority = int(np.bincount(age_group_index(train_ages), minlength=len(GROUP_LABELS)).argmax())
    truth = age_group_index(group_index["age"].to_numpy())
    report["majority_group"] = {
        "group": GROUP_LABELS[majority],
        "age_group_accuracy": float((truth == majority).mean()) if len(truth) else float("nan"),
        "one_off_accuracy": float((np.abs(truth - majority) <= 1).mean()) if len(truth) else float("nan"),
    }
    if appearance is None:
        report["dlib_appearance"] = {
            "skipped": "no appearance model: run `kedro run --pipelines=appearance` first"
        }
        return report
    device = resolve_device(config.training.engine.device)
    with_ages = dlib_faces(b.dlib_upsample, b.dlib_min_score, appearance, device)
    groups, table, _ = evaluate_group_photos(
        with_ages, group_index, threshold, show_progress=progress, label="dlib+appearance"
    )
    single = largest_face_mae(
        with_ages,
        _test_records(annotations),
        threshold,
        tuple(config.evaluation.single_face_age_range),
        show_progress=progress,
        label="dlib+appearance",
    )
    report["dlib_appearance"] = {
        "group_photos": groups,
        "per_group": table.to_dict(),
        "single_face_test": single,
    }
    return report


def plot_group_predictions(bundle: ModelBundle, group_index: pd.DataFrame, params: dict[str, Any]) -> Figure:
    """Fig. 4-style: group photos with each detected face's box and estimated age."""
    from agelab.evaluation.plots import group_predictions_figure

    config = _config(params)
    model = bundle.build()
    predict = foss_faces(model, config.evaluation.k, nms_iou=config.evaluation.nms_iou)
    paths = sorted(group_index["image_path"].unique())[:6]
    return group_predictions_figure(paths, predict, config.model.score_threshold)


def write_report(
    report: dict, baselines: dict, annotation: dict, per_group: pd.DataFrame, read_report: dict
) -> str:
    from agelab.evaluation.foss_report import foss_report_markdown

    return foss_report_markdown(report, baselines, annotation, per_group, read_report)


def pass_model(bundle: ModelBundle) -> ModelBundle:
    """Hands the trained bundle to the MLflow pyfunc model dataset (a separate output, so logging shows
    in the graph)."""
    return bundle
