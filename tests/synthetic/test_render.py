import dataclasses

import numpy as np
import pytest

from agelab.faces.detection import detect_faces
from agelab.synthetic.render import RenderConfig, render_face
from agelab.synthetic.spec import sample_face_specs
from agelab.synthetic.texture import groove_relief


@pytest.fixture(scope="module")
def spec():
    return sample_face_specs(1, seed=11)[0]


def test_rendering_is_deterministic_and_landmarks_lie_in_the_box(spec):
    a, b = render_face(spec), render_face(spec)
    assert a.jpeg == b.jpeg
    assert a.image.shape == (128, 128, 3)
    x0, y0, x1, _y1 = a.box
    inside = (a.landmarks[:, 0] >= x0 - 1) & (a.landmarks[:, 0] <= x1 + 1) & (a.landmarks[:, 1] >= y0 - 1)
    assert inside.all()


def _neutral(spec, **changes):
    delta = np.zeros_like(spec.delta)
    return dataclasses.replace(spec, delta=delta, yaw=0.0, pitch=0.0, roll=0.0, **changes)


def test_wrinkles_grow_with_age_and_expression_creates_wrinkle_like_creases(spec):
    tx, ty = np.meshgrid(np.linspace(-60, 60, 121), np.linspace(-70, 70, 141))
    tx, ty = tx.ravel(), ty.ravel()
    young = groove_relief(tx, ty, _neutral(spec, age=20)).sum()
    old = groove_relief(tx, ty, _neutral(spec, age=70)).sum()
    smiling = _neutral(spec, age=20)
    smiling.delta[1] = 3.0  # smile
    crease = groove_relief(tx, ty, smiling).sum()
    assert old > 3 * young
    assert crease > 2 * young  # the confound: expression alone produces wrinkle-like grooves


def test_dlib_finds_frontal_synthetic_faces():
    specs = [_neutral(s, age=35) for s in sample_face_specs(6, seed=5)]
    found = sum(bool(detect_faces(render_face(s, RenderConfig()).image)) for s in specs)
    assert found >= 4
