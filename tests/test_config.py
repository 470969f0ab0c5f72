from dataclasses import dataclass, field

import pytest

from agelab.config import ConfigError, from_mapping


@dataclass(frozen=True)
class Inner:
    a: int = 1


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    sizes: tuple[int, ...] = (1, 2)
    inner: Inner = field(default_factory=Inner)


def test_builds_nested_frozen_config():
    config = from_mapping(Outer, {"name": "y", "sizes": [3, 4], "inner": {"a": 7}})
    assert config == Outer("y", (3, 4), Inner(7))


@dataclass(frozen=True)
class Pair:
    a: int = 1
    b: int = 2


@dataclass(frozen=True)
class Parent:
    pair: Pair = field(default_factory=lambda: Pair(b=20))  # the parent's own default for a nested setting
    optional: Pair | None = field(default_factory=lambda: Pair(a=10))


def test_a_nested_mapping_changes_only_the_keys_it_names_of_the_parents_default():
    """A parameters file says only what differs: the keys it leaves out keep the parent's defaults, not the
    nested class's own (recon3d's shuffled batches under a training block that names only the schedule)."""
    assert from_mapping(Parent, {"pair": {"a": 5}}) == Parent(Pair(5, 20), Pair(10, 2))
    assert from_mapping(Parent, {"optional": {"b": 7}}).optional == Pair(10, 7)
    assert from_mapping(Parent, {"optional": None}).optional is None
    assert from_mapping(Parent, {}) == Parent()
    assert from_mapping(Outer, {"inner": {}}) == Outer()


def test_the_3d_subnet_keeps_its_shuffled_batches_when_its_schedule_is_given():
    from agelab.training.reconstruction_training import recon3d_config

    assert recon3d_config({}).training.alternate_age_groups is False
    assert recon3d_config({"training": {"epochs": 2}}).training.alternate_age_groups is False
    assert recon3d_config({"training": {"epochs": 2}}).training.epochs == 2


def test_unknown_key_names_key_and_section():
    with pytest.raises(ConfigError, match=r"\['nmae'\].*data\.synthetic"):
        from_mapping(Outer, {"nmae": "typo"}, where="data.synthetic")


def test_unknown_nested_key_is_reported_with_its_path():
    with pytest.raises(ConfigError, match=r"section\.inner"):
        from_mapping(Outer, {"inner": {"b": 1}}, where="section")


def test_the_paper_foss_schedule_decays_at_50_and_70():
    """FOSS §4.2: the joint stage multiplies the learning rate by 0.1 at epochs 50 and 70 (not once)."""
    import yaml

    from agelab.training.foss_config import FossConfig
    from tests.conftest import PROJECT_ROOT

    params = yaml.safe_load((PROJECT_ROOT / "conf/paper/parameters_foss.yml").read_text())["foss"]
    config = from_mapping(FossConfig, params, where="foss")
    assert config.training.engine.lr_milestones == (50, 70)
    assert config.training.engine.lr_gamma == 0.1 and config.training.engine.epochs == 80
    assert config.detector_training.lr_milestones == (90, 120)
