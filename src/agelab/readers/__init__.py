"""Dataset readers: each parses one dataset's published layout into the face-index schema.

``READERS`` maps the reader name used in configuration to its function. Every reader has the signature
``reader(root, *, strict=False, dataset=name, **options) -> ReadResult``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agelab.readers.clap2016 import read_clap2016
from agelab.readers.fgnet import read_fgnet
from agelab.readers.filename_labels import read_agedb, read_utkface
from agelab.readers.images_of_groups import EyeBoxGeometry, read_images_of_groups
from agelab.readers.imdb_wiki import read_imdb_wiki
from agelab.readers.megaage_asian import read_megaage_asian
from agelab.readers.schema import (
    FACE_INDEX_COLUMNS,
    DatasetNotFoundError,
    MalformedAnnotationError,
    ReadReport,
    ReadResult,
)
from agelab.readers.synthetic import read_synthetic
from agelab.readers.wider_face import read_wider_face

READERS: dict[str, Callable[..., ReadResult]] = {
    "wiki": read_imdb_wiki,
    "imdb": read_imdb_wiki,
    "utkface": read_utkface,
    "agedb": read_agedb,
    "clap2016": read_clap2016,
    "megaage_asian": read_megaage_asian,
    "fgnet": read_fgnet,
    "wider_face": read_wider_face,
    "images_of_groups": read_images_of_groups,
    "synthetic": read_synthetic,
}


def read_dataset(
    reader: str, root: str | Path, *, strict: bool = False, dataset: str | None = None, **options: Any
) -> ReadResult:
    """Run the reader called ``reader`` on ``root``."""
    try:
        function = READERS[reader]
    except KeyError:
        raise ValueError(f"unknown reader {reader!r}; known readers: {sorted(READERS)}") from None
    if reader == "images_of_groups" and isinstance(options.get("geometry"), dict):
        options["geometry"] = EyeBoxGeometry(**options["geometry"])
    return function(root, strict=strict, dataset=dataset or reader, **options)


__all__ = [
    "FACE_INDEX_COLUMNS",
    "READERS",
    "DatasetNotFoundError",
    "MalformedAnnotationError",
    "ReadReport",
    "ReadResult",
    "read_dataset",
]
