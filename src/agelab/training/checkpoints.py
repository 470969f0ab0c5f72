"""Training checkpoints: model, optimizer, scheduler, epoch, config, best model and history, written
atomically so an interruption never leaves a truncated checkpoint."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from agelab.atomic import atomic_write_bytes

LAST = "last.pt"
BEST = "best.pt"


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(path, map_location=map_location, weights_only=False)


def run_fingerprint(faces: pd.DataFrame, *settings: Any) -> str:
    """A short key for a training run's checkpoint folder: the faces (crop, age, split) and any settings
    that change what is learnt, so other data or another objective never resumes these checkpoints."""
    keys = faces[["crop_path", "age", "split"]].astype(str).agg("|".join, axis=1)
    payload = "\n".join(sorted(keys))
    if settings:
        payload += "\n" + json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
