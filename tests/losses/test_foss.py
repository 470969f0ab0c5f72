import math

import pytest
import torch

from agelab.losses.foss import (
    FossLossWeights,
    face_attribute_loss,
    face_masks,
    foss_loss,
    mean_variance_terms,
)
from agelab.models.centernet import DetectorOutput
from agelab.models.foss import FossOutput


def _output(boxes: list[list[float]], ages_logits: torch.Tensor | None = None) -> FossOutput:
    k = len(boxes)
    zeros = torch.zeros(1, 1, 4, 4)
    logits = ages_logits if ages_logits is not None else torch.zeros(1, k, 101, requires_grad=True)
    return FossOutput(
        DetectorOutput(zeros, torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), zeros),
        torch.tensor([boxes], dtype=torch.float32),
        torch.ones(1, k),
        logits,
        torch.zeros(1, k, 2, requires_grad=True),
    )


def _targets(boxes, ages, genders):
    m = 4
    padded = torch.zeros(1, m, 4)
    padded[0, : len(boxes)] = torch.tensor(boxes, dtype=torch.float32)
    mask = torch.zeros(1, m)
    mask[0, : len(boxes)] = 1
    age = torch.full((1, m), math.nan)
    age[0, : len(ages)] = torch.tensor(ages, dtype=torch.float32)
    gender = torch.full((1, m), -1, dtype=torch.long)
    gender[0, : len(genders)] = torch.tensor(genders)
    return {"boxes": padded, "box_mask": mask, "ages": age, "genders": gender}


def test_masks_exclude_low_iou_boxes_and_faces_without_labels():
    truth = [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]]
    targets = _targets(truth, [30.0, math.nan, 50.0], [1, 0, -1])
    predicted = [
        [0, 0, 10, 10],  # IoU 1 with face 0: age and gender
        [20, 20, 30, 31],  # IoU 0.91 with face 1: no age label (detection-only) -> age masked, gender kept
        [40, 40, 50, 50],  # face 2: age kept, no gender label -> gender masked
        [0, 0, 10, 30],  # IoU 1/3 with face 0: above th_iou 0.3 -> kept
        [0, 0, 10, 40],  # IoU 1/4: at most 0.3 -> b_iou masks it
        [60, 60, 70, 70],  # no overlap at all
    ]
    age_mask, gender_mask, ages, genders = face_masks(_output(predicted), targets, 0.3)
    assert age_mask[0].tolist() == [True, False, True, True, False, False]
    assert gender_mask[0].tolist() == [True, True, False, True, False, False]
    assert ages[0, 3] == 30.0 and genders[0, 1] == 0


def test_padding_faces_are_never_matched():
    targets = _targets([[0, 0, 10, 10]], [30.0], [1])  # three padding rows with box (0, 0, 0, 0)
    age_mask, _, _, _ = face_masks(_output([[0, 0, 1, 1]]), targets, 0.0)
    assert age_mask[0].tolist() == [True]  # matched to the real face (IoU 0.01 > 0), not to padding


def test_mean_variance_terms_on_a_known_distribution():
    logits = torch.full((1, 101), -1e9)
    logits[0, 20] = logits[0, 30] = 0.0  # p = 0.5 at 20 and 30: mean 25, variance 25
    mean_term, variance_term = mean_variance_terms(logits, torch.tensor([27.0]))
    assert mean_term.item() == pytest.approx(0.5 * 4.0)
    assert variance_term.item() == pytest.approx(25.0)


def test_loss_is_normalised_by_the_unmasked_faces():
    truth = [[0, 0, 10, 10]]
    targets = _targets(truth, [30.0], [1])
    weights = FossLossWeights(detection=False, gender=0.0)
    one, _ = foss_loss(_output([[0, 0, 10, 10]]), targets, weights)
    two, parts = foss_loss(_output([[0, 0, 10, 10], [0, 0, 10, 10.5]]), targets, weights)
    assert parts["faces_with_age"] == 2
    assert two.item() == pytest.approx(one.item(), rel=1e-6)  # same faces twice: same mean
    none, parts = foss_loss(_output([[60, 60, 70, 70]]), targets, weights)
    assert none.item() == 0.0 and parts["faces_with_age"] == 0
    none.backward()  # all masked: still a graph, nothing to learn


def _peaked(ages: list[int]) -> torch.Tensor:
    """Logits of a softmax that is uniform over ``ages`` and 0 elsewhere."""
    logits = torch.full((101,), -1e9)
    logits[ages] = 0.0
    return logits


def test_foss_loss_on_a_masked_batch_equals_the_hand_computed_value():
    """§3.2 on B = 2 images, K = 3 boxes each, distinct λ: only the unmasked faces count, and the sums are
    divided by N_a = 2 and N_g = 3 (not by B · K = 6, nor by each other)."""
    weights = FossLossWeights(mean=0.1, variance=0.01, cross_entropy=1.0, gender=0.5, detection=False)
    boxes = torch.tensor(
        [
            [[0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 40]],  # face 0; face 1 (no age); IoU 1/4: b_iou 0
            [[0, 0, 20, 20], [50, 50, 60, 60], [100, 100, 110, 110]],  # face 2; two misses
        ],
        dtype=torch.float32,
    )
    uniform = torch.zeros(101)  # what the masked boxes predict: would add ln 101 CE, a mean loss ~ 800, ...
    age_logits = torch.stack(
        [
            torch.stack([_peaked([20, 30]), uniform, uniform]),
            torch.stack([_peaked([10, 20, 30]), uniform, uniform]),
        ]
    ).requires_grad_()
    gender_logits = torch.zeros(2, 3, 2)  # p = 1/2: CE ln 2 for either label
    gender_logits[1, 0, 0] = math.log(3)  # face 2: p(female) = 3/4
    gender_logits.requires_grad_()
    zeros = torch.zeros(2, 1, 4, 4)
    output = FossOutput(
        DetectorOutput(zeros, torch.zeros(2, 2, 4, 4), torch.zeros(2, 2, 4, 4), zeros),
        boxes,
        torch.ones(2, 3),
        age_logits,
        gender_logits,
    )
    targets = {
        "boxes": torch.zeros(2, 4, 4),
        "box_mask": torch.zeros(2, 4),
        "ages": torch.full((2, 4), math.nan),
        "genders": torch.full((2, 4), -1, dtype=torch.long),
    }
    targets["boxes"][0, :2] = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30]])
    targets["boxes"][1, 0] = torch.tensor([0, 0, 20, 20])
    targets["box_mask"][0, :2] = targets["box_mask"][1, 0] = 1
    targets["ages"][0, 0], targets["ages"][1, 0] = 30.0, 20.0
    targets["genders"][0, :2] = torch.tensor([1, 0])
    targets["genders"][1, 0] = 0
    total, parts = foss_loss(output, targets, weights)
    # face 0, age 30: p = 1/2 at 20 and 30 → m = 25, v = 25; L_mean = (25 − 30)²/2 = 12.5, L_ce = ln 2
    face_0 = 0.1 * 12.5 + 0.01 * 25.0 + 1.0 * math.log(2)
    # face 2, age 20: p = 1/3 at 10, 20, 30 → m = 20, v = 200/3; L_mean = 0, L_ce = ln 3
    face_2 = 0.1 * 0.0 + 0.01 * 200 / 3 + 1.0 * math.log(3)
    age = (face_0 + face_2) / 2  # 1.979213
    gender = 0.5 * (math.log(2) + math.log(2) + math.log(4 / 3)) / 3  # faces 0, 1 (ln 2) and 2 (−ln 3/4)
    assert parts["faces_with_age"] == 2
    assert parts["age"] == pytest.approx(age, rel=1e-6)
    assert parts["gender"] == pytest.approx(gender, rel=1e-6)
    assert total.item() == pytest.approx(age + gender, rel=1e-6)
    total.backward()
    assert age_logits.grad[:, 1:].abs().max() == 0  # masked boxes get no gradient


def test_faces_without_labels_still_reach_both_heads_with_zero_gradient():
    """DDP needs every head on the graph: a rank whose batch has no age or gender label (detection images)
    gets zero gradients, not none."""
    output = _output([[0, 0, 10, 10]])
    loss, parts = foss_loss(output, _targets([[0, 0, 10, 10]], [], []), FossLossWeights(detection=False))
    assert loss.item() == 0.0 and parts["faces_with_age"] == 0
    loss.backward()
    for logits in (output.age_logits, output.gender_logits):
        assert logits.grad is not None and torch.equal(logits.grad, torch.zeros_like(logits))
    labelled = _output([[0, 0, 10, 10]])
    loss, _ = foss_loss(labelled, _targets([[0, 0, 10, 10]], [30.0], []), FossLossWeights(detection=False))
    loss.backward()  # an age but no gender: the gender head still gets its (zero) gradient
    assert torch.equal(labelled.gender_logits.grad, torch.zeros_like(labelled.gender_logits))
    assert labelled.age_logits.grad.abs().sum() > 0


def test_detection_loss_is_added_with_its_own_size_and_offset_weights():
    """L = L_det + L_age + L_gen with L_det = L_reg + λ_size L_size + λ_off L_off, each λ where it belongs."""
    weights = FossLossWeights(size=0.2, offset=0.5)  # distinct from each other and from the defaults
    targets = _targets([[0, 0, 10, 10]], [30.0], [1])
    targets["heatmap"] = torch.zeros(1, 1, 4, 4)
    targets["heatmap"][0, 0, 0, 0] = 1.0  # one face centre, at cell 0
    targets["index"] = torch.zeros(1, 4, dtype=torch.long)
    targets["mask"] = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    targets["size"] = torch.zeros(1, 4, 2)
    targets["size"][0, 0] = torch.tensor([3.0, 4.0])
    targets["offset"] = torch.zeros(1, 4, 2)
    targets["offset"][0, 0] = torch.tensor([0.5, 0.25])
    # the one predicted box misses the face: no age or gender term, L = L_det
    total, parts = foss_loss(_output([[60, 60, 70, 70]]), targets, weights)
    # zero logits: p = 1/2 in all 16 cells; the peak adds −ln(1/2)·(1/2)² and each of the 15 others (target
    # 0, weight (1 − 0)⁴ = 1) −ln(1/2)·(1/2)²: L_reg = 16 · ln 2 / 4 = 4 ln 2, over 1 face
    heat = 4 * math.log(2)
    size = (3 + 4) / (2 + 1e-4)  # zero predictions: L1 sum 7 over 2 unmasked values (+1e-4)
    offset = (0.5 + 0.25) / (2 + 1e-4)
    assert parts["heatmap"] == pytest.approx(heat, rel=1e-6)
    assert parts["size"] == pytest.approx(size, rel=1e-6)
    assert parts["offset"] == pytest.approx(offset, rel=1e-6)
    assert parts["faces_with_age"] == 0
    assert total.item() == pytest.approx(heat + 0.2 * size + 0.5 * offset, rel=1e-6)  # 3.148657


def test_target_ages_are_clamped_to_the_range_of_the_age_logits():
    """Ages outside 0..C−1 (C = the logits' width, here 5) are clamped to it before L_mean and L_ce."""
    weights = FossLossWeights(mean=1.0, variance=0.5, cross_entropy=0.25, detection=False)
    truth = [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50], [60, 60, 70, 70]]
    targets = _targets(truth, [-3.0, 0.4, 4.0, 9.0], [])
    age_logits = torch.zeros(1, 4, 5, requires_grad=True)  # uniform over ages 0..4: m = 2, v = 2, CE ln 5
    _, parts = foss_loss(_output(truth, age_logits), targets, weights)
    # clamped targets 0, 0.4, 4, 4: L_mean = (2 − y)²/2 = 2, 1.28, 2, 2 (sum 7.28); CE targets 0, 0, 4, 4
    expected = (7.28 + 0.5 * 2 * 4 + 0.25 * math.log(5) * 4) / 4  # 2.82 + ln 5 / 4 = 3.222359
    assert parts["faces_with_age"] == 4
    assert parts["age"] == pytest.approx(expected, rel=1e-6)


def test_mean_variance_terms_keep_the_age_classes_on_the_device_of_the_logits():
    # on the meta device (shapes only, no data) a class vector left on the CPU could not meet the logits
    mean, variance = mean_variance_terms(torch.zeros(2, 101, device="meta"), torch.zeros(2, device="meta"))
    assert mean.device.type == variance.device.type == "meta" and mean.shape == variance.shape == (2,)


def test_face_attribute_loss_of_crops_equals_the_hand_computed_value():
    """Three crops (the age pre-training's batch), distinct λ so each weight shows. Face 0: p = ⅓ at ages 20,
    27 and 30, true age 27.4 (CE at 27), male; face 1: no age, female; face 2: p = 1 at 40, true age 40.4
    (variance and CE 0), no gender. N_a = N_g = 2."""
    logits = torch.full((3, 101), -1e9)
    logits[0, [20, 27, 30]] = 0.0
    logits[2, 40] = 0.0
    age_logits = logits.clone().requires_grad_(True)
    gender_logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0], [2.0, 0.0]], requires_grad=True)
    weights = FossLossWeights(mean=0.01, variance=0.002, cross_entropy=0.05, gender=0.3)
    ages = torch.tensor([27.4, math.nan, 40.4])
    genders = torch.tensor([1, 0, -1])
    total, parts = face_attribute_loss(age_logits, gender_logits, ages, genders, weights)
    mean = (20 + 27 + 30) / 3
    variance = ((20 - mean) ** 2 + (27 - mean) ** 2 + (30 - mean) ** 2) / 3
    face_0 = 0.01 * 0.5 * (mean - 27.4) ** 2 + 0.002 * variance + 0.05 * math.log(3)
    face_2 = 0.01 * 0.5 * 0.4**2
    age = (face_0 + face_2) / 2  # the NaN age does not count
    gender = 0.3 * (-math.log(0.75) - math.log(0.5)) / 2  # male at p ¾, female at p ½; face 2 not counted
    assert parts["age"] == pytest.approx(age, rel=1e-5)
    assert parts["gender"] == pytest.approx(gender, rel=1e-5)
    assert total.item() == pytest.approx(age + gender, rel=1e-5)
    total.backward()
    assert age_logits.grad[1].abs().sum() == 0  # the face without an age takes no age gradient
    assert gender_logits.grad[2].abs().sum() == 0  # nor the one without a gender a gender gradient
    none, parts = face_attribute_loss(
        age_logits, gender_logits, torch.full((3,), math.nan), torch.full((3,), -1), weights
    )
    assert none.item() == 0.0 and parts == {}
