"""Thin nodes over :mod:`agelab.readers`, :mod:`agelab.synthetic` and :mod:`agelab.preprocessing`."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from agelab.config import from_mapping
from agelab.datasets.face_source_dataset import FaceSource
from agelab.evaluation.plots import sample_grid
from agelab.parallel import resolve_workers
from agelab.preprocessing.cleaning import CleaningConfig, clean_faces, detection_rates
from agelab.preprocessing.face_cache import AnalysisConfig, FaceCache, analyse_faces
from agelab.preprocessing.splitting import SplitConfig, split_faces
from agelab.readers.schema import FACE_INDEX_COLUMNS
from agelab.synthetic.face_set import FaceSetConfig, RenderedFaceSet

logger = logging.getLogger(__name__)
DATA_KEYS = {"datasets", "strict", "show_progress", "synthetic", "processing", "cleaning", "split", "report"}


def _check_keys(params: dict[str, Any]) -> None:
    from agelab.config import ConfigError

    unknown = sorted(set(params) - DATA_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {unknown} in parameters 'data'; known keys are {sorted(DATA_KEYS)}"
        )


def render_synthetic_face_set(params: dict[str, Any]) -> RenderedFaceSet:
    """Recipe for the embedded synthetic set; the catalog renders it (only if it is selected)."""
    _check_keys(params)
    config = from_mapping(FaceSetConfig, params.get("synthetic"), where="data.synthetic")
    workers = resolve_workers(params.get("processing", {}).get("workers", "auto"))
    return RenderedFaceSet(
        config,
        workers=workers,
        show_progress=params.get("show_progress", True),
        enabled="synthetic" in params.get("datasets", []),
    )


def build_face_index(params: dict[str, Any], **sources: FaceSource) -> tuple[pd.DataFrame, dict]:
    """Read every selected dataset into one face index; return it and the per-dataset read report."""
    _check_keys(params)
    selected = list(params.get("datasets", []))
    unknown = sorted(set(selected) - set(sources))
    if unknown:
        raise ValueError(
            f"data.datasets names {unknown}, which no catalog entry provides; available: {sorted(sources)}"
        )
    frames, reports = [], {}
    for name in selected:
        result = sources[name].read(
            strict=bool(params.get("strict", False)),
            name=name,
            selected_by=f"parameters data.datasets (catalog entry raw_{name})",
        )
        logger.info(
            "read %s: %d faces, %d skipped %s",
            name,
            result.report.rows,
            len(result.report.skipped),
            result.report.skipped_by_reason or "",
        )
        frames.append(result.index)
        reports[name] = result.report.to_dict()
    index = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(FACE_INDEX_COLUMNS))
    return index, reports


def analyse_face_images(
    face_index: pd.DataFrame, face_cache: FaceCache, params: dict[str, Any]
) -> pd.DataFrame:
    config = from_mapping(AnalysisConfig, params.get("processing"), where="data.processing")
    return analyse_faces(
        face_index,
        face_cache,
        config,
        workers=resolve_workers(config.workers),
        show_progress=params.get("show_progress", True),
    )


def clean_face_index(
    face_index: pd.DataFrame, face_analysis: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict]:
    config = from_mapping(CleaningConfig, params.get("cleaning"), where="data.cleaning")
    analysis = face_analysis.drop(columns=["image_path", "face_in_image"])
    faces = pd.concat([face_index.reset_index(drop=True), analysis.reset_index(drop=True)], axis=1)
    kept, report = clean_faces(faces, config)
    report["dlib_detection_rate"] = detection_rates(faces)
    return kept.reset_index(drop=True), report


def split_face_index(clean_faces_: pd.DataFrame, params: dict[str, Any]) -> tuple[pd.DataFrame, dict]:
    config = from_mapping(SplitConfig, params.get("split"), where="data.split")
    return split_faces(clean_faces_, config)


def plot_sample_grid(model_input: pd.DataFrame, face_cache: FaceCache, params: dict[str, Any]) -> Figure:
    report = params.get("report", {})
    return sample_grid(
        model_input,
        face_cache.load_crop,
        rows=report.get("grid_rows", 4),
        cols=report.get("grid_cols", 8),
        seed=report.get("seed", 0),
        title=f"{', '.join(params.get('datasets', []))}: face crops by age",
    )


def summarise_data(read_report: dict, cleaning_report: dict, split_report: dict) -> tuple[dict, dict]:
    """One data report (JSON artifact) and the headline numbers as MLflow metrics."""
    metrics = {
        "faces_read": sum(r["rows"] for r in read_report.values()),
        "faces_skipped_reading": sum(r["skipped"] for r in read_report.values()),
        "faces_kept": cleaning_report["faces_kept"],
        **{f"dropped_{k}": v for k, v in cleaning_report["dropped"].items()},
        **{f"dlib_detection_rate_{k}": v for k, v in cleaning_report["dlib_detection_rate"].items()},
        **{f"faces_{k}": v for k, v in split_report["counts"].items()},
        "test_vs_train_total_variation": split_report["test_vs_train"]["total_variation"],
    }
    report = {"reading": read_report, "cleaning": cleaning_report, "split": split_report}
    return report, {k: {"value": float(v), "step": 0} for k, v in metrics.items()}
