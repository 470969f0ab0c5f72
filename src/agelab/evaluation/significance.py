"""Significance tests for model comparisons, as Savov et al. §5.2 and §5.4 report them.

Two situations, two tests:

* **Repeated training runs** (Table 3, Table 4): each model gives one test MAE per seed; the runs of two
  models are independent samples. Each sample is checked for normality with Shapiro–Wilk (the paper:
  "t-test after confirming normality with a normality test"); when neither rejects normality the
  comparison is **Welch's t-test** — the two models need not have the same seed-to-seed variance, and
  Welch's test does not assume they do (Student's pooled t-test does). When normality is rejected the
  comparison falls back to the Mann–Whitney U test. With fewer than 3 runs Shapiro–Wilk cannot be
  computed; the t-test is then reported with ``normality: untested``.
* **Per-image errors on one test set** (Table 5, the pose/expression groups): both models predict the same
  images, so the samples are paired. The **paired t-test** on the absolute errors is the paper's test and
  is valid for the few hundred images of a test set by the central limit theorem even though absolute
  error differences are not normal; the Wilcoxon signed-rank test is reported beside it as the
  distribution-free check, with the Shapiro–Wilk p-value of the differences.

Degenerate samples get defined answers instead of NaN: two identical samples give p = 1; two samples
without spread that differ give p = 0 (the difference is deterministic).
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
from scipy import stats

SHAPIRO_MAX_N = 5000  # scipy's p-value of Shapiro–Wilk is approximate above this; subsample deterministically


@dataclasses.dataclass(frozen=True)
class Normality:
    """Shapiro–Wilk on one sample; ``p_value`` is NaN when the sample is too small (n < 3) or constant."""

    n: int
    statistic: float
    p_value: float

    def rejected(self, alpha: float) -> bool:
        return bool(np.isfinite(self.p_value) and self.p_value < alpha)

    @property
    def tested(self) -> bool:
        return bool(np.isfinite(self.p_value))


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Outcome of comparing model B with model A (``mean_difference`` = mean(B) − mean(A))."""

    test: str
    statistic: float
    p_value: float
    mean_difference: float
    n_a: int
    n_b: int
    normality: str  # "normal", "rejected", "untested"
    normality_p_a: float = math.nan
    normality_p_b: float = math.nan
    alternative_test: str = ""
    alternative_p_value: float = math.nan

    def to_dict(self) -> dict[str, float | int | str]:
        return dataclasses.asdict(self)


def shapiro_wilk(sample: np.ndarray) -> Normality:
    """Shapiro–Wilk normality test; NaN p-value where it is undefined (n < 3 or no spread)."""
    x = np.asarray(sample, float)
    x = x[np.isfinite(x)]
    if len(x) < 3 or np.ptp(x) == 0:
        return Normality(len(x), math.nan, math.nan)
    if len(x) > SHAPIRO_MAX_N:
        x = np.random.default_rng(0).choice(x, SHAPIRO_MAX_N, replace=False)
    result = stats.shapiro(x)
    return Normality(len(x), float(result.statistic), float(result.pvalue))


def _degenerate(a: np.ndarray, b: np.ndarray) -> float | None:
    """p for samples without spread: 1 when equal, 0 when they differ; None when a test is defined."""
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 1.0 if a[0] == b[0] else 0.0
    return None


def compare_runs(mae_a: np.ndarray, mae_b: np.ndarray, *, alpha: float = 0.05) -> Comparison:
    """Compare the per-seed test MAEs of two models (independent samples), see the module docstring."""
    a, b = np.asarray(mae_a, float), np.asarray(mae_b, float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 runs per model to compare, got {len(a)} and {len(b)}")
    norm_a, norm_b = shapiro_wilk(a), shapiro_wilk(b)
    if norm_a.rejected(alpha) or norm_b.rejected(alpha):
        normality = "rejected"
    elif norm_a.tested and norm_b.tested:
        normality = "normal"
    else:
        normality = "untested"
    fixed = _degenerate(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        welch = stats.ttest_ind(b, a, equal_var=False)
        mann_whitney = stats.mannwhitneyu(b, a, alternative="two-sided")
    welch_p = fixed if fixed is not None else float(welch.pvalue)
    mw_p = fixed if fixed is not None else float(mann_whitney.pvalue)
    common = {
        "mean_difference": float(b.mean() - a.mean()),
        "n_a": len(a),
        "n_b": len(b),
        "normality": normality,
        "normality_p_a": norm_a.p_value,
        "normality_p_b": norm_b.p_value,
    }
    if normality == "rejected":
        return Comparison(
            "Mann-Whitney U",
            float(mann_whitney.statistic),
            mw_p,
            alternative_test="Welch t",
            alternative_p_value=welch_p,
            **common,
        )
    statistic = float(welch.statistic) if np.isfinite(welch.statistic) else 0.0
    return Comparison(
        "Welch t",
        statistic,
        welch_p,
        alternative_test="Mann-Whitney U",
        alternative_p_value=mw_p,
        **common,
    )


def compare_paired(errors_a: np.ndarray, errors_b: np.ndarray) -> Comparison:
    """Compare two models' absolute errors on the same images: paired t-test (the headline, as the
    paper) with the Wilcoxon signed-rank test and Shapiro–Wilk of the differences beside it."""
    a, b = np.asarray(errors_a, float), np.asarray(errors_b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have the same length, got {len(a)} and {len(b)}")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 2:
        raise ValueError(f"need at least 2 paired values, got {len(a)}")
    differences = b - a
    norm = shapiro_wilk(differences)
    if np.ptp(differences) == 0:
        p = 1.0 if differences[0] == 0 else 0.0
        return Comparison(
            "paired t",
            0.0 if p == 1.0 else math.copysign(math.inf, differences[0]),
            p,
            float(differences.mean()),
            len(a),
            len(b),
            "untested",
            alternative_test="Wilcoxon signed-rank",
            alternative_p_value=p,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        paired = stats.ttest_rel(b, a)
        wilcoxon = stats.wilcoxon(differences) if np.any(differences != 0) else None
    return Comparison(
        "paired t",
        float(paired.statistic),
        float(paired.pvalue),
        float(differences.mean()),
        len(a),
        len(b),
        "untested" if not norm.tested else ("normal" if not norm.rejected(0.05) else "rejected"),
        normality_p_a=norm.p_value,
        normality_p_b=norm.p_value,
        alternative_test="Wilcoxon signed-rank",
        alternative_p_value=float(wilcoxon.pvalue) if wilcoxon is not None else 1.0,
    )


def format_p_value(p: float) -> str:
    """``2.70·10⁻⁵`` style as in the paper's tables; plain decimals from 0.001 up."""
    if not np.isfinite(p):
        return "n/a"
    if p >= 1e-3:
        return f"{p:.3f}"
    if p == 0:
        return "0"
    exponent = math.floor(math.log10(p))
    mantissa = p / 10**exponent
    return f"{mantissa:.2f}e{exponent}"
