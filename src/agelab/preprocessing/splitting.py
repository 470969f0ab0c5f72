"""Train / validation / test split and age groups (Savov et al. §4).

The test set takes ``test_fraction`` of every integer age label (largest-remainder rounding, so the total
is exact), making its age distribution as close as possible to the training set's; the distance between
the two histograms is reported. Validation is carved from the training part the same way. The five age
groups are bounded by the 20th, 40th, 60th and 80th percentiles of the cleaned data's ages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SplitConfig:
    test_fraction: float = 0.1
    val_fraction: float = 0.1  # of the part left after the test set
    n_age_groups: int = 5
    seed: int = 0


def _stratified_take(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask taking ``fraction`` of each label, with exactly ``round(fraction * n)`` in all."""
    unique, counts = np.unique(labels, return_counts=True)
    quota = counts * fraction
    take = np.floor(quota).astype(int)
    short = round(fraction * len(labels)) - take.sum()
    if short > 0:
        remainders = quota - take
        order = np.lexsort((rng.random(len(unique)), -remainders))
        take[order[:short]] += 1
    mask = np.zeros(len(labels), dtype=bool)
    for label, k in zip(unique, take, strict=True):
        if k:
            members = np.flatnonzero(labels == label)
            mask[rng.choice(members, size=min(k, len(members)), replace=False)] = True
    return mask


def histogram_distance(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Total-variation distance between two integer-age histograms, and the KS statistic."""
    from scipy import stats

    if len(a) == 0 or len(b) == 0:
        return {"total_variation": float("nan"), "ks_statistic": float("nan")}
    bins = np.arange(min(a.min(), b.min()), max(a.max(), b.max()) + 2)
    pa = np.histogram(a, bins)[0] / len(a)
    pb = np.histogram(b, bins)[0] / len(b)
    return {
        "total_variation": float(0.5 * np.abs(pa - pb).sum()),
        "ks_statistic": float(stats.ks_2samp(a, b).statistic),
    }


def age_group_bounds(ages: np.ndarray, n_groups: int) -> list[float]:
    return [float(v) for v in np.percentile(ages, np.linspace(0, 100, n_groups + 1)[1:-1])]


def assign_age_groups(ages: np.ndarray, bounds: list[float]) -> np.ndarray:
    """Group 0 holds ages below the first bound; a face on a bound goes to the upper group."""
    return np.searchsorted(np.asarray(bounds), ages, side="right")


def split_faces(faces: pd.DataFrame, config: SplitConfig) -> tuple[pd.DataFrame, dict]:
    """Add ``split`` (train/val/test) and ``age_group`` columns; return the frame and a split report."""
    rng = np.random.default_rng(config.seed)
    frame = faces.reset_index(drop=True).copy()
    labels = np.floor(frame["age"].to_numpy()).astype(int)
    test = _stratified_take(labels, config.test_fraction, rng)
    rest = np.flatnonzero(~test)
    val = np.zeros(len(frame), dtype=bool)
    val[rest[_stratified_take(labels[rest], config.val_fraction, rng)]] = True
    frame["split"] = np.where(test, "test", np.where(val, "val", "train"))
    bounds = age_group_bounds(frame["age"].to_numpy(), config.n_age_groups) if len(frame) else []
    frame["age_group"] = assign_age_groups(frame["age"].to_numpy(), bounds) if len(frame) else []
    train_ages = labels[frame["split"] == "train"]
    report = {
        "counts": frame["split"].value_counts().to_dict(),
        "age_group_bounds": bounds,
        "age_group_counts": {
            int(k): int(v) for k, v in frame["age_group"].value_counts().sort_index().items()
        },
        "test_vs_train": histogram_distance(labels[test], train_ages),
        "val_vs_train": histogram_distance(labels[val], train_ages),
        "mean_age": {
            s: float(frame.loc[frame["split"] == s, "age"].mean()) for s in ("train", "val", "test")
        },
    }
    return frame, report
