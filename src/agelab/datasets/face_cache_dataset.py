"""The per-image analysis cache (results and face crops) as a catalog entry.

Loading returns a :class:`~agelab.preprocessing.face_cache.FaceCache` handle that the analysis node
fills incrementally (that is what makes re-runs cheap and interrupted runs resumable); it is not saved
as a whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from agelab.preprocessing.face_cache import FaceCache


class FaceCacheDataset(AbstractDataset[None, FaceCache]):
    def __init__(self, *, path: str, metadata: dict[str, Any] | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> FaceCache:
        return FaceCache(self._path)

    def save(self, data: Any) -> None:
        raise DatasetError("the face cache is written by the analysis node, image by image")

    def _exists(self) -> bool:
        return self._path.exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
