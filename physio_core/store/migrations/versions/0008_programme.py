"""The athlete's programme: the exercises their trainer set, sessions a week and reps a set.

A row is ended (``ended_at``), not deleted, when the exercise is taken off or changed, so past
weeks keep their plan. Deleting the athlete deletes their programme; deleting the trainer who
set a row keeps it, unsigned. Downgrade drops the table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Self-contained like 0001: no imports from the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "programme_items",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("athlete_id", sa.Integer, nullable=False),
        sa.Column("exercise", sa.String(64), nullable=False),
        sa.Column("sessions_per_week", sa.SmallInteger, nullable=False),
        sa.Column("reps_per_set", sa.SmallInteger, nullable=True),
        sa.Column("note", sa.String(500), nullable=False, server_default=""),
        sa.Column("set_by", sa.Integer, nullable=True),
        sa.Column("started_at", _tz(), nullable=False, server_default=sa.func.now()),
        sa.Column("ended_at", _tz(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_programme_items"),
        sa.ForeignKeyConstraint(
            ["athlete_id"], ["users.id"], ondelete="CASCADE", name="fk_programme_items_athlete_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["set_by"], ["users.id"], ondelete="SET NULL", name="fk_programme_items_set_by_users"
        ),
        sa.CheckConstraint("sessions_per_week BETWEEN 1 AND 14", name="ck_programme_items_sessions_per_week"),
        sa.CheckConstraint("reps_per_set IS NULL OR reps_per_set BETWEEN 1 AND 100",
                           name="ck_programme_items_reps_per_set"),
    )
    op.create_index("ix_programme_items_athlete_id", "programme_items", ["athlete_id"])


def downgrade() -> None:
    op.drop_index("ix_programme_items_athlete_id", table_name="programme_items")
    op.drop_table("programme_items")
