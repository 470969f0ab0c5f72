"""Morphable face models (built-in procedural, BFM 2017) and differentiable image formation
(Savov et al. §3.1, Eqs. 2–5)."""

from agelab.morphable.camera import Camera, project, rotation_matrix
from agelab.morphable.image_formation import Formation, form_image
from agelab.morphable.model import MorphableModel, MorphableParams
from agelab.morphable.shading import sh_basis, sh_shading, vertex_normals

__all__ = [
    "Camera",
    "Formation",
    "MorphableModel",
    "MorphableParams",
    "form_image",
    "project",
    "rotation_matrix",
    "sh_basis",
    "sh_shading",
    "vertex_normals",
]
