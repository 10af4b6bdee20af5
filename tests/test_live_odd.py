"""Live sessions in odd conditions: a camera that changes size or restarts its clock mid-stream,
STOP before any frame, a pose backend that does not start, the database away over several sets.

Frames are the real clip of tests/test_live.py, fed through the real LiveSession (MediaPipe)."""

from __future__ import annotations

import av
import numpy as np
import pytest

from physio_core.config import Settings
from physio_core.live import LiveConfig, LiveSession
from physio_core.skeleton import J
import test_live
from test_live import FRAME_S, feed_one_by_one, wait_for

frames, live_app = test_live.frames, test_live.live_app  # the fixtures: the clip's frames, the live page


def scaled(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    return av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(width=width, height=height).to_ndarray(
        format="rgb24")


@pytest.fixture()
def engine(tmp_path):
    from physio_core.store import init_db

    return init_db(f"sqlite:///{tmp_path / 'live.db'}")


@pytest.mark.parametrize("record", [True, False])
def test_a_camera_that_lowers_its_resolution_mid_stream_loses_no_frame(frames, engine, tmp_path, record):
    """WebRTC halves the camera's size under load (640x480, then 320x240): every frame is
    analysed at the session's size, so the athlete stays tracked, the stored 2D keypoints keep one
    scale, and with Record video the recording holds every frame analysed. Before, the recording
    kept only the frames of the first size, without a word, and the tracker lost the athlete for
    several frames."""
    from physio_core.store import create_user, get_session_detail

    athlete = create_user(engine, None, "Shrinking Camera")
    stream = frames[:6] + [scaled(f, 320, 240) for f in frames[6:12]]
    session = LiveSession(LiveConfig(athlete_id=athlete.id, record_video=record, mirror=False, idle_timeout_s=60),
                          settings=Settings(data_dir=tmp_path), engine=engine)
    try:
        outs = feed_one_by_one(session, stream)
        outcome = session.stop()
    finally:
        session.close()
    assert outs[-1].shape == frames[0].shape  # the annotated frame, not the raw one
    result = outcome.result
    assert result.frames == 12 and result.frames_with_person == 12 and not result.warnings
    knee_x = result.pose.keypoints_2d[:, J.L_KNEE, 0]
    assert np.abs(np.diff(knee_x)).max() < 40  # one scale: no jump to half the width
    detail = get_session_detail(engine, outcome.session_id)
    assert detail.session.frames_with_person == 12
    if record:
        with av.open(str(outcome.video_path)) as c:
            decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(decoded) == 12 and {d.shape for d in decoded} == {frames[0].shape}
    else:
        assert outcome.video_path is None and not (tmp_path / "videos").exists()


@pytest.mark.parametrize("jump_s", [-4.0, 3600.0])
def test_a_camera_clock_that_starts_again_keeps_the_session_time(frames, jump_s):
    """The camera's timestamps start again mid-stream (a new track: back to 0, or to a far
    other number): the session's time goes on from where it was at the camera's own pace. Before,
    every later frame came 1 ms after the one before (a clock gone back), or the session lasted an
    hour (gone ahead)."""
    session = LiveSession(LiveConfig(idle_timeout_s=60))
    try:
        feed_one_by_one(session, frames[:6], first=30)
        feed_one_by_one(session, frames[6:12], first=30 + int(jump_s / FRAME_S))
        result = session.finish()
    finally:
        session.close()
    times = result.pose.times
    assert np.allclose(np.diff(times[:6]), FRAME_S) and np.allclose(np.diff(times[6:]), FRAME_S)
    assert 0 < times[6] - times[5] < 60  # the frame's time to arrive: well under a minute here
    assert times[-1] < 70


def test_frames_stamped_twice_or_a_little_back_keep_their_order(frames):
    """A frame stamped as the one before, then one 40 ms back: each comes 1 ms after the last."""
    session = LiveSession(LiveConfig(idle_timeout_s=60))
    try:
        for k, stamp in enumerate([0.0, 0.1, 0.1, 0.06, 0.2]):
            before = session.snapshot().frames_processed
            session.submit(frames[k], capture_time_s=stamp)
            wait_for(lambda b=before: session.snapshot().frames_processed > b, "a processed frame")
        result = session.finish()
    finally:
        session.close()
    assert np.allclose(result.pose.times, [0.0, 0.1, 0.101, 0.102, 0.2])


def test_stop_before_any_frame_leaves_no_empty_session(engine, tmp_path):
    """START, then STOP before the camera sent anything (a connection that never came up): the
    page says nothing was recorded, and the row START opened goes with it. Before, it stayed in the
    athlete's sessions as one with nothing recorded."""
    from physio_core.store import create_user, list_sessions

    athlete = create_user(engine, None, "Never Streamed")
    session = LiveSession(LiveConfig(athlete_id=athlete.id, idle_timeout_s=60),
                          settings=Settings(data_dir=tmp_path), engine=engine)
    assert session.start() is not None
    outcome = session.stop()
    assert outcome.result is None and outcome.session_id is None
    assert outcome.message == "Nothing was recorded: no camera frame reached the server."
    assert list_sessions(engine, athlete_id=athlete.id) == []


def test_a_pose_backend_that_does_not_start_is_named_at_stop(frames, tmp_path):
    """Frames came, but the pose estimator could not be loaded: STOP says so, not that no frame
    reached the server."""
    def broken():
        raise RuntimeError("the pose model file is missing")

    session = LiveSession(LiveConfig(idle_timeout_s=60), settings=Settings(data_dir=tmp_path),
                          analyzer_factory=broken)
    try:
        session.submit(frames[0], capture_time_s=0.0)
        wait_for(lambda: session.snapshot().error is not None, "the backend's error")
        outcome = session.stop()
    finally:
        session.close()
    assert outcome.result is None
    assert outcome.message == ("Nothing was recorded: the analysis of the camera frames did not start "
                               "(the pose model file is missing).")


def test_a_set_kept_while_the_database_was_away_outlives_the_next_set(live_app, frames, tmp_path, pg_databases):
    """Set 1 is stopped while its database is away (kept in memory, "Retry saving"); the coach goes on
    with set 2, which is stored. The page still names set 1, and saves it once the database is back.
    Before, set 2's STOP took set 1's place on the page: nothing could save it any more."""
    from physio_core.store import create_user, get_session_detail, init_db, list_sessions, make_engine

    at = live_app
    at.session_state["athlete_id"] = create_user(init_db(), None, "Second Set").id  # the page's athlete
    name, url = pg_databases.reserve()  # set 1's database: not there yet
    first = LiveSession(LiveConfig(athlete_id=1, idle_timeout_s=60), settings=Settings(data_dir=tmp_path),
                        engine=make_engine(url))
    at.session_state["live_session"] = first  # as armed by the page, then streamed
    at.session_state["live_was_playing"] = True
    feed_one_by_one(first, frames[:3])
    at.run()  # the stream ended: STOP
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["live_outcome"].kept_pending
    assert any("the session is kept" in w.value for w in at.warning)

    second = at.session_state["live_session"]  # the next set, on the page's own database
    assert second is not first and second.config.athlete_id == at.session_state["athlete_id"]
    at.session_state["live_was_playing"] = True
    feed_one_by_one(second, frames[3:6])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["live_outcome"].session_id is not None  # set 2 stored
    [waiting] = [w.value for w in at.warning if "earlier set" in w.value]
    assert waiting.startswith("1 earlier set of this page (started ") and "still wait for the database" in waiting

    pg_databases.create(name)
    back = init_db(url)
    assert create_user(back, None, "First Set").id == 1
    next(b for b in at.button if b.label == "Retry saving the earlier sets").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [sid] = [r.id for r in list_sessions(back, athlete_id=1)]
    assert f"Session #{sid}, kept while the database was away, is saved now." in [s.value for s in at.success]
    assert len(get_session_detail(back, sid).pose) == 3
    assert not [w.value for w in at.warning if "earlier set" in w.value]
