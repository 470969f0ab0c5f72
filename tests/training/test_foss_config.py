"""``parameters_foss.yml: foss`` as frozen dataclasses, and the detection sets' split selection."""

import re

import pandas as pd
import pytest

from agelab.config import ConfigError
from agelab.training.foss_config import SYNTHETIC, FossConfig, foss_config
from agelab.training.foss_training import detection_split


def test_defaults_follow_the_paper_and_nested_sections_become_dataclasses():
    config = foss_config({"evaluation": {"single_face_age_range": [18, 70]}, "training": {"train_k": 4}})
    assert isinstance(config, FossConfig)
    assert config.evaluation.k == 20  # K = 20 age crops at test time (§4.3)
    assert config.evaluation.single_face_age_range == (18, 70)  # lists become hashable tuples
    assert config.training.train_k == 4 and config.detection_sets == (SYNTHETIC,)


def test_a_misspelt_nested_key_is_refused_with_its_section():
    with pytest.raises(ConfigError, match=r"nms_iuo.*foss\.annotation"):
        foss_config({"annotation": {"nms_iuo": 0.3}})


def test_detection_split_keeps_one_split_and_names_the_missing_file():
    index = pd.DataFrame({"image_path": ["a.jpg", "b.jpg", "c.jpg"], "split_hint": ["train", "val", "train"]})
    assert detection_split(index, "train")["image_path"].tolist() == ["a.jpg", "c.jpg"]
    with pytest.raises(ConfigError, match=r"wider_face_test_bbx_gt\.txt"):
        detection_split(index, "test")


def test_extra_baseline_detectors_are_named_kind_and_up_sampling():
    from agelab.training.foss_config import BaselineConfig, detector_label, detector_spec

    assert detector_spec("mmod:0") == ("mmod", 0)
    assert detector_label("hog:1") == "dlib HOG, up-sampling 1"
    assert BaselineConfig(extra_detectors=("hog:0", "mmod:0")).extra_detectors == ("hog:0", "mmod:0")
    with pytest.raises(ValueError, match=re.escape("'cnn:0' is not '<hog|mmod>:<up-sampling>'")):
        BaselineConfig(extra_detectors=("cnn:0",))


@pytest.mark.parametrize("scale", [0.0, -0.5, 1.5])
def test_an_annotation_image_scale_outside_zero_to_one_is_refused(scale):
    with pytest.raises(ConfigError, match=r"image_scale"):
        foss_config({"annotation": {"image_scale": scale}})


def test_an_annotation_layout_is_canvas_or_a_whole_grid():
    assert foss_config({"annotation": {"image_scale": 0.333, "layout": "grid"}}).annotation.layout == "grid"
    with pytest.raises(ConfigError, match="layout must be 'canvas' or 'grid'"):
        foss_config({"annotation": {"layout": "mosaic"}})
    with pytest.raises(ConfigError, match="needs image_scale 1/g"):
        foss_config({"annotation": {"image_scale": 0.4, "layout": "grid"}})
