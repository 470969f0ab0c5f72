"""FG-NET reader: ``images/NNNAyy[a|b].JPG`` with 68 hand-annotated points in ``points/nnnayy[a|b].pts``.

Person ``NNN`` at age ``yy``; ``a`` / ``b`` tell apart two photos of one person at one age. The ``.pts`` files
use the 68-point scheme of dlib's shape predictor in the layout

    version: 1
    n_points: 68
    {
    x y
    ...
    }

FG-NET is the cross-dataset and ground-truth-landmark set here, so every row carries its annotated points: an
image whose ``.pts`` file is missing or malformed is skipped with the file and line that say why (the
published set has one for every image). Unreadable images are the data pipeline's per-image analysis to
report, as for every dataset.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from agelab.readers.schema import ReadReport, ReadResult, make_row, require_dir, to_frame

#: ``NNNAyy[a|b].JPG`` (the published names are upper case; any case is accepted)
FGNET_NAME = re.compile(r"^(?P<person>\d{3})A(?P<age>\d{2})(?P<photo>[ab]?)\.jpe?g$", re.IGNORECASE)
FGNET_POINTS = 68


class MalformedPoints(ValueError):
    """A ``.pts`` file that does not follow the layout; ``line`` is 1-based (0: the file as a whole)."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


def read_pts(path: str | Path, n_points: int = FGNET_POINTS) -> list[list[float]]:
    """The ``[x, y]`` points of a ``.pts`` file, or :class:`MalformedPoints` naming the line at fault."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="strict").splitlines()
    except UnicodeDecodeError:
        raise MalformedPoints(0, "malformed landmarks: not a text file") from None
    lines = [line.strip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 3 or not lines[0].startswith("version:"):
        raise MalformedPoints(1, "malformed landmarks: expected 'version: 1' on the first line")
    header = re.fullmatch(r"n_points:\s*(\d+)", lines[1])
    if header is None:
        raise MalformedPoints(2, f"malformed landmarks: expected 'n_points: {n_points}', got {lines[1]!r}")
    if int(header[1]) != n_points:
        raise MalformedPoints(2, f"malformed landmarks: n_points is {header[1]}, expected {n_points}")
    if lines[2] != "{":
        raise MalformedPoints(3, f"malformed landmarks: expected '{{', got {lines[2]!r}")
    points: list[list[float]] = []
    for number, line in enumerate(lines[3:], start=4):
        if line == "}":
            if len(points) != n_points:
                raise MalformedPoints(
                    number, f"short landmarks: {len(points)} points before '}}', expected {n_points}"
                )
            return points
        fields = line.split()
        try:
            x, y = (float(v) for v in fields)
        except ValueError:
            raise MalformedPoints(number, f"malformed landmarks: expected 'x y', got {line!r}") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise MalformedPoints(number, f"malformed landmarks: not a finite point: {line!r}")
        points.append([x, y])
        if len(points) > n_points:
            raise MalformedPoints(number, f"malformed landmarks: more than {n_points} points")
    raise MalformedPoints(len(lines), f"short landmarks: {len(points)} points and no closing '}}'")


def read_fgnet(root: str | Path, *, strict: bool = False, dataset: str = "fgnet") -> ReadResult:
    """Parse an FG-NET folder holding ``images/`` and ``points/`` as published."""
    folder = require_dir(root, dataset)
    images = require_dir(folder / "images", dataset, "FG-NET's images/ folder")
    points_dir = folder / "points"
    points_by_stem = (
        {p.stem.lower(): p for p in points_dir.iterdir() if p.suffix.lower() == ".pts"}
        if points_dir.is_dir()
        else {}
    )
    report = ReadReport(dataset=dataset, root=str(folder))
    rows = []
    for path in sorted(p for p in images.iterdir() if p.is_file()):
        report.files_seen += 1
        match = FGNET_NAME.match(path.name)
        if match is None:
            report.skip(path, 0, "malformed file name: expected NNNAyy[a|b].JPG", strict=strict)
            continue
        pts = points_by_stem.get(path.stem.lower())
        if pts is None:
            expected = points_dir / f"{path.stem.lower()}.pts"
            report.skip(expected, 0, f"missing landmarks: no .pts file for {path.name}", strict=strict)
            continue
        try:
            landmarks = read_pts(pts)
        except MalformedPoints as error:
            report.skip(pts, error.line, error.reason, strict=strict)
            continue
        rows.append(
            make_row(
                image_path=path.resolve(),
                dataset=dataset,
                subject_id=match["person"],
                age=int(match["age"]),
                age_kind="real",
                landmarks=landmarks,
                attributes={"photo": match["photo"].lower()} if match["photo"] else None,
            )
        )
    report.rows = len(rows)
    return ReadResult(to_frame(rows), report)
