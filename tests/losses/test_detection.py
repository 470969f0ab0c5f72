"""CenterNet's detection loss (FOSS §3.2) by hand on maps of a few cells."""

from __future__ import annotations

import math

import pytest
import torch

from agelab.losses.detection import centernet_loss, focal_loss, masked_l1
from agelab.models.centernet import DetectorOutput


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_focal_loss_by_hand_with_alpha_2_and_beta_4():
    # predictions 0.5 (the one face centre), 0.5 (target 0.5 off the peak), 0.25 (background)
    logits = torch.tensor([0.0, 0.0, _logit(0.25)]).view(1, 1, 1, 3)
    target = torch.tensor([1.0, 0.5, 0.0]).view(1, 1, 1, 3)
    positive = math.log(0.5) * 0.5**2
    near = math.log(0.5) * 0.5**2 * 0.5**4
    background = math.log(0.75) * 0.25**2 * 1.0**4
    expected = -(positive + near + background) / 1
    assert focal_loss(logits, target).item() == pytest.approx(expected, rel=1e-5)
    assert focal_loss(logits, target, alpha=1.0, beta=1.0).item() == pytest.approx(
        -(math.log(0.5) * 0.5 + math.log(0.5) * 0.5 * 0.5 + math.log(0.75) * 0.25), rel=1e-5
    )


def test_focal_loss_is_normalised_by_the_number_of_faces_and_by_one_without_faces():
    logits = torch.tensor([0.0, 0.0, _logit(0.25)]).view(1, 1, 1, 3)
    two_faces = torch.tensor([1.0, 1.0, 0.0]).view(1, 1, 1, 3)
    expected = -(2 * math.log(0.5) * 0.25 + math.log(0.75) * 0.25**2) / 2
    assert focal_loss(logits, two_faces).item() == pytest.approx(expected, rel=1e-5)
    no_face = torch.zeros(1, 1, 1, 3)
    assert focal_loss(logits, no_face).item() == pytest.approx(
        -(2 * math.log(0.5) * 0.25 + math.log(0.75) * 0.25**2), rel=1e-5
    )


def test_focal_loss_clamps_the_sigmoid_to_1e_4_from_either_end():
    # a confident wrong background cell costs −log(1e-4)·(1 − 1e-4)² rather than infinity
    confident = torch.tensor([-50.0, 50.0]).view(1, 1, 1, 2)
    target = torch.tensor([0.0, 0.0]).view(1, 1, 1, 2)
    wrong = -(math.log(1e-4) * (1 - 1e-4) ** 2 + math.log(1 - 1e-4) * 1e-8)
    assert focal_loss(confident, target).item() == pytest.approx(wrong, rel=1e-4)
    # a confident right face centre costs −log(1 − 1e-4)·(1e-4)², almost nothing but not zero
    face = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
    right = torch.tensor([50.0, -50.0]).view(1, 1, 1, 2)
    expected = -(math.log(1 - 1e-4) * 1e-8 + math.log(1 - 1e-4) * 1e-8)
    assert focal_loss(right, face).item() == pytest.approx(expected, rel=1e-3)


def test_masked_l1_takes_the_real_faces_at_their_cells_only():
    # (B=1, C=2, H=2, W=2): channel 0 holds 0..3, channel 1 holds 10..13 (flat cell index = value)
    prediction = torch.stack([torch.arange(4.0), torch.arange(4.0) + 10]).view(1, 2, 2, 2)
    index = torch.tensor([[3, 1]])
    mask = torch.tensor([[1.0, 0.0]])  # the second slot is padding
    target = torch.tensor([[[2.0, 15.0], [100.0, 100.0]]])
    # |3 − 2| + |13 − 15| = 3 over 1 face × 2 channels
    assert masked_l1(prediction, index, mask, target).item() == pytest.approx(3 / (2 + 1e-4), rel=1e-6)
    both = torch.tensor([[1.0, 1.0]])
    expected = (1 + 2 + abs(1 - 100) + abs(11 - 100)) / (4 + 1e-4)
    assert masked_l1(prediction, index, both, target).item() == pytest.approx(expected, rel=1e-6)


def test_centernet_loss_weighs_size_by_0_1_and_offset_by_1_by_default():
    heatmap = torch.tensor([0.0, _logit(0.25), _logit(0.25), _logit(0.25)]).view(1, 1, 2, 2)
    size = torch.full((1, 2, 2, 2), 4.0)
    offset = torch.full((1, 2, 2, 2), 0.25)
    output = DetectorOutput(heatmap=heatmap, size=size, offset=offset, feature=torch.zeros(1, 1, 2, 2))
    targets = {
        "heatmap": torch.tensor([1.0, 0.0, 0.0, 0.0]).view(1, 1, 2, 2),
        "index": torch.tensor([[0]]),
        "mask": torch.tensor([[1.0]]),
        "size": torch.tensor([[[6.0, 2.0]]]),  # |4 − 6| + |4 − 2| = 4 over 2 → 2
        "offset": torch.tensor([[[0.75, 0.25]]]),  # 0.5 over 2 → 0.25
    }
    heat = -(math.log(0.5) * 0.25 + 3 * math.log(0.75) * 0.25**2)
    size_l1, offset_l1 = 4 / (2 + 1e-4), 0.5 / (2 + 1e-4)
    total, parts = centernet_loss(output, targets)
    assert parts == pytest.approx({"heatmap": heat, "size": size_l1, "offset": offset_l1}, rel=1e-5)
    assert total.item() == pytest.approx(heat + 0.1 * size_l1 + 1.0 * offset_l1, rel=1e-5)
    total, _ = centernet_loss(output, targets, lambda_size=1.0, lambda_offset=2.0)
    assert total.item() == pytest.approx(heat + size_l1 + 2 * offset_l1, rel=1e-5)


def test_focal_loss_clamps_a_confident_missed_face_centre_to_1e_4_from_below():
    # sigmoid(−50) ≈ 2e-22 is clamped up to 1e-4: the missed centre costs −log(1e-4)·(1 − 1e-4)² ≈ 9.21
    # (unclamped it would cost about 50); the background cell at −50 costs −log(1 − 1e-4)·(1e-4)²
    logits = torch.tensor([-50.0, -50.0]).view(1, 1, 1, 2)
    target = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
    expected = -(math.log(1e-4) * (1 - 1e-4) ** 2 + math.log(1 - 1e-4) * 1e-8)
    assert focal_loss(logits, target).item() == pytest.approx(expected, rel=1e-4)
