"""A comparison run's parameters are checked by its model's own parser before anything trains, and its
MLflow child run is tagged with what it is. (Training and evaluating runs is exercised end to end by
tests/pipelines/compare/test_pipeline.py.)"""

import pytest

from agelab.config import ConfigError
from agelab.experiments.grid import Variant, compare_config
from agelab.experiments.variant_runs import checked_run_parameters, run_tags

SPS = {"sharing": "sps", "model": {"kappa_same": 0.5}, "training": {"epochs": 2, "seed": 0}}


def test_checked_parameters_carry_the_overrides_and_the_seed():
    config = compare_config({"overrides": {"sps": {"training": {"epochs": 1}}}})
    params = checked_run_parameters(SPS, config, Variant("sps_seed3", "sps", 3))
    assert params["training"] == {"epochs": 1, "seed": 3}
    assert SPS["training"] == {"epochs": 2, "seed": 0}  # the model's own parameters are not modified


@pytest.mark.parametrize("model", ["appearance", "sps"])
def test_a_misspelt_key_is_refused_naming_the_key_and_the_run(model):
    config = compare_config({"overrides": {model: {"training": {"epoch": 1}}}})
    with pytest.raises(ConfigError, match=rf"epoch.*{model} parameters of compare run {model}_seed0"):
        checked_run_parameters(
            {"training": {}} if model == "appearance" else SPS, config, Variant(f"{model}_seed0", model, 0)
        )


def test_run_tags_name_the_sweep_only_for_a_sweep_point():
    assert run_tags(Variant("sps_seed1", "sps", 1)) == {
        "agelab.variant": "sps_seed1",
        "agelab.model": "sps",
        "agelab.seed": "1",
    }
    assert run_tags(Variant("hps_w_0p9", "hps", 0, "hps_w", 0.9))["agelab.sweep"] == "hps_w"
