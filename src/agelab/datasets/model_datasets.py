"""Catalog datasets for trained models: the bundle file, the checkpoint folder, and the MLflow model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from agelab.datasets.folder_dataset import FolderHandleDataset
from agelab.models.bundle import ModelBundle

logger = logging.getLogger(__name__)


class ModelBundleDataset(AbstractDataset[ModelBundle, ModelBundle]):
    """A :class:`~agelab.models.bundle.ModelBundle` in one file, written atomically."""

    def __init__(self, *, filepath: str, optional: bool = False, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self._optional = optional  # a model another pipeline may have trained: None when it has not
        self.metadata = metadata

    def load(self) -> ModelBundle | None:
        if self._optional and not self._filepath.is_file():
            logger.info("optional model %s is not there (yet)", self._filepath)
            return None
        return ModelBundle.load(self._filepath)

    def save(self, data: ModelBundle) -> None:
        data.save(self._filepath)

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class CheckpointDirDataset(FolderHandleDataset):
    """The folder the training engine checkpoints into (loaded as a path; the engine writes it)."""

    written_by = "the training engine"


class MlflowModelDataset(AbstractDataset[ModelBundle, None]):
    """Logs the bundle to the active MLflow run as a pyfunc model with a signature
    (:func:`agelab.inference.serving.log_pyfunc_model`): ``mlflow models serve -m runs:/<run id>/model`` then
    answers HTTP requests with the age of every face in the posted images, and ``agelab predict --model
    runs:/<run id>/model`` reads it back."""

    def __init__(
        self,
        *,
        artifact_path: str = "model",
        registered_model_name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        self._artifact_path = artifact_path
        self._registered_model_name = registered_model_name
        self.metadata = metadata

    def load(self) -> None:
        raise DatasetError(
            "load models with `agelab predict --model runs:/<run id>/model` or mlflow.pyfunc.load_model"
        )

    def save(self, data: ModelBundle) -> None:
        import mlflow

        from agelab.inference.serving import log_pyfunc_model

        if mlflow.active_run() is None:
            logger.warning("no active MLflow run: model not logged")
            return
        log_pyfunc_model(data, self._artifact_path, self._registered_model_name)

    def _describe(self) -> dict[str, Any]:
        return {"artifact_path": self._artifact_path, "registered_model_name": self._registered_model_name}
