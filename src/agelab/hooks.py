"""Project hooks (registered in ``settings.HOOKS``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from kedro.framework.hooks import hook_impl

_config_loader: Any = None


class ProjectConfigHook:
    """Keeps the config loader of the run being started (with its ``--env`` and ``--params``) for the
    pipeline registry: Kedro creates the context before it builds the pipelines, and the compare
    pipeline's shape (seeds, sweeps, cross-dataset sets) comes from configuration."""

    @hook_impl
    def after_context_created(self, context) -> None:
        global _config_loader
        _config_loader = context.config_loader


class SharedTrackingStoreHook:
    """Before kedro-mlflow opens the run's MLflow store (``tryfirst``: pluggy would call the plugin's hook
    first), a new SQLite store is created under a lock file, so two ``kedro run``s started together on one
    fresh ``mlflow.db`` do not both migrate its schema and both fail
    (:mod:`agelab.experiments.tracking_store`)."""

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        from kedro.config import MissingConfigException
        from omegaconf.errors import OmegaConfBaseException

        try:
            mlflow_yml = context.config_loader["mlflow"] or {}
        except (MissingConfigException, OmegaConfBaseException):  # kedro-mlflow's defaults and messages apply
            mlflow_yml = {}
        uri = (mlflow_yml.get("server") or {}).get("mlflow_tracking_uri") or os.environ.get(
            "MLFLOW_TRACKING_URI"
        )
        experiment = ((mlflow_yml.get("tracking") or {}).get("experiment") or {}).get("name")
        if uri:
            from agelab.experiments.tracking_store import prepare_sqlite_store

            prepare_sqlite_store(str(uri), experiment)


def current_config_loader() -> Any:
    """The config loader of the current run, or ``None`` outside a Kedro run."""
    return _config_loader


def torchrun_rank() -> int:
    """This process's rank under ``torchrun`` (its ``RANK`` variable); 0 when not launched by it."""
    return int(os.environ.get("RANK", "0"))


class TorchrunHook:
    """``torchrun --nproc_per_node=N -m kedro run --pipelines=<model>_only``: every rank runs the pipeline
    (the training engine shards the batches and all-reduces the gradients), rank 0 alone logs to MLflow.
    ``settings.py`` keeps kedro-mlflow's hooks off on the other ranks; this hook switches off the logging
    of the catalog's MLflow datasets there, which would otherwise start stray runs of their own."""

    @hook_impl
    def before_pipeline_run(self, catalog) -> None:
        rank = torchrun_rank()
        if rank == 0:
            return
        for _name, dataset in catalog.items():
            if type(dataset).__name__.startswith("Mlflow"):
                dataset._logging_activated = False
        logging.getLogger("agelab").info("torchrun rank %d: MLflow logging is left to rank 0", rank)


class TrainingExperimentHook:
    """Tags the MLflow experiment of every ``kedro run`` as one of training runs (MLflow 3's
    ``mlflow.experimentKind``), so its UI opens the experiment on the runs table, not on the GenAI traces
    view (runs before the first node, when kedro-mlflow's run is active); after the run, logs the link to
    the run's page in the UI's "Model training" workflow and the command that serves it."""

    def __init__(self) -> None:
        self._tagged_run: str | None = None
        self._experiment_id: str | None = None
        self._tracking_uri = ""

    @hook_impl
    def before_node_run(self) -> None:
        import mlflow

        from agelab.experiments.tracking import tag_training_experiment

        run = mlflow.active_run()
        if run is None or run.info.run_id == self._tagged_run:
            return
        self._experiment_id = tag_training_experiment()
        self._tagged_run = run.info.run_id
        self._tracking_uri = mlflow.get_tracking_uri()

    @hook_impl
    def after_pipeline_run(self) -> None:
        """Say where the run is in the MLflow UI, opened on training runs (not the GenAI view)."""
        if self._tagged_run is None or self._experiment_id is None:
            return
        from agelab.experiments.tracking import run_page_link

        log = logging.getLogger(__name__)
        if self._tracking_uri.startswith(("http://", "https://")):  # a tracking server serves its own UI
            link = run_page_link(self._experiment_id, self._tagged_run, ui=self._tracking_uri)
            log.info("MLflow run %s: %s", self._tagged_run, link)
            return
        log.info(
            "MLflow run %s: `mlflow ui --backend-store-uri %s`, then %s",
            self._tagged_run,
            self._tracking_uri,
            run_page_link(self._experiment_id, self._tagged_run),
        )
