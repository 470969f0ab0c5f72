"""Face alignment by a similarity transform from dlib's 68 landmarks.

Five points are taken from the 68 (the two eye centres, the nose tip, the two mouth corners) and mapped by the
least-squares similarity transform (rotation, one scale, translation; no reflection or shear: Umeyama, *Least-
squares estimation of transformation parameters between two point patterns*, PAMI 1991, Eqs. 40–42) onto a
fixed template in the crop. The crop is then sampled through that transform, so an in-plane rotated or off-
centre face comes out upright and at one scale. Parts outside the image are filled by edge replication, as in
:func:`agelab.faces.crops.crop_face`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

#: the five points of the 68-point scheme used for alignment: eye centres (mean of each eye's six points),
#: nose tip (30), mouth corners (48, 54); the subject's right eye is on the image's left
FIVE_POINT_GROUPS: tuple[tuple[int, ...], ...] = (
    tuple(range(36, 42)),
    tuple(range(42, 48)),
    (30,),
    (48,),
    (54,),
)

#: the common 112-px ArcFace template's five points in a crop of side 1 (eye centres, nose tip, mouth corners)
ARCFACE_FIVE = (
    np.array(
        [
            [38.2946, 51.6963],
            [73.5318, 51.5014],
            [56.0252, 71.7366],
            [41.5493, 92.3655],
            [70.7299, 92.2041],
        ]
    )
    / 112.0
)


def template_five(margin: float = 0.2) -> np.ndarray:
    """Where the five points go in a crop of side 1 with ``margin`` around the face like the box crops: the
    ArcFace template shrunk about the centre by ``1 / (1 + 2 margin)`` (a box crop's side is ``1 + 2 margin``
    times the face's)."""
    return 0.5 + (ARCFACE_FIVE - 0.5) / (1 + 2 * margin)


#: the template at the box crops' 20 % margin
TEMPLATE_FIVE = template_five(0.2)


def five_points(landmarks_68: np.ndarray) -> np.ndarray:
    """``(5, 2)``: eye centres, nose tip and mouth corners of a ``(68, 2)`` landmark array."""
    points = np.asarray(landmarks_68, dtype=np.float64)
    if points.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got shape {points.shape}")
    return np.stack([points[list(group)].mean(axis=0) for group in FIVE_POINT_GROUPS])


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The ``(2, 3)`` matrix ``[s R | t]`` minimising ``Σ ||s R source_i + t − target_i||²`` over rotations
    ``R`` (det +1), scales ``s > 0`` and translations ``t`` (Umeyama 1991, Eqs. 40–42)."""
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(
            f"expected two (N >= 2, 2) point arrays of one shape, got {src.shape} and {dst.shape}"
        )
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    variance = (src_c**2).sum() / len(src)  # σ²_x
    if variance <= 0:
        raise ValueError("the source points all coincide: no transform is defined")
    covariance = dst_c.T @ src_c / len(src)  # Σ_xy
    u, d, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # Eq. 39: S = diag(1, -1) keeps R a rotation
        sign[1, 1] = -1
    rotation = u @ sign @ vt  # Eq. 40
    scale = np.trace(np.diag(d) @ sign) / variance  # Eq. 42
    translation = dst_mean - scale * rotation @ src_mean  # Eq. 41
    return np.hstack([scale * rotation, translation[:, None]])


def alignment_matrix(landmarks_68: np.ndarray, size: int, margin: float = 0.2) -> np.ndarray:
    """``(2, 3)``: image pixels → pixels of the ``size`` × ``size`` aligned crop."""
    return similarity_transform(five_points(landmarks_68), template_five(margin) * size)


def align_face(
    image: np.ndarray, landmarks_68: np.ndarray, size: int, margin: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """The aligned ``size`` × ``size`` crop of ``image`` (H, W, 3 uint8), and its ``(2, 3)`` image → crop
    matrix. Bilinear sampling; outside the image, edge replication."""
    matrix = alignment_matrix(landmarks_68, size, margin)
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]  # crop pixel -> image pixel
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], dtype=np.float64)
    reach = corners @ inverse.T
    h, w = image.shape[:2]
    pad = int(np.ceil(max(0.0, -reach.min(), reach[:, 0].max() - w, reach[:, 1].max() - h))) + 1
    source = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    # PIL maps each output position through (a, b, c, d, e, f) to an input position, both in its continuous
    # pixel frame (the one the landmarks and the template are in); the padding shifts the input by ``pad``
    a, b, c = inverse[0]
    d, e, f = inverse[1]
    crop = Image.fromarray(source).transform(
        (size, size), Image.Transform.AFFINE, (a, b, c + pad, d, e, f + pad), Image.Resampling.BILINEAR
    )
    return np.asarray(crop), matrix
