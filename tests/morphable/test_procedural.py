import itertools

import numpy as np
import torch

from agelab.morphable.model import MorphableParams
from agelab.morphable.procedural import build_procedural_model
from agelab.morphable.rasterize import rasterize


def test_interface_sizes_and_orthonormal_bases():
    model = build_procedural_model().model
    n = model.n_vertices
    assert model.identity_basis.shape == (3 * n, 80)
    assert model.expression_basis.shape == (3 * n, 64)
    assert model.reflectance_basis.shape == (3 * n, 80)
    gram = model.identity_basis.T @ model.identity_basis
    assert torch.allclose(gram, torch.eye(80), atol=1e-4)
    assert MorphableParams.dimension() == 80 + 80 + 64 + 27 + 3 + 3
    z = torch.randn(2, MorphableParams.dimension())
    assert torch.equal(MorphableParams.from_vector(z).to_vector(), z)


def test_coefficients_move_the_face_by_plausible_amounts():
    model = build_procedural_model().model
    zero = torch.zeros(1, 80), torch.zeros(1, 64)
    assert torch.equal(model.geometry(*zero)[0], model.mean_shape)
    moved = []
    for k in range(80):
        alpha = torch.zeros(1, 80)
        alpha[0, k] = 1.0
        moved.append((model.geometry(alpha, zero[1])[0] - model.mean_shape).norm(dim=1).max().item())
    assert all(1.0 < m < 8.0 for m in moved[:11])  # designed components: mm per standard deviation
    assert all(b <= a + 1e-3 for a, b in itertools.pairwise(moved[11:]))  # decaying spectrum
    assert moved[-1] > 0.05
    reflectance = model.reflectance(torch.zeros(1, 80))[0]
    assert reflectance.min() > 0 and reflectance.max() < 1


def test_landmarks_follow_dlib_68_semantics():
    model = build_procedural_model().model
    xy = model.mean_shape[model.landmark_indices, :2].numpy()
    assert xy[0, 0] < xy[8, 0] < xy[16, 0]  # jaw runs from the subject's right (image left) to left
    assert xy[8, 1] == xy[:, 1].min()  # chin lowest
    assert xy[36:42, 0].max() < 0 < xy[42:48, 0].min()  # right eye on image left
    assert xy[19, 1] > xy[37, 1] > xy[30, 1] > xy[51, 1] > xy[57, 1]  # brow > eye > nose tip > lips
    assert len(set(model.landmark_indices.tolist())) == 68


def test_front_of_mean_face_renders_with_nose_nearest_the_camera():
    model = build_procedural_model().model
    mean = model.mean_shape.numpy()
    pixels = np.stack([mean[:, 0] + 128, 128 - mean[:, 1]], 1)  # orthographic front view
    depth = 1000 - mean[:, 2]
    frags = rasterize(pixels, depth, model.triangles.numpy(), 256, 256)
    nose_tip = model.landmark_indices[30].item()
    u, v = pixels[nose_tip].astype(int)
    assert frags.mask.mean() > 0.3
    assert frags.depth[v, u] == frags.depth[frags.mask].min() or frags.depth[v, u] < np.percentile(
        frags.depth[frags.mask], 2
    )
