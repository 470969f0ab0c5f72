"""Images of Groups reader (Gallagher & Chen, CVPR 2009): one ``PersonData.txt`` per folder.

``PersonData.txt`` alternates *image rows* (an image file name) and *face rows* (six tab-separated
numbers: left-eye x, y, right-eye x, y, age code, gender code) for the faces of the preceding image.
Age codes 1, 5, 10, 16, 28, 51, 75 stand for the groups 0-2, 3-7, 8-12, 13-19, 20-36, 37-65, 66+;
gender codes 1 and 2 stand for female and male.

The dataset has eye positions, not boxes. A face box is derived from the eye distance *d* the way the
authors normalise faces (a 49x61 face crop with 24 px between the eye centres, the eyes at 2/5 of its
height): width ``2.04 d``, height ``2.54 d``. The factors are parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from agelab.readers.schema import (
    DatasetNotFoundError,
    ReadReport,
    ReadResult,
    make_row,
    require_dir,
    to_frame,
)

#: age code -> (group label, lowest age, highest age)
AGE_GROUPS: dict[int, tuple[str, int, int]] = {
    1: ("0-2", 0, 2),
    5: ("3-7", 3, 7),
    10: ("8-12", 8, 12),
    16: ("13-19", 13, 19),
    28: ("20-36", 20, 36),
    51: ("37-65", 37, 65),
    75: ("66+", 66, 100),
}
GENDERS = {1: "female", 2: "male"}


@dataclass(frozen=True)
class EyeBoxGeometry:
    """Face box from eye centres, in units of the inter-ocular distance."""

    width: float = 49 / 24
    height: float = 61 / 24
    eyes_from_top: float = 0.4  # fraction of the box height

    def box(self, left: tuple[float, float], right: tuple[float, float]) -> tuple[float, float, float, float]:
        distance = math.dist(left, right)
        cx, cy = (left[0] + right[0]) / 2, (left[1] + right[1]) / 2
        w, h = self.width * distance, self.height * distance
        top = cy - self.eyes_from_top * h
        return (cx - w / 2, top, cx + w / 2, top + h)


def read_images_of_groups(
    root: str | Path,
    *,
    strict: bool = False,
    dataset: str = "images_of_groups",
    geometry: EyeBoxGeometry | None = None,
) -> ReadResult:
    folder = require_dir(root, dataset)
    geometry = geometry or EyeBoxGeometry()
    person_files = sorted(folder.rglob("PersonData.txt"))
    if not person_files:
        raise DatasetNotFoundError(f"dataset '{dataset}': no PersonData.txt under '{folder.resolve()}'")
    report = ReadReport(dataset=dataset, root=str(folder))
    rows = []
    for data_path in person_files:
        report.files_seen += 1
        image: str | None = None
        face_number = 0
        for line_no, raw in enumerate(
            data_path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        ):
            text = raw.strip()
            if not text:
                continue
            fields = text.split()
            if len(fields) == 1 and not _is_number(fields[0]):
                image, face_number = fields[0], 0
                continue
            if image is None:
                report.skip(
                    data_path, line_no, "malformed line: face row before any image row", strict=strict
                )
                continue
            try:
                if len(fields) != 6:
                    raise ValueError(f"{len(fields)} fields, expected 6")
                lx, ly, rx, ry = (float(v) for v in fields[:4])
                age_code, gender_code = int(float(fields[4])), int(float(fields[5]))
                label, low, high = AGE_GROUPS[age_code]
            except (ValueError, KeyError) as exc:
                report.skip(data_path, line_no, f"malformed face row: {exc}", strict=strict)
                continue
            rows.append(
                make_row(
                    image_path=(data_path.parent / image).resolve(),
                    dataset=dataset,
                    face_in_image=face_number,
                    age=(low + high) / 2,
                    age_min=low,
                    age_max=high,
                    age_kind="group",
                    gender=GENDERS.get(gender_code, ""),
                    box=geometry.box((lx, ly), (rx, ry)),
                    landmarks=[[lx, ly], [rx, ry]],
                    attributes={"age_group": label, "age_code": age_code, "folder": data_path.parent.name},
                )
            )
            face_number += 1
    report.rows = len(rows)
    return ReadResult(to_frame(rows), report)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
