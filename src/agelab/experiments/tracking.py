"""Nested MLflow runs: one child run per training run of an experiment, under the run that is active
(kedro-mlflow's run of the whole pipeline). Outside a run (plain library use) nothing is logged."""

from __future__ import annotations

import dataclasses
import warnings
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
    _log_flat(flatten(params))


def _log_flat(params: Mapping[str, str]) -> None:
    """Dotted string parameters to the active run, 100 per call; nothing outside a run."""
    import mlflow

    if mlflow.active_run() is None:
        return
    items = list(params.items())
    for start in range(0, len(items), 100):
        mlflow.log_params(dict(items[start : start + 100]))


def log_defaults(name: str, config: Any, given: Mapping[str, Any] | None) -> dict[str, str]:
    """Log as MLflow parameters ``{name}.<key>`` every setting of ``config`` (a configuration dataclass) that
    ``given`` — the parameters file's mapping, which kedro-mlflow logs itself — leaves to its default. The
    parameters files name only what differs from the defaults; with this a run's parameters in the MLflow
    UI are still the whole configuration it trained with. Returns what was (or, outside a run, would be)
    logged."""

    named = flatten(dict(given or {}), f"{name}.")
    resolved = flatten(dataclasses.asdict(config), f"{name}.")
    defaults = {
        key: value
        for key, value in resolved.items()
        if key not in named and not any(key.startswith(f"{n}.") for n in named)
    }
    _log_flat(defaults)
    return defaults


#: MLflow 3's experiment tag that chooses what its UI opens on; without it an experiment opens on the GenAI
#: (traces) view. agelab's experiments hold training runs.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
TRAINING_EXPERIMENT = "custom_model_development"


def tag_training_experiment() -> str | None:
    """Tag the active run's experiment as one of training runs, so the MLflow UI opens it on the runs table
    (metrics, parameters, datasets) instead of the GenAI view. Returns the experiment id, ``None`` outside a
    run."""
    import mlflow

    run = mlflow.active_run()
    if run is None:
        return None
    experiment_id = run.info.experiment_id
    client = mlflow.MlflowClient()
    if client.get_experiment(experiment_id).tags.get(EXPERIMENT_KIND_TAG) != TRAINING_EXPERIMENT:
        client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, TRAINING_EXPERIMENT)
    return experiment_id


#: where ``mlflow ui`` serves by default
MLFLOW_UI = "http://127.0.0.1:5000"


def run_page_link(experiment_id: str, run_id: str, ui: str = MLFLOW_UI) -> str:
    """The MLflow UI page of one run, opened in the UI's "Model training" workflow. MLflow 3.17's UI keeps
    that choice per browser (``localStorage``, default GenAI) and does not take it from the experiment's
    ``mlflow.experimentKind`` tag (mlflow/mlflow#24498); the ``workflowType`` query parameter sets it."""
    return f"{ui.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"


def log_training_data(faces: Any, name: str, *, context: str = "training") -> None:
    """Log the faces a model trains on as the run's MLflow dataset input — a name (e.g. ``utkface train``),
    the folder the images come from (their common path), a digest of the rows and their count — so the runs
    table's Dataset column says what each run trained on. ``faces``: face index rows (``image_path``,
    ``sha256``, ``age``, ``split``, …); nothing is logged outside a run."""
    import os

    import mlflow
    from pandas.api.types import is_numeric_dtype

    if mlflow.active_run() is None or faces.empty:
        return
    columns = [c for c in ("dataset", "image_path", "sha256", "face", "age", "split") if c in faces.columns]
    table = faces[columns].reset_index(drop=True)
    for column in table.columns:
        if not is_numeric_dtype(table[column]):
            table[column] = table[column].astype(str)
    paths = [os.path.abspath(str(p)) for p in faces["image_path"]] if "image_path" in faces else []
    source = os.path.commonpath(paths) if paths else os.path.abspath(".")
    if len(paths) == 1:
        source = os.path.dirname(source)
    with warnings.catch_warnings():
        # MLflow 3.x's own notices, nothing a user can act on: a local path matches two registered
        # LocalArtifactDatasetSource resolvers, and its digest calls pandas' `all` positionally
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
        warnings.filterwarnings("ignore", message=".*all arguments of all will be keyword-only")
        dataset = mlflow.data.from_pandas(table, source=source, name=name)
        mlflow.log_input(dataset, context=context)


def training_data_name(data_params: Mapping[str, Any], split: str) -> str:
    """A run's dataset input name: the data pipeline's datasets and the split, e.g. ``utkface train``."""
    return f"{'+'.join(data_params.get('datasets', [])) or 'faces'} {split}"


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
