"""Nested MLflow runs: one child run per training run of an experiment, under the run that is active
(kedro-mlflow's run of the whole pipeline). Outside a run (plain library use) nothing is logged."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

MLFLOW_PARAM_CHARS = 6000  # MLflow 3's limit on one parameter value


@contextmanager
def child_run(
    name: str, *, run_id: str | None = None, tags: Mapping[str, str] | None = None
) -> Iterator[str | None]:
    """Start (or, with ``run_id``, resume) a child run of the active run; yields its id or ``None``."""
    import mlflow

    if mlflow.active_run() is None:
        yield None
        return
    with mlflow.start_run(
        run_id=run_id, run_name=None if run_id else name, nested=True, tags=dict(tags or {})
    ) as run:
        yield run.info.run_id


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested parameters as dotted keys with string values (lists kept as their repr)."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:MLFLOW_PARAM_CHARS]
    return flat


def log_params(params: Mapping[str, Any]) -> None:
    """Log nested parameters to the active run in batches MLflow accepts (100 per call)."""
    import mlflow

    if mlflow.active_run() is None:
        return
    items = list(flatten(params).items())
    for start in range(0, len(items), 100):
        mlflow.log_params(dict(items[start : start + 100]))
