"""ChaLearn LAP 2016 apparent-age reader.

Two ground-truth CSV layouts are accepted, each next to its image folder:

* the challenge files ``train_gt.csv`` / ``valid_gt.csv`` / ``test_gt.csv`` with columns
  ``image,mean,stdv`` (apparent age mean and standard deviation over annotators), images in
  ``train/``, ``valid/``, ``test/``;
* the APPA-REAL release of the same images, ``gt_avg_{train,valid,test}.csv`` with columns
  ``file_name,num_ratings,apparent_age_avg,apparent_age_std,real_age``.

``age_label`` picks apparent (the challenge's target) or real age where the file has it.
"""

from __future__ import annotations

import csv
from pathlib import Path

from agelab.readers.schema import (
    DatasetNotFoundError,
    ReadReport,
    ReadResult,
    make_row,
    require_dir,
    to_frame,
)

SPLITS = {"train": "train", "valid": "val", "test": "test"}
CHALLENGE_COLUMNS = ("image", "mean", "stdv")
APPA_REAL_COLUMNS = ("file_name", "apparent_age_avg", "apparent_age_std", "real_age")


def _gt_files(folder: Path) -> list[tuple[str, Path]]:
    found = []
    for split in SPLITS:
        for name in (f"{split}_gt.csv", f"gt_avg_{split}.csv"):
            if (folder / name).is_file():
                found.append((split, folder / name))
    return found


def read_clap2016(
    root: str | Path,
    *,
    strict: bool = False,
    dataset: str = "clap2016",
    age_label: str = "apparent",
) -> ReadResult:
    """Read every ground-truth CSV found under ``root`` into one face index."""
    if age_label not in ("apparent", "real"):
        raise ValueError(f"age_label must be 'apparent' or 'real', got {age_label!r}")
    folder = require_dir(root, dataset)
    files = _gt_files(folder)
    if not files:
        raise DatasetNotFoundError(
            f"dataset '{dataset}': no ground-truth CSV in '{folder.resolve()}' "
            "(expected train_gt.csv/valid_gt.csv/test_gt.csv or gt_avg_{train,valid,test}.csv)"
        )
    report = ReadReport(dataset=dataset, root=str(folder))
    rows = []
    for split, csv_path in files:
        report.files_seen += 1
        with csv_path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = tuple(reader.fieldnames or ())
            appa = all(c in header for c in APPA_REAL_COLUMNS)
            if not appa and not all(c in header for c in CHALLENGE_COLUMNS):
                report.skip(csv_path, 1, f"malformed header: {list(header)}", strict=strict)
                continue
            if age_label == "real" and not appa:
                report.skip(csv_path, 1, "no real age: this CSV carries apparent age only", strict=strict)
                continue
            for line, record in enumerate(reader, start=2):
                try:
                    name = record["file_name" if appa else "image"].strip()
                    mean = float(record["apparent_age_avg" if appa else "mean"])
                    std = float(record["apparent_age_std" if appa else "stdv"])
                    real = float(record["real_age"]) if appa else None
                except (TypeError, ValueError, AttributeError) as exc:
                    report.skip(csv_path, line, f"malformed line: {exc}", strict=strict)
                    continue
                if not name:
                    report.skip(csv_path, line, "malformed line: empty image name", strict=strict)
                    continue
                age = real if age_label == "real" else mean
                rows.append(
                    make_row(
                        image_path=(folder / split / name).resolve(),
                        dataset=dataset,
                        age=age,
                        age_kind=age_label,
                        split_hint=SPLITS[split],
                        attributes={"apparent_age": mean, "apparent_age_std": std, "real_age": real},
                    )
                )
    report.rows = len(rows)
    return ReadResult(to_frame(rows), report)
