"""ONNX export of the trained age models with a parity check.

``agelab export --model data/06_models/sps/sps_net.pt --output sps_net.onnx``

* Single-face models (appearance subnet, HPS, SPS): input ``images`` is a batch (dynamic size) of normalised
  face crops, (N, 3, S, S) as ``agelab predict`` prepares them; output ``age_logits``, one logit per age. The
  crop settings travel in the file's metadata (``crop_size``, ``crop_margin``, ``image_size``, ``min_age``).
* FOSS (Yoshimura & Ogata): the whole joined model — letterbox, CenterNet detector, top-K peak decoding,
  the facial-cropping connection (RoI align on the full-resolution image, ONNX ``RoiAlign``), the
  intermediate-feature connection and TResNet — in one graph. Input ``images``: a batch (dynamic size) of
  RGB images in [0, 1] of one fixed size (``--image-size``, metadata ``image_height``/``image_width``; the
  letterbox scale is computed at export time); outputs ``boxes`` (N, K, 4) in image pixels, ``scores``
  (N, K), ``age_logits`` (N, K, 101) and ``gender_logits`` (N, K, 2). Thresholding and duplicate suppression
  are left to the caller (metadata ``score_threshold``, ``top_k``).

The export is checked before it is kept: onnxruntime and PyTorch must agree on random inputs within
``tolerance`` (logits) — otherwise nothing is written.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agelab.losses.age import age_moments, expected_age
from agelab.models.bundle import ModelBundle

EXPORTABLE = ("appearance_subnet", "hps_net", "sps_net", "foss")
FOSS_IMAGE_SIZE = (480, 640)  # (height, width) of the images a FOSS export takes
BOX_TOLERANCE = 1e-2  # pixels: a FOSS export must find the very same boxes


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


class _FossGraph(nn.Module):
    """FossNet's forward with plain tensor outputs (ONNX has no named tuples)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(images)
        return out.boxes, out.scores, out.age_logits, out.gender_logits


@dataclass
class _Plan:
    module: nn.Module
    example_shape: tuple[int, ...]  # one input, batch first
    outputs: list[str]
    logit_outputs: list[int]  # positions compared against the tolerance
    metadata: dict[str, str]
    ages: object  # logits -> ages


def _plan(bundle: ModelBundle, image_size: tuple[int, int]) -> _Plan:
    model = bundle.build().eval()
    common = {
        "agelab_architecture": bundle.architecture,
        "agelab_kwargs": json.dumps(bundle.kwargs, default=str),
    }
    if bundle.architecture == "foss":
        height, width = image_size
        return _Plan(
            _FossGraph(model).eval(),
            (3, height, width),
            ["boxes", "scores", "age_logits", "gender_logits"],
            [1, 2, 3],
            {
                **common,
                "image_height": str(height),
                "image_width": str(width),
                "top_k": str(model.top_k),
                "score_threshold": str(model.score_threshold),
            },
            lambda logits: age_moments(logits)[0],
        )
    size = bundle.image_size
    min_age = int(bundle.kwargs.get("min_age", 0))
    return _Plan(
        model,
        (3, size, size),
        ["age_logits"],
        [0],
        {
            **common,
            "crop_size": str(bundle.crop_size),
            "crop_margin": str(bundle.crop_margin),
            "crop_align": str(bool(bundle.crop_align)),
            "test_time_flip": str(bool(bundle.test_time_flip)),
            "temperature": repr(float(bundle.temperature)),
            "image_size": str(size),
            "min_age": str(min_age),
        },
        lambda logits: expected_age(logits, min_age),
    )


def _match_detections(
    onnx_outputs: list[torch.Tensor], torch_outputs: list[torch.Tensor]
) -> list[torch.Tensor]:
    """FOSS outputs of onnxruntime reordered to PyTorch's detections: each PyTorch box is paired with the
    onnxruntime box nearest to it. Two detections whose confidences tie to ~1e-6 (common in an untrained
    model) may come out of top-K in either order, which is not a disagreement; a box PyTorch found and
    onnxruntime did not (more than :data:`BOX_TOLERANCE` px away) is one, unless it sits on the top-K
    boundary with a tied score. Raises ExportError on a real disagreement."""
    boxes, scores = onnx_outputs[0], onnx_outputs[1]
    order = torch.empty(boxes.shape[:2], dtype=torch.long)
    for b in range(boxes.shape[0]):
        distance = (
            (torch_outputs[0][b][:, None, :] - boxes[b][None, :, :]).abs().amax(-1)
        )  # (K torch, K onnx)
        nearest = distance.argmin(1)
        for i, j in enumerate(nearest.tolist()):
            tied_at_boundary = abs(float(torch_outputs[1][b, i]) - float(scores[b].min())) < 1e-5
            if distance[i, j] > BOX_TOLERANCE and not tied_at_boundary:
                raise ExportError(
                    f"onnxruntime and PyTorch find different boxes ({float(distance[i, j]):.2e} px apart); "
                    "nothing written"
                )
        order[b] = nearest
    matched = [torch.stack([o[b, order[b]] for b in range(o.shape[0])]) for o in onnx_outputs]
    unmatched_ok = (matched[0] - torch_outputs[0]).abs().amax(-1) > BOX_TOLERANCE  # boundary ties only
    for k in range(1, len(matched)):
        matched[k][unmatched_ok] = torch_outputs[k][unmatched_ok]
    return matched


def export_onnx(
    bundle: ModelBundle,
    output: str | Path,
    *,
    tolerance: float = 1e-4,
    seed: int = 0,
    image_size: tuple[int, int] = FOSS_IMAGE_SIZE,
) -> ExportReport:
    """Export ``bundle`` to ``output`` (atomically, only after the parity check passes); ``image_size``
    (height, width) is the fixed image size of a FOSS export."""
    import onnx
    import onnxruntime

    if bundle.architecture not in EXPORTABLE:
        raise ExportError(
            f"ONNX export covers {', '.join(EXPORTABLE)}; this model is {bundle.architecture!r}"
        )
    start = time.perf_counter()
    plan = _plan(bundle, image_size)
    generator = torch.Generator().manual_seed(seed)

    def random_images(batch: int) -> torch.Tensor:
        if bundle.architecture == "foss":  # images in [0, 1]
            return torch.rand(batch, *plan.example_shape, generator=generator)
        return torch.randn(batch, *plan.example_shape, generator=generator)

    example = random_images(2)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
    os.close(handle)
    try:
        with warnings.catch_warnings():
            # onnxscript notes that ONNX's RoiAlign samples adaptively (FOSS's feature connection samples once
            # per bin): the parity check below measures what that changes, and fails the export if too much
            warnings.filterwarnings("ignore", message="ONNX export for RoIAlign with a non-zero sampling")
            torch.onnx.export(
                plan.module,
                (example,),
                temporary,
                dynamo=True,
                input_names=["images"],
                output_names=plan.outputs,
                dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
                external_data=False,
            )
        exported = onnx.load(temporary)
        for key, value in plan.metadata.items():
            exported.metadata_props.add(key=key, value=value)
        onnx.save(exported, temporary)
        session = onnxruntime.InferenceSession(temporary, providers=["CPUExecutionProvider"])
        logit_difference = age_difference = 0.0
        for batch in (1, 3):
            images = random_images(batch)
            onnx_outputs = [torch.from_numpy(o) for o in session.run(None, {"images": images.numpy()})]
            with torch.no_grad():
                torch_outputs = plan.module(images)
            torch_outputs = torch_outputs if isinstance(torch_outputs, tuple) else (torch_outputs,)
            if "boxes" in plan.outputs:
                onnx_outputs = _match_detections(onnx_outputs, list(torch_outputs))
            for position in plan.logit_outputs:
                difference = (onnx_outputs[position] - torch_outputs[position]).abs().max()
                logit_difference = max(logit_difference, float(difference))
            ages = plan.outputs.index("age_logits")
            age_difference = max(
                age_difference,
                float((plan.ages(onnx_outputs[ages]) - plan.ages(torch_outputs[ages])).abs().max()),
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
