"""ONNX export of the single-face age models (appearance subnet, HPS, SPS) with a parity check.

``agelab export --model data/06_models/sps/sps_net.pt --output sps_net.onnx`` writes one ONNX file whose
input ``images`` is a batch (dynamic size) of normalised face crops, (N, 3, S, S) as ``agelab predict``
prepares them, and whose output ``age_logits`` holds one logit per age; the crop settings travel in the
file's metadata (``crop_size``, ``crop_margin``, ``image_size``, ``min_age``). The export is checked
before it is kept: onnxruntime and PyTorch must agree on random batches within ``tolerance`` (logits) —
otherwise nothing is written. FOSS models (detector + RoI sampling) are not exported yet.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from agelab.losses.age import expected_age
from agelab.models.bundle import ModelBundle

EXPORTABLE = ("appearance_subnet", "hps_net", "sps_net")


class ExportError(RuntimeError):
    pass


@dataclass(frozen=True)
class ExportReport:
    path: str
    architecture: str
    max_logit_difference: float
    max_age_difference: float
    seconds: float
    megabytes: float


def export_onnx(
    bundle: ModelBundle, output: str | Path, *, tolerance: float = 1e-4, seed: int = 0
) -> ExportReport:
    """Export ``bundle`` to ``output`` (atomically, only after the parity check passes)."""
    import onnx
    import onnxruntime

    if bundle.architecture not in EXPORTABLE:
        raise ExportError(
            f"ONNX export covers {', '.join(EXPORTABLE)}; this model is {bundle.architecture!r}"
        )
    start = time.perf_counter()
    model = bundle.build().eval()
    size = bundle.image_size
    generator = torch.Generator().manual_seed(seed)
    example = torch.randn(2, 3, size, size, generator=generator)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
    os.close(handle)
    try:
        torch.onnx.export(
            model,
            (example,),
            temporary,
            dynamo=True,
            input_names=["images"],
            output_names=["age_logits"],
            dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
            external_data=False,
        )
        exported = onnx.load(temporary)
        metadata = {
            "agelab_architecture": bundle.architecture,
            "crop_size": str(bundle.crop_size),
            "crop_margin": str(bundle.crop_margin),
            "image_size": str(size),
            "min_age": str(bundle.kwargs.get("min_age", 0)),
            "agelab_kwargs": json.dumps(bundle.kwargs, default=str),
        }
        for key, value in metadata.items():
            exported.metadata_props.add(key=key, value=value)
        onnx.save(exported, temporary)
        session = onnxruntime.InferenceSession(temporary, providers=["CPUExecutionProvider"])
        logit_difference = age_difference = 0.0
        min_age = int(bundle.kwargs.get("min_age", 0))
        for batch in (1, 5):
            images = torch.randn(batch, 3, size, size, generator=generator)
            onnx_logits = torch.from_numpy(session.run(None, {"images": images.numpy()})[0])
            with torch.no_grad():
                torch_logits = model(images)
            logit_difference = max(logit_difference, float((onnx_logits - torch_logits).abs().max()))
            age_difference = max(
                age_difference,
                float((expected_age(onnx_logits, min_age) - expected_age(torch_logits, min_age)).abs().max()),
            )
        if not np.isfinite(logit_difference) or logit_difference > tolerance:
            raise ExportError(
                f"onnxruntime and PyTorch disagree by {logit_difference:.2e} on the logits (tolerance "
                f"{tolerance:.0e}); nothing written"
            )
        os.replace(temporary, output)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return ExportReport(
        str(output),
        bundle.architecture,
        logit_difference,
        age_difference,
        time.perf_counter() - start,
        output.stat().st_size / 1e6,
    )
