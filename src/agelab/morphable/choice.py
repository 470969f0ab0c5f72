"""Which morphable model a run uses: BFM 2017 when the user has placed it, else the built-in one."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from agelab.config import ConfigError
from agelab.morphable.bfm2017 import load_bfm2017
from agelab.morphable.model import MorphableModel
from agelab.morphable.procedural import build_procedural_model

logger = logging.getLogger(__name__)
KINDS = ("auto", "bfm2017", "procedural")


@dataclass(frozen=True)
class MorphableModelConfig:
    """``parameters_recon3d.yml: recon3d.morphable_model``."""

    kind: str = "auto"  # auto: BFM 2017 if bfm2017_path exists, else the built-in procedural model
    bfm2017_path: str = "data/01_raw/bfm2017/model2017-1_face12_nomouth.h5"
    landmarks_path: str = "data/01_raw/bfm2017/landmarks_48.txt"  # 48 (or 68) vertex indices, one a line
    length_unit: str = "auto"  # auto | mm | um | cm | m


@functools.lru_cache(maxsize=2)
def load_morphable_model(config: MorphableModelConfig) -> MorphableModel:
    """The model ``config`` names; with ``kind: auto`` and no BFM file, say where it goes and use the
    built-in stand-in (results on it must be reported as such). Cached: a run's training, evaluation and
    plotting nodes share one read of the file (callers never modify the model)."""
    from pathlib import Path

    if config.kind not in KINDS:
        raise ConfigError(f"recon3d.morphable_model.kind is '{config.kind}'; choose one of {KINDS}")
    if config.kind == "procedural":
        return build_procedural_model().model
    if config.kind == "auto" and not Path(config.bfm2017_path).is_file():
        logger.warning(
            "Basel Face Model 2017 not found at %s: using the built-in procedural face model, a stand-in "
            "for BFM 2017. To use BFM 2017, place the file there (and the landmark-vertex file at %s) "
            "or set recon3d.morphable_model.bfm2017_path.",
            config.bfm2017_path,
            config.landmarks_path,
        )
        return build_procedural_model().model
    return load_bfm2017(config.bfm2017_path, config.landmarks_path, length_unit=config.length_unit)
