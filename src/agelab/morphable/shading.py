"""Vertex normals and Lambertian spherical-harmonics shading (Savov et al. Eq. 5).

``C = L(β) ⊙ Σ_b γ_b H_b(n)`` with the first B = 3 SH bands (9 basis functions) per RGB channel, so γ
has 27 entries. The basis includes the Lambertian kernel's band factors (Ramamoorthi & Hanrahan 2001),
so γ are irradiance coefficients and γ = (1, 0, …, 0) per channel gives unit ambient shading.
"""

from __future__ import annotations

import math

import torch

_A = (math.pi, 2 * math.pi / math.sqrt(3.0), 2 * math.pi / math.sqrt(8.0))
_C = (
    1 / math.sqrt(4 * math.pi),
    math.sqrt(3.0) / math.sqrt(4 * math.pi),
    3 * math.sqrt(5.0) / math.sqrt(12 * math.pi),
)
#: scale that makes the constant basis function equal to 1
_AMBIENT = _A[0] * _C[0]


def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """The 9 SH basis functions H_b(n) at unit normals ``(..., 3)`` -> ``(..., 9)``, scaled so H_0 = 1."""
    x, y, z = normals.unbind(-1)
    one = torch.ones_like(x)
    c1, c2 = _A[1] * _C[1], _A[2] * _C[2]
    basis = torch.stack(
        [
            _AMBIENT * one,
            c1 * y,
            c1 * z,
            c1 * x,
            c2 * x * y,
            c2 * y * z,
            c2 * (3 * z * z - 1) / (2 * math.sqrt(3.0)),
            c2 * x * z,
            c2 * (x * x - y * y) / 2,
        ],
        dim=-1,
    )
    return basis / _AMBIENT


def sh_shading(normals: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """Shading ``(B, N, 3)`` = Σ_b γ_b H_b(n) for normals ``(B, N, 3)`` and γ ``(B, 27)`` (9 × RGB)."""
    basis = sh_basis(normals)  # (B, N, 9)
    return torch.einsum("bnk,bkc->bnc", basis, gamma.view(-1, 3, 9).transpose(1, 2))


def shade(reflectance: torch.Tensor, normals: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """Eq. 5: shaded colour C = L(β) ⊙ Σ γ_b H_b(n)."""
    return reflectance * sh_shading(normals, gamma)


def vertex_normals(vertices: torch.Tensor, triangles: torch.Tensor) -> torch.Tensor:
    """Unit vertex normals from the 1-ring: area-weighted sum of adjacent face normals ``(B, N, 3)``."""
    v0, v1, v2 = (vertices[:, triangles[:, i]] for i in range(3))
    face_normals = torch.cross(v1 - v0, v2 - v0, dim=-1)  # length = 2 × area
    normals = torch.zeros_like(vertices)
    for i in range(3):
        normals = normals.index_add(1, triangles[:, i], face_normals)
    return torch.nn.functional.normalize(normals, dim=-1, eps=1e-12)
