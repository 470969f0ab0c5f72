import logging

import h5py
import numpy as np
import pytest
import torch

from agelab.config import ConfigError
from agelab.faces.detection import LANDMARKS_48
from agelab.morphable.bfm2017 import BFMFormatError, load_bfm2017, read_landmark_vertices
from agelab.morphable.choice import MorphableModelConfig, load_morphable_model
from agelab.morphable.procedural import _grid


def write_bfm(path, *, unit_scale=1.0, colour_scale=1.0, components=(90, 70, 85), flip=False, drop=None):
    """A tiny mesh written in BFM 2017's statismo layout (float32 datasets, (3, N) points)."""
    points, _, triangles = _grid(16, 12)
    n = len(points)
    if flip:
        triangles = triangles[:, [0, 2, 1]]
    rng = np.random.default_rng(0)

    def block(k, mean):
        basis, _ = np.linalg.qr(rng.normal(size=(3 * n, k)))
        return {"mean": mean.ravel(), "pcaBasis": basis, "pcaVariance": np.linspace(4.0, 0.1, k)}

    groups = {
        "shape": block(components[0], points * unit_scale),
        "expression": block(components[1], np.zeros_like(points)),
        "color": block(components[2], np.full_like(points, 0.6 * colour_scale)),
    }
    groups["shape"]["pcaVariance"] = groups["shape"]["pcaVariance"] * unit_scale**2
    with h5py.File(path, "w") as f:
        for group, data in groups.items():
            for key, value in data.items():
                if drop != f"{group}/model/{key}":
                    f[f"{group}/model/{key}"] = value.astype(np.float32)
        f["shape/representer/points"] = points.T.astype(np.float32)
        f["shape/representer/cells"] = triangles.T.astype(np.uint32)
    return points, triangles


def write_landmarks(path, n=48):
    path.write_text("# vertex per landmark\n" + "\n".join(str(i * 2) for i in range(n)) + "\n")
    return path


def test_reads_the_statismo_layout_truncated_to_the_paper_sizes(tmp_path):
    points, triangles = write_bfm(tmp_path / "bfm.h5")
    model = load_bfm2017(tmp_path / "bfm.h5", write_landmarks(tmp_path / "lm.txt"))
    assert model.name == "bfm2017"
    assert model.identity_basis.shape == (3 * len(points), 80)
    assert model.expression_basis.shape[1] == 64 and model.reflectance_basis.shape[1] == 80
    np.testing.assert_allclose(model.mean_shape.numpy(), points, atol=1e-3)
    np.testing.assert_allclose(model.identity_std[:2].numpy(), [2.0, np.sqrt(4.0 - 3.9 / 89)], rtol=1e-6)
    np.testing.assert_array_equal(model.triangles.numpy(), triangles)
    eye = model.identity_basis.T @ model.identity_basis
    torch.testing.assert_close(eye, torch.eye(80), atol=1e-4, rtol=0)
    # 48 indices fill Eq. 8's points, in dlib order; the rest are marked as not given
    assert model.landmark_indices[LANDMARKS_48[0]] == 0 and model.landmark_indices[LANDMARKS_48[5]] == 10
    assert int(model.landmark_indices[0]) == -1


def test_micrometres_and_0_255_colours_are_converted(tmp_path):
    points, _ = write_bfm(tmp_path / "bfm.h5", unit_scale=1000.0, colour_scale=255.0)
    model = load_bfm2017(tmp_path / "bfm.h5", write_landmarks(tmp_path / "lm.txt", 68))
    np.testing.assert_allclose(model.mean_shape.numpy(), points, rtol=1e-5, atol=1e-2)
    assert float(model.identity_std[0]) == pytest.approx(2.0, rel=1e-5)
    assert float(model.mean_reflectance.max()) == pytest.approx(0.6, rel=1e-5)
    assert model.landmark_indices.tolist() == [2 * i for i in range(68)]


def test_inward_winding_is_turned_outwards(tmp_path):
    _, triangles = write_bfm(tmp_path / "bfm.h5", flip=True)
    model = load_bfm2017(tmp_path / "bfm.h5", write_landmarks(tmp_path / "lm.txt"))
    np.testing.assert_array_equal(model.triangles.numpy(), triangles[:, [0, 2, 1]])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"drop": "expression/model/pcaBasis"}, "no 'expression/model/pcaBasis'"),
        ({"components": (90, 40, 85)}, "has 40 components; the paper's code vector needs 64"),
    ],
)
def test_malformed_files_name_the_file_and_the_entry(tmp_path, kwargs, message):
    write_bfm(tmp_path / "bfm.h5", **kwargs)
    with pytest.raises(BFMFormatError, match=message) as error:
        load_bfm2017(tmp_path / "bfm.h5", write_landmarks(tmp_path / "lm.txt"))
    assert "bfm.h5" in str(error.value)


def test_a_file_that_is_not_hdf5_is_refused_clearly(tmp_path):
    (tmp_path / "bfm.h5").write_bytes(b"not hdf5")
    with pytest.raises(BFMFormatError, match="not a readable HDF5 file"):
        load_bfm2017(tmp_path / "bfm.h5", tmp_path / "lm.txt")


def test_landmark_file_errors(tmp_path):
    (tmp_path / "lm.txt").write_text("1\n2\nthree\n")
    with pytest.raises(BFMFormatError, match=r"lm.txt:3: 'three' is not a vertex index"):
        read_landmark_vertices(tmp_path / "lm.txt", 100)
    (tmp_path / "lm.txt").write_text("\n".join(["5"] * 47))
    with pytest.raises(BFMFormatError, match="47 vertex indices"):
        read_landmark_vertices(tmp_path / "lm.txt", 100)
    (tmp_path / "lm.txt").write_text("\n".join(["500"] * 48))
    with pytest.raises(BFMFormatError, match="outside the mesh"):
        read_landmark_vertices(tmp_path / "lm.txt", 100)
    with pytest.raises(FileNotFoundError, match="48 landmarks"):
        read_landmark_vertices(tmp_path / "missing.txt", 100)


def test_model_choice_falls_back_to_the_builtin_model_and_says_where_bfm_goes(tmp_path, caplog):
    missing = tmp_path / "bfm2017" / "model2017-1_face12_nomouth.h5"
    with caplog.at_level(logging.WARNING):
        model = load_morphable_model(MorphableModelConfig(bfm2017_path=str(missing)))
    assert model.name == "procedural"
    assert str(missing) in caplog.text and "stand-in" in caplog.text
    with pytest.raises(FileNotFoundError, match="University of Basel"):
        load_morphable_model(MorphableModelConfig(kind="bfm2017", bfm2017_path=str(missing)))
    with pytest.raises(ConfigError, match="kind"):
        load_morphable_model(MorphableModelConfig(kind="bfm2009"))
    write_bfm(tmp_path / "bfm.h5")
    config = MorphableModelConfig(
        bfm2017_path=str(tmp_path / "bfm.h5"), landmarks_path=str(write_landmarks(tmp_path / "lm.txt"))
    )
    assert load_morphable_model(config).name == "bfm2017"
