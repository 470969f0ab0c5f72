"""IMDB-WIKI metadata reader (``wiki.mat`` / ``imdb.mat``, Rothe et al.).

The MATLAB struct holds parallel arrays: ``dob`` (MATLAB serial date number), ``photo_taken`` (year),
``full_path`` (cell of relative paths), ``gender`` (0 female, 1 male, NaN unknown), ``name``,
``face_location`` (cell of ``[x1 y1 x2 y2]``), ``face_score`` (``-Inf`` when no face was found) and
``second_face_score`` (NaN when there is no second face). IMDB adds ``celeb_names``/``celeb_id``.

Age follows the dataset authors' definition: the photo is taken to be from 1 July of ``photo_taken``
and the age is the number of whole years from ``dob`` to that day.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from agelab.readers.schema import ReadReport, ReadResult, make_row, require_dir, require_file, to_frame

MATLAB_DATENUM_OFFSET = 366  # datenum(1,1,1) == 367 and Python's date.fromordinal(1) is 0001-01-01
IMDB_WIKI_GENDERS = {0: "female", 1: "male"}
#: Wikipedia pages that are not encyclopaedia articles: the paper (§4) drops sandbox and user pages.
NON_ARTICLE_PAGE = re.compile(r"(^|[\s/:_(])(user|sandbox|draft|talk)(\s*:|[\s/_)]|$)", re.IGNORECASE)
REQUIRED_FIELDS = (
    "dob",
    "photo_taken",
    "full_path",
    "gender",
    "name",
    "face_location",
    "face_score",
    "second_face_score",
)


def matlab_datenum_to_date(datenum: float) -> dt.date:
    """MATLAB serial date number -> :class:`datetime.date` (fractional days are dropped)."""
    return dt.date.fromordinal(int(datenum) - MATLAB_DATENUM_OFFSET)


def date_to_matlab_datenum(day: dt.date) -> int:
    return day.toordinal() + MATLAB_DATENUM_OFFSET


def age_at_photo(dob: dt.date, photo_taken: int) -> int:
    """Whole years from ``dob`` to 1 July of ``photo_taken`` (the IMDB-WIKI authors' convention)."""
    taken = dt.date(int(photo_taken), 7, 1)
    return taken.year - dob.year - ((taken.month, taken.day) < (dob.month, dob.day))


def page_kind(name: str, full_path: str) -> str:
    """``article``, or ``sandbox``/``user``/``draft``/``talk`` for non-article Wikipedia pages."""
    for text in (name, full_path):
        match = NON_ARTICLE_PAGE.search(text or "")
        if match:
            return match.group(2).lower()
    return "article"


def _struct_fields(mat_path: Path, key: str) -> dict[str, np.ndarray]:
    try:
        mat = scipy.io.loadmat(mat_path, squeeze_me=False, struct_as_record=True)
    except Exception as exc:  # scipy raises several types for a corrupt file
        raise ValueError(f"{mat_path}: not a readable MATLAB file ({exc})") from exc
    if key not in mat:
        raise ValueError(
            f"{mat_path}: no struct named '{key}' (found {sorted(k for k in mat if not k.startswith('__'))})"
        )
    struct = mat[key]
    names = struct.dtype.names or ()
    missing = [f for f in REQUIRED_FIELDS if f not in names]
    if missing:
        raise ValueError(f"{mat_path}: struct '{key}' lacks field(s) {missing}")
    # a 1x1 struct of 1xN arrays (numbers) and 1xN cells (strings, boxes)
    return {name: np.asarray(struct[name].ravel()[0]).ravel() for name in names}


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else ""
    return "" if value is None else str(value)


def read_imdb_wiki(
    root: str | Path,
    *,
    strict: bool = False,
    dataset: str = "wiki",
    mat_file: str | None = None,
) -> ReadResult:
    """Read ``<root>/<dataset>.mat`` (``wiki`` or ``imdb``) into a face index.

    Images are expected at ``<root>/<full_path>``. Entries whose ``dob`` or ``photo_taken`` cannot give
    an age are reported (not silently dropped); faces with ``face_score == -Inf`` are kept with an empty
    box and ``attributes.face_score = null`` so the cleaning step can count them.
    """
    folder = require_dir(root, dataset)
    key = "imdb" if dataset.startswith("imdb") else "wiki"
    mat_path = require_file(folder / (mat_file or f"{key}.mat"), dataset, f"its metadata file {key}.mat")
    fields = _struct_fields(mat_path, key)
    n = len(fields["full_path"])
    report = ReadReport(dataset=dataset, root=str(folder), files_seen=1)
    lengths = {name: len(values) for name, values in fields.items() if name in REQUIRED_FIELDS}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"{mat_path}: fields have different lengths {lengths}")
    rows = []
    for i in range(n):
        line = i + 1  # 1-based entry number, as MATLAB users count
        rel = _text(fields["full_path"][i])
        if not rel:
            report.skip(mat_path, line, "malformed entry: empty full_path", strict=strict)
            continue
        try:
            dob = matlab_datenum_to_date(float(fields["dob"][i]))
            taken = int(fields["photo_taken"][i])
            age = age_at_photo(dob, taken)
        except (ValueError, OverflowError, TypeError) as exc:
            report.skip(
                mat_path, line, f"malformed entry: no age from dob/photo_taken ({exc})", strict=strict
            )
            continue
        gender_raw = float(fields["gender"][i])
        gender = "" if math.isnan(gender_raw) else IMDB_WIKI_GENDERS.get(int(gender_raw), "")
        face_score = float(fields["face_score"][i])
        second = float(fields["second_face_score"][i])
        location = np.asarray(fields["face_location"][i], dtype=float).ravel()
        box = None
        if np.isfinite(face_score) and location.size == 4 and np.all(np.isfinite(location)):
            # MATLAB pixel coordinates are 1-based
            box = (location[0] - 1, location[1] - 1, location[2] - 1, location[3] - 1)
        name = _text(fields["name"][i])
        celeb_id = fields.get("celeb_id")
        rows.append(
            make_row(
                image_path=(folder / rel).resolve(),
                dataset=dataset,
                subject_id=str(int(celeb_id[i])) if celeb_id is not None else name,
                age=age,
                age_kind="real",
                gender=gender,
                box=box,
                attributes={
                    "name": name,
                    "dob": dob.isoformat(),
                    "photo_taken": taken,
                    "face_score": face_score if np.isfinite(face_score) else None,
                    "second_face_score": None if math.isnan(second) else second,
                    "page_kind": page_kind(name, rel),
                },
            )
        )
    report.rows = len(rows)
    return ReadResult(to_frame(rows), report)
