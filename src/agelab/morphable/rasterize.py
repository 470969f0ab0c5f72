"""Vectorised z-buffer triangle rasterizer (NumPy).

Used to render the synthetic testbed and overlays; it is not differentiable (the 3D subnet's losses
sample the image at projected vertices instead, Eq. 7). Every triangle tests the pixel centres of its
bounding box at once (triangles grouped by box size); the nearest surface per pixel wins (on an exact
depth tie, the triangle with the lower index).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass
class Fragments:
    """Per-pixel rasterization result: triangle id (-1 for background) and barycentric weights."""

    triangle: np.ndarray  # (H, W) int64
    barycentric: np.ndarray  # (H, W, 3) float32
    depth: np.ndarray  # (H, W) float32, inf for background

    @property
    def mask(self) -> np.ndarray:
        return self.triangle >= 0

    def interpolate(self, vertex_values: np.ndarray, triangles: np.ndarray) -> np.ndarray:
        """Interpolate per-vertex values ``(N, C)`` to covered pixels -> ``(P, C)`` in mask order."""
        mask = self.mask
        tri = triangles[self.triangle[mask]]  # (P, 3)
        bary = self.barycentric[mask]  # (P, 3)
        return np.einsum("pk,pkc->pc", bary, vertex_values[tri])


@functools.lru_cache(maxsize=1024)
def _box_offsets(width: int, height: int) -> np.ndarray:
    """The ``(x, y)`` offsets of a ``width × height`` box's pixels, row by row ``(width·height, 2)``."""
    offsets = np.stack(np.meshgrid(np.arange(width), np.arange(height), indexing="xy"), -1).reshape(-1, 2)
    offsets.flags.writeable = False
    return offsets


def _box_groups(ids: np.ndarray, box: np.ndarray, max_window: int) -> list[tuple[np.ndarray, int, int]]:
    """Triangles grouped by the exact width and height of their pixel bounding box ``box`` ``(K, 2)``,
    as ``(members, width, height)``: each group tests its triangles' ``width × height`` pixel centres at
    once. A box with a side over ``max_window`` is a group of its own (a large triangle's window would
    otherwise size every other one's). A mesh of 2–5 px triangles then tests 2.5× fewer centres than
    on the power-of-two squares that hold them."""
    if ids.size == 0:
        return []
    large = box.max(axis=1) > max_window
    groups = [(ids[k : k + 1], int(box[k, 0]), int(box[k, 1])) for k in np.flatnonzero(large)]
    small = np.flatnonzero(~large)
    if small.size:
        key = box[small, 0] * (max_window + 1) + box[small, 1]
        order = np.argsort(key, kind="stable")
        starts = np.flatnonzero(np.diff(key[order])) + 1
        for members in np.split(small[order], starts):
            groups.append((ids[members], int(box[members[0], 0]), int(box[members[0], 1])))
    return groups


def rasterize(
    pixels: np.ndarray,
    depth: np.ndarray,
    triangles: np.ndarray,
    height: int,
    width: int,
    *,
    cull_back_faces: bool = True,
    max_window: int = 24,
) -> Fragments:
    """Rasterize triangles given vertex pixel coordinates ``(N, 2)`` and camera depths ``(N,)``.

    Pixel (i, j) has its centre at (j + 0.5, i + 0.5). Triangles facing away from the camera (clockwise
    in image coordinates, where y points down) are culled when ``cull_back_faces``.
    """
    p = pixels.astype(np.float64)
    a, b, c = p[triangles[:, 0]], p[triangles[:, 1]], p[triangles[:, 2]]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    keep = np.abs(area) > 1e-12
    if cull_back_faces:
        keep &= area < 0  # counter-clockwise in a y-up frame is clockwise in image coordinates
    lo = np.floor(np.minimum(np.minimum(a, b), c) - 0.5).astype(np.int64) + 1
    hi = np.floor(np.maximum(np.maximum(a, b), c) - 0.5).astype(np.int64)
    keep &= (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] < width) & (lo[:, 1] < height)
    keep &= (hi[:, 0] >= lo[:, 0]) & (hi[:, 1] >= lo[:, 1])
    ids = np.nonzero(keep)[0]
    pix_index, pix_depth, pix_tri, pix_bary = [], [], [], []
    for group, box_width, box_height in _box_groups(ids, hi[ids] - lo[ids] + 1, max_window):
        # the few sizes of a mesh's small boxes are cached; a large triangle's box is built once, not kept
        offsets = (_box_offsets if max(box_width, box_height) <= max_window else _box_offsets.__wrapped__)(
            box_width, box_height
        )
        px = lo[group][:, None, :] + offsets[None]  # (G, w·h, 2) integer pixel
        centre = px + 0.5
        ga, gb, gc = a[group][:, None], b[group][:, None], c[group][:, None]
        denom = area[group][:, None]
        w0 = (
            (gb[..., 0] - centre[..., 0]) * (gc[..., 1] - centre[..., 1])
            - (gb[..., 1] - centre[..., 1]) * (gc[..., 0] - centre[..., 0])
        ) / denom
        w1 = (
            (gc[..., 0] - centre[..., 0]) * (ga[..., 1] - centre[..., 1])
            - (gc[..., 1] - centre[..., 1]) * (ga[..., 0] - centre[..., 0])
        ) / denom
        w2 = 1.0 - w0 - w1
        inside = (w0 >= -1e-9) & (w1 >= -1e-9) & (w2 >= -1e-9)
        inside &= (px[..., 0] >= 0) & (px[..., 0] < width) & (px[..., 1] >= 0) & (px[..., 1] < height)
        g_idx, k_idx = np.nonzero(inside)
        bary = np.stack([w0[g_idx, k_idx], w1[g_idx, k_idx], w2[g_idx, k_idx]], -1)
        tri = group[g_idx]
        z = (bary * depth[triangles[tri]]).sum(-1)
        pix = px[g_idx, k_idx]
        pix_index.append(pix[:, 1] * width + pix[:, 0])
        pix_depth.append(z)
        pix_tri.append(tri)
        pix_bary.append(bary)

    triangle_map = np.full(height * width, -1, dtype=np.int64)
    bary_map = np.zeros((height * width, 3), dtype=np.float32)
    depth_map = np.full(height * width, np.inf, dtype=np.float32)
    if pix_index:
        index = np.concatenate(pix_index)
        zs = np.concatenate(pix_depth)
        tris = np.concatenate(pix_tri)
        # the z-buffer: each pixel's nearest depth, then of the fragments at that depth the lowest triangle
        # index (a scatter-min each; ten times cheaper than sorting the fragments by pixel and depth)
        depth_buffer = np.full(height * width, np.inf)
        np.minimum.at(depth_buffer, index, zs)
        nearest = np.flatnonzero(zs == depth_buffer[index])
        lowest = np.full(height * width, np.iinfo(np.int64).max)
        np.minimum.at(lowest, index[nearest], tris[nearest])
        chosen = nearest[tris[nearest] == lowest[index[nearest]]]  # one per covered pixel
        index = index[chosen]
        triangle_map[index] = tris[chosen]
        bary_map[index] = np.concatenate(pix_bary)[chosen]
        depth_map[index] = zs[chosen]
    return Fragments(
        triangle_map.reshape(height, width),
        bary_map.reshape(height, width, 3),
        depth_map.reshape(height, width),
    )
