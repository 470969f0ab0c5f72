import json

from agelab.readers import read_dataset


def test_synthetic_reader_joins_ground_truth(synthetic_set):
    result = read_dataset("synthetic", synthetic_set)
    index = result.index
    assert len(index) == 24 + 2  # duplicates are separate files
    assert index["subject_id"].ne("").all()
    assert index[["box_x0", "box_y0", "box_x1", "box_y1"]].notna().all().all()
    landmarks = json.loads(index["landmarks"].iloc[0])
    assert len(landmarks) == 68
    attributes = json.loads(index["attributes"].iloc[0])
    assert {"yaw", "delta", "omega", "expression_extremeness"} <= set(attributes)
