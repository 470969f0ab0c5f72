"""The differentiable image-formation model of Savov et al. §3.1, batched in torch (Eqs. 2–5).

``form_image`` takes a code vector z (Eq. 1) and returns, per vertex, its pixel position (u, v) (Eq. 4),
its shaded colour c (Eq. 5) and whether its normal faces the camera (the set 𝒱 of Eq. 7). Everything
but the visibility test is differentiable with respect to z.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from agelab.morphable.camera import HEAD_TO_CAMERA, Camera, project, rotation_matrix, to_camera_space
from agelab.morphable.model import MorphableModel, MorphableParams
from agelab.morphable.shading import shade, vertex_normals


@dataclass
class Formation:
    """Per-vertex result of the image-formation model for a batch."""

    points_camera: torch.Tensor  # (B, N, 3) camera frame, mm (x right, y down, z forward)
    pixels: torch.Tensor  # (B, N, 2) (u, v) in pixels, pixel (i, j) centred at (j + 0.5, i + 0.5)
    colours: torch.Tensor  # (B, N, 3) shaded linear RGB, Eq. 5
    visible: torch.Tensor  # (B, N) bool: normal faces the camera (𝒱 in Eq. 7)
    landmarks: torch.Tensor  # (B, 68, 2) projected landmark vertices, pixels (dlib order)


def form_image(model: MorphableModel, params: MorphableParams, camera: Camera) -> Formation:
    """Eqs. 2–5 for a batch: geometry and reflectance from the bases, rigid transform, full perspective
    projection, 1-ring vertex normals and Lambertian SH shading.

    Illumination γ is expressed in the *view* frame (the head frame rotated by R(ω): x right, y up,
    z towards the camera), the frame the synthetic renderer lights its faces in.
    """
    geometry = model.geometry(params.alpha, params.delta)  # Eq. 2
    reflectance = model.reflectance(params.beta)  # Eq. 3
    rotation = rotation_matrix(params.omega)
    points_camera = to_camera_space(geometry, params.omega, params.tau)
    pixels = project(points_camera, camera)  # Eq. 4
    normals_view = vertex_normals(geometry, model.triangles) @ rotation.transpose(1, 2)
    colours = shade(reflectance, normals_view, params.gamma)  # Eq. 5
    with torch.no_grad():
        # a vertex faces the camera when its normal points against the ray from the camera to it
        normals_camera = normals_view * HEAD_TO_CAMERA.to(normals_view)
        visible = (normals_camera * points_camera).sum(-1) < 0
    return Formation(
        points_camera=points_camera,
        pixels=pixels,
        colours=colours,
        visible=visible,
        landmarks=pixels[:, model.landmark_indices.clamp_min(0)],  # −1 (not given): meaningless
    )
