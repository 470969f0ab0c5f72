"""Training checkpoints: model, optimizer, scheduler, epoch, config, best model and history, written
atomically so an interruption never leaves a truncated checkpoint.

A run's checkpoints live in a folder named by the *fingerprint* of everything that changes what is learnt:
the data, the model, the loss, the augmentation, the initial weights' bytes and the training settings
(:func:`training_fingerprint`, :func:`checkpoint_folder`). Unchanged settings find the folder and resume;
changed ones get a new folder, start afresh and say which parts changed. Every pipeline uses this one
mechanism through :func:`agelab.training.engine.fit`.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from agelab.atomic import atomic_write_bytes

logger = logging.getLogger(__name__)

LAST = "last.pt"
BEST = "best.pt"
FINGERPRINT = "fingerprint.json"
# settings that change how a run is shown or scheduled, never what it learns
NOT_FINGERPRINTED = ("show_progress", "training")


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(path, map_location=map_location, weights_only=False)


# What a training face *is*, independent of where its files live: the image's bytes (SHA-256), which face of
# the image, the crop's geometry (the image-to-crop similarity: detector, alignment, margin and crop size),
# the label and the split. Not the crop's path: the face cache names crops by the source file's path and
# mtime, so a dataset copied, moved or re-mounted gets new crop paths for the same pixels.
CONTENT_COLUMNS = ("sha256", "face_in_image", "crop_matrix", "age", "split")
PATH_COLUMNS = ("crop_path", "age", "split")  # frames without content columns (no image analysis)


def data_digest(faces: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """Digest of the training data: the faces' ``columns``, by default :data:`CONTENT_COLUMNS` where the
    frame has them (every frame the data pipeline makes), else :data:`PATH_COLUMNS`. Row order does not
    matter."""
    if columns is None:
        columns = CONTENT_COLUMNS if set(CONTENT_COLUMNS) <= set(faces.columns) else PATH_COLUMNS
    keys = faces[list(columns)].astype(str).agg("|".join, axis=1)
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


def file_digest(path: str | Path | None) -> str | None:
    """SHA-256 of a weights file's bytes (None for no file): edited weights under the same name differ."""
    if not path:
        return None
    path = Path(path)
    if not path.is_file():
        return f"missing:{path}"
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def state_digest(state_dict: Mapping[str, Any]) -> str:
    """Digest of a model's weights (e.g. the pre-trained 3D subnet a multi-task run starts from)."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        value = state_dict[name]
        digest.update(name.encode())
        if hasattr(value, "detach"):
            digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()[:16]


def training_fingerprint(
    data: str, settings: Mapping[str, Any], *, initial_weights: Mapping[str, str | None] | None = None
) -> dict[str, Any]:
    """The parts of a run that change its result: ``data`` (a :func:`data_digest`), each top-level entry of
    the run's ``settings`` (model, loss weights, augmentation, ...; not ``show_progress`` and not
    ``training``, which :func:`~agelab.training.engine.fit` adds as its ``TrainConfig.resume_key``) and the
    digests of its initial weights."""
    parts: dict[str, Any] = {"data": data}
    clash = {"data", "initial_weights"} & set(settings)
    if clash:
        raise ValueError(f"settings may not be named {sorted(clash)}: those fingerprint parts are given")
    for key, value in settings.items():
        if key not in NOT_FINGERPRINTED:
            parts[key] = json.loads(json.dumps(value, sort_keys=True, default=str))
    parts["initial_weights"] = dict(initial_weights or {})
    return parts


def fingerprint_key(fingerprint: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()[:16]


def checkpoint_folder(root: str | Path, fingerprint: Mapping[str, Any]) -> Path:
    """The checkpoint folder of the run with this ``fingerprint`` under ``root``.

    Unchanged settings return the folder their earlier run left (the engine resumes it). Otherwise a new
    folder is made and, when an earlier run's folder is there, the log names the parts that differ, so
    nobody mistakes a fresh start for a resume."""
    root = Path(root)
    fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True, default=str))
    folder = root / fingerprint_key(fingerprint)
    if (folder / FINGERPRINT).is_file():
        return folder
    earlier = sorted(
        (p for p in root.glob(f"*/{FINGERPRINT}") if p.parent != folder), key=lambda p: p.stat().st_mtime
    )
    if earlier:
        previous = json.loads(earlier[-1].read_text())
        changed = sorted(k for k in set(previous) | set(fingerprint) if previous.get(k) != fingerprint.get(k))
        logger.warning(
            "settings changed since the checkpoints in %s (%s): training afresh in %s",
            earlier[-1].parent,
            ", ".join(changed),
            folder,
        )
    atomic_write_bytes(folder / FINGERPRINT, json.dumps(fingerprint, indent=1, sort_keys=True).encode())
    return folder


# Raised when the training code changes what the same settings learn (2: runs seed their model's initial
# weights), so a finished run an earlier revision trained is trained again rather than reused.
TRAINING_REVISION = 2


def run_fingerprint(faces: pd.DataFrame, *settings: Any) -> str:
    """A short key for a finished run (the compare pipeline's model reuse): the faces, any settings and the
    :data:`TRAINING_REVISION`."""
    return fingerprint_key(
        {"data": data_digest(faces), "settings": list(settings), "revision": TRAINING_REVISION}
    )
