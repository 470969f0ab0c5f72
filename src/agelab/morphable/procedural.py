"""The built-in procedural morphable face model: a stand-in for BFM 2017 with the same interface.

A head-centred ellipsoid, sampled on a (φ, ψ) longitude/latitude grid that wraps past the cheeks,
carries sculpted facial features (nose, eye sockets, brow ridge, cheekbones, lips, chin, narrowing jaw).
Identity, expression and reflectance bases are smooth deformation fields (a few designed, semantic
ones first, then random smooth fields), orthonormalised like PCA bases, with decreasing standard
deviations. Landmark vertices follow dlib's 68-point semantics (point 0 on the subject's right jaw,
36–41 the subject's right eye, …). All features are placed in *template-frontal* coordinates (x, y) in
millimetres, which the synthetic renderer also uses as surface coordinates for its procedural textures.

Results reported on this model are on a stand-in, not on BFM 2017: say so wherever they are reported.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from agelab.morphable.model import N_EXPRESSION, N_IDENTITY, N_REFLECTANCE, MorphableModel

HEAD_AXES = (75.0, 100.0, 90.0)  # ellipsoid semi-axes (x, y, z), mm
PHI_RANGE = np.deg2rad(100.0)  # longitude either side of the face centre
PSI_RANGE = (np.deg2rad(-58.0), np.deg2rad(78.0))  # latitude: chin to crown

#: Template-frontal (x, y) mm of dlib's 68 landmarks (x to the viewer's right, y up).
LANDMARKS_68_XY = np.array(
    [(70 * np.cos(t), 18 + 98 * np.sin(t)) for t in np.linspace(np.pi, 2 * np.pi, 17)]  # 0-16 jaw
    + [(-50, 30), (-42, 35), (-33, 37), (-23, 36), (-14, 33)]  # 17-21 right brow
    + [(14, 33), (23, 36), (33, 37), (42, 35), (50, 30)]  # 22-26 left brow
    + [(0, 24), (0, 14), (0, 4), (0, -12)]  # 27-30 nose bridge to tip
    + [(-14, -22), (-7, -24), (0, -25), (7, -24), (14, -22)]  # 31-35 nostrils
    + [(-44, 20), (-37, 24), (-27, 24), (-20, 20), (-27, 16), (-37, 16)]  # 36-41 right eye
    + [(20, 20), (27, 24), (37, 24), (44, 20), (37, 16), (27, 16)]  # 42-47 left eye
    + [
        (-25, -43),
        (-15, -37),
        (-6, -35),
        (0, -36),
        (6, -35),
        (15, -37),
        (25, -43),
        (15, -50),
        (6, -53),
        (0, -54),
        (-6, -53),
        (-15, -50),
    ]  # 48-59 outer lips
    + [
        (-21, -43),
        (-8, -41.5),
        (0, -41.5),
        (8, -41.5),
        (21, -43),
        (8, -44.5),
        (0, -44.5),
        (-8, -44.5),
    ],  # 60-67 inner lips
    dtype=np.float64,
)
EYE_CENTRES = np.array([(-32.0, 20.0), (32.0, 20.0)])
MOUTH_LINE_Y = -43.0

#: Names of the designed expression components, in basis order (the rest are random smooth fields).
EXPRESSION_NAMES = ("jaw_open", "smile", "brow_raise", "frown", "eyes_close", "pucker")
IDENTITY_NAMES = (
    "width",
    "height",
    "depth",
    "jaw_width",
    "nose_length",
    "nose_width",
    "nose_projection",
    "cheek_fullness",
    "chin_projection",
    "brow_ridge",
    "lip_fullness",
)


@dataclass
class ProceduralFaceModel:
    """The model plus the surface coordinates the synthetic renderer needs."""

    model: MorphableModel
    template_xy: np.ndarray  # (N, 2) template-frontal coordinates, mm
    longitude: np.ndarray  # (N,) φ, radians (0 = face centre)
    grid_shape: tuple[int, int]


def _gauss(x: np.ndarray, y: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-0.5 * (((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _grid(n_phi: int, n_psi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    phi = np.linspace(-PHI_RANGE, PHI_RANGE, n_phi)
    psi = np.linspace(PSI_RANGE[0], PSI_RANGE[1], n_psi)
    pp, ss = np.meshgrid(phi, psi, indexing="xy")  # rows = latitude (chin first), cols = longitude
    a, b, c = HEAD_AXES
    base = np.stack([a * np.sin(pp) * np.cos(ss), b * np.sin(ss), c * np.cos(pp) * np.cos(ss)], -1)
    rows, cols = np.meshgrid(np.arange(n_psi - 1), np.arange(n_phi - 1), indexing="ij")
    v00 = (rows * n_phi + cols).ravel()
    v01, v10, v11 = v00 + 1, v00 + n_phi, v00 + n_phi + 1
    # counter-clockwise seen from outside: x grows with column, y grows with row
    triangles = np.concatenate([np.stack([v00, v01, v11], 1), np.stack([v00, v11, v10], 1)])
    return base.reshape(-1, 3), pp.ravel(), triangles


def sculpt_features(x: np.ndarray, y: np.ndarray, front: np.ndarray) -> np.ndarray:
    """Outward (z) relief of the mean face over the ellipsoid, mm."""
    nose_t = np.clip((24 - y) / 36, 0, 1)  # 0 at the bridge, 1 at the tip
    nose = (3 + 19 * nose_t**1.5) * np.exp(-0.5 * (x / (5 + 4 * nose_t)) ** 2)
    nose *= _smoothstep(-27, -12, y) * (1 - _smoothstep(24, 32, y))
    relief = nose
    relief += 5 * (_gauss(x, y, -13, -20, 5, 4) + _gauss(x, y, 13, -20, 5, 4))  # nostril wings
    relief -= 10 * (_gauss(x, y, -32, 20, 12, 8) + _gauss(x, y, 32, 20, 12, 8))  # eye sockets
    relief += 3 * (_gauss(x, y, -32, 20, 5, 3.5) + _gauss(x, y, 32, 20, 5, 3.5))  # eyeballs
    relief += 4 * np.exp(-0.5 * ((y - 33) / 5) ** 2) * (1 - _smoothstep(40, 55, np.abs(x)))  # brow ridge
    relief += 5 * (_gauss(x, y, -45, 0, 14, 12) + _gauss(x, y, 45, 0, 14, 12))  # cheekbones
    relief += 5 * _gauss(x, y, 0, -38, 18, 3.5) + 5 * _gauss(x, y, 0, -48, 16, 4)  # lips
    relief += 6 * _gauss(x, y, 0, -72, 14, 9)  # chin
    relief -= 3 * (_gauss(x, y, -58, 32, 10, 12) + _gauss(x, y, 58, 32, 10, 12))  # temples
    return relief * front


def _jaw_scale(y: np.ndarray) -> np.ndarray:
    return 1 - 0.28 * _smoothstep(-15, -90, y)


def _random_field(
    rng: np.random.Generator,
    x: np.ndarray,
    y: np.ndarray,
    front: np.ndarray,
    centre_box: tuple[float, float, float, float],
    sigma: tuple[float, float],
    bumps: int,
) -> np.ndarray:
    field = np.zeros((x.size, 3))
    for _ in range(bumps):
        cx = rng.uniform(centre_box[0], centre_box[1])
        cy = rng.uniform(centre_box[2], centre_box[3])
        s = rng.uniform(*sigma)
        direction = rng.normal(size=3) * np.array([0.6, 0.6, 1.0])
        field += _gauss(x, y, cx, cy, s, s * rng.uniform(0.7, 1.4))[:, None] * direction
    return field * front[:, None]


def _orthonormal(fields: list[np.ndarray]) -> np.ndarray:
    stacked = np.stack([f.ravel() for f in fields], 1)
    q, r = np.linalg.qr(stacked)
    return q * np.sign(np.diag(r))  # keep each designed field's orientation


def _std_for_peak(basis: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Standard deviations that make a unit coefficient move the most-affected vertex by ``peak``.

    The bases are orthonormal over all 3N entries (the PCA convention), so a localised field needs a
    much larger σ than a global one for the same visible change.
    """
    per_vertex = np.linalg.norm(basis.reshape(-1, 3, basis.shape[1]), axis=1).max(0)
    return peak / per_vertex


def _designed_identity(x, y, z, front) -> list[np.ndarray]:
    zeros = np.zeros_like(x)
    f = front
    nose_region = _gauss(x, y, 0, -5, 9, 20) * f
    fields = [
        np.stack([x, zeros, zeros], 1),  # width
        np.stack([zeros, y, zeros], 1),  # height
        np.stack([zeros, zeros, z], 1),  # depth
        np.stack([x * _smoothstep(-20, -80, y), zeros, zeros], 1),  # jaw width
        np.stack([zeros, -nose_region * (1 - _smoothstep(-12, 10, y)), zeros], 1),  # nose length
        np.stack([x * nose_region, zeros, zeros], 1),  # nose width
        np.stack([zeros, zeros, nose_region], 1),  # nose projection
        np.stack(
            [
                np.sign(x) * (_gauss(x, y, -45, -15, 15, 15) + _gauss(x, y, 45, -15, 15, 15)),
                zeros,
                _gauss(x, y, -45, -15, 15, 15) + _gauss(x, y, 45, -15, 15, 15),
            ],
            1,
        )
        * f[:, None],
        np.stack([zeros, zeros, _gauss(x, y, 0, -72, 14, 10) * f], 1),  # chin projection
        np.stack([zeros, zeros, np.exp(-0.5 * ((y - 33) / 5) ** 2) * f], 1),  # brow ridge
        np.stack([zeros, zeros, (_gauss(x, y, 0, -38, 18, 3.5) + _gauss(x, y, 0, -48, 16, 4)) * f], 1),
    ]
    return fields


def expression_fields(x: np.ndarray, y: np.ndarray, front: np.ndarray) -> list[np.ndarray]:
    """The designed expression displacement fields (mm per unit), in :data:`EXPRESSION_NAMES` order."""
    zeros = np.zeros_like(x)
    below_mouth = _smoothstep(MOUTH_LINE_Y + 1.0, MOUTH_LINE_Y - 2.0, y) * (1 - _smoothstep(-95, -110, y))
    jaw_open = np.stack(
        [zeros, -10 * below_mouth * (1 - _smoothstep(55, 75, np.abs(x))), -2 * below_mouth], 1
    )
    corners = _gauss(x, y, -25, -43, 9, 8) + _gauss(x, y, 25, -43, 9, 8)
    cheeks = _gauss(x, y, -38, -15, 12, 10) + _gauss(x, y, 38, -15, 12, 10)
    smile = np.stack([3 * np.sign(x) * corners, 4 * corners + 2.5 * cheeks, 2 * cheeks - 1.5 * corners], 1)
    brows = np.exp(-0.5 * ((y - 34) / 7) ** 2) * (1 - _smoothstep(45, 60, np.abs(x)))
    brow_raise = np.stack([zeros, 4 * brows + 1.5 * _smoothstep(40, 60, y) * (y < 75), zeros], 1)
    inner = _gauss(x, y, -16, 33, 9, 6) + _gauss(x, y, 16, 33, 9, 6)
    frown = np.stack([-2.5 * np.sign(x) * inner, -3.5 * inner, 1.0 * inner], 1)
    upper_lids = _gauss(x, y, -32, 23, 8, 3) + _gauss(x, y, 32, 23, 8, 3)
    eyes_close = np.stack([zeros, -3 * upper_lids, 0.5 * upper_lids], 1)
    lips = _gauss(x, y, 0, -43, 18, 8)
    pucker = np.stack([-0.25 * x * lips, zeros, 5 * lips], 1)
    return [f * front[:, None] for f in (jaw_open, smile, brow_raise, frown, eyes_close, pucker)]


@functools.lru_cache(maxsize=4)
def build_procedural_model(n_phi: int = 100, n_psi: int = 90, seed: int = 2019) -> ProceduralFaceModel:
    """Build the procedural model deterministically (cached per process)."""
    rng = np.random.default_rng(seed)
    base, longitude, triangles = _grid(n_phi, n_psi)
    x, y = base[:, 0], base[:, 1]
    front = np.clip(np.cos(longitude), 0, 1) ** 0.5
    mean = base.copy()
    mean[:, 0] *= _jaw_scale(y)
    mean[:, 2] = base[:, 2] * (0.85 + 0.15 * _jaw_scale(y)) + sculpt_features(x, y, front)
    n = mean.shape[0]

    # identity: designed fields then random smooth fields; σ so that unit coefficients move the face
    # by a plausible RMS displacement (mm) — the PCA convention of BFM: orthonormal basis, σ ∝ √N
    designed_id = _designed_identity(x, y, mean[:, 2], front)
    random_id = [
        _random_field(rng, x, y, front, (-60, 60, -80, 70), (10, 35), 3)
        for _ in range(N_IDENTITY - len(designed_id))
    ]
    identity_basis = _orthonormal(designed_id + random_id)
    identity_std = _std_for_peak(
        identity_basis,
        np.concatenate(
            [
                [5.0, 6.0, 5.0, 5.0, 3.0, 2.5, 3.0, 3.0, 3.0, 2.0, 1.5],
                2.5 * np.exp(-np.arange(len(random_id)) / 25),
            ]
        ),
    )

    designed_exp = expression_fields(x, y, front)
    random_exp = [
        _random_field(rng, x, y, front, (-35, 35, -60, 45), (5, 15), 2)
        for _ in range(N_EXPRESSION - len(designed_exp))
    ]
    expression_basis = _orthonormal(designed_exp + random_exp)
    # designed expressions: peak displacement (mm) of a unit coefficient; strong expressions reach 2–3
    expression_std = _std_for_peak(
        expression_basis,
        np.concatenate([[4.0, 2.5, 1.8, 2.0, 3.0, 2.5], 1.0 * np.exp(-np.arange(len(random_exp)) / 20)]),
    )

    skin = np.array([0.50, 0.31, 0.22])  # linear RGB
    mean_ref = np.tile(skin, (n, 1))
    lips = _gauss(x, y, 0, -43, 20, 7) * front
    mean_ref = mean_ref * (1 - 0.25 * lips[:, None]) + 0.25 * lips[:, None] * np.array([0.45, 0.17, 0.16])
    np.ones(n)
    # designed colour axes, orthogonal by construction so the QR step keeps their meaning:
    # lightness along the skin colour itself (darker skin = a scaled, slightly more saturated skin
    # colour), a yellow–pink hue axis orthogonal to it, and cheek redness
    lightness = skin / np.linalg.norm(skin)
    hue = np.array([0.15, 0.05, -0.3])
    hue -= hue @ lightness * lightness
    designed_ref = [
        np.tile(lightness, (n, 1)),
        np.tile(hue / np.linalg.norm(hue), (n, 1)),
        np.stack(
            [(_gauss(x, y, -40, -10, 14, 12) + _gauss(x, y, 40, -10, 14, 12)), zeros_like(x), zeros_like(x)],
            1,
        ),  # cheek redness
    ]
    random_ref = []
    for _ in range(N_REFLECTANCE - len(designed_ref)):
        field = _random_field(rng, x, y, np.ones(n), (-70, 70, -90, 90), (15, 50), 2)
        # skin varies mostly in lightness and redness: project onto skin-like colour directions
        lightness = np.linalg.norm(field, axis=1) * np.sign(field[:, 2])
        tint = rng.normal(scale=0.15, size=3) + np.array([1.0, 0.75, 0.6])
        random_ref.append(lightness[:, None] * tint)
    reflectance_basis = _orthonormal(designed_ref + random_ref)
    reflectance_std = _std_for_peak(
        reflectance_basis,
        np.concatenate([[0.14, 0.03, 0.04], 0.015 * np.exp(-np.arange(len(random_ref)) / 30)]),
    )

    # landmark vertices: nearest front-facing vertex of the mean face in template-frontal coordinates
    front_ids = np.nonzero(np.abs(longitude) < np.deg2rad(80))[0]
    xy = mean[front_ids, :2]
    d = ((xy[None] - LANDMARKS_68_XY[:, None]) ** 2).sum(-1)
    landmark_indices = front_ids[d.argmin(1)]

    as_tensor = functools.partial(torch.as_tensor, dtype=torch.float32)
    model = MorphableModel(
        mean_shape=as_tensor(mean),
        identity_basis=as_tensor(identity_basis),
        identity_std=as_tensor(identity_std),
        expression_basis=as_tensor(expression_basis),
        expression_std=as_tensor(expression_std),
        mean_reflectance=as_tensor(mean_ref),
        reflectance_basis=as_tensor(reflectance_basis),
        reflectance_std=as_tensor(reflectance_std),
        triangles=torch.as_tensor(triangles, dtype=torch.int64),
        landmark_indices=torch.as_tensor(landmark_indices, dtype=torch.int64),
        name="procedural",
    )
    template_xy = np.stack([base[:, 0] * _jaw_scale(y), y], 1)
    return ProceduralFaceModel(model, template_xy, longitude, (n_psi, n_phi))


def zeros_like(x: np.ndarray) -> np.ndarray:
    return np.zeros_like(x)
