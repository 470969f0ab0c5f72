"""FOSS's multi-task loss, §3.2: L = L_det + L_age + L_gen.

L_age = 1/N_a · Σ_b Σ_k b_iou(d̂_bk, d_b) · b_age(d_bk') · (λ_mean L_mean + λ_var L_var + λ_ce L_ce)
L_gen = λ_gen/N_g · Σ_b Σ_k b_iou(d̂_bk, d_b) · b_gen(d_bk') · L_bce

For each of the K predicted boxes, k' is the ground-truth face it overlaps most; b_iou masks boxes whose
best IoU is at most th_iou (0.3), b_age / b_gen mask faces without an age / gender label (detection-only
images), and N_a / N_g count the unmasked faces. The mean-variance loss is Pan et al.'s (CVPR 2018):
with p = softmax over ages 0..100, m = Σ j p_j and v = Σ p_j (j − m)², L_mean = (m − y)² / 2, L_var = v.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from agelab.detection.boxes import match_to_truth
from agelab.losses.detection import centernet_loss
from agelab.models.foss import FossOutput


@dataclass(frozen=True)
class FossLossWeights:
    """``parameters_foss.yml: loss`` — the paper's {λ_size, λ_off, λ_mean, λ_var, λ_ce, λ_gen}, th_iou."""

    size: float = 0.1
    offset: float = 1.0
    mean: float = 0.01
    variance: float = 0.0025
    cross_entropy: float = 0.05
    gender: float = 0.1
    iou_threshold: float = 0.3
    detection: bool = True  # False when the detector is frozen: L_det has no trainable parameter


def mean_variance_terms(logits: torch.Tensor, ages: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-face mean loss (m − y)² / 2 and variance loss v (Pan et al., Eqs. 2–4)."""
    probs = logits.float().softmax(-1)
    classes = torch.arange(probs.shape[-1], device=probs.device, dtype=probs.dtype)
    mean = probs @ classes
    variance = (probs * (classes[None] - mean[:, None]) ** 2).sum(-1)
    return 0.5 * (mean - ages) ** 2, variance


def face_masks(
    output: FossOutput, targets: Mapping[str, torch.Tensor], iou_threshold: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """b_iou · b_age and b_iou · b_gen for every predicted box (B, K), with the matched ages and genders."""
    index, keep = match_to_truth(output.boxes.detach(), targets["boxes"], targets["box_mask"], iou_threshold)
    ages = targets["ages"].gather(1, index)
    genders = targets["genders"].gather(1, index)
    age_mask = keep & torch.isfinite(ages)
    gender_mask = keep & (genders >= 0)
    return age_mask, gender_mask, ages, genders


def foss_loss(
    output: FossOutput, targets: Mapping[str, torch.Tensor], weights: FossLossWeights = FossLossWeights()
) -> tuple[torch.Tensor, dict[str, float]]:
    """L = L_det + L_age + L_gen and its parts."""
    parts: dict[str, float] = {}
    # zero that stays on the graph: a batch whose boxes all miss the faces, or whose faces have no gender
    # label, still back-propagates (nothing) through both heads; DistributedDataParallel requires a
    # gradient for every parameter on every rank
    total = (output.age_logits.float().sum() + output.gender_logits.float().sum()) * 0.0
    if weights.detection:
        detection, parts = centernet_loss(output.detector, targets, weights.size, weights.offset)
        total = total + detection
    age_mask, gender_mask, ages, genders = face_masks(output, targets, weights.iou_threshold)
    age_logits = output.age_logits[age_mask]
    n_age = int(age_mask.sum())
    if n_age:
        target_ages = ages[age_mask].float().clamp(0, age_logits.shape[-1] - 1)
        mean_term, variance_term = mean_variance_terms(age_logits, target_ages)
        ce = F.cross_entropy(age_logits.float(), target_ages.round().long(), reduction="none")
        age_loss = (
            weights.mean * mean_term + weights.variance * variance_term + weights.cross_entropy * ce
        ).sum() / n_age
        total = total + age_loss
        parts["age"] = float(age_loss.detach())
    n_gender = int(gender_mask.sum())
    if n_gender:
        gender_loss = (
            weights.gender
            * F.cross_entropy(
                output.gender_logits[gender_mask].float(), genders[gender_mask].long(), reduction="sum"
            )
            / n_gender
        )
        total = total + gender_loss
        parts["gender"] = float(gender_loss.detach())
    parts["faces_with_age"] = n_age
    return total, parts
