"""Where a model runs: one rule for training, evaluation and inference."""

from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """``"auto"``: the first CUDA GPU if PyTorch sees one, else the CPU; any other name as PyTorch reads it
    (``"cpu"``, ``"cuda:1"``, ...)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
