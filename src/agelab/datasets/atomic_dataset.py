"""Atomic saving for any file-based Kedro dataset.

Stock file datasets write straight into their target, so a run interrupted mid-save leaves a truncated
Parquet/JSON/PNG behind that the next run would load. ``AtomicDataset`` saves through the wrapped dataset
into a temporary sibling (same suffix, so formats chosen by extension still work) and moves it into place
with :func:`os.replace`. It composes with kedro-mlflow's ``MlflowArtifactDataset``::

    face_index:
      type: agelab.datasets.AtomicDataset
      dataset:
        type: pandas.ParquetDataset
        filepath: data/02_intermediate/face_index.parquet
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset, DatasetError


class AtomicDataset(AbstractDataset[Any, Any]):
    def __init__(self, *, dataset: dict[str, Any], metadata: dict[str, Any] | None = None):
        config = dict(dataset)
        if "filepath" not in config:
            raise DatasetError("AtomicDataset wraps datasets that have a local 'filepath'")
        self._config = config
        self._filepath = PurePosixPath(config["filepath"])
        self._inner = AbstractDataset.from_config("atomic_inner", config)
        self.metadata = metadata

    def load(self) -> Any:
        return self._inner.load()

    def save(self, data: Any) -> None:
        target = Path(self._filepath)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent
        )
        os.close(fd)
        try:
            AbstractDataset.from_config("atomic_part", {**self._config, "filepath": tmp}).save(data)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _exists(self) -> bool:
        return self._inner.exists()

    def _describe(self) -> dict[str, Any]:
        return {"dataset": self._config}
