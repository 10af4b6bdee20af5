"""Awkward real-world uploads: a single frame, a dim room, a variable frame rate in mkv, a file
named as the user named it. Short clips cut from the real test clip (tests/data/SOURCE.md)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import test_pages
from conftest import write_clip
from test_pages import new_app, upload_and_analyse

from physio_core.annotate import write_annotated_video
from physio_core.pipeline import NoPersonFound, analyze_video
from physio_core.video import VideoError

CLIP = Path(__file__).resolve().parent / "data" / "sports2d_demo.mp4"
app_env = test_pages.app_env  # a fresh data folder and SQLite database for the pages


def clip_frames(n: int, size: int = 320) -> list[np.ndarray]:
    """The first ``n`` frames of the test clip (the man's jumping jacks), ``size`` px square."""
    with av.open(str(CLIP)) as c:
        frames = (f.to_ndarray(format="rgb24", width=size, height=size) for f in c.decode(video=0))
        return [f for _, f in zip(range(n), frames)]


def test_a_single_frame_video_is_refused_in_one_line(tmp_path):
    """A still saved as a video has no movement to analyse; its report's frame slider (0 to 0)
    broke the page."""
    clip = write_clip(tmp_path / "still.mp4", clip_frames(1))
    with pytest.raises(VideoError, match=r"^'Photo of Ann\.mp4' is too short to analyse: it holds a single frame"):
        analyze_video(clip, parallel=False, source="Photo of Ann.mp4")


def test_a_single_frame_upload_is_said_and_the_page_keeps_working(app_env):
    at = new_app()
    upload_and_analyse(at, "still.mp4", write_clip(app_env.parent / "still.mp4", clip_frames(1)).read_bytes())
    assert [e.value for e in at.error] == [
        "This file cannot be analysed: 'still.mp4' is too short to analyse: it holds a single frame. "
        "Film the whole exercise, a few seconds at least."]
    assert "upload_result" not in at.session_state
    assert not list((app_env / "uploads").iterdir())  # the video is not kept


def test_a_file_that_is_no_video_is_named_as_it_was_uploaded(app_env):
    """The server stores an upload under a fresh name ("3f9c0a1b2d4e_notes.mp4"): the message
    names the file the user picked."""
    at = new_app()
    upload_and_analyse(at, "Übung – Kniebeuge.mp4", b"not a video, a shopping list\n" * 50)
    errors = [e.value for e in at.error]
    assert errors == ["This file cannot be analysed: 'Übung – Kniebeuge.mp4' is not a readable video "
                      "(it is damaged or not a video format)."], errors


def test_a_dim_video_is_analysed(tmp_path):
    """An evening's or a dim gym's video (here the clip at 30 % of its light, the man still plain to
    see): the pose model found nobody in it."""
    dim = [(f * 0.3).astype(np.uint8) for f in clip_frames(45)]
    result = analyze_video(write_clip(tmp_path / "dim.mp4", dim), parallel=False)
    assert result.frames_with_person >= 0.8 * result.frames == 0.8 * 45
    # the annotated video shows the frames as they were filmed, not brightened
    made = write_annotated_video(tmp_path / "dim.mp4", result, tmp_path / "dim_annotated.mp4")
    with av.open(str(made.path)) as c:
        last = list(c.decode(video=0))[-1].to_ndarray(format="rgb24")
    assert made.frames == 45 and np.percentile(last, 50) < 0.45 * np.percentile(clip_frames(45)[-1], 50)


def _write_vfr_mkv(dst: Path, frames: list[np.ndarray], times: np.ndarray) -> Path:
    """A phone's or screen recorder's variable frame rate, in an mkv: its header gives the
    duration, not the frames; the nominal rate is 30 fps."""
    tb = Fraction(1, 1000)
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = tb
        for rgb, t in zip(frames, times):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = int(round(t / tb)), tb
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def test_a_whole_variable_frame_rate_mkv_is_not_called_cut(tmp_path):
    """Frames dropped now and then (1/15 s instead of 1/30): the header's 3 s at 30 fps made 90
    frames "announced", and the 60 read were said to be a damaged or cut file."""
    gaps = np.where(np.arange(59) % 2 == 0, 1 / 15, 1 / 30)
    times = np.concatenate([[0.0], np.cumsum(gaps)])
    clip = _write_vfr_mkv(tmp_path / "phone.mkv", clip_frames(60), times)
    result = analyze_video(clip, parallel=False)
    assert result.frames == 60
    assert np.allclose(result.pose.times, times, atol=2e-3)
    assert not [w for w in result.warnings if "could be read" in w], result.warnings


def test_a_cut_mkv_is_still_said_to_miss_its_end(tmp_path):
    """The other side: an mkv whose second half is gone (a transfer cut short) is reported."""
    clip = _write_vfr_mkv(tmp_path / "whole.mkv", clip_frames(60), np.arange(60) / 30)
    data = clip.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    result = analyze_video(cut, parallel=False)
    assert result.frames < 45
    assert any("could be read (damaged or cut file)" in w for w in result.warnings), result.warnings


def test_a_picture_too_small_to_find_anyone_in_is_said_to_be(tmp_path):
    """A thumbnail-sized export (here the man filling a 100×76 picture): "well lit, a third of the
    picture's height" was all the message said, and he was both."""
    with av.open(str(CLIP)) as c:
        crop = [f.to_ndarray(format="rgb24")[0:360, 90:570] for _, f in zip(range(20), c.decode(video=0))]
    tiny = [av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24").reformat(
        width=100, height=76, interpolation="AREA").to_ndarray() for f in crop]
    with pytest.raises(NoPersonFound, match=r"The picture is only 100×76 pixels, too few to find a body in"):
        analyze_video(write_clip(tmp_path / "thumb.mp4", tiny), parallel=False)
    # a picture of a good size says nothing of the kind
    with pytest.raises(NoPersonFound) as nobody:
        analyze_video(write_clip(tmp_path / "empty.mp4", [np.full((240, 320, 3), 90, np.uint8)] * 10),
                      parallel=False)
    assert "pixels" not in str(nobody.value)
