"""Rigid transform and full perspective projection (Savov et al. Eq. 4).

``u, v = Π(R(ω) G + τ)``: R from exponential coordinates ω by Rodrigues' formula, then a pinhole
camera at the origin looking down +z with image x to the right and image y down. The head frame has
y up and z towards the camera, so it is flipped into the camera frame before τ is added.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: the head frame (y up, z out of the face) turned 180° about x into the camera frame (y down, z forward)
HEAD_TO_CAMERA = torch.tensor([1.0, -1.0, -1.0])


def rotation_matrix(omega: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula: exponential coordinates ``(B, 3)`` -> rotation matrices ``(B, 3, 3)``.

    Differentiable at ω = 0 (the Taylor series is used for small angles).
    """
    theta_sq = (omega * omega).sum(-1, keepdim=True).unsqueeze(-1)  # (B, 1, 1)
    theta = torch.sqrt(theta_sq.clamp_min(1e-12))
    small = theta_sq < 1e-8
    a = torch.where(small, 1 - theta_sq / 6, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta_sq / 24, (1 - torch.cos(theta)) / theta_sq.clamp_min(1e-12))
    wx, wy, wz = omega.unbind(-1)
    zero = torch.zeros_like(wx)
    k = torch.stack([zero, -wz, wy, wz, zero, -wx, -wy, wx, zero], dim=-1).view(-1, 3, 3)
    eye = torch.eye(3, dtype=omega.dtype, device=omega.device).expand_as(k)
    return eye + a * k + b * (k @ k)


def euler_to_omega(yaw: float, pitch: float, roll: float) -> torch.Tensor:
    """Exponential coordinates of R = R_y(yaw) R_x(pitch) R_z(roll) (radians), via the matrix log."""
    import math

    cy, sy, cp, sp, cr, sr = (
        math.cos(yaw),
        math.sin(yaw),
        math.cos(pitch),
        math.sin(pitch),
        math.cos(roll),
        math.sin(roll),
    )
    ry = torch.tensor([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]], dtype=torch.float64)
    rx = torch.tensor([[1, 0, 0], [0, cp, -sp], [0, sp, cp]], dtype=torch.float64)
    rz = torch.tensor([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]], dtype=torch.float64)
    return rotation_log(ry @ rx @ rz)


def rotation_log(r: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rotation_matrix` for one matrix (angles below π)."""
    cos = ((torch.trace(r) - 1) / 2).clamp(-1.0, 1.0)
    angle = torch.arccos(cos)
    axis = torch.stack([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    if angle < 1e-6:
        return axis / 2
    return axis * angle / (2 * torch.sin(angle))


@dataclass(frozen=True)
class Camera:
    """Pinhole intrinsics in pixels: focal length and principal point."""

    focal: float
    cx: float
    cy: float

    @classmethod
    def for_image(cls, size: int, focal_per_size: float = 5.0) -> Camera:
        """A camera whose principal point is the image centre (a long lens, as for face crops)."""
        return cls(focal=focal_per_size * size, cx=size / 2, cy=size / 2)


def to_camera_space(points: torch.Tensor, omega: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """``R(ω) G + τ`` expressed in the camera frame (x right, y down, z forward), ``(B, N, 3)``."""
    rotated = points @ rotation_matrix(omega).transpose(1, 2)
    return rotated * HEAD_TO_CAMERA.to(points) + tau.unsqueeze(1)


def project(points_camera: torch.Tensor, camera: Camera) -> torch.Tensor:
    """Full perspective projection Π (Eq. 4): camera-space points -> pixel coordinates ``(B, N, 2)``."""
    z = points_camera[..., 2:3].clamp_min(1e-6)
    xy = points_camera[..., :2] / z
    return xy * camera.focal + torch.tensor([camera.cx, camera.cy]).to(points_camera)


def rotation_angle_degrees(omega_a: torch.Tensor, omega_b: torch.Tensor) -> torch.Tensor:
    """Geodesic distance between rotations ``R(ω_a)`` and ``R(ω_b)`` in degrees, batched ``(B,)``:
    the angle of ``R_a R_bᵀ`` (the pose error of a prediction against ground truth)."""
    relative = rotation_matrix(omega_a) @ rotation_matrix(omega_b).transpose(1, 2)
    trace = relative.diagonal(dim1=1, dim2=2).sum(-1)
    return torch.rad2deg(torch.arccos(((trace - 1) / 2).clamp(-1.0, 1.0)))


def mean_rotation(omegas: torch.Tensor) -> torch.Tensor:
    """The chordal L2 mean of rotations ``(B, 3)`` -> ω ``(3,)``: the rotation nearest (Frobenius) to the
    average matrix, found by SVD — the "mean pose" baseline of the pose evaluation."""
    average = rotation_matrix(omegas.double()).mean(0)
    u, _, vt = torch.linalg.svd(average)
    d = torch.sign(torch.det(u @ vt))
    nearest = u @ torch.diag(torch.tensor([1.0, 1.0, d], dtype=u.dtype)) @ vt
    return rotation_log(nearest).to(omegas.dtype)
