"""Savov et al. Eq. 12 (hard sharing: (1 − w)·L_fit + w·L_dist) and soft sharing's plain sum (§3.3)."""

import pytest
import torch

from agelab.losses.age import age_distance_loss
from agelab.losses.multitask import MultiTaskObjective
from agelab.losses.reconstruction import FitObjective, FitWeights
from agelab.morphable.camera import Camera
from agelab.morphable.fitting import neutral_params, place_mean_face
from agelab.morphable.procedural import build_procedural_model


def _batch():
    model = build_procedural_model().model
    camera = Camera.for_image(64)
    landmarks = (torch.tensor([32.0, 32.0]) + torch.linspace(-15, 15, 68)[:, None])[None].repeat(2, 1, 1)
    params = neutral_params(2)
    params.tau = place_mean_face(model, camera, landmarks)
    z = params.to_vector()
    z[:, :80] += 0.3  # an identity away from the mean: Tikhonov and landmark terms are non-zero
    targets = {
        "image": torch.full((2, 3, 64, 64), 0.4),
        "landmarks": landmarks + 2.0,
        "landmark_weight": torch.ones(2),
        "age": torch.tensor([3.0, 7.0]),
    }
    logits = torch.linspace(-1, 1, 2 * 11).view(2, 11)
    return FitObjective(model, camera, FitWeights()), z, logits, targets


@pytest.mark.parametrize(("w", "fit_weight", "dist_weight"), [(0.3, 0.7, 0.3), (0.9, 0.1, 0.9), (None, 1, 1)])
def test_objective_weights_fit_by_one_minus_w_and_dist_by_w(w, fit_weight, dist_weight):
    fit, z, logits, targets = _batch()
    l_fit = float(fit(z, targets))
    l_dist = float(age_distance_loss(logits, targets["age"], 0, 0.2))
    assert l_fit > 0 and l_dist > 0 and abs(l_fit - l_dist) > 0.1 * max(l_fit, l_dist)  # weights tell apart
    objective = MultiTaskObjective(fit, w=w, min_age=0, lambda_dist=0.2)
    total = float(objective((logits, z), targets))
    assert total == pytest.approx(fit_weight * l_fit + dist_weight * l_dist, rel=1e-5)
    assert objective.take_running_means()["dist"] == pytest.approx(l_dist, rel=1e-5)


def test_w_outside_the_unit_interval_is_refused():
    fit, *_ = _batch()
    with pytest.raises(ValueError, match=r"w = 1\.5"):
        MultiTaskObjective(fit, w=1.5, min_age=0, lambda_dist=0.2)


@pytest.mark.parametrize("w", [0.0, 1.0])
def test_w_at_either_end_of_the_unit_interval_is_accepted_and_keeps_one_term(w):
    fit, z, logits, targets = _batch()
    l_fit = float(fit(z, targets))
    l_dist = float(age_distance_loss(logits, targets["age"], 0, 0.2))
    objective = MultiTaskObjective(fit, w=w, min_age=0, lambda_dist=0.2)
    # w = 0 is the fit alone, w = 1 the age loss alone
    assert float(objective((logits, z), targets)) == pytest.approx(l_dist if w else l_fit, rel=1e-5)


def test_lambda_dist_reaches_the_age_loss_and_dist_is_a_face_weighted_running_mean_reset_on_take():
    fit, z, logits, targets = _batch()
    one = {key: value[:1] for key, value in targets.items()}
    l_fit = float(fit(z, targets))
    fit.take_running_means()
    both = float(age_distance_loss(logits, targets["age"], 0, 1.0))  # λ_dist = 1, not the default 0.2
    first = float(age_distance_loss(logits[:1], one["age"], 0, 1.0))
    assert abs(both - float(age_distance_loss(logits, targets["age"], 0, 0.2))) > 0.1
    objective = MultiTaskObjective(fit, w=None, min_age=0, lambda_dist=1.0)
    assert float(objective((logits, z), targets)) == pytest.approx(l_fit + both, rel=1e-5)
    objective((logits[:1], z[:1]), one)
    # two faces at `both`, then one face at `first`: (2·both + first) / 3
    assert objective.take_running_means()["dist"] == pytest.approx((2 * both + first) / 3, rel=1e-5)
    assert objective.take_running_means()["dist"] == 0.0  # nothing since the last take
    objective((logits[:1], z[:1]), one)
    assert objective.take_running_means()["dist"] == pytest.approx(first, rel=1e-5)  # one face: / 1
