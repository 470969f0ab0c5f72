"""The embedded multi-face scene sets (FOSS's default data) as a catalog entry: saving a
:class:`~agelab.synthetic.scenes.RenderedSceneSets` renders them into ``path`` (resumably, once per
configuration); loading returns their face ground truth (empty when they were not rendered)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from agelab.synthetic.scenes import GROUND_TRUTH_FILE, RenderedSceneSets


class SceneSetDataset(AbstractDataset[RenderedSceneSets, pd.DataFrame]):
    def __init__(self, *, path: str, metadata: dict[str, Any] | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        truth = self._path / GROUND_TRUTH_FILE
        return pd.read_parquet(truth) if truth.is_file() else pd.DataFrame()

    def save(self, data: RenderedSceneSets) -> None:
        if not isinstance(data, RenderedSceneSets):
            raise DatasetError(f"{self._path}: only rendered scene sets can be saved here")
        data.write(self._path)

    def _exists(self) -> bool:
        return (self._path / GROUND_TRUTH_FILE).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
