"""SQLModel tables. The schema itself is created only by the Alembic migrations in ``migrations/``;
``tests/test_store.py`` checks that these classes and the migrated database agree."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

# deterministic constraint names, so later migrations (and SQLite batch mode) can refer to them
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Role(StrEnum):
    TRAINER = "trainer"
    ATHLETE = "athlete"
    ADMIN = "admin"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class FeedbackKind(StrEnum):
    SYSTEM = "system"  # written by the analysis (mistakes, cues)
    TRAINER = "trainer"  # written by a person
    WARNING = "warning"  # about the recording itself ("two people in view at 3.2 s")
    # the scoring's own messages ("Most reps look like…"), replaced when the session is scored again
    ANALYSIS = "analysis"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC on the way out from every backend (SQLite keeps no zone).

    Naive datetimes going in are taken as local time, as ``datetime.now()`` produces them.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB where available (queryable metrics); plain JSON text elsewhere
JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _created_at() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=sa.Column(UTCDateTime(), nullable=False, server_default=sa.func.now()),
    )


# pages link to athletes and sessions by id: a deleted one's id must not open a newer row
# (PostgreSQL's sequences never go back; SQLite needs AUTOINCREMENT, migration 0004)
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def _fk(target: str, ondelete: str, nullable: bool, index: bool = True) -> sa.Column:
    return sa.Column(
        sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
    )


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("role IN ('trainer', 'athlete', 'admin')", name="role"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    # NULL for athletes a trainer creates by name only (they have no login)
    email: str | None = Field(default=None, sa_column=sa.Column(sa.String(320), unique=True))
    display_name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    role: str = Field(sa_column=sa.Column(sa.String(16), nullable=False, index=True))
    password_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    created_at: datetime = _created_at()
    is_active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )


class TrainerAthlete(SQLModel, table=True):
    __tablename__ = "trainer_athlete"

    trainer_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        )
    )
    athlete_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    created_at: datetime = _created_at()


class SessionRecord(SQLModel, table=True):
    """One recording (upload or live) of one athlete."""

    __tablename__ = "sessions"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'ended')", name="status"),
        sa.CheckConstraint("pain BETWEEN 0 AND 10", name="pain"),
        sa.CheckConstraint("effort BETWEEN 0 AND 10", name="effort"),
        sa.Index("ix_sessions_athlete_id_started_at", "athlete_id", "started_at"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    trainer_id: int | None = Field(default=None, sa_column=_fk("users.id", "SET NULL", True))
    athlete_id: int = Field(sa_column=_fk("users.id", "CASCADE", False, index=False))
    exercise: str = Field(
        default="auto", sa_column=sa.Column(sa.String(64), nullable=False, server_default="auto")
    )
    source: str = Field(
        default="", sa_column=sa.Column(sa.String(512), nullable=False, server_default="")
    )
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    ended_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    status: str = Field(
        default=SessionStatus.ACTIVE.value,
        sa_column=sa.Column(sa.String(8), nullable=False, server_default="active"),
    )
    fps: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    frames: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    frames_with_person: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    rep_count: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    backend: str = Field(
        default="", sa_column=sa.Column(sa.String(64), nullable=False, server_default="")
    )
    notes: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    # how the set felt, as the athlete said (None: not asked): pain on the 0-10 numeric rating
    # scale (0 none, 10 the worst imaginable) and effort on Borg's CR10 scale (0 rest, 10 maximal)
    pain: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger))
    effort: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger))


class SensorData(SQLModel, table=True):
    """A per-frame series of one session as compact JSON (see ``codec.py`` for the layout).

    One row per (session, kind) once a session has ended; a live session appends chunks with
    increasing ``seq`` that ``end_session`` merges into seq 0.
    """

    __tablename__ = "sensor_data"
    __table_args__ = (sa.UniqueConstraint("session_id", "kind", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=_fk("sessions.id", "CASCADE", False, index=False))
    # pose3d | angles | reps | imu ...; the models' report: assessment | corrected_pose
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    seq: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    payload: dict = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime = _created_at()


class PerformanceMetrics(SQLModel, table=True):
    __tablename__ = "performance_metrics"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    balance_score: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    stability_score: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    injury_risk: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    # every other metric, plus "rom_deg": {angle: range} used by the progress page
    extra: dict = Field(default_factory=dict, sa_column=sa.Column(JSONDoc, nullable=False))
    created_at: datetime = _created_at()


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"
    __table_args__ = (sa.CheckConstraint("kind IN ('system', 'trainer', 'warning', 'analysis')", name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=_fk("sessions.id", "CASCADE", False))
    rep_index: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    author_id: int | None = Field(default=None, sa_column=_fk("users.id", "SET NULL", True, index=False))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = _created_at()


# ------------------------------------------------------------------ added by migration 0002 (auth)


class AuthSession(SQLModel, table=True):
    """A login: only the SHA-256 of the bearer token is stored, so a leaked table logs nobody in."""

    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    user_id: int = Field(sa_column=_fk("users.id", "CASCADE", False))
    created_at: datetime = _created_at()
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))


class RomTarget(SQLModel, table=True):
    """Range-of-motion goal a trainer sets for one athlete, per angle ('' exercise = any)."""

    __tablename__ = "rom_targets"
    __table_args__ = (sa.UniqueConstraint("athlete_id", "exercise", "angle"),)

    id: int | None = Field(default=None, primary_key=True)
    athlete_id: int = Field(sa_column=_fk("users.id", "CASCADE", False, index=False))
    exercise: str = Field(
        default="", sa_column=sa.Column(sa.String(64), nullable=False, server_default="")
    )
    angle: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    target_deg: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    set_by: int | None = Field(default=None, sa_column=_fk("users.id", "SET NULL", True, index=False))
    updated_at: datetime = _created_at()


class ProgrammeItem(SQLModel, table=True):
    """One exercise of an athlete's programme as their trainer set it: sessions a week and, if
    said, reps a set. Taken off (or changed) it is ended, not deleted, so that the weeks it
    covered keep the plan they had (``physio_core.programme``)."""

    __tablename__ = "programme_items"
    __table_args__ = (
        sa.CheckConstraint("sessions_per_week BETWEEN 1 AND 14", name="sessions_per_week"),
        sa.CheckConstraint("reps_per_set IS NULL OR reps_per_set BETWEEN 1 AND 100", name="reps_per_set"),
        sa.CheckConstraint("sets_per_session IS NULL OR sets_per_session BETWEEN 1 AND 20", name="sets_per_session"),
        sa.CheckConstraint("days_mask IS NULL OR days_mask BETWEEN 1 AND 127", name="days_mask"),
    )

    id: int | None = Field(default=None, primary_key=True)
    athlete_id: int = Field(sa_column=_fk("users.id", "CASCADE", False))
    exercise: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    sessions_per_week: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    reps_per_set: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger, nullable=True))
    # a session of the programme is a day with the exercise; its sets are stored sessions (0010)
    sets_per_session: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger, nullable=True))
    # the days of the week it is planned on, a bit a day, Monday the lowest; None: not said (0012)
    days_mask: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger, nullable=True))
    note: str = Field(default="", sa_column=sa.Column(sa.String(500), nullable=False, server_default=""))
    set_by: int | None = Field(default=None, sa_column=_fk("users.id", "SET NULL", True, index=False))
    started_at: datetime = _created_at()
    ended_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))


class AthleteProfile(SQLModel, table=True):
    """What an athlete's staff say about the athlete: the affected side, the injured or operated
    one, which Progress compares against the other (the limb symmetry index), the condition in
    words and the day of the injury or operation. One row at most per athlete; none: nothing said."""

    __tablename__ = "athlete_profiles"
    __table_args__ = (sa.CheckConstraint("affected_side IN ('left', 'right')", name="affected_side"),)

    athlete_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))
    affected_side: str | None = Field(default=None, sa_column=sa.Column(sa.String(8), nullable=True))
    condition: str = Field(default="", sa_column=sa.Column(sa.String(200), nullable=False, server_default=""))
    since: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    updated_at: datetime = _created_at()


class MorningPain(SQLModel, table=True):
    """The pain an athlete felt on the morning of ``day`` (0-10), after training the day before
    (the pain-monitoring model, ``physio_core.felt``): said by the athlete or written down by
    their staff. One per athlete and day."""

    __tablename__ = "morning_pain"
    __table_args__ = (sa.UniqueConstraint("athlete_id", "day"),
                      sa.CheckConstraint("pain BETWEEN 0 AND 10", name="pain"))

    id: int | None = Field(default=None, primary_key=True)
    athlete_id: int = Field(sa_column=_fk("users.id", "CASCADE", False, index=False))
    day: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    pain: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    said_by: int | None = Field(default=None, sa_column=_fk("users.id", "SET NULL", True, index=False))
    said_at: datetime = _created_at()
