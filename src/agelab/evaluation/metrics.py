"""Age-estimation metrics: MAE, cumulative score CS(θ), MAE per age group and per decade, and the
predict-the-training-median baseline reported beside every MAE."""

from __future__ import annotations

import numpy as np
import pandas as pd


def mean_absolute_error(predicted: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(predicted, float) - np.asarray(true, float))))


def cumulative_score(predicted: np.ndarray, true: np.ndarray, theta: float) -> float:
    """CS(θ): the share of faces whose absolute error is at most θ years."""
    return float(np.mean(np.abs(np.asarray(predicted, float) - np.asarray(true, float)) <= theta))


def median_baseline_mae(train_ages: np.ndarray, true: np.ndarray) -> float:
    """MAE of predicting the training set's median age for every face."""
    return mean_absolute_error(np.full(len(true), np.median(train_ages)), true)


def mae_by(predicted: np.ndarray, true: np.ndarray, groups: np.ndarray) -> dict[str, dict[str, float]]:
    frame = pd.DataFrame({"error": np.abs(np.asarray(predicted) - np.asarray(true)), "group": groups})
    return {
        str(g): {"mae": float(part["error"].mean()), "count": len(part)}
        for g, part in frame.groupby("group", sort=True)
    }


def decade(ages: np.ndarray) -> np.ndarray:
    lows = (np.floor(np.asarray(ages, float) / 10) * 10).astype(int)
    return np.array([f"{low:02d}-{low + 9:02d}" for low in lows])


def age_report(
    predicted: np.ndarray,
    true: np.ndarray,
    train_ages: np.ndarray,
    age_groups: np.ndarray | None = None,
    thetas: tuple[int, ...] = (1, 3, 5, 10),
) -> dict:
    """Every figure of an evaluation in one JSON-able dict."""
    report = {
        "mae": mean_absolute_error(predicted, true),
        "median_baseline_mae": median_baseline_mae(train_ages, true),
        "count": len(true),
        **{f"cs_{t}": cumulative_score(predicted, true, t) for t in thetas},
        "mae_by_decade": mae_by(predicted, true, decade(true)),
    }
    report["mae_vs_baseline"] = report["mae"] / report["median_baseline_mae"]
    if age_groups is not None:
        report["mae_by_age_group"] = mae_by(predicted, true, np.asarray(age_groups))
    return report
