"""A folder that its consumer fills incrementally (a cache, checkpoints): the catalog hands out a handle to
it, and never saves it as a whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError


class FolderHandleDataset(AbstractDataset[None, Any]):
    """Subclasses say what handle :meth:`load` returns and who writes the folder."""

    written_by = "its consumer"

    def __init__(self, *, path: str, metadata: dict[str, Any] | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def handle(self, path: Path) -> Any:
        return path

    def load(self) -> Any:
        return self.handle(self._path)

    def save(self, data: Any) -> None:
        raise DatasetError(f"{self._path} is written by {self.written_by}, not saved as a whole")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
