import pytest

from agelab.config import ConfigError
from agelab.experiments.grid import Variant, compare_config, merge_overrides, plan_runs, run_parameters

SPS = {"sharing": "sps", "model": {"kappa_same": 0.5}, "w": 0.3, "training": {"epochs": 6, "seed": 0}}
HPS = {"sharing": "hps", "w": 0.3, "training": {"epochs": 6, "seed": 0}}
MODELS = {"appearance": {"training": {"epochs": 14, "seed": 0}}, "hps": HPS, "sps": SPS}


def test_seeds_times_models_plus_sweep_points_with_the_configured_value_reused():
    config = compare_config(
        {
            "seeds": [0, 1, 2],
            "sweeps": {
                "sps_kappa": {"model": "sps", "parameter": "model.kappa_same", "values": [0.9, 0.5]},
                "hps_w": {"model": "hps", "parameter": "w", "values": [0.1, 0.3]},
            },
        }
    )
    plan = plan_runs(config, MODELS)
    names = [v.name for v in plan.variants]
    assert names[:9] == [f"{m}_seed{s}" for m in ("appearance", "hps", "sps") for s in (0, 1, 2)]
    assert names[9:] == ["sps_kappa_0p9", "hps_w_0p1"]
    assert plan.sweep_points["sps_kappa"] == ((0.9, "sps_kappa_0p9"), (0.5, "sps_seed0"))
    assert plan.sweep_points["hps_w"] == ((0.1, "hps_w_0p1"), (0.3, "hps_seed0"))
    assert [v.seed for v in plan.repeated("sps")] == [0, 1, 2]


def test_seeds_may_be_a_count_as_command_line_parameters_cannot_carry_lists():
    assert compare_config({"seeds": 3}).seeds == (0, 1, 2)
    with pytest.raises(ConfigError, match="positive count"):
        compare_config({"seeds": 0})


def test_null_sweeps_plan_only_the_repeated_runs():
    # conf/real sets `sweeps: null`: Kedro's soft merge keeps the base's sweeps under an environment's `{}`
    plan = plan_runs(compare_config({"seeds": [0, 1], "sweeps": None}), MODELS)
    assert [v.name for v in plan.variants] == [
        f"{m}_seed{s}" for m in ("appearance", "hps", "sps") for s in (0, 1)
    ]
    assert plan.sweep_points == {}


def test_an_override_changes_which_sweep_point_is_reused():
    config = compare_config(
        {
            "overrides": {"hps": {"w": 0.1}},
            "sweeps": {"hps_w": {"model": "hps", "parameter": "w", "values": [0.1, 0.3]}},
        }
    )
    assert plan_runs(config, MODELS).sweep_points["hps_w"] == ((0.1, "hps_seed0"), (0.3, "hps_w_0p3"))


def test_run_parameters_apply_overrides_sweep_value_and_seed_without_touching_the_base():
    config = compare_config(
        {
            "overrides": {"sps": {"training": {"epochs": 2}}},
            "sweeps": {"k": {"model": "sps", "parameter": "model.kappa_same", "values": [0.8]}},
        }
    )
    params = run_parameters(SPS, config, Variant("k_0p8", "sps", 3, "k", 0.8))
    assert params["training"] == {"epochs": 2, "seed": 3}
    assert params["model"]["kappa_same"] == 0.8
    assert params["w"] == 0.3
    assert SPS["training"] == {"epochs": 6, "seed": 0} and SPS["model"]["kappa_same"] == 0.5


def test_nested_overrides_keep_sibling_keys():
    merged = merge_overrides({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": 5}, "d": [2, 3]}, where="x")
    assert merged == {"a": {"b": 5, "c": 2}, "d": [2, 3]}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"seed": [0]}, r"unknown key\(s\) \['seed'\]"),
        ({"models": ["appearance", "sps", "vgg"]}, "unknown model 'vgg'"),
        ({"seeds": [0, 0]}, "repeats a seed"),
        ({"models": ["appearance", "hps"]}, "needs the 'sps' runs"),
        ({"sweeps": {"s": {"model": "sps", "parameter": "w", "values": []}}}, "values is empty"),
        ({"sweeps": {"s": {"model": "sps", "paramter": "w"}}}, r"paramter.*compare'.sweeps.s"),
        ({"appearance_init": "imagenet"}, "appearance_init"),
        ({"cross_evaluate": ["agedb"]}, r"names 'agedb', which compare.cross_datasets does not define"),
    ],
)
def test_bad_configuration_names_the_key(params, message):
    with pytest.raises(ConfigError, match=message):
        compare_config(params)
