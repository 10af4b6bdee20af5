"""The recorded-video pipeline end to end on a real clip (tests/data/SOURCE.md): a man doing
jumping jacks, then a flip, while a woman walks through the picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fractions import Fraction

from conftest import write_anamorphic_clip, write_clip, write_interlaced_clip, write_phone_clip
from physio_core.kinematics import ANGLE_NAMES
from physio_core.pipeline import (
    FrameAnalyzer,
    NoPersonFound,
    analyze_video,
    finish_sequence,
    smooth_sequence,
    time_spans,
)
from physio_core.pose.embedded import EmbeddedPoseEstimator
from physio_core.skeleton import J
from physio_core.video import VideoReader

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "data" / "sports2d_demo.mp4"
JUMPING = slice(0, 80)  # frames of the two jumping jacks


@pytest.fixture(scope="module")
def progress_calls() -> list[float]:
    return []


@pytest.fixture(scope="module")
def result(progress_calls):
    return analyze_video(CLIP, progress=progress_calls.append)


def test_counts_and_backend(result):
    assert result.frames == 230
    assert result.fps == pytest.approx(30.0)
    assert result.backend == "mediapipe"
    assert result.source == "sports2d_demo.mp4"
    assert 150 <= result.frames_with_person <= 230
    assert result.frames_with_person == int(result.pose.valid.sum())
    # the jumper is on screen and found in (nearly) every frame of the first five seconds
    assert result.pose.valid[:150].mean() >= 0.95
    np.testing.assert_allclose(np.diff(result.pose.times), 1 / 30, atol=1e-3)
    assert result.ended_at > result.started_at


def test_angles_are_finite_and_plausible(result):
    a = result.angles
    assert a.names == ANGLE_NAMES and a.values.shape == (230, 23)
    valid = result.pose.valid.copy()
    # anatomical ranges hold while he stands and jumps; the back flip after ~3.7 s is excluded
    valid[110:] = False
    for name, lo, hi in [
        ("knee_angle_r", -20, 165), ("knee_angle_l", -20, 165),
        ("elbow_flexion_r", -20, 180), ("elbow_flexion_l", -20, 180),
        ("hip_flexion_r", -60, 150), ("hip_flexion_l", -60, 150),
        ("shoulder_abduction_r", -40, 200), ("shoulder_abduction_l", -40, 200),
    ]:
        v = a[name][valid]
        assert np.isfinite(v).mean() > 0.9, name
        f = v[np.isfinite(v)]
        assert lo <= f.min() and f.max() <= hi, (name, f.min(), f.max())
    assert np.isnan(a.values[~result.pose.valid]).all()  # nothing invented where nobody was


def test_jumping_jacks_swing_both_arms(result):
    for side in "rl":
        abd = result.angles[f"shoulder_abduction_{side}"][JUMPING]
        assert np.nanmin(abd) < 40, side  # arms down by the sides
        assert np.nanmax(abd) > 120, side  # arms overhead
        knee = result.angles[f"knee_angle_{side}"][JUMPING]
        assert np.nanmax(knee) < 90  # jumping jacks: legs stay fairly straight


def test_two_jumping_jack_reps_are_found(result):
    assert result.rep_count >= 2
    first, second = result.reps[:2]
    assert first.angle.startswith("shoulder_abduction")  # arms out sideways; flexion leaps its gaps
    for rep in (first, second):
        assert 0.2 <= rep.start_s < rep.end_s <= 2.7
        assert rep.rom_deg > 100
        assert 0.5 < rep.duration_s < 1.5  # about one jumping jack a second
    assert first.end_s <= second.start_s


def test_the_other_person_is_reported_not_followed(result):
    # the woman walking through the picture is never taken for the jumper: the 2D skeleton
    # does not teleport between consecutive frames
    kp = result.pose.keypoints_2d
    valid = np.flatnonzero(result.pose.valid)
    steps = [np.nanmedian(np.linalg.norm(kp[j] - kp[i], axis=1))
             for i, j in zip(valid[:-1], valid[1:]) if j == i + 1]
    assert max(steps) < 100  # pixels on a 640 px frame
    assert any("person" in w.lower() for w in result.warnings), result.warnings


def test_portrait_phone_clip_is_analysed_upright(result, tmp_path):
    """The two jumping jacks as a phone stores a portrait clip (frames turned, display matrix):
    the skeleton stands upright and the same reps are found as in the upright clip."""
    upright = [f.rgb[:, 120:600] for f in VideoReader(CLIP, max_side=None, threaded=False)
               if f.index < JUMPING.stop]
    phone = analyze_video(write_phone_clip(tmp_path / "portrait.mp4", upright))
    assert phone.pose.valid.mean() >= 0.95
    joints = phone.pose.joints[phone.pose.valid]
    assert (joints[:, J.HEAD, 1] - joints[:, J.R_ANKLE, 1] > 1.0).all()  # +Y up: head over feet
    assert phone.rep_count >= 2
    first = phone.reps[0]
    assert first.angle.startswith("shoulder_abduction") and first.rom_deg > 100  # flexion leaps its gaps
    assert abs(first.start_s - result.reps[0].start_s) < 0.2


def _body_width_to_height(pose, frames: slice) -> float:
    """Median (hip width + shoulder width) / trunk height of the 2D keypoints, in pixels."""
    kp = pose.keypoints_2d[frames][pose.valid[frames]]
    width = (np.abs(kp[:, J.L_HIP, 0] - kp[:, J.R_HIP, 0])
             + np.abs(kp[:, J.L_SHOULDER, 0] - kp[:, J.R_SHOULDER, 0]))
    return float(np.median(width / np.abs(kp[:, J.NECK, 1] - kp[:, J.PELVIS, 1])))


def test_camcorder_clip_with_non_square_pixels_keeps_its_proportions(result, tmp_path):
    """The jumping jacks stored as an HDV camcorder does (pixels 4:3 wide, picture squeezed):
    the body keeps its proportions, so its angles are those of the square-pixel clip."""
    frames = [f.rgb for f in VideoReader(CLIP, max_side=None, threaded=False) if f.index < JUMPING.stop]
    hdv = analyze_video(write_anamorphic_clip(tmp_path / "hdv.mp4", frames, Fraction(4, 3)))
    assert hdv.pose.keypoints_2d.shape[0] == JUMPING.stop and hdv.pose.valid.mean() >= 0.95
    ref = _body_width_to_height(result.pose, JUMPING)
    assert abs(_body_width_to_height(hdv.pose, JUMPING) / ref - 1) < 0.08
    assert hdv.rep_count == 2
    for rep, ref_rep in zip(hdv.reps, result.reps):
        assert rep.angle.startswith("shoulder_abduction") and ref_rep.angle.startswith("shoulder_abduction")
        # the side counted on may differ (both arms swing alike): that angle's reach in the rep agrees
        window = slice(rep.start_frame, rep.end_frame + 1)
        squeezed, square = hdv.angles[rep.angle][window], result.angles[rep.angle][window]
        assert abs(np.ptp(squeezed) - np.ptp(square)) < 15


def test_interlaced_camcorder_clip_is_deinterlaced(tmp_path):
    """The jumping jacks as an interlaced camcorder stores them (two frames woven into one, a
    field apart): the joints are found where they are in the first field's picture, as on the
    same frames stored progressive. Woven, the swinging wrists were 17 px off (median)."""
    frames = [f.rgb for f in VideoReader(CLIP, max_side=None, threaded=False) if f.index < JUMPING.stop]
    woven = analyze_video(write_interlaced_clip(tmp_path / "1080i.mp4", frames, fps=15))
    progressive = analyze_video(write_clip(tmp_path / "1080p.mp4", frames[0::2], fps=15))
    ok = woven.pose.valid & progressive.pose.valid
    assert ok.mean() >= 0.95
    off = np.linalg.norm(woven.pose.keypoints_2d[ok, :, :2] - progressive.pose.keypoints_2d[ok, :, :2], axis=-1)
    assert np.median(off[:, [J.L_WRIST, J.R_WRIST]]) < 6 and np.median(off) < 4
    assert woven.rep_count == progressive.rep_count == 2
    # both arms swing alike, and which one's abduction carries the reps is a close call (142 and
    # 160 deg woven) that tracking noise may tip: the same movement, at the same times
    assert {r.angle[:-2] for r in woven.reps} == {r.angle[:-2] for r in progressive.reps}
    for w, p in zip(woven.reps, progressive.reps):
        assert abs(w.start_s - p.start_s) < 0.3 and abs(w.end_s - p.end_s) < 0.3


def test_slow_motion_clip_is_analysed_at_60_fps(result, tmp_path):
    """The jumping jacks filmed at 120 fps (each frame four times): one frame in two is analysed,
    and the reps are found at the same times as at 30 fps."""
    jumping = (f.rgb for f in VideoReader(CLIP, max_side=None, threaded=False) if f.index < JUMPING.stop)
    slow = analyze_video(write_clip(tmp_path / "slowmo.mp4", (rgb for rgb in jumping for _ in range(4)), 120))
    assert slow.fps == 60.0 and len(slow.pose.times) == 4 * JUMPING.stop // 2
    assert slow.pose.valid.mean() >= 0.95 and slow.rep_count == 2
    for rep, ref in zip(slow.reps, result.reps):
        assert abs(rep.start_s - ref.start_s) < 0.15 and abs(rep.end_s - ref.end_s) < 0.2


def test_progress_reported(result, progress_calls):
    assert progress_calls[-1] == 1.0
    assert progress_calls == sorted(progress_calls)
    assert 10 <= len(progress_calls) <= 102


def test_exercise_picks_its_angle(result):
    again = finish_sequence(result.pose, backend="x", exercise="standing_shoulder_abduction",
                            smooth=False)
    assert again.reps and all(r.angle.startswith("shoulder_abduction") for r in again.reps)
    assert again.exercise == "standing_shoulder_abduction"


def test_smoothing_reduces_jitter_and_keeps_gaps(uiprmd_session_result):
    """Real Kinect squats with 4-frame gaps (nobody in view) between the reps."""
    raw = uiprmd_session_result.pose
    smooth = smooth_sequence(raw)
    assert (~raw.valid).sum() == 8
    assert np.isnan(smooth.joints[~raw.valid]).all()  # gaps are not re-invented
    assert np.isfinite(smooth.joints[raw.valid]).all()

    def jitter(j: np.ndarray) -> float:
        return float(np.nanmean(np.abs(np.diff(j, n=2, axis=0))))

    assert jitter(smooth.joints) < 0.8 * jitter(raw.joints)
    # low-pass, not a different movement: within a couple of centimetres of the raw joints
    assert np.nanmedian(np.abs(smooth.joints - raw.joints)) < 0.02


def test_frame_analyzer_matches_the_pipeline(result):
    """The per-frame step the live page uses gives the same people as the upload path."""
    with FrameAnalyzer(with_angles=True) as fa:
        outs = [fa.process(f.rgb, f.time_s, f.index)
                for f in VideoReader(CLIP, max_side=640) if f.index < 45]
    assert [o.index for o in outs] == list(range(45))
    found = [o for o in outs if o.pose is not None]
    assert len(found) >= 43
    assert all(o.people_in_view >= 1 and o.angles.shape == (23,) for o in found)
    kp_live = np.array([o.pose.keypoints_2d for o in found])
    kp_upload = result.pose.keypoints_2d[[o.index for o in found]]
    # same frames, same model: the same 2D keypoints within a pixel
    assert np.nanmax(np.abs(kp_live - kp_upload)) < 1.0


def test_no_person_is_a_clear_error(no_person_clip):
    clip = no_person_clip
    est = EmbeddedPoseEstimator()
    try:
        with pytest.raises(NoPersonFound, match="No person was found in 'empty_room.mp4'"):
            analyze_video(clip, estimator=est)
        # a caller's estimator is left open for further use
        assert est.detect(np.zeros((64, 64, 3), np.uint8), 10.0) == []
    finally:
        est.close()


def test_time_spans():
    t = np.arange(20) / 10
    m = np.zeros(20, bool)
    m[2:6] = True  # 0.2-0.5
    m[8:9] = True  # a blip: dropped (min_len 3)
    m[12:16] = True  # 1.2-1.5
    assert time_spans(t, m) == [(0.2, 0.5), (1.2, 1.5)]
    assert time_spans(t, m, join_gap_s=1.0) == [(0.2, 1.5)]
    assert time_spans(t, m, min_len=1) == [(0.2, 1.5)]  # the blip bridges the two runs
    assert time_spans(t, m, min_len=1, join_gap_s=0.1) == [(0.2, 0.5), (0.8, 0.8), (1.2, 1.5)]


@pytest.fixture(scope="module")
def looped_clip(tmp_path_factory) -> Path:
    """The benchmark's upload video: the clip forward, backward, forward (23 s)."""
    from physio_core.bench import write_looped_video

    path = tmp_path_factory.mktemp("looped") / "looped.mp4"
    write_looped_video(CLIP, path, loops=3)
    return path


@pytest.mark.parametrize("which", ["clip", "looped"])
def test_two_pose_processes_match_one(which, result, looped_clip):
    """Pose in two processes (one per half, one tracker in the parent) follows the same person
    and finds the same reps as the single-process path."""
    clip = CLIP if which == "clip" else looped_clip
    ticks: list[float] = []
    two = result if which == "clip" else analyze_video(clip, parallel=True, progress=ticks.append)
    one = analyze_video(clip, parallel=False)
    assert two.frames == one.frames
    np.testing.assert_allclose(two.pose.times, one.pose.times)
    assert abs(two.frames_with_person - one.frames_with_person) <= 5
    assert two.rep_count == one.rep_count >= 2
    assert [r.angle for r in two.reps] == [r.angle for r in one.reps]
    for a, b in zip(two.reps, one.reps):
        assert abs(a.start_frame - b.start_frame) <= 15
    # the followed person is the same: found in the same frames, and 2D keypoints agree where
    # both found them. (How much of the looped clip is followed depends on re-acquisitions after
    # its shot changes, which tiny differences of the pose model between CPUs can flip: the
    # first shot alone is ~160 frames.)
    assert (two.pose.valid == one.pose.valid).mean() >= 0.97
    both = two.pose.valid & one.pose.valid
    assert both.sum() >= 100
    err = np.nanmedian(np.abs(two.pose.keypoints_2d[both] - one.pose.keypoints_2d[both]))
    assert err < 2.0
    if ticks:
        assert ticks == sorted(ticks) and ticks[-1] == 1.0 and len(ticks) > 20


def test_models_load_while_the_pose_processes_run(looped_clip):
    """The first upload of a process loads the models (seconds: torch, the weights) while the
    two pose processes work, not after them. Run in a fresh interpreter, where nothing is
    loaded yet; the real load is only timed."""
    import json
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import json, sys, time
        from physio_core.ml import runtime
        from physio_core.pipeline import analyze_video

        load, marks, ticks = runtime.ModelSuite.load.__func__, {}, []
        def timed(cls, *args, **kwargs):
            marks["load_start"] = time.perf_counter()
            return load(cls, *args, **kwargs)
        runtime.ModelSuite.load = classmethod(timed)
        result = analyze_video(sys.argv[1], parallel=True,
                               progress=lambda f: ticks.append((f, time.perf_counter())))
        print(json.dumps({"load_start": marks.get("load_start"), "reps": result.rep_count,
                          "pose_done": max(t for f, t in ticks if f < 1.0)}))
    """)
    proc = subprocess.run([sys.executable, "-c", code, str(looped_clip)], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["reps"] >= 2
    assert out["load_start"] is not None and out["load_start"] < out["pose_done"]


def _same_poses(a, b) -> bool:
    return (a.frames_with_person == b.frames_with_person and a.rep_count == b.rep_count
            and np.array_equal(a.pose.keypoints_2d, b.pose.keypoints_2d, equal_nan=True))


def test_pose_workers_never_run_the_apps_script_even_when_main_changes_meanwhile(tmp_path):
    """Streamlit sets ``sys.modules["__main__"]`` to app.py on every script run: another
    session's run while this thread started its pose workers put app.py in them (a worker that
    ran the app crashed, seen in the server log of a walk). Hiding main is per thread now."""
    import os
    import sys
    import types

    from physio_core import pipeline

    marker = tmp_path / "ran"
    script = tmp_path / "app_like.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('the app ran in a pose worker')\n")
    other_run = types.ModuleType("__main__")
    other_run.__file__ = str(script)
    real = sys.modules["__main__"]
    with pipeline._main_hidden_from_workers():
        sys.modules["__main__"] = other_run  # as another session's script run does meanwhile
        try:
            workers = pipeline._PoseWorkers()
            started = [workers.pool.submit(os.getpid) for _ in range(2)]
        finally:
            sys.modules["__main__"] = real
    try:
        assert all(isinstance(f.result(timeout=120), int) for f in started)
        assert not workers.broken and not marker.exists()
    finally:
        workers.shutdown()


def _retired(workers, limit_s: float = 60.0) -> bool:
    """Whether the kept ``workers`` were let go and their processes ended within ``limit_s``: they wait
    their ``pose_workers_keep_s`` first, and two processes with a model loaded take a while to end
    on a busy machine, so the test waits for the outcome rather than sleeping a fixed time."""
    import time

    from physio_core import pipeline

    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if pipeline._kept is None and not workers.pool._processes:
            return True
        time.sleep(0.1)
    return False


def test_the_pose_processes_can_load_before_the_video(result):
    """``prewarm_pose_workers`` (the upload page, while a file is picked) starts the kept pose
    processes and loads their model; the video then runs on those processes with the same poses.
    With ``pose_workers_keep_s`` 0 it starts nothing; started, they leave after their wait."""
    from physio_core import pipeline
    from physio_core.config import get_settings

    kept = get_settings().model_copy(update={"pose_workers_keep_s": 60.0})
    if pipeline._kept is not None:  # another test's kept processes: start from none
        pipeline._retire(pipeline._kept)
    assert not pipeline.prewarm_pose_workers(kept.model_copy(update={"pose_workers_keep_s": 0.0}))
    assert pipeline._kept is None

    assert pipeline.prewarm_pose_workers(kept, wait=True)  # as the benchmark does: returns once loaded
    workers = pipeline._kept
    pids = set(workers.pool._processes)
    assert len(workers.loading) == 2 and all(f.done() for f in workers.loading)
    assert len(pids) == 2 and {f.result() for f in workers.loading} <= pids
    assert pipeline.prewarm_pose_workers(kept) and pipeline._kept is workers  # again: the same ones wait
    assert _same_poses(analyze_video(CLIP, parallel=True, settings=kept), result)
    assert pipeline._kept is workers and set(workers.pool._processes) == pids

    brief = kept.model_copy(update={"pose_workers_keep_s": 0.5})
    assert pipeline.prewarm_pose_workers(brief)
    assert _retired(workers)


def test_the_next_video_reuses_the_pose_processes(result):
    """A batch's next video (or the next upload) is analysed by the same two pose processes,
    their model loaded already, with the same result as fresh ones; a second video at the same
    time gets processes of its own; a process that died while waiting is replaced; the kept
    ones leave once they have waited ``pose_workers_keep_s``."""
    import os
    import signal
    import threading
    import time

    from physio_core import pipeline
    from physio_core.config import get_settings

    kept = get_settings().model_copy(update={"pose_workers_keep_s": 60.0})
    first = analyze_video(CLIP, parallel=True, settings=kept)
    pids = set(pipeline._kept.pool._processes)
    again = analyze_video(CLIP, parallel=True, settings=kept)
    assert set(pipeline._kept.pool._processes) == pids and len(pids) == 2
    assert _same_poses(first, again) and _same_poses(first, result)

    both: list = []
    threads = [threading.Thread(target=lambda: both.append(analyze_video(CLIP, parallel=True, settings=kept)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(both) == 2 and all(_same_poses(first, r) for r in both)
    assert set(pipeline._kept.pool._processes) == pids  # the other video's processes have gone

    os.kill(next(iter(pids)), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not pipeline._kept.broken and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _same_poses(first, analyze_video(CLIP, parallel=True, settings=kept))
    assert not set(pipeline._kept.pool._processes) & pids

    brief = kept.model_copy(update={"pose_workers_keep_s": 0.5})
    workers = pipeline._kept  # read before: their 0.5 s may be over before the video's result is
    analyze_video(CLIP, parallel=True, settings=brief)
    assert _retired(workers)
