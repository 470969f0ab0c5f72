"""dlib face detection and 68-point landmarks (the paper's §4 cleaning and landmark source).

Detectors: ``hog`` (dlib's frontal HOG + linear SVM, the default: fast on CPU) and ``mmod`` (dlib's CNN,
far slower on CPU). The shape predictor loads once per process, a detector once per thread.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np

from agelab.faces.dlib_models import MMOD_DETECTOR, SHAPE_PREDICTOR_68, model_path

#: 68-point indices kept for the landmark loss (Eq. 8): 48 of dlib's 68 points.
#: Dropped: the 17 jaw-contour points 0–16 (they trace the silhouette, which slides over the face
#: surface as the head turns, so no fixed mesh vertex corresponds to them); point 27, the top of the
#: nose bridge (between the brows, weakly localised by dlib); and the inner mouth corners 60 and 64
#: (within a pixel of the outer corners 48 and 54 on a closed mouth, they would double-weight them).
LANDMARKS_48 = tuple(i for i in range(68) if i >= 17 and i not in (27, 60, 64))
assert len(LANDMARKS_48) == 48

#: dlib index of each point's mirror image (the point that takes its place when the face is flipped).
MIRROR_68 = (
    list(range(16, -1, -1))  # jaw
    + list(range(26, 21, -1))  # brows
    + list(range(21, 16, -1))
    + [27, 28, 29, 30]  # nose bridge
    + [35, 34, 33, 32, 31]  # nostrils
    + [45, 44, 43, 42, 47, 46]  # eyes
    + [39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lips
    + [64, 63, 62, 61, 60, 67, 66, 65]  # inner lips
)
assert sorted(MIRROR_68) == list(range(68))


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
    score: float


_per_thread = threading.local()


def _detector(kind: str):
    """This thread's detector of ``kind``. One dlib detector object used by two threads at once crashes the
    process (a segmentation fault in ``run``: the HOG pyramid scan keeps scratch buffers in the object), as a
    server answering concurrent requests does, so each thread loads its own (the HOG model is a few hundred
    kB, MMOD's 0.7 MB). The shape predictor is only read and is shared (tests/faces/test_detection.py)."""
    detectors = _per_thread.__dict__.setdefault("detectors", {})
    if kind not in detectors:
        import dlib

        if kind == "hog":
            detectors[kind] = dlib.get_frontal_face_detector()
        elif kind == "mmod":
            detectors[kind] = dlib.cnn_face_detection_model_v1(str(model_path(MMOD_DETECTOR)))
        else:
            raise ValueError(f"unknown detector {kind!r}: use 'hog' or 'mmod'")
    return detectors[kind]


@functools.lru_cache(maxsize=1)
def _shape_predictor():
    import dlib

    return dlib.shape_predictor(str(model_path(SHAPE_PREDICTOR_68)))


def detect_faces(
    image: np.ndarray, detector: str = "hog", upsample: int = 0, min_score: float = 0.0
) -> list[Detection]:
    """Faces in an RGB uint8 image scoring above ``min_score``, most confident first (a negative
    ``min_score`` lowers the HOG detector's threshold: more, less certain faces, for precision-recall)."""
    found = []
    if detector == "hog":
        boxes, scores, _ = _detector("hog").run(np.ascontiguousarray(image), upsample, min(min_score, 0.0))
        for rect, score in zip(boxes, scores, strict=True):
            found.append(
                Detection((rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1), float(score))
            )
    else:
        for det in _detector(detector)(np.ascontiguousarray(image), upsample):
            r = det.rect
            found.append(Detection((r.left(), r.top(), r.right() + 1, r.bottom() + 1), float(det.confidence)))
    return sorted((d for d in found if d.score > min_score), key=lambda d: -d.score)


def landmarks_68(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """dlib's 68 landmarks ``(68, 2)`` in pixel coordinates for the face in ``box``."""
    import dlib

    x0, y0, x1, y1 = (round(v) for v in box)
    shape = _shape_predictor()(np.ascontiguousarray(image), dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def largest(detections: list[Detection]) -> Detection | None:
    if not detections:
        return None
    return max(detections, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))
