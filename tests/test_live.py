"""The live path (physio_core.live) on real frames of a real person, without a browser.

Frames come from tests/data/sports2d_demo.mp4 (a man doing jumping jacks), cropped to 4:3 and
scaled to 640x480 like a webcam. Waits poll with generous limits; nothing asserts a speed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from physio_core.config import Settings
from physio_core.live import (
    NO_PERSON_MESSAGE,
    LiveConfig,
    LiveSession,
    benchmark_live,
    tracked_angles,
)
from physio_core.overlay import LEFT_RGB, RIGHT_RGB
from physio_core.skeleton import N_JOINTS, J

CLIP = Path(__file__).resolve().parent / "data" / "sports2d_demo.mp4"


def webcam_frames(n: int, start: int = 0, step: int = 1) -> list[np.ndarray]:
    """n RGB 640x480 frames of the clip: the top 720x540 (where the athlete is), scaled."""
    out: list[np.ndarray] = []
    with av.open(str(CLIP)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i < start or (i - start) % step:
                continue
            top = np.ascontiguousarray(f.to_ndarray(format="rgb24")[: f.height * 3 // 4])
            out.append(av.VideoFrame.from_ndarray(top, format="rgb24")
                       .reformat(width=640, height=480).to_ndarray(format="rgb24"))
            if len(out) == n:
                break
    return out


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    if not CLIP.exists():
        pytest.skip(f"test clip {CLIP} is missing")
    return webcam_frames(24, step=4)


def wait_for(pred, what: str, limit_s: float = 120.0) -> None:
    end = time.monotonic() + limit_s
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


FRAME_S = 4 / 30  # the fixture keeps every 4th frame of a 30 fps clip


def as_webrtc(frame: np.ndarray, k: int) -> av.VideoFrame:
    """An av.VideoFrame stamped like a WebRTC one (90 kHz clock)."""
    vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
    vf.pts, vf.time_base = int(round(k * FRAME_S * 90_000)), Fraction(1, 90_000)
    return vf


def feed_one_by_one(session: LiveSession, frames: list[np.ndarray], callback: bool = False,
                    first: int = 0) -> list:
    """Submit each frame once the previous one was processed; returns the outputs."""
    outs = []
    for k, f in enumerate(frames, start=first):
        before = session.snapshot().frames_processed
        if callback:
            outs.append(session.video_frame_callback(as_webrtc(f, k)))
        else:
            outs.append(session.submit(f, capture_time_s=k * FRAME_S))
        wait_for(lambda b=before: session.snapshot().frames_processed > b, "a processed frame")
    return outs


def colour_share(img: np.ndarray, rgb: tuple[int, int, int], tol: int = 30) -> float:
    return float((np.abs(img.astype(int) - rgb).max(axis=2) <= tol).mean())


def near(img: np.ndarray, xy: np.ndarray, rgb: tuple[int, int, int], r: int = 6) -> bool:
    x, y = int(round(xy[0])), int(round(xy[1]))
    patch = img[max(0, y - r): y + r + 1, max(0, x - r): x + r + 1]
    return colour_share(patch, rgb) > 0


def test_callback_draws_the_skeleton_on_a_real_person(frames):
    session = LiveSession(LiveConfig(mirror=False, idle_timeout_s=60))
    try:
        feed_one_by_one(session, frames[:6], callback=True)
        # the callback answers with the newest annotated frame: that of the last frame
        out = session.video_frame_callback(as_webrtc(frames[5], 6))
        img = out.to_ndarray(format="rgb24")
        snap = session.snapshot()
        result = session.finish()
    finally:
        session.close()
    assert snap.frames_processed >= 6 and snap.frames_with_person >= 5
    assert snap.person_in_view and snap.message is None and snap.backend == "mediapipe"
    assert img.shape == frames[5].shape
    # the bones are drawn in the side colours, which the clip itself barely contains
    assert colour_share(img, RIGHT_RGB) > 20 * colour_share(frames[5], RIGHT_RGB) + 1e-3
    kp = result.pose.keypoints_2d[5]
    assert near(img, kp[J.L_KNEE], LEFT_RGB) and near(img, kp[J.R_KNEE], RIGHT_RGB)
    # the panels follow the default angles with finite current/min/max values
    assert set(snap.angles) <= set(tracked_angles("auto")) and "knee_angle_r" in snap.angles
    st = snap.angles["knee_angle_r"]
    assert st.min <= st.current <= st.max
    assert snap.chart_times and len(snap.chart_times) == len(snap.chart_values)
    # the page's chart draws them; an angle across its wrap without the 360° leap
    from dataclasses import replace

    from pages.live import _angle_chart

    assert np.allclose(_angle_chart(snap).data[0].y, snap.chart_values, equal_nan=True)
    wrapped = replace(snap, chart_times=(0.0, 0.1, 0.2, 0.3), chart_values=(-85.0, -89.0, 269.0, -88.0))
    assert list(_angle_chart(wrapped).data[0].y) == [-85.0, -89.0, -91.0, -88.0]
    # the person's 3D pose now, for the page's 3D view: the last frame's, a head above the knees
    now = snap.pose_joints
    assert now.shape == (N_JOINTS, 3) and snap.pose_confidence.shape == (N_JOINTS,)
    assert now[J.HEAD, 1] > now[J.PELVIS, 1] > now[J.R_KNEE, 1] > now[J.R_ANKLE, 1]
    last = result.pose.joints[int(np.flatnonzero(result.pose.valid)[-1])]
    assert np.nanmean(np.linalg.norm(now - last, axis=1)) < 0.1
    assert "pose_joints" not in snap.stats() and json.dumps(snap.stats())


def test_mirrored_preview_draws_the_pose_where_it_appears(frames):
    session = LiveSession(LiveConfig(mirror=True, idle_timeout_s=60))
    try:
        outs = feed_one_by_one(session, frames[:4])
        img = session.submit(frames[3], capture_time_s=4 * FRAME_S)
        result = session.finish()
    finally:
        session.close()
    assert np.array_equal(outs[0], frames[0][:, ::-1])  # nothing processed yet: mirrored input
    w = img.shape[1]
    kp = result.pose.keypoints_2d[3].copy()
    kp[:, 0] = w - 1 - kp[:, 0]
    assert near(img, kp[J.L_KNEE], LEFT_RGB) and near(img, kp[J.R_KNEE], RIGHT_RGB)
    # the pose itself was estimated on the real image: the subject's left knee is on the
    # image's right for a person facing the camera
    raw = result.pose.keypoints_2d[3]
    assert raw[J.L_KNEE, 0] > raw[J.R_KNEE, 0]


def test_stale_frames_are_dropped_not_queued(frames):
    session = LiveSession(LiveConfig(idle_timeout_s=60))
    try:
        for k, f in enumerate(frames * 2):  # a burst far faster than pose estimation
            session.submit(f, capture_time_s=k * FRAME_S)
        wait_for(lambda: session.snapshot().frames_processed >= 1, "the first frame")
        wait_for(lambda: session._mailbox is None, "the mailbox to empty")
        wait_for(lambda: session.snapshot().frames_processed + session.snapshot().frames_dropped
                 == len(frames) * 2, "the last frame")
        snap = session.snapshot()
    finally:
        session.close()
    assert snap.frames_received == len(frames) * 2
    assert snap.frames_dropped > 0
    assert snap.frames_processed + snap.frames_dropped == snap.frames_received
    assert snap.frames_processed < len(frames)


def test_no_person_in_view_says_step_back(frames):
    grass = np.ascontiguousarray(webcam_frames(1, start=40)[0][330:, :])  # box and lawn only
    empty = av.VideoFrame.from_ndarray(grass, format="rgb24").reformat(
        width=640, height=480).to_ndarray(format="rgb24")
    session = LiveSession(LiveConfig(idle_timeout_s=60))
    try:
        feed_one_by_one(session, [empty] * 3)
        snap = session.snapshot()
    finally:
        session.close()
    assert snap.frames_with_person == 0 and not snap.person_in_view and snap.pose_joints is None
    assert snap.message == NO_PERSON_MESSAGE
    assert "step back so your whole body is visible" in NO_PERSON_MESSAGE


def test_out_of_view_for_a_moment_is_said_aloud_once(frames):
    """Said aloud (Say reps aloud): "step back" once the athlete has been out of view for 1.5 s
    of the camera's time, once per time out of view; a moment out is not said."""
    from physio_core.spoken import STEP_BACK, STEP_BACK_AFTER_S, Announcer

    grass = np.ascontiguousarray(webcam_frames(1, start=40)[0][330:, :])  # box and lawn only
    empty = av.VideoFrame.from_ndarray(grass, format="rgb24").reformat(
        width=640, height=480).to_ndarray(format="rgb24")
    n_short, n_out = 10, int(4.0 / FRAME_S)  # 1.3 s out of view (shown after 0.5 s), then 4 s
    stream = frames[:8] + [empty] * n_short + frames[8:16] + [empty] * n_out + frames[16:] + [empty] * n_out
    session = LiveSession(LiveConfig(idle_timeout_s=60))
    announcer, said_at, out = Announcer(), [], []
    t0 = time.monotonic()
    try:
        for k, f in enumerate(stream):
            time.sleep(max(0.0, t0 + k * FRAME_S - time.monotonic()))  # at the camera's pace
            feed_one_by_one(session, [f], first=k)
            snap = session.snapshot()
            out.append(snap.out_of_view)
            if (u := announcer.next_words(snap)) is not None:
                said_at.append((k, u.text))
    finally:
        session.close()
    back = 8 + n_short
    assert any(out[8:back]) and not any(out[back + 1:back + 8]), out  # shown for a moment, then back in view
    steps = [k for k, text in said_at if STEP_BACK in text]  # the others are the reps counted
    seen = "".join("x" if o else "." for o in out)  # x: out of view
    assert len(steps) == 2 and all(text.count(STEP_BACK) <= 1 for _, text in said_at), (said_at, seen)
    first_out = [back + 8, back + 8 + n_out + len(frames[16:])]
    for k, start in zip(steps, first_out):
        assert start <= k < start + n_out and (k - start) * FRAME_S >= STEP_BACK_AFTER_S


def test_worker_ends_when_frames_stop_and_comes_back(frames):
    session = LiveSession(LiveConfig(idle_timeout_s=0.3))
    try:
        feed_one_by_one(session, frames[:2])
        assert session.wait_idle(60), "the worker did not end after the idle timeout"
        assert not session.worker_alive and session.snapshot().state == "paused"
        feed_one_by_one(session, frames[2:4], first=2)  # frames again (back on the page): new worker
        assert session.snapshot().frames_processed == 4
    finally:
        session.close()
    assert not session.worker_alive


class HeldClose:
    """The session's own analyzer factory, each analyzer held in its close until ``go_on`` is set
    (``closing`` says one is waiting there); ``made`` keeps the analyzers made."""

    def __init__(self) -> None:
        import threading

        self.closing, self.go_on, self.made = threading.Event(), threading.Event(), []
        self.session: LiveSession | None = None

    def __call__(self):
        analyzer = LiveSession._default_analyzer(self.session)
        real_close = analyzer.close

        def close():
            self.closing.set()
            self.go_on.wait(60)
            real_close()
        analyzer.close = close
        self.made.append(analyzer)
        return analyzer


def test_a_frame_that_comes_while_the_worker_ends_is_processed(frames):
    """The worker found no frame for ``idle_timeout_s`` and is letting its analyzer go when the
    camera sends again: a new worker, with an analyzer of its own, processes that frame. Before,
    the frame waited in the mailbox for the next one, as the ending worker still counted as alive."""
    held = HeldClose()
    session = held.session = LiveSession(LiveConfig(idle_timeout_s=0.3), analyzer_factory=held)
    try:
        feed_one_by_one(session, frames[:1])
        assert held.closing.wait(60), "the worker did not end after the idle timeout"
        session.submit(frames[1], capture_time_s=FRAME_S)
        held.go_on.set()
        wait_for(lambda: session.snapshot().frames_processed == 2, "the frame sent while the worker ended", 60)
        assert len(held.made) == 2 and held.made[0] is not held.made[1]
    finally:
        held.go_on.set()
        session.close()


def test_a_frame_that_comes_while_the_session_stops_starts_no_worker(frames):
    """STOP has begun and the worker is letting its analyzer go when a late camera frame comes
    (the browser's connection closes after the click): the frame is shown as it is and starts no
    worker. Before, it started one that loaded a model and went on analysing, and recording,
    while stop() built and stored the result."""
    import threading

    held = HeldClose()
    session = held.session = LiveSession(LiveConfig(mirror=False, idle_timeout_s=60), analyzer_factory=held)
    stopping = threading.Thread(target=session.stop)
    try:
        feed_one_by_one(session, frames[:1])
        stopping.start()
        assert held.closing.wait(60), "stop() did not end the worker"
        late = session.submit(frames[1], capture_time_s=FRAME_S)
        held.go_on.set()
        stopping.join(120)
        assert not stopping.is_alive() and not session.worker_alive
        assert len(held.made) == 1 and session.snapshot().frames_processed == 1
        assert late is frames[1]  # as it came: not analysed, not drawn on
    finally:
        held.go_on.set()
        session.close()


@pytest.fixture()
def engine(tmp_path):
    from physio_core.store import init_db

    return init_db(f"sqlite:///{tmp_path / 'live.db'}")


def test_stop_stores_the_session_with_its_pose_series(frames, engine, tmp_path):
    from physio_core.store import SessionStatus, create_user, get_session_detail

    athlete = create_user(engine, None, "Live Athlete")
    stats = tmp_path / "stats.json"
    settings = Settings(data_dir=tmp_path)
    cfg = LiveConfig(athlete_id=athlete.id, exercise="auto", flush_every_s=0.0, idle_timeout_s=60)
    session = LiveSession(cfg, settings=settings, engine=engine, stats_file=stats)
    sid = session.start()
    assert sid is not None
    feed_one_by_one(session, frames[:8])
    # appended chunks are readable while it runs (the session's storage thread writes them)
    wait_for(lambda: get_session_detail(engine, sid).pose is not None, "a chunk stored", 60)
    live = get_session_detail(engine, sid)
    assert live.session.status == SessionStatus.ACTIVE and live.pose is not None
    assert 1 <= len(live.pose) <= 8
    outcome = session.stop()
    assert outcome.session_id == sid and not outcome.kept_pending
    detail = get_session_detail(engine, sid)
    assert detail.session.status == SessionStatus.ENDED and detail.session.source == "live"
    assert len(detail.pose) == 8 and detail.session.frames_with_person >= 7
    assert detail.angles is not None and len(detail.angles.times) == 8
    assert np.isfinite(detail.pose.joints[detail.pose.valid]).all()
    doc = json.loads(stats.read_text())
    assert doc["stored_session_id"] == sid and doc["frames_processed"] == 8
    assert doc["frames_with_person"] >= 7 and doc["state"] == "stopped"
    assert not (tmp_path / "videos").exists()  # no raw video unless asked for
    assert not session.worker_alive


def test_record_video_keeps_the_raw_frames(frames, engine, tmp_path):
    from physio_core.store import create_user, get_session_detail

    athlete = create_user(engine, None, "Recorded Athlete")
    cfg = LiveConfig(athlete_id=athlete.id, record_video=True, idle_timeout_s=60)
    session = LiveSession(cfg, settings=Settings(data_dir=tmp_path), engine=engine)
    feed_one_by_one(session, frames[:5])
    outcome = session.stop()  # never start()ed: saved in one go at the end
    assert outcome.session_id is not None and outcome.video_path is not None
    with av.open(str(outcome.video_path)) as c:
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(decoded) == 5 and decoded[0].shape == frames[0].shape
    # raw, not annotated, not mirrored: close to the camera frame (lossy H.264)
    assert np.abs(decoded[4].astype(int) - frames[4]).mean() < 8
    detail = get_session_detail(engine, outcome.session_id)
    assert detail.data["video"]["series"]["path"] == [str(outcome.video_path)]
    assert detail.video_path == outcome.video_path  # the session detail page shows it


def test_a_recorded_session_annotates_its_own_recording(frames, engine, tmp_path):
    """The session detail page's annotated video of a live recording: every recorded frame, the
    skeleton the live session stored for it drawn at its place (its frames carry the camera's
    times, not a fixed rate)."""
    from physio_core.annotate import frame_index_at, write_annotated_video
    from physio_core.store import create_user, get_session_detail

    athlete = create_user(engine, None, "Recorded Athlete")
    session = LiveSession(LiveConfig(athlete_id=athlete.id, record_video=True, idle_timeout_s=60),
                          settings=Settings(data_dir=tmp_path), engine=engine)
    feed_one_by_one(session, frames[:12])
    outcome = session.stop()
    detail = get_session_detail(engine, outcome.session_id)
    result = detail.to_result()
    made = write_annotated_video(detail.video_path, result, tmp_path / "annotated.mp4")
    with av.open(str(made.path)) as c:
        drawn = [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
    assert len(drawn) == 12 and drawn[0][1].shape == frames[0].shape
    shown = [frame_index_at(result, t) for t, _ in drawn]
    assert shown == list(range(12))
    seen = [i for i in range(12) if result.pose.valid[i] and result.pose.confidence[i, J.L_KNEE] >= 0.3]
    painted = [i for i in seen if near(drawn[i][1], result.pose.keypoints_2d[i, J.L_KNEE], LEFT_RGB)]
    assert len(seen) >= 10 and painted == seen


@pytest.mark.parametrize("delete", ["session", "athlete"])
def test_deleting_a_recorded_session_or_its_athlete_deletes_the_video(frames, engine, tmp_path, delete):
    from physio_core.store import create_user, delete_athlete, delete_session, get_session_detail

    athlete = create_user(engine, None, "Recorded Athlete")
    videos = []
    for _ in range(2):
        session = LiveSession(LiveConfig(athlete_id=athlete.id, record_video=True, idle_timeout_s=60),
                              settings=Settings(data_dir=tmp_path), engine=engine)
        feed_one_by_one(session, frames[:3])
        outcome = session.stop()
        videos.append((outcome.session_id, outcome.video_path))
    assert all(path.is_file() for _, path in videos)
    if delete == "session":
        assert delete_session(engine, videos[0][0]) is True
        assert not videos[0][1].exists() and videos[1][1].is_file()  # the other session keeps its own
        assert get_session_detail(engine, videos[1][0]).video_path == videos[1][1]
    else:
        assert delete_athlete(engine, athlete.id) is True
        assert not any(path.exists() for _, path in videos)


def test_a_recording_no_session_will_hold_is_deleted(frames, tmp_path):
    session = LiveSession(LiveConfig(athlete_id=None, record_video=True, idle_timeout_s=60),
                          settings=Settings(data_dir=tmp_path), engine=None)
    feed_one_by_one(session, frames[:3])
    outcome = session.stop()
    assert outcome.session_id is None and outcome.video_path is None
    assert outcome.message.endswith("The recorded video was deleted with it.")
    assert not list((tmp_path / "videos").glob("*"))


def test_a_session_left_without_stop_keeps_its_recording(frames, engine, tmp_path):
    """The tab was closed mid-session, so STOP never came and the recording was never finished.
    The session's row leads to the recording all the same, which plays up to its last second,
    and ending the session from its page (End and analyse) keeps it."""
    from physio_core.pipeline import finish_sequence
    from physio_core.store import SessionStatus, create_user, end_session, get_session_detail
    from physio_core.video import VideoReader

    athlete = create_user(engine, None, "Recorded Athlete")
    cfg = LiveConfig(athlete_id=athlete.id, record_video=True, flush_every_s=0.0, idle_timeout_s=60)
    session = LiveSession(cfg, settings=Settings(data_dir=tmp_path), engine=engine)
    sid = session.start()
    try:
        feed_one_by_one(session, frames)  # 3.2 s
        wait_for(lambda: get_session_detail(engine, sid).video_path is not None, "the recording in the row")
        left = get_session_detail(engine, sid)
        recorded = list(VideoReader(left.video_path, max_side=None))  # unfinished: no final index
        assert len(frames) // 2 <= len(recorded) < len(frames)
        assert np.abs(recorded[3].rgb.astype(int) - frames[3]).mean() < 8
        # what the page's End and analyse does
        end_session(engine, sid, finish_sequence(left.pose, backend="stored", exercise="auto", source="live",
                                                 started_at=left.session.started_at))
        ended = get_session_detail(engine, sid)
        assert ended.session.status == SessionStatus.ENDED and ended.video_path == left.video_path
    finally:
        session.close()


def stream_and_store(engine, tmp_path, frames: list[np.ndarray], name: str, **config) -> tuple[LiveSession, int]:
    """A live session for a new athlete ``name``, with ``frames`` streamed and stored in its row."""
    from physio_core.store import create_user, get_session_detail

    athlete = create_user(engine, None, name)
    cfg = LiveConfig(athlete_id=athlete.id, flush_every_s=0.0, idle_timeout_s=60, **config)
    session = LiveSession(cfg, settings=Settings(data_dir=tmp_path), engine=engine)
    sid = session.start()
    feed_one_by_one(session, frames)
    wait_for(lambda: len(get_session_detail(engine, sid).pose or ()) == len(frames), "the frames stored")
    return session, sid


def test_ending_from_the_session_page_mid_stream_then_stop_files_the_whole_set(frames, engine, tmp_path):
    """End and analyse is pressed on the session's page while the live page still streams (the
    page warns that it files only the frames so far). The stream goes on, and STOP then files
    the whole session in the same row, every frame of it."""
    from physio_core.pipeline import finish_sequence
    from physio_core.store import SessionStatus, end_session, get_session_detail, list_sessions

    session, sid = stream_and_store(engine, tmp_path, frames[:10], "Streaming Athlete")
    try:
        mid = get_session_detail(engine, sid)
        # what the session page's End and analyse does
        end_session(engine, sid, finish_sequence(mid.pose.at_measured_rate(), backend="stored",
                                                 exercise="auto", source="live",
                                                 started_at=mid.session.started_at))
        ended = get_session_detail(engine, sid)
        assert ended.session.status == SessionStatus.ENDED and ended.session.frames == 10
        feed_one_by_one(session, frames[10:], first=10)
        outcome = session.stop()
    finally:
        session.close()
    assert outcome.session_id == sid and not outcome.kept_pending
    final = get_session_detail(engine, sid)
    assert final.session.status == SessionStatus.ENDED and final.session.backend != "stored"
    assert final.session.frames == len(final.pose) == len(frames)
    assert final.angles is not None and len(final.angles.times) == len(frames)
    assert [r.id for r in list_sessions(engine, athlete_id=final.session.athlete_id)] == [sid]


def test_a_session_deleted_while_recording_is_saved_whole_as_a_new_one(frames, db_url, tmp_path):
    """Someone deletes the session's row while the live page still streams (from the Sessions
    page, where it looks left running). The recording goes on into a new row, and STOP saves
    the whole session there and says what happened. On SQLite and Postgres."""
    from physio_core.store import delete_session, get_session_detail, init_db, list_sessions

    engine = init_db(db_url)
    session, first = stream_and_store(engine, tmp_path, frames[:8], "Deleted Midway")
    try:
        assert delete_session(engine, first)
        feed_one_by_one(session, frames[8:], first=8)
        outcome = session.stop()
    finally:
        session.close()
    assert outcome.replaced_id == first and outcome.session_id not in (None, first)  # a new number
    assert "was deleted while it was recording, so the whole recording was saved again" in outcome.message
    saved = get_session_detail(engine, outcome.session_id)
    assert saved.session.frames == len(saved.pose) == len(frames)
    assert [r.id for r in list_sessions(engine, athlete_id=saved.session.athlete_id)] == [outcome.session_id]


def test_an_athlete_deleted_while_recording_gets_a_message_not_a_traceback(frames, engine, tmp_path):
    """The athlete is deleted (with their sessions) while their live session records: STOP says
    nothing could be stored, and deletes the recorded video no session would show."""
    from physio_core.store import delete_athlete

    session, _ = stream_and_store(engine, tmp_path, frames[:8], "Removed Athlete", record_video=True)
    try:
        assert delete_athlete(engine, session.config.athlete_id)
        feed_one_by_one(session, frames[8:], first=8)
        outcome = session.stop()
    finally:
        session.close()
    assert outcome.session_id is None and not outcome.kept_pending and outcome.refused
    assert outcome.result is not None and outcome.result.frames == len(frames)
    assert outcome.message.startswith("Not stored: the athlete was deleted")
    assert outcome.video_path is None and not list((tmp_path / "videos").glob("*"))
    # a page opened for the deleted athlete cannot even open a row: no traceback either
    late = LiveSession(session.config, settings=Settings(data_dir=tmp_path), engine=engine)
    try:
        assert late.start() is None
    finally:
        late.close()


def test_a_recording_waiting_for_its_row_is_not_an_orphan(frames, engine, tmp_path):
    """Until its row names the recording (here nothing is stored before STOP), the session holds
    it: the sweep of orphan recordings leaves it, however old it looks."""
    import os

    from physio_core.recordings import sweep_orphan_recordings
    from physio_core.store import create_user

    def age(path: Path) -> None:
        os.utime(path, (time.time() - 3 * 24 * 3600,) * 2)

    athlete = create_user(engine, None, "Recorded Athlete")
    settings = Settings(data_dir=tmp_path)
    cfg = LiveConfig(athlete_id=athlete.id, record_video=True, flush_every_s=3600, idle_timeout_s=60)
    session = LiveSession(cfg, settings=settings, engine=engine)
    feed_one_by_one(session, frames[:5])
    [video] = (tmp_path / "videos").iterdir()
    age(video)
    assert sweep_orphan_recordings(engine, settings) == 0 and video.is_file()
    outcome = session.stop()
    assert outcome.session_id is not None and outcome.video_path == video
    age(video)
    assert sweep_orphan_recordings(engine, settings) == 0 and video.is_file()  # its row names it


def test_a_recording_that_cannot_be_written_does_not_stop_the_analysis(frames, engine, tmp_path):
    from physio_core.store import create_user

    athlete = create_user(engine, None, "Recorded Athlete")
    (tmp_path / "videos").write_text("a file where the videos folder should be")  # as a full disk would
    cfg = LiveConfig(athlete_id=athlete.id, record_video=True, idle_timeout_s=60)
    session = LiveSession(cfg, settings=Settings(data_dir=tmp_path), engine=engine)
    feed_one_by_one(session, frames[:5])
    snap = session.snapshot()
    assert snap.error is None and snap.frames_processed == 5
    assert snap.recording_problem.startswith("The video recording stopped at 0.0 s")  # said while live
    outcome = session.stop()
    assert outcome.session_id is not None and outcome.video_path is None
    assert outcome.result.frames == 5
    [said] = [w for w in outcome.result.warnings if "recording" in w]
    assert said.startswith("The video recording stopped at 0.0 s") and "the analysis went on" in said


def test_database_away_keeps_the_session_until_it_is_back(frames, tmp_path, pg_databases):
    """The database cannot be reached from START to STOP (on a real Postgres server: the
    session's database does not exist yet): the whole session waits in memory, and
    ``retry_save`` stores it once the database is there."""
    from physio_core.store import SessionStatus, create_user, get_session_detail, init_db, make_engine

    name, url = pg_databases.reserve()
    cfg = LiveConfig(athlete_id=1, flush_every_s=0.0, idle_timeout_s=60)
    session = LiveSession(cfg, settings=Settings(data_dir=tmp_path), engine=make_engine(url))
    assert session.start() is None
    feed_one_by_one(session, frames[:3])  # chunk flushes fail on the storage thread, quietly
    outcome = session.stop()
    assert outcome.kept_pending and outcome.session_id is None
    assert "unavailable" in outcome.message
    assert session.retry_save() is None  # still away: still kept

    pg_databases.create(name)
    engine = init_db(url)
    # back, but athlete 1 does not exist (yet): a reason, not a traceback, and still kept
    assert session.retry_save() is None
    assert session.refused_reason.startswith("Not stored: the athlete was deleted")
    assert create_user(engine, None, "Back Online").id == 1
    sid = session.retry_save()
    assert sid is not None and session.snapshot().session_id == sid
    detail = get_session_detail(engine, sid)
    assert detail.session.status == SessionStatus.ENDED and detail.session.source == "live"
    assert len(detail.pose) == 3 and detail.session.frames_with_person >= 2


def test_writes_are_checked_against_the_logged_in_user(frames, engine, tmp_path):
    """With ``viewer_id`` a trainer's live session records them as its trainer, and an athlete
    cannot record a session for somebody else: no row is opened, and STOP says why."""
    from physio_core.store import Role, assign_athlete, create_user, get_session_detail, list_sessions

    trainer = create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, "coach-password")
    ana = create_user(engine, "ana@clinic.org", "Ana", Role.ATHLETE, "ana-password")
    ben = create_user(engine, None, "Ben")
    assign_athlete(engine, trainer.id, ana.id)
    settings = Settings(data_dir=tmp_path)

    session = LiveSession(LiveConfig(athlete_id=ana.id, viewer_id=trainer.id, idle_timeout_s=60),
                          settings=settings, engine=engine)
    assert session.start() is not None
    feed_one_by_one(session, frames[:2])
    sid = session.stop().session_id
    assert get_session_detail(engine, sid).session.trainer_id == trainer.id

    own = LiveSession(LiveConfig(athlete_id=ana.id, viewer_id=ana.id, idle_timeout_s=60),
                      settings=settings, engine=engine)
    assert own.start() is not None  # a recording at home: no trainer
    own.close()
    other = LiveSession(LiveConfig(athlete_id=ben.id, viewer_id=ana.id, idle_timeout_s=60),
                        settings=settings, engine=engine)
    assert other.start() is None
    feed_one_by_one(other, frames[:2])
    refused = other.stop()
    assert refused.refused and refused.session_id is None
    assert refused.message.startswith("Not stored: you may not record sessions for this athlete")
    assert list_sessions(engine, athlete_id=ben.id) == []


def test_benchmark_reports_the_live_path(frames):
    out = benchmark_live(frames[:8], seconds=1.0, warmup_s=0.5, camera_fps=30)
    assert out["processed"] > 0 and out["with_person"] > 0
    # (a frame received just before the measured window may be processed within it)
    assert out["received"] + 1 >= out["processed"]
    assert np.isfinite(out["latency_ms_median"]) and out["latency_ms_p95"] >= out["latency_ms_median"]
    assert out["size"] == "640x480" and out["backend"] == "mediapipe"


# ------------------------------------------------------------------ the page (AppTest)


@pytest.fixture
def live_app(tmp_path, monkeypatch):
    """The real app on an empty SQLite data folder, opened on the live page. The WebRTC
    component renders once it does not look for a browser session (the stream itself is
    covered by tests/browser)."""
    import streamlit_webrtc.component
    from streamlit.testing.v1 import AppTest

    from physio_core.config import get_settings
    from physio_core.store import dispose_engines

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("PHYSIO_DATABASE_URL", raising=False)
    monkeypatch.setenv("PHYSIO_DATA_DIR", str(tmp_path / "data"))
    # the page needs a logged-in user: the first admin, created from the environment
    monkeypatch.setenv("PHYSIO_ADMIN_EMAIL", "admin@physio.test")
    monkeypatch.setenv("PHYSIO_ADMIN_PASSWORD", "admin-password-for-tests")
    monkeypatch.chdir(root)
    get_settings.cache_clear()
    at = AppTest.from_file(str(root / "app.py"), default_timeout=240)
    at.run()
    at.text_input(key="login_email").input("admin@physio.test")
    at.text_input(key="login_password").input("admin-password-for-tests")
    next(b for b in at.button if b.label == "Log in").click()
    at.run()
    at.switch_page("pages/live.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    yield at
    session = at.session_state["live_session"] if "live_session" in at.session_state else None
    if session is not None:
        session.close()
    dispose_engines()
    get_settings.cache_clear()


def test_live_page_refuses_a_visitor_who_is_not_logged_in(tmp_path, monkeypatch):
    import streamlit_webrtc.component
    from streamlit.testing.v1 import AppTest

    from physio_core.config import get_settings
    from physio_core.store import dispose_engines

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setattr(streamlit_webrtc.component, "get_this_session_info", lambda: None)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PHYSIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(root)
    get_settings.cache_clear()
    at = AppTest.from_file(str(root / "app.py"), default_timeout=240)
    at.run()
    at.switch_page("pages/live.py")
    at.run()
    try:
        assert any("log in" in w.value.lower() for w in at.warning)
        assert "live_exercise" not in [s.key for s in at.selectbox]
    finally:
        dispose_engines()
        get_settings.cache_clear()


def test_live_page_renders_its_controls(live_app):
    at = live_app
    assert at.title[0].value == "Live session"
    assert at.selectbox(key="live_exercise").value == "auto"
    assert at.radio(key="live_camera").value == "Front (selfie)"
    assert at.checkbox(key="live_mirror").value is True
    assert at.checkbox(key="live_record").value is False  # privacy: no raw video by default
    assert at.checkbox(key="live_say").value is False  # a clinic's speaker stays quiet unless asked
    assert any("Pick or add an athlete" in i.value for i in at.info)
    # before the first frame nothing was measured: dashes, not "0%" of a person found
    tiles = {m.label: m.value for m in at.metric}
    assert (tiles["Reps"], tiles["Processed fps"], tiles["Person found"]) == ("0", "–", "–")
    session = at.session_state["live_session"]
    assert session.config.exercise == "auto" and not session.worker_alive
    # choosing before START re-arms the session with the new choices
    at.selectbox(key="live_exercise").set_value("deep_squat")
    at.checkbox(key="live_record").check()
    at.run()
    session = at.session_state["live_session"]
    assert session.config.exercise == "deep_squat" and session.config.record_video
    assert session.tracked == ("knee_angle_r", "knee_angle_l")
    # ticked before START, nothing is said before the stream plays (the browser test hears it)
    at.checkbox(key="live_say").check()
    at.run()
    assert not at.exception and at.checkbox(key="live_say").value is True
    assert "live_announcer" not in at.session_state


def test_live_page_points_to_the_athletes_sessions_left_running(live_app):
    """An athlete's live session whose frames stopped an hour ago without STOP is named, with a
    link, before the next one starts; another athlete's page names none."""
    from datetime import timedelta

    import sqlalchemy as sa

    from conftest import build_uiprmd_session_result
    from physio_core.store import append_live_data, get_or_create_athlete, init_db, start_session
    from physio_core.store.models import utcnow

    at, engine = live_app, init_db()
    ana, ben = (get_or_create_athlete(engine, name) for name in ("Ana Left", "Ben Fresh"))
    pose = build_uiprmd_session_result(movement=1, episodes=(1,), correct=True).pose
    left = start_session(engine, ana.id, None, "auto", backend="embedded", fps=25.0)
    append_live_data(engine, left, pose=pose)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE sensor_data SET created_at = :t WHERE session_id = :s"),
                     {"t": utcnow() - timedelta(hours=1), "s": left})
    running = start_session(engine, ana.id, None, "auto", backend="embedded", fps=25.0)
    append_live_data(engine, running, pose=pose)

    shown = {}
    for who in (ana, ben):
        at.session_state["athlete_id"] = who.id
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        shown[who.display_name] = [i.value for i in at.info if "never ended" in i.value]
    assert len(shown["Ana Left"]) == 1
    assert f"#{left} (" in shown["Ana Left"][0] and f"#{running} (" not in shown["Ana Left"][0]
    assert "**End and analyse**" in shown["Ana Left"][0]
    assert shown["Ben Fresh"] == []


def test_leaving_the_page_mid_stream_stores_the_session(live_app, frames):
    """The stream ended while the trainer was on another page: coming back ends the session,
    stores it and links to it; no worker is left behind."""
    from physio_core.store import get_or_create_athlete, get_session_detail, init_db

    from physio_core.store.access import set_programme_item

    at = live_app
    athlete = get_or_create_athlete(init_db(), "Ana Live")
    set_programme_item(init_db(), None, athlete.id, "deep_squat", 2, 8, "knees out",
                       sets_per_session=3)  # 3 x 8, twice a week
    at.session_state["athlete_id"] = athlete.id  # what the sidebar picker sets
    at.selectbox(key="live_exercise").set_value("deep_squat")
    at.run()
    # what the programme asks, above the camera before the set; put in today, it asks of this
    # week no more sessions than the days left (one on a Sunday)
    week = min(2, 7 - datetime.now(UTC).weekday())
    assert (f"Programme: 2 sessions a week, 3 sets of 8 reps · this week 0 of {week} · today 0 of 3 sets. *knees out*"
            in [c.value for c in at.caption])
    assert "**Today's programme:** Deep squat 0 of 3 sets." in [m.value for m in at.markdown]
    session = at.session_state["live_session"]
    assert session.config.athlete_id == athlete.id
    assert session.start() is not None  # what the page does when the stream starts
    at.session_state["live_was_playing"] = True
    feed_one_by_one(session, frames[:6])

    at.switch_page("pages/upload.py")
    at.run()
    assert not at.exception
    at.switch_page("pages/live.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    outcome = at.session_state["live_outcome"]
    assert outcome.session_id is not None
    assert any(f"Session #{outcome.session_id} saved" in s.value for s in at.success)
    # the saved set counted against the athlete's programme
    assert (f"Deep squat: set 1 of 3 today; 1 of {week} sessions of the programme this week"
            + (", done." if week == 1 else ".")) in [i.value for i in at.info]
    assert next(m.value for m in at.metric if m.label == "Reps") == "0 of 8"  # the programme's reps a set
    found = next(m.value for m in at.metric if m.label == "Person found")
    assert found.endswith("%") and int(found[:-1]) >= 80  # 5 of 6 frames or more, as stored below
    # asked how the set felt while the athlete is still there; the answer survives the page's reruns
    at.selectbox(key=f"felt_now_pain_{outcome.session_id}").set_value(2)
    at.selectbox(key=f"felt_now_effort_{outcome.session_id}").set_value(5)
    next(b for b in at.button if b.label == "Save how it felt").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    said = f"Saved how session #{outcome.session_id} felt: pain 2/10 (mild), effort 5/10 (hard)."
    assert said in [s.value for s in at.success]
    assert any(f"Session #{outcome.session_id} saved" in s.value for s in at.success)
    felt_row = get_session_detail(init_db(), outcome.session_id).session
    assert (felt_row.pain, felt_row.effort) == (2, 5)
    assert not session.worker_alive and session.snapshot().state == "stopped"
    fresh = at.session_state["live_session"]
    assert fresh is not session and fresh.snapshot().frames_received == 0
    detail = get_session_detail(init_db(), outcome.session_id)
    assert len(detail.pose) == 6 and detail.session.frames_with_person >= 5


def test_the_live_page_shows_the_athletes_own_good_rep_of_the_exercise(live_app, assessed_squat_result):
    """Before the set: the athlete's own rep the models judged correct, drawn at its start,
    turning point and end; none for an exercise the athlete never did."""
    from physio_core.store import get_or_create_athlete, init_db, save_session_result

    at = live_app
    athlete = get_or_create_athlete(init_db(), "Ana Copy")
    sid = save_session_result(init_db(), assessed_squat_result, athlete.id)
    at.session_state["athlete_id"] = athlete.id
    at.selectbox(key="live_exercise").set_value("deep_squat")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Your rep to copy" in [e.label for e in at.expander]
    (drawn,) = at.get("image")
    assert drawn.captions[0].startswith(f"You, 2026-11-03 (session #{sid}, rep ")
    assert drawn.captions[0].endswith("a rep the models judged correct; from the side.")
    assert drawn.proto.imgs[0].url.startswith("data:image/svg+xml")
    at.selectbox(key="live_exercise").set_value("standing_shoulder_abduction")
    at.run()
    assert "Your rep to copy" not in [e.label for e in at.expander] and not at.get("image")


def test_the_morning_after_a_training_day_the_live_page_asks_how_much_it_hurts(live_app,
                                                                           make_uiprmd_session_result):
    from datetime import UTC, datetime, timedelta

    from physio_core.store import get_or_create_athlete, init_db, save_session_result
    from physio_core.store.access import morning_pain

    at = live_app
    fresh = get_or_create_athlete(init_db(), "Ben Fresh")
    at.session_state["athlete_id"] = fresh.id
    at.run()
    assert "live_morning_pain" not in [b.key for b in at.selectbox]  # no training yesterday
    athlete = get_or_create_athlete(init_db(), "Ana Morning")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    save_session_result(init_db(), make_uiprmd_session_result(started_at=yesterday), athlete.id)
    at.session_state["athlete_id"] = athlete.id
    at.run()
    assert any(c.value.startswith("Yesterday was a training day: how much does it hurt this morning") for c in at.caption)
    at.selectbox(key="live_morning_pain").set_value(6)
    next(b for b in at.button if b.label == "Save").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    today = datetime.now(UTC).date()
    assert [(m.day, m.pain) for m in morning_pain(init_db(), athlete.id)] == [(today, 6)]
    assert f"Saved: pain 6/10 on the morning of {today:%Y-%m-%d}." in [s.value for s in at.success]
    # too much: said before the set
    assert f"Pain on the morning of {today:%Y-%m-%d}: 6/10 (moderate), above the 5/10 the pain-monitoring " \
           "model allows: ease the load." in [w.value for w in at.warning]
    # said: not asked again today (AppTest keeps the form's elements from before the page's
    # st.rerun in its tree, where a browser drops them: the flag the page reads says it)
    assert at.session_state[f"live_morning_asked_{athlete.id}_{today}"] is False


@pytest.mark.parametrize("deleted", ["session", "athlete"])
def test_the_page_says_what_became_of_a_session_deleted_while_it_recorded(live_app, frames, deleted):
    """While the stream runs, the session's row (or its athlete) is deleted from another page:
    ending the session says it was saved again whole (or why it could not be), no traceback."""
    from physio_core.store import delete_athlete, delete_session, get_or_create_athlete, init_db

    at = live_app
    athlete = get_or_create_athlete(init_db(), "Ana Gone")
    at.session_state["athlete_id"] = athlete.id
    at.run()
    session = at.session_state["live_session"]
    first = session.start()
    at.session_state["live_was_playing"] = True
    feed_one_by_one(session, frames[:4])
    if deleted == "session":
        assert delete_session(init_db(), first)
    else:
        assert delete_athlete(init_db(), athlete.id)
    feed_one_by_one(session, frames[4:8], first=4)

    at.switch_page("pages/upload.py")
    at.run()
    at.switch_page("pages/live.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    outcome = at.session_state["live_outcome"]
    if deleted == "session":
        assert any(f"Session #{outcome.session_id} saved" in m.value for m in at.success)
        assert any(f"Session #{first} was deleted while it was recording" in m.value for m in at.info)
    else:
        assert outcome.session_id is None
        assert any("Not stored: the athlete was deleted" in m.value for m in at.warning)


def test_session_detail_shows_a_recorded_live_session_with_its_video(live_app, frames):
    """"Record video" on: the session page draws the skeleton over the recorded frames and
    plays the recording; without the file it says the video is not stored."""
    from physio_core.config import get_settings
    from physio_core.store import get_or_create_athlete, init_db

    at = live_app
    athlete = get_or_create_athlete(init_db(), "Ana Recorded")
    session = LiveSession(LiveConfig(athlete_id=athlete.id, record_video=True, idle_timeout_s=60),
                          settings=get_settings(), engine=init_db())
    feed_one_by_one(session, frames[:6])
    outcome = session.stop()
    assert outcome.session_id is not None and outcome.video_path.is_file()

    at.switch_page("pages/session_detail.py")
    at.query_params["id"] = str(outcome.session_id)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [frame] = at.get("image")  # a recorded frame with the skeleton drawn over it
    assert frame.captions[0].startswith("frame ")
    assert len(at.get("video")) == 1
    assert "The raw camera video of this live session" in " ".join(c.value for c in at.caption)
    assert not any("video itself is not stored" in c.value for c in at.caption)

    outcome.video_path.unlink()  # removed by hand on the server
    at.run()
    assert not at.exception and not at.get("image") and not at.get("video")
    assert any("video itself is not stored" in c.value for c in at.caption)


def test_after_stop_the_live_page_says_a_session_holds_two_sets(live_app, tmp_path):
    """A live set that went from squats to shoulder abductions (real UI-PRMD reps joined as a
    camera sees them), saved at STOP: the page names its two sets and where to split it."""
    from conftest import uiprmd_set
    from physio_core.datasets.continuous import concatenate_reps
    from physio_core.live import LiveOutcome
    from physio_core.pipeline import finish_sequence
    from physio_core.store import get_or_create_athlete, init_db, save_session_result

    squats, _, _ = uiprmd_set([("deep_squat", 3, True)] * 6, rng=1)
    raises, _, _ = uiprmd_set([("standing_shoulder_abduction", 3, True)] * 7, rng=2)
    seq, _ = concatenate_reps([squats, raises], pause_s=(1.5, 1.5), rng=1)
    result = finish_sequence(seq, backend="embedded", smooth=False, source="live")
    athlete = get_or_create_athlete(init_db(), "Ana Sets")
    sid = save_session_result(init_db(), result, athlete.id)
    at = live_app
    at.session_state["athlete_id"] = athlete.id
    previous = LiveSession(LiveConfig(athlete_id=athlete.id), settings=Settings(data_dir=tmp_path), engine=init_db())
    try:
        at.session_state["live_outcome"] = LiveOutcome(result, sid)
        at.session_state["live_previous"] = previous
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.success[0].value == f"Session #{sid} saved ({result.rep_count} reps)."
        (said,) = [i.value for i in at.info if "sets" in i.value]
        assert said.startswith("This session holds 2 sets (Deep squat 0:00–0:")
        assert ", Shoulder abduction 0:" in said and said.endswith("**Split into sets** on its page.")
    finally:
        previous.close()


def test_the_rep_to_copy_is_read_again_after_a_set_is_saved(live_app, assessed_squat_result, tmp_path):
    """An athlete with no rep judged correct yet has none to copy; after STOP saves a set whose
    reps the models judged correct, the page draws one of them."""
    from physio_core.live import LiveOutcome
    from physio_core.store import get_or_create_athlete, init_db, save_session_result

    at = live_app
    athlete = get_or_create_athlete(init_db(), "Ana First Set")
    at.session_state["athlete_id"] = athlete.id
    at.selectbox(key="live_exercise").set_value("deep_squat")
    at.run()
    assert "Your rep to copy" not in [e.label for e in at.expander]
    sid = save_session_result(init_db(), assessed_squat_result, athlete.id)  # as STOP saves it
    previous = LiveSession(LiveConfig(athlete_id=athlete.id, exercise="deep_squat"),
                           settings=Settings(data_dir=tmp_path), engine=init_db())
    try:
        at.session_state["live_outcome"] = LiveOutcome(assessed_squat_result, sid)
        at.session_state["live_previous"] = previous
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert "Your rep to copy" in [e.label for e in at.expander]
        (drawn,) = at.get("image")
        assert f"(session #{sid}, rep " in drawn.captions[0]
    finally:
        previous.close()


def _rep(index: int, start_s: float, end_s: float, angle: str = "knee_angle_l"):
    from physio_core.results import Rep

    return Rep(index, int(start_s * 30), int(end_s * 30), start_s, end_s, angle, 90.0, 80.0, 170.0)


def _verdict(rep: int, start_s: float, end_s: float, mistake: str = "correct"):
    from physio_core.live import RepVerdict

    return RepVerdict(rep, start_s, end_s, "deep_squat", mistake, 0.9, 0.8, 0.8, 0.1, None, None, None, None,
                      angle="knee_angle_l")


def test_span_shares_are_the_time_shared_over_the_shorter_span():
    from physio_core.live import span_shares

    shares = span_shares([(0.0, 2.0), (5.0, 6.0)], [(1.0, 5.0), (2.0, 3.0), (5.5, 9.5), (7.0, 7.0)])
    np.testing.assert_allclose(shares, [[0.5, 0.0, 0.0, 0.0], [0.0, 0.0, 0.5, 0.0]])


def test_verdicts_follow_the_reps_counted_now():
    """On "auto" the counter may move to another angle, whose reps are numbered on their own: a
    verdict takes the number of the rep counted now that shares most of its time; one whose
    motion is not counted now is not shown; of two on one rep, the later one assessed."""
    from physio_core.live import verdicts_of

    # counted on the knee: reps 1-3; then the shoulder counts the last two motions, and a third
    knee = [_verdict(1, 1.0, 3.0), _verdict(2, 4.0, 6.0, "incorrect"), _verdict(3, 7.0, 9.0)]
    shoulder = [_rep(1, 4.2, 6.1, "shoulder_flexion_r"), _rep(2, 7.1, 8.8, "shoulder_flexion_r"),
                _rep(3, 10.0, 12.0, "shoulder_flexion_r")]
    shown = verdicts_of(shoulder, knee)
    assert [(v.rep, v.start_s, v.mistake) for v in shown] == [(1, 4.0, "incorrect"), (2, 7.0, "correct")]
    assert {v.angle for v in shown} == {"shoulder_flexion_r"}  # the range shown is the angle counted now
    # the third shoulder rep assessed: it follows; a later verdict of its second rep replaces it
    later = knee + [_verdict(3, 10.0, 12.0, "incorrect"), _verdict(2, 7.1, 8.8, "incorrect")]
    assert [(v.rep, v.start_s, v.mistake) for v in verdicts_of(shoulder, later)] == [
        (1, 4.0, "incorrect"), (2, 7.1, "incorrect"), (3, 10.0, "incorrect")]
    # a motion shared by less than half: another rep, no verdict taken over
    assert verdicts_of([_rep(1, 2.5, 4.5)], knee) == []
    assert verdicts_of([], knee) == [] and verdicts_of(shoulder, []) == []
