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


def test_unknown_key_names_key_and_section():
    with pytest.raises(ConfigError, match=r"\['nmae'\].*data\.synthetic"):
        from_mapping(Outer, {"nmae": "typo"}, where="data.synthetic")


def test_unknown_nested_key_is_reported_with_its_path():
    with pytest.raises(ConfigError, match=r"section\.inner"):
        from_mapping(Outer, {"inner": {"b": 1}}, where="section")


def test_the_paper_foss_schedule_decays_at_50_and_70():
    """FOSS §4.2: the joint stage multiplies the learning rate by 0.1 at epochs 50 and 70 (not once)."""
    import yaml

    from agelab.pipelines.foss.nodes import FossConfig
    from tests.conftest import PROJECT_ROOT

    params = yaml.safe_load((PROJECT_ROOT / "conf/paper/parameters_foss.yml").read_text())["foss"]
    config = from_mapping(FossConfig, params, where="foss")
    assert config.training.engine.lr_milestones == (50, 70)
    assert config.training.engine.lr_gamma == 0.1 and config.training.engine.epochs == 80
    assert config.detector_training.lr_milestones == (90, 120)
