"""Initial schema: users, trainer_athlete, sessions, sensor_data, performance_metrics, feedback.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Self-contained on purpose (no imports from the app), so it keeps meaning what it meant when the
models change later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONB_OR_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _created_at() -> sa.Column:
    return sa.Column("created_at", _tz(), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        _created_at(),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.CheckConstraint("role IN ('trainer', 'athlete', 'admin')", name="ck_users_role"),
    )
    op.create_index("ix_users_role", "users", ["role"])

    op.create_table(
        "trainer_athlete",
        sa.Column("trainer_id", sa.Integer, nullable=False),
        sa.Column("athlete_id", sa.Integer, nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("trainer_id", "athlete_id", name="pk_trainer_athlete"),
        sa.ForeignKeyConstraint(
            ["trainer_id"], ["users.id"], ondelete="CASCADE",
            name="fk_trainer_athlete_trainer_id_users",
        ),
        sa.ForeignKeyConstraint(
            ["athlete_id"], ["users.id"], ondelete="CASCADE",
            name="fk_trainer_athlete_athlete_id_users",
        ),
    )
    op.create_index("ix_trainer_athlete_athlete_id", "trainer_athlete", ["athlete_id"])

    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("trainer_id", sa.Integer, nullable=True),
        sa.Column("athlete_id", sa.Integer, nullable=False),
        sa.Column("exercise", sa.String(64), nullable=False, server_default="auto"),
        sa.Column("source", sa.String(512), nullable=False, server_default=""),
        sa.Column("started_at", _tz(), nullable=False),
        sa.Column("ended_at", _tz(), nullable=True),
        sa.Column("status", sa.String(8), nullable=False, server_default="active"),
        sa.Column("fps", sa.Float, nullable=True),
        sa.Column("frames", sa.Integer, nullable=False, server_default="0"),
        sa.Column("frames_with_person", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rep_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("backend", sa.String(64), nullable=False, server_default=""),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.ForeignKeyConstraint(
            ["trainer_id"], ["users.id"], ondelete="SET NULL", name="fk_sessions_trainer_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["athlete_id"], ["users.id"], ondelete="CASCADE", name="fk_sessions_athlete_id_users"
        ),
        sa.CheckConstraint("status IN ('active', 'ended')", name="ck_sessions_status"),
    )
    op.create_index("ix_sessions_trainer_id", "sessions", ["trainer_id"])
    op.create_index("ix_sessions_athlete_id_started_at", "sessions", ["athlete_id", "started_at"])

    op.create_table(
        "sensor_data",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("session_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("payload", sa.JSON, nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_sensor_data"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], ondelete="CASCADE",
            name="fk_sensor_data_session_id_sessions",
        ),
        sa.UniqueConstraint("session_id", "kind", "seq", name="uq_sensor_data_session_id_kind_seq"),
    )

    op.create_table(
        "performance_metrics",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("session_id", sa.Integer, nullable=False),
        sa.Column("balance_score", sa.Float, nullable=True),
        sa.Column("stability_score", sa.Float, nullable=True),
        sa.Column("injury_risk", sa.Float, nullable=True),
        sa.Column("extra", JSONB_OR_JSON, nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_performance_metrics"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], ondelete="CASCADE",
            name="fk_performance_metrics_session_id_sessions",
        ),
        sa.UniqueConstraint("session_id", name="uq_performance_metrics_session_id"),
    )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("session_id", sa.Integer, nullable=False),
        sa.Column("rep_index", sa.Integer, nullable=True),
        sa.Column("author_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], ondelete="CASCADE",
            name="fk_feedback_session_id_sessions",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], ondelete="SET NULL", name="fk_feedback_author_id_users"
        ),
        sa.CheckConstraint("kind IN ('system', 'trainer', 'warning')", name="ck_feedback_kind"),
    )
    op.create_index("ix_feedback_session_id", "feedback", ["session_id"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("performance_metrics")
    op.drop_table("sensor_data")
    op.drop_table("sessions")
    op.drop_table("trainer_athlete")
    op.drop_table("users")
