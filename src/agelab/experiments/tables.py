"""The paper's result tables from run summaries and per-image errors (Savov et al. Tables 2–5).

A *run summary* is one dict per training run: ``variant, model, seed, sweep, sweep_value, test_mae,
test_median_baseline_mae, best_val_mae, best_epoch, mlflow_run_id, train_seconds`` (the median baseline
predicts the training split's median age for every test face). Per-image errors of a model are the absolute
errors averaged over its seeded runs, so a paired test compares the models, not two particular seeds.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from agelab.config import ConfigError
from agelab.evaluation.significance import Comparison, compare_paired, compare_runs, format_p_value
from agelab.experiments.grid import CompareConfig, get_dotted

MODEL_TITLES = {
    "appearance": "Appearance subnet (standalone)",
    "hps": "HPS (appearance + 3D reconstruction subnets)",
    "sps": "SPS (appearance + 3D reconstruction subnets)",
}


def summaries_frame(summaries: Iterable[Mapping]) -> pd.DataFrame:
    frame = pd.DataFrame(list(summaries))
    if frame.empty:
        raise ValueError("no run summaries to tabulate")
    return frame


def repeated_runs_table(
    summaries: pd.DataFrame, models: Sequence[str], reference: str = "appearance"
) -> pd.DataFrame:
    """Table 4: mean ± std (ddof 1) of the best-epoch test MAE over the seeded runs of each model, with
    the test against the reference model's runs (see :func:`compare_runs`)."""
    runs = summaries[summaries["sweep"].fillna("") == ""]
    rows = []
    for model in models:
        mae = runs.loc[runs["model"] == model, "test_mae"].to_numpy(float)
        row = {
            "model": model,
            "method": MODEL_TITLES.get(model, model),
            "runs": len(mae),
            "mae_mean": float(mae.mean()) if len(mae) else np.nan,
            "mae_std": float(mae.std(ddof=1)) if len(mae) > 1 else np.nan,
            "mae_min": float(mae.min()) if len(mae) else np.nan,
            "mae_max": float(mae.max()) if len(mae) else np.nan,
        }
        ref = runs.loc[runs["model"] == reference, "test_mae"].to_numpy(float)
        if model != reference and len(mae) > 1 and len(ref) > 1:
            test = compare_runs(ref, mae)
            row.update(test=test.test, p_value=test.p_value, normality=test.normality)
        rows.append(row)
    return pd.DataFrame(rows)


def pairwise_tests(summaries: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """Every model pair on the seeded runs: Shapiro–Wilk per sample, then Welch's t (or Mann–Whitney U). A
    pair needs two runs of each model; with one seed the frame is empty but keeps its columns (an empty CSV
    without a header cannot be read back)."""
    runs = summaries[summaries["sweep"].fillna("") == ""]
    rows = []
    for a, b in itertools.combinations(models, 2):
        mae_a = runs.loc[runs["model"] == a, "test_mae"].to_numpy(float)
        mae_b = runs.loc[runs["model"] == b, "test_mae"].to_numpy(float)
        if len(mae_a) < 2 or len(mae_b) < 2:
            continue
        rows.append({"a": a, "b": b, **compare_runs(mae_a, mae_b).to_dict()})
    return pd.DataFrame(rows, columns=["a", "b", *(f.name for f in dataclasses.fields(Comparison))])


SWEEP_COLUMNS = ("sweep", "setting", "value", "mae", "variant")
"""The columns of the compare pipeline's sweep table (Tables 2, 3), also when no sweep is configured."""


def sweep_table(
    summaries: pd.DataFrame, points: Sequence[tuple[float, str]], reference_mae: float, label: str
) -> pd.DataFrame:
    """Table 2 / 3: the reference row, then the test MAE per swept value (one run each, as the paper)."""
    by_variant = summaries.set_index("variant")
    rows = [{"setting": "Appearance subnet", label: np.nan, "mae": reference_mae, "variant": ""}]
    for value, variant in points:
        rows.append(
            {
                "setting": f"{label} = {value:g}",
                label: value,
                "mae": float(by_variant.at[variant, "test_mae"]),
                "variant": variant,
            }
        )
    return pd.DataFrame(rows)


def sweep_results(
    summaries: Sequence[Mapping[str, Any]], config: CompareConfig, reference_mae: float
) -> pd.DataFrame:
    """Tables 2 and 3 (:func:`sweep_table`) in one frame with a ``sweep`` column and the swept value in
    ``value``. A sweep point is the run of the sweep's model at ``config.sweep_seed`` whose parameters hold
    the value (the sweep's own run before a repeated run that has it); with no sweeps the frame still has
    its columns, :data:`SWEEP_COLUMNS` (an empty CSV without a header cannot be read back)."""
    frame = summaries_frame(summaries)
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
    return pd.concat(sweeps, ignore_index=True) if sweeps else pd.DataFrame(columns=list(SWEEP_COLUMNS))


def comparison_tables(
    summaries: Sequence[Mapping[str, Any]], config: CompareConfig
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The run summaries as a frame (without their parameters), Table 4 (:func:`repeated_runs_table`
    against ``config.groups.reference``), every pairwise test (:func:`pairwise_tests`) and the sweep
    tables (:func:`sweep_results`, Tables 2, 3)."""
    frame = summaries_frame(summaries)
    reference = config.groups.reference
    table4 = repeated_runs_table(frame, config.models, reference)
    pairs = pairwise_tests(frame, config.models)
    reference_mae = float(table4.loc[table4["model"] == reference, "mae_mean"].iloc[0])
    sweeps = sweep_results(summaries, config, reference_mae)
    return frame.drop(columns=["run_parameters"]), table4, pairs, sweeps


def per_image_errors(predictions: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Seed-averaged absolute error per image (key ``image_path``) of one model's runs on one test set;
    the runs must have predicted the same images."""
    if not predictions:
        raise ValueError("no predictions")
    first = predictions[0].set_index("image_path")
    errors = np.stack(
        [p.set_index("image_path").loc[first.index, "absolute_error"].to_numpy(float) for p in predictions]
    )
    return pd.DataFrame(
        {
            "image_path": first.index,
            "crop_path": first["crop_path"].to_numpy(),
            "true_age": first["true_age"].to_numpy(float),
            "predicted_age": np.mean(
                [
                    p.set_index("image_path").loc[first.index, "predicted_age"].to_numpy(float)
                    for p in predictions
                ],
                axis=0,
            ),
            "absolute_error": errors.mean(axis=0),
        }
    )


def runs_by_model(predictions: pd.DataFrame) -> dict[str, list[pd.DataFrame]]:
    """Long-format test predictions of several runs (columns ``variant`` and ``model``) as each model's
    list of per-run frames, the input of :func:`per_image_errors`."""
    return {m: [p for _, p in part.groupby("variant")] for m, part in predictions.groupby("model")}


def per_model_errors(predictions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Seed-averaged per-image errors (:func:`per_image_errors`) of every model in long-format
    predictions, by model."""
    return {model: per_image_errors(runs) for model, runs in runs_by_model(predictions).items()}


def per_seed_paired_tests(
    reference: Sequence[pd.DataFrame], model: Sequence[pd.DataFrame], seeds: Sequence[int]
) -> list[dict[str, float]]:
    """The paired test (t, with Wilcoxon beside it) of one seed's per-image absolute errors, for each seed
    both models ran: ``reference[i]`` and ``model[i]`` are the test predictions of run ``seeds[i]``."""
    rows = []
    for seed, ref, mod in zip(seeds, reference, model, strict=False):
        joined = ref[["image_path", "absolute_error"]].merge(
            mod[["image_path", "absolute_error"]], on="image_path", suffixes=("_ref", "_mod")
        )
        test = compare_paired(joined["absolute_error_ref"], joined["absolute_error_mod"])
        rows.append(
            {
                "seed": int(seed),
                "images": len(joined),
                "mae_reference": float(joined["absolute_error_ref"].mean()),
                "mae_model": float(joined["absolute_error_mod"].mean()),
                "mean_difference": test.mean_difference,
                "p_value": test.p_value,
                "alternative_p_value": test.alternative_p_value,
            }
        )
    return rows


def cross_dataset_table(
    errors: Mapping[str, Mapping[str, pd.DataFrame]], reference: str, model: str
) -> pd.DataFrame:
    """Table 5: MAE per model (rows) and dataset (columns) with the paired test of ``model`` against
    ``reference`` on each dataset's images. ``errors[dataset][model]`` from :func:`per_image_errors`. With no
    cross-dataset set the table is empty but keeps its columns (so its CSV reads back)."""
    columns = [
        "dataset",
        "images",
        f"mae_{reference}",
        f"mae_{model}",
        "difference",
        "paired_t_p",
        "wilcoxon_p",
    ]
    rows = []
    for dataset, by_model in errors.items():
        ref, mod = by_model[reference], by_model[model]
        merged = ref.merge(mod, on="image_path", suffixes=("_ref", "_mod"))
        test = compare_paired(merged["absolute_error_ref"], merged["absolute_error_mod"])
        rows.append(
            {
                "dataset": dataset,
                "images": len(merged),
                f"mae_{reference}": float(merged["absolute_error_ref"].mean()),
                f"mae_{model}": float(merged["absolute_error_mod"].mean()),
                "difference": test.mean_difference,
                "paired_t_p": test.p_value,
                "wilcoxon_p": test.alternative_p_value,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def markdown_table(
    frame: pd.DataFrame, columns: Mapping[str, str], formats: Mapping[str, str] | None = None
) -> str:
    """A GitHub Markdown table of ``columns`` (name -> header); numbers by ``formats`` (name -> format
    spec, or ``"p"`` for p-values), NaN as an en dash."""
    formats = dict(formats or {})
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for _, row in frame.iterrows():
        cells = []
        for name in columns:
            value = row.get(name, np.nan)
            spec = formats.get(name)
            if isinstance(value, float | np.floating) and not np.isfinite(value):
                cells.append("–")
            elif spec == "p":
                cells.append(format_p_value(float(value)))
            elif spec and isinstance(value, int | float | np.integer | np.floating):
                cells.append(format(value, spec))
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mean_std(mean: float, std: float) -> str:
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.2f} ± {std:.2f}" if np.isfinite(std) else f"{mean:.2f}"
