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
    load_morphable_model.cache_clear()  # a temp path can repeat between sessions in one process (mutmut)
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


def _rewrite(path, key, value):
    with h5py.File(path, "r+") as f:
        del f[key]
        f[key] = np.asarray(value)


@pytest.mark.parametrize(
    ("width", "unit"),
    [(30, "mm"), (1000, "mm"), (29.9, "cm"), (3, "cm"), (3e4, "um"), (1e6, "um"), (0.03, "m"), (1, "m")],
)
def test_length_unit_from_the_mesh_width_at_each_boundary(width, unit):
    from agelab.morphable.bfm2017 import infer_length_unit

    mesh = np.array([[-width / 4, 1.0, 2.0], [width * 3 / 4, 0.0, 0.0], [0.0, 3.0, 9.0]])
    assert infer_length_unit(mesh) == unit


@pytest.mark.parametrize("width", [1001, 2.99, 1.01, 0.029, 1.1e6, 1e6 + 0.5, 2e4])
def test_a_width_of_no_known_unit_is_refused(width):
    from agelab.morphable.bfm2017 import infer_length_unit

    with pytest.raises(BFMFormatError, match="set length_unit"):
        infer_length_unit(np.array([[0.0, 0, 0], [width, 0, 0]]))


def test_a_given_length_unit_scales_lengths_and_their_spreads_but_not_colours(tmp_path):
    _points, _ = write_bfm(tmp_path / "bfm.h5")
    landmarks = write_landmarks(tmp_path / "lm.txt")
    in_mm = load_bfm2017(tmp_path / "bfm.h5", landmarks)
    in_cm = load_bfm2017(tmp_path / "bfm.h5", landmarks, length_unit="cm")
    torch.testing.assert_close(in_cm.mean_shape, in_mm.mean_shape * 10)
    torch.testing.assert_close(in_cm.identity_std, in_mm.identity_std * 10)
    torch.testing.assert_close(in_cm.expression_std, in_mm.expression_std * 10)
    torch.testing.assert_close(in_cm.reflectance_std, in_mm.reflectance_std)
    torch.testing.assert_close(in_cm.mean_reflectance, in_mm.mean_reflectance)
    np.testing.assert_allclose(in_mm.expression_std[:2].numpy(), [2.0, np.sqrt(4.0 - 3.9 / 69)], rtol=1e-6)
    np.testing.assert_allclose(in_mm.reflectance_std[:2].numpy(), [2.0, np.sqrt(4.0 - 3.9 / 84)], rtol=1e-6)
    with pytest.raises(BFMFormatError, match="length_unit 'inch'"):
        load_bfm2017(tmp_path / "bfm.h5", landmarks, length_unit="inch")


def test_colours_on_0_255_scale_their_spread_too_and_1_5_still_counts_as_0_1(tmp_path):
    points, _ = write_bfm(tmp_path / "bfm.h5", colour_scale=255.0)
    landmarks = write_landmarks(tmp_path / "lm.txt")
    model = load_bfm2017(tmp_path / "bfm.h5", landmarks)
    np.testing.assert_allclose(model.reflectance_std[:1].numpy(), [2.0 / 255], rtol=1e-6)
    _rewrite(tmp_path / "bfm.h5", "color/model/mean", np.full(3 * len(points), 1.5, np.float32))
    assert float(load_bfm2017(tmp_path / "bfm.h5", landmarks).mean_reflectance.max()) == pytest.approx(1.5)


def test_basis_columns_are_normalised_and_the_spread_is_the_root_of_the_variance(tmp_path):
    _points, _ = write_bfm(tmp_path / "bfm.h5")
    landmarks = write_landmarks(tmp_path / "lm.txt")
    with h5py.File(tmp_path / "bfm.h5", "r") as f:
        basis = f["shape/model/pcaBasis"][()]
    scaled = basis * np.linspace(0.5, 3.0, basis.shape[1])[None]
    _rewrite(tmp_path / "bfm.h5", "shape/model/pcaBasis", scaled.astype(np.float32))
    _rewrite(tmp_path / "bfm.h5", "shape/model/pcaVariance", np.linspace(9.0, 1.0, 90).astype(np.float32))
    model = load_bfm2017(tmp_path / "bfm.h5", landmarks)
    np.testing.assert_allclose(model.identity_basis.numpy(), basis[:, :80], atol=1e-5)
    np.testing.assert_allclose(model.identity_std.numpy(), np.sqrt(np.linspace(9.0, 1.0, 90)[:80]), rtol=1e-5)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("shape/model/pcaVariance", lambda v: np.where(np.arange(v.size) == 5, -1.0, v), "negative variance"),
        ("color/model/pcaBasis", lambda v: np.where(np.arange(v.shape[1])[None] == 0, 0.0, v), "zero basis"),
        ("expression/model/mean", lambda v: v[:-3], "expression/model has mean"),
        ("shape/model/pcaBasis", lambda v: v[:-3], "shape/model has mean"),
        ("color/model/pcaBasis", lambda v: v.reshape(-1), "color/model has mean"),
        ("shape/model/pcaVariance", lambda v: v[:79], "has 79 components"),
        ("shape/representer/points", lambda v: v[:2], r"points is \(2, "),
        ("shape/representer/cells", lambda v: np.where(v == v.max(), 10**6, v), "cells is not"),
        # the grid mesh has 192 points (0..191): index 192 is one past the last
        ("shape/representer/cells", lambda v: np.where(v == v.max(), 192, v), "cells is not"),
        ("shape/representer/cells", lambda v: np.where(v == 0, -1, v.astype(np.int64)), "cells is not"),
        ("shape/representer/cells", lambda v: np.vstack([v, v[:1]]), "cells is not"),  # quads (4, T)
    ],
)
def test_each_inconsistent_entry_is_refused_by_name(tmp_path, key, value, message):
    write_bfm(tmp_path / "bfm.h5")
    with h5py.File(tmp_path / "bfm.h5", "r") as f:
        original = f[key][()]
    _rewrite(tmp_path / "bfm.h5", key, value(original))
    with pytest.raises(BFMFormatError, match=message) as error:
        load_bfm2017(tmp_path / "bfm.h5", write_landmarks(tmp_path / "lm.txt"))
    assert str(error.value).startswith(str(tmp_path / "bfm.h5"))


@pytest.mark.parametrize(
    "key",
    [
        "shape/model/mean",
        "shape/model/pcaVariance",
        "color/model/pcaVariance",
        "shape/representer/points",
        "shape/representer/cells",
    ],
)
def test_each_missing_entry_is_named_with_the_file(tmp_path, key):
    write_bfm(tmp_path / "bfm.h5")
    with h5py.File(tmp_path / "bfm.h5", "r+") as f:
        del f[key]
    with pytest.raises(BFMFormatError) as error:
        load_bfm2017(tmp_path / "bfm.h5", write_landmarks(tmp_path / "lm.txt"))
    assert str(error.value).startswith(f"{tmp_path / 'bfm.h5'}: no '{key}'")


def test_points_and_cells_stored_row_major_read_the_same(tmp_path):
    write_bfm(tmp_path / "bfm.h5")
    landmarks = write_landmarks(tmp_path / "lm.txt")
    reference = load_bfm2017(tmp_path / "bfm.h5", landmarks)
    with h5py.File(tmp_path / "bfm.h5", "r") as f:
        points, cells = f["shape/representer/points"][()], f["shape/representer/cells"][()]
    _rewrite(tmp_path / "bfm.h5", "shape/representer/points", points.T)
    _rewrite(tmp_path / "bfm.h5", "shape/representer/cells", cells.T)
    model = load_bfm2017(tmp_path / "bfm.h5", landmarks)
    torch.testing.assert_close(model.mean_shape, reference.mean_shape)
    torch.testing.assert_close(model.triangles, reference.triangles)


def test_landmark_file_comments_blank_lines_and_the_index_range(tmp_path):
    path = tmp_path / "lm.txt"
    path.write_text("\n".join(["# header", ""] + [f"{i}  # point {i}" for i in range(47)] + ["99", ""]))
    indices = read_landmark_vertices(path, 100)
    assert indices[list(LANDMARKS_48)].tolist() == [*list(range(47)), 99]
    assert (np.delete(indices, list(LANDMARKS_48)) == -1).all()
    path.write_text("\n".join(["100"] + ["0"] * 47))
    with pytest.raises(BFMFormatError, match=r"\[100\]"):
        read_landmark_vertices(path, 100)
    path.write_text("\n".join(["-1"] + ["0"] * 47))
    with pytest.raises(BFMFormatError, match=r"\[-1\]"):
        read_landmark_vertices(path, 100)
    path.write_text("\n".join(["7"] * 69))
    with pytest.raises(BFMFormatError, match="69 vertex indices"):
        read_landmark_vertices(path, 100)


def test_a_file_with_exactly_the_paper_sizes_and_a_zero_variance_loads(tmp_path):
    write_bfm(tmp_path / "bfm.h5", components=(80, 64, 80))
    variance = np.linspace(4.0, 0.1, 80)
    variance[79] = 0.0  # a component of no spread is allowed (σ = 0); only a negative one is refused
    _rewrite(tmp_path / "bfm.h5", "shape/model/pcaVariance", variance.astype(np.float32))
    model = load_bfm2017(tmp_path / "bfm.h5", write_landmarks(tmp_path / "lm.txt"))
    assert model.identity_basis.shape[1] == 80 and model.expression_basis.shape[1] == 64
    assert model.reflectance_basis.shape[1] == 80
    assert float(model.identity_std[79]) == 0.0 and float(model.identity_std[0]) == pytest.approx(2.0)


def test_column_vector_means_and_variances_read_as_flat_vectors(tmp_path):
    write_bfm(tmp_path / "bfm.h5")
    landmarks = write_landmarks(tmp_path / "lm.txt")
    reference = load_bfm2017(tmp_path / "bfm.h5", landmarks)
    for key in ("shape/model/mean", "shape/model/pcaVariance", "color/model/pcaVariance"):
        with h5py.File(tmp_path / "bfm.h5", "r") as f:
            value = f[key][()]
        _rewrite(tmp_path / "bfm.h5", key, value[:, None])  # (K,) stored as (K, 1)
    model = load_bfm2017(tmp_path / "bfm.h5", landmarks)
    assert model.identity_std.shape == (80,) and model.reflectance_std.shape == (80,)
    torch.testing.assert_close(model.identity_std, reference.identity_std)
    torch.testing.assert_close(model.mean_shape, reference.mean_shape)


def test_the_expression_mean_is_added_to_the_shape_mean(tmp_path):
    points, _ = write_bfm(tmp_path / "bfm.h5")
    offset = np.zeros_like(points)
    offset[:, 2] = 2.0  # the mean expression pushes every point 2 mm forward
    _rewrite(tmp_path / "bfm.h5", "expression/model/mean", offset.ravel().astype(np.float32))
    model = load_bfm2017(tmp_path / "bfm.h5", write_landmarks(tmp_path / "lm.txt"))
    np.testing.assert_allclose(model.mean_shape.numpy(), points + offset, atol=1e-3)


def test_a_colour_mean_of_2_counts_as_0_255(tmp_path):
    points, _ = write_bfm(tmp_path / "bfm.h5")
    _rewrite(tmp_path / "bfm.h5", "color/model/mean", np.full(3 * len(points), 2.0, np.float32))
    model = load_bfm2017(tmp_path / "bfm.h5", write_landmarks(tmp_path / "lm.txt"))
    assert float(model.mean_reflectance.max()) == pytest.approx(2.0 / 255)


def _load_tiny_mesh(tmp_path, points: np.ndarray, stored_points: np.ndarray, cells: np.ndarray):
    """Write a one-component statismo file of ``points`` (mean shape; the points dataset as ``stored_points``,
    the cells as ``cells``) and load it."""
    rng = np.random.default_rng(1)
    n = len(points)
    with h5py.File(tmp_path / "bfm.h5", "w") as f:
        for group, mean in (
            ("shape", points),
            ("expression", np.zeros((n, 3))),
            ("color", np.full((n, 3), 0.5)),
        ):
            f[f"{group}/model/mean"] = mean.ravel()
            f[f"{group}/model/pcaBasis"] = rng.normal(size=(3 * n, 1))
            f[f"{group}/model/pcaVariance"] = np.array([1.0])
        f["shape/representer/points"] = stored_points
        f["shape/representer/cells"] = cells
    landmarks = tmp_path / "lm.txt"
    landmarks.write_text("0\n" * 48)
    return load_bfm2017(tmp_path / "bfm.h5", landmarks, n_identity=1, n_expression=1, n_reflectance=1)


def test_a_three_point_mesh_stored_as_3_by_3_is_read_as_statismo_points_by_coordinate(tmp_path):
    """With N = 3 the points dataset is (3, 3) either way: it is taken as statismo's (3, N) layout."""
    points = np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [0.0, 100.0, 50.0]])  # rows are points
    # row k of the stored dataset holds coordinate k of every point
    model = _load_tiny_mesh(tmp_path, points, points.T, np.array([[0], [1], [2]]))
    np.testing.assert_allclose(model.mean_shape.numpy(), points)
    assert model.triangles.tolist() == [[0, 1, 2]]


def test_a_four_point_mesh_stored_row_major_has_four_points(tmp_path):
    """A (4, 3) points dataset is 4 points of 3 coordinates (row-major), not 3 points of 4."""
    points = np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [0.0, 100.0, 0.0], [100.0, 100.0, 0.0]])
    model = _load_tiny_mesh(tmp_path, points, points, np.array([[0, 1, 2], [1, 3, 2]]))  # one row per point
    assert model.n_vertices == 4
    np.testing.assert_allclose(model.mean_shape.numpy(), points)
    assert model.triangles.tolist() == [[0, 1, 2], [1, 3, 2]]


def test_a_comment_holding_a_second_hash_is_dropped_whole(tmp_path):
    path = tmp_path / "lm.txt"
    path.write_text("\n".join(["5  # nose # tip"] + ["0"] * 47))
    assert read_landmark_vertices(path, 100)[LANDMARKS_48[0]] == 5


def _flat_triangle(z: float, legs: tuple[float, float], facing: int) -> np.ndarray:
    """Three points of a right triangle in the plane z with the given legs; wound so its normal is
    n_z = facing · legs[0] · legs[1] (counter-clockwise seen from +z when facing = +1)."""
    a, b, c = [0.0, 0.0, z], [legs[0], 0.0, z], [0.0, legs[1], z]
    return np.array([a, b, c] if facing > 0 else [a, c, b])


def test_winding_is_decided_by_normal_z_weighted_by_height_above_the_median_point():
    """Σ n_z (centre_z − median z) over triangles decides: below 0, every triangle is turned."""
    from agelab.morphable.bfm2017 import _outward_triangles

    triangles = np.array([[0, 1, 2], [3, 4, 5]])
    # front n_z = +1 at z = 110, back n_z = −2 at z = 90; median 100: 1·10 + (−2)(−10) = 30 > 0: kept
    small_front = np.vstack([_flat_triangle(110, (1, 1), +1), _flat_triangle(90, (1, 2), -1)])
    np.testing.assert_array_equal(_outward_triangles(small_front, triangles), triangles)
    # front n_z = +2, back n_z = −1: 2·10 + (−1)(−10) = 30 > 0: kept
    large_front = np.vstack([_flat_triangle(110, (1, 2), +1), _flat_triangle(90, (1, 1), -1)])
    np.testing.assert_array_equal(_outward_triangles(large_front, triangles), triangles)
    # the same meshes wound inwards: −30 < 0, turned
    inward = triangles[:, [0, 2, 1]]
    np.testing.assert_array_equal(_outward_triangles(small_front, inward), triangles)
    # seven lone points at z = 0 make the median 0: +1 at z = 2 and −1 at z = 0.5 give 2 − 0.5 = 1.5: kept
    folded = np.vstack([_flat_triangle(2, (1, 1), +1), _flat_triangle(0.5, (1, 1), -1), np.zeros((7, 3))])
    np.testing.assert_array_equal(_outward_triangles(folded, triangles), triangles)
    # a flat mesh: every triangle at the median, the sum is exactly 0: left as it is
    flat = np.vstack([_flat_triangle(0, (1, 1), +1), _flat_triangle(0, (2, 1), -1)])
    np.testing.assert_array_equal(_outward_triangles(flat, triangles), triangles)
