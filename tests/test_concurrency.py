"""Twenty writers store sessions at the same moment on PostgreSQL: every row arrives."""

from __future__ import annotations

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
