"""Basel Face Model 2017 from the official statismo HDF5 file, behind :class:`MorphableModel`.

The file (``model2017-1_face12_nomouth.h5`` or the full-head ``model2017-1_bfm_nomouth.h5``) is licensed
by the University of Basel to each user; it is never shipped or downloaded by agelab. Layout read here::

    shape/model/{mean (3N,), pcaBasis (3N, K), pcaVariance (K,)}       identity, Eq. 2 E_id, σ_id²
    expression/model/{mean, pcaBasis, pcaVariance}                    Eq. 2 E_exp, σ_exp²
    color/model/{mean, pcaBasis, pcaVariance}                         Eq. 3 μ_ref, E_ref, σ_ref²
    shape/representer/{points (3, N), cells (3, T)}                   mesh topology

Conversions, so the model means the same as the built-in one:

* bases are truncated to the paper's 80 identity, 64 expression and 80 reflectance components, and each
  column is normalised to unit length (statismo stores orthonormal columns; a file with columns scaled
  by σ is handled the same way), with σ = √pcaVariance;
* lengths are converted to millimetres — ``length_unit: auto`` infers the unit from the mean face's
  width (BFM 2017 is in millimetres, BFM 2009-style files in micrometres);
* colours are linear RGB in [0, 1] (a mean above 1.5 is taken to be in 0..255 and divided by 255);
* the expression mean is added to the shape mean; triangles are re-wound if needed so normals point out
  of the face (+z, towards a frontal camera).

The 68 dlib landmarks are not part of the file: the user supplies a landmark-vertex file of 48 vertex
indices (dlib points 17–67 without 27, 60, 64 — the points of Eq. 8) or 68 (every dlib point), one
integer per line, ``#`` comments allowed. Points a 48-index file does not name are marked −1.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from agelab.faces.detection import LANDMARKS_48
from agelab.morphable.model import N_EXPRESSION, N_IDENTITY, N_REFLECTANCE, MorphableModel

logger = logging.getLogger(__name__)

LENGTH_UNITS_MM = {"mm": 1.0, "um": 1e-3, "cm": 10.0, "m": 1000.0}


class BFMFormatError(ValueError):
    """The file is not a usable BFM 2017 HDF5 file (says which file and which entry)."""


def _read(handle, path: Path, key: str) -> np.ndarray:
    if key not in handle:
        raise BFMFormatError(f"{path}: no '{key}' in the HDF5 file; is this a Basel Face Model 2017 file?")
    return np.asarray(handle[key][()])


def _pca_block(handle, path: Path, group: str, n_components: int, n_coords: int):
    mean = _read(handle, path, f"{group}/model/mean").astype(np.float64).reshape(-1)
    basis = _read(handle, path, f"{group}/model/pcaBasis").astype(np.float64)
    variance = _read(handle, path, f"{group}/model/pcaVariance").astype(np.float64).reshape(-1)
    if mean.size != n_coords or basis.ndim != 2 or basis.shape[0] != n_coords:
        raise BFMFormatError(
            f"{path}: {group}/model has mean {mean.shape} and pcaBasis {basis.shape}; "
            f"the mesh has {n_coords // 3} points, so ({n_coords},) and ({n_coords}, K) were expected"
        )
    if basis.shape[1] < n_components or variance.size < n_components:
        raise BFMFormatError(
            f"{path}: {group}/model has {min(basis.shape[1], variance.size)} components; "
            f"the paper's code vector needs {n_components}"
        )
    basis = basis[:, :n_components]
    norms = np.linalg.norm(basis, axis=0)
    if np.any(norms == 0) or np.any(variance[:n_components] < 0):
        raise BFMFormatError(f"{path}: {group}/model has a zero basis column or a negative variance")
    return mean, basis / norms, np.sqrt(variance[:n_components])


def infer_length_unit(mean_shape_raw: np.ndarray) -> str:
    """The unit of a face mesh from its width: ~100–300 in mm, ×1000 in µm, ÷1000 in m."""
    width = float(np.ptp(mean_shape_raw[:, 0]))
    if 30 <= width <= 1000:
        return "mm"
    if 3e4 <= width <= 1e6:
        return "um"
    if 3 <= width < 30:
        return "cm"
    if 0.03 <= width <= 1:
        return "m"
    raise BFMFormatError(f"cannot infer the length unit of a face mesh {width:g} units wide; set length_unit")


def read_landmark_vertices(path: str | Path, n_vertices: int) -> np.ndarray:
    """Dlib-ordered vertex indices ``(68,)`` from a 48- or 68-line landmark-vertex file (−1 = not given)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"landmark-vertex file {path} not found: list the model's vertex index of each of the 48 "
            "landmarks of Eq. 8 (dlib points 17–67 without 27, 60, 64), one per line"
        )
    values = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            values.append(int(text))
        except ValueError:
            raise BFMFormatError(f"{path}:{number}: '{line.strip()}' is not a vertex index") from None
    if len(values) not in (48, 68):
        raise BFMFormatError(f"{path}: {len(values)} vertex indices; 48 (Eq. 8's landmarks) or 68 expected")
    bad = [v for v in values if not 0 <= v < n_vertices]
    if bad:
        raise BFMFormatError(f"{path}: vertex indices {bad[:5]} are outside the mesh's 0..{n_vertices - 1}")
    indices = np.full(68, -1, dtype=np.int64)
    if len(values) == 68:
        indices[:] = values
    else:
        indices[list(LANDMARKS_48)] = values
    return indices


def _outward_triangles(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Wind triangles so their normals point out of the face (towards +z at the front of the mesh)."""
    v0, v1, v2 = (points[triangles[:, i]] for i in range(3))
    normals = np.cross(v1 - v0, v2 - v0)
    centres = (v0 + v1 + v2) / 3
    frontness = centres[:, 2] - np.median(points[:, 2])
    if float((normals[:, 2] * frontness).sum()) < 0:
        return triangles[:, [0, 2, 1]]
    return triangles


def load_bfm2017(
    path: str | Path,
    landmarks_path: str | Path,
    *,
    length_unit: str = "auto",
    n_identity: int = N_IDENTITY,
    n_expression: int = N_EXPRESSION,
    n_reflectance: int = N_REFLECTANCE,
) -> MorphableModel:
    """Read a BFM 2017 HDF5 file into a :class:`MorphableModel` (see the module docstring)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Basel Face Model 2017 file {path} not found. Request it from the University of Basel "
            "(https://faces.dmi.unibas.ch/bfm/bfm2017.html), place model2017-1_face12_nomouth.h5 there "
            "or point recon3d.morphable_model.bfm2017_path at it."
        )
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise BFMFormatError(f"{path}: not a readable HDF5 file ({error})") from error
    with handle:
        points = _read(handle, path, "shape/representer/points").astype(np.float64)
        cells = _read(handle, path, "shape/representer/cells").astype(np.int64)
        if points.ndim != 2 or 3 not in points.shape:
            raise BFMFormatError(f"{path}: shape/representer/points is {points.shape}; (3, N) expected")
        points = points if points.shape[1] == 3 and points.shape[0] != 3 else points.T
        triangles = cells.T if cells.shape[0] == 3 else cells
        n = points.shape[0]
        if triangles.ndim != 2 or triangles.shape[1] != 3 or triangles.min() < 0 or triangles.max() >= n:
            raise BFMFormatError(f"{path}: shape/representer/cells is not a (3, T) list of vertex indices")
        shape_mean, shape_basis, shape_std = _pca_block(handle, path, "shape", n_identity, 3 * n)
        exp_mean, exp_basis, exp_std = _pca_block(handle, path, "expression", n_expression, 3 * n)
        colour_mean, colour_basis, colour_std = _pca_block(handle, path, "color", n_reflectance, 3 * n)

    mean_raw = (shape_mean + exp_mean).reshape(n, 3)
    unit = infer_length_unit(mean_raw) if length_unit == "auto" else length_unit
    if unit not in LENGTH_UNITS_MM:
        raise BFMFormatError(f"length_unit '{unit}' is not one of auto, {', '.join(LENGTH_UNITS_MM)}")
    to_mm = LENGTH_UNITS_MM[unit]
    colour_scale = 1 / 255 if colour_mean.max() > 1.5 else 1.0
    mean_shape = mean_raw * to_mm
    logger.info(
        "BFM 2017 %s: %d vertices, %d triangles, lengths in %s, colours %s",
        path.name,
        n,
        len(triangles),
        unit,
        "0..255" if colour_scale != 1 else "0..1",
    )
    as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return MorphableModel(
        mean_shape=as_tensor(mean_shape),
        identity_basis=as_tensor(shape_basis),
        identity_std=as_tensor(shape_std * to_mm),
        expression_basis=as_tensor(exp_basis),
        expression_std=as_tensor(exp_std * to_mm),
        mean_reflectance=as_tensor(colour_mean.reshape(n, 3) * colour_scale),
        reflectance_basis=as_tensor(colour_basis),
        reflectance_std=as_tensor(colour_std * colour_scale),
        triangles=torch.as_tensor(_outward_triangles(mean_shape, triangles), dtype=torch.int64),
        landmark_indices=torch.as_tensor(read_landmark_vertices(landmarks_path, n)),
        name="bfm2017",
    )
