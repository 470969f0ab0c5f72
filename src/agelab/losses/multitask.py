"""The joint objective of the multi-task networks (Savov et al. Eq. 12):

    L = (1 − w) · L_fit + w · L_dist

L_fit (Eq. 6) on the predicted code vector z, L_dist (Eq. 11) on the age logits. The paper states the
weighted form for hard sharing; for soft sharing "the loss is the sum of L_fit and L_dist" (§3.3), which is
``w = None`` here: L = L_fit + L_dist.
"""

from __future__ import annotations

import torch

from agelab.losses.age import age_distance_loss
from agelab.losses.reconstruction import FitObjective


class MultiTaskObjective:
    """``(age logits, z)`` against targets ``{"image", "landmarks", "landmark_weight", "age"}``; keeps
    running means of every term (the fit terms, ``dist`` and ``total``) for per-epoch logging."""

    def __init__(self, fit: FitObjective, *, w: float | None, min_age: int, lambda_dist: float):
        if w is not None and not 0 <= w <= 1:
            raise ValueError(f"w = {w}: the task weight of Eq. 12 lies in [0, 1]")
        self.fit, self.w, self.min_age, self.lambda_dist = fit, w, min_age, lambda_dist
        self._dist_sum, self._count = 0.0, 0

    def __call__(self, outputs: tuple[torch.Tensor, torch.Tensor], targets: dict[str, torch.Tensor]):
        logits, z = outputs
        fit = self.fit(z, targets)
        dist = age_distance_loss(logits.float(), targets["age"], self.min_age, self.lambda_dist)
        self._dist_sum += float(dist.detach()) * len(z)
        self._count += len(z)
        if self.w is None:  # soft sharing's plain sum (§3.3)
            return fit + dist
        return (1 - self.w) * fit + self.w * dist

    def take_running_means(self) -> dict[str, float]:
        means = {f"fit_{k}": v for k, v in self.fit.take_running_means().items()}
        means["dist"] = self._dist_sum / max(self._count, 1)
        self._dist_sum, self._count = 0.0, 0
        return means
