"""Migration 0004: a deleted athlete's or session's number is never given to a new one, and the
table rebuilds SQLite needs for that keep every row of every table."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from conftest import table_rows
from physio_core import auth
from physio_core.store import (
    Role,
    add_feedback,
    create_user,
    current_revision,
    delete_athlete,
    delete_session,
    downgrade,
    get_or_create_athlete,
    init_db,
    make_engine,
    save_session_result,
    start_session,
    upgrade,
)
from physio_core.store.access import set_rom_target
from physio_core.store.db import migration_connection

TABLES = ("users", "trainer_athlete", "sessions", "sensor_data", "performance_metrics", "feedback",
          "auth_sessions", "rom_targets")


def _snapshot(engine) -> dict[str, list[tuple]]:
    return table_rows(engine, TABLES)


def _count(engine, table: str, where: str = "") -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table} {where}")).scalar_one()


def test_deleted_numbers_are_not_given_out_again(db_url):
    engine = init_db(db_url)
    trainer = create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, "coach-password")
    ana = get_or_create_athlete(engine, "Ana", trainer.id)
    bo = get_or_create_athlete(engine, "Bo", trainer.id)
    first = start_session(engine, ana.id, trainer.id, "auto", backend="embedded", fps=25.0)
    newest = start_session(engine, bo.id, trainer.id, "auto", backend="embedded", fps=25.0)
    assert delete_session(engine, newest)
    # a bookmarked ?id=<newest> must not open the next session recorded
    assert start_session(engine, ana.id, trainer.id, "auto", backend="embedded", fps=25.0) > newest > first
    assert delete_athlete(engine, bo.id)
    assert get_or_create_athlete(engine, "Cy", trainer.id).id > bo.id  # nor ?athlete=<Bo> open Cy


def test_upgrade_keeps_every_row_and_the_cascades(db_url, make_uiprmd_session_result):
    engine = make_engine(db_url)
    try:
        # stored by this code, at head, then the database taken back to 0003 (this code's models
        # have columns 0003 has not)
        upgrade(engine)
        trainer = create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, "coach-password")
        ana = get_or_create_athlete(engine, "Ana", trainer.id)
        bo = get_or_create_athlete(engine, "Bo", trainer.id)
        sids = [save_session_result(engine, make_uiprmd_session_result(episodes=(k,)), who.id, trainer.id)
                for k, who in ((1, ana), (2, ana), (3, bo))]
        add_feedback(engine, sids[0], "knees out", author_id=trainer.id)
        set_rom_target(engine, trainer.id, ana.id, "knee_angle_r", 110)
        auth.login(engine, "coach@clinic.org", "coach-password", ttl=timedelta(hours=1))
        downgrade(engine, "0003")
        before = _snapshot(engine)
        assert all(before[t] for t in TABLES), {t: len(v) for t, v in before.items()}

        upgrade(engine, "0004")  # on SQLite: users and sessions rebuilt under every other table
        assert current_revision(engine) == "0004"
        assert _snapshot(engine) == before
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on for the app
                sql = conn.exec_driver_sql("SELECT group_concat(sql) FROM sqlite_master "
                                           "WHERE name IN ('users', 'sessions')").scalar()
            assert sql.count("AUTOINCREMENT") == 2

        # the children still follow their parents (the database's own cascades)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM users WHERE id = :i"), {"i": ana.id})
        assert _count(engine, "sessions") == 1
        for table in ("sensor_data", "performance_metrics", "feedback"):
            assert _count(engine, table, f"WHERE session_id IN ({sids[0]}, {sids[1]})") == 0, table
            assert _count(engine, table, f"WHERE session_id = {sids[2]}") > 0, table
        assert _count(engine, "rom_targets") == 0

        after = _snapshot(engine)
        downgrade(engine, "0003")
        assert _snapshot(engine) == after
    finally:
        engine.dispose()


def _sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'physiotrack.db'}")
    upgrade(engine)
    trainer = create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, "coach-password")
    sid = start_session(engine, get_or_create_athlete(engine, "Ana", trainer.id).id, trainer.id, "auto",
                        backend="embedded", fps=25.0)
    add_feedback(engine, sid, "knees out", author_id=trainer.id)
    return engine


def _fails_halfway(conn) -> None:
    conn.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
    conn.exec_driver_sql("ALTER TABLE feedback RENAME TO feedback_old")
    raise RuntimeError("the migration failed halfway")


def _orphans_rows(conn) -> None:
    conn.exec_driver_sql("DELETE FROM sessions")  # foreign keys are off: no cascade


@pytest.mark.parametrize("migration, error", [(_fails_halfway, "halfway"), (_orphans_rows, "parent is gone")])
def test_a_sqlite_migration_that_fails_or_orphans_rows_changes_nothing(tmp_path, migration, error):
    """Its DDL rolls back with the rest, rows left without a parent are refused, and the pooled
    connection has its foreign keys on again."""
    engine = _sqlite_engine(tmp_path)
    try:
        before = _snapshot(engine)
        with pytest.raises(RuntimeError, match=error):
            with migration_connection(engine) as conn:
                migration(conn)
        assert "scratch" not in sa.inspect(engine).get_table_names()
        assert _snapshot(engine) == before
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
