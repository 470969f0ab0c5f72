"""Video frames in and annotated video out for ``agelab predict`` (PyAV, FFmpeg's libraries in a wheel).

Frames are decoded in order and every ``stride``-th one is kept (frame 0, stride, 2·stride, …) with its time
stamp. The annotated video is written to a temporary file next to the target and renamed when complete, so an
interrupted run leaves no half-written video.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")


class UnreadableVideoError(ValueError):
    pass


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def iter_frames(path: str | Path, stride: int = 1) -> Iterator[tuple[int, float, np.ndarray]]:
    """(frame index, time in seconds, RGB uint8 frame) for every ``stride``-th frame of the video."""
    import av

    if stride < 1:
        raise ValueError(f"frame stride must be at least 1, got {stride}")
    index = -1
    with _open(path) as container:
        if not container.streams.video:
            raise UnreadableVideoError(f"{path}: no video stream")
        stream = container.streams.video[0]
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index % stride == 0:
                    seconds = float(frame.pts * stream.time_base) if frame.pts is not None else index / 25.0
                    yield index, seconds, frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise UnreadableVideoError(f"{path}: decoding failed after frame {index}: {exc}") from None


def frame_rate(path: str | Path) -> float:
    with _open(path) as container:
        if not container.streams.video:
            raise UnreadableVideoError(f"{path}: no video stream")
        rate = container.streams.video[0].average_rate
        return float(rate) if rate else 25.0


def _open(path: str | Path):
    import av

    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise UnreadableVideoError(f"{path}: not a readable video ({exc})") from None


class AnnotatedVideoWriter:
    """Write RGB frames to ``path`` (H.264 in MP4, MPEG-4 Part 2 where libx264 is missing); atomic."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.fps = fps
        self._container = None
        self._stream = None
        self._temporary: str | None = None

    def write(self, frame: np.ndarray) -> None:
        import av

        if self._container is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, self._temporary = tempfile.mkstemp(
                prefix=f".{self.path.stem}.", suffix=".mp4", dir=self.path.parent
            )
            os.close(handle)
            self._container = av.open(self._temporary, mode="w")
            codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
            self._stream = self._container.add_stream(codec, rate=Fraction(self.fps).limit_denominator(1000))
            self._stream.width = frame.shape[1] - frame.shape[1] % 2
            self._stream.height = frame.shape[0] - frame.shape[0] % 2
            self._stream.pix_fmt = "yuv420p"
        frame = frame[: self._stream.height, : self._stream.width]
        for packet in self._stream.encode(
            av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        ):
            self._container.mux(packet)

    def close(self) -> None:
        if self._container is None:
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        os.replace(self._temporary, self.path)
        self._container = None

    def discard(self) -> None:
        if self._container is not None:
            self._container.close()
            Path(self._temporary).unlink(missing_ok=True)
            self._container = None
