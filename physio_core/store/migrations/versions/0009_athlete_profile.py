"""What the athlete's staff say about the athlete: the affected side (the injured or operated
limb's, which Progress compares against the other: the limb symmetry index), the condition in
words and the day of the injury or the operation (pages say how many weeks since).

A table of its own, ``athlete_profiles``, one row at most per athlete (the side ``left`` /
``right`` or NULL, checked by the database; no row: nothing said), deleted with the athlete. Not
columns of ``users``: staff have no side, and code of earlier revisions reads ``users`` as it
was. Downgrade drops the table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Self-contained like 0001: no imports from the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "athlete_profiles",
        sa.Column("athlete_id", sa.Integer, nullable=False),
        sa.Column("affected_side", sa.String(8), nullable=True),
        sa.Column("condition", sa.String(200), nullable=False, server_default=""),
        sa.Column("since", sa.Date, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("athlete_id", name="pk_athlete_profiles"),
        sa.ForeignKeyConstraint(["athlete_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_athlete_profiles_athlete_id_users"),
        sa.CheckConstraint("affected_side IN ('left', 'right')", name="ck_athlete_profiles_affected_side"),
    )


def downgrade() -> None:
    op.drop_table("athlete_profiles")
