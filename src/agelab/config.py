"""Typed configuration at the library boundary.

Kedro hands parameters over as plain dicts. Every library entry point turns its dict into a frozen
dataclass with :func:`from_mapping`, so that a misspelt key fails loudly with its name instead of being
silently ignored.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration mapping does not match the dataclass it configures."""


def from_mapping(cls: type[T], values: Mapping[str, Any] | None, *, where: str = "") -> T:
    """Build the frozen dataclass ``cls`` from ``values``.

    Unknown keys raise :class:`ConfigError` naming the key, the known keys and ``where`` (e.g. the
    parameters file section). Nested dataclass fields are built recursively; tuples are converted from
    lists so the result stays hashable.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    label = where or cls.__name__
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in {label}; known keys are {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        kwargs[name] = _coerce(hints.get(name), value, f"{label}.{name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # missing required keys
        raise ConfigError(f"{label}: {exc}") from exc


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if hint is None or value is None:
        return value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            return _coerce(arg, value, where)
        return value
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return from_mapping(hint, value, where=where)
    if origin is dict and isinstance(value, Mapping):
        args = typing.get_args(hint)
        inner = args[1] if len(args) == 2 else None
        return {k: _coerce(inner, v, f"{where}.{k}") for k, v in value.items()}
    if origin is tuple and isinstance(value, list | tuple):
        args = typing.get_args(hint)
        inner = args[0] if args else None
        return tuple(_coerce(inner, v, where) for v in value)
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """Plain-dict view of a config dataclass (for logging to MLflow or hashing)."""
    return dataclasses.asdict(config)
