"""Never hand a deleted athlete's or session's number to a new one (SQLite).

Pages link to athletes (``?athlete=ID``) and sessions (``?id=ID``). Without AUTOINCREMENT, SQLite
gives a new row the largest id in use plus one, so once the newest session (or athlete) is
deleted the next one gets its number, and an old link opens somebody else's data. PostgreSQL's
sequences never go back, so this revision changes nothing there.

On SQLite ``users`` and ``sessions`` are rebuilt with AUTOINCREMENT (batch mode copies every row
and keeps every id). Their children must not see the old table dropped, so this relies on
``physio_core.store.db.migration_connection``: foreign keys off during the migration, checked
before it commits, in one transaction. Numbers freed before this revision can still come back
once: SQLite starts counting at the largest id left in the table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Self-contained like 0001: no imports from the app.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("users", "sessions")


def _rebuild(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("rebuilding tables with foreign keys on would cascade the drop of the old "
                           "table to its children; run migrations through physio_core.store.upgrade")
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
