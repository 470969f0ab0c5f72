"""The comparison report: Savov et al. §5's tables and figures as one Markdown document, with the
findings stated from the numbers (whatever they are)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from agelab.evaluation.significance import format_p_value
from agelab.experiments.grid import CompareConfig
from agelab.experiments.tables import MODEL_TITLES, markdown_table, mean_std

FIGURES = {
    "pose_groups": "compare_pose_groups.png",
    "expression_groups": "compare_expression_groups.png",
    "pose_samples": "compare_pose_group_samples.png",
    "expression_samples": "compare_expression_group_samples.png",
    "examples": "compare_improved_examples.png",
}


def _verdict(difference: float, p: float, alpha: float, model: str, reference: str) -> str:
    if not np.isfinite(p):
        return f"{model} − {reference} = {difference:+.2f} MAE (not testable)"
    better = "better" if difference < 0 else "worse"
    if p < alpha:
        return (
            f"{model} is significantly {better} than {reference}: "
            f"{difference:+.2f} MAE, p = {format_p_value(p)}"
        )
    return (
        f"{model} is not significantly different from {reference}: {difference:+.2f} MAE, "
        f"p = {format_p_value(p)} (α = {alpha})"
    )


def _trend(table: pd.DataFrame, alpha: float) -> str:
    """Whether the gain grows with extremeness: the most extreme group's gain is significant, larger than
    the least extreme group's, and that difference between the groups is itself significant
    (``p_vs_least``; a gain that is merely non-zero in every group does not grow)."""
    first, last = table.iloc[0], table.iloc[-1]
    trend = np.corrcoef(table["group"], table["mae_difference"])[0, 1] if len(table) > 2 else np.nan
    versus_least = last.get("p_vs_least", np.nan)
    grows = (
        last["mae_difference"] < min(first["mae_difference"], 0)
        and last["p_value"] < alpha
        and versus_least < alpha
    )
    verdict = "the gain grows with extremeness" if grows else "no significantly growing gain"
    return (
        f"least extreme group {first['mae_difference']:+.2f}, most extreme {last['mae_difference']:+.2f} "
        f"(paired p = {format_p_value(last['p_value'])}; most vs least extreme group p = "
        f"{format_p_value(versus_least)}); correlation of group rank with the difference {trend:+.2f}: "
        f"{verdict}."
    )


def _per_seed_lines(per_seed: list[dict[str, float]], config: CompareConfig) -> list[str]:
    """One seed's per-image errors at a time (no averaging over seeds): the paired tests per seed."""
    if not per_seed:
        return []
    g = config.groups
    lines = ["", f"One seed at a time (that seed's {g.model} run against its {g.reference} run, paired):", ""]
    for row in per_seed:
        lines.append(
            f"- seed {row['seed']}: {g.reference} {row['mae_reference']:.2f}, "
            f"{g.model} {row['mae_model']:.2f}, "
            f"difference {row['mean_difference']:+.2f}, paired t p = {format_p_value(row['p_value'])}, "
            f"Wilcoxon p = {format_p_value(row['alternative_p_value'])}"
        )
    return lines


def _group_sections(groups: pd.DataFrame, config: CompareConfig) -> list[str]:
    """One table per extremeness metric and source of §5.3's groups, each with its trend line."""
    g = config.groups
    lines: list[str] = []
    for (metric, source), table in groups.groupby(["metric", "source"], sort=False):
        lines += ["", f"**{metric} extremeness, {source}**", ""]
        table = table.assign(
            range=[f"{a:.2f}–{b:.2f}" for a, b in zip(table["metric_min"], table["metric_max"], strict=True)]
        )
        lines.append(
            markdown_table(
                table,
                {
                    "group": "group",
                    "images": "images",
                    "range": "range",
                    "mae_reference": g.reference,
                    "mae_model": g.model,
                    "mae_difference": "difference",
                    "p_value": "paired t p",
                    "p_vs_least": "vs group 1 p",
                },
                {
                    "mae_reference": ".2f",
                    "mae_model": ".2f",
                    "mae_difference": "+.2f",
                    "p_value": "p",
                    "p_vs_least": "p",
                },
            )
        )
        lines += ["", f"- {_trend(table, config.alpha)}"]
    return lines


def comparison_report(
    config: CompareConfig,
    runs: pd.DataFrame,
    table4: pd.DataFrame,
    pairs: pd.DataFrame,
    sweeps: pd.DataFrame,
    groups: pd.DataFrame,
    overall: dict[str, Any],
    table5: pd.DataFrame,
    cross_groups: dict[str, pd.DataFrame] | None = None,
) -> str:
    """``cross_groups``: §5.3's group tables on cross-dataset sets, by set name."""
    g = config.groups
    epochs = runs.groupby("model")["epochs"].first().to_dict()
    hours = runs["train_seconds"].sum() / 3600
    lines = [
        "# Model comparison (Savov et al. §5)",
        "",
        f"Seeds {list(config.seeds)}; epochs {epochs}; appearance subnet initialised from "
        f"{'the 3D subnet AlexNet' if config.appearance_init == 'recon3d' else 'its configured weights'}; "
        f"{len(runs)} training runs, {hours:.2f} h of training. Test MAE is at each run's best validation "
        "epoch. Per-image comparisons use each model's absolute errors averaged over its seeds.",
        "",
        "## Table 4 — repeated training",
        "",
    ]
    t4 = table4.assign(
        mae=[mean_std(m, s) for m, s in zip(table4["mae_mean"], table4["mae_std"], strict=True)],
        method=[MODEL_TITLES.get(m, m) for m in table4["model"]],
    )
    for name in ("test", "p_value", "normality"):
        if name not in t4:
            t4[name] = np.nan
    lines.append(
        markdown_table(
            t4,
            {
                "method": "Method",
                "runs": "Runs",
                "mae": "MAE mean ± std",
                "mae_min": "min",
                "mae_max": "max",
                "test": f"test vs {g.reference}",
                "p_value": "p",
                "normality": "Shapiro–Wilk",
            },
            {"mae_min": ".2f", "mae_max": ".2f", "p_value": "p"},
        )
    )
    lines.append("")
    reference_row = table4[table4["model"] == g.reference].iloc[0]
    for row in table4[table4["model"] != g.reference].itertuples():
        p = getattr(row, "p_value", np.nan)
        difference = row.mae_mean - reference_row.mae_mean
        lines.append(f"- {_verdict(difference, p, config.alpha, row.model, g.reference)}")
    if not pairs.empty:
        lines += ["", "Pairwise tests on the per-seed test MAEs (b − a):", ""]
        lines.append(
            markdown_table(
                pairs,
                {
                    "a": "a",
                    "b": "b",
                    "mean_difference": "b − a",
                    "test": "test",
                    "p_value": "p",
                    "normality_p_a": "Shapiro p (a)",
                    "normality_p_b": "Shapiro p (b)",
                    "alternative_test": "also",
                    "alternative_p_value": "p",
                },
                {
                    "mean_difference": "+.2f",
                    "p_value": "p",
                    "normality_p_a": "p",
                    "normality_p_b": "p",
                    "alternative_p_value": "p",
                },
            )
        )
    for number, (name, table) in enumerate(
        sweeps.groupby("sweep", sort=False) if not sweeps.empty else [], 2
    ):
        sweep = config.sweeps[name]
        lines += [
            "",
            f"## Table {number} — {sweep.model.upper()} over {sweep.label or sweep.parameter} "
            f"(seed {config.sweep_seed}, one run per value)",
            "",
        ]
        lines.append(
            markdown_table(table, {"setting": "Setting", "mae": "MAE", "variant": "run"}, {"mae": ".2f"})
        )
        best = table.dropna(subset=["value"]).sort_values("mae").iloc[0]
        lines += ["", f"- best: {best['setting']} (MAE {best['mae']:.2f})"]
    lines += [
        "",
        f"## §5.3 — {g.model} − {g.reference} by pose and expression extremeness",
        "",
        f"All test faces ({overall['images']}): {g.reference} MAE {overall['mae_reference']:.2f}, "
        f"{g.model} MAE {overall['mae_model']:.2f}; "
        + _verdict(overall["mean_difference"], overall["p_value"], config.alpha, g.model, g.reference)
        + f" (paired t; Wilcoxon signed-rank p = {format_p_value(overall['alternative_p_value'])}).",
        *_per_seed_lines(overall.get("per_seed", []), config),
        "",
        "Pose extremeness = max |ω_i| (radians), expression extremeness = ‖δ‖; *predicted* by the 3D subnet "
        "(as the paper), *true* = the rendering parameters (synthetic set only). "
        f"{g.groups} equally sized groups, least extreme first; difference = {g.model} − {g.reference} "
        "(negative: the joint model is better).",
    ]
    lines += _group_sections(groups, config)
    lines += [
        "",
        f"![pose groups]({FIGURES['pose_groups']}) ![expression groups]({FIGURES['expression_groups']})",
        "",
        f"![pose samples]({FIGURES['pose_samples']}) ![expression samples]({FIGURES['expression_samples']})",
        "",
        f"![most improved extreme faces]({FIGURES['examples']})",
    ]
    if not table5.empty:
        lines += ["", f"## Table 5 — cross-dataset ({g.reference} vs {g.model}, trained on the main set)", ""]
        lines.append(
            markdown_table(
                table5,
                {
                    "dataset": "dataset",
                    "images": "images",
                    f"mae_{g.reference}": g.reference,
                    f"mae_{g.model}": g.model,
                    "difference": "difference",
                    "paired_t_p": "paired t p",
                    "wilcoxon_p": "Wilcoxon p",
                },
                {
                    f"mae_{g.reference}": ".2f",
                    f"mae_{g.model}": ".2f",
                    "difference": "+.2f",
                    "paired_t_p": "p",
                    "wilcoxon_p": "p",
                },
            )
        )
        lines.append("")
        for row in table5.itertuples():
            lines.append(
                f"- {row.dataset}: "
                + _verdict(row.difference, row.paired_t_p, config.alpha, g.model, g.reference)
            )
    for name, table in (cross_groups or {}).items():
        lines += [
            "",
            f"## §5.3 on {name} (never trained on) — {g.model} − {g.reference} by the 3D subnet's pose and "
            "expression extremeness",
            "",
            f"![pose groups](cross_{name}_pose_groups.png) "
            f"![expression groups](cross_{name}_expression_groups.png)",
        ]
        lines += _group_sections(table, config)
    lines += ["", "## Runs", ""]
    lines.append(
        markdown_table(
            runs,
            {
                "variant": "run",
                "model": "model",
                "seed": "seed",
                "test_mae": "test MAE",
                "test_median_baseline_mae": "median-age MAE",
                "best_val_mae": "best val MAE",
                "best_epoch": "best epoch",
                "train_seconds": "train s",
                "mlflow_run_id": "MLflow run",
            },
            {
                "test_mae": ".2f",
                "test_median_baseline_mae": ".2f",
                "best_val_mae": ".2f",
                "train_seconds": ".0f",
            },
        )
    )
    return "\n".join(lines) + "\n"


def headline_metrics(
    config: CompareConfig, table4: pd.DataFrame, overall: dict[str, Any], table5: pd.DataFrame
) -> dict[str, dict[str, float]]:
    """The report's headline numbers as MLflow metrics (``{name: {"value", "step"}}``): Table 4's MAE mean,
    std and p-value against the reference per model, §5.3's overall paired test, Table 5's difference and
    paired-t p-value per set; numbers that are not finite (an untestable comparison) are left out."""
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
    return {k: {"value": float(v), "step": 0} for k, v in metrics.items() if np.isfinite(v)}
