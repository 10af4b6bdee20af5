"""How the set felt: the athlete's pain (0-10 numeric rating scale) and effort (Borg CR10).

Two nullable columns on ``sessions``, each checked to 0..10; a session stored before has neither
(not asked). Downgrade drops them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Self-contained like 0001: no imports from the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = ("pain", "effort")


def upgrade() -> None:
    # plain ADD COLUMN with the check inline: SQLite takes it without rebuilding the table (a
    # batch rebuild of ``sessions`` would have to keep 0004's AUTOINCREMENT and its children)
    for name in COLUMNS:
        op.add_column("sessions", sa.Column(name, sa.SmallInteger(), sa.CheckConstraint(
            f"{name} BETWEEN 0 AND 10", name=op.f(f"ck_sessions_{name}")), nullable=True))


def downgrade() -> None:
    for name in COLUMNS:
        op.drop_column("sessions", name)
