"""What an age model's output distribution says beyond its mean: flip test-time averaging, temperature
scaling and calibrated age intervals.

The appearance subnet (and HPS/SPS's age head) ends in a softmax over the integer ages m..M (Savov et al.
Eq. 10 takes its expectation). The same distribution gives a range: the central interval holding a
``level`` share of the probability mass. Raw softmax outputs of a network trained with cross-entropy are
over- or under-confident, so the logits are divided by one temperature ``T`` fitted on the validation split
by minimising the negative log-likelihood of the true ages (Guo et al., *On calibration of modern neural
networks*, ICML 2017, §4.2): ``a = softmax(z / T)``; ``T`` changes the spread, not the most likely age.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

#: the interval levels agelab reports (users ask for "a range I can trust"; 50 % and 80 % are the usual)
INTERVAL_LEVELS: tuple[float, ...] = (0.5, 0.8)


def age_log_probs(model: nn.Module, images: torch.Tensor, *, flip: bool = False) -> torch.Tensor:
    """``(N, C)`` log-probabilities of the age classes; with ``flip``, of the mean of the image's and its
    horizontal mirror's distributions (test-time flip averaging)."""
    log_probs = model(images).float().log_softmax(-1)
    if not flip:
        return log_probs
    mirrored = model(images.flip(-1)).float().log_softmax(-1)
    return torch.logsumexp(torch.stack([log_probs, mirrored]), dim=0) - np.log(2.0)


def true_class(ages: np.ndarray, min_age: int, n_classes: int) -> np.ndarray:
    """Class index of each age: rounded, clipped to the model's range (as Eq. 11's one-hot target)."""
    return np.clip(np.rint(np.asarray(ages, dtype=np.float64)) - min_age, 0, n_classes - 1).astype(int)


def negative_log_likelihood(logits: np.ndarray, ages: np.ndarray, min_age: int, temperature: float) -> float:
    """Mean ``−log softmax(z / T)[y]`` over the faces."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    target = true_class(ages, min_age, z.shape[1])
    return float(-log_probs[np.arange(len(z)), target].mean())


def fit_temperature(
    logits: np.ndarray, ages: np.ndarray, min_age: int, *, bounds: tuple[float, float] = (0.05, 20.0)
) -> float:
    """The ``T`` minimising :func:`negative_log_likelihood` on held-out faces: a log-spaced grid, then a
    golden-section search around its best point (the NLL is smooth and unimodal in ``log T`` in practice)."""
    if len(logits) == 0:
        raise ValueError("fit_temperature needs at least one face")
    grid = np.exp(np.linspace(np.log(bounds[0]), np.log(bounds[1]), 61))
    losses = [negative_log_likelihood(logits, ages, min_age, t) for t in grid]
    best = int(np.argmin(losses))
    lo, hi = np.log(grid[max(best - 1, 0)]), np.log(grid[min(best + 1, len(grid) - 1)])
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if negative_log_likelihood(logits, ages, min_age, np.exp(a)) < negative_log_likelihood(
            logits, ages, min_age, np.exp(b)
        ):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def central_interval(probs: np.ndarray, min_age: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` integer ages per face: the smallest age whose cumulative probability reaches
    ``(1 − level) / 2`` and the smallest reaching ``(1 + level) / 2``, so ``level`` of the mass (at least)
    lies in ``low..high``."""
    if not 0 < level < 1:
        raise ValueError(f"an interval level is in (0, 1), got {level}")
    cdf = np.cumsum(np.asarray(probs, dtype=np.float64), axis=1)
    cdf /= cdf[:, -1:]
    low = (cdf < (1 - level) / 2).sum(axis=1)
    high = (cdf < (1 + level) / 2 - 1e-12).sum(axis=1)
    return low + min_age, np.minimum(high, cdf.shape[1] - 1) + min_age


def coverage(low: np.ndarray, high: np.ndarray, ages: np.ndarray) -> float:
    """Share of faces whose (rounded) true age lies in ``low..high``."""
    truth = np.rint(np.asarray(ages, dtype=np.float64))
    return float(((truth >= low) & (truth <= high)).mean()) if len(truth) else float("nan")


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@dataclass
class AgeEstimates:
    """Per face: the expected age (Eq. 10, of the untempered distribution), the standard deviation of that
    distribution, and ``intervals[level] = (low, high)`` of the temperature-scaled one."""

    age: np.ndarray
    std: np.ndarray
    intervals: dict[float, tuple[np.ndarray, np.ndarray]]

    @classmethod
    def empty(cls) -> AgeEstimates:
        nothing = np.zeros(0)
        return cls(nothing, nothing, {level: (nothing, nothing) for level in INTERVAL_LEVELS})

    @classmethod
    def from_log_probs(cls, log_probs: np.ndarray, min_age: int, temperature: float) -> AgeEstimates:
        probs = softmax(log_probs)
        ages = np.arange(probs.shape[1]) + min_age
        mean = probs @ ages
        std = np.sqrt(np.clip(probs @ ages**2 - mean**2, 0, None))
        tempered = softmax(log_probs, temperature)
        intervals = {level: central_interval(tempered, min_age, level) for level in INTERVAL_LEVELS}
        return cls(mean, std, intervals)
