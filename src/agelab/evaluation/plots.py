"""Figures: the sample grid of face crops (data pipeline)."""

from __future__ import annotations

import json
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def sample_grid(
    faces: pd.DataFrame,
    load_image: Callable[[str], np.ndarray],
    *,
    rows: int = 4,
    cols: int = 8,
    seed: int = 0,
    landmarks: bool = True,
    title: str = "",
) -> Figure:
    """A grid of face crops, one column per age bin (youngest left), with labels and dlib landmarks."""
    figure, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.85 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    if len(faces):
        rng = np.random.default_rng(seed)
        bins = np.array_split(faces.sort_values("age").index.to_numpy(), cols)
        for c, members in enumerate(bins):
            chosen = rng.choice(members, size=min(rows, len(members)), replace=False) if len(members) else []
            for r, idx in enumerate(sorted(chosen, key=lambda i: faces.at[i, "age"])):
                row = faces.loc[idx]
                ax = axes[r, c]
                ax.imshow(load_image(row["crop_path"]))
                if landmarks and row.get("landmarks_68_crop"):
                    points = np.asarray(json.loads(row["landmarks_68_crop"]))
                    ax.scatter(points[:, 0], points[:, 1], s=1.2, c="#00ff66", linewidths=0)
                label = f"{row['age']:.0f} {str(row.get('gender', ''))[:1]}"
                ax.set_title(f"{label} · {row.get('split', '')}", fontsize=7)
    figure.suptitle(title or "sample faces by age (dlib 68 landmarks)", fontsize=9)
    figure.tight_layout()
    return figure
