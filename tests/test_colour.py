import numpy as np
import pytest
import torch

from agelab.colour import srgb_to_linear


def test_srgb_to_linear_round_trip_points():
    values = np.array([0.0, 0.04045, 0.5, 1.0])
    linear = srgb_to_linear(values)
    np.testing.assert_allclose(linear[[0, 3]], [0.0, 1.0])
    assert linear[2] == pytest.approx(0.2140, abs=1e-3)
    torch.testing.assert_close(srgb_to_linear(torch.tensor(values)), torch.tensor(linear))
