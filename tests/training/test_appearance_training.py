import pytest
import torch

from agelab.config import ConfigError
from agelab.losses.age import age_distance_loss
from agelab.training.appearance_training import appearance_config, appearance_loss


def test_the_training_loss_is_eq11_with_the_configured_ages_weight_and_label_distribution():
    logits = torch.randn(4, 11, generator=torch.Generator().manual_seed(0))
    ages = torch.tensor([12.0, 15.4, 19.0, 10.0])
    config = appearance_config(
        {"model": {"min_age": 10, "max_age": 20}, "lambda_dist": 0.5, "label_sigma": 2.0}
    )
    expected = age_distance_loss(logits, ages, 10, 0.5, label_sigma=2.0)
    assert appearance_loss(config)(logits, ages).item() == pytest.approx(expected.item(), abs=1e-7)
    one_hot = appearance_config({"model": {"min_age": 10, "max_age": 20}, "lambda_dist": 0.5})
    assert one_hot.label_sigma == 0.0  # the paper's one-hot target by default
    assert appearance_loss(one_hot)(logits, ages).item() == pytest.approx(
        age_distance_loss(logits, ages, 10, 0.5).item(), abs=1e-7
    )
    assert appearance_loss(one_hot)(logits, ages).item() != pytest.approx(expected.item(), abs=1e-3)


def test_a_negative_label_sigma_is_refused_not_taken_for_one_hot():
    with pytest.raises(ConfigError, match="label_sigma must be 0"):
        appearance_config({"label_sigma": -1.0})
