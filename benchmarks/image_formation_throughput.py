"""Forward + backward time of the image-formation model (Eqs. 2–5) and L_fit (Eqs. 6–9) for a batch.

Measured at the built-in procedural model's vertex count and at BFM 2017's (53,490 vertices; a grid
mesh with random bases of that size stands in for the licensed file, which is fine for timing).

    .venv/bin/python benchmarks/image_formation_throughput.py [--batch 32] [--repeats 10] [--device cpu]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from agelab.losses.reconstruction import FitWeights, fit_loss
from agelab.morphable.camera import Camera
from agelab.morphable.fitting import neutral_params, place_mean_face
from agelab.morphable.image_formation import form_image
from agelab.morphable.model import MorphableModel, MorphableParams
from agelab.morphable.procedural import _grid, build_procedural_model

BFM2017_VERTICES = 53_490


def synthetic_model(n_phi: int, n_psi: int, landmark_indices: torch.Tensor) -> MorphableModel:
    """A head-shaped grid mesh with random bases: BFM 2017's sizes without its data."""
    points, _, triangles = _grid(n_phi, n_psi)
    rng = np.random.default_rng(0)
    n = len(points)

    def basis(k: int) -> torch.Tensor:
        return torch.as_tensor(rng.normal(size=(3 * n, k)) / np.sqrt(3 * n), dtype=torch.float32)

    return MorphableModel(
        mean_shape=torch.as_tensor(points, dtype=torch.float32),
        identity_basis=basis(80),
        identity_std=torch.full((80,), 50.0),
        expression_basis=basis(64),
        expression_std=torch.full((64,), 20.0),
        mean_reflectance=torch.full((n, 3), 0.5),
        reflectance_basis=basis(80),
        reflectance_std=torch.full((80,), 0.5),
        triangles=torch.as_tensor(triangles, dtype=torch.int64),
        landmark_indices=landmark_indices % n,
        name=f"synthetic-{n}",
    )


def time_step(
    model: MorphableModel, batch: int, size: int, repeats: int, device: torch.device
) -> list[float]:
    model = model.to(device)
    camera = Camera.for_image(size)
    image = torch.rand(batch, 3, size, size, device=device)
    landmarks = torch.tensor([size / 2, size / 2]) + torch.linspace(-size / 4, size / 4, 68)[:, None]
    start = neutral_params(batch)
    start.tau = place_mean_face(model.to("cpu"), camera, landmarks.expand(batch, 68, 2))
    z0 = start.to_vector().to(device)
    z0[:, :80] += 0.3 * torch.randn(batch, 80, device=device)
    landmarks = landmarks.expand(batch, 68, 2).to(device)
    weights = FitWeights()
    times = []
    for i in range(repeats + 2):  # two warm-up steps
        z = z0.clone().requires_grad_(True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        params = MorphableParams.from_vector(z)
        loss = fit_loss(image, landmarks, params, form_image(model, params, camera), weights)["total"]
        loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=112, help="input image size (pixels)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    procedural = build_procedural_model().model
    models = [
        ("built-in procedural", procedural),
        ("BFM 2017 size (synthetic bases)", synthetic_model(270, 198, procedural.landmark_indices)),
    ]
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    if device.type == "cuda":
        print(torch.cuda.get_device_name(device))
    print(
        f"batch {args.batch}, {args.size} px input, device {device}: "
        "image formation + L_fit, forward + backward"
    )
    print(
        f"{'model':34s} {'vertices':>9s} {'triangles':>10s} {'median ms':>10s} {'min ms':>8s} {'faces/s':>8s}"
    )
    for name, model in models:
        times = time_step(model, args.batch, args.size, args.repeats, device)
        median = statistics.median(times)
        print(
            f"{name:34s} {model.n_vertices:9d} {len(model.triangles):10d} {1000 * median:10.1f} "
            f"{1000 * min(times):8.1f} {args.batch / median:8.0f}"
        )


if __name__ == "__main__":
    main()
