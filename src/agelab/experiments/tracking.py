"""Nested MLflow runs: one child run per training run of an experiment, under the run that is active
(kedro-mlflow's run of the whole pipeline). Outside a run (plain library use) nothing is logged."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
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


def log_defaults(name: str, config: Any, given: Mapping[str, Any] | None) -> dict[str, str]:
    """Log as MLflow parameters ``{name}.<key>`` every setting of ``config`` (a configuration dataclass) that
    ``given`` — the parameters file's mapping, which kedro-mlflow logs itself — leaves to its default. The
    parameters files name only what differs from the defaults; with this a run's parameters in the MLflow
    UI are still the whole configuration it trained with. Returns what was (or, outside a run, would be)
    logged."""
    import mlflow

    named = flatten(dict(given or {}), f"{name}.")
    resolved = flatten(dataclasses.asdict(config), f"{name}.")
    defaults = {
        key: value
        for key, value in resolved.items()
        if key not in named and not any(key.startswith(f"{n}.") for n in named)
    }
    if mlflow.active_run() is not None:
        items = list(defaults.items())
        for start in range(0, len(items), 100):
            mlflow.log_params(dict(items[start : start + 100]))
    return defaults


class EpochLogger:
    """The training engine's ``on_epoch_end`` for every model.

    Per epoch, ``extra()`` (e.g. the running means of the loss terms, the cross-stitch κ) joins the epoch's
    metrics, so the history and its checkpoints keep them; inside an MLflow run every metric but the epoch
    number is then logged as ``{prefix}.{name}`` at step = epoch, the engine's generic ``val_metric`` under
    ``val_metric_name``. Outside a run nothing is logged (plain library use)."""

    def __init__(
        self,
        prefix: str,
        val_metric_name: str,
        extra: Callable[[], Mapping[str, float]] | None = None,
    ):
        self.prefix = prefix
        self.val_metric_name = val_metric_name
        self.extra = extra

    def __call__(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.extra is not None:
            metrics.update(self.extra())
        self.log(epoch, metrics)

    def log(self, epoch: int, metrics: Mapping[str, float]) -> None:
        import mlflow

        if mlflow.active_run() is None:
            return
        mlflow.log_metrics(
            {
                f"{self.prefix}.{self.val_metric_name if k == 'val_metric' else k}": float(v)
                for k, v in metrics.items()
                if k != "epoch"
            },
            step=epoch,
        )

    def replay(self, history: Sequence[Mapping[str, float]], resumed_from_epoch: int | None) -> None:
        """After a resumed training, log the epochs the checkpoint brought (through ``resumed_from_epoch``)
        so this run's MLflow curves are whole; nothing when training did not resume."""
        if resumed_from_epoch is None:
            return
        for row in history[: resumed_from_epoch + 1]:
            self.log(int(row["epoch"]), row)
