"""The one schema every dataset reader yields, and the report of what a reader skipped.

A *face index* is a :class:`pandas.DataFrame` with one row per labelled face and the columns in
:data:`FACE_INDEX_COLUMNS`. Multi-face datasets (WIDER FACE, Images of Groups) give one row per face and
share ``image_path``; single-face datasets give one row per image.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Column name -> meaning. The order is the column order of every face index.
FACE_INDEX_COLUMNS: dict[str, str] = {
    "image_path": "absolute path of the image file",
    "dataset": "reader name (wiki, imdb, utkface, agedb, clap2016, megaage_asian, fgnet, wider_face, "
    "images_of_groups, synthetic)",
    "subject_id": "identity within the dataset where it has one, else empty",
    "face_in_image": "0-based index of the face within its image",
    "age": "age label in years (group labels: the group's midpoint); NaN where there is none",
    "age_min": "lowest age the label admits (equal to age for exact labels)",
    "age_max": "highest age the label admits",
    "age_kind": "real | apparent | group | none",
    "gender": "male | female | empty",
    "box_x0": "face box left, pixels (NaN where the dataset has no box)",
    "box_y0": "face box top",
    "box_x1": "face box right",
    "box_y1": "face box bottom",
    "landmarks": "JSON list of [x, y] points the dataset ships, or empty",
    "split_hint": "train | val | test where the dataset defines a split, else empty",
    "attributes": "JSON object of dataset-specific fields (face_score, blur, race, page kind, ...)",
}

AGE_KINDS = ("real", "apparent", "group", "none")


class DatasetNotFoundError(FileNotFoundError):
    """A selected dataset is not where the configuration says it is."""


class MalformedAnnotationError(ValueError):
    """A file name or annotation line does not follow the dataset's published format."""


@dataclass(frozen=True)
class SkippedItem:
    """One thing a reader could not use: which file, which line (0 for file names), and why."""

    file: str
    line: int
    reason: str


@dataclass
class ReadReport:
    """What a reader read and what it skipped, with reasons and counts."""

    dataset: str
    root: str
    rows: int = 0
    files_seen: int = 0
    skipped: list[SkippedItem] = field(default_factory=list)

    def skip(self, file: str | Path, line: int, reason: str, *, strict: bool) -> None:
        """Record a malformed item, or raise at once when ``strict``."""
        item = SkippedItem(str(file), line, reason)
        if strict:
            where = f"{item.file}:{item.line}" if item.line else item.file
            raise MalformedAnnotationError(f"[{self.dataset}] {where}: {reason}")
        self.skipped.append(item)

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(_reason_kind(s.reason) for s in self.skipped))

    def to_dict(self, max_examples: int = 20) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "root": self.root,
            "rows": self.rows,
            "files_seen": self.files_seen,
            "skipped": len(self.skipped),
            "skipped_by_reason": self.skipped_by_reason,
            "skipped_examples": [dataclasses.asdict(s) for s in self.skipped[:max_examples]],
        }


def _reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0]


@dataclass
class ReadResult:
    """A reader's output: the face index and its report."""

    index: pd.DataFrame
    report: ReadReport


def make_row(
    *,
    image_path: str | Path,
    dataset: str,
    age: float | None,
    age_kind: str,
    subject_id: str = "",
    face_in_image: int = 0,
    age_min: float | None = None,
    age_max: float | None = None,
    gender: str = "",
    box: tuple[float, float, float, float] | None = None,
    landmarks: list[list[float]] | None = None,
    split_hint: str = "",
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One face-index row with every column present and typed consistently."""
    if age_kind not in AGE_KINDS:
        raise ValueError(f"age_kind must be one of {AGE_KINDS}, got {age_kind!r}")
    age_value = float("nan") if age is None else float(age)
    x0, y0, x1, y1 = box if box is not None else (np.nan,) * 4
    return {
        "image_path": str(image_path),
        "dataset": dataset,
        "subject_id": subject_id,
        "face_in_image": int(face_in_image),
        "age": age_value,
        "age_min": age_value if age_min is None else float(age_min),
        "age_max": age_value if age_max is None else float(age_max),
        "age_kind": age_kind,
        "gender": gender,
        "box_x0": float(x0),
        "box_y0": float(y0),
        "box_x1": float(x1),
        "box_y1": float(y1),
        "landmarks": json.dumps(landmarks) if landmarks else "",
        "split_hint": split_hint,
        "attributes": json.dumps(attributes or {}, sort_keys=True, default=float),
    }


def to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> a face index with the canonical columns and dtypes (also for zero rows)."""
    frame = pd.DataFrame(rows, columns=list(FACE_INDEX_COLUMNS))
    for column in ("age", "age_min", "age_max", "box_x0", "box_y0", "box_x1", "box_y1"):
        frame[column] = frame[column].astype("float64")
    frame["face_in_image"] = frame["face_in_image"].astype("int64")
    for column in (
        "image_path",
        "dataset",
        "subject_id",
        "age_kind",
        "gender",
        "landmarks",
        "split_hint",
        "attributes",
    ):
        frame[column] = frame[column].astype("object").fillna("").astype(str)
    return frame


def require_dir(path: str | Path, dataset: str, selected_by: str = "") -> Path:
    """Return ``path`` as a folder, or raise :class:`DatasetNotFoundError` saying what was expected."""
    root = Path(path)
    if not root.is_dir():
        hint = f" (selected by {selected_by})" if selected_by else ""
        raise DatasetNotFoundError(
            f"dataset '{dataset}'{hint}: expected its folder at '{root.resolve()}', which does not exist. "
            "Place the dataset there or point the catalog at it (conf/local/catalog.yml or --params)."
        )
    return root


def require_file(path: str | Path, dataset: str, what: str) -> Path:
    file = Path(path)
    if not file.is_file():
        raise DatasetNotFoundError(f"dataset '{dataset}': expected {what} at '{file.resolve()}'")
    return file
