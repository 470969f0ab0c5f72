"""Morphable face models and differentiable image formation (Savov et al. §3.1, Eqs. 2–5)."""

from agelab.morphable.camera import Camera, project, rotation_matrix
from agelab.morphable.model import MorphableModel, MorphableParams
from agelab.morphable.shading import sh_basis, sh_shading, vertex_normals

__all__ = [
    "Camera",
    "MorphableModel",
    "MorphableParams",
    "project",
    "rotation_matrix",
    "sh_basis",
    "sh_shading",
    "vertex_normals",
]
