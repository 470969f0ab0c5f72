"""The per-image analysis cache (results and face crops) as a catalog entry.

Loading returns a :class:`~agelab.preprocessing.face_cache.FaceCache` handle that the analysis node
fills incrementally (that is what makes re-runs cheap and interrupted runs resumable); it is not saved
as a whole.
"""

from __future__ import annotations

from pathlib import Path

from agelab.datasets.folder_dataset import FolderHandleDataset
from agelab.preprocessing.face_cache import FaceCache


class FaceCacheDataset(FolderHandleDataset):
    written_by = "the analysis node, image by image"

    def handle(self, path: Path) -> FaceCache:
        return FaceCache(path)
