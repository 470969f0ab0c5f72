"""Reader for the embedded synthetic face set: UTKFace-style file names plus a ground-truth sidecar.

The renderer (:mod:`agelab.synthetic`) writes ``<root>/UTKFace/*.jpg.chip.jpg`` and
``<root>/ground_truth.parquet`` with every rendering parameter, the 68 projected landmarks and the
face box. This reader parses the file names exactly like UTKFace and joins the sidecar, so the synthetic
set exercises the same code path as the real dataset.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from agelab.readers.filename_labels import read_utkface
from agelab.readers.schema import ReadResult, require_dir, require_file

GROUND_TRUTH_FILE = "ground_truth.parquet"
IMAGE_FOLDER = "UTKFace"


def read_synthetic(root: str | Path, *, strict: bool = False, dataset: str = "synthetic") -> ReadResult:
    folder = require_dir(root, dataset)
    truth_path = require_file(folder / GROUND_TRUTH_FILE, dataset, "the renderer's ground-truth table")
    result = read_utkface(folder / IMAGE_FOLDER, strict=strict, dataset=dataset)
    truth = pd.read_parquet(truth_path).set_index("file_name")
    index = result.index
    names = index["image_path"].map(lambda p: Path(p).name)
    missing = ~names.isin(truth.index)
    for path in index.loc[missing, "image_path"]:
        result.report.skip(path, 0, "no ground truth: image absent from ground_truth.parquet", strict=strict)
    index = index.loc[~missing].copy()
    names = names[~missing]
    gt = truth.loc[names.to_numpy()]
    index["subject_id"] = gt["identity_id"].astype(str).to_numpy()
    index["box_x0"], index["box_y0"] = gt["box_x0"].to_numpy(), gt["box_y0"].to_numpy()
    index["box_x1"], index["box_y1"] = gt["box_x1"].to_numpy(), gt["box_y1"].to_numpy()
    index["landmarks"] = gt["landmarks_68"].to_numpy()
    extra = gt.drop(columns=["box_x0", "box_y0", "box_x1", "box_y1", "landmarks_68"])
    index["attributes"] = [
        json.dumps({**json.loads(a), **{k: _plain(v) for k, v in row.items()}}, sort_keys=True)
        for a, row in zip(index["attributes"], extra.to_dict("records"), strict=True)
    ]
    result.report.rows = len(index)
    return ReadResult(index.reset_index(drop=True), result.report)


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
