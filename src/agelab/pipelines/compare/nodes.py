"""Thin nodes of the compare pipeline (Savov et al. §5) over :mod:`agelab.experiments` and
:mod:`agelab.evaluation`. Each training run trains through the library's training function of its model
(:mod:`agelab.experiments.variant_runs`), in a child MLflow run of the pipeline's run, kept and reused by
:mod:`agelab.experiments.run_store`; §5.3's extremeness groups are
:mod:`agelab.experiments.extremeness_groups`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from agelab.config import from_mapping
from agelab.experiments.extremeness_groups import (
    cross_dataset_group_analysis,
    extremeness_group_analysis,
    face_extremeness,
)
from agelab.experiments.grid import Variant, compare_config
from agelab.experiments.report import comparison_report, headline_metrics
from agelab.experiments.tables import comparison_tables, cross_dataset_table, per_model_errors
from agelab.experiments.variant_runs import (
    checked_run_parameters,
    cross_dataset_predictions,
    evaluate_run,
    train_run,
)
from agelab.models.bundle import ModelBundle
from agelab.preprocessing.cross_dataset import cross_dataset_parameters
from agelab.preprocessing.face_cache import FaceCache
from agelab.training.engine import TrainConfig
from agelab.training.reconstruction_data import split_with_landmarks

logger = logging.getLogger(__name__)


def check_runs(
    compare_params: dict[str, Any], *model_params: dict[str, Any], models: tuple[str, ...], variants: tuple
) -> dict[str, dict]:
    """Every run's parameters (``{run name: parameters}``), each built and checked by its model's parser
    (:func:`~agelab.experiments.variant_runs.checked_run_parameters`) before the first run trains, so a typo
    in the last run's settings does not surface hours into the comparison. ``model_params`` are the models'
    parameters in ``models`` order."""
    config = compare_config(compare_params)
    by_model = dict(zip(models, model_params, strict=True))
    return {v.name: checked_run_parameters(by_model[v.model], config, v) for v in variants}


def run_parameters_of(checked_runs: dict[str, dict], *, variant: Variant) -> dict:
    """This run's checked parameters."""
    return checked_runs[variant.name]


def train_variant(
    model_input: pd.DataFrame,
    recon3d: ModelBundle,
    checkpoints: Path,
    run_params: dict[str, Any],
    compare_params: dict[str, Any],
    data_params: dict[str, Any],
    recon3d_params: dict[str, Any],
    *,
    variant: Variant,
) -> ModelBundle:
    """Train one run in a child MLflow run (:func:`~agelab.experiments.variant_runs.train_run`); a re-run
    with the same settings reuses its finished model."""
    config = compare_config(compare_params)
    return train_run(
        variant, model_input, recon3d, checkpoints, run_params, config, data_params, recon3d_params
    )


def evaluate_variant(
    bundle: ModelBundle, model_input: pd.DataFrame, run_params: dict[str, Any], *, variant: Variant
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Test-split predictions and the run's summary (test MAE at the best validation epoch)."""
    return evaluate_run(variant, bundle, model_input, run_params)


def tabulate_runs(
    compare_params: dict[str, Any], *summaries: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run summaries, Table 4 (mean ± std over seeds, test vs the reference), all pairwise tests, and the
    sweep tables (Tables 2, 3) in one frame with a ``sweep`` column."""
    runs, table4, pairs, sweeps = comparison_tables(summaries, compare_config(compare_params))
    logger.info(
        "compare: %s", "; ".join(f"{r.model} {r.mae_mean:.2f}±{r.mae_std:.2f}" for r in table4.itertuples())
    )
    return runs, table4, pairs, sweeps


def predict_extremeness(
    recon3d: ModelBundle, model_input: pd.DataFrame, recon3d_params: dict[str, Any]
) -> pd.DataFrame:
    """Per test face: pose and expression extremeness from the 3D subnet's ω and δ (§5.3), and from the
    rendering ground truth where the faces have one (the synthetic set)."""
    faces = split_with_landmarks(model_input, "test")
    training = from_mapping(TrainConfig, recon3d_params.get("training"), where="recon3d.training")
    return face_extremeness(recon3d, faces, training)


def analyse_groups(
    extremeness: pd.DataFrame,
    compare_params: dict[str, Any],
    face_cache: FaceCache,
    *predictions: pd.DataFrame,
    n_reference: int,
) -> tuple[pd.DataFrame, dict[str, Any], Figure, Figure, Figure, Figure, Figure]:
    """§5.3: per extremeness metric (and source: predicted, truth), equally sized groups with the mean
    difference of per-image errors; the overall paired test; Figs. 3a/3b, 4a/4b and 5. ``predictions``: the
    reference's ``n_reference`` runs, then the joint model's."""
    config = compare_config(compare_params)
    g = config.groups
    groups, overall, figures = extremeness_group_analysis(
        extremeness,
        predictions[:n_reference],
        predictions[n_reference:],
        g,
        seeds=config.seeds,
        load_crop=face_cache.load_crop,
    )
    logger.info(
        "compare: %s − %s on %d test faces: %+.2f MAE (paired t p=%.3g)",
        g.model,
        g.reference,
        overall["images"],
        overall["mean_difference"],
        overall["p_value"],
    )
    return (groups, overall, *figures)


def analyse_cross_groups(
    extremeness: pd.DataFrame, predictions: pd.DataFrame, compare_params: dict[str, Any], *, name: str
) -> tuple[pd.DataFrame, Figure, Figure]:
    """§5.3's pose and expression groups on a cross-dataset set, never trained on (e.g. FG-NET): does the
    joint model's gain over the reference grow with extremeness on faces from another source?"""
    return cross_dataset_group_analysis(
        extremeness, predictions, compare_config(compare_params).groups, name=name
    )


def cross_data_parameters(data_params: dict[str, Any], compare_params: dict[str, Any], *, name: str) -> dict:
    """``data`` parameters of one cross-dataset evaluation set (:func:`cross_dataset_parameters`)."""
    config = compare_config(compare_params)
    return cross_dataset_parameters(
        data_params, config.cross_datasets[name], where=f"compare.cross_datasets.{name}"
    )


def evaluate_cross_dataset(
    test_faces: pd.DataFrame, compare_params: dict[str, Any], *bundles: ModelBundle, variants: tuple[str, ...]
) -> pd.DataFrame:
    """Per-image predictions of every cross-model run on one cross-dataset set (long format)."""
    return cross_dataset_predictions(test_faces, dict(zip(variants, bundles, strict=True)))


def tabulate_cross_datasets(
    compare_params: dict[str, Any], *predictions: pd.DataFrame, names: tuple[str, ...]
) -> pd.DataFrame:
    """Table 5: MAE per model and cross-dataset set, with the paired test of model vs reference."""
    g = compare_config(compare_params).groups
    errors = {name: per_model_errors(frame) for name, frame in zip(names, predictions, strict=True)}
    return cross_dataset_table(errors, g.reference, g.model)


def write_report(
    compare_params: dict[str, Any],
    runs: pd.DataFrame,
    table4: pd.DataFrame,
    pairs: pd.DataFrame,
    sweeps: pd.DataFrame,
    groups: pd.DataFrame,
    overall: dict[str, Any],
    table5: pd.DataFrame,
    *cross_groups: pd.DataFrame,
    cross_names: tuple[str, ...] = (),
) -> tuple[str, dict[str, dict[str, float]]]:
    """The Markdown report laid out like the paper's §5, and its headline numbers as MLflow metrics.
    ``cross_groups``: §5.3's group tables of the cross-dataset sets ``cross_names``, in that order."""
    config = compare_config(compare_params)
    report = comparison_report(
        config,
        runs,
        table4,
        pairs,
        sweeps,
        groups,
        overall,
        table5,
        cross_groups=dict(zip(cross_names, cross_groups, strict=True)),
    )
    return report, headline_metrics(config, table4, overall, table5)
