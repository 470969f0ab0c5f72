"""Readers for datasets whose labels live in the image file names: UTKFace and AgeDB."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agelab.readers.schema import ReadReport, ReadResult, make_row, require_dir, to_frame

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

#: UTKFace: ``[age]_[gender]_[race]_[date&time].jpg`` (aligned & cropped: ``.jpg.chip.jpg``).
UTKFACE_NAME = re.compile(
    r"^(?P<age>\d{1,3})_(?P<gender>[01])_(?P<race>[0-4])_(?P<stamp>\d{8,20})\.jpg(?:\.chip\.jpg)?$",
    re.IGNORECASE,
)
UTKFACE_EXPECTED = "[age]_[gender]_[race]_[datetime].jpg"
UTKFACE_GENDERS = {"0": "male", "1": "female"}
UTKFACE_RACES = {"0": "white", "1": "black", "2": "asian", "3": "indian", "4": "others"}

#: AgeDB: ``[id]_[name]_[age]_[gender].jpg``; names may themselves contain underscores.
AGEDB_NAME = re.compile(
    r"^(?P<id>\d+)_(?P<name>.+)_(?P<age>\d{1,3})_(?P<gender>[mf])\.(?:jpg|jpeg|png)$", re.IGNORECASE
)
AGEDB_EXPECTED = "[id]_[name]_[age]_[gender].jpg"
AGEDB_GENDERS = {"m": "male", "f": "female"}


def _image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(IMAGE_SUFFIXES))


def _read_named_files(
    root: str | Path,
    dataset: str,
    pattern: re.Pattern[str],
    expected: str,
    fields: Callable[[re.Match[str]], dict[str, Any]],
    *,
    strict: bool,
) -> ReadResult:
    """Read every image under ``root`` whose file name ``pattern`` matches, one row per image with the
    labels ``fields`` takes from the match; a name that does not match is skipped (or raises when
    ``strict``) as not the ``expected`` form."""
    folder = require_dir(root, dataset)
    report = ReadReport(dataset=dataset, root=str(folder))
    rows = []
    for path in _image_files(folder):
        report.files_seen += 1
        match = pattern.match(path.name)
        if match is None:
            report.skip(path, 0, f"malformed file name: expected {expected}", strict=strict)
            continue
        rows.append(make_row(image_path=path.resolve(), dataset=dataset, **fields(match)))
    report.rows = len(rows)
    return ReadResult(to_frame(rows), report)


def _utkface_fields(match: re.Match[str]) -> dict[str, Any]:
    """A UTKFace file name's labels: real age, gender, and race and capture time as attributes."""
    return {
        "age": int(match["age"]),
        "age_kind": "real",
        "gender": UTKFACE_GENDERS[match["gender"]],
        "attributes": {"race": UTKFACE_RACES[match["race"]], "taken": match["stamp"]},
    }


def _agedb_fields(match: re.Match[str]) -> dict[str, Any]:
    """An AgeDB file name's labels: the person's name as subject, real age, gender, the AgeDB id."""
    return {
        "subject_id": match["name"],
        "age": int(match["age"]),
        "age_kind": "real",
        "gender": AGEDB_GENDERS[match["gender"].lower()],
        "attributes": {"agedb_id": int(match["id"])},
    }


def read_utkface(root: str | Path, *, strict: bool = False, dataset: str = "utkface") -> ReadResult:
    """Parse a UTKFace folder (any of its published variants: In-the-wild, Aligned&Cropped)."""
    return _read_named_files(root, dataset, UTKFACE_NAME, UTKFACE_EXPECTED, _utkface_fields, strict=strict)


def read_agedb(root: str | Path, *, strict: bool = False, dataset: str = "agedb") -> ReadResult:
    """Parse an AgeDB folder of ``id_name_age_gender.jpg`` files."""
    return _read_named_files(root, dataset, AGEDB_NAME, AGEDB_EXPECTED, _agedb_fields, strict=strict)
