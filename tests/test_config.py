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
