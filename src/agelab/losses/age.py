"""Age losses of the appearance subnet (Savov et al. §3.2).

Eq. 10, prediction:   ŷ = Σ_{i=0}^{M−m} (i + m) · a_i,  a = softmax(logits)
Eq. 11, loss:         L_dist = λ_dist Σ_i a_i · |(i + m) − y|  −  Σ_i ỹ_i · log a_i

ỹ is the one-hot encoding of the age rounded to the nearest class (labels outside m..M go to the end
classes); the distance term uses the real-valued age, so apparent ages such as 27.5 are penalised
exactly.

Option (not in the paper): with ``label_sigma`` σ > 0, ỹ is instead the label distribution of Gao et al.
(DLDL, 2017), a Gaussian over the classes centred on the real-valued age,
ỹ_i ∝ exp(−((i + m) − y)² / 2σ²), normalised to sum 1 over m..M; neighbouring ages then share the
target mass, as the faces of adjacent ages share their looks. σ = 0 is the paper's one-hot.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def age_classes(n_classes: int, min_age: int, like: torch.Tensor) -> torch.Tensor:
    return torch.arange(n_classes, device=like.device, dtype=torch.float32) + min_age


def expected_age(logits: torch.Tensor, min_age: int) -> torch.Tensor:
    """Eq. 10: the softmax expectation over the age classes."""
    probs = logits.float().softmax(-1)
    return probs @ age_classes(probs.shape[-1], min_age, probs)


def age_moments(logits: torch.Tensor, min_age: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 10's expectation and the standard deviation of the same softmax distribution over the ages
    ``min_age .. min_age + C − 1`` (the spread every predictor reports beside the age; FOSS's classes are
    0..100, so ``min_age`` 0)."""
    probs = logits.float().softmax(-1)
    ages = age_classes(probs.shape[-1], min_age, probs)
    mean = probs @ ages
    variance = (probs * (ages - mean[..., None]) ** 2).sum(-1)
    return mean, variance.clamp(min=0).sqrt()


def label_distribution(ages: torch.Tensor, n_classes: int, min_age: int, sigma: float) -> torch.Tensor:
    """DLDL's target: per age y, the Gaussian exp(−(c − y)² / 2σ²) over the classes c = m..M, normalised to
    sum 1 (ages outside m..M are first clamped to the end classes, as the one-hot target does)."""
    if sigma <= 0:
        raise ValueError(f"label_sigma must be positive, got {sigma}")
    classes = age_classes(n_classes, min_age, ages)
    centre = ages.float().clamp(min_age, min_age + n_classes - 1)
    # the normalised exponentials as a softmax: no 0/0 when every weight underflows (a small sigma)
    return torch.softmax(-((classes[None] - centre[:, None]) ** 2) / (2 * sigma**2), dim=-1)


def age_distance_loss(
    logits: torch.Tensor, ages: torch.Tensor, min_age: int, lambda_dist: float = 0.2, label_sigma: float = 0.0
) -> torch.Tensor:
    """Eq. 11, averaged over the batch; ``label_sigma`` > 0 replaces the one-hot ỹ by DLDL's Gaussian."""
    logits = logits.float()
    n_classes = logits.shape[-1]
    ages = ages.float()
    if label_sigma > 0:
        target = label_distribution(ages, n_classes, min_age, label_sigma)
    else:
        target = (ages.round() - min_age).long().clamp(0, n_classes - 1)
    cross_entropy = F.cross_entropy(logits, target)
    probs = logits.softmax(-1)
    distance = (age_classes(n_classes, min_age, probs)[None] - ages[:, None]).abs()
    return cross_entropy + lambda_dist * (probs * distance).sum(-1).mean()
