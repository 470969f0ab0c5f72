"""agelab.synthetic.texture: value noise against a plain-Python reference of its hash and interpolation."""

from __future__ import annotations

import numpy as np
import pytest

from agelab.synthetic.texture import value_noise


def _hash(i: int, j: int, seed: int) -> float:
    """The lattice hash, written out in Python integers (no NumPy wrap-around to hide behind)."""
    h = (i * 374761393 + j * 668265263 + seed * 2147483647) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 1274126177) & 0xFFFFFFFF
    return (h ^ (h >> 16)) / 0xFFFFFFFF


def _reference(x: float, y: float, scale: float, seed: int) -> float:
    gx, gy = x / scale, y / scale
    i, j = int(np.floor(gx)), int(np.floor(gy))
    fx, fy = gx - i, gy - j
    sx, sy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    top = _hash(i, j, seed) * (1 - sx) + _hash(i + 1, j, seed) * sx
    bottom = _hash(i, j + 1, seed) * (1 - sx) + _hash(i + 1, j + 1, seed) * sx
    return top * (1 - sy) + bottom * sy


def test_value_noise_at_lattice_points_is_the_hash_and_halfway_is_the_mean():
    assert value_noise(np.array([0.0]), np.array([0.0]), 1.0, 0)[0] == 0.0  # the hash of (0, 0, seed 0)
    x, y = np.array([3.0, 3.5]), np.array([-2.0, -2.0])
    got = value_noise(x, y, 1.0, 11)
    assert got[0] == pytest.approx(_hash(3, -2, 11), abs=1e-15)
    # smoothstep(0.5) = 0.5: halfway along x is the mean of the two corners
    assert got[1] == pytest.approx((_hash(3, -2, 11) + _hash(4, -2, 11)) / 2, abs=1e-15)
    assert _hash(3, -2, 11) != _hash(4, -2, 11)


@pytest.mark.parametrize("spread", [5.0, 5000.0])  # a dense point set (gathered grid) and a sparse one
def test_value_noise_matches_the_reference_on_dense_and_sparse_points(spread):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-spread, spread, (2, 300))
    got = value_noise(x, y, 1.3, 7)
    expected = np.array([_reference(a, b, 1.3, 7) for a, b in zip(x, y, strict=True)])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert got.min() >= 0 and got.max() <= 1


def test_value_noise_keeps_an_image_grid_shape_and_handles_no_points():
    yy, xx = np.mgrid[0:4, 0:6].astype(np.float64)
    assert value_noise(xx, yy, 2.0, 3).shape == (4, 6)
    assert value_noise(np.zeros(0), np.zeros(0), 1.0, 0).shape == (0,)
