"""The pain the athlete feels the morning after training (the pain-monitoring model): one
number 0-10 per athlete and day, the day being the morning it was felt.

A table of its own, ``morning_pain``: unique per athlete and day, the pain checked by the
database, who said it (kept NULL when that account goes), deleted with the athlete. Not on
``sessions``: the morning after belongs to a day of training, and a day holds several sets.
Downgrade drops the table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Self-contained like 0001: no imports from the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "morning_pain",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("athlete_id", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("pain", sa.SmallInteger, nullable=False),
        sa.Column("said_by", sa.Integer, nullable=True),
        sa.Column("said_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_morning_pain"),
        sa.ForeignKeyConstraint(["athlete_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_morning_pain_athlete_id_users"),
        sa.ForeignKeyConstraint(["said_by"], ["users.id"], ondelete="SET NULL",
                                name="fk_morning_pain_said_by_users"),
        sa.UniqueConstraint("athlete_id", "day", name="uq_morning_pain_athlete_id_day"),
        sa.CheckConstraint("pain BETWEEN 0 AND 10", name="ck_morning_pain_pain"),
    )


def downgrade() -> None:
    op.drop_table("morning_pain")
