"""Faces/s of an exported age model in onnxruntime against the same model in PyTorch (CPU).

    .venv/bin/python benchmarks/onnx_vs_torch.py --model data/06_models/appearance/appearance_subnet.pt \
        [--batch 32] [--repeats 10]
    .venv/bin/python benchmarks/onnx_vs_torch.py --model foss:base [--image-size 640x480] [--batch 1]

Exports the model with ``agelab.inference.onnx_export.export_onnx`` (parity-checked) into a temporary folder,
then times it on random inputs. Single-face models: the network alone on normalised crops (detection and
cropping excluded), reported in faces/s. FOSS: the whole joined model (detection, K = top_k crops, age and
gender) on whole images, reported in images/s; ``foss:<env>`` builds an untrained FOSS model from
``conf/<env>/parameters_foss.yml`` (speed does not depend on the weights' values).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import onnxruntime
import torch

import agelab.models  # noqa: F401  (registers the architectures)
from agelab.inference.onnx_export import export_onnx
from agelab.models.bundle import ModelBundle


def untrained_foss(env: str) -> ModelBundle:
    import yaml

    from agelab.models.foss import FossNet

    settings = {}
    for folder in ("base", env):
        path = Path(__file__).resolve().parents[1] / "conf" / folder / "parameters_foss.yml"
        if path.is_file():
            settings.update((yaml.safe_load(path.read_text()) or {}).get("foss", {}).get("model", {}))
    torch.manual_seed(0)
    model = FossNet(**settings)
    return ModelBundle("foss", settings, model.state_dict(), crop_size=224, crop_margin=0.2, image_size=480)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--image-size", default="640x480", help="FOSS: WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(v) for v in args.image_size.split("x"))
    bundle = (
        untrained_foss(args.model.split(":", 1)[1])
        if args.model.startswith("foss:")
        else ModelBundle.load(args.model)
    )
    foss = bundle.architecture == "foss"
    images = (
        torch.rand(args.batch, 3, height, width)
        if foss
        else torch.randn(args.batch, 3, bundle.image_size, bundle.image_size)
    )
    with tempfile.TemporaryDirectory() as folder:
        report = export_onnx(bundle, Path(folder) / "model.onnx", image_size=(height, width))
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
    unit = f"images/s ({width}x{height}, K={bundle.kwargs.get('top_k', 20)})" if foss else "faces/s"
    print(
        f"{bundle.architecture}, batch {args.batch}, {torch.get_num_threads()} threads; parity "
        f"{report.max_logit_difference:.1e} (logits); export + check {report.seconds:.1f} s, "
        f"{report.megabytes:.0f} MB"
    )
    print(f"| runtime | {unit} |")
    print("|---|---|")
    for name, rate in timings.items():
        print(f"| {name} | {rate:.1f} |" if rate < 100 else f"| {name} | {rate:.0f} |")


if __name__ == "__main__":
    main()
