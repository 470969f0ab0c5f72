import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from agelab.morphable.camera import (
    Camera,
    euler_to_omega,
    project,
    rotation_angle_degrees,
    rotation_log,
    rotation_matrix,
    to_camera_space,
)


def test_rodrigues_matches_scipy_and_is_orthonormal():
    omega = torch.tensor([[0.3, -0.5, 0.2], [1e-9, 0.0, 0.0], [0.0, 2.5, 0.0]], dtype=torch.float64)
    r = rotation_matrix(omega)
    expected = Rotation.from_rotvec(omega.numpy()).as_matrix()
    np.testing.assert_allclose(r.numpy(), expected, atol=1e-9)
    np.testing.assert_allclose(
        (r @ r.transpose(1, 2)).numpy(), np.broadcast_to(np.eye(3), (3, 3, 3)), atol=1e-9
    )


def test_rotation_gradients_are_correct_including_zero():
    omega = torch.tensor([[0.2, -0.1, 0.4], [0.0, 0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rotation_matrix, (omega,))


def test_euler_round_trip():
    omega = euler_to_omega(math.radians(40), math.radians(-10), math.radians(5))
    r = rotation_matrix(omega[None])[0]
    expected = Rotation.from_euler("YXZ", [40, -10, 5], degrees=True).as_matrix()
    np.testing.assert_allclose(r.numpy(), expected, atol=1e-9)
    np.testing.assert_allclose(rotation_log(r).numpy(), omega.numpy(), atol=1e-9)


def test_projection_of_head_frame_points():
    camera = Camera.for_image(100)
    omega = torch.zeros(1, 3)
    tau = torch.tensor([[0.0, 0.0, 500.0]])
    points = torch.tensor([[[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]]])
    cam = to_camera_space(points, omega, tau)
    uv = project(cam, camera)[0]
    assert uv[0].tolist() == pytest.approx([50, 50])
    assert uv[1, 0] > 50  # head +x is image right
    assert uv[2, 1] < 50  # head +y (up) is image up
    assert cam[0, 3, 2] < cam[0, 0, 2]  # head +z (out of the face) points at the camera
    assert (uv[1, 0] - 50).item() == pytest.approx(camera.focal * 10 / 500)


def test_camera_for_an_image_and_projection_with_an_off_centre_principal_point():
    assert Camera.for_image(64) == Camera(focal=320.0, cx=32.0, cy=32.0)
    assert Camera.for_image(64, focal_per_size=2.0) == Camera(focal=128.0, cx=32.0, cy=32.0)
    uv = project(torch.tensor([[[1.0, 2.0, 4.0], [-3.0, 0.0, 2.0]]]), Camera(focal=100.0, cx=10.0, cy=20.0))
    torch.testing.assert_close(uv, torch.tensor([[[35.0, 70.0], [-140.0, 20.0]]]))
    behind = project(torch.tensor([[[1.0, 1.0, -5.0]]]), Camera(focal=1.0, cx=0.0, cy=0.0))
    assert (behind > 1e5).all()  # depth clamped to a tiny positive value, never a sign flip


def test_a_turned_head_in_camera_space_by_hand():
    """Yaw 90° (about the head's y axis) takes head +x to head −z, which the camera sees as +z (away)."""
    omega = torch.tensor([[0.0, math.pi / 2, 0.0]])
    tau = torch.tensor([[1.0, 2.0, 300.0]])
    points = torch.tensor([[[10.0, 0.0, 0.0], [0.0, 5.0, 0.0]]])
    camera_points = to_camera_space(points, omega, tau)
    torch.testing.assert_close(camera_points, torch.tensor([[[1.0, 2.0, 310.0], [1.0, -3.0, 300.0]]]))


def test_rotation_angle_and_the_mean_pose():
    from agelab.morphable.camera import mean_rotation, rotation_angle_degrees

    a = torch.tensor([[0.0, 0.0, 0.3], [0.1, 0.0, 0.0]])
    b = torch.tensor([[0.0, 0.0, 0.1], [0.1, 0.0, 0.0]])
    torch.testing.assert_close(
        rotation_angle_degrees(a, b), torch.tensor([math.degrees(0.2), 0.0]), atol=1e-3, rtol=0
    )
    torch.testing.assert_close(rotation_angle_degrees(b, a), rotation_angle_degrees(a, b))
    turned = torch.tensor([[0.0, 0.5, 0.0]])
    assert float(rotation_angle_degrees(turned, torch.zeros(1, 3))) == pytest.approx(
        math.degrees(0.5), abs=1e-3
    )
    # rotations about one axis average to the mid angle; opposite turns cancel
    mean = mean_rotation(torch.tensor([[0.0, 0.0, 0.2], [0.0, 0.0, 0.4]]))
    torch.testing.assert_close(mean, torch.tensor([0.0, 0.0, 0.3]), atol=1e-6, rtol=0)
    mean = mean_rotation(torch.tensor([[0.0, -0.4, 0.0], [0.0, 0.4, 0.0], [0.0, 0.1, 0.0]]))
    # chordal mean about one axis: the angle of the mean (cos, sin)
    expected = math.atan2(math.sin(0.1) / 3, (2 * math.cos(0.4) + math.cos(0.1)) / 3)
    assert float(mean[1]) == pytest.approx(expected, abs=1e-6)
    assert mean.dtype == torch.float32


def test_rotation_log_of_a_tiny_and_of_a_large_rotation():
    tiny = torch.tensor([[1e-8, -2e-8, 3e-8]], dtype=torch.float64)
    torch.testing.assert_close(rotation_log(rotation_matrix(tiny)[0]), tiny[0], atol=1e-15, rtol=1e-6)
    large = torch.tensor([[0.0, 2.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(rotation_log(rotation_matrix(large)[0]), large[0])


def test_the_small_angle_series_matches_rodrigues_to_float64_precision():
    """Below θ² = 1e-8 the series a = 1 − θ²/6, b = 1/2 − θ²/24 stand in for sin θ / θ and (1 − cos θ)/θ²:
    R[1, 0] = a ω_z = sin θ for ω = (0, 0, θ), and R[0, 1] = b ω_x ω_y for ω = (w, w, 0)."""
    theta = 5e-5  # θ² = 2.5e-9: the series branch; a θ³/3 error would be 4e-14
    r = rotation_matrix(torch.tensor([[0.0, 0.0, theta]], dtype=torch.float64))[0]
    assert abs(float(r[1, 0]) - math.sin(theta)) < 1e-19
    w = 5e-5  # θ² = 2w² = 5e-9
    r = rotation_matrix(torch.tensor([[w, w, 0.0]], dtype=torch.float64))[0]
    b = 2 * math.sin(math.sqrt(2) * w / 2) ** 2 / (2 * w * w)  # (1 − cos θ)/θ², without cancellation
    assert float(r[0, 1]) == pytest.approx(b * w * w, rel=1e-13, abs=0)
    assert b == pytest.approx(0.5 - 2 * w * w / 24, rel=1e-15)


def _float32_rotations(n: int = 256) -> torch.Tensor:
    """A fixed spread of rotation vectors up to about 2.4 rad, in float32."""
    steps = torch.arange(n, dtype=torch.float64)
    return torch.stack(
        [torch.sin(steps * 0.7), torch.cos(steps * 1.3), torch.sin(steps * 2.9 + 1)], -1
    ).float()


def test_the_angle_of_a_rotation_to_itself_is_zero_and_to_its_half_turn_180_in_float32():
    """R Rᵀ in float32 has a trace a few ulps above 3 (and a half turn one below −1) for some ω: the
    cosine is clamped to [−1, 1], so the angle is ~0 (or 180°), never NaN."""
    omega = _float32_rotations()
    same = rotation_angle_degrees(omega, omega)
    assert torch.isfinite(same).all() and float(same.max()) < 0.1
    half_turns = torch.nn.functional.normalize(omega, dim=-1) * math.pi
    opposite = rotation_angle_degrees(half_turns, torch.zeros_like(half_turns))
    assert torch.isfinite(opposite).all() and float((opposite - 180).abs().max()) < 0.1


def test_the_log_of_a_float32_rotation_times_its_transpose_is_zero_not_nan():
    r = rotation_matrix(_float32_rotations())
    for noisy_identity in r @ r.transpose(1, 2):  # traces up to a few ulps above 3
        log = rotation_log(noisy_identity)
        assert torch.isfinite(log).all() and float(log.abs().max()) < 1e-6
