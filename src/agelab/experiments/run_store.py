"""Where the compare pipeline keeps its training runs: one folder per run and settings
(:func:`~agelab.training.checkpoints.run_fingerprint`) holding the epoch checkpoints while the run trains, so
an interrupted comparison resumes the run's last epoch, and then only the finished model, which a re-run with
the same settings loads instead of training again."""

from __future__ import annotations

import io
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from agelab.atomic import atomic_write_bytes
from agelab.models.bundle import ModelBundle

logger = logging.getLogger(__name__)

FINISHED_MODEL = "finished_model.pt"


def finished_or_trained(
    run_dir: Path,
    train: Callable[[Path], ModelBundle],
    *,
    name: str,
    keep_checkpoints: bool = False,
) -> ModelBundle:
    """The run's finished model from ``run_dir`` if it is there; else ``train(run_dir)`` (which checkpoints
    into ``run_dir``), its model saved there (atomically) and, unless ``keep_checkpoints``, every other file
    of the run deleted (an SPS run's epoch checkpoints take ~1.8 GB, its model 0.5 GB)."""
    finished = Path(run_dir) / FINISHED_MODEL
    if finished.is_file():
        logger.info("compare: %s already trained with these settings, reusing %s", name, finished)
        return ModelBundle.load(finished)
    bundle = train(Path(run_dir))
    bundle.save(finished)
    if not keep_checkpoints:
        for path in Path(run_dir).iterdir():
            if path != finished:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    return bundle


def write_recon3d_backbone(recon3d: ModelBundle, folder: Path) -> Path:
    """The 3D subnet's AlexNet as a torchvision-style state dict in ``folder`` (atomically), the appearance
    run's starting point; returns its path."""
    state = {
        k.removeprefix("backbone."): v for k, v in recon3d.state_dict.items() if k.startswith("backbone.")
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path = Path(folder) / "recon3d_alexnet.pt"
    atomic_write_bytes(path, buffer.getvalue())
    return path
