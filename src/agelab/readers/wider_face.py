"""WIDER FACE annotation reader (``wider_face_{train,val}_bbx_gt.txt``), in either of two layouts.

Each image block is: the relative image path; the number of faces *n*; then *n* lines of
``x1 y1 w h blur expression illumination invalid occlusion pose`` (an image with no face still has one
all-zero line). Faces carry no age (``age_kind`` = ``none``): the set trains and evaluates detection only.

A root holds one of two layouts (:data:`LAYOUTS`):

- ``official``: ``wider_face_split/wider_face_{split}_bbx_gt.txt``, images in ``WIDER_{split}/images/<path>``
  (the archives as published);
- ``subset``: ``wider_face_{split}_bbx_gt.txt`` at the root, images in ``images/<path>`` (an extract of
  whole event folders, such as the shared five-event ``wider_face_train_subset``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agelab.readers.schema import (
    DatasetNotFoundError,
    MalformedAnnotationError,
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


@dataclass(frozen=True)
class WiderLayout:
    """Where one layout keeps a split's annotation file and the images its paths are relative to."""

    name: str
    gt_file: str  # relative to the root; ``{split}`` is train or val
    image_root: str

    def gt_path(self, folder: Path, split: str) -> Path:
        return folder / self.gt_file.format(split=split)

    def image_path(self, folder: Path, split: str) -> Path:
        return folder / self.image_root.format(split=split)


LAYOUTS = (
    WiderLayout("official", "wider_face_split/wider_face_{split}_bbx_gt.txt", "WIDER_{split}/images"),
    WiderLayout("subset", "wider_face_{split}_bbx_gt.txt", "images"),
)
SPLITS = ("train", "val")


def find_wider_layout(folder: Path, dataset: str = "wider_face") -> WiderLayout:
    """The layout whose annotation files ``folder`` holds; raises when it holds none, or both layouts'."""
    present = {
        layout.name: [layout.gt_path(folder, s) for s in SPLITS if layout.gt_path(folder, s).is_file()]
        for layout in LAYOUTS
    }
    found = [layout for layout in LAYOUTS if present[layout.name]]
    if not found:
        expected = " or ".join(layout.gt_file.format(split="{train,val}") for layout in LAYOUTS)
        raise DatasetNotFoundError(f"dataset '{dataset}': no {expected} under '{folder.resolve()}'")
    if len(found) > 1:
        files = ", ".join(str(p) for layout in found for p in present[layout.name])
        raise MalformedAnnotationError(
            f"dataset '{dataset}': '{folder.resolve()}' mixes the {' and '.join(x.name for x in found)} "
            f"layouts ({files}); keep one, or the same faces could be read twice"
        )
    return found[0]


def read_wider_face(root: str | Path, *, strict: bool = False, dataset: str = "wider_face") -> ReadResult:
    """Every face box of the train and val annotation files found under ``root`` (either layout), one row
    per face with ``split_hint`` = the file's split; images with no face give no row."""
    folder = require_dir(root, dataset)
    layout = find_wider_layout(folder, dataset)
    report = ReadReport(dataset=dataset, root=str(folder))
    rows: list[dict] = []
    for split in SPLITS:
        gt_path = layout.gt_path(folder, split)
        if not gt_path.is_file():
            continue
        report.files_seen += 1
        rows += parse_wider_annotations(
            gt_path, layout.image_path(folder, split), report, strict=strict, dataset=dataset, split=split
        )
    report.rows = len(rows)
    return ReadResult(to_frame(rows), report)
