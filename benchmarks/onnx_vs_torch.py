"""Faces/s of an exported age model in onnxruntime against the same model in PyTorch (CPU).

    .venv/bin/python benchmarks/onnx_vs_torch.py --model data/06_models/appearance/appearance_subnet.pt \
        [--batch 32] [--repeats 10]

Exports the model with ``agelab.export.export_onnx`` (parity-checked) into a temporary folder, then times
the network alone on random normalised crops (the face detector and cropping are not included).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import onnxruntime
import torch

import agelab.models  # noqa: F401  (registers the architectures)
from agelab.export import export_onnx
from agelab.models.bundle import ModelBundle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    bundle = ModelBundle.load(args.model)
    images = torch.randn(args.batch, 3, bundle.image_size, bundle.image_size)
    with tempfile.TemporaryDirectory() as folder:
        report = export_onnx(bundle, Path(folder) / "model.onnx")
        session = onnxruntime.InferenceSession(report.path, providers=["CPUExecutionProvider"])
        model = bundle.build()
        timings = {}
        for name, run in (
            ("PyTorch", lambda: model(images)),
            ("onnxruntime", lambda: session.run(None, {"images": images.numpy()})),
        ):
            with torch.no_grad():
                run()
                start = time.perf_counter()
                for _ in range(args.repeats):
                    run()
                timings[name] = args.batch * args.repeats / (time.perf_counter() - start)
    print(
        f"{bundle.architecture}, batch {args.batch}, {torch.get_num_threads()} threads; parity "
        f"{report.max_logit_difference:.1e} (logits)"
    )
    print("| runtime | faces/s |")
    print("|---|---|")
    for name, rate in timings.items():
        print(f"| {name} | {rate:.0f} |")


if __name__ == "__main__":
    main()
