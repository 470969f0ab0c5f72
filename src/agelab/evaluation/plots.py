"""Figures: the sample grid of face crops (data pipeline)."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle


def subplots(*grid, figsize: tuple[float, float] | None = None, **kwargs):
    """``pyplot.subplots`` without pyplot: a stand-alone Figure (no backend, no global figure registry, safe
    in Kedro's worker threads and leaves a notebook's backend alone) and its axes."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(*grid, **kwargs)


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
    figure, axes = subplots(rows, cols, figsize=(1.6 * cols, 1.85 * rows), squeeze=False)
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


def predicted_vs_true(predicted: np.ndarray, true: np.ndarray, *, title: str = "") -> Figure:
    """Scatter of predicted against true age with the identity line and the MAE in the title."""
    figure, ax = subplots(figsize=(4.2, 4.2))
    ax.scatter(true, predicted, s=6, alpha=0.5, linewidths=0)
    low, high = float(min(np.min(true), np.min(predicted))), float(max(np.max(true), np.max(predicted)))
    ax.plot([low, high], [low, high], color="black", linewidth=0.8)
    mae = float(np.mean(np.abs(np.asarray(predicted) - np.asarray(true))))
    ax.set(xlabel="true age", ylabel="predicted age", title=title or f"test MAE {mae:.2f}")
    figure.tight_layout()
    return figure


def learning_curves(history: list[dict[str, float]], *, metric_name: str = "validation MAE") -> Figure:
    """Training loss and the validation metric per epoch."""
    epochs = [h["epoch"] for h in history]
    figure, (left, right) = subplots(1, 2, figsize=(8, 3.2))
    left.plot(epochs, [h["train_loss"] for h in history], marker="o")
    left.set(xlabel="epoch", ylabel="training loss")
    right.plot(epochs, [h["val_metric"] for h in history], marker="o", color="tab:orange")
    right.set(xlabel="epoch", ylabel=metric_name)
    figure.tight_layout()
    return figure


def reconstruction_overlays(
    images: list[np.ndarray],
    pixels: np.ndarray,
    depths: np.ndarray,
    colours: np.ndarray,
    triangles: np.ndarray,
    *,
    titles: list[str] | None = None,
    title: str = "",
    landmarks: dict[str, np.ndarray | list[np.ndarray]] | None = None,
) -> Figure:
    """Savov et al. Fig. 2: each image (top) and the predicted 3D face rendered onto it (bottom).

    ``pixels`` ``(F, N, 2)``, ``depths`` ``(F, N)`` and linear-RGB ``colours`` ``(F, N, 3)`` are the image
    formation's per-vertex outputs; the mesh is z-buffered with :func:`agelab.morphable.rasterize`.
    ``landmarks`` (label → ``(F, P, 2)``, or one ``(P, 2)`` per face, in the image's pixels) are drawn on the
    top row, one colour each.
    """
    from agelab.colour import linear_to_srgb
    from agelab.morphable.rasterize import rasterize

    count = len(images)
    figure, axes = subplots(2, count, figsize=(1.7 * count, 3.7), squeeze=False)
    for k, image in enumerate(images):
        height, width = image.shape[:2]
        frags = rasterize(pixels[k], depths[k], triangles, height, width)
        overlay = image.astype(np.float64) / 255
        srgb = linear_to_srgb(frags.interpolate(colours[k], triangles))
        overlay[frags.mask] = 0.15 * overlay[frags.mask] + 0.85 * srgb
        axes[0, k].imshow(image)
        axes[1, k].imshow(overlay)
        for (label, points), colour in zip((landmarks or {}).items(), LANDMARK_COLOURS, strict=False):
            axes[0, k].scatter(*points[k].T, s=2.5, c=colour, label=label if k == 0 else None, linewidths=0)
        axes[0, k].set_xlim(-0.5, width - 0.5)  # points off the crop (a wrong detection) stay off the figure
        axes[0, k].set_ylim(height - 0.5, -0.5)
        if titles:
            axes[0, k].set_title(titles[k], fontsize=7)
        for ax in axes[:, k]:
            ax.axis("off")
    if landmarks:
        figure.legend(loc="lower center", ncol=len(landmarks), fontsize=7, markerscale=3, frameon=False)
    figure.suptitle(
        title or "3D reconstructions: input (top), predicted model projected on it (bottom)", fontsize=9
    )
    figure.tight_layout(rect=(0, 0.04 if landmarks else 0, 1, 1))
    return figure


#: colours of the landmark sets an overlay draws, in order (annotated, the fit's, dlib's)
LANDMARK_COLOURS = ("#2ca02c", "#d62728", "#1f77b4")


def kappa_curves(history: list[dict], stitch_names: tuple[str, ...] = ()) -> Figure:
    """κ_AA, κ_AB, κ_BA, κ_BB of every cross-stitch unit per epoch, from the history entries
    ``kappa<i>_<aa|ab|ba|bb>``."""
    stitches = sorted({int(k[5:].split("_")[0]) for h in history for k in h if k.startswith("kappa")})
    figure, axes = subplots(
        1, max(len(stitches), 1), figsize=(2.6 * max(len(stitches), 1), 2.8), squeeze=False
    )
    if not stitches:
        axes[0, 0].text(0.5, 0.5, "no cross-stitch units (hard sharing)", ha="center", va="center")
        axes[0, 0].axis("off")
    for ax, i in zip(axes[0], stitches, strict=False):
        rows = [h for h in history if f"kappa{i}_aa" in h]
        for name in ("aa", "ab", "ba", "bb"):
            ax.plot(
                [h["epoch"] for h in rows],
                [h[f"kappa{i}_{name}"] for h in rows],
                marker="o",
                label=f"κ_{name.upper()}",
            )
        ax.set(title=f"after {stitch_names[i] if i < len(stitch_names) else i}", xlabel="epoch")
    if stitches:
        axes[0, 0].legend(fontsize=7)
    figure.suptitle("cross-stitch κ per epoch (A = 3D, B = appearance)", fontsize=9)
    figure.tight_layout()
    return figure


def group_predictions_figure(
    paths: list[str], predict: Callable, score_threshold: float, *, columns: int = 3
) -> Figure:
    """FOSS Fig. 4-style: each group photo with its detected faces (confidence ≥ ``score_threshold``),
    their boxes and estimated ages (and gender where the model gives one)."""
    from PIL import Image

    rows = max(1, int(np.ceil(len(paths) / columns)))
    fig, axes = subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, path in zip(axes.ravel(), paths, strict=False):
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        faces = predict(pixels)
        ax.imshow(pixels)
        for box, score, age, male in zip(
            faces.boxes, faces.scores, faces.ages, faces.male_probability, strict=True
        ):
            if score < score_threshold:
                continue
            x0, y0, x1, y1 = box
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="yellow", lw=1))
            label = f"{age:.0f}" + ("" if np.isnan(male) else ("M" if male >= 0.5 else "F"))
            ax.text(x0, y0 - 2, label, color="yellow", fontsize=7, va="bottom")
    fig.tight_layout()
    return fig
