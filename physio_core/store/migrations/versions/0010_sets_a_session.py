"""Sets a session in the athlete's programme: "3 sets of 10 reps, 3 times a week".

One nullable column on ``programme_items`` (1-20, checked by the database; NULL: not said, as in
every item stored before). Downgrade drops it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Self-contained like 0001: no imports from the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN with the check inline, as 0007: SQLite takes it without a table rebuild
    op.add_column("programme_items", sa.Column("sets_per_session", sa.SmallInteger(), sa.CheckConstraint(
        "sets_per_session IS NULL OR sets_per_session BETWEEN 1 AND 20",
        name=op.f("ck_programme_items_sets_per_session")), nullable=True))


def downgrade() -> None:
    op.drop_column("programme_items", "sets_per_session")
