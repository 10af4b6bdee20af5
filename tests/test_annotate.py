"""The annotated video: the analysed clip with its skeleton, angles, rep count and verdicts drawn."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from physio_core.annotate import draw_result_frame, frame_index_at, hud_lines, write_annotated_video
from physio_core.overlay import LEFT_RGB, RIGHT_RGB
from physio_core.pipeline import analyze_video
from physio_core.skeleton import J
from physio_core.video import VideoError, VideoReader

CLIP = Path(__file__).resolve().parent / "data" / "sports2d_demo.mp4"


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    result = analyze_video(CLIP)
    out = tmp_path_factory.mktemp("annotated") / "clip.mp4"
    made = write_annotated_video(CLIP, result, out)
    return result, made


def _decoded(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(c.streams.video[0])]


def _bone_colour(rgb: np.ndarray, kp: np.ndarray, a: int, b: int) -> np.ndarray:
    """Median colour of the 3×3 pixels around the middle of bone a–b."""
    x, y = np.round((kp[a] + kp[b]) / 2).astype(int)
    return np.median(rgb[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3), axis=0)


def test_every_analysed_frame_is_written_at_its_time(analysed):
    result, made = analysed
    frames = _decoded(made.path)
    assert (made.frames, made.fps, made.width, made.height) == (230, 30.0, 640, 640)
    assert len(frames) == result.frames == 230
    np.testing.assert_allclose([t for t, _ in frames], result.pose.times, atol=1e-3)
    assert frames[0][1].shape == (640, 640, 3)


def test_the_skeleton_is_drawn_where_the_analysis_found_it(analysed):
    """On frames with the jumper, the middle of each shin is painted in its side's colour in the
    annotated video and is not that colour in the source frame."""
    result, made = analysed
    frames = _decoded(made.path)
    raw = [f.rgb for f in VideoReader(CLIP, max_side=640, threaded=False)]
    checked = 0
    for i in range(0, 120, 10):
        if not result.pose.valid[i] or result.pose.confidence[i, [J.L_KNEE, J.L_ANKLE, J.R_KNEE, J.R_ANKLE]].min() < 0.3:
            continue
        kp = result.pose.keypoints_2d[i]
        for (a, b), colour in (((J.L_KNEE, J.L_ANKLE), LEFT_RGB), ((J.R_KNEE, J.R_ANKLE), RIGHT_RGB)):
            drawn = _bone_colour(frames[i][1], kp, a, b)
            before = _bone_colour(raw[i], kp, a, b)
            assert np.abs(drawn - colour).max() < 40, (i, drawn, colour)
            assert np.abs(before - colour).max() > 40, (i, before, colour)
        checked += 1
    assert checked >= 8


def test_the_corner_counts_the_reps_as_they_end(analysed):
    result, _ = analysed
    first, second = result.reps[:2]
    assert hud_lines(result, first.end_frame - 1, float(result.pose.times[first.end_frame - 1]))[0] == "Reps: 0"
    assert hud_lines(result, first.end_frame, float(result.pose.times[first.end_frame]))[0] == "Reps: 1"
    assert hud_lines(result, second.end_frame, float(result.pose.times[second.end_frame]))[0] == "Reps: 2"
    assert hud_lines(result, None, result.reps[-1].end_s + 1.0)[0] == f"Reps: {result.rep_count}"
    gone = int(np.flatnonzero(~result.pose.valid)[0])
    assert hud_lines(result, gone, float(result.pose.times[gone]))[-1] == "no person"


def test_a_judged_rep_shows_its_verdict_for_two_seconds(assessed_squat_result):
    result = assessed_squat_result
    verdicts = {a["rep"]: a["mistake"] for a in result.rep_assessments}
    for rep in result.reps:
        shown = hud_lines(result, None, rep.end_s + 0.5)
        assert shown[0] == f"Reps: {rep.index}" and f"Rep {rep.index}: {verdicts[rep.index]}" in shown
        assert f"Rep {rep.index}: {verdicts[rep.index]}" not in hud_lines(result, None, rep.end_s + 2.5)


def test_frames_match_the_analysis_by_time(analysed):
    """A live recording's frames do not fall on the analysed times: each shows the last analysed
    frame before it, and none where the analysis has a gap or has not started."""
    result, _ = analysed
    times = result.pose.times
    assert frame_index_at(result, float(times[5])) == 5
    assert frame_index_at(result, float(times[5]) + 0.4 / 30) == 5
    assert frame_index_at(result, float(times[0]) - 0.01) is None
    assert frame_index_at(result, float(times[-1]) + 0.2) is None
    rgb = np.zeros((640, 640, 3), np.uint8)
    assert draw_result_frame(rgb, result, None, 9.0)[:100, :250].any()  # the corner lines only
    assert not draw_result_frame(rgb, result, None, 9.0)[300:, 300:].any()


def test_an_unreadable_video_is_a_clear_error(analysed, tmp_path):
    result, _ = analysed
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(CLIP.read_bytes()[:3000])
    with pytest.raises(VideoError):
        write_annotated_video(bad, result, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob("*.part"))
