"""Render one synthetic face: morphable geometry + age shape change, perspective camera, z-buffer,
SH Lambertian shading with procedural surface detail, and a cluttered background.

The image-formation model is the paper's (Eqs. 2–5); the renderer adds what a photo has and a linear
face model lacks (high-frequency skin detail, hair, background, sensor noise, JPEG).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageFilter

from agelab.colour import linear_to_srgb
from agelab.morphable.camera import Camera, euler_to_omega, project, rotation_matrix, to_camera_space
from agelab.morphable.procedural import ProceduralFaceModel, build_procedural_model
from agelab.morphable.rasterize import rasterize
from agelab.morphable.shading import sh_basis, vertex_normals
from agelab.synthetic.spec import FaceSpec
from agelab.synthetic.texture import ageing, paint_surface, value_noise

FACE_HEIGHT_MM = 120.0  # brows to chin, used to frame the face
FACE_CENTRE = np.array([0.0, -20.0, 70.0])


@dataclass(frozen=True)
class RenderConfig:
    image_size: int = 128
    supersample: int = 2
    focal_per_size: float = 5.0


@dataclass
class RenderedFace:
    image: np.ndarray  # (S, S, 3) uint8 sRGB
    jpeg: bytes
    landmarks: np.ndarray  # (68, 2) pixel coordinates in the output image
    box: tuple[float, float, float, float]
    omega: np.ndarray
    tau: np.ndarray
    focal: float
    alpha: np.ndarray | None = None  # (S, S) person coverage (head, hair, neck, shoulders) in [0, 1]


def age_shape_offsets(template_xy: np.ndarray, age: float) -> np.ndarray:
    """Shape change with age (mm): children have a short lower face, a small nose, a large cranium and
    round cheeks; older faces have a longer nose, sagging jowls and hollower temples and eyes."""
    x, y = template_xy[:, 0], template_xy[:, 1]
    child = float(np.clip((16 - age) / 16, 0, 1))
    old = ageing(age)
    offsets = np.zeros((x.size, 3))
    lower = np.clip((20 - y) / 100, 0, 1)  # 0 at the eye line, 1 at the chin
    offsets[:, 1] += child * 22 * lower  # lower face shortens upwards
    offsets[:, 1] += child * 8 * np.clip((y - 40) / 40, 0, 1)  # taller cranium
    offsets[:, 2] += child * 6 * np.exp(-((np.abs(x) - 38) ** 2 / 300 + (y + 15) ** 2 / 300))  # cheeks
    nose = np.exp(-(x**2 / 90 + (y + 2) ** 2 / 500))
    offsets[:, 2] -= child * 8 * nose
    offsets[:, 1] -= old * 5 * np.exp(-(x**2 / 120 + (y + 14) ** 2 / 60))  # nose tip droops
    jowls = np.exp(-((np.abs(x) - 38) ** 2 / 200 + (y + 55) ** 2 / 150))
    offsets[:, 1] -= old * 7 * jowls
    offsets[:, 0] += old * 3 * np.sign(x) * jowls
    offsets[:, 2] -= (
        old
        * 4
        * (
            np.exp(-((np.abs(x) - 58) ** 2 + (y - 32) ** 2) / 150)
            + np.exp(-((np.abs(x) - 32) ** 2 / 100 + (y - 20) ** 2 / 60))
        )
    )
    offsets[:, 2] -= old * 3 * np.exp(-(x**2 / 300 + (y + 48) ** 2 / 20))  # thinner lips
    return offsets


def cluttered_background(rng: np.random.Generator, size: int) -> np.ndarray:
    c0, c1 = rng.uniform(0.05, 0.9, 3), rng.uniform(0.05, 0.9, 3)
    t = np.linspace(0, 1, size)
    angle = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(angle) * t[None, :] + np.sin(angle) * t[:, None]) / 1.5 + 0.3
    image = c0 * (1 - grad[..., None]) + c1 * grad[..., None]
    xs = np.arange(size, dtype=np.float64)  # pixel columns (and rows): the grid broadcast, never built
    blotches = value_noise(xs[None, :], xs[:, None], size / 6, int(rng.integers(2**31))) - 0.5
    image *= 1 + 0.35 * blotches[..., None]
    for _ in range(int(rng.integers(1, 5))):  # clutter: soft rectangles
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.1, 0.6, 2) * size
        inside = ((xs > x0) & (xs < x0 + w))[None, :] & ((xs > y0) & (xs < y0 + h))[:, None]
        image[inside] = image[inside] * 0.4 + rng.uniform(0, 1, 3) * 0.6
    return np.clip(image, 0, 1)


def _ellipse(size: int, centre: np.ndarray, radii: tuple[float, float], angle: float) -> np.ndarray:
    centres = np.arange(size, dtype=np.float64) + 0.5
    dx, dy = (centres - centre[0])[None, :], (centres - centre[1])[:, None]  # broadcast to the grid
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * dx + s * dy, -s * dx + c * dy
    return (u / radii[0]) ** 2 + (v / radii[1]) ** 2 < 1


def render_face(
    spec: FaceSpec, config: RenderConfig = RenderConfig(), face_model: ProceduralFaceModel | None = None
) -> RenderedFace:
    """Render ``spec`` and return the image, its JPEG bytes, 68 landmarks and the face box."""
    pm = face_model or build_procedural_model()
    model = pm.model
    size = config.image_size * config.supersample
    camera = Camera.for_image(size, config.focal_per_size)
    rng = np.random.default_rng(spec.background_seed)

    with torch.no_grad():
        alpha = torch.as_tensor(spec.identity.alpha, dtype=torch.float32)[None]
        delta = torch.as_tensor(spec.delta, dtype=torch.float32)[None]
        beta = torch.as_tensor(spec.identity.beta, dtype=torch.float32)[None]
        geometry = model.geometry(alpha, delta)
        geometry = (
            geometry + torch.as_tensor(age_shape_offsets(pm.template_xy, spec.age), dtype=torch.float32)[None]
        )
        reflectance = model.reflectance(beta).clamp(0.02, 1.0)
        omega = euler_to_omega(
            math.radians(spec.yaw), math.radians(spec.pitch), math.radians(spec.roll)
        ).float()[None]
        rotation = rotation_matrix(omega)[0].numpy()
        distance = camera.focal * FACE_HEIGHT_MM / (spec.face_scale * size)
        centre_cam = (rotation @ FACE_CENTRE) * np.array([1, -1, -1])
        tau = np.array(
            [
                spec.shift[0] * size * distance / camera.focal - centre_cam[0],
                spec.shift[1] * size * distance / camera.focal - centre_cam[1],
                distance - centre_cam[2],
            ]
        )
        tau_t = torch.as_tensor(tau, dtype=torch.float32)[None]
        cam_points = to_camera_space(geometry, omega, tau_t)
        pixels = project(cam_points, camera)[0].numpy()
        normals = vertex_normals(geometry, model.triangles)
        normals_view = (normals @ rotation_matrix(omega).transpose(1, 2))[0].numpy()
    depth = cam_points[0, :, 2].numpy()
    triangles = model.triangles.numpy()
    frags = rasterize(pixels, depth, triangles, size, size)
    mask = frags.mask

    # per-pixel attributes: normal, albedo, template-frontal coordinates, longitude
    attributes = np.concatenate(
        [normals_view, reflectance[0].numpy(), pm.template_xy, pm.longitude[:, None]], 1
    )
    values = frags.interpolate(attributes, triangles)
    n = values[:, 0:3] / np.linalg.norm(values[:, 0:3], axis=1, keepdims=True).clip(1e-8)
    detail = paint_surface(values[:, 6], values[:, 7], values[:, 8], values[:, 3:6], spec)

    gamma = spec.gamma.reshape(3, 9)
    shading = sh_basis(torch.as_tensor(n)).numpy() @ gamma.T  # (P, 3)
    # bump: grooves darken on the side facing away from the light
    height = np.zeros((size, size))
    height[mask] = detail.height
    gy, gx = np.gradient(height)
    light_xy = np.array([gamma[:, 3].mean(), -gamma[:, 1].mean()])  # view x, image y (down)
    bump = 1 + 0.6 * (gx[mask] * light_xy[0] + gy[mask] * light_xy[1]) - 0.04 * np.abs(detail.height)
    face_colour = detail.albedo * np.clip(shading, 0.05, 2.0) * np.clip(bump, 0.5, 1.5)[:, None]

    # background, shoulders, neck and hair mass behind the head
    image = cluttered_background(rng, size)
    head_centre = project(to_camera_space(torch.tensor([[[0.0, 15.0, 0.0]]]), omega, tau_t), camera)[
        0, 0
    ].numpy()
    chin = pixels[model.landmark_indices[8]]
    scale = camera.focal / distance
    roll = math.radians(spec.roll)
    shoulders = rng.uniform(0.05, 0.8, 3)
    body = _ellipse(size, chin + np.array([0, 95 * scale]), (120 * scale, 60 * scale), roll)
    image[body] = shoulders * (0.8 + 0.2 * rng.random())
    skin_mean = np.median(detail.albedo[~detail.hair], axis=0) if (~detail.hair).any() else np.full(3, 0.5)
    neck = _ellipse(size, chin + np.array([0, 30 * scale]), (42 * scale, 50 * scale), roll)
    image[neck] = skin_mean * 0.55
    hair_mass = _ellipse(size, head_centre, (88 * scale, 112 * scale), roll)
    bald = spec.identity.balding * np.clip((spec.age - 22) / 40, 0, 1)
    crown_colour = detail.albedo[detail.hair].mean(0) if detail.hair.any() else skin_mean * 0.7
    image[hair_mass] = crown_colour * (0.55 if bald < 0.7 else 0.8)
    image[mask] = face_colour
    person = (body | neck | hair_mass | mask).astype(np.float64)

    # down-sample (anti-aliasing), camera blur, noise, sRGB, JPEG
    s = config.supersample
    image = image.reshape(config.image_size, s, config.image_size, s, 3).mean((1, 3))
    coverage = person.reshape(config.image_size, s, config.image_size, s).mean((1, 3))
    image = image + rng.normal(scale=0.008, size=image.shape)
    srgb = (linear_to_srgb(image) * 255 + 0.5).astype(np.uint8)
    pil = Image.fromarray(srgb)
    if rng.random() < 0.3:
        pil = pil.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.8))))
    if spec.grayscale:
        pil = pil.convert("L").convert("RGB")
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=spec.jpeg_quality)
    jpeg = buffer.getvalue()

    landmarks = pixels[model.landmark_indices.numpy()] / s
    return RenderedFace(
        image=np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")),
        jpeg=jpeg,
        landmarks=landmarks,
        box=landmark_box(landmarks, config.image_size),
        omega=omega[0].numpy().astype(np.float64),
        tau=tau / s,
        focal=camera.focal / s,
        alpha=coverage,
    )


def landmark_box(landmarks: np.ndarray, image_size: int) -> tuple[float, float, float, float]:
    """Face box from 68 landmarks: their extent, raised by a fifth of the brow-to-chin height so the
    forehead is in (close to dlib's frontal-detector boxes), clipped to the image."""
    x0, y0 = landmarks.min(0)
    x1, y1 = landmarks.max(0)
    y0 -= 0.2 * (y1 - y0)
    return (float(max(0, x0)), float(max(0, y0)), float(min(image_size, x1)), float(min(image_size, y1)))
