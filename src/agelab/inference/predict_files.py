"""``agelab predict``'s work: image and video files in, one row per face out (the columns of
:data:`COLUMNS`), annotated copies on request. The command line (:mod:`agelab.command_line`) parses the
arguments and prints; everything it runs is here and importable."""

from __future__ import annotations

import glob
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from agelab.inference.face_ages import FaceAge, FaceAgeEstimator
from agelab.inference.video import VIDEO_SUFFIXES, AnnotatedVideoWriter, frame_rate, iter_frames
from agelab.preprocessing.images import MAX_PIXELS, UnreadableImageError, load_rgb
from agelab.readers.filename_labels import IMAGE_SUFFIXES

COLUMNS = [
    "file",
    "face",
    "box_x0",
    "box_y0",
    "box_x1",
    "box_y1",
    "detector_score",
    "age",
    "age_std",
    "age_low_50",
    "age_high_50",
    "age_low_80",
    "age_high_80",
    "male_probability",
    "frame",
    "time_s",
]


def expand_inputs(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Images and videos named by files, folders (recursively) and glob patterns; and the inputs that
    matched none."""
    found, missing = [], []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            matches = sorted(Path(p) for p in glob.glob(given, recursive=True) if Path(p).is_file())
            (found.extend(matches) if matches else missing.append(given))
    return list(dict.fromkeys(found)), missing


def draw_faces(image: np.ndarray, rows: list[dict]) -> Image.Image:
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    for row in rows:
        box = (row["box_x0"], row["box_y0"], row["box_x1"], row["box_y1"])
        draw.rectangle(box, outline=(0, 255, 80), width=max(1, pil.width // 250))
        label = (
            f"{row['age']:.0f} ({row['age_low_80']}-{row['age_high_80']})"
            if row.get("age_low_80") is not None
            else f"{row['age']:.0f}±{row['age_std']:.0f}"
        )
        draw.text((box[0], max(0, box[1] - 12)), label, fill=(0, 255, 80))
    return pil


def annotated_jpeg(image: np.ndarray, rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    draw_faces(image, rows).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def face_rows(
    file: str, faces: list[FaceAge], frame: int | None = None, seconds: float | None = None
) -> list[dict]:
    """Table rows of one image or frame; one row with face −1 where no face was found."""
    where = {"frame": frame, "time_s": None if seconds is None else round(seconds, 3)}
    if not faces:
        return [{"file": file, "face": -1, **dict.fromkeys(COLUMNS[2:], None), **where}]
    return [
        {
            "file": file,
            "face": k,
            "box_x0": round(float(f.box[0]), 1),
            "box_y0": round(float(f.box[1]), 1),
            "box_x1": round(float(f.box[2]), 1),
            "box_y1": round(float(f.box[3]), 1),
            "detector_score": round(float(f.score), 3),
            "age": round(float(f.age), 2),
            "age_std": round(float(f.age_std), 2),
            **{
                name: None if np.isnan(value) else int(value)
                for name, value in (
                    ("age_low_50", f.age_low_50),
                    ("age_high_50", f.age_high_50),
                    ("age_low_80", f.age_low_80),
                    ("age_high_80", f.age_high_80),
                )
            },
            "male_probability": None if np.isnan(f.male_probability) else round(float(f.male_probability), 3),
            **where,
        }
        for k, f in enumerate(faces)
    ]


def predict_video(
    path: Path, estimator: FaceAgeEstimator, frame_stride: int = 10, annotate_folder: str | Path | None = None
) -> list[dict]:
    """Every ``frame_stride``-th frame (their faces batched together); with ``annotate_folder``, an annotated
    video of those frames written there (atomically)."""
    writer = (
        AnnotatedVideoWriter(
            Path(annotate_folder) / f"{path.stem}.annotated.mp4", frame_rate(path) / frame_stride
        )
        if annotate_folder
        else None
    )
    rows: list[dict] = []
    try:
        frames = (((index, seconds), frame) for index, seconds, frame in iter_frames(path, frame_stride))
        for (index, seconds), frame, faces in estimator.stream(frames, keep_images=writer is not None):
            frame_rows = face_rows(str(path), faces, index, seconds)
            rows += frame_rows
            if writer is not None:
                writer.write(np.asarray(draw_faces(frame, [r for r in frame_rows if r["face"] >= 0])))
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    if writer is not None:
        writer.close()
    return rows


def read_images(
    paths: list[Path], skipped: list[str], bar, max_pixels: int = MAX_PIXELS
) -> Iterator[tuple[Path, np.ndarray]]:
    """(path, RGB image) of each readable file; the others (corrupt, truncated, over ``max_pixels``) are
    reported, counted and skipped."""
    for path in paths:
        try:
            image = load_rgb(path, max_pixels)[0]
        except UnreadableImageError as exc:
            skipped.append(str(exc))
            print(f"agelab predict: skipped {exc}", file=sys.stderr)
            bar.update()
            continue
        yield path, image
        bar.update()
