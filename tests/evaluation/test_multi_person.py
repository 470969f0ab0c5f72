import numpy as np
import pandas as pd
import pytest
from PIL import Image

from agelab.evaluation.multi_person import (
    DETECTION_COLUMNS,
    Faces,
    detection_average_precision,
    detection_truth_from_index,
    evaluate_group_photos,
)
from agelab.readers import read_dataset

# two val images in WIDER FACE's format: a.jpg holds a 40 px face and a 20 px face flagged invalid (the
# 8th field), b.jpg a 12 px face
WIDER_VAL = """0--Parade/a.jpg
2
10 10 40 40 0 0 0 0 0 0
60 10 20 20 0 0 0 1 0 0
1--Handshaking/b.jpg
1
5 5 12 12 0 0 0 0 0 0
"""


@pytest.fixture
def wider_val(tmp_path):
    (tmp_path / "wider_face_split").mkdir()
    (tmp_path / "wider_face_split" / "wider_face_val_bbx_gt.txt").write_text(WIDER_VAL)
    images = tmp_path / "WIDER_val" / "images"
    for name, (height, width) in {"0--Parade/a.jpg": (100, 120), "1--Handshaking/b.jpg": (64, 64)}.items():
        (images / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(images / name)
    return read_dataset("wider_face", tmp_path).index


def _fixed_detector(pixels: np.ndarray) -> Faces:
    """Stands in for a detector: fixed detections per image, told apart by their width."""
    if pixels.shape[1] == 120:  # a.jpg: the invalid face most confidently, then the 40 px face
        boxes, scores = [[60, 10, 80, 30], [10, 10, 50, 50]], [0.95, 0.9]
    else:  # b.jpg: its 12 px face, then a 10 px false positive
        boxes, scores = [[5, 5, 17, 17], [30, 30, 40, 40]], [0.8, 0.7]
    n = len(scores)
    return Faces(np.array(boxes, float), np.array(scores), np.full(n, np.nan), np.full(n, np.nan))


def test_wider_invalid_flag_becomes_an_ignore_box(wider_val):
    truths = detection_truth_from_index(wider_val)
    assert [t.path.rsplit("/", 1)[-1] for t in truths] == ["a.jpg", "b.jpg"]
    np.testing.assert_array_equal(truths[0].boxes, [[10, 10, 50, 50], [60, 10, 80, 30]])
    assert truths[0].ignore.tolist() == [False, True] and truths[1].ignore.tolist() == [False]


def test_detection_evaluation_over_image_files_ignores_invalid_faces(wider_val):
    result = detection_average_precision(_fixed_detector, detection_truth_from_index(wider_val))
    # scored: 0.9 TP, 0.8 TP, 0.7 FP over 2 valid faces (0.95 is on the invalid face: ignored)
    # p = 1, 1, 2/3 at r = 1/2, 1, 1 → AP 1, recall 1
    assert result["ap"] == pytest.approx(1.0) and result["recall"] == 1.0
    assert (result["faces"], result["ignored_faces"], result["images"]) == (2, 1, 2)
    assert (result["detections"], result["ignored_detections"]) == (3, 1)
    by_size = result["by_size"]
    # small (12 px face, 10 px FP): TP then FP → AP 1; large (40 px face): TP → AP 1; medium: only the
    # invalid 20 px face → nothing to find
    assert by_size["small"]["faces"] == 1 and by_size["small"]["detections"] == 2
    assert by_size["small"]["ap"] == pytest.approx(1.0)
    assert by_size["large"]["faces"] == 1 and by_size["large"]["ap"] == pytest.approx(1.0)
    assert by_size["medium"]["faces"] == 0 and np.isnan(by_size["medium"]["ap"])


def test_group_photos_where_nothing_is_found_still_give_a_readable_detections_table(tmp_path):
    photo = tmp_path / "group.jpg"
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(photo)
    group_index = pd.DataFrame(
        {
            "image_path": [str(photo)],
            "landmarks": ["[[10, 12], [20, 12]]"],
            "age": [30.0],
            "gender": ["m"],
        }
    )

    def finds_nothing(pixels: np.ndarray) -> Faces:
        return Faces(np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.zeros(0))

    metrics, _, detections = evaluate_group_photos(finds_nothing, group_index, 0.3)
    assert metrics["faces"] == 1 and metrics["matched_faces"] == 0
    detections.to_csv(tmp_path / "detections.csv", index=False)
    again = pd.read_csv(tmp_path / "detections.csv")
    assert list(again.columns) == DETECTION_COLUMNS and again.empty
