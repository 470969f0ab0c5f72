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


def test_sh_basis_values_by_hand_at_one_normal():
    """H_b(n) = (a_l c_l / a_0 c_0) · Y_b(n): band 1 scaled by 2, band 2 by 3·sqrt(5/6)."""
    x, y, z = 0.48, 0.6, 0.64  # a unit normal
    k = 3 * math.sqrt(5 / 6)
    expected = torch.tensor(
        [
            1,
            2 * y,
            2 * z,
            2 * x,
            k * x * y,
            k * y * z,
            k * (3 * z * z - 1) / (2 * math.sqrt(3)),
            k * x * z,
            k * (x * x - y * y) / 2,
        ]
    )
    torch.testing.assert_close(sh_basis(torch.tensor([[x, y, z]]))[0], expected)


def test_each_colour_channel_has_its_own_nine_coefficients():
    from agelab.morphable.shading import sh_shading

    normals = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]])
    gamma = torch.zeros(1, 27)
    gamma[0, 0] = 0.25  # red: ambient
    gamma[0, 9 + 2] = 0.5  # green: the z term of band 1
    gamma[0, 18 + 1] = 1.5  # blue: the y term of band 1
    shading = sh_shading(normals, gamma)
    torch.testing.assert_close(shading, torch.tensor([[[0.25, 1.0, 0.0], [0.25, 0.0, 3.0]]]))
    reflectance = torch.tensor([[[0.5, 0.2, 0.1], [1.0, 1.0, 0.4]]])
    torch.testing.assert_close(shade(reflectance, normals, gamma), reflectance * shading)


def test_vertex_normals_weight_adjacent_faces_by_area_and_leave_lone_vertices_at_zero():
    vertices = torch.tensor([[[0.0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 1], [1, 0, 0], [5, 5, 5]]])
    triangles = torch.tensor([[0, 1, 2], [0, 3, 4]])  # face normals (0, 0, 4) and (0, 1, 0): 2 × area
    normals = vertex_normals(vertices, triangles)[0]
    expected = torch.tensor(
        [[0, 1 / math.sqrt(17), 4 / math.sqrt(17)], [0, 0, 1], [0, 0, 1], [0, 1, 0], [0, 1, 0], [0, 0, 0]]
    )
    torch.testing.assert_close(normals, expected)


def test_normals_of_a_triangle_smaller_than_unit_area_are_still_unit_length():
    # (0.1, 0, 0) × (0, 0.2, 0) = (0, 0, 0.02): a normal 0.02 long, normalised to (0, 0, 1)
    vertices = torch.tensor([[[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, 0.2, 0.0]]])
    normals = vertex_normals(vertices, torch.tensor([[0, 1, 2]]))[0]
    torch.testing.assert_close(normals, torch.tensor([[0.0, 0.0, 1.0]]).expand(3, 3))
