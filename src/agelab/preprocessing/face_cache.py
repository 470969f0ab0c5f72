"""Per-image analysis, cached by file identity and resumable.

For every image: decode (or record why it cannot be), hash (SHA-256 and dHash), grayscale test,
dlib detection, choice of the face box (the dataset's own or the detector's), dlib's 68 landmarks on it,
and the face crop written at the configured size. Work runs in worker processes, in chunks; a finished
chunk is stored under a key made of its images' identities (path, size, mtime) and the analysis
configuration, so a re-run skips everything already done and an interrupted run resumes at the first
unfinished chunk.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from agelab.atomic import atomic_write_bytes
from agelab.config import to_dict
from agelab.faces.crops import CropSpec, apply_affine, crop_window, face_crop
from agelab.faces.detection import detect_faces, landmarks_68
from agelab.parallel import progress_map
from agelab.preprocessing.images import (
    UnreadableImageError,
    difference_hash,
    is_grayscale,
    load_rgb,
    sha256,
    thumbnail,
)

logger = logging.getLogger(__name__)
ANALYSIS_VERSION = 2


@dataclass(frozen=True)
class AnalysisConfig:
    """``parameters_data.yml: processing``."""

    detector: str = "hog"  # hog | mmod
    upsample: int = 0  # dlib up-sampling: 1 finds faces down to ~40 px but is 4x slower, with more false hits
    use_dataset_boxes: bool = True  # datasets that ship boxes use them; others need a detection
    match_iou: float = 0.3  # a detection this close to a dataset box counts as "dlib found it"
    crop_size: int = 128
    crop_margin: float = 0.2
    crop_align: bool = False  # similarity-aligned crops from the 68 landmarks (agelab.faces.alignment)
    crop_quality: int = 95
    workers: int | str = "auto"
    chunk_size: int = 256
    grayscale_tolerance: int = 12
    # a dask.distributed scheduler ("tcp://host:8786", or "local" for a LocalCluster of `workers`
    # processes): the per-image analysis then runs on its workers (which must see the same paths)
    dask_scheduler: str | None = None

    def fingerprint(self) -> str:
        payload = {**to_dict(self), "version": ANALYSIS_VERSION}
        for key in ("workers", "chunk_size", "dask_scheduler"):
            payload.pop(key)
        if not self.crop_align:  # caches written before the option existed stay valid
            payload.pop("crop_align")
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


class FaceCache:
    """Folder of cached analysis results (``parts/``) and face crops (``crops/``)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def parts(self) -> Path:
        return self.root / "parts"

    @property
    def crops(self) -> Path:
        return self.root / "crops"

    def crop_path(self, face_key: str) -> Path:
        return self.crops / face_key[:2] / f"{face_key}.jpg"

    def load_crop(self, path: str | Path) -> np.ndarray:
        return np.asarray(Image.open(path).convert("RGB"))

    def __repr__(self) -> str:
        return f"FaceCache({str(self.root)!r})"


def _iou(a, b) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _file_identity(path: str) -> str:
    try:
        st = os.stat(path)
        return f"{path}|{st.st_size}|{st.st_mtime_ns}"
    except OSError:
        return f"{path}|missing"


def _analyse_image(task: tuple[str, list[dict], AnalysisConfig, str]) -> list[dict]:
    """All faces of one image. Never raises for bad input: the row says what went wrong."""
    path, faces, config, cache_root = task
    cache = FaceCache(cache_root)
    base = {
        "image_path": path,
        "status": "ok",
        "sha256": "",
        "dhash": "",
        "width": 0,
        "height": 0,
        "grayscale": False,
        "n_detected": 0,
        "thumbnail": "",
    }
    try:
        image, data = load_rgb(path)
    except UnreadableImageError as exc:
        return [{**base, **_face_keys(face), "status": f"unreadable: {exc}"} for face in faces]
    base.update(
        sha256=sha256(data),
        dhash=f"{difference_hash(image):016x}",
        width=image.shape[1],
        height=image.shape[0],
        grayscale=is_grayscale(image, config.grayscale_tolerance),
        thumbnail=thumbnail(image).hex(),
    )
    detections = detect_faces(image, config.detector, config.upsample)
    base["n_detected"] = len(detections)
    rows = []
    crop_spec = CropSpec(config.crop_size, config.crop_margin, config.crop_align)
    for face in faces:
        row = {**base, **_face_keys(face)}
        given = face["box"]
        box, source, score, matched = None, "", float("nan"), False
        if given is not None:
            best = max(detections, key=lambda d: _iou(d.box, given), default=None)
            matched = best is not None and _iou(best.box, given) >= config.match_iou
            if matched:
                box, source, score = best.box, "detector", best.score
            elif config.use_dataset_boxes:
                box, source = given, "dataset"
        elif len(faces) == 1 and detections:
            box, source, score, matched = detections[0].box, "detector", detections[0].score, True
        row.update(detected=matched, box_source=source, detector_score=score)
        if box is None:
            row.update(face_found=False, crop_path="", landmarks_68="", landmarks_68_crop="")
            rows.append(row)
            continue
        box = tuple(float(v) for v in box)
        points = landmarks_68(image, box)
        crop, matrix = face_crop(image, box, points, crop_spec)
        window = crop_window(box, crop_spec.margin)
        buffer = io.BytesIO()
        Image.fromarray(crop).save(buffer, format="JPEG", quality=config.crop_quality)
        crop_path = cache.crop_path(row["face_key"])
        atomic_write_bytes(crop_path, buffer.getvalue())
        row.update(
            face_found=True,
            face_box_x0=box[0],
            face_box_y0=box[1],
            face_box_x1=box[2],
            face_box_y1=box[3],
            crop_window=json.dumps([round(v, 3) for v in window]),
            crop_matrix=json.dumps(np.round(matrix, 6).tolist()),
            crop_path=str(crop_path),
            landmarks_68=json.dumps(np.round(points, 2).tolist()),
            landmarks_68_crop=json.dumps(np.round(apply_affine(points, matrix), 2).tolist()),
        )
        rows.append(row)
    return rows


def _face_keys(face: dict) -> dict:
    return {"face_key": face["face_key"], "face_in_image": face["face_in_image"]}


def face_key(image_path: str, face_in_image: int, fingerprint: str) -> str:
    return hashlib.sha1(f"{_file_identity(image_path)}|{face_in_image}|{fingerprint}".encode()).hexdigest()


def analyse_faces(
    index: pd.DataFrame,
    cache: FaceCache,
    config: AnalysisConfig,
    *,
    workers: int = 1,
    show_progress: bool = True,
) -> pd.DataFrame:
    """Analyse every face of ``index`` (a face index); return one row per face, in index order."""
    fingerprint = config.fingerprint()
    tasks: list[tuple[str, list[dict]]] = []
    for path, group in index.groupby("image_path", sort=True):
        faces = []
        for row in group.itertuples():
            box = (row.box_x0, row.box_y0, row.box_x1, row.box_y1)
            faces.append(
                {
                    "face_in_image": int(row.face_in_image),
                    "face_key": face_key(path, int(row.face_in_image), fingerprint),
                    "box": None if any(np.isnan(box)) else box,
                }
            )
        tasks.append((path, faces))
    chunks = [tasks[i : i + config.chunk_size] for i in range(0, len(tasks), config.chunk_size)]
    keys = [
        hashlib.sha1("".join(f["face_key"] for _, faces in chunk for f in faces).encode()).hexdigest()
        for chunk in chunks
    ]
    cache.parts.mkdir(parents=True, exist_ok=True)
    todo = [k for k, key in enumerate(keys) if not (cache.parts / f"{key}.parquet").is_file()]
    cached_images = len(tasks) - sum(len(chunks[k]) for k in todo)
    if cached_images:
        logger.info(
            "face analysis: %d of %d images cached, %d to do",
            cached_images,
            len(tasks),
            len(tasks) - cached_images,
        )
    jobs = [(path, faces, config, str(cache.root)) for k in todo for path, faces in chunks[k]]
    results = progress_map(
        _analyse_image,
        jobs,
        workers=workers,
        description="analyse faces",
        show_progress=show_progress,
        chunksize=16,
        scheduler=config.dask_scheduler,
    )
    for k in todo:
        rows = [r for _ in chunks[k] for r in next(results)]
        buffer = io.BytesIO()
        pd.DataFrame(rows).to_parquet(buffer, index=False)
        atomic_write_bytes(cache.parts / f"{keys[k]}.parquet", buffer.getvalue())
    frames = [pd.read_parquet(cache.parts / f"{key}.parquet") for key in keys]
    analysis = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["image_path", "face_in_image"])
    )
    merged = index[["image_path", "face_in_image"]].merge(
        analysis, on=["image_path", "face_in_image"], how="left", validate="one_to_one"
    )
    return merged
