"""``agelab predict`` on video files: every N-th frame, frame numbers and times in the table, an annotated
video written whole or not at all, and a broken video reported without stopping the run."""

import av
import numpy as np
import pandas as pd
import pytest
import skimage.data
import torch

from agelab.command_line import main
from agelab.inference.video import UnreadableVideoError, iter_frames
from agelab.models.alexnet import appearance_subnet
from agelab.models.bundle import ModelBundle

FRAMES = 7


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A 7-frame, 5 fps MP4 of the astronaut photo (a real face) drifting to the right."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    photo = skimage.data.astronaut()[:384, :384]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 384, 384, "yuv420p"
        for k in range(FRAMES):
            frame = np.roll(photo, 4 * k, axis=1)
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            ):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    torch.manual_seed(0)
    kwargs = {"min_age": 0, "max_age": 80, "pretrained_weights": None, "dropout": 0.5, "head_dropout": 0.0}
    bundle = ModelBundle("appearance_subnet", kwargs, appearance_subnet(0, 80).state_dict(), 128, 0.2, 112)
    path = tmp_path_factory.mktemp("model") / "appearance_subnet.pt"
    bundle.save(path)
    return path


def test_frames_are_taken_every_stride_with_their_times(video):
    taken = [(index, round(seconds, 2)) for index, seconds, _ in iter_frames(video, 3)]
    assert taken == [(0, 0.0), (3, 0.6), (6, 1.2)]
    with pytest.raises(ValueError, match="stride"):
        next(iter_frames(video, 0))


def test_predict_on_a_video_and_a_broken_one(video, model_path, tmp_path, capsys):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    output = tmp_path / "ages.csv"
    code = main(
        [
            "predict",
            str(video),
            str(broken),
            "--model",
            str(model_path),
            "--frame-stride",
            "2",
            "--output",
            str(output),
            "--annotate",
            str(tmp_path / "annotated"),
        ]
    )
    assert code == 0
    table = pd.read_csv(output)
    assert sorted(table["frame"].unique()) == [0, 2, 4, 6]
    assert (table["face"] >= 0).all()  # dlib finds the astronaut in every frame taken
    assert table["time_s"].tolist() == pytest.approx([0.0, 0.4, 0.8, 1.2])
    assert table["box_x0"].is_monotonic_increasing  # the face drifts right
    assert "broken.mp4" in capsys.readouterr().err
    annotated = tmp_path / "annotated" / "clip.annotated.mp4"
    assert len(list(iter_frames(annotated))) == 4
    assert [p.name for p in (tmp_path / "annotated").iterdir()] == ["clip.annotated.mp4"]  # no leftovers


def test_a_broken_video_raises_a_clear_error(tmp_path):
    broken = tmp_path / "broken.mov"
    broken.write_bytes(b"not a video")
    with pytest.raises(UnreadableVideoError, match=r"broken\.mov"):
        list(iter_frames(broken))
