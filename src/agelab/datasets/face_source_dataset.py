"""A raw face dataset in its published layout, as a catalog entry.

Loading returns a lazy :class:`FaceSource` handle: nothing is read until a node decides the dataset is
selected (``parameters_data.yml: data.datasets``), so unselected catalog entries whose folders do not
exist cost nothing, and a selected one that is missing says which path it expected and which setting
selected it. Raw data is only ever read. The embedded synthetic set is the one source that can be
*saved*: saving a :class:`~agelab.synthetic.face_set.RenderedFaceSet` renders it into ``path``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from agelab.readers import READERS, ReadResult, read_dataset
from agelab.readers.schema import DatasetNotFoundError
from agelab.synthetic.face_set import RenderedFaceSet


@dataclass(frozen=True)
class FaceSource:
    """Where a dataset is and how to read it; :meth:`read` parses it."""

    reader: str
    path: str
    options: dict[str, Any] = field(default_factory=dict)

    def read(self, *, strict: bool = False, name: str | None = None, selected_by: str = "") -> ReadResult:
        try:
            return read_dataset(
                self.reader, self.path, strict=strict, dataset=name or self.reader, **self.options
            )
        except DatasetNotFoundError as exc:
            hint = f" It is selected by {selected_by}." if selected_by else ""
            raise DatasetNotFoundError(f"{exc}{hint}") from None


class FaceSourceDataset(AbstractDataset[RenderedFaceSet, FaceSource]):
    """Catalog entry for one raw face dataset (``type: agelab.datasets.FaceSourceDataset``)."""

    def __init__(
        self,
        *,
        reader: str,
        path: str,
        options: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        if reader not in READERS:
            raise DatasetError(f"unknown reader {reader!r}; known readers: {sorted(READERS)}")
        self._source = FaceSource(reader=reader, path=str(path), options=dict(options or {}))
        self.metadata = metadata

    def load(self) -> FaceSource:
        return self._source

    def save(self, data: RenderedFaceSet) -> None:
        if self._source.reader != "synthetic" or not isinstance(data, RenderedFaceSet):
            raise DatasetError(f"raw dataset at {self._source.path} is read-only: raw data is never modified")
        data.write(self._source.path)

    def _exists(self) -> bool:
        return Path(self._source.path).exists()

    def _describe(self) -> dict[str, Any]:
        return {"reader": self._source.reader, "path": self._source.path, "options": self._source.options}
