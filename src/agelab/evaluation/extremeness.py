"""Pose and expression extremeness and the equally sized groups of Savov et al. §5.3 (Figs. 3, 4).

* expression extremeness = ‖δ‖₂, the Euclidean norm of the expression coefficients;
* pose extremeness = max_i |ω_i|, the largest of the exponential coordinates of the head rotation
  ω ∈ so(3) (radians; ω = 0 is the frontal face);
* images are ranked by a metric and cut into ``n_groups`` groups whose sizes differ by at most one;
  per group, the mean of the per-image differences in absolute error (model − reference; negative =
  the model is better) with both models' MAEs and a paired test;
* whether the gain *grows* with extremeness (§5.3's question) is a test between groups: each group's
  per-image differences against the least extreme group's (independent samples, Shapiro–Wilk → Welch t /
  Mann–Whitney U as for the seeds), ``p_vs_least``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agelab.evaluation.significance import compare_paired, compare_runs


def expression_extremeness(delta: np.ndarray) -> np.ndarray:
    """‖δ‖₂ per row of ``delta`` ``(N, 64)``."""
    return np.linalg.norm(np.asarray(delta, float), axis=-1)


def pose_extremeness(omega: np.ndarray) -> np.ndarray:
    """max(|ω_x|, |ω_y|, |ω_z|) per row of ``omega`` ``(N, 3)`` (radians)."""
    return np.abs(np.asarray(omega, float)).max(axis=-1)


def equal_groups(metric: np.ndarray, n_groups: int) -> np.ndarray:
    """Group index 0..n_groups−1 per value, by rank (ties broken by position): sizes differ by at most
    one and every value of group g is ≤ every value of group g + 1."""
    values = np.asarray(metric, float)
    if n_groups < 1:
        raise ValueError(f"n_groups must be at least 1, got {n_groups}")
    if len(values) < n_groups:
        raise ValueError(f"cannot cut {len(values)} values into {n_groups} groups")
    if not np.all(np.isfinite(values)):
        raise ValueError("the extremeness metric has non-finite values")
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return (ranks * n_groups) // len(values)


def group_differences(
    metric: np.ndarray,
    errors_reference: np.ndarray,
    errors_model: np.ndarray,
    n_groups: int,
) -> pd.DataFrame:
    """One row per group: size, metric range and mean, MAE of both models, mean difference
    (model − reference), the paired test's p-value on the group's images (is the gain there non-zero?)
    and ``p_vs_least``, the test of its per-image differences against group 1's (is the gain there
    different from the least extreme group's? NaN for group 1 and for groups of one image)."""
    groups = equal_groups(metric, n_groups)
    metric = np.asarray(metric, float)
    reference, model = np.asarray(errors_reference, float), np.asarray(errors_model, float)
    difference = model - reference
    least = difference[groups == 0]
    rows = []
    for g in range(n_groups):
        members = groups == g
        test = compare_paired(reference[members], model[members])
        versus_least = (
            compare_runs(least, difference[members]).p_value
            if g > 0 and len(least) > 1 and members.sum() > 1
            else np.nan
        )
        rows.append(
            {
                "group": g + 1,
                "images": int(members.sum()),
                "metric_min": float(metric[members].min()),
                "metric_max": float(metric[members].max()),
                "metric_mean": float(metric[members].mean()),
                "mae_reference": float(reference[members].mean()),
                "mae_model": float(model[members].mean()),
                "mae_difference": float(difference[members].mean()),
                "p_value": test.p_value,
                "p_vs_least": versus_least,
            }
        )
    return pd.DataFrame(rows)
