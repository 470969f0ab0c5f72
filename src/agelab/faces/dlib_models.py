"""Locate dlib's model files shipped by the ``face-recognition-models`` package.

The package's ``__init__`` imports ``pkg_resources`` (gone from setuptools ≥ 81), so its folder is found
with :func:`importlib.util.find_spec` without importing it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

SHAPE_PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
MMOD_DETECTOR = "mmod_human_face_detector.dat"
ENV_OVERRIDE = "AGELAB_DLIB_MODELS"


class DlibModelNotFoundError(FileNotFoundError):
    pass


def models_dir() -> Path:
    """Folder holding the dlib ``.dat`` files (``$AGELAB_DLIB_MODELS`` overrides the package's)."""
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        return Path(override)
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise DlibModelNotFoundError(
            "the face-recognition-models package is not installed; `pip install face-recognition-models` "
            f"or set {ENV_OVERRIDE} to a folder holding {SHAPE_PREDICTOR_68}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_path(name: str) -> Path:
    path = models_dir() / name
    if not path.is_file():
        raise DlibModelNotFoundError(f"dlib model file {name} not found at {path}")
    return path
