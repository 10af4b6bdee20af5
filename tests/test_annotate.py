"""The annotated video: the analysed clip with its skeleton, angles, rep count and verdicts drawn."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from physio_core.annotate import draw_result_frame, frame_index_at, hud_corner, hud_lines, write_annotated_video
from physio_core.overlay import LEFT_RGB, RIGHT_RGB
from physio_core.pipeline import analyze_video
from physio_core.skeleton import BONES, J
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
        shins = [J.L_KNEE, J.L_ANKLE, J.R_KNEE, J.R_ANKLE]
        if not result.pose.valid[i] or result.pose.confidence[i, shins].min() < 0.3:
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

    def corner(i: int) -> list[str]:
        return hud_lines(result, i, float(result.pose.times[i]))

    assert corner(first.end_frame - 1)[0] == "Reps: 0"
    assert corner(first.end_frame)[0] == "Reps: 1"
    assert corner(second.end_frame)[0] == "Reps: 2"
    assert hud_lines(result, None, result.reps[-1].end_s + 1.0)[0] == f"Reps: {result.rep_count}"
    gone = int(np.flatnonzero(~result.pose.valid)[0])
    assert corner(gone)[-1] == "no person"


def test_a_judged_rep_shows_its_verdict_for_two_seconds(assessed_squat_result):
    result = assessed_squat_result
    verdicts = {a["rep"]: a["mistake"] for a in result.rep_assessments}
    for rep in result.reps:
        shown = hud_lines(result, None, rep.end_s + 0.5)
        assert shown[0] == f"Reps: {rep.index}" and f"Rep {rep.index}: {verdicts[rep.index]}" in shown
        assert f"Rep {rep.index}: {verdicts[rep.index]}" not in hud_lines(result, None, rep.end_s + 2.5)


def test_an_incorrect_rep_says_its_correction(assessed_squat_result):
    """A rep judged incorrect says its correction a joint a line: under the correction's legend
    while its corrected pose is drawn, and under its verdict when it has ended; a correct rep
    says none."""
    from physio_core.correction_cue import said_moves

    result = assessed_squat_result
    rows = {a["rep"]: a for a in result.rep_assessments}
    bad = next(r for r in result.reps if rows[r.index].get("correction"))
    good = next(r for r in result.reps if rows[r.index]["mistake"] == "correct")
    words = said_moves(rows[bad.index]["correction"])
    assert words and not any("into the rep" in w for w in words)

    def shown(t: float, correcting: int | None = None) -> list[str]:
        return hud_lines(result, frame_index_at(result, t), t, correcting=correcting)[2:]

    assert shown(bad.end_s + 0.5) == [f"Rep {bad.index}: incorrect", *words]
    assert shown((bad.start_s + bad.end_s) / 2, correcting=bad.index)[-len(words) - 1:] == ["green: correction", *words]
    assert shown(good.end_s + 0.5) == [f"Rep {good.index}: correct"]


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
    assert draw_result_frame(rgb, result, None, 9.0, corner="top-left")[:100, :250].any()  # the lines only
    assert not draw_result_frame(rgb, result, None, 9.0, corner="top-left")[300:, 300:].any()


def test_an_unreadable_video_is_a_clear_error(analysed, tmp_path):
    result, _ = analysed
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(CLIP.read_bytes()[:3000])
    with pytest.raises(VideoError):
        write_annotated_video(bad, result, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob("*.part"))


def _filmed(result, yaw_deg: float = 25.0, drift_px: float = 0.0):
    """``result`` as a camera would have seen it: 2D keypoints from a known (scaled orthographic,
    turned) camera, as the pose backends give them beside the 3D joints. ``drift_px``: the
    athlete sways that far left and right in the picture (the 3D joints are pelvis-centred)."""
    from dataclasses import replace

    from physio_core.skeleton import PoseSequence

    a = np.radians(yaw_deg)
    turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    p = result.pose
    sway = drift_px * np.sin(np.arange(len(p)) / 40)

    def camera(joints: np.ndarray, frame: int | None = None) -> np.ndarray:
        """Keypoints of ``joints``: a whole sequence's, or one pose's seen on ``frame``."""
        x = joints @ turn.T
        shift = sway[:, None] if frame is None else sway[frame]
        return np.stack([320 + shift + 220 * x[..., 0], 360 - 220 * x[..., 1]], axis=-1)

    seen = PoseSequence(p.joints, p.confidence, p.times, p.fps, p.root, camera(p.joints))
    return replace(result, pose=seen), camera


def test_an_incorrect_rep_shows_its_correction_where_the_athlete_stands(assessed_squat_result):
    """In a rep judged incorrect the corrected pose is projected through the camera fitted on the
    athlete's own keypoints: it lands where the true camera puts it, green, and the athlete's
    joints that are more than 8 cm off are marked red. Correct reps draw no correction."""
    from physio_core.annotate import CORRECTION_RGB, WRONG_RGB, correction_at

    result, camera = _filmed(assessed_squat_result, drift_px=40.0)
    verdicts = {a["rep"]: a["mistake"] for a in result.rep_assessments}
    bad = next(r for r in result.reps if verdicts[r.index] == "incorrect")
    good = next(r for r in result.reps if verdicts[r.index] == "correct")
    assert correction_at(result, (good.start_frame + good.end_frame) // 2) is None

    fixed = result.corrected_poses[bad.index]
    k = int(np.argmax(np.linalg.norm(result.pose.joints[bad.start_frame : bad.start_frame + len(fixed)]
                                     - fixed.joints, axis=-1).max(axis=1)))  # where it is most off
    i = bad.start_frame + k
    fix = correction_at(result, i)
    assert fix is not None
    np.testing.assert_allclose(fix.keypoints_2d, camera(fixed.joints[k], i), atol=0.5)
    off = np.linalg.norm(result.pose.joints[i] - fixed.joints[k], axis=1)
    assert fix.wrong.tolist() == (off > 0.08).tolist() and fix.wrong.any()

    img = draw_result_frame(np.zeros((720, 640, 3), np.uint8), result, i, float(result.pose.times[i]))
    red = (np.abs(img.astype(int) - WRONG_RGB).max(axis=-1) < 30)
    marked = [red[y - 4 : y + 5, x - 4 : x + 5].any()
              for x, y in np.round(result.pose.keypoints_2d[i, fix.wrong]).astype(int)]
    assert all(marked), marked  # a red dot on each of the athlete's joints that are off
    assert red.sum() <= fix.wrong.sum() * np.pi * 7.5**2  # and nothing else: dots of radius 7, not bones
    mids = [np.round((fix.keypoints_2d[a] + fix.keypoints_2d[b]) / 2).astype(int) for a, b in BONES]
    green = [np.abs(img[y, x].astype(int) - CORRECTION_RGB).max() < 30 for x, y in mids]
    assert np.mean(green) >= 0.8, green  # the correction's bones, where the camera puts them


def test_the_correction_keeps_still_when_the_3d_joints_are_noisy(assessed_squat_result):
    """Monocular 3D joints are noisy from frame to frame (here 2 cm per coordinate) while the
    2D keypoints are sharp (1 px), and the athlete sways 60 px left and right. The correction
    must stay where the true camera puts it and not shake: its camera is fitted over the whole
    rep, only where the athlete stands is fitted per frame. (Fitted per frame, the error was
    2.5 px on average and changed by 3.5 px from one frame to the next.)"""
    from dataclasses import replace

    from physio_core.annotate import correction_at
    from physio_core.skeleton import PoseSequence

    result, camera = _filmed(assessed_squat_result, drift_px=60.0)
    rng = np.random.default_rng(0)
    p = result.pose
    noisy = PoseSequence(p.joints + rng.normal(scale=0.02, size=p.joints.shape), p.confidence, p.times, p.fps,
                         p.root, p.keypoints_2d + rng.normal(scale=1.0, size=p.keypoints_2d.shape))
    result = replace(result, pose=noisy)
    verdicts = {a["rep"]: a["mistake"] for a in result.rep_assessments}
    errors, changes = [], []
    for rep in (r for r in result.reps if verdicts[r.index] == "incorrect"):
        fixed, previous = result.corrected_poses[rep.index], None
        for k in range(min(len(fixed), rep.end_frame - rep.start_frame + 1)):
            fix = correction_at(result, rep.start_frame + k)
            error = fix.keypoints_2d - camera(fixed.joints[k], rep.start_frame + k)
            errors.append(np.linalg.norm(error, axis=1).mean())
            if previous is not None:
                changes.append(np.linalg.norm(error - previous, axis=1).mean())
            previous = error
    assert len(errors) > 100
    assert np.mean(errors) < 1.8 and np.mean(changes) < 2.4, (np.mean(errors), np.mean(changes))


def test_no_correction_without_a_camera_to_fit(assessed_squat_result):
    """Kinect recordings have no 2D keypoints: nothing to project the correction through."""
    from physio_core.annotate import correction_at

    result = assessed_squat_result
    assert result.pose.keypoints_2d is None
    assert all(correction_at(result, i) is None for i in range(len(result.pose)))


def test_the_corner_lines_go_where_they_cover_the_athlete_least(analysed):
    """The real clip's athlete moved about the frame: the corner lines go to the first corner
    (top-left, top-right, bottom-left, bottom-right) where they cover none of the athlete's
    keypoints, and stay top-left when the athlete is centred."""
    import dataclasses

    result, _ = analysed
    kp = result.pose.keypoints_2d
    size = 640
    lo, hi = np.nanmin(kp.reshape(-1, 2), axis=0), np.nanmax(kp.reshape(-1, 2), axis=0)
    unit = (kp - lo) / (hi - lo)  # the athlete's keypoints over the clip, in [0, 1]

    def placed(x0: float, y0: float, width: float, height: float):
        """The same analysis with the athlete's keypoints filling that part of the frame."""
        moved = (x0 + width * unit[..., :1]) * size, (y0 + height * unit[..., 1:]) * size
        pose = dataclasses.replace(result.pose, keypoints_2d=np.concatenate(moved, axis=-1))
        return dataclasses.replace(result, pose=pose)

    frame = np.zeros((size, size, 3), np.uint8)
    for where, wanted in (((0.25, 0.25, 0.5, 0.5), "top-left"),  # centred: the usual place
                          ((0.0, 0.0, 0.55, 0.55), "top-right"),
                          ((0.0, 0.0, 1.0, 0.55), "bottom-left"),
                          ((0.0, 0.0, 0.55, 1.0), "top-right"),
                          ((0.45, 0.0, 0.55, 0.55), "top-left")):
        moved = placed(*where)
        corner = hud_corner(moved, frame.shape)
        assert corner == wanted, (where, corner)
        i = int(np.flatnonzero(moved.pose.valid)[0])
        drawn = draw_result_frame(frame, moved, None, float(moved.pose.times[i]))
        ys, xs = np.nonzero(drawn.any(axis=2))
        assert ((xs < size / 2) == corner.endswith("left")).all()
        assert ((ys < size / 2) == corner.startswith("top")).all()
        # no keypoint of the session under the lines
        pts = moved.pose.keypoints_2d[moved.pose.valid].reshape(-1, 2)
        under = ((pts[:, 0] >= xs.min()) & (pts[:, 0] <= xs.max())
                 & (pts[:, 1] >= ys.min()) & (pts[:, 1] <= ys.max()))
        assert not under.any(), (where, corner)


def test_live_corner_lines_move_away_from_the_athlete_without_hopping():
    """Live frames come one at a time: the lines leave a corner the athlete stays in, go to a
    clear one, and stay there at least dwell_s; a centred athlete or nobody never moves them."""
    from physio_core.overlay import HudPlacer, hud_covered

    shape, lines = (480, 640, 3), ["Reps: 3", "Step back: your feet are not in view"]
    rng = np.random.default_rng(0)

    def athlete(x0: float, y0: float) -> np.ndarray:  # 19 keypoints in a 200 x 300 px box
        return np.array([x0, y0]) + rng.uniform(0, 1, (19, 2)) * [200, 300]

    def run(where, seconds: float, placer: HudPlacer, t0: float = 0.0) -> list[tuple[float, str]]:
        return [(t0 + k / 30, placer.update(where(), shape, lines, t0 + k / 30))
                for k in range(int(seconds * 30))]

    centred = HudPlacer()
    assert {c for _, c in run(lambda: athlete(220, 90), 5.0, centred)} == {"top-left"}
    nobody = HudPlacer()
    assert {c for _, c in run(lambda: None, 5.0, nobody)} == {"top-left"}

    placer = HudPlacer()
    first = run(lambda: athlete(0, 0), 1.0, placer)  # framed high on the left
    assert first[0][1] == "top-right" and {c for _, c in first} == {"top-right"}
    moved = run(lambda: athlete(440, 0), 4.0, placer, t0=1.0)  # walks over to the right
    early = [c for t, c in moved if t < 3.0 - 1e-9]
    assert set(early) == {"top-right"}  # three seconds at least in a corner
    later = {c for t, c in moved if t >= 3.2}
    assert len(later) == 1 and later != {"top-right"}
    corner = later.pop()
    assert hud_covered(athlete(440, 0), shape, lines)[["top-left", "top-right", "bottom-left",
                                                       "bottom-right"].index(corner)] == 0
