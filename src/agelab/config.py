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


def from_mapping(
    cls: type[T], values: Mapping[str, Any] | None, *, where: str = "", base: T | None = None
) -> T:
    """Build the frozen dataclass ``cls`` from ``values``: the keys given replace those of ``base`` (or of
    ``cls``'s defaults).

    Unknown keys raise :class:`ConfigError` naming the key, the known keys and ``where`` (e.g. the
    parameters file section). Nested dataclass fields are built recursively on top of the field's own
    default (a parent may default a nested setting differently from the nested class: a parameters file
    then names only what differs from the parent's defaults); tuples are converted from lists so the result
    stays hashable.
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
        default = _field_default(fields[name], base)
        kwargs[name] = _coerce(hints.get(name), value, f"{label}.{name}", default)
    try:
        return dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)
    except TypeError as exc:  # missing required keys
        raise ConfigError(f"{label}: {exc}") from exc


def _field_default(field: dataclasses.Field, base: Any) -> Any:
    """The value ``field`` takes when not given: ``base``'s, else the field's default; None when required."""
    if base is not None:
        return getattr(base, field.name)
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default


def _coerce(hint: Any, value: Any, where: str, default: Any = None) -> Any:
    if hint is None or value is None:
        return value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            return _coerce(arg, value, where, default)
        return value
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        base = default if isinstance(default, hint) else None
        return from_mapping(hint, value, where=where, base=base)
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
