"""MegaAge-Asian reader: parallel ``list/{train,test}_name.txt`` and ``list/{train,test}_age.txt``.

Line *i* of the name list names an image in ``train/`` or ``test/``; line *i* of the age list is its age.
"""

from __future__ import annotations

from pathlib import Path

from agelab.readers.schema import (
    MalformedAnnotationError,
    ReadReport,
    ReadResult,
    make_row,
    require_dir,
    require_file,
    to_frame,
)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def read_megaage_asian(
    root: str | Path, *, strict: bool = False, dataset: str = "megaage_asian"
) -> ReadResult:
    folder = require_dir(root, dataset)
    report = ReadReport(dataset=dataset, root=str(folder))
    rows = []
    for split in ("train", "test"):
        names_path = require_file(folder / "list" / f"{split}_name.txt", dataset, f"the {split} name list")
        ages_path = require_file(folder / "list" / f"{split}_age.txt", dataset, f"the {split} age list")
        report.files_seen += 2
        names, ages = _lines(names_path), _lines(ages_path)
        # trailing blank lines are common; anything else that misaligns the lists is fatal
        while names and not names[-1].strip():
            names.pop()
        while ages and not ages[-1].strip():
            ages.pop()
        if len(names) != len(ages):
            raise MalformedAnnotationError(
                f"[{dataset}] {names_path} has {len(names)} lines but {ages_path} has {len(ages)}: "
                "the lists are parallel and must have the same length"
            )
        for line, (name, age_text) in enumerate(zip(names, ages, strict=True), start=1):
            name = name.strip()
            try:
                age = int(float(age_text.strip()))
            except ValueError:
                report.skip(ages_path, line, f"malformed age: {age_text!r}", strict=strict)
                continue
            if not name:
                report.skip(names_path, line, "malformed line: empty image name", strict=strict)
                continue
            rows.append(
                make_row(
                    image_path=(folder / split / name).resolve(),
                    dataset=dataset,
                    age=age,
                    age_kind="real",
                    split_hint=split,
                )
            )
    report.rows = len(rows)
    return ReadResult(to_frame(rows), report)
