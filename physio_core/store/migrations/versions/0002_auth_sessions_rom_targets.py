"""Login sessions (hashed bearer tokens with an expiry) and per-athlete range-of-motion targets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Self-contained like 0001: no imports from the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("created_at", _tz(), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", _tz(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auth_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name="fk_auth_sessions_user_id_users"
        ),
        sa.UniqueConstraint("token_hash", name="uq_auth_sessions_token_hash"),
    )
    op.create_index("ix_auth_sessions_user_id", "auth_sessions", ["user_id"])
    op.create_index("ix_auth_sessions_expires_at", "auth_sessions", ["expires_at"])

    op.create_table(
        "rom_targets",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("athlete_id", sa.Integer, nullable=False),
        sa.Column("exercise", sa.String(64), nullable=False, server_default=""),
        sa.Column("angle", sa.String(64), nullable=False),
        sa.Column("target_deg", sa.Float, nullable=False),
        sa.Column("set_by", sa.Integer, nullable=True),
        sa.Column("updated_at", _tz(), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_rom_targets"),
        sa.ForeignKeyConstraint(
            ["athlete_id"], ["users.id"], ondelete="CASCADE", name="fk_rom_targets_athlete_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["set_by"], ["users.id"], ondelete="SET NULL", name="fk_rom_targets_set_by_users"
        ),
        sa.UniqueConstraint(
            "athlete_id", "exercise", "angle", name="uq_rom_targets_athlete_id_exercise_angle"
        ),
    )


def downgrade() -> None:
    op.drop_table("rom_targets")
    op.drop_index("ix_auth_sessions_expires_at", table_name="auth_sessions")
    op.drop_index("ix_auth_sessions_user_id", table_name="auth_sessions")
    op.drop_table("auth_sessions")
