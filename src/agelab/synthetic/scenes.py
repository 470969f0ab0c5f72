"""Multi-face synthetic scenes for FOSS's embedded default: several rendered people of known age, gender and
face box on one cluttered background, some of them small; a fraction of scenes are close-ups of one face.

Three sets are written under ``root``, each in its real dataset's published layout so that the very readers
used for the real data read them:

    wider_face/WIDER_{train,val}/images/0--Synthetic/*.jpg       detection set (WIDER FACE layout):
    wider_face/wider_face_split/wider_face_{train,val}_bbx_gt.txt  boxes only, no ages
    images_of_groups/Synthetic/PersonData.txt + *.jpg             evaluation set (Images of Groups layout):
                                                                  eye centres, age-group and gender codes
    ground_truth.parquet                                          every face: set, image, box, exact age, eyes
    manifest.json                                                 configuration and its hash, written last

Each person is rendered by :func:`agelab.synthetic.render.render_face` with its coverage mask (head, hair,
neck, shoulders) and alpha-composited; people are painted from small (far) to large (near), and a
placement that would hide more than a quarter of an earlier face is redrawn. Rendering is parallel,
chunked and resumable like the single-face set.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageFilter

from agelab.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from agelab.colour import linear_to_srgb
from agelab.config import to_dict
from agelab.parallel import progress_map
from agelab.readers.images_of_groups import AGE_GROUPS
from agelab.synthetic.render import RenderConfig, cluttered_background, render_face
from agelab.synthetic.spec import sample_face_specs

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
GROUND_TRUTH_FILE = "ground_truth.parquet"
MANIFEST_FILE = "manifest.json"
WIDER_EVENT = "0--Synthetic"
GROUPS_FOLDER = "Synthetic"
SETS = ("wider_train", "wider_val", "groups")


@dataclass(frozen=True)
class SceneSetConfig:
    """``parameters_foss.yml: scenes``: how many scenes of each set and what is in them."""

    train_scenes: int = 200
    val_scenes: int = 40
    group_scenes: int = 50
    width: int = 448
    height: int = 336
    min_faces: int = 1
    max_faces: int = 7
    min_face_height: float = 18.0  # face-box height in scene pixels (log-uniform between the two)
    max_face_height: float = 240.0
    render_size: int = 128
    seed: int = 11
    min_age: int = 0
    max_age: int = 85
    max_yaw: float = 60.0
    max_hidden_fraction: float = 0.25
    portrait_fraction: float = 0.2  # scenes with one large face (WIDER FACE has close-ups too)
    portrait_face_fraction: tuple[float, float] = (0.4, 0.8)  # its face-box height / scene height
    chunk_size: int = 20

    def fingerprint(self) -> str:
        payload = {**to_dict(self), "format": FORMAT_VERSION}
        payload.pop("chunk_size")
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def scene_counts(self) -> dict[str, int]:
        return {"wider_train": self.train_scenes, "wider_val": self.val_scenes, "groups": self.group_scenes}


@dataclass(frozen=True)
class SceneJob:
    scene_set: str
    number: int
    seed: int
    config: SceneSetConfig


def age_code(age: float) -> int:
    """Images of Groups' age code of an exact age (1, 5, 10, 16, 28, 51, 75)."""
    for code, (_, low, high) in AGE_GROUPS.items():
        if low <= age <= high or (age > high and code == 75):
            return code
    return 75


def image_relative_path(scene_set: str, number: int) -> str:
    name = f"scene_{scene_set}_{number:05d}.jpg"
    if scene_set == "groups":
        return f"images_of_groups/{GROUPS_FOLDER}/{name}"
    split = scene_set.split("_")[1]
    return f"wider_face/WIDER_{split}/images/{WIDER_EVENT}/{name}"


def _person(spec, config: SceneSetConfig) -> tuple[np.ndarray, np.ndarray, dict]:
    """Render one person framed for a scene: image, alpha, face box / eyes in render pixels."""
    framed = dataclasses.replace(spec, face_scale=0.36, shift=(0.0, -0.1), grayscale=False)
    face = render_face(framed, RenderConfig(image_size=config.render_size))
    alpha = face.alpha.copy()
    ramp_rows = max(1, config.render_size // 8)  # fade the shoulders out where the render ends
    alpha[-ramp_rows:] *= np.linspace(1, 0, ramp_rows)[:, None]
    landmarks = face.landmarks
    return (
        face.image,
        alpha,
        {
            "box": np.array(face.box),
            "left_eye": landmarks[36:42].mean(0),
            "right_eye": landmarks[42:48].mean(0),
        },
    )


def compose_scene(job: SceneJob) -> tuple[np.ndarray, list[dict]]:
    """Render scene ``job``: the sRGB image (H, W, 3) and one dict per visible face."""
    config = job.config
    rng = np.random.default_rng(job.seed)
    side = max(config.width, config.height)
    canvas = linear_to_srgb(cluttered_background(rng, side))[: config.height, : config.width].copy()
    portrait = rng.random() < config.portrait_fraction
    count = 1 if portrait else int(rng.integers(config.min_faces, config.max_faces + 1))
    specs = sample_face_specs(
        count,
        int(rng.integers(2**31)),
        min_age=config.min_age,
        max_age=config.max_age,
        max_yaw=config.max_yaw,
        faces_per_identity=1.0,
    )
    heights = np.exp(rng.uniform(np.log(config.min_face_height), np.log(config.max_face_height), count))
    if portrait:  # one face filling much of the frame, like the single-face photos the detector annotates
        heights = rng.uniform(*config.portrait_face_fraction, size=1) * config.height
    order = np.argsort(heights)
    placed: list[dict] = []
    for i in order:
        spec = specs[i]
        image, alpha, geometry = _person(spec, config)
        box = geometry["box"]
        scale = heights[i] / max(box[3] - box[1], 1.0)
        size = max(8, round(config.render_size * scale))
        scale = size / config.render_size
        patch = (
            np.asarray(
                Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS), dtype=np.float64
            )
            / 255.0
        )
        patch_alpha = (
            np.asarray(
                Image.fromarray((alpha * 255).astype(np.uint8)).resize(
                    (size, size), Image.Resampling.BILINEAR
                ),
                dtype=np.float64,
            )
            / 255.0
        )
        face_box = box * scale
        width_f, height_f = face_box[2] - face_box[0], face_box[3] - face_box[1]
        for _ in range(20):
            x = float(rng.uniform(-face_box[0], config.width - face_box[0] - width_f))
            y = float(rng.uniform(-face_box[1], config.height - face_box[1] - height_f))
            ox, oy = round(x), round(y)
            coverage = np.zeros((config.height, config.width))
            _paste(coverage, patch_alpha, ox, oy)
            if all(_hidden_fraction(coverage, p["box"]) <= config.max_hidden_fraction for p in placed):
                break
        else:
            continue  # no room left for this person
        _composite(canvas, patch, patch_alpha, ox, oy)
        shift = np.array([ox, oy, ox, oy], dtype=np.float64)
        placed.append(
            {
                "box": face_box + shift,
                "left_eye": geometry["left_eye"] * scale + shift[:2],
                "right_eye": geometry["right_eye"] * scale + shift[:2],
                "age": spec.age,
                "gender": spec.identity.gender,
                "yaw": spec.yaw,
            }
        )
    return (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8), placed


def _paste(target: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    h, w = patch.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, target.shape[1]), min(y + h, target.shape[0])
    if x1 > x0 and y1 > y0:
        target[y0:y1, x0:x1] = np.maximum(target[y0:y1, x0:x1], patch[y0 - y : y1 - y, x0 - x : x1 - x])


def _composite(canvas: np.ndarray, patch: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    h, w = alpha.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
    region = canvas[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1] = region * (1 - a) + patch[y0 - y : y1 - y, x0 - x : x1 - x] * a


def _hidden_fraction(coverage: np.ndarray, box: np.ndarray) -> float:
    x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
    x1, y1 = min(int(np.ceil(box[2])), coverage.shape[1]), min(int(np.ceil(box[3])), coverage.shape[0])
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return float((coverage[y0:y1, x0:x1] > 0.5).mean())


def _render_scene(job: SceneJob, root: str) -> list[dict]:
    image, faces = compose_scene(job)
    rng = np.random.default_rng(job.seed + 1)
    pil = Image.fromarray(image)
    if rng.random() < 0.3:
        pil = pil.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.9))))
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=int(rng.integers(82, 96)))
    relative = image_relative_path(job.scene_set, job.number)
    atomic_write_bytes(Path(root) / relative, buffer.getvalue())
    return [
        {
            "set": job.scene_set,
            "image": relative,
            "face": k,
            "box_x0": float(f["box"][0]),
            "box_y0": float(f["box"][1]),
            "box_x1": float(f["box"][2]),
            "box_y1": float(f["box"][3]),
            "age": int(f["age"]),
            "gender": f["gender"],
            "yaw": float(f["yaw"]),
            "left_eye_x": float(f["left_eye"][0]),
            "left_eye_y": float(f["left_eye"][1]),
            "right_eye_x": float(f["right_eye"][0]),
            "right_eye_y": float(f["right_eye"][1]),
        }
        for k, f in enumerate(faces)
    ]


def _render_job(args: tuple[SceneJob, str]) -> list[dict]:
    return _render_scene(*args)


def wider_annotation_text(faces: pd.DataFrame, images: list[str]) -> str:
    """WIDER FACE ``*_bbx_gt.txt``: path, count, then ``x1 y1 w h`` and six attribute flags per face."""
    lines: list[str] = []
    by_image = {name: group for name, group in faces.groupby("image")}
    for image in images:
        group = by_image.get(image)
        lines.append(image.split("/images/", 1)[1])
        if group is None or group.empty:
            lines += ["0", "0 0 0 0 0 0 0 0 0 0"]
            continue
        lines.append(str(len(group)))
        for row in group.itertuples():
            x, y = round(row.box_x0), round(row.box_y0)
            w, h = round(row.box_x1) - x, round(row.box_y1) - y
            lines.append(f"{x} {y} {w} {h} 0 0 0 0 0 0")
    return "\n".join(lines) + "\n"


def person_data_text(faces: pd.DataFrame, images: list[str]) -> str:
    """Images of Groups ``PersonData.txt``: an image row, then per face the eye centres (tab-separated),
    the age code and the gender code (1 female, 2 male)."""
    lines: list[str] = []
    by_image = {name: group for name, group in faces.groupby("image")}
    for image in images:
        lines.append(Path(image).name)
        group = by_image.get(image)
        if group is None:
            continue
        for row in group.itertuples():
            values = [
                f"{row.left_eye_x:.1f}",
                f"{row.left_eye_y:.1f}",
                f"{row.right_eye_x:.1f}",
                f"{row.right_eye_y:.1f}",
                str(age_code(row.age)),
                "2" if row.gender == "male" else "1",
            ]
            lines.append("\t".join(values))
    return "\n".join(lines) + "\n"


def render_scene_sets(
    config: SceneSetConfig, root: str | Path, *, workers: int = 1, show_progress: bool = True
) -> pd.DataFrame:
    """Render (or finish rendering) the three scene sets under ``root``; return the face ground truth."""
    root = Path(root)
    manifest_path = root / MANIFEST_FILE
    fingerprint = config.fingerprint()
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("fingerprint") == fingerprint and manifest.get("complete"):
            logger.info("synthetic scenes %s are up to date (%d faces)", root, manifest["faces"])
            return pd.read_parquet(root / GROUND_TRUTH_FILE)
        if manifest.get("fingerprint") != fingerprint:
            logger.info("scene configuration changed: re-rendering %s", root)
            for folder in ("wider_face", "images_of_groups", "parts"):
                shutil.rmtree(root / folder, ignore_errors=True)
            (root / GROUND_TRUTH_FILE).unlink(missing_ok=True)
    parts = root / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        manifest_path, {"fingerprint": fingerprint, "config": to_dict(config), "complete": False}
    )
    seeds = np.random.default_rng(config.seed)
    jobs = [
        SceneJob(scene_set, n, int(seeds.integers(2**31)), config)
        for scene_set, count in config.scene_counts().items()
        for n in range(count)
    ]
    chunks = [jobs[i : i + config.chunk_size] for i in range(0, len(jobs), config.chunk_size)]
    todo = [(k, c) for k, c in enumerate(chunks) if not (parts / f"part-{k:05d}.parquet").is_file()]
    if len(todo) < len(chunks):
        logger.info("resuming: %d of %d scene chunks already rendered", len(chunks) - len(todo), len(chunks))
    results = progress_map(
        _render_job,
        [(job, str(root)) for _, chunk in todo for job in chunk],
        workers=workers,
        description="render synthetic scenes",
        unit="scene",
        show_progress=show_progress,
        chunksize=2,
    )
    for k, chunk in todo:
        rows = [row for _ in chunk for row in next(results)]
        buffer = io.BytesIO()
        pd.DataFrame(rows).to_parquet(buffer, index=False)
        atomic_write_bytes(parts / f"part-{k:05d}.parquet", buffer.getvalue())
    faces = pd.concat(
        [pd.read_parquet(parts / f"part-{k:05d}.parquet") for k in range(len(chunks))], ignore_index=True
    )
    images = {s: [image_relative_path(s, n) for n in range(c)] for s, c in config.scene_counts().items()}
    for split in ("train", "val"):
        scene_set = f"wider_{split}"
        atomic_write_text(
            root / "wider_face" / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt",
            wider_annotation_text(faces[faces["set"] == scene_set], images[scene_set]),
        )
    atomic_write_text(
        root / "images_of_groups" / GROUPS_FOLDER / "PersonData.txt",
        person_data_text(faces[faces["set"] == "groups"], images["groups"]),
    )
    buffer = io.BytesIO()
    faces.to_parquet(buffer, index=False)
    atomic_write_bytes(root / GROUND_TRUTH_FILE, buffer.getvalue())
    atomic_write_json(
        manifest_path,
        {"fingerprint": fingerprint, "config": to_dict(config), "complete": True, "faces": len(faces)},
    )
    return faces


@dataclass(frozen=True)
class RenderedSceneSets:
    """What the Kedro node returns and the catalog dataset writes (like the single-face set's recipe)."""

    config: SceneSetConfig
    workers: int = 1
    show_progress: bool = True
    enabled: bool = True

    def write(self, root: str | Path) -> pd.DataFrame | None:
        if not self.enabled:
            return None
        return render_scene_sets(self.config, root, workers=self.workers, show_progress=self.show_progress)
