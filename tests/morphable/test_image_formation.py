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
