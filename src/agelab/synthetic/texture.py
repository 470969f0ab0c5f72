"""Procedural surface detail of synthetic faces, evaluated per pixel in template-frontal coordinates.

The morphable model's per-vertex reflectance is low-frequency (like BFM's). Age and expression also
leave high-frequency marks that no linear face model holds: this module paints them —
eyes, brows, lips and mouth interior, hair and hairline, skin grain, age spots, stubble, and grooves
(forehead lines, crow's feet, nasolabial folds, glabellar lines, marionette lines, lip lines). Each groove
deepens with age *and* with the expression that folds the skin there, so a smiling 25-year-old shows
crow's feet and nasolabial folds much like a neutral 60-year-old: the appearance confound of the paper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agelab.synthetic.spec import FaceSpec

GREY_HAIR = np.array([0.62, 0.62, 0.6])


def _lattice(i: np.ndarray, j: np.ndarray, seed: int) -> np.ndarray:
    """A hash of the integer lattice point ``(i, j)`` in [0, 1] (broadcasts)."""
    h = (i * 374761393 + j * 668265263 + seed * 2147483647) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 1274126177) & 0xFFFFFFFF
    return (h ^ (h >> 16)).astype(np.float64) / 0xFFFFFFFF


def value_noise(x: np.ndarray, y: np.ndarray, scale: float, seed: int) -> np.ndarray:
    """Smooth lattice noise in [0, 1] attached to surface coordinates (deterministic per seed); ``x`` and
    ``y`` broadcast (a row of columns and a column of rows give an image's grid).

    Each lattice corner is hashed once on the grid that bounds the points and gathered four times (the
    same values as hashing the four corners of every point; a few times cheaper on an image's points),
    unless that grid is much larger than the point set."""
    gx, gy = x / scale, y / scale
    ix, iy = np.floor(gx).astype(np.int64), np.floor(gy).astype(np.int64)
    fx, fy = gx - ix, gy - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    points = np.broadcast(ix, iy)
    if points.size == 0:
        return np.zeros(points.shape)
    x0, y0 = int(ix.min()), int(iy.min())
    nx, ny = int(ix.max()) - x0 + 2, int(iy.max()) - y0 + 2
    if nx * ny <= 2 * points.size:
        table = _lattice(np.arange(x0, x0 + nx)[None, :], np.arange(y0, y0 + ny)[:, None], seed).ravel()
        corner = (iy - y0) * nx + (ix - x0)
        l00, l10 = table[corner], table[corner + 1]
        l01, l11 = table[corner + nx], table[corner + nx + 1]
    else:
        l00, l10 = _lattice(ix, iy, seed), _lattice(ix + 1, iy, seed)
        l01, l11 = _lattice(ix, iy + 1, seed), _lattice(ix + 1, iy + 1, seed)
    top = l00 * (1 - fx) + l10 * fx
    bottom = l01 * (1 - fx) + l11 * fx
    return top * (1 - fy) + bottom * fy


def ageing(age: float) -> float:
    """0 until the mid-twenties, 1 at about 80: how far skin ageing has gone."""
    return float(np.clip((age - 24) / 56, 0, 1) ** 1.1)


def greying(age: float, onset: float) -> float:
    return float(np.clip((age - onset) / 22, 0, 1))


def _groove(distance: np.ndarray, width: float) -> np.ndarray:
    return np.exp(-((distance / width) ** 2))


@dataclass
class SurfaceDetail:
    albedo: np.ndarray  # (P, 3) painted albedo
    height: np.ndarray  # (P,) relief in mm (negative in grooves)
    hair: np.ndarray  # (P,) bool, pixels painted as hair (no skin shading detail)


def groove_relief(tx: np.ndarray, ty: np.ndarray, spec: FaceSpec) -> np.ndarray:
    """Sum of groove depths (mm, ≥ 0) from age and expression at surface points. Each groove is evaluated
    only on the band of points its mask keeps (elsewhere it adds exactly 0)."""
    e = spec.expression
    old = ageing(spec.age) * spec.identity.wrinkle_proneness
    smile = np.clip(e["smile"] / 3, 0, 1.2)
    brow = np.clip(e["brow_raise"] / 3, 0, 1.2)
    frown = np.clip(e["frown"] / 2.5, 0, 1.2)
    squint = np.clip(e["eyes_close"], 0, 1)
    pucker = np.clip(e["pucker"] / 2, 0, 1.2)
    depth = np.zeros_like(tx)

    def add(
        amount: float,
        distance: Callable[[np.ndarray, np.ndarray], np.ndarray],
        mask: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> None:
        """depth += amount · groove(distance) on the points of ``mask`` (times ``weight`` there)."""
        if amount > 0.02:
            (at,) = np.nonzero(mask)
            groove = amount * _groove(distance(tx[at], ty[at]), 0.8 + 0.5 * min(amount, 1.5))
            depth[at] += groove if weight is None else groove * weight[at]

    forehead = np.clip(1 - (np.abs(tx) / 44) ** 4, 0, 1)
    for k in range(4):
        add(
            0.9 * old + 1.0 * brow,
            lambda x, y, k=k: y - (46 + 6.5 * k + 1.4 * np.sin(x / 11 + 1.7 * k)),
            forehead > 0,
            forehead,
        )
    for side in (-1, 1):
        glabella = (ty > 26) & (ty < 43)
        add(0.45 * old + 1.1 * frown, lambda x, y, side=side: x - side * (5 + 0.12 * (y - 30)), glabella)
        # crow's feet: three rays fanning out from the outer eye corner
        ox, oy = side * 47.0, 20.0
        for angle in np.deg2rad((-28, 0, 28)):
            ux, uy = side * np.cos(angle), np.sin(angle)
            along = (tx - ox) * ux + (ty - oy) * uy
            add(
                0.8 * old + 0.9 * smile + 0.5 * squint,
                lambda x, y, ux=ux, uy=uy, ox=ox, oy=oy: -(x - ox) * uy + (y - oy) * ux,
                (along > 1.5) & (along < 13),
            )
        fold = (ty < -16) & (ty > -50)
        add(
            0.25 + 0.9 * old + 1.2 * smile,
            lambda x, y, side=side: x - side * (15 + 14 * np.clip((-17 - y) / 31, 0, 1) ** 0.8),
            fold,
        )
        under_eye = np.abs(tx - side * 32) < 12
        add(
            0.7 * old + 0.5 * smile,
            lambda x, y, side=side: y - (11 - 0.025 * (x - side * 32) ** 2),
            under_eye,
        )
        marionette = (ty < -46) & (ty > -70)
        add(0.8 * old, lambda x, y, side=side: x - side * (26 + 3 * (-46 - y) / 24), marionette)
    lip_band = (ty > -37) & (ty < -29)
    for x_line in np.arange(-12, 13, 4.0):
        add(0.7 * old**2 + 0.6 * pucker, lambda x, y, x_line=x_line: x - x_line - 0.3 * (y + 33), lip_band)
    return depth


def paint_surface(
    tx: np.ndarray, ty: np.ndarray, longitude: np.ndarray, albedo: np.ndarray, spec: FaceSpec
) -> SurfaceDetail:
    """Paint eyes, brows, lips, hair, skin grain and grooves onto the vertex albedo ``(P, 3)``."""
    ident, e = spec.identity, spec.expression
    seed = ident.texture_seed
    old = ageing(spec.age)
    colour = albedo.copy()

    # skin grain and age spots (attached to the surface, so they move with pose)
    grain = value_noise(tx, ty, 1.3, seed) - 0.5
    colour *= (1 + (0.03 + 0.10 * old) * grain)[:, None]
    if old > 0.3:
        spots = value_noise(tx, ty, 5.0, seed + 1)
        spot_mask = np.clip((spots - (0.93 - 0.12 * old)) * 12, 0, 1)
        colour *= (1 - 0.35 * spot_mask)[:, None]
        colour[:, 2] *= 1 - 0.15 * spot_mask
    if spec.age < 14:  # rosy, smooth children's cheeks
        rosy = np.exp(-(((np.abs(tx) - 40) / 12) ** 2 + ((ty + 10) / 12) ** 2)) * (1 - spec.age / 14)
        colour[:, 0] *= 1 + 0.12 * rosy
    if spec.stubble > 0:
        jaw = ((ty < -22) & (np.abs(longitude) < np.deg2rad(85))).astype(float)
        jaw *= 1 - np.exp(-((tx / 26) ** 2 + ((ty + 44) / 9) ** 2))  # not on the lips
        dots = value_noise(tx, ty, 0.6, seed + 2) > 0.55
        colour *= (1 - 0.35 * spec.stubble * jaw * dots)[:, None]

    relief = groove_relief(tx, ty, spec)
    colour *= np.clip(1 - 0.28 * relief, 0.4, 1)[:, None]

    # lips
    upper = (ty > -43) & (ty < -35.5 - 2 * (np.abs(tx) / 25) ** 2 + 1.5 * np.exp(-((tx / 4) ** 2)))
    lower = (ty <= -43) & (ty > -53 + 8 * (np.abs(tx) / 25) ** 2)
    lips = (upper | lower) & (np.abs(tx) < 25)
    thin = 1 - 0.35 * old
    lips &= np.abs(ty + 43) < 9 * thin + 1
    colour[lips] = colour[lips] * np.array([0.95, 0.7, 0.72]) * (0.9 - 0.1 * old)

    # mouth interior, revealed where jaw opening stretches the mesh across the mouth line
    opening = min(1.0, max(0.0, e["jaw_open"]) / 0.4)
    if opening > 0:
        half = 1.6 * opening
        inside = (np.abs(ty - (-43.2)) < half) & (
            np.abs(tx) < 20 * np.sqrt(np.clip(1 - ((ty + 43.2) / 2.2) ** 2, 0, 1))
        )
        colour[inside] = np.array([0.10, 0.03, 0.03])
        if e["smile"] > 1:
            teeth = inside & (ty > -43.2)
            colour[teeth] = np.array([0.78, 0.75, 0.66])

    # eyes
    openness = float(np.clip(1 - 0.85 * e["eyes_close"] - 0.12 * max(e["smile"], 0) / 3, 0.08, 1))
    for side in (-1, 1):
        dx, dy = tx - side * 32, ty - 20
        lid = 4.3 * openness * np.clip(1 - (dx / 12.5) ** 2, 0, 1)
        eye = (np.abs(dx) < 12.5) & (np.abs(dy) < lid)
        colour[eye] = np.array([0.80, 0.76, 0.72])
        iris = eye & (dx**2 + (dy + 0.3) ** 2 < 5.0**2)
        colour[iris] = ident.iris_colour
        pupil = eye & (dx**2 + (dy + 0.3) ** 2 < 1.9**2)
        colour[pupil] = np.array([0.02, 0.02, 0.02])
        upper_lid = (np.abs(dx) < 13) & (dy >= lid - 0.2) & (dy < lid + 1.0)
        colour[upper_lid] *= 0.25
        crease = (np.abs(dx) < 11) & (np.abs(dy - (lid + 3.5 + 1.5 * old)) < 0.6)
        colour[crease] *= 0.8

    hair_colour = ident.hair_colour * (1 - greying(spec.age, ident.greying_onset)) + GREY_HAIR * greying(
        spec.age, ident.greying_onset
    )
    # brows
    brow_density = 0.55 + 0.35 * min(spec.age, 20) / 20
    for side in (-1, 1):
        u = (side * tx - 14) / 38  # 0 at the inner end, 1 at the outer end
        centre = 33.5 + 3.5 * np.sin(np.pi * np.clip(u, 0, 1) * 0.85)
        thickness = 3.8 * (1 - 0.5 * np.clip(u, 0, 1))
        brow = (u > 0) & (u < 1) & (np.abs(ty - centre) < thickness / 2)
        hairs = value_noise(tx * 3, ty, 0.5, seed + 3 + side) < brow_density + 0.25
        brow &= hairs
        colour[brow] = colour[brow] * 0.35 + hair_colour * 0.65

    # scalp hair above a (receding) hairline, and at the sides of the head
    recession = ident.balding * np.clip((spec.age - 22) / 40, 0, 1)
    hairline = 64 - 12 * (tx / 60) ** 2 + recession * (10 + 16 * (np.abs(tx) / 50) ** 2)
    if spec.age < 10:
        hairline = hairline - 4
    sides = (np.abs(longitude) > np.deg2rad(82)) & (ty > -8)
    scalp = (ty > hairline) | sides
    if recession > 0.6:
        scalp &= ~((ty > hairline) & (np.abs(tx) < 40) & (ty > 76 - 20 * (recession - 0.6)))
    strands = 0.75 + 0.5 * value_noise(tx * 4, ty * 0.5, 1.0, seed + 5)
    colour[scalp] = hair_colour * strands[scalp, None]
    return SurfaceDetail(np.clip(colour, 0.0, 1.0), -relief, scalp)
