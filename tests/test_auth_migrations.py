"""Migration 0002 (logins, range-of-motion targets) up and down on a database full of data."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import sqlalchemy as sa

from conftest import table_rows
from physio_core import auth
from physio_core.store import (
    Role,
    add_feedback,
    create_user,
    current_revision,
    downgrade,
    get_or_create_athlete,
    make_engine,
    save_session_result,
    upgrade,
)
from physio_core.store import codec
from physio_core.store.access import rom_targets, set_rom_target

OLD_TABLES = ("users", "trainer_athlete", "sessions", "sensor_data", "performance_metrics", "feedback")


def _payload(engine, sid: int, kind: str) -> dict:
    table = sa.table("sensor_data", sa.column("session_id"), sa.column("kind"), sa.column("payload", sa.JSON))
    with engine.connect() as conn:
        return conn.execute(sa.select(table.c.payload).where(table.c.session_id == sid,
                                                             table.c.kind == kind)).scalar_one()


def _snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of the 0001 tables, in a stable order."""
    return table_rows(engine, OLD_TABLES)


def test_upgrade_and_downgrade_a_filled_database(db_url, make_uiprmd_session_result):
    engine = make_engine(db_url)
    try:
        # stored by this code, at head, then the database taken back to 0001 (this code's models
        # have columns 0001 has not)
        upgrade(engine)
        trainer = create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, "coach-password")
        athlete = get_or_create_athlete(engine, "Ana", trainer.id)
        results = [make_uiprmd_session_result(episodes=(k,)) for k in (1, 2)]
        sids = [save_session_result(engine, r, athlete.id, trainer.id) for r in results]
        add_feedback(engine, sids[0], "knees out", author_id=trainer.id)
        at_head = _snapshot(engine)
        downgrade(engine, "0001")
        before = _snapshot(engine)
        assert sum(len(v) for v in before.values()) > 10

        upgrade(engine, "0002")  # 0001 -> 0002 on top of the data
        assert current_revision(engine) == "0002"
        assert _snapshot(engine) == before
        login = auth.login(engine, "coach@clinic.org", "coach-password", ttl=timedelta(hours=1))
        assert auth.current_user(engine, login.token).id == trainer.id
        set_rom_target(engine, trainer.id, athlete.id, "knee_angle_r", 110)
        pose = codec.decode_pose(_payload(engine, sids[1], codec.KIND_POSE))  # as the session's page reads it
        assert np.allclose(pose.joints, results[1].pose.joints, atol=6e-4, equal_nan=True)

        downgrade(engine, "0001")  # drops only what 0002 added, the data stays
        assert current_revision(engine) == "0001"
        assert not {"auth_sessions", "rom_targets"} & set(sa.inspect(engine).get_table_names())
        assert _snapshot(engine) == before

        upgrade(engine)  # and up again: new tables empty, old data intact, as this code stored it
        assert rom_targets(engine, athlete.id) == []
        assert auth.current_user(engine, login.token) is None
        assert _snapshot(engine) == at_head

        downgrade(engine, "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
