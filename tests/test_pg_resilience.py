"""PostgreSQL stops in the middle of a live session and comes back: nothing is lost.

The test stops and starts the real server with ``pg_ctlcluster``. It is marked
``restarts_postgres`` so that conftest runs it after every other test, and it always starts the
server again (finally) and waits for ``pg_isready`` before it returns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import make_url

from physio_core.store import (
    PendingWrites,
    Role,
    StorageUnavailable,
    assign_athlete,
    create_user,
    get_session_detail,
    init_db,
    list_sessions,
)
from physio_core.store import codec
from physio_core.store.live import LiveSessionWriter

pytestmark = pytest.mark.restarts_postgres

PG_ETC = Path("/etc/postgresql")
POSE_ATOL = 0.5 * 10**-codec.POSE_DECIMALS + 1e-12
ANGLE_ATOL = 0.5 * 10**-codec.ANGLE_DECIMALS + 1e-12


def _cluster() -> tuple[str, str]:
    versions = sorted(p.name for p in PG_ETC.iterdir() if (p / "main").is_dir()) if PG_ETC.is_dir() else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        pytest.skip("no local PostgreSQL cluster to restart (pg_ctlcluster, /etc/postgresql/*/main)")
    return versions[-1], "main"


def _ctl(action: str) -> subprocess.CompletedProcess:
    version, name = _cluster()
    return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action],
                          capture_output=True, text=True, timeout=120)


def _ready(url: str) -> bool:
    u = make_url(url)
    out = subprocess.run(["pg_isready", "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432)],
                         capture_output=True, timeout=30)
    return out.returncode == 0


def _wait(url: str, up: bool, limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while _ready(url) != up:
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not become {'ready' if up else 'unreachable'} "
                               f"within {limit_s:.0f} s")
        time.sleep(0.5)


def _start_and_wait(url: str) -> None:
    if not _ready(url):
        out = _ctl("start")
        # 2 = already running; anything else is reported after trying to reach it anyway
        if out.returncode not in (0, 2):
            print(f"pg_ctlcluster start: rc={out.returncode} {out.stderr.strip()}")
    _wait(url, up=True)


def _chunks(n: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, parts + 1).astype(int)
    return list(zip(edges[:-1], edges[1:]))


@pytest.fixture
def local_pg(pg_databases):
    """A fresh database on a server this test may stop (only a local one)."""
    _cluster()
    host = make_url(pg_databases.admin_url).host
    if host not in ("127.0.0.1", "localhost", None) and not os.environ.get("CI"):
        pytest.skip(f"the test server {host} is not local: it cannot be restarted from here")
    return pg_databases.new()


def test_postgres_restart_mid_session_loses_nothing(local_pg, make_uiprmd_session_result):
    url = local_pg
    engine = init_db(url)
    trainer = create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, "coach-password")
    athlete = create_user(engine, None, "Ana", Role.ATHLETE)
    assign_athlete(engine, trainer.id, athlete.id)
    full = make_uiprmd_session_result(episodes=(1, 2, 3))
    upload = make_uiprmd_session_result(episodes=(4,))
    spans = _chunks(len(full.pose), 9)

    def chunk(i: int) -> dict:
        a, b = spans[i]
        angles = type(full.angles)(full.angles.names, full.angles.values[a:b], full.angles.times[a:b])
        return dict(pose=full.pose.slice(a, b), angles=angles)

    writer = LiveSessionWriter(engine, athlete.id, viewer_id=trainer.id, exercise="deep_squat",
                               backend=full.backend, fps=full.fps)
    pending = PendingWrites()
    try:
        for i in range(3):
            assert writer.append(**chunk(i)) is True
        assert writer.synced and writer.session_id is not None

        stopped = _ctl("stop")
        assert stopped.returncode == 0, stopped.stderr
        _wait(url, up=False)

        # the server is gone: chunks stay in memory, a finished upload is kept too
        for i in range(3, 6):
            assert writer.append(**chunk(i)) is False
        assert writer.pending == 3 and not writer.synced
        assert "cannot be reached" in writer.last_error and "DATABASE_URL" in writer.last_error
        assert pending.save_or_keep(engine, upload, athlete.id, trainer.id) is None
        with pytest.raises(StorageUnavailable):
            list_sessions(engine, viewer_id=trainer.id)
    finally:
        _start_and_wait(url)

    # back: the next chunk writes everything that waited, in order
    for i in range(6, 9):
        assert writer.append(**chunk(i)) is True
    assert writer.pending == 0
    ended = writer.end()
    assert ended is not None and writer.synced
    upload_id = pending.flush(engine)[0]

    detail = get_session_detail(engine, writer.session_id, viewer_id=trainer.id)
    assert detail.session.frames == len(full.pose)
    assert detail.session.frames_with_person == int(full.pose.valid.sum())
    np.testing.assert_allclose(detail.pose.times, full.pose.times, atol=1e-4)
    np.testing.assert_allclose(detail.pose.joints, full.pose.joints, atol=POSE_ATOL, equal_nan=True)
    np.testing.assert_allclose(detail.angles.values, full.angles.values, atol=ANGLE_ATOL, equal_nan=True)
    stored_upload = get_session_detail(engine, upload_id, viewer_id=trainer.id)
    assert stored_upload.session.rep_count == upload.rep_count == 1
    assert {r.id for r in list_sessions(engine, viewer_id=trainer.id)} == {writer.session_id, upload_id}


def test_postgres_stopping_mid_import_loses_nothing(local_pg, assessed_squat_result):
    """An archive of three sessions, each with a trainer's line, imported while PostgreSQL stops
    after the first: the import says the database is away, the first session is stored whole
    (with its line), and the import run again once the server is back stores the other two,
    nothing twice."""
    from dataclasses import replace
    from datetime import timedelta

    from physio_core.archive import athlete_archive
    from physio_core.imports import import_sessions, read_archive
    from physio_core.store import FeedbackKind, add_feedback, get_or_create_athlete, save_session_result

    url = local_pg
    engine = init_db(url)
    old = get_or_create_athlete(engine, "Ana")
    for week in range(3):
        sid = save_session_result(engine, replace(assessed_squat_result, started_at=assessed_squat_result.started_at
                                                  + timedelta(weeks=week)), old.id)
        add_feedback(engine, sid, f"Week {week + 1}: keep the heels down.")
    contents = read_archive(athlete_archive(engine, old.id))
    moved = get_or_create_athlete(engine, "Ana (moved)")

    def stop_after_first(k: int, n: int, label: str) -> None:
        if k == 1:  # the first session is stored: the server goes away before the second
            assert _ctl("stop").returncode == 0
            _wait(url, up=False)

    try:
        with pytest.raises(StorageUnavailable):
            import_sessions(engine, contents.sessions, moved.id, progress=stop_after_first)
    finally:
        _start_and_wait(url)
    first = list_sessions(engine, athlete_id=moved.id)
    assert len(first) == 1
    lines = [f.text for f in get_session_detail(engine, first[0].id).feedback if f.kind == FeedbackKind.TRAINER]
    assert len(lines) == 1 and lines[0].endswith("Week 1: keep the heels down.")

    again = import_sessions(engine, contents.sessions, moved.id)
    assert len(again.imported) == 2 and len(again.already) == 1
    stored = list_sessions(engine, athlete_id=moved.id)
    assert len(stored) == 3
    said = sorted(f.text.split(") ", 1)[1] for r in stored for f in get_session_detail(engine, r.id).feedback
                  if f.kind == FeedbackKind.TRAINER)
    assert said == [f"Week {w}: keep the heels down." for w in (1, 2, 3)]
