"""Storage on real databases: every test runs on a SQLite file AND on PostgreSQL (fresh database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from physio_core.store import (
    AccessDenied,
    FeedbackKind,
    Role,
    SessionStatus,
    add_feedback,
    append_live_data,
    assign_athlete,
    authenticate,
    can_view_athlete,
    create_user,
    count_sessions,
    current_revision,
    delete_athlete,
    delete_session,
    downgrade,
    end_session,
    get_or_create_athlete,
    get_session_detail,
    get_user,
    init_db,
    list_athletes,
    list_sessions,
    list_trainers_of,
    make_engine,
    progress_for_athlete,
    save_session_result,
    set_active,
    start_session,
    unassign_athlete,
    upgrade,
)
from physio_core.store import codec

APP_TABLES = {"users", "trainer_athlete", "sessions", "sensor_data", "performance_metrics", "feedback",
              "auth_sessions", "rom_targets",  # from 0002
              "programme_items",  # from 0008
              "athlete_profiles",  # from 0009
              "morning_pain"}  # from 0011
HEAD = "0012"
SESSION_TABLES = ("sensor_data", "performance_metrics", "feedback")

POSE_ATOL = 0.5 * 10**-codec.POSE_DECIMALS + 1e-12
ANGLE_ATOL = 0.5 * 10**-codec.ANGLE_DECIMALS + 1e-12


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def _count(engine, table: str, **where) -> int:
    cond = " AND ".join(f"{k} = :{k}" for k in where) or "1=1"
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {cond}"), where).scalar_one()


# ------------------------------------------------------------------ schema and migrations


def test_migrations_upgrade_downgrade_upgrade_on_empty_database(db_url):
    engine = make_engine(db_url)
    try:
        assert _tables(engine) == set()
        upgrade(engine)
        assert _tables(engine) == APP_TABLES | {"alembic_version"}
        assert current_revision(engine) == HEAD

        downgrade(engine, "base")
        assert _tables(engine) & APP_TABLES == set()
        assert current_revision(engine) is None

        upgrade(engine)
        assert _tables(engine) == APP_TABLES | {"alembic_version"}
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()


def test_models_agree_with_migrated_schema(db_engine):
    with db_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, SQLModel.metadata) == []


def test_init_db_is_cached_and_rerunnable(db_url):
    first = init_db(db_url)
    assert init_db(db_url) is first
    upgrade(first)  # already at head: a no-op, not an error
    assert current_revision(first) == HEAD


def test_database_enforces_roles_and_cascades(db_engine):
    # constraints come from the migration, not from Python: raw SQL must hit them too
    with pytest.raises(sa.exc.IntegrityError), db_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (display_name, role) VALUES ('x', 'coach')"))
    with pytest.raises(sa.exc.IntegrityError), db_engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO sessions (athlete_id, started_at) VALUES (424242, CURRENT_TIMESTAMP)"
        ))


# ------------------------------------------------------------------ users and assignments


def test_users_assignments_and_login(db_engine):
    trainer = create_user(db_engine, " Coach@Example.com ", "Coach Carter", Role.TRAINER, "s3cret!")
    admin = create_user(db_engine, "admin@example.com", "Admin", "admin", "root-pw")
    assert trainer.email == "coach@example.com" and trainer.role is Role.TRAINER and trainer.has_login
    assert trainer.created_at.tzinfo is not None

    with pytest.raises(ValueError, match="already exists"):
        create_user(db_engine, "COACH@example.com", "Other", Role.TRAINER)
    with pytest.raises(ValueError):
        create_user(db_engine, None, "x", "coach")

    assert authenticate(db_engine, "coach@example.com", "s3cret!") == trainer
    assert authenticate(db_engine, "coach@example.com", "wrong") is None
    assert authenticate(db_engine, "nobody@example.com", "s3cret!") is None

    ana = get_or_create_athlete(db_engine, "  Ana   Lopez ", trainer_id=trainer.id)
    assert ana.display_name == "Ana Lopez" and ana.email is None and not ana.has_login
    assert get_or_create_athlete(db_engine, "ana lopez", trainer_id=trainer.id) == ana
    assert get_or_create_athlete(db_engine, "ANA LOPEZ") == ana
    other = create_user(db_engine, "other@example.com", "Other Coach", Role.TRAINER)
    other_ana = get_or_create_athlete(db_engine, "Ana Lopez", trainer_id=other.id)
    assert other_ana.id != ana.id  # another trainer's Ana is another person
    assert [a.id for a in list_athletes(db_engine, other.id)] == [other_ana.id]
    ben = get_or_create_athlete(db_engine, "Ben")
    assert [a.id for a in list_athletes(db_engine, trainer.id)] == [ana.id]
    assert {a.id for a in list_athletes(db_engine)} == {ana.id, other_ana.id, ben.id}

    assign_athlete(db_engine, trainer.id, ben.id)
    assign_athlete(db_engine, trainer.id, ben.id)  # idempotent
    assert _count(db_engine, "trainer_athlete", trainer_id=trainer.id) == 2
    assert [t.id for t in list_trainers_of(db_engine, ben.id)] == [trainer.id]
    with pytest.raises(ValueError, match="expected athlete"):
        assign_athlete(db_engine, trainer.id, admin.id)
    unassign_athlete(db_engine, trainer.id, ben.id)
    assert can_view_athlete(db_engine, trainer.id, ana.id)
    assert not can_view_athlete(db_engine, trainer.id, ben.id)
    assert can_view_athlete(db_engine, admin.id, ben.id)

    set_active(db_engine, trainer.id, False)
    assert get_user(db_engine, trainer.id).is_active is False
    assert authenticate(db_engine, "coach@example.com", "s3cret!") is None
    assert not can_view_athlete(db_engine, trainer.id, ana.id)


# ------------------------------------------------------------------ sessions


def test_save_session_result_round_trip(db_engine, uiprmd_session_result):
    result = uiprmd_session_result
    result.analysis_warnings = ["Rep 2 could not be assessed: the stability model failed"]
    trainer = create_user(db_engine, "t@example.com", "Trainer", Role.TRAINER)
    athlete = get_or_create_athlete(db_engine, "Subject 01", trainer.id)

    sid = save_session_result(db_engine, result, athlete.id, trainer.id, notes="first visit")
    d = get_session_detail(db_engine, sid)

    s = d.session
    assert (s.athlete_id, s.athlete_name, s.trainer_id) == (athlete.id, "Subject 01", trainer.id)
    assert (s.exercise, s.source, s.backend, s.notes) == (
        "deep_squat", result.source, "uiprmd-kinect", "first visit")
    assert s.status is SessionStatus.ENDED
    assert (s.frames, s.frames_with_person, s.rep_count) == (
        result.frames, result.frames_with_person, 3)
    assert s.fps == pytest.approx(30.0)
    assert s.started_at == result.started_at and s.ended_at == result.ended_at
    assert s.duration_s == pytest.approx(result.frames / result.fps)

    # the series come back equal within the stored precision, NaN (no person) where it was
    p, q = d.pose, result.pose
    assert p.joints.shape == q.joints.shape and len(p) == result.frames
    np.testing.assert_array_equal(np.isnan(p.joints), np.isnan(q.joints))
    np.testing.assert_allclose(p.joints, q.joints, atol=POSE_ATOL, equal_nan=True)
    np.testing.assert_allclose(p.root, q.root, atol=POSE_ATOL, equal_nan=True)
    np.testing.assert_allclose(p.confidence, q.confidence, atol=1e-3)
    np.testing.assert_allclose(p.times, q.times, atol=1e-4)
    np.testing.assert_allclose(p.keypoints_2d, q.keypoints_2d, atol=0.05 + 1e-9, equal_nan=True)
    np.testing.assert_array_equal(p.valid, q.valid)
    assert p.fps == q.fps

    assert d.angles.names == result.angles.names
    np.testing.assert_allclose(d.angles.values, result.angles.values, atol=ANGLE_ATOL, equal_nan=True)
    # a deep squat: the knee goes from nearly straight to well bent, and that survives storage
    assert np.nanmax(d.angles["right_knee"]) > 160 and np.nanmin(d.angles["right_knee"]) < 90

    assert [r.to_dict() for r in d.reps] == [r.to_dict() for r in result.reps]

    m = d.metrics
    assert (m.stability_score, m.balance_score, m.injury_risk) == (0.82, 0.74, None)
    assert m.extra["asymmetry_deg"] == 3.25 and m.extra["tempo_s"] == 2.4
    assert set(m.extra["rom_deg"]) == {"left_knee", "right_knee"}
    assert m.extra["mean_rep_rom_deg"] == pytest.approx(np.mean([r.rom_deg for r in result.reps]), abs=0.01)

    assert [(f.kind, f.text) for f in d.feedback] == (
        [(FeedbackKind.SYSTEM, t) for t in result.feedback]
        + [(FeedbackKind.WARNING, t) for t in result.warnings]
        + [(FeedbackKind.ANALYSIS, t) for t in result.analysis_warnings]
    )

    back = d.to_result()
    assert back.rep_count == 3 and back.feedback == result.feedback and back.warnings == result.warnings
    assert back.analysis_warnings == result.analysis_warnings
    assert back.metrics["stability_score"] == 0.82 and "injury_risk" not in back.metrics


def test_stored_series_are_packed_json(db_engine, uiprmd_session_result):
    athlete = get_or_create_athlete(db_engine, "A")
    sid = save_session_result(db_engine, uiprmd_session_result, athlete.id)
    with db_engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT kind, seq, payload FROM sensor_data WHERE session_id = :s ORDER BY kind"),
            {"s": sid},
        ).all()
    assert [(k, seq) for k, seq, _ in rows] == [("angles", 0), ("pose3d", 0), ("reps", 0)]
    payload = {k: (p if isinstance(p, dict) else json.loads(p)) for k, _, p in rows}
    packed = payload["pose3d"]["series"]["joints"]
    assert packed["shape"] == [uiprmd_session_result.frames, 57] and packed["decimals"] == codec.POSE_DECIMALS
    joints = codec.unpack(packed)
    expected = uiprmd_session_result.pose.joints.reshape(-1, 57)
    assert np.isnan(expected).any()  # NaN frames come back as NaN, the rest to the millimetre
    np.testing.assert_array_equal(joints, np.round(expected, codec.POSE_DECIMALS))
    as_lists = len(json.dumps(codec.to_list(expected, codec.POSE_DECIMALS)))
    assert len(json.dumps(packed)) < as_lists / 2
    assert payload["angles"]["meta"]["names"] == ["left_knee", "right_knee"]


def test_live_session_chunks_merge_and_end(db_engine, uiprmd_session_result):
    result = uiprmd_session_result
    trainer = create_user(db_engine, "t@example.com", "T", Role.TRAINER)
    athlete = get_or_create_athlete(db_engine, "Live Athlete", trainer.id)
    sid = start_session(db_engine, athlete.id, trainer.id, "auto", backend="embedded", fps=30.0)
    assert list_sessions(db_engine, status="active")[0].id == sid

    cuts = [0, 40, 110, result.frames]
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]), start=1):
        chunk_angles = type(result.angles)(result.angles.names, result.angles.values[a:b], result.angles.times[a:b])
        done = [r for r in result.reps if a <= r.end_frame < b]
        seq = append_live_data(db_engine, sid, pose=result.pose.slice(a, b), angles=chunk_angles,
                               reps=done, series={"imu": {"t": [a / 30.0], "ax": [0.1 * i]}})
        assert seq == i

    live = get_session_detail(db_engine, sid)
    assert live.session.status is SessionStatus.ACTIVE and live.session.ended_at is None
    np.testing.assert_allclose(live.pose.joints, result.pose.joints, atol=POSE_ATOL, equal_nan=True)
    np.testing.assert_allclose(live.angles.values, result.angles.values, atol=ANGLE_ATOL, equal_nan=True)
    assert [r.index for r in live.reps] == [1, 2, 3]
    assert live.data["imu"]["series"] == {"t": [0.0, 40 / 30.0, 110 / 30.0], "ax": [0.1, 0.2, 0.1 * 3]}
    # the report of the running session counts the frames stored so far (the row's are filled at the end)
    so_far = live.to_result()
    assert (so_far.frames, so_far.frames_with_person) == (result.frames, result.frames_with_person)

    row = end_session(db_engine, sid)
    assert row.status is SessionStatus.ENDED and row.ended_at is not None
    assert (row.frames, row.frames_with_person, row.rep_count) == (
        result.frames, result.frames_with_person, 3)
    # one row per kind once ended
    assert _count(db_engine, "sensor_data", session_id=sid) == 4
    ended = get_session_detail(db_engine, sid)
    np.testing.assert_allclose(ended.pose.joints, result.pose.joints, atol=POSE_ATOL, equal_nan=True)
    assert set(ended.metrics.extra["rom_deg"]) == {"left_knee", "right_knee"}
    with pytest.raises(ValueError, match="has ended"):
        append_live_data(db_engine, sid, pose=result.pose.slice(0, 3))

    # ending with the pipeline's final result replaces what it analysed (pose, angles, reps);
    # the session's other series stay: they are not the analysis' to delete
    final = end_session(db_engine, sid, result)
    assert final.exercise == "deep_squat"
    assert _count(db_engine, "sensor_data", session_id=sid) == 4
    assert get_session_detail(db_engine, sid).data["imu"]["series"]["ax"] == [0.1, 0.2, 0.1 * 3]
    assert get_session_detail(db_engine, sid).metrics.stability_score == 0.82


def test_a_live_session_whose_chunks_stopped_is_left_running(db_engine, uiprmd_session_result):
    """The list and the detail carry when a session's newest data was stored: an active session
    fed an hour ago is left running, one fed now is not, nor one that never got data, nor an
    ended one however old its data."""
    from physio_core.store.models import utcnow

    trainer = create_user(db_engine, "t@example.com", "T", Role.TRAINER)
    athlete = get_or_create_athlete(db_engine, "Live Athlete", trainer.id)
    pose = uiprmd_session_result.pose.slice(0, 30)
    sid = {name: start_session(db_engine, athlete.id, trainer.id, "auto", backend="embedded", fps=30.0)
           for name in ("left", "running", "empty", "ended")}
    for name in ("left", "running", "ended"):
        append_live_data(db_engine, sid[name], pose=pose)
    an_hour_ago = utcnow() - timedelta(hours=1)
    with db_engine.begin() as conn:
        conn.execute(sa.text("UPDATE sensor_data SET created_at = :t WHERE session_id IN (:a, :b)"),
                     {"t": an_hour_ago, "a": sid["left"], "b": sid["ended"]})
    end_session(db_engine, sid["ended"])
    with db_engine.begin() as conn:  # the merged row too
        conn.execute(sa.text("UPDATE sensor_data SET created_at = :t WHERE session_id = :a"),
                     {"t": an_hour_ago, "a": sid["ended"]})

    rows = {r.id: r for r in list_sessions(db_engine)}
    left = rows[sid["left"]]
    assert abs((left.last_data_at - an_hour_ago).total_seconds()) < 1
    assert {name: rows[i].left_running() for name, i in sid.items()} == {
        "left": True, "running": False, "empty": False, "ended": False}
    assert {name: rows[i].receiving() for name, i in sid.items()} == {
        "left": False, "running": True, "empty": False, "ended": False}
    assert rows[sid["empty"]].last_data_at is None
    assert not left.left_running(now=an_hour_ago + timedelta(seconds=90))
    detail = get_session_detail(db_engine, sid["left"]).session
    assert detail.last_data_at == left.last_data_at and detail.left_running()
    assert not get_session_detail(db_engine, sid["running"]).session.left_running()


def test_feedback_by_trainer(db_engine, uiprmd_session_result):
    trainer = create_user(db_engine, "t@example.com", "T", Role.TRAINER)
    athlete = get_or_create_athlete(db_engine, "A", trainer.id)
    sid = save_session_result(db_engine, uiprmd_session_result, athlete.id, trainer.id)
    fb = add_feedback(db_engine, sid, "  Slow down on rep 2 ", author_id=trainer.id, rep_index=2)
    assert (fb.kind, fb.text, fb.rep_index, fb.author_id) == (FeedbackKind.TRAINER, "Slow down on rep 2", 2, trainer.id)
    assert get_session_detail(db_engine, sid).feedback[-1] == fb
    with pytest.raises(ValueError):
        add_feedback(db_engine, sid, "   ")


def test_visibility_by_role(db_engine, uiprmd_session_result):
    admin = create_user(db_engine, "admin@x.org", "Admin", Role.ADMIN)
    t1 = create_user(db_engine, "t1@x.org", "T1", Role.TRAINER)
    t2 = create_user(db_engine, "t2@x.org", "T2", Role.TRAINER)
    a1 = create_user(db_engine, "a1@x.org", "A1", Role.ATHLETE, "pw")
    a2 = get_or_create_athlete(db_engine, "A2", t2.id)
    assign_athlete(db_engine, t1.id, a1.id)
    s1 = save_session_result(db_engine, uiprmd_session_result, a1.id, t1.id)
    s2 = save_session_result(db_engine, uiprmd_session_result, a2.id, t2.id)

    def ids(viewer):
        return {r.id for r in list_sessions(db_engine, viewer_id=viewer.id)}

    assert ids(admin) == {s1, s2}
    assert ids(t1) == {s1} and ids(t2) == {s2}
    assert ids(a1) == {s1}
    assert {r.id for r in list_sessions(db_engine, athlete_id=a2.id)} == {s2}
    # the count (the delete-athlete warning) sees what the list sees
    assert [count_sessions(db_engine, viewer_id=v.id) for v in (admin, t1, t2, a1)] == [2, 1, 1, 1]
    assert count_sessions(db_engine, athlete_id=a2.id, viewer_id=t1.id) == 0
    assert count_sessions(db_engine, athlete_id=a2.id, viewer_id=admin.id) == 1
    assert get_session_detail(db_engine, s1, viewer_id=a1.id).session.id == s1
    with pytest.raises(AccessDenied):
        get_session_detail(db_engine, s2, viewer_id=a1.id)
    with pytest.raises(AccessDenied):
        progress_for_athlete(db_engine, a2.id, viewer_id=t1.id)
    with pytest.raises(AccessDenied):
        delete_athlete(db_engine, a2.id, viewer_id=t1.id)
    with pytest.raises(AccessDenied):
        delete_session(db_engine, s1, viewer_id=a1.id)
    assert get_session_detail(db_engine, 999_999) is None


def test_progress_for_athlete(db_engine, make_uiprmd_session_result):
    athlete = get_or_create_athlete(db_engine, "Progress")
    day0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    # three visits, stored out of order; the incorrect squats are shallower
    visits = [
        (2, make_uiprmd_session_result(episodes=(4, 5), started_at=day0 + timedelta(days=14))),
        (0, make_uiprmd_session_result(correct=False, episodes=(1, 2, 3), started_at=day0)),
        (1, make_uiprmd_session_result(episodes=(1, 2, 3), started_at=day0 + timedelta(days=7))),
    ]
    sids = {k: save_session_result(db_engine, r, athlete.id) for k, r in visits}
    results = dict(visits)
    other = get_or_create_athlete(db_engine, "Someone else")
    save_session_result(db_engine, results[0], other.id)
    start_session(db_engine, athlete.id)  # still active: not in the progress

    rows = progress_for_athlete(db_engine, athlete.id)
    assert [r.session_id for r in rows] == [sids[0], sids[1], sids[2]]
    assert [r.date for r in rows] == [day0, day0 + timedelta(days=7), day0 + timedelta(days=14)]
    assert [r.reps for r in rows] == [3, 3, 2]
    for row, k in zip(rows, (0, 1, 2)):
        res = results[k]
        for name in res.angles.names:
            col = res.angles[name][np.isfinite(res.angles[name])]
            assert row.rom_deg[name] == pytest.approx(np.percentile(col, 99) - np.percentile(col, 1), abs=0.01)
        assert row.mean_rep_rom_deg == pytest.approx(np.mean([r.rom_deg for r in res.reps]), abs=0.01)
        assert row.stability_score == 0.82 and row.injury_risk is None
        assert row.metrics["tempo_s"] == 2.4 and "rom_deg" not in row.metrics
        assert row.exercise == "deep_squat"
        assert row.duration_s == pytest.approx(res.frames / res.fps)
    assert progress_for_athlete(db_engine, athlete.id, exercise="hurdle_step") == []


def test_delete_athlete_cascades(db_engine, uiprmd_session_result):
    trainer = create_user(db_engine, "t@example.com", "T", Role.TRAINER)
    gone = get_or_create_athlete(db_engine, "Leaving", trainer.id)
    stays = get_or_create_athlete(db_engine, "Staying", trainer.id)
    sid_gone = save_session_result(db_engine, uiprmd_session_result, gone.id, trainer.id)
    live_gone = start_session(db_engine, gone.id, trainer.id)
    append_live_data(db_engine, live_gone, pose=uiprmd_session_result.pose.slice(0, 10))
    add_feedback(db_engine, sid_gone, "good depth", author_id=trainer.id)
    sid_stays = save_session_result(db_engine, uiprmd_session_result, stays.id, trainer.id)
    for t in SESSION_TABLES:
        assert _count(db_engine, t, session_id=sid_gone) > 0

    assert delete_athlete(db_engine, gone.id, viewer_id=trainer.id) is True
    assert get_user(db_engine, gone.id) is None
    assert _count(db_engine, "sessions", athlete_id=gone.id) == 0
    for sid in (sid_gone, live_gone):
        for t in SESSION_TABLES:
            assert _count(db_engine, t, session_id=sid) == 0
    assert _count(db_engine, "trainer_athlete", athlete_id=gone.id) == 0
    # the trainer and the other athlete's data are untouched
    assert get_user(db_engine, trainer.id) is not None
    assert get_session_detail(db_engine, sid_stays).pose is not None
    assert [r.id for r in list_sessions(db_engine)] == [sid_stays]
    assert delete_athlete(db_engine, gone.id) is False
    with pytest.raises(ValueError, match="not an athlete"):
        delete_athlete(db_engine, trainer.id)


def test_times_come_back_as_utc(db_engine, make_uiprmd_session_result):
    athlete = get_or_create_athlete(db_engine, "A")
    naive_local = datetime(2026, 11, 3, 18, 45, 10, 250000)  # as datetime.now() gives it
    result = make_uiprmd_session_result(episodes=(1,), started_at=naive_local)
    result.started_at, result.ended_at = naive_local, None
    sid = save_session_result(db_engine, result, athlete.id)
    row = list_sessions(db_engine, athlete_id=athlete.id)[0]
    assert row.id == sid and row.started_at.tzinfo is not None
    assert row.started_at == naive_local.astimezone(UTC)
    # no end time given: the recording's own length
    assert row.duration_s == pytest.approx(result.frames / result.fps, abs=1e-3)
    assert list_sessions(db_engine, since=row.started_at + timedelta(seconds=1)) == []
    assert [r.id for r in list_sessions(db_engine, since=row.started_at)] == [sid]
