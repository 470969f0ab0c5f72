import pytest

from agelab.faces.detection import LANDMARKS_48
from agelab.faces.landmark_schemes import FGNET_68, IBUG_68, PointCorrespondence, correspondence_for


def test_fgnet_points_name_distinct_ibug_points_the_3d_subnet_projects():
    assert len(FGNET_68.annotated) == len(set(FGNET_68.annotated)) == 22
    assert len(set(FGNET_68.ibug)) == 22 and set(FGNET_68.ibug) <= set(LANDMARKS_48)
    assert all(0 <= i < 68 for i in FGNET_68.annotated)
    pairs = dict(zip(FGNET_68.annotated, FGNET_68.ibug, strict=True))
    # eye corners, nose tip, mouth corners (FG-NET markup -> iBUG 300-W)
    assert {27: 36, 29: 39, 34: 42, 32: 45, 67: 30, 48: 48, 54: 54}.items() <= pairs.items()
    assert FGNET_68.outer_eye_corners == (27, 32) and pairs[27] == 36 and pairs[32] == 45
    assert IBUG_68.outer_eye_corners == (36, 45) and IBUG_68.ibug == IBUG_68.annotated == LANDMARKS_48


def test_each_dataset_gets_its_markup_and_a_mismatched_correspondence_is_refused():
    assert correspondence_for("fgnet") is FGNET_68
    assert correspondence_for("synthetic") is IBUG_68
    with pytest.raises(ValueError, match="2 annotated points for 1"):
        PointCorrespondence("bad", (1, 2), (3,), (0, 1))
