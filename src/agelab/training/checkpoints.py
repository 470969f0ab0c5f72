"""Training checkpoints: model, optimizer, scheduler, epoch, config, best model and history, written
atomically so an interruption never leaves a truncated checkpoint."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

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
