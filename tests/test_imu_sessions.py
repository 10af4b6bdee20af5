"""A wrist-IMU set from upload to stored session, on the real MetaMotion sets: the files a user
uploads (a MetaMotion pair in either order, one export, a generic CSV, wrong files) and the set
stored on SQLite AND PostgreSQL (raw series in sensor_data, stability in performance_metrics,
reasons in feedback). The page itself: tests/test_pages.py."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from physio_core.imu import ImuFormatError, ImuSeries, list_sets, read_upload, write_imu_csv
from physio_core.imu.analyze import analyze_imu
from physio_core.imu.io import IMU_BACKEND
from physio_core.store import (
    codec,
    get_or_create_athlete,
    get_session_detail,
    list_sessions,
    progress_for_athlete,
    save_imu_session,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "metamotion-imu"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"MetaMotion data set not found at {DATA}")


def a_set(label: str, category: str = "medium"):
    """The first (de-duplicated) MetaMotion set of a lift and category, and its two files' bytes."""
    s = next(s for s in list_sets(DATA) if s.lift == label and s.category == category)
    return s, (s.acc_path.name, s.acc_path.read_bytes()), (s.gyr_path.name, s.gyr_path.read_bytes())


def test_an_uploaded_pair_reads_as_the_set_in_either_order():
    s, acc, gyr = a_set("bench")
    want = s.load()
    for files in ([acc, gyr], [gyr, acc]):
        got = read_upload(files)
        np.testing.assert_allclose(got.acc, want.acc)
        np.testing.assert_allclose(got.gyr, want.gyr)
    alone = read_upload([acc])  # the accelerometer export on its own
    assert alone.gyr is None and alone.duration_s == pytest.approx(want.duration_s, abs=0.2)
    # both keep the sensor's clock, which dates a stored session
    assert alone.meta["start_epoch_s"] == pytest.approx(want.meta["start_epoch_s"], abs=0.5)


def test_wrong_uploads_say_what_was_expected():
    _, acc, gyr = a_set("bench")
    with pytest.raises(ImuFormatError, match="gyroscope file: upload its accelerometer"):
        read_upload([gyr])
    with pytest.raises(ImuFormatError, match="MetaMotion pair"):
        read_upload([acc, acc])
    with pytest.raises(ImuFormatError, match="one set at a time"):
        read_upload([acc, gyr, acc])
    with pytest.raises(ImuFormatError, match="missing column"):
        read_upload([("notes.csv", b"time,x,y\n0,1,2\n1,2,3\n")])
    with pytest.raises(ImuFormatError, match="larger than"):
        read_upload([("huge.csv", b"0" * (65 * 2**20))])


def test_a_set_is_stored_with_its_raw_series_and_scores(db_engine):
    s, acc, gyr = a_set("squat", "heavy")
    series = read_upload([acc, gyr])
    result = analyze_imu(series)
    assert result.lift == "squat" and abs(result.rep_count - s.expected_reps) <= 1
    athlete = get_or_create_athlete(db_engine, "Lifter")
    sid = save_imu_session(db_engine, series, result, athlete.id, source=acc[0])

    d = get_session_detail(db_engine, sid)
    assert (d.session.exercise, d.session.backend, d.session.rep_count) == \
        ("barbell_squat", IMU_BACKEND, result.rep_count)
    assert d.pose is None
    back = ImuSeries.from_json_payload(d.data[codec.KIND_IMU])
    np.testing.assert_allclose(back.acc, series.acc, atol=1e-4)
    np.testing.assert_allclose(back.gyr, series.gyr, atol=1e-4)
    assert d.data[codec.KIND_IMU_ANALYSIS]["series"]["rep_count"] == result.rep_count
    assert d.metrics.stability_score == pytest.approx(result.stability.score)
    assert [f.text for f in d.feedback] == [result.stability.reason]
    # filed by the sensor's own clock (2019), and on the athlete's progress with the lift
    assert d.session.started_at.year == 2019
    assert d.session.duration_s == pytest.approx(series.duration_s, abs=0.01)
    assert [r.exercise for r in list_sessions(db_engine, athlete_id=athlete.id)] == ["barbell_squat"]
    assert [r.reps for r in progress_for_athlete(db_engine, athlete.id)] == [result.rep_count]


def test_a_stored_set_scored_again_as_the_lift_it_was(db_engine, uiprmd_session_result):
    """A squat set filed as a bench press (the lift named wrong): Score again as a squat, from the
    stored series, files it under the squat with the squat's reps, stability and reasons; the raw
    series and the trainer's feedback stay. Staff only; a video session is not a sensor set."""
    from physio_core.store import AccessDenied, FeedbackKind, Role, assign_athlete, create_user, save_session_result
    from physio_core.store.access import add_feedback_as, rescore_imu_session_as

    s, acc, gyr = a_set("squat", "heavy")
    series = read_upload([acc, gyr])
    trainer = create_user(db_engine, "coach@clinic.org", "Coach", Role.TRAINER, "coach-password-1")
    athlete = create_user(db_engine, "ana@clinic.org", "Ana", Role.ATHLETE, "athlete-password-1")
    assign_athlete(db_engine, trainer.id, athlete.id)
    wrong = analyze_imu(series, lift="bench")
    sid = save_imu_session(db_engine, series, wrong, athlete.id, trainer.id, source=acc[0])
    add_feedback_as(db_engine, trainer.id, sid, "Brace before each rep.")
    before = get_session_detail(db_engine, sid)

    right = analyze_imu(before.imu_series, lift="squat")
    with pytest.raises(AccessDenied):
        rescore_imu_session_as(db_engine, athlete.id, sid, right)
    row = rescore_imu_session_as(db_engine, trainer.id, sid, right)
    assert (row.exercise, row.rep_count) == ("barbell_squat", right.rep_count)
    assert abs(right.rep_count - s.expected_reps) <= 1

    d = get_session_detail(db_engine, sid)
    assert before.imu_analysis["lift"] == "bench" and d.imu_analysis == right.to_dict()
    assert d.metrics.stability_score == pytest.approx(right.stability.score)
    np.testing.assert_array_equal(ImuSeries.from_json_payload(d.data[codec.KIND_IMU]).acc, before.imu_series.acc)
    assert [f.text for f in d.feedback if f.kind == FeedbackKind.SYSTEM] == [right.stability.reason]
    assert [f.text for f in d.feedback if f.kind == FeedbackKind.TRAINER] == ["Brace before each rep."]
    assert (d.session.started_at, d.session.ended_at) == (before.session.started_at, before.session.ended_at)
    assert [r.exercise for r in progress_for_athlete(db_engine, athlete.id)] == ["barbell_squat"]

    video = save_session_result(db_engine, uiprmd_session_result, athlete.id, trainer.id)
    with pytest.raises(ValueError, match="not a wrist-sensor set"):
        rescore_imu_session_as(db_engine, trainer.id, video, right)


def test_progress_keeps_sensor_and_video_stability_apart(db_engine):
    """A bar's steadiness on a wrist sensor and a body's sway on video are different scores: the
    progress chart draws each on its own line, and the session table says which is which."""
    from conftest import build_uiprmd_session_result

    from physio_core import progress
    from physio_core.store import save_session_result

    athlete = get_or_create_athlete(db_engine, "Both ways")
    _, acc, gyr = a_set("bench")
    series = read_upload([acc, gyr])
    result = analyze_imu(series)
    save_imu_session(db_engine, series, result, athlete.id, source=acc[0])
    video = build_uiprmd_session_result(movement=1)
    video.metrics = {"stability_score": 0.7, "balance_score": 0.8, "injury_risk": 0.2}
    save_session_result(db_engine, video, athlete.id)

    rows = progress_for_athlete(db_engine, athlete.id)
    assert [r.sensor_set for r in rows] == [True, False]  # the sensor's set is dated 2019
    fig = progress.scores_figure(rows)
    lines = {t.name: list(t.y) for t in fig.data}
    assert lines == {"Stability": [0.7], "Balance": [0.8], "Injury risk": [0.2],
                     "Stability (wrist sensor)": [pytest.approx(result.stability.score)]}
    assert list(progress.sessions_frame(rows)["source"]) == ["wrist sensor", "video"]
    # the share of reps judged correct comes from the last session the models judged
    video.metrics.update(reps_judged=3.0, reps_incorrect=1.0)
    save_session_result(db_engine, video, athlete.id)
    save_imu_session(db_engine, series, result, athlete.id, source=acc[0],
                     started_at=datetime.now(UTC) + timedelta(hours=1))
    rows = progress_for_athlete(db_engine, athlete.id)
    assert [r.sensor_set for r in rows] == [True, False, False, True]
    s = progress.summary(rows)
    assert (s.correct_exercise, s.correct_share, s.correct_change) == ("deep_squat", pytest.approx(2 / 3), None)


def test_a_generic_csv_round_trips_through_the_reader(tmp_path):
    s, acc, gyr = a_set("dead")
    series = read_upload([acc, gyr])
    buf = io.StringIO()
    write_imu_csv(series, buf)
    again = read_upload([("set.csv", buf.getvalue().encode())])
    np.testing.assert_allclose(again.acc, series.acc, atol=1e-5)
    assert analyze_imu(again).lift == analyze_imu(series).lift == "dead"


def test_the_cli_saves_a_set_for_an_athlete(tmp_path, monkeypatch, capsys):
    import json

    from physio_core.config import get_settings
    from physio_core.imu.analyze import main
    from physio_core.store import dispose_engines, init_db

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PHYSIO_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        s, _, _ = a_set("row")
        assert main([str(s.acc_path), "--gyr", str(s.gyr_path), "--save", "--athlete", "Rower"]) == 0
        out = json.loads(capsys.readouterr().out)
        [row] = list_sessions(init_db())
        assert (out["session_id"], out["lift"]) == (row.id, "row")
        assert (row.athlete_name, row.exercise, row.rep_count) == ("Rower", "barbell_row", out["rep_count"])
    finally:
        dispose_engines()
        get_settings.cache_clear()


def test_the_cli_prints_the_analysis_when_the_database_is_away(tmp_path, monkeypatch, capsys):
    """--save with the database away: exit 5 and one error line, as before, and the analysis is
    printed all the same (it was lost), with no session id. A missing file is named as such."""
    import json

    from physio_core.config import get_settings
    from physio_core.imu.analyze import main
    from physio_core.store import dispose_engines

    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        s, _, _ = a_set("row")
        assert main([str(s.acc_path), "--gyr", str(s.gyr_path), "--save", "--athlete", "Rower"]) == 5
        printed = capsys.readouterr()
        out = json.loads(printed.out)
        assert out["lift"] == "row" and out["rep_count"] >= 1 and out["session_id"] is None
        assert printed.err.startswith("error: could not save the set") and len(printed.err.splitlines()) == 1
        assert main([str(tmp_path / "gone.csv")]) == 2
        assert capsys.readouterr().err == f"error: no such file: {tmp_path / 'gone.csv'}\n"
    finally:
        dispose_engines(url)
        get_settings.cache_clear()


def test_a_stored_set_prints_as_its_page_shows_it(db_engine, streamlit_plotly_default):
    """The printable report of a stored MetaMotion deadlift set: its lift, reps, stability and
    reason, the set's chart with every rep (in colour, inside the app), the rep table, the
    trainer's notes and feedback, and the time on the viewer's clock."""
    from zoneinfo import ZoneInfo

    from conftest import STREAMLIT_PLACEHOLDER
    from physio_core import exports
    from physio_core.store import Role, add_feedback, create_user, set_session_notes

    s, acc, gyr = a_set("dead", "heavy")
    series = read_upload([acc, gyr])
    result = analyze_imu(series)
    trainer = create_user(db_engine, "coach@clinic.org", "Coach", Role.TRAINER)
    athlete = get_or_create_athlete(db_engine, "Lifter", trainer.id)
    sid = save_imu_session(db_engine, series, result, athlete.id, source=acc[0])
    set_session_notes(db_engine, sid, "grip slipped on the last rep")
    add_feedback(db_engine, sid, "keep the bar close", author_id=trainer.id, rep_index=2)
    d = get_session_detail(db_engine, sid)
    analysis = d.data[codec.KIND_IMU_ANALYSIS]["series"]
    tokyo = ZoneInfo("Asia/Tokyo")
    page = exports.imu_html_report(ImuSeries.from_json_payload(d.data[codec.KIND_IMU]), analysis,
                                   session=d.session, feedback=d.feedback, include_plotlyjs=False,
                                   tz=tokyo).decode()

    assert f"<title>Session #{sid} · Lifter</title>" in page
    assert "Lift<b>Deadlift</b>" in page and f"Reps<b>{result.rep_count}</b>" in page
    assert f"Stability<b>{result.stability.score:.2f}</b>" in page
    assert f"<p>Stability: {result.stability.reason}.</p>" in page
    assert f"{d.session.started_at.astimezone(tokyo):%Y-%m-%d %H:%M} (Asia/Tokyo)" in page
    assert "recognised by the lift classifier" in page and "accelerometer and gyroscope" in page
    assert page.count("Plotly.newPlot") == 1 and not STREAMLIT_PLACEHOLDER.findall(page)
    table = page.split(f"<h2>Repetitions ({result.rep_count})</h2>")[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + result.rep_count > 1
    for rep in result.reps.reps:
        assert f'<td class="">{rep.peak_s:.2f}</td>' in table
    assert "<b>Trainer notes:</b> grip slipped on the last rep" in page
    assert "Trainer (rep 2): keep the bar close" in page
    assert page.count(result.stability.reason) == 1  # stored as feedback too: said once
