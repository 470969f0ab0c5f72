import json

import numpy as np
import pandas as pd
import torch
from PIL import Image

from agelab.faces.crop_transforms import IMAGENET_MEAN, IMAGENET_STD, AugmentConfig
from agelab.faces.detection import MIRROR_68
from agelab.training.reconstruction_data import FaceReconstructionDataset, crop_landmarks, has_landmarks


def _face(tmp_path, landmarks_image: np.ndarray, window=(10.0, 20.0, 74.0, 84.0), crop_size=64):
    """A 64 px crop with one bright dot where landmark 36 falls, and its model-input row."""
    crop = np.full((crop_size, crop_size, 3), 40, np.uint8)
    in_crop = (landmarks_image + 0.5 - np.array(window[:2])) * crop_size / (window[2] - window[0])
    x, y = np.floor(in_crop[36]).astype(int)
    crop[y, x] = 255
    path = tmp_path / "crop.png"
    Image.fromarray(crop).save(path)
    return pd.DataFrame(
        {
            "crop_path": [str(path)],
            "age": [30.0],
            "landmarks_68": [json.dumps(landmarks_image.tolist())],
            "crop_window": [json.dumps(list(window))],
        }
    )


def test_landmarks_move_with_the_crop_and_centre_window(tmp_path):
    landmarks = np.random.default_rng(0).uniform(20, 70, (68, 2)).round()
    faces = _face(tmp_path, landmarks)
    points = crop_landmarks(faces, "landmarks_68", 64, 48, dlib=True)[0]
    expected = (landmarks + 0.5 - np.array([10.0, 20.0])) * 1.0 - 8
    np.testing.assert_allclose(points, expected, atol=1e-5)


def test_sample_holds_normalised_input_linear_image_and_landmarks_and_flip_mirrors_them(tmp_path):
    landmarks = np.random.default_rng(1).uniform(25, 65, (68, 2)).round()
    faces = _face(tmp_path, landmarks)
    plain = FaceReconstructionDataset(faces, crop_size=64, image_size=48)
    network_input, target = plain[0]
    assert network_input.shape == target["image"].shape == (3, 48, 48)
    std, mean = torch.tensor(IMAGENET_STD).view(3, 1, 1), torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    srgb = network_input * std + mean
    assert target["image"].max() <= 1 and torch.all(target["image"] <= srgb + 1e-5)  # linear ≤ sRGB
    x, y = target["landmarks"][36].floor().long()
    assert target["image"][0, y, x] == 1.0  # the dot sits under landmark 36
    assert float(target["landmark_weight"]) == 1.0
    weighted = FaceReconstructionDataset(faces, crop_size=64, image_size=48, landmark_weights=np.array([0.0]))
    assert float(weighted[0][1]["landmark_weight"]) == 0.0

    flipped = FaceReconstructionDataset(
        faces, crop_size=64, image_size=48, augment=AugmentConfig(random_crop=False, colour_jitter=0.0)
    )
    torch.manual_seed(0)
    samples = [flipped[0] for _ in range(8)]
    mirrored = [t for _, t in samples if not torch.equal(t["landmarks"], target["landmarks"])]
    assert mirrored, "no sample was flipped"
    t = mirrored[0]
    # after the flip the dot is where the mirror point of 36 (45, the other eye's outer corner) now is
    assert MIRROR_68[36] == 45
    x, y = t["landmarks"][45].floor().long()
    assert t["image"][0, y, x] == 1.0
    torch.testing.assert_close(t["landmarks"][45, 0], 48 - target["landmarks"][36, 0])


def test_faces_without_68_landmarks_are_recognised():
    faces = pd.DataFrame({"landmarks_68": [json.dumps(np.zeros((68, 2)).tolist()), "", None, "[[1, 2]]"]})
    assert has_landmarks(faces).tolist() == [True, False, False, False]


def test_random_windows_and_colour_jitter_keep_the_landmarks_on_the_face(tmp_path):
    """The shared augmentation policy (random crop, flip, jitter) on the 3D subnet's training pairs."""
    landmarks = np.random.default_rng(2).uniform(25, 65, (68, 2)).round()
    faces = _face(tmp_path, landmarks)
    centre = FaceReconstructionDataset(faces, crop_size=64, image_size=48)[0][1]["landmarks"]
    augmented = FaceReconstructionDataset(
        faces, crop_size=64, image_size=48, augment=AugmentConfig(flip=False, colour_jitter=0.3)
    )
    torch.manual_seed(1)
    shifts = set()
    for _ in range(12):
        _, target = augmented[0]
        shift = target["landmarks"] - centre
        assert torch.allclose(shift, shift[0].expand_as(shift))  # every point moves by the window's offset
        assert shift.abs().max() <= 8 and torch.equal(shift, shift.round())
        shifts.add(tuple(shift[0].tolist()))
        x, y = target["landmarks"][36].floor().long()
        brightest = target["image"][0].flatten().argmax()
        assert (int(brightest // 48), int(brightest % 48)) == (int(y), int(x))  # the dot moved with them
    assert len(shifts) > 3
