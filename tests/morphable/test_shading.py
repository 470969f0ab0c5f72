import math

import torch

from agelab.morphable.shading import sh_basis, shade, vertex_normals


def _sphere(n: int = 20):
    theta = torch.linspace(0.1, math.pi - 0.1, n)
    phi = torch.linspace(0, 2 * math.pi, n + 1)[:-1]
    t, p = torch.meshgrid(theta, phi, indexing="ij")
    points = torch.stack([t.sin() * p.cos(), t.sin() * p.sin(), t.cos()], -1).reshape(-1, 3)
    tris = []
    for i in range(n - 1):
        for j in range(n):
            a, b, c, d = i * n + j, i * n + (j + 1) % n, (i + 1) * n + j, (i + 1) * n + (j + 1) % n
            tris += [[a, c, b], [b, c, d]]
    return points, torch.tensor(tris)


def test_vertex_normals_of_sphere_point_outwards():
    points, tris = _sphere()
    normals = vertex_normals(points[None], tris)[0]
    assert torch.nn.functional.cosine_similarity(normals, points).min() > 0.98


def test_ambient_only_light_returns_reflectance_and_directional_light_is_lambertian():
    normals = torch.nn.functional.normalize(torch.randn(1, 50, 3), dim=-1)
    reflectance = torch.rand(1, 50, 3)
    ambient = torch.zeros(1, 27)
    ambient[0, [0, 9, 18]] = 1.0
    assert torch.allclose(shade(reflectance, normals, ambient), reflectance)
    basis = sh_basis(torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]))
    assert basis[0, 2] > 0 > basis[1, 2]  # the z band brightens normals facing +z only
    assert torch.allclose(basis[:, 0], torch.ones(2))
