import math

import numpy as np
import torch

from agelab.faces.detection import LANDMARKS_48
from agelab.morphable.camera import Camera, euler_to_omega
from agelab.morphable.fitting import neutral_params, place_mean_face
from agelab.morphable.image_formation import form_image
from agelab.morphable.procedural import build_procedural_model
from agelab.morphable.rasterize import rasterize


def _frontal(model, camera, batch=1):
    """The mean face placed over landmarks centred on the principal point, about 60 px across."""
    params = neutral_params(batch)
    offsets = torch.zeros(68, 2)
    offsets[list(LANDMARKS_48)] = torch.linspace(-30, 30, 48)[:, None]
    landmarks = (torch.tensor([camera.cx, camera.cy]) + offsets).expand(batch, 68, 2)
    params.tau = place_mean_face(model, camera, landmarks)
    return params


def test_frontal_face_sees_its_front_and_not_its_back():
    pm = build_procedural_model()
    camera = Camera.for_image(128)
    formation = form_image(pm.model, _frontal(pm.model, camera), camera)
    front = np.abs(pm.longitude) < np.deg2rad(30)
    back = np.abs(pm.longitude) > np.deg2rad(95)
    visible = formation.visible[0].numpy()
    assert visible[front].mean() > 0.95
    assert visible[back].mean() < 0.05
    # the mean face is centred on the principal point and upright (brows above the chin)
    lm = formation.landmarks[0]
    assert abs(float(lm[list(LANDMARKS_48), 0].mean()) - camera.cx) < 1.5
    assert float(lm[19, 1]) < float(lm[8, 1])
    # shading under unit ambient light is the reflectance itself
    reflectance = pm.model.reflectance(torch.zeros(1, 80))
    torch.testing.assert_close(formation.colours, reflectance)


def test_yaw_turns_the_nose_towards_the_side_it_names():
    pm = build_procedural_model()
    camera = Camera.for_image(128)
    params = _frontal(pm.model, camera)
    params.omega = euler_to_omega(np.deg2rad(30), 0, 0).float()[None]
    lm = form_image(pm.model, params, camera).landmarks[0]
    nose_tip, eye_mid = lm[30], (lm[39] + lm[42]) / 2
    # positive yaw turns the face to the subject's left, which is the viewer's right (+u)
    assert float(nose_tip[0] - eye_mid[0]) > 2


def test_formation_matches_a_rasterized_render_of_its_own_colours():
    """Colours sampled from an image rendered by the (independent, NumPy) rasterizer at the projected
    positions of visible vertices equal the formation's colours."""
    pm = build_procedural_model()
    camera = Camera.for_image(128)
    params = _frontal(pm.model, camera)
    params.omega = euler_to_omega(0.3, -0.1, 0.05).float()[None]
    params.gamma[0, [2, 11, 20]] = 0.4  # light from the front-top adds shading variation
    f = form_image(pm.model, params, camera)
    frags = rasterize(
        f.pixels[0].numpy(), f.points_camera[0, :, 2].numpy(), pm.model.triangles.numpy(), 128, 128
    )
    image = np.zeros((128, 128, 3))
    image[frags.mask] = frags.interpolate(f.colours[0].numpy(), pm.model.triangles.numpy())
    px = f.pixels[0].numpy()
    visible = f.visible[0].numpy() & (np.abs(pm.longitude) < np.deg2rad(40))
    cols, rows = np.floor(px[visible]).astype(int).T
    close = np.abs(image[rows, cols] - f.colours[0].numpy()[visible]).max(1)
    assert np.median(close) < 0.02


def _two_triangle_model():
    """Triangle 0 in the head's z = 0 plane, wound to face +z (normal (10, 0, 0) × (0, 10, 0) ∝ +z);
    triangle 1 in the x = 0 plane, its normal (0, 10, 0) × (0, 0, 10) ∝ +x. White reflectance, no
    shape or colour variation (zero bases of the paper's sizes); landmark 0 is vertex 0 and landmark 1
    vertex 4, the rest are not given (−1)."""
    from agelab.morphable.model import MorphableModel

    mean_shape = torch.tensor(
        [[20.0, 0, 0], [30, 0, 0], [20, 10, 0], [0, 0, 0], [0, 10, 0], [0, 0, 10]]
    )  # fmt: skip
    landmark_indices = torch.full((68,), -1)
    landmark_indices[0], landmark_indices[1] = 0, 4
    zeros = {k: (torch.zeros(18, k), torch.zeros(k)) for k in (64, 80)}
    return MorphableModel(
        mean_shape, *zeros[80], *zeros[64], torch.ones(6, 3), *zeros[80],
        torch.tensor([[0, 1, 2], [3, 4, 5]]), landmark_indices,
    )  # fmt: skip


def test_a_face_turned_edge_on_to_the_camera_is_not_visible_and_landmarks_index_vertex_zero():
    """Frontal at τ = (0, 0, 100): triangle 0's normal (0, 0, −1) in camera axes points back along the
    rays (visible); triangle 1 lies in the camera's x = 0 plane, so its normal (1, 0, 0) is exactly
    perpendicular to the rays to its vertices (n · p = 0): edge-on, not visible."""
    model = _two_triangle_model()
    params = neutral_params(1)
    params.tau = torch.tensor([[0.0, 0.0, 100.0]])
    formation = form_image(model, params, Camera(focal=100.0, cx=32.0, cy=32.0))
    assert formation.visible[0].tolist() == [True, True, True, False, False, False]
    # vertex 0 at camera (20, 0, 100) -> (32 + 100·20/100, 32) = (52, 32); vertex 4 at (0, −10, 100)
    torch.testing.assert_close(formation.landmarks[0, :2], torch.tensor([[52.0, 32.0], [32.0, 22.0]]))


def test_shading_uses_normals_rotated_into_the_view_frame():
    """Yaw 90° turns triangle 0's head-frame normal +z to view-frame +x (R_y(90°) (0, 0, 1) = (1, 0, 0)).
    Red light only in the x term of band 1 (H_3 = 2x, coefficient 0.25) shades it 0.5; green and blue
    have ambient light 1."""
    model = _two_triangle_model()
    params = neutral_params(1)
    params.gamma[0, 0] = 0.0
    params.gamma[0, 3] = 0.25
    params.omega = torch.tensor([[0.0, math.pi / 2, 0.0]])
    params.tau = torch.tensor([[0.0, 0.0, 100.0]])
    colours = form_image(model, params, Camera(focal=100.0, cx=32.0, cy=32.0)).colours[0, :3]
    torch.testing.assert_close(colours, torch.tensor([[0.5, 1.0, 1.0]]).expand(3, 3), atol=1e-6, rtol=0)
