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


def face_attribute_loss(
    age_logits: torch.Tensor,
    gender_logits: torch.Tensor,
    ages: torch.Tensor,
    genders: torch.Tensor,
    weights: FossLossWeights = FossLossWeights(),
) -> tuple[torch.Tensor, dict[str, float]]:
    """L_age + L_gen of §3.2 over N faces (logits (N, 101) and (N, 2)): the mean of
    λ_mean L_mean + λ_var L_var + λ_ce L_ce over the faces with an age (NaN: none), plus λ_gen × the mean
    gender cross-entropy over the faces with a gender (−1: none). Zero where no face has the label, kept on
    the graph: a batch whose boxes all miss the faces still back-propagates (nothing) through both heads, as
    DistributedDataParallel requires a gradient for every parameter on every rank."""
    total = (age_logits.float().sum() + gender_logits.float().sum()) * 0.0
    parts: dict[str, float] = {}
    has_age = torch.isfinite(ages)
    n_age = int(has_age.sum())
    if n_age:
        logits = age_logits[has_age].float()
        target_ages = ages[has_age].float().clamp(0, logits.shape[-1] - 1)
        mean_term, variance_term = mean_variance_terms(logits, target_ages)
        ce = F.cross_entropy(logits, target_ages.round().long(), reduction="none")
        age_loss = (
            weights.mean * mean_term + weights.variance * variance_term + weights.cross_entropy * ce
        ).sum() / n_age
        total = total + age_loss
        parts["age"] = float(age_loss.detach())
    has_gender = genders >= 0
    n_gender = int(has_gender.sum())
    if n_gender:
        gender_loss = (
            weights.gender
            * F.cross_entropy(gender_logits[has_gender].float(), genders[has_gender].long(), reduction="sum")
            / n_gender
        )
        total = total + gender_loss
        parts["gender"] = float(gender_loss.detach())
    return total, parts


def foss_loss(
    output: FossOutput, targets: Mapping[str, torch.Tensor], weights: FossLossWeights = FossLossWeights()
) -> tuple[torch.Tensor, dict[str, float]]:
    """L = L_det + L_age + L_gen and its parts."""
    parts: dict[str, float] = {}
    detection = None
    if weights.detection:
        detection, parts = centernet_loss(output.detector, targets, weights.size, weights.offset)
    age_mask, gender_mask, ages, genders = face_masks(output, targets, weights.iou_threshold)
    # b_iou · b_age and b_iou · b_gen: a masked face has no age (NaN) and no gender (−1) for the terms
    attributes, attribute_parts = face_attribute_loss(
        output.age_logits.flatten(0, 1),
        output.gender_logits.flatten(0, 1),
        torch.where(age_mask, ages.float(), torch.full_like(ages.float(), float("nan"))).flatten(),
        torch.where(gender_mask, genders.long(), torch.full_like(genders.long(), -1)).flatten(),
        weights,
    )
    parts.update(attribute_parts)
    parts["faces_with_age"] = int(age_mask.sum())
    return (attributes if detection is None else detection + attributes), parts
