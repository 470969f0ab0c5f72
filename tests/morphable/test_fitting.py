import dataclasses

import pytest
import torch

from agelab.colour import srgb_to_linear
from agelab.morphable.camera import Camera, rotation_angle_degrees
from agelab.morphable.fitting import fit_to_image, neutral_params
from agelab.morphable.procedural import build_procedural_model
from agelab.synthetic.render import RenderConfig, render_face
from agelab.synthetic.spec import sample_face_specs


def test_fitting_one_synthetic_image_recovers_its_pose():
    """Gradient descent on L_fit (Eq. 6) from a frontal start recovers a turned face's rotation within a
    few degrees, although the renderer adds age shape, skin detail, hair, background and JPEG."""
    spec = dataclasses.replace(sample_face_specs(4, seed=11)[0], yaw=-32.0, pitch=8.0, roll=-6.0, age=35)
    face = render_face(spec, RenderConfig(image_size=128))
    image = torch.as_tensor(srgb_to_linear(face.image / 255.0), dtype=torch.float32).permute(2, 0, 1)
    landmarks = torch.as_tensor(face.landmarks, dtype=torch.float32)
    truth = torch.as_tensor(face.omega, dtype=torch.float32)[None]

    result = fit_to_image(build_procedural_model().model, image[None], landmarks[None], Camera.for_image(128))

    start_error = float(rotation_angle_degrees(neutral_params(1).omega, truth))
    error = float(rotation_angle_degrees(result.params.omega, truth))
    assert start_error > 30
    assert error < 5, f"pose error {error:.1f}°"
    assert result.history[-1]["photometric"] < result.history[150]["photometric"]


def _turned_face(size: int = 48):
    """A mean face turned by 18° yaw, its landmarks and an image holding each visible vertex's colour."""
    from agelab.morphable.camera import euler_to_omega
    from agelab.morphable.fitting import place_mean_face
    from agelab.morphable.image_formation import form_image

    model = build_procedural_model().model
    camera = Camera.for_image(size)
    centre = torch.tensor([size / 2, size / 2])
    frontal = (centre + torch.linspace(-size / 3, size / 3, 68)[:, None])[None]
    truth = neutral_params(1, ambient=0.9)
    truth.tau = place_mean_face(model, camera, frontal)
    truth.omega = euler_to_omega(18.0, 0.0, 0.0)[None].float()
    formed = form_image(model, truth, camera)
    image = torch.full((1, 3, size, size), 0.3)
    pixels = formed.pixels[0].long().clamp(0, size - 1)
    image[0, :, pixels[:, 1], pixels[:, 0]] = formed.colours[0].T.detach()
    return model, camera, image, formed.landmarks.detach(), truth


def test_fit_to_image_without_steps_returns_the_frontal_mean_face_placed_on_the_landmarks():
    from agelab.morphable.fitting import FittingConfig, place_mean_face

    model, camera, image, landmarks, _ = _turned_face()
    result = fit_to_image(model, image, landmarks, camera, FittingConfig(rigid_steps=0, steps=0))
    assert result.history == []
    torch.testing.assert_close(result.params.tau, place_mean_face(model, camera, landmarks))
    for name in ("omega", "alpha", "beta", "delta"):
        assert torch.count_nonzero(getattr(result.params, name)) == 0
    gamma = torch.zeros(1, 27)
    gamma[:, [0, 9, 18]] = 0.8  # white ambient light of strength 0.8
    torch.testing.assert_close(result.params.gamma, gamma)
    assert not result.params.tau.requires_grad


def test_each_stage_moves_only_its_parameters_by_its_own_adam_step_size():
    """Adam's first step moves every coordinate with a non-zero gradient by exactly its learning rate. Stage
    1 (rigid) moves ω and τ only, at their rates; stage 2 moves every parameter, ω and τ at half rate."""
    from agelab.morphable.fitting import FittingConfig

    model, camera, image, landmarks, _ = _turned_face()
    config = FittingConfig(
        rigid_steps=0, steps=0, rotation_lr=0.02, translation_lr=2.0, shape_lr=0.05, illumination_lr=0.03
    )
    start = fit_to_image(model, image, landmarks, camera, config).params

    def moved(result, name):
        step = (getattr(result.params, name) - getattr(start, name)).abs()
        return step[step > 1e-9]

    rigid = fit_to_image(model, image, landmarks, camera, dataclasses.replace(config, rigid_steps=1))
    assert len(rigid.history) == 1 and set(rigid.history[0]) == {"stage", "landmark"}
    assert rigid.history[0]["stage"] == 0
    torch.testing.assert_close(moved(rigid, "omega"), torch.full((3,), 0.02), rtol=1e-3, atol=0)
    torch.testing.assert_close(moved(rigid, "tau"), torch.full((3,), 2.0), rtol=1e-3, atol=0)
    for name in ("alpha", "beta", "delta", "gamma"):
        assert moved(rigid, name).numel() == 0, name

    full = fit_to_image(model, image, landmarks, camera, dataclasses.replace(config, steps=1))
    assert len(full.history) == 1 and full.history[0]["stage"] == 1
    assert {"total", "photometric", "landmark"} <= set(full.history[0])
    expected = {"omega": 0.01, "tau": 1.0, "alpha": 0.05, "beta": 0.05, "delta": 0.05, "gamma": 0.03}
    for name, rate in expected.items():
        step = moved(full, name)
        assert step.numel() > 0, name
        # coordinates whose gradient is near Adam's ε move a little less than the rate, none more
        assert float(step.max()) == pytest.approx(rate, rel=1e-4), name
        assert float(step.max()) <= rate * (1 + 1e-4), name


def test_a_short_fit_turns_the_mean_face_towards_the_true_pose_and_lowers_the_loss():
    from agelab.morphable.fitting import FittingConfig

    model, camera, image, landmarks, truth = _turned_face()
    result = fit_to_image(model, image, landmarks, camera, FittingConfig(rigid_steps=40, steps=8))
    assert [entry["stage"] for entry in result.history] == [0] * 40 + [1] * 8
    assert result.history[39]["landmark"] < 0.6 * result.history[0]["landmark"]
    assert result.history[-1]["total"] < result.history[40]["total"]
    error = float(rotation_angle_degrees(result.params.omega, truth.omega))
    assert error < 0.5 * float(rotation_angle_degrees(neutral_params(1).omega, truth.omega))


def _circle(radius: float, centre, n: int = 48) -> torch.Tensor:
    angles = torch.arange(n, dtype=torch.float64) * (2 * torch.pi / n)
    return torch.tensor(centre, dtype=torch.float64) + radius * torch.stack([angles.cos(), angles.sin()], -1)


def test_place_mean_face_by_hand_for_a_batch_of_two():
    """The 48 landmark vertices lie on a circle of radius 10 mm about (5, −3) at z = 7: spread 10. Landmarks
    on a circle of radius 20 px about (40, 30) give depth 100·10/20 = 50, x, y = (40 − 32, 30 − 32)·50/100
    = (4, −1); minus the head centroid in camera axes (5, 3, −7): τ = (−1, −4, 57). Radius 10 px about the
    principal point: depth 100, τ = (0, 0, 100) − (5, 3, −7) = (−5, −3, 107)."""
    from agelab.faces.detection import LANDMARKS_48
    from agelab.morphable.fitting import place_mean_face
    from agelab.morphable.model import MorphableModel

    mean_shape = torch.cat([_circle(10.0, (5.0, -3.0)), torch.full((48, 1), 7.0, dtype=torch.float64)], 1)
    landmark_indices = torch.full((68,), -1)
    landmark_indices[list(LANDMARKS_48)] = torch.arange(48)
    empty = torch.zeros(144, 0)
    model = MorphableModel(
        mean_shape.float(), empty, torch.zeros(0), empty, torch.zeros(0), torch.zeros(48, 3), empty,
        torch.zeros(0), torch.zeros(0, 3, dtype=torch.int64), landmark_indices,
    )  # fmt: skip
    landmarks = torch.zeros(2, 68, 2, dtype=torch.float64)
    landmarks[0, list(LANDMARKS_48)] = _circle(20.0, (40.0, 30.0))
    landmarks[1, list(LANDMARKS_48)] = _circle(10.0, (32.0, 32.0))
    tau = place_mean_face(model, Camera(focal=100.0, cx=32.0, cy=32.0), landmarks)
    expected = torch.tensor([[-1.0, -4.0, 57.0], [-5.0, -3.0, 107.0]], dtype=torch.float64)
    torch.testing.assert_close(tau, expected, atol=1e-4, rtol=0)


def test_neutral_params_have_the_requested_dtype_and_sizes():
    params = neutral_params(2, ambient=0.5, dtype=torch.float64)
    for name, size in (("alpha", 80), ("beta", 80), ("delta", 64), ("gamma", 27), ("omega", 3), ("tau", 3)):
        value = getattr(params, name)
        assert value.dtype == torch.float64 and value.shape == (2, size), name
    assert params.gamma[:, [0, 9, 18]].eq(0.5).all() and params.gamma.sum() == 3.0
