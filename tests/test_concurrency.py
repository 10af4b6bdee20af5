"""Twenty writers store sessions at the same moment on PostgreSQL: every row arrives. Two
processes that start together on a new database both find it migrated."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import sqlalchemy as sa

from physio_core.store import (
    Role,
    assign_athlete,
    create_user,
    get_session_detail,
    init_db,
    list_sessions,
    make_engine,
)
from physio_core.store import access, codec
from physio_core.store.live import LiveSessionWriter

WRITERS = 20
LIVE_CHUNKS = 4


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def test_twenty_concurrent_writers_lose_no_row(pg_databases, make_uiprmd_session_result):
    url = pg_databases.new()
    engine = init_db(url)
    trainer = create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, "coach-password")
    athletes = []
    for k in range(WRITERS // 2):  # two writers per athlete: they also race on the same athlete
        a = create_user(engine, None, f"Athlete {k}", Role.ATHLETE)
        assign_athlete(engine, trainer.id, a.id)
        athletes.append(a.id)
    result = make_uiprmd_session_result(episodes=(1, 2))
    n = len(result.pose)
    edges = np.linspace(0, n, LIVE_CHUNKS + 1).astype(int)
    start = threading.Barrier(WRITERS)

    def writer(k: int) -> tuple[int, int]:
        """One finished upload and one live session in chunks, on its own connection pool."""
        own = make_engine(url)
        try:
            athlete = athletes[k % len(athletes)]
            start.wait()
            upload = access.save_result_as(own, trainer.id, result, athlete, notes=f"writer {k}")
            live = LiveSessionWriter(own, athlete, viewer_id=trainer.id, exercise="deep_squat")
            for a, b in zip(edges[:-1], edges[1:]):
                assert live.append(pose=result.pose.slice(a, b)) is True
            live.end()
            access.add_feedback_as(own, trainer.id, upload, f"feedback from writer {k}")
            return upload, live.session_id
        finally:
            own.dispose()

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        ids = list(pool.map(writer, range(WRITERS)))

    uploads, lives = [u for u, _ in ids], [s for _, s in ids]
    assert len(set(uploads + lives)) == 2 * WRITERS
    assert _count(engine, "SELECT count(*) FROM sessions") == 2 * WRITERS
    assert _count(engine, "SELECT count(*) FROM sessions WHERE status = 'ended'") == 2 * WRITERS
    # an upload stores pose + angles + reps; an ended live session one merged pose row
    assert _count(engine, "SELECT count(*) FROM sensor_data") == 3 * WRITERS + WRITERS
    assert _count(engine, "SELECT count(*) FROM performance_metrics") == 2 * WRITERS
    assert _count(engine, "SELECT count(*) FROM feedback WHERE kind = 'trainer'") == WRITERS
    notes = {r.notes for r in list_sessions(engine, viewer_id=trainer.id) if r.notes}
    assert notes == {f"writer {k}" for k in range(WRITERS)}
    for sid in lives:
        d = get_session_detail(engine, sid)
        assert d.session.frames == n
        np.testing.assert_allclose(d.pose.joints, result.pose.joints,
                                   atol=0.5 * 10**-codec.POSE_DECIMALS + 1e-12, equal_nan=True)
    for k, athlete in enumerate(athletes):
        assert len(list_sessions(engine, athlete_id=athlete)) == 4  # 2 writers x (upload + live)


_MIGRATE = """
import os, sys, time
from physio_core.store.db import current_revision, make_engine, upgrade
engine = make_engine(sys.argv[1])
print("ready", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.0005)
upgrade(engine)
print(current_revision(engine))
"""


def test_two_processes_migrating_one_new_database_at_once_both_succeed(db_url, tmp_path):
    """The app and a command-line run (or two app instances) started together: the second
    waits for the first one's migration instead of failing ("database is locked" on SQLite, a
    duplicate alembic_version table on PostgreSQL)."""
    from pathlib import Path

    from alembic.script import ScriptDirectory

    from physio_core.store.db import _alembic_config

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    root = Path(__file__).resolve().parents[1]
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _MIGRATE, db_url, str(go)], cwd=root, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()[-2000:]
        go.touch()  # both start migrating within a millisecond
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        assert out.strip() == head
    engine = make_engine(db_url)
    try:
        assert _count(engine, "SELECT count(*) FROM alembic_version") == 1
        assert _count(engine, "SELECT count(*) FROM users") == 0
    finally:
        engine.dispose()
