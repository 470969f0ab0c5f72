"""``agelab`` command line: ``agelab predict PATH... --model MODEL`` and ``agelab export``.

(Named ``command_line`` because Kedro reserves ``<package>/cli.py`` for its project CLI commands.)

Finds every face with dlib, crops it exactly as training did, estimates its age, and writes a CSV or
JSON table (file, face, box, age, std; frame and time for videos, every ``--frame-stride``-th frame) and, on
request, annotated copies of the images and videos. A FOSS model
(``foss_net.pt``, ``kedro run --pipelines=foss``) needs no dlib: it detects the faces itself and adds the
probability that each face is male. Unreadable files are reported and skipped; the run never stops on one
bad file.
"""

from __future__ import annotations

import argparse
import glob
import io
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from agelab.atomic import atomic_write_bytes
from agelab.face_ages import DetectionOptions, FaceAge, FaceAgeEstimator
from agelab.inference import ModelNotFoundError, OnnxAgePredictor, load_bundle
from agelab.models.bundle import ModelBundle
from agelab.parallel import progress_bar
from agelab.preprocessing.images import MAX_PIXELS, UnreadableImageError, load_rgb
from agelab.readers.filename_labels import IMAGE_SUFFIXES
from agelab.results_file import ResultsFile
from agelab.training.engine import resolve_device
from agelab.video import (
    VIDEO_SUFFIXES,
    AnnotatedVideoWriter,
    UnreadableVideoError,
    frame_rate,
    is_video,
    iter_frames,
)

logger = logging.getLogger("agelab")
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


def annotate(image: np.ndarray, rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    draw_faces(image, rows).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def face_estimator(args: argparse.Namespace) -> FaceAgeEstimator:
    """The model ``args.model`` (file or MLflow URI) with the command line's detection settings: a FOSS
    model detects faces itself; any other model takes dlib's detections."""
    options = DetectionOptions(
        args.detector, args.upsample, args.min_score, args.top_k, args.score_threshold, args.nms_iou
    )
    if args.model.endswith(".onnx") and Path(args.model).is_file():
        model = OnnxAgePredictor(args.model, resolve_device(args.device))
    else:
        model = load_bundle(args.model)
    return FaceAgeEstimator(model, options, args.device, max_faces=args.batch_size)


def _face_rows(
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


def _predict_video(path: Path, estimator: FaceAgeEstimator, args: argparse.Namespace) -> list[dict]:
    """Every ``--frame-stride``-th frame (their faces batched together); with ``--annotate``, an annotated
    video of those frames."""
    writer = (
        AnnotatedVideoWriter(
            Path(args.annotate) / f"{path.stem}.annotated.mp4", frame_rate(path) / args.frame_stride
        )
        if args.annotate
        else None
    )
    rows: list[dict] = []
    try:
        frames = (((index, seconds), frame) for index, seconds, frame in iter_frames(path, args.frame_stride))
        for (index, seconds), frame, faces in estimator.stream(frames, keep_images=writer is not None):
            frame_rows = _face_rows(str(path), faces, index, seconds)
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


def _read_images(
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


def predict(args: argparse.Namespace) -> int:
    loading = time.perf_counter()
    try:
        estimator = face_estimator(args)
    except (ModelNotFoundError, FileNotFoundError) as exc:
        print(f"agelab predict: {exc}", file=sys.stderr)
        return 2
    estimator.warm_up()
    loading = time.perf_counter() - loading
    files, missing = expand_inputs(args.paths)
    for given in missing:
        print(f"agelab predict: {given}: no such file, folder or matching pattern", file=sys.stderr)
    output = Path(args.output)
    try:
        results = ResultsFile(
            output, COLUMNS, as_json=args.format == "json" or output.suffix == ".json", resume=args.resume
        )
    except (ValueError, OSError) as exc:
        print(f"agelab predict: {exc}", file=sys.stderr)
        return 2
    if results.replaced_partial:
        print(
            f"agelab predict: {results.partial} (an interrupted run) started afresh; --resume continues one"
        )
    if results.done:
        print(f"agelab predict: resuming, {len(results.done)} files already in {results.partial}")
    todo = [f for f in files if str(f) not in results.done]
    skipped, frames = [], 0
    start = time.perf_counter()
    bar = progress_bar(total=len(todo), desc="agelab predict", unit="file", disable=not sys.stderr.isatty())
    try:
        images = _read_images([f for f in todo if not is_video(f)], skipped, bar, args.max_pixels)
        for path, image, faces in estimator.stream(images, keep_images=bool(args.annotate)):
            image_rows = _face_rows(str(path), faces)
            results.write(image_rows)
            if args.annotate:
                atomic_write_bytes(
                    Path(args.annotate) / f"{path.stem}.annotated.jpg",
                    annotate(image, [r for r in image_rows if r["face"] >= 0]),
                )
        for path in (f for f in todo if is_video(f)):
            try:
                video_rows = _predict_video(path, estimator, args)
            except UnreadableVideoError as exc:
                skipped.append(str(exc))
                print(f"agelab predict: skipped {exc}", file=sys.stderr)
                continue
            finally:
                bar.update()
            frames += len({r["frame"] for r in video_rows})
            results.write(video_rows)
    except BaseException:
        results.close()  # the partial file keeps every finished file's rows for --resume
        raise
    bar.close()
    table = results.finish()
    elapsed = time.perf_counter() - start
    faces = int((table["face"] >= 0).sum())
    without_face = int((table["face"] == -1).sum())
    videos = sum(1 for f in files if is_video(f))
    video_note = f" and {videos} videos ({frames} frames)" if videos else ""
    print(
        f"agelab predict: {len(files) - videos} images{video_note}, {faces} faces, {without_face} without a "
        f"face, {len(skipped)} unreadable, {elapsed:.1f} s (+ {loading:.1f} s loading the model) -> {output}"
    )
    return 1 if missing and not files else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agelab", description="agelab command line")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("predict", help="estimate the age of every face in images")
    import agelab.models  # noqa: F401  (registers every architecture a bundle may name)

    p.add_argument("paths", nargs="+", help="image or video files, folders or glob patterns")
    p.add_argument("--frame-stride", type=int, default=10, help="videos: every N-th frame (default 10)")
    p.add_argument(
        "--model",
        required=True,
        help="model file (.pt, or .onnx from agelab export: onnxruntime), MLflow run id, runs:/<id>/model "
        "or models:/<name>/<version>",
    )
    p.add_argument("--output", default="predictions.csv", help="CSV (default) or .json table")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--annotate", metavar="DIR", help="also write annotated copies of the images here")
    p.add_argument("--detector", choices=["hog", "mmod"], default="hog")
    p.add_argument("--upsample", type=int, default=0)
    p.add_argument(
        "--min-score",
        type=float,
        default=0.1,
        help="drop detections scoring below this (dlib HOG: real faces score above ~0.15)",
    )
    p.add_argument("--top-k", type=int, default=None, help="FOSS: faces considered per image (model's: 20)")
    p.add_argument(
        "--score-threshold", type=float, default=None, help="FOSS: detection confidence (model's: 0.2)"
    )
    p.add_argument(
        "--nms-iou", type=float, default=0.5, help="FOSS: one box per face (duplicates above this IoU)"
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=64, help="face crops (across images) per forward pass")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the rows of an interrupted (or finished) run of this --output and skip the files it holds",
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=MAX_PIXELS,
        help=f"skip (and report) images of more pixels than this (default {MAX_PIXELS:,}, Pillow's limit)",
    )
    e = commands.add_parser("export", help="export a trained age model to ONNX (checked against PyTorch)")
    e.add_argument("--model", required=True, help="model file (data/06_models/.../*.pt), FOSS included")
    e.add_argument("--output", required=True, help="ONNX file to write")
    e.add_argument("--tolerance", type=float, default=1e-4, help="largest logit difference accepted")
    e.add_argument(
        "--image-size",
        default="640x480",
        help="FOSS: the fixed WIDTHxHEIGHT of the images the exported graph takes (default 640x480)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    return export(args) if args.command == "export" else predict(args)


def export(args: argparse.Namespace) -> int:
    from agelab.export import ExportError, export_onnx

    try:
        width, height = (int(v) for v in args.image_size.lower().split("x"))
    except ValueError:
        print(f"agelab export: --image-size must be WIDTHxHEIGHT, got {args.image_size!r}", file=sys.stderr)
        return 2
    try:
        report = export_onnx(
            ModelBundle.load(args.model), args.output, tolerance=args.tolerance, image_size=(height, width)
        )
    except (FileNotFoundError, ExportError) as exc:
        print(f"agelab export: {exc}", file=sys.stderr)
        return 2
    print(
        f"agelab export: {report.architecture} -> {report.path} ({report.megabytes:.1f} MB, "
        f"{report.seconds:.1f} s); onnxruntime vs PyTorch: logits within {report.max_logit_difference:.1e}, "
        f"ages within {report.max_age_difference:.1e} years"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
