import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from agelab.morphable.camera import (
    Camera,
    euler_to_omega,
    project,
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
