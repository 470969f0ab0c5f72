"""Render a whole synthetic face set in the UTKFace layout, in parallel, resumably and atomically.

Layout written under ``root``::

    UTKFace/[age]_[gender]_[race]_[stamp].jpg.chip.jpg   images (race is always 4, "others")
    ground_truth.parquet                                  one row per image: every rendering parameter
    manifest.json                                         config and its hash, written last

Rendering goes in chunks; each finished chunk leaves ``parts/part-NNNNN.parquet``. An interrupted run
resumes at the first unfinished chunk. A different configuration replaces the files of the old set
(only files the old ground truth lists are removed).

The set deliberately carries the defects real datasets have, so that every cleaning rule runs on the
embedded default: grayscale images, ages above the paper's 80-year cut, and byte-identical duplicates
(half with the same label, half with a conflicting one).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agelab.atomic import atomic_write_bytes, atomic_write_json
from agelab.config import to_dict
from agelab.parallel import progress_map
from agelab.synthetic.render import RenderConfig, render_face
from agelab.synthetic.spec import FaceSpec, sample_face_specs

logger = logging.getLogger(__name__)

GROUND_TRUTH_FILE = "ground_truth.parquet"
IMAGE_FOLDER = "UTKFace"
MANIFEST_FILE = "manifest.json"
STAMP_BASE = 20170101000000000
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FaceSetConfig:
    """Size and content of the embedded synthetic face set (``parameters_data.yml: synthetic``)."""

    n_faces: int = 2400
    seed: int = 0
    image_size: int = 128
    supersample: int = 2
    faces_per_identity: float = 2.0
    min_age: int = 0
    max_age: int = 85
    max_yaw: float = 70.0
    neutral_fraction: float = 0.35
    grayscale_fraction: float = 0.02
    duplicate_fraction: float = 0.01
    chunk_size: int = 200

    def fingerprint(self) -> str:
        payload = {**to_dict(self), "format": FORMAT_VERSION}
        payload.pop("chunk_size")
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def file_name(age: int, gender: str, index: int) -> str:
    return f"{age}_{0 if gender == 'male' else 1}_4_{STAMP_BASE + index}.jpg.chip.jpg"


def _render_one(args: tuple[FaceSpec, RenderConfig, str]) -> dict:
    spec, render_config, image_dir = args
    face = render_face(spec, render_config)
    name = file_name(spec.age, spec.identity.gender, spec.index)
    atomic_write_bytes(Path(image_dir) / name, face.jpeg)
    x0, y0, x1, y1 = face.box
    return {
        "file_name": name,
        "identity_id": spec.identity.identity_id,
        "age": spec.age,
        "true_age": spec.age,
        "gender": spec.identity.gender,
        "yaw": spec.yaw,
        "pitch": spec.pitch,
        "roll": spec.roll,
        "pose_extremeness": float(np.abs(face.omega).max()),
        "omega": face.omega.tolist(),
        "tau": face.tau.tolist(),
        "focal": face.focal,
        "alpha": spec.identity.alpha.tolist(),
        "beta": spec.identity.beta.tolist(),
        "delta": spec.delta.tolist(),
        "gamma": spec.gamma.tolist(),
        **{f"expr_{k}": v for k, v in spec.expression.items()},
        "expression_extremeness": float(np.linalg.norm(spec.delta)),
        "grayscale": spec.grayscale,
        "duplicate_of": "",
        "box_x0": x0,
        "box_y0": y0,
        "box_x1": x1,
        "box_y1": y1,
        "landmarks_68": json.dumps(np.round(face.landmarks, 2).tolist()),
    }


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    atomic_write_bytes(path, buffer.getvalue())


def _add_duplicates(truth: pd.DataFrame, config: FaceSetConfig, image_dir: Path) -> pd.DataFrame:
    rng = np.random.default_rng(config.seed + 1)
    count = round(config.duplicate_fraction * len(truth))
    if count == 0:
        return truth
    sources = rng.choice(len(truth), size=count, replace=False)
    rows = []
    for k, source in enumerate(sources):
        row = truth.iloc[int(source)].to_dict()
        conflicting = k % 2 == 1
        label = int(row["true_age"])
        if conflicting:  # a wrong label 7 or 12 years off, kept inside the sampled age range
            offset = int(rng.choice([7, 12]))
            label = (
                label + offset if label + offset <= config.max_age else max(config.min_age, label - offset)
            )
        name = file_name(label, row["gender"], config.n_faces + k)
        shutil.copyfile(image_dir / row["file_name"], image_dir / f".{name}.part")
        (image_dir / f".{name}.part").replace(image_dir / name)
        rows.append({**row, "file_name": name, "age": label, "duplicate_of": row["file_name"]})
    return pd.concat([truth, pd.DataFrame(rows)], ignore_index=True)


def _remove_previous_set(root: Path) -> None:
    truth_path = root / GROUND_TRUTH_FILE
    if truth_path.is_file():
        for name in pd.read_parquet(truth_path, columns=["file_name"])["file_name"]:
            (root / IMAGE_FOLDER / name).unlink(missing_ok=True)
        truth_path.unlink()
    if (root / "parts").is_dir():
        shutil.rmtree(root / "parts")
    (root / MANIFEST_FILE).unlink(missing_ok=True)


def render_face_set(
    config: FaceSetConfig, root: str | Path, *, workers: int = 1, show_progress: bool = True
) -> pd.DataFrame:
    """Render (or finish rendering) the set ``config`` describes under ``root``; return its ground truth."""
    if config.n_faces < 1:
        raise ValueError(f"data.synthetic.n_faces must be at least 1, got {config.n_faces}")
    root = Path(root)
    image_dir = root / IMAGE_FOLDER
    manifest_path = root / MANIFEST_FILE
    fingerprint = config.fingerprint()
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("fingerprint") == fingerprint and manifest.get("complete"):
            logger.info("synthetic face set %s is up to date (%d images)", root, manifest["images"])
            return pd.read_parquet(root / GROUND_TRUTH_FILE)
        if manifest.get("fingerprint") != fingerprint:
            logger.info("synthetic face set configuration changed: re-rendering %s", root)
            _remove_previous_set(root)
    image_dir.mkdir(parents=True, exist_ok=True)
    parts_dir = root / "parts"
    parts_dir.mkdir(exist_ok=True)
    atomic_write_json(
        manifest_path, {"fingerprint": fingerprint, "config": to_dict(config), "complete": False, "images": 0}
    )

    specs = sample_face_specs(
        config.n_faces,
        config.seed,
        faces_per_identity=config.faces_per_identity,
        min_age=config.min_age,
        max_age=config.max_age,
        max_yaw=config.max_yaw,
        neutral_fraction=config.neutral_fraction,
        grayscale_fraction=config.grayscale_fraction,
    )
    render_config = RenderConfig(image_size=config.image_size, supersample=config.supersample)
    chunks = [specs[i : i + config.chunk_size] for i in range(0, len(specs), config.chunk_size)]
    todo = [
        (k, chunk) for k, chunk in enumerate(chunks) if not (parts_dir / f"part-{k:05d}.parquet").is_file()
    ]
    done = len(specs) - sum(len(chunk) for _, chunk in todo)
    if done:
        logger.info("resuming: %d of %d images already rendered", done, len(specs))
    jobs = [(spec, render_config, str(image_dir)) for _, chunk in todo for spec in chunk]
    results = progress_map(
        _render_one,
        jobs,
        workers=workers,
        description="render synthetic faces",
        show_progress=show_progress,
        chunksize=4,
    )
    for k, chunk in todo:
        rows = [next(results) for _ in chunk]
        _write_parquet(pd.DataFrame(rows), parts_dir / f"part-{k:05d}.parquet")

    truth = pd.concat(
        [pd.read_parquet(parts_dir / f"part-{k:05d}.parquet") for k in range(len(chunks))], ignore_index=True
    )
    truth = _add_duplicates(truth, config, image_dir)
    _write_parquet(truth, root / GROUND_TRUTH_FILE)
    atomic_write_json(
        manifest_path,
        {"fingerprint": fingerprint, "config": to_dict(config), "complete": True, "images": len(truth)},
    )
    return truth


@dataclass(frozen=True)
class RenderedFaceSet:
    """A recipe for the synthetic set: what the Kedro node returns and the catalog dataset writes."""

    config: FaceSetConfig
    workers: int = 1
    show_progress: bool = True
    enabled: bool = True  # false when the run does not select the synthetic set: nothing is written

    def write(self, root: str | Path) -> pd.DataFrame | None:
        if not self.enabled:
            return None
        return render_face_set(self.config, root, workers=self.workers, show_progress=self.show_progress)


__all__ = ["FaceSetConfig", "RenderedFaceSet", "render_face_set"]
