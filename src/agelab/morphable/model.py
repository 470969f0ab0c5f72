"""The morphable-model interface shared by the built-in procedural model and BFM 2017.

Geometry (Eq. 2) and reflectance (Eq. 3):

    G(α, δ) = μ_geom + E_id [α · σ_id] + E_exp [δ · σ_exp]
    L(β)    = μ_ref  + E_ref [β · σ_ref]

Coefficients α, β, δ are in units of standard deviations, so the Tikhonov term (Eq. 9) is a plain sum
of squares. Geometry is in millimetres in a head-centred frame (x right, y up, z out of the face);
reflectance is linear RGB in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: Sizes of the code vector z (Eq. 1) used by the paper.
N_IDENTITY, N_EXPRESSION, N_REFLECTANCE, N_ILLUMINATION = 80, 64, 80, 27


@dataclass
class MorphableParams:
    """The code vector z of Eq. 1, batched: identity α, reflectance β, expression δ, SH illumination γ
    (9 bands × RGB), rotation ω (exponential coordinates) and translation τ."""

    alpha: torch.Tensor  # (B, 80)
    beta: torch.Tensor  # (B, 80)
    delta: torch.Tensor  # (B, 64)
    gamma: torch.Tensor  # (B, 27)
    omega: torch.Tensor  # (B, 3)
    tau: torch.Tensor  # (B, 3)

    SIZES = (
        ("alpha", N_IDENTITY),
        ("beta", N_REFLECTANCE),
        ("delta", N_EXPRESSION),
        ("gamma", N_ILLUMINATION),
        ("omega", 3),
        ("tau", 3),
    )

    def to_vector(self) -> torch.Tensor:
        return torch.cat([getattr(self, name) for name, _ in self.SIZES], dim=-1)

    @classmethod
    def from_vector(cls, z: torch.Tensor) -> MorphableParams:
        parts, start = {}, 0
        for name, size in cls.SIZES:
            parts[name] = z[..., start : start + size]
            start += size
        if start != z.shape[-1]:
            raise ValueError(f"z has {z.shape[-1]} entries, expected {start}")
        return cls(**parts)

    @classmethod
    def dimension(cls) -> int:
        return sum(size for _, size in cls.SIZES)


@dataclass
class MorphableModel:
    """A linear (PCA) face model with the paper's factorisation.

    Bases are stored flattened to ``(3N, K)`` so Eqs. 2–3 are one matrix product each.
    """

    mean_shape: torch.Tensor  # (N, 3) mm
    identity_basis: torch.Tensor  # (3N, K_id), orthonormal columns
    identity_std: torch.Tensor  # (K_id,) mm
    expression_basis: torch.Tensor  # (3N, K_exp)
    expression_std: torch.Tensor  # (K_exp,)
    mean_reflectance: torch.Tensor  # (N, 3) in [0, 1]
    reflectance_basis: torch.Tensor  # (3N, K_ref)
    reflectance_std: torch.Tensor  # (K_ref,)
    triangles: torch.Tensor  # (T, 3) int64, counter-clockwise seen from the front (+z)
    landmark_indices: torch.Tensor  # (68,) vertex of each dlib landmark; −1 where a model names none
    name: str = "morphable"

    @property
    def n_vertices(self) -> int:
        return self.mean_shape.shape[0]

    def geometry(self, alpha: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """Eq. 2: vertex positions ``(B, N, 3)`` from identity α ``(B, K_id)`` and expression δ."""
        offsets = (alpha * self.identity_std) @ self.identity_basis.T
        offsets = offsets + (delta * self.expression_std) @ self.expression_basis.T
        return self.mean_shape.unsqueeze(0) + offsets.view(alpha.shape[0], -1, 3)

    def reflectance(self, beta: torch.Tensor) -> torch.Tensor:
        """Eq. 3: per-vertex albedo ``(B, N, 3)`` from reflectance coefficients β."""
        offsets = (beta * self.reflectance_std) @ self.reflectance_basis.T
        return self.mean_reflectance.unsqueeze(0) + offsets.view(beta.shape[0], -1, 3)

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> MorphableModel:
        fields = {}
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                is_float = value.is_floating_point()
                fields[name] = value.to(device=device, dtype=dtype if (dtype and is_float) else None)
            else:
                fields[name] = value
        return MorphableModel(**fields)
