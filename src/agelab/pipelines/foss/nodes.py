"""Thin nodes over :mod:`agelab.synthetic.scenes`, :mod:`agelab.training.foss_stages` and
:mod:`agelab.evaluation.foss_evaluation` (FOSS, Yoshimura & Ogata); the configuration is
:mod:`agelab.training.foss_config`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from agelab.config import ConfigError
from agelab.datasets.face_source_dataset import FaceSource
from agelab.detection.holdout import split_if_unsplit
from agelab.evaluation.foss_evaluation import (
    evaluate_foss_baselines,
    evaluate_foss_model,
    group_predictions_plot,
)
from agelab.evaluation.foss_report import foss_report_markdown
from agelab.experiments.tracking import log_defaults
from agelab.models.bundle import ModelBundle
from agelab.parallel import resolve_workers
from agelab.readers.schema import to_frame
from agelab.synthetic.scenes import RenderedSceneSets
from agelab.training.foss_config import SYNTHETIC, foss_config
from agelab.training.foss_stages import age_image_annotations, train_detector_bundle, train_foss_bundle


def render_synthetic_scenes(params: dict[str, Any]) -> RenderedSceneSets:
    """Recipe for the embedded multi-face scenes; the catalog renders them when a set selects them."""
    config = foss_config(params)
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
    its real dataset's reader through its lazy catalog handle (as the data pipeline's ``build_face_index``
    does); the read reports say what was skipped and why. A detection set without a val file gets its own
    val and test photos (``foss.holdout``)."""
    config = foss_config(params)
    frames: dict[str, list[pd.DataFrame]] = {"detection": [], "groups": []}
    reports = {}
    for kind, names, prefix in (
        ("detection", config.detection_sets, "detection"),
        ("groups", config.group_sets, "groups"),
    ):
        if not names and kind == "detection":
            raise ConfigError("foss.detection_sets selects no dataset")
        for name in names:
            key = f"{prefix}_{name}"
            if key not in sources:
                known = sorted(k.split("_", 1)[1] for k in sources if k.startswith(prefix))
                raise ConfigError(f"foss.{kind}_sets names {name!r}; known: {known}")
            result = sources[key].read(name=name, selected_by=f"foss.{kind}_sets")
            index = split_if_unsplit(result.index, config.holdout) if kind == "detection" else result.index
            frames[kind].append(index)
            reports[f"{kind}:{name}"] = result.report.to_dict()
    detection = pd.concat(frames["detection"], ignore_index=True) if frames["detection"] else to_frame([])
    groups = pd.concat(frames["groups"], ignore_index=True) if frames["groups"] else to_frame([])
    # no group set (`group_sets: []`, e.g. real photos without ages) skips the group-photo protocol
    for name, frame, selected in (("detection", detection, True), ("group", groups, bool(config.group_sets))):
        if selected and frame.empty:
            raise ConfigError(f"the selected {name} sets hold no face; see the read report")
    return detection, groups, reports


def train_detector(
    detection_index: pd.DataFrame, checkpoint_dir: Path, params: dict[str, Any]
) -> tuple[ModelBundle, list]:
    """CenterNet on the detection sets' train split, best epoch by AP@0.5 on their val split. The run's
    MLflow parameters get every FOSS setting the parameters file leaves to its default."""
    config = foss_config(params)
    log_defaults("foss", config, params)
    return train_detector_bundle(detection_index, checkpoint_dir, config)


def annotate_age_images(
    detector: ModelBundle, model_input: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict]:
    """§4.2: the trained detector boxes the single-face age images and excludes ambiguous training images."""
    return age_image_annotations(detector, model_input, foss_config(params))


def train_foss(
    detector: ModelBundle,
    annotations: pd.DataFrame,
    detection_index: pd.DataFrame,
    checkpoint_dir: Path,
    params: dict[str, Any],
) -> tuple[ModelBundle, list]:
    """The whole FOSS model from the trained detector, tiling augmentation, detection images mixed in."""
    return train_foss_bundle(detector, annotations, detection_index, checkpoint_dir, foss_config(params))


def evaluate_foss(
    bundle: ModelBundle,
    detection_index: pd.DataFrame,
    group_index: pd.DataFrame,
    annotations: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    """Detector AP@0.5 and recall, the Images of Groups protocol and the single-face MAE
    (:func:`~agelab.evaluation.foss_evaluation.evaluate_foss_model`)."""
    return evaluate_foss_model(bundle, detection_index, group_index, annotations, foss_config(params))


def evaluate_baselines(
    detection_index: pd.DataFrame,
    group_index: pd.DataFrame,
    annotations: pd.DataFrame,
    model_input: pd.DataFrame,
    appearance: ModelBundle | None,
    params: dict[str, Any],
) -> dict:
    """dlib's detector, the majority age group, and dlib + the appearance subnet when
    ``kedro run --pipelines=appearance`` has trained one."""
    config = foss_config(params)
    return evaluate_foss_baselines(detection_index, group_index, annotations, model_input, appearance, config)


def plot_group_predictions(
    bundle: ModelBundle, group_index: pd.DataFrame, detection_index: pd.DataFrame, params: dict[str, Any]
) -> Figure:
    """Fig. 4-style: group photos (else the detection sets' held-out photos) with each detected face's box
    and estimated age."""
    return group_predictions_plot(bundle, group_index, detection_index, foss_config(params))


def write_report(
    report: dict, baselines: dict, annotation: dict, per_group: pd.DataFrame, read_report: dict
) -> str:
    return foss_report_markdown(report, baselines, annotation, per_group, read_report)


def pass_model(bundle: ModelBundle) -> ModelBundle:
    """Hands the trained bundle to the MLflow pyfunc model dataset (a separate output, so logging shows
    in the graph)."""
    return bundle
