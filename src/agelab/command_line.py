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
import logging
import sys
import time
from pathlib import Path

from agelab.atomic import atomic_write_bytes
from agelab.device import resolve_device
from agelab.inference import (
    DetectionOptions,
    FaceAgeEstimator,
    ModelNotFoundError,
    OnnxAgePredictor,
    load_bundle,
)
from agelab.inference.predict_files import (
    COLUMNS,
    annotated_jpeg,
    expand_inputs,
    face_rows,
    predict_video,
    read_images,
)
from agelab.inference.video import UnreadableVideoError, is_video
from agelab.models.bundle import ModelBundle
from agelab.parallel import progress_bar
from agelab.preprocessing.images import MAX_PIXELS
from agelab.results_file import ResultsFile

logger = logging.getLogger("agelab")


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
        images = read_images([f for f in todo if not is_video(f)], skipped, bar, args.max_pixels)
        for path, image, faces in estimator.stream(images, keep_images=bool(args.annotate)):
            image_rows = face_rows(str(path), faces)
            results.write(image_rows)
            if args.annotate:
                atomic_write_bytes(
                    Path(args.annotate) / f"{path.stem}.annotated.jpg",
                    annotated_jpeg(image, [r for r in image_rows if r["face"] >= 0]),
                )
        for path in (f for f in todo if is_video(f)):
            try:
                video_rows = predict_video(path, estimator, args.frame_stride, args.annotate)
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
    from agelab.inference.onnx_export import ExportError, export_onnx

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
