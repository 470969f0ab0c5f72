"""Thin nodes of the compare pipeline (Savov et al. §5) over :mod:`agelab.experiments` and
:mod:`agelab.evaluation`. Each training run trains through the library's training function of its model
(:mod:`agelab.training.appearance_training`, :mod:`~agelab.training.multitask_training`), in a child MLflow
run of the pipeline's run, kept and reused by :mod:`agelab.experiments.run_store`."""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from agelab.config import ConfigError, from_mapping
from agelab.evaluation.age_predictions import predict_test_ages
from agelab.evaluation.comparison_plots import group_bars, group_samples, improved_examples
from agelab.evaluation.extremeness import (
    equal_groups,
    expression_extremeness,
    group_differences,
    pose_extremeness,
)
from agelab.evaluation.reconstruction_predictions import predict_codes, rendering_truth
from agelab.evaluation.significance import compare_paired
from agelab.experiments.grid import Variant, compare_config, get_dotted, run_parameters
from agelab.experiments.report import comparison_report
from agelab.experiments.run_store import finished_or_trained, write_recon3d_backbone
from agelab.experiments.tables import (
    SWEEP_COLUMNS,
    cross_dataset_table,
    pairwise_tests,
    per_image_errors,
    per_seed_paired_tests,
    repeated_runs_table,
    summaries_frame,
    sweep_table,
)
from agelab.experiments.tracking import child_run, log_params
from agelab.models.bundle import ModelBundle
from agelab.morphable.model import MorphableParams
from agelab.preprocessing.cross_dataset import cross_dataset_parameters
from agelab.preprocessing.face_cache import FaceCache
from agelab.training.appearance_training import (
    AppearanceConfig,
    evaluate_appearance_subnet,
    train_appearance_subnet,
)
from agelab.training.checkpoints import run_fingerprint, state_digest
from agelab.training.engine import TrainConfig
from agelab.training.multitask_training import (
    MultiTaskConfig,
    evaluate_multitask_model,
    train_multitask_model,
)
from agelab.training.reconstruction_data import split_with_landmarks

logger = logging.getLogger(__name__)


def variant_parameters(
    model_params: dict[str, Any], compare_params: dict[str, Any], *, variant: Variant
) -> dict:
    """The model's parameters for this run (``compare.overrides``, the sweep value, the seed), checked by
    the model's own configuration parser so a misspelt key stops the comparison before any training."""
    params = run_parameters(model_params, compare_config(compare_params), variant)
    where = f"{variant.model} parameters of compare run {variant.name}"
    if variant.model == "appearance":
        from_mapping(AppearanceConfig, params, where=where)
    else:
        from_mapping(MultiTaskConfig, params, where=where)
    return params


def check_runs(
    compare_params: dict[str, Any], *model_params: dict[str, Any], models: tuple[str, ...], variants: tuple
) -> dict[str, dict]:
    """Every run's parameters (``{run name: parameters}``), each built and checked by
    :func:`variant_parameters` before the first run trains, so a typo in the last run's settings does not
    surface hours into the comparison. ``model_params`` are the models' parameters in ``models`` order."""
    by_model = dict(zip(models, model_params, strict=True))
    return {v.name: variant_parameters(by_model[v.model], compare_params, variant=v) for v in variants}


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
    """Train one run in a child MLflow run. Per run and settings: epoch checkpoints while it trains (an
    interrupted comparison resumes the last epoch), then only the finished model, which a re-run reuses."""
    config = compare_config(compare_params)
    settings = (run_params, state_digest(recon3d.state_dict), config.appearance_init)
    run_dir = Path(checkpoints) / variant.name / run_fingerprint(model_input, *settings)

    def train(folder: Path) -> ModelBundle:
        params = copy.deepcopy(run_params)
        if variant.model == "appearance" and config.appearance_init == "recon3d":
            params.setdefault("model", {})["pretrained_weights"] = str(
                write_recon3d_backbone(recon3d, folder)
            )
        tags = {
            "agelab.variant": variant.name,
            "agelab.model": variant.model,
            "agelab.seed": str(variant.seed),
        }
        if variant.sweep:
            tags["agelab.sweep"] = variant.sweep
        start = time.perf_counter()
        with child_run(f"compare.{variant.name}", tags=tags) as run_id:
            log_params({"variant": variant.name, variant.model: params})
            if variant.model == "appearance":
                bundle, _ = train_appearance_subnet(model_input, folder, data_params, params)
            else:
                bundle, _ = train_multitask_model(
                    model_input, recon3d, folder, data_params, recon3d_params, params
                )
        bundle.info.update(
            variant=variant.name,
            mlflow_run_id=run_id,
            train_seconds=time.perf_counter() - start,
            appearance_init=config.appearance_init if variant.model == "appearance" else "",
        )
        return bundle

    return finished_or_trained(run_dir, train, name=variant.name, keep_checkpoints=config.keep_checkpoints)


def evaluate_variant(
    bundle: ModelBundle, model_input: pd.DataFrame, run_params: dict[str, Any], *, variant: Variant
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Test-split predictions and the run's summary (test MAE at the best validation epoch)."""
    evaluate = evaluate_appearance_subnet if variant.model == "appearance" else evaluate_multitask_model
    predictions, report, _ = evaluate(bundle, model_input, run_params)
    run_id = bundle.info.get("mlflow_run_id")
    if run_id:
        import mlflow

        with child_run(f"compare.{variant.name}", run_id=run_id):
            mlflow.log_metrics(
                {"test_mae": report["mae"], "test_median_baseline_mae": report["median_baseline_mae"]}
            )
    summary = {
        "variant": variant.name,
        "model": variant.model,
        "seed": variant.seed,
        "sweep": variant.sweep,
        "sweep_value": variant.sweep_value,
        "test_mae": float(report["mae"]),
        "test_median_baseline_mae": float(report["median_baseline_mae"]),
        "best_val_mae": float(bundle.info.get("best_val_mae", np.nan)),
        "best_epoch": int(bundle.info.get("best_epoch", -1)),
        "epochs": int(run_params["training"]["epochs"]),
        "train_seconds": float(bundle.info.get("train_seconds", np.nan)),
        "mlflow_run_id": run_id or "",
        "run_parameters": run_params,
    }
    return predictions, summary


def tabulate_runs(
    compare_params: dict[str, Any], *summaries: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run summaries, Table 4 (mean ± std over seeds, test vs the reference), all pairwise tests, and the
    sweep tables (Tables 2, 3) in one frame with a ``sweep`` column."""
    config = compare_config(compare_params)
    frame = summaries_frame(summaries)
    reference = config.groups.reference
    table4 = repeated_runs_table(frame, config.models, reference)
    pairs = pairwise_tests(frame, config.models)
    reference_mae = float(table4.loc[table4["model"] == reference, "mae_mean"].iloc[0])
    sweeps = []
    for name, sweep in config.sweeps.items():
        points = []
        for value in sweep.values:
            matches = [
                s
                for s in summaries
                if s["model"] == sweep.model
                and s["seed"] == config.sweep_seed
                and get_dotted(s["run_parameters"], sweep.parameter, where=name) == value
            ]
            if not matches:
                raise ConfigError(
                    f"compare.sweeps.{name}: no run of {sweep.model} with {sweep.parameter}={value}"
                )
            points.append((value, sorted(matches, key=lambda s: s["sweep"] != name)[0]["variant"]))
        table = sweep_table(frame, points, reference_mae, sweep.label or sweep.parameter)
        table.insert(0, "sweep", name)
        sweeps.append(table.rename(columns={sweep.label or sweep.parameter: "value"}))
    # With no sweeps the table still has its columns: an empty CSV without a header cannot be read back.
    sweep_results = (
        pd.concat(sweeps, ignore_index=True) if sweeps else pd.DataFrame(columns=list(SWEEP_COLUMNS))
    )
    logger.info(
        "compare: %s", "; ".join(f"{r.model} {r.mae_mean:.2f}±{r.mae_std:.2f}" for r in table4.itertuples())
    )
    return frame.drop(columns=["run_parameters"]), table4, pairs, sweep_results


def predict_extremeness(
    recon3d: ModelBundle, model_input: pd.DataFrame, recon3d_params: dict[str, Any]
) -> pd.DataFrame:
    """Per test face: pose and expression extremeness from the 3D subnet's ω and δ (§5.3), and from the
    rendering ground truth where the faces have one (the synthetic set)."""
    faces = split_with_landmarks(model_input, "test")
    training = from_mapping(TrainConfig, recon3d_params.get("training"), where="recon3d.training")
    z, _ = predict_codes(recon3d, faces, training)
    params = MorphableParams.from_vector(torch.as_tensor(z))
    frame = pd.DataFrame(
        {
            "image_path": faces["image_path"].to_numpy(),
            "crop_path": faces["crop_path"].to_numpy(),
            "pose_predicted": pose_extremeness(params.omega.numpy()),
            "expression_predicted": expression_extremeness(params.delta.numpy()),
        }
    )
    truth = rendering_truth(faces)
    if truth is not None:
        frame["pose_true"] = pose_extremeness(np.stack(truth["omega"].to_numpy()))
        frame["expression_true"] = expression_extremeness(np.stack(truth["delta"].to_numpy()))
    return frame


def analyse_groups(
    extremeness: pd.DataFrame,
    compare_params: dict[str, Any],
    face_cache: FaceCache,
    *predictions: pd.DataFrame,
    n_reference: int,
) -> tuple[pd.DataFrame, dict[str, Any], Figure, Figure, Figure, Figure, Figure]:
    """§5.3: per extremeness metric (and source: predicted, truth), equally sized groups with the mean
    difference of per-image errors; the overall paired test; Figs. 3a/3b, 4a/4b and 5."""
    config = compare_config(compare_params)
    g = config.groups
    faces = _paired_faces(
        extremeness,
        per_image_errors(list(predictions[:n_reference])),
        per_image_errors(list(predictions[n_reference:])),
    )
    overall = compare_paired(faces["absolute_error_ref"], faces["absolute_error_mod"]).to_dict()
    overall.update(images=len(faces), mae_reference=float(faces["absolute_error_ref"].mean()))
    overall["mae_model"] = float(faces["absolute_error_mod"].mean())
    overall["per_seed"] = per_seed_paired_tests(
        predictions[:n_reference], predictions[n_reference:], config.seeds
    )
    groups = _group_tables(faces, g.groups)
    figures = _group_figures(groups, g.reference, g.model)
    for metric in ("pose", "expression"):
        column = f"{metric}_predicted"
        sample = faces.assign(metric=faces[column])
        figures.append(
            group_samples(
                sample,
                equal_groups(faces[column].to_numpy(), g.groups),
                face_cache.load_crop,
                per_group=g.samples_per_group,
                metric=f"{metric} extremeness",
            )
        )
    figures.append(
        improved_examples(
            _most_improved_extremes(faces, g.groups, g.examples),
            face_cache.load_crop,
            reference=g.reference,
            model=g.model,
        )
    )
    logger.info(
        "compare: %s − %s on %d test faces: %+.2f MAE (paired t p=%.3g)",
        g.model,
        g.reference,
        len(faces),
        overall["mean_difference"],
        overall["p_value"],
    )
    return (groups, overall, *figures)


def _paired_faces(extremeness: pd.DataFrame, reference: pd.DataFrame, model: pd.DataFrame) -> pd.DataFrame:
    """One row per face both models predicted: its extremeness, and the reference's (``_ref``) and the
    joint model's (``_mod``) seed-averaged prediction and absolute error."""
    return extremeness.merge(
        reference[["image_path", "true_age", "predicted_age", "absolute_error"]], on="image_path"
    ).merge(
        model[["image_path", "predicted_age", "absolute_error"]], on="image_path", suffixes=("_ref", "_mod")
    )


def _group_tables(faces: pd.DataFrame, n_groups: int) -> pd.DataFrame:
    """§5.3: per extremeness column (``pose_predicted``, ``expression_true``, …) ``n_groups`` equally sized
    groups, least extreme first, with both models' MAE and the paired test of their difference."""
    tables = []
    for column in [c for c in faces.columns if c.startswith(("pose_", "expression_"))]:
        table = group_differences(
            faces[column].to_numpy(), faces["absolute_error_ref"], faces["absolute_error_mod"], n_groups
        )
        metric, source = column.split("_")
        table.insert(0, "source", source)
        table.insert(0, "metric", metric)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _group_figures(groups: pd.DataFrame, reference: str, model: str, where: str = "") -> list[Figure]:
    """Figs. 3b and 4b: both models' MAE per pose and per expression group (the 3D subnet's estimates)."""
    figures = []
    for metric in ("pose", "expression"):
        table = groups[(groups["metric"] == metric) & (groups["source"] == "predicted")]
        figures.append(
            group_bars(table, metric=f"{metric} extremeness{where}", reference=reference, model=model)
        )
    return figures


def analyse_cross_groups(
    extremeness: pd.DataFrame, predictions: pd.DataFrame, compare_params: dict[str, Any], *, name: str
) -> tuple[pd.DataFrame, Figure, Figure]:
    """§5.3's pose and expression groups on a cross-dataset set, never trained on (e.g. FG-NET): does the
    joint model's gain over the reference grow with extremeness on faces from another source? The groups
    come from the 3D subnet's ω and δ on that set's faces; errors are seed-averaged per face."""
    g = compare_config(compare_params).groups
    by_model = {m: [p for _, p in part.groupby("variant")] for m, part in predictions.groupby("model")}
    faces = _paired_faces(
        extremeness, per_image_errors(by_model[g.reference]), per_image_errors(by_model[g.model])
    )
    groups = _group_tables(faces, g.groups)
    pose, expression = _group_figures(groups, g.reference, g.model, where=f" ({name})")
    return groups, pose, expression


def _most_improved_extremes(faces: pd.DataFrame, n_groups: int, n: int) -> pd.DataFrame:
    """Fig. 5: faces in the most extreme pose or expression group, largest error reduction first."""
    extreme = np.zeros(len(faces), bool)
    for column in ("pose_predicted", "expression_predicted"):
        extreme |= equal_groups(faces[column].to_numpy(), n_groups) == n_groups - 1
    chosen = faces[extreme].assign(gain=lambda f: f["absolute_error_ref"] - f["absolute_error_mod"])
    chosen = chosen.sort_values("gain", ascending=False).head(n)
    return pd.DataFrame(
        {
            "crop_path": chosen["crop_path"],
            "true_age": chosen["true_age"],
            "predicted_reference": chosen["predicted_age_ref"],
            "predicted_model": chosen["predicted_age_mod"],
        }
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
    frames = []
    ages = test_faces["age"].to_numpy()
    for name, bundle in zip(variants, bundles, strict=True):
        predictions, report = predict_test_ages(bundle, test_faces, ages, TrainConfig())
        logger.info("compare: %s on %d cross-dataset faces: MAE %.2f", name, len(test_faces), report["mae"])
        frames.append(predictions.assign(variant=name, model=name.rsplit("_seed", 1)[0]))
    return pd.concat(frames, ignore_index=True)


def tabulate_cross_datasets(
    compare_params: dict[str, Any], *predictions: pd.DataFrame, names: tuple[str, ...]
):
    """Table 5: MAE per model and cross-dataset set, with the paired test of model vs reference."""
    config = compare_config(compare_params)
    g = config.groups
    errors = {}
    for name, frame in zip(names, predictions, strict=True):
        by_model = {m: [p for _, p in part.groupby("variant")] for m, part in frame.groupby("model")}
        errors[name] = {m: per_image_errors(runs) for m, runs in by_model.items()}
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
    metrics = {}
    for row in table4.itertuples():
        metrics[f"compare.{row.model}.mae_mean"] = row.mae_mean
        if np.isfinite(row.mae_std):
            metrics[f"compare.{row.model}.mae_std"] = row.mae_std
        p = getattr(row, "p_value", np.nan)
        if np.isfinite(p):
            metrics[f"compare.{row.model}.p_vs_{config.groups.reference}"] = p
    metrics["compare.paired_test_p"] = overall["p_value"]
    metrics["compare.paired_mae_difference"] = overall["mean_difference"]
    for row in table5.itertuples():
        metrics[f"compare.cross.{row.dataset}.difference"] = row.difference
        metrics[f"compare.cross.{row.dataset}.paired_t_p"] = row.paired_t_p
    return report, {k: {"value": float(v), "step": 0} for k, v in metrics.items() if np.isfinite(v)}
