"""Figures of the model comparison (Savov et al. Figs. 3, 4 and 5)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from agelab.evaluation.plots import subplots


def group_bars(table: pd.DataFrame, *, metric: str, reference: str, model: str) -> Figure:
    """Figs. 3b / 4b: MAE of both models per extremeness group (left = least extreme), with the mean
    difference model − reference written above each pair."""
    figure, ax = subplots(figsize=(6.4, 3.6))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["mae_reference"], 0.4, label=reference, color="#9e9e9e")
    ax.bar(x + 0.2, table["mae_model"], 0.4, label=model, color="#1f77b4")
    top = float(np.nanmax(table[["mae_reference", "mae_model"]].to_numpy())) if len(table) else 1.0
    for i, row in enumerate(table.itertuples()):
        ax.text(i, top * 1.03, f"{row.mae_difference:+.2f}", ha="center", fontsize=8)
    ax.set_xticks(x, [f"{r.metric_min:.2f}–{r.metric_max:.2f}" for r in table.itertuples()], fontsize=7)
    ax.set_xlabel(f"{metric} group (equal sizes, increasing)")
    ax.set_ylabel("MAE (years)")
    ax.set_ylim(0, top * 1.35)  # headroom above the differences for the legend, clear of every bar
    ax.legend(fontsize=8, loc="upper right", ncol=2)
    ax.set_title(f"MAE by {metric}; above: {model} − {reference}", fontsize=9)
    figure.tight_layout()
    return figure


def group_samples(
    faces: pd.DataFrame,
    groups: np.ndarray,
    load_image: Callable[[str], np.ndarray],
    *,
    per_group: int = 6,
    metric: str = "",
    seed: int = 0,
) -> Figure:
    """Figs. 3a / 4a: one row of face crops per group, least extreme at the top, each crop labelled
    with its metric value (``faces`` has ``crop_path`` and ``metric``)."""
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    figure, axes = subplots(
        max(n_groups, 1), per_group, figsize=(1.3 * per_group, 1.45 * max(n_groups, 1)), squeeze=False
    )
    rng = np.random.default_rng(seed)
    for ax in axes.ravel():
        ax.axis("off")
    for g in range(n_groups):
        members = np.flatnonzero(groups == g)
        chosen = rng.choice(members, size=min(per_group, len(members)), replace=False)
        for c, i in enumerate(sorted(chosen, key=lambda i: faces["metric"].iloc[i])):
            ax = axes[g, c]
            ax.imshow(load_image(faces["crop_path"].iloc[i]))
            ax.set_title(f"{faces['metric'].iloc[i]:.2f}", fontsize=7)
        axes[g, 0].text(-0.1, 0.5, f"group {g + 1}", transform=axes[g, 0].transAxes, ha="right", fontsize=8)
    figure.suptitle(f"samples per {metric} group (top: least extreme)", fontsize=9)
    figure.tight_layout()
    return figure


def improved_examples(
    examples: pd.DataFrame, load_image: Callable[[str], np.ndarray], *, reference: str, model: str
) -> Figure:
    """Fig. 5: faces with the label and both models' predictions (``crop_path, true_age,
    predicted_reference, predicted_model``)."""
    n = max(len(examples), 1)
    cols = min(n, 6)
    rows = int(np.ceil(n / cols))
    figure, axes = subplots(rows, cols, figsize=(2.0 * cols, 2.35 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, row in zip(axes.ravel(), examples.itertuples(), strict=False):
        ax.imshow(load_image(row.crop_path))
        ax.set_title(
            f"Label: {row.true_age:.0f}\n{reference}: {row.predicted_reference:.2f}\n"
            f"{model}: {row.predicted_model:.2f}",
            fontsize=7,
        )
    figure.suptitle(f"most improved extreme pose / expression faces: {model} vs {reference}", fontsize=9)
    figure.tight_layout()
    return figure
