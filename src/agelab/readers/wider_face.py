"""WIDER FACE annotation reader (``wider_face_split/wider_face_{train,val}_bbx_gt.txt``).

Each image block is: the relative image path; the number of faces *n*; then *n* lines of
``x1 y1 w h blur expression illumination invalid occlusion pose`` (an image with no face still has one
all-zero line). Images live in ``WIDER_{train,val}/images/<path>``. Faces carry no age (``age_kind`` =
``none``): the set trains and evaluates detection only.
"""

from __future__ import annotations

from pathlib import Path

from agelab.readers.schema import (
    DatasetNotFoundError,
    ReadReport,
    ReadResult,
    make_row,
    require_dir,
    to_frame,
)

ATTRIBUTE_NAMES = ("blur", "expression", "illumination", "invalid", "occlusion", "pose")


def parse_wider_annotations(
    gt_path: Path, image_root: Path, report: ReadReport, *, strict: bool, dataset: str, split: str
) -> list[dict]:
    """Parse one ``*_bbx_gt.txt`` file; malformed blocks are reported and skipped."""
    lines = gt_path.read_text(encoding="utf-8").splitlines()
    rows: list[dict] = []
    i = 0
    while i < len(lines):
        name = lines[i].strip()
        header_line = i + 1
        i += 1
        if not name:
            continue
        if not name.lower().endswith((".jpg", ".jpeg", ".png")):
            report.skip(
                gt_path, header_line, f"malformed block: expected an image path, got {name!r}", strict=strict
            )
            continue
        try:
            count = int(lines[i].strip())
        except (IndexError, ValueError):
            report.skip(gt_path, i + 1, f"malformed block: no face count after {name}", strict=strict)
            i += 1
            continue
        i += 1
        face_lines = max(count, 1)
        block = lines[i : i + face_lines]
        i += face_lines
        if len(block) < face_lines:
            report.skip(
                gt_path,
                header_line,
                f"malformed block: {name} promises {count} faces, file ends",
                strict=strict,
            )
            break
        if count == 0:
            continue
        for k, text in enumerate(block):
            parts = text.split()
            try:
                values = [int(float(p)) for p in parts[:10]]
                if len(values) != 10:
                    raise ValueError(f"{len(parts)} fields, expected 10")
            except ValueError as exc:
                report.skip(gt_path, i - face_lines + k + 1, f"malformed face line: {exc}", strict=strict)
                continue
            x, y, w, h = values[:4]
            rows.append(
                make_row(
                    image_path=(image_root / name).resolve(),
                    dataset=dataset,
                    face_in_image=k,
                    age=None,
                    age_kind="none",
                    box=(x, y, x + w, y + h),
                    split_hint=split,
                    attributes=dict(zip(ATTRIBUTE_NAMES, values[4:], strict=True)),
                )
            )
    return rows


def read_wider_face(root: str | Path, *, strict: bool = False, dataset: str = "wider_face") -> ReadResult:
    folder = require_dir(root, dataset)
    report = ReadReport(dataset=dataset, root=str(folder))
    rows: list[dict] = []
    found = False
    for split in ("train", "val"):
        gt_path = folder / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt"
        if not gt_path.is_file():
            continue
        found = True
        report.files_seen += 1
        rows += parse_wider_annotations(
            gt_path, folder / f"WIDER_{split}" / "images", report, strict=strict, dataset=dataset, split=split
        )
    if not found:
        raise DatasetNotFoundError(
            f"dataset '{dataset}': no wider_face_split/wider_face_{{train,val}}_bbx_gt.txt under "
            f"'{folder.resolve()}'"
        )
    report.rows = len(rows)
    return ReadResult(to_frame(rows), report)
