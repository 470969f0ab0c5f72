import numpy as np
import torch

from agelab.evaluation.face_predictors import detector_faces, foss_faces
from agelab.models.foss import FossNet
from tests.conftest import SMALL_FOSS as SMALL


def test_detector_faces_are_the_foss_models_boxes_without_the_age_network():
    torch.manual_seed(0)
    model = FossNet(**SMALL)
    image = np.random.default_rng(0).integers(0, 255, (96, 160, 3), dtype=np.uint8)
    whole = foss_faces(model, 8, nms_iou=0.5)(image)
    alone = detector_faces(model.detector, 8, nms_iou=0.5)(image)
    np.testing.assert_allclose(alone.boxes, whole.boxes, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(alone.scores, whole.scores, rtol=1e-6)
    assert np.isnan(alone.ages).all()
    assert (alone.boxes[:, [0, 1]] >= 0).all() and (alone.boxes[:, 2] <= 160).all()


def test_detector_faces_return_more_than_the_age_crops_k():
    torch.manual_seed(0)
    model = FossNet(**SMALL)
    image = np.random.default_rng(1).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    faces = detector_faces(model.detector, 60, nms_iou=None)(image)
    assert len(faces.boxes) == 60 and np.all(np.diff(faces.scores) <= 0)
