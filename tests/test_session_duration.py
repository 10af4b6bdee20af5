"""A session's Duration comes from its frames' times, not from a frame rate that may be nominal.

A live session left running without STOP (its tab closed) is stored in chunks that carry the
live page's nominal 25 fps, while its frames' times are the real ones: here a server that kept
up with 12 frames a second. Its page, its summary and its printable report say how long it
lasted, as the .trc export's DataRate already reads the rate of its Time column."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from physio_core.live import LiveConfig
from physio_core.results import recording_duration_s

ROOT = Path(__file__).resolve().parents[1]
SLOWER = 2.5  # UI-PRMD's 30 fps recordings, as frames a live server processed 12 a second
PASSWORD = "coach-password-1"


@pytest.fixture
def unfinished(app_db):
    """(engine, trainer id, session id, the real duration) of a live session of real UI-PRMD
    squats stored as the live page stores its chunks, and never ended."""
    from conftest import build_uiprmd_session_result
    from physio_core.store import Role, append_live_data, assign_athlete, create_user, start_session

    engine = app_db
    trainer = create_user(engine, "coach@clinic.org", "Carla Coach", Role.TRAINER, PASSWORD)
    athlete = create_user(engine, "ana@clinic.org", "Ana Lopez", Role.ATHLETE)
    assign_athlete(engine, trainer.id, athlete.id)

    nominal = LiveConfig().nominal_fps
    full = build_uiprmd_session_result(episodes=(1, 2)).pose
    live = replace(full, fps=nominal, times=full.times * SLOWER)
    sid = start_session(engine, athlete.id, trainer.id, "deep_squat", backend="embedded", fps=nominal)
    half = len(live) // 2
    for a, b in ((0, half), (half, len(live))):
        append_live_data(engine, sid, pose=live.slice(a, b))
    real = float(live.times[-1] - live.times[0]) + SLOWER / full.fps  # one frame more, at 12 fps
    return engine, trainer.id, sid, real


def test_duration_of_frames_is_their_span_and_one_usual_step():
    t = np.arange(100) / 12.0
    assert recording_duration_s(t) == pytest.approx(100 / 12.0)
    # frames the camera dropped leave a gap, not a longer last frame
    assert recording_duration_s(np.delete(t, np.s_[40:52])) == pytest.approx(100 / 12.0)
    assert recording_duration_s(t + 3.0, fps=25.0) == pytest.approx(100 / 12.0)  # the times say, not fps
    assert recording_duration_s(t[:1], fps=25.0) == pytest.approx(0.04)  # a lone frame: one at fps
    assert recording_duration_s(t[:1]) is None and recording_duration_s([]) is None


def test_an_unfinished_live_session_lasts_as_long_as_its_frames(unfinished):
    from physio_core import report
    from physio_core.store import SessionStatus, get_session_detail

    engine, _, sid, real = unfinished
    detail = get_session_detail(engine, sid)
    assert detail.session.status is SessionStatus.ACTIVE
    result = detail.to_result()
    assert result.fps == LiveConfig().nominal_fps  # as stored: the nominal rate
    assert result.frames / result.fps < 0.5 * real  # what the Duration said
    assert result.duration_s == pytest.approx(real)
    assert report.summary_dict(result)["duration_s"] == pytest.approx(real, abs=1e-3)


def test_its_page_shows_the_real_duration(unfinished):
    from physio_core.auth import login

    engine, trainer, sid, real = unfinished
    session = login(engine, "coach@clinic.org", PASSWORD)
    at = AppTest.from_file(str(ROOT / "pages" / "session_detail.py"), default_timeout=240)
    at.session_state["auth_token"] = session.token
    at.session_state["user_id"] = trainer
    at.session_state["user_role"] = session.user.role.value
    at.query_params["id"] = str(sid)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert next(m for m in at.metric if m.label == "Duration").value == f"{real:.1f} s"


def test_its_printable_report_says_the_real_duration(unfinished):
    from physio_core import exports
    from physio_core.store import get_session_detail

    engine, _, sid, real = unfinished
    detail = get_session_detail(engine, sid)
    page = exports.html_report(detail.to_result(), session=detail.session, include_plotlyjs=False).decode()
    assert f"<div class='kpi'>Duration<b>{real:.1f} s</b></div>" in page
