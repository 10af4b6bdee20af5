"""The days of the week an exercise of the programme is planned on: "Monday, Wednesday and
Friday" (the pages say what is planned today and draw the home sheet's boxes on those days).

One nullable column on ``programme_items``, ``days_mask``: a bit a day, Monday the lowest (1-127,
checked by the database; NULL: no days said, as in every item stored before). Downgrade drops it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Self-contained like 0001: no imports from the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN with the check inline, as 0010: SQLite takes it without a table rebuild
    op.add_column("programme_items", sa.Column("days_mask", sa.SmallInteger(), sa.CheckConstraint(
        "days_mask IS NULL OR days_mask BETWEEN 1 AND 127",
        name=op.f("ck_programme_items_days_mask")), nullable=True))


def downgrade() -> None:
    op.drop_column("programme_items", "days_mask")
