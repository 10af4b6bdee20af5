"""Queries. Every function takes the engine from ``init_db()`` first, returns plain typed records
(never live ORM objects), and raises StorageUnavailable when the database is away.

Role checks: functions with a ``viewer_id`` apply them when it is given (pages pass the logged-in
user); ``viewer_id=None`` means a trusted caller (CLI, tests). Admins see everything, trainers
their assigned athletes and the sessions they ran, athletes themselves.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from physio_core import felt as felt_module
from physio_core.assess import rep_feedback
from physio_core.results import AngleSeries, Rep, SessionResult
from physio_core.skeleton import PoseSequence
from physio_core.store import codec
from physio_core.store.db import run_read, run_write
from physio_core.store.models import (
    AuthSession,
    Feedback,
    FeedbackKind,
    PerformanceMetrics,
    Role,
    SensorData,
    SessionRecord,
    SessionStatus,
    TrainerAthlete,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from physio_core.imu.analyze import ImuSetResult
    from physio_core.imu.io import ImuSeries

log = logging.getLogger("physiotrack.store")

# metrics with their own column; everything else in SessionResult.metrics goes to `extra`
SCORE_COLUMNS = ("balance_score", "stability_score", "injury_risk")
# a running live page stores its frames every few seconds; this long without any: left running
LEFT_RUNNING_AFTER = timedelta(minutes=2)

_hasher = PasswordHasher()


class AccessDenied(PermissionError):
    """The viewer may not see or change this record."""


class NotFound(LookupError):
    """The record does not exist (any more)."""


# ------------------------------------------------------------------ records returned to callers


@dataclass(frozen=True)
class UserOut:
    id: int
    email: str | None
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    has_login: bool  # a password is set


@dataclass(frozen=True)
class SessionRow:
    id: int
    athlete_id: int
    athlete_name: str
    trainer_id: int | None
    exercise: str
    source: str
    started_at: datetime
    ended_at: datetime | None
    status: SessionStatus
    fps: float | None
    frames: int
    frames_with_person: int
    rep_count: int
    backend: str
    notes: str
    stability_score: float | None = None
    reps_judged: int | None = None  # reps the mistake model judged; None: no verdicts stored
    reps_correct: int | None = None
    last_data_at: datetime | None = None  # when its newest series row was stored (live: the last chunk)
    # where a session brought in from another PhysioTrack came from (``imports.origin_record``);
    # read with the session's detail only, None in lists
    imported: dict[str, Any] | None = None
    from_import: bool = False  # brought in from another PhysioTrack (lists say so too)
    pain: int | None = None  # how the set felt, as the athlete said (``set_felt``); None: not asked
    effort: int | None = None

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def left_running(self, now: datetime | None = None) -> bool:
        """An active session whose data stopped coming in (none for ``LEFT_RUNNING_AFTER``): its
        live page was most likely closed without STOP, or the connection or the server went. A
        session that never received data (opened by an older version's "Create session") is not one."""
        if self.status is not SessionStatus.ACTIVE or self.last_data_at is None:
            return False
        return (now or utcnow()) - self.last_data_at >= LEFT_RUNNING_AFTER

    def never_recorded(self, now: datetime | None = None) -> bool:
        """An active session into which nothing came for ``LEFT_RUNNING_AFTER`` since it was
        opened: a live page that closed before its first frames were stored, or an empty session
        made by an older version's "Create session". Nothing will come into it."""
        if self.status is not SessionStatus.ACTIVE or self.last_data_at is not None:
            return False
        return (now or utcnow()) - self.started_at >= LEFT_RUNNING_AFTER

    def receiving(self, now: datetime | None = None) -> bool:
        """An active session whose data is still coming in: a live page is recording it."""
        return (self.status is SessionStatus.ACTIVE and self.last_data_at is not None
                and not self.left_running(now))


@dataclass(frozen=True)
class MetricsOut:
    balance_score: float | None
    stability_score: float | None
    injury_risk: float | None
    extra: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class FeedbackOut:
    id: int
    session_id: int
    rep_index: int | None
    author_id: int | None
    kind: FeedbackKind
    text: str
    created_at: datetime


@dataclass
class SessionDetail:
    """A session with its series decoded (merged from live chunks if it is still running)."""

    session: SessionRow
    pose: PoseSequence | None
    angles: AngleSeries | None
    reps: list[Rep]
    metrics: MetricsOut | None
    feedback: list[FeedbackOut]
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # other kinds (imu...), raw payloads
    # the models' assessment, as in SessionResult (empty when it was not assessed)
    exercise_label: str | None = None
    exercise_timeline: list[dict] = field(default_factory=list)
    rep_assessments: list[dict] = field(default_factory=list)
    corrected_poses: dict[int, PoseSequence] = field(default_factory=dict)
    models: str | None = None  # the weights that assessed it, when they were recorded

    @property
    def scorable(self) -> bool:
        """Its stored skeleton can be scored (End and analyse, Score again): the person is in it
        at least twice."""
        return self.pose is not None and int(self.pose.valid.sum()) >= 2

    @property
    def video_path(self) -> Path | None:
        """The live session's recorded video ("Record video"), while its file is there."""
        paths = self.data.get(codec.KIND_VIDEO, {}).get("series", {}).get("path") or []
        path = Path(paths[0]) if paths else None
        return path if path is not None and path.is_file() else None

    @cached_property
    def imu_series(self) -> ImuSeries | None:
        """The wrist-sensor set's raw series, when this session holds one (decoded once: the
        session page draws it and offers its exports)."""
        if codec.KIND_IMU not in self.data:
            return None
        from physio_core.imu.io import ImuSeries

        return ImuSeries.from_json_payload(self.data[codec.KIND_IMU])

    @property
    def imu_analysis(self) -> dict[str, Any] | None:
        """What the IMU path found in the set (``ImuSetResult.to_dict()``), when it was stored."""
        return self.data.get(codec.KIND_IMU_ANALYSIS, {}).get("series") or None

    def to_result(self) -> SessionResult:
        """Rebuild the SessionResult (for reports and exports). Needs the pose series."""
        if self.pose is None:
            raise ValueError(f"session {self.session.id} has no stored pose series")
        s = self.session
        angles = self.angles or AngleSeries((), np.empty((len(self.pose), 0)), self.pose.times)
        metrics: dict[str, float] = {}
        if self.metrics is not None:
            metrics.update(
                {k: v for k in SCORE_COLUMNS if (v := getattr(self.metrics, k)) is not None}
            )
            metrics.update(
                {k: v for k, v in self.metrics.extra.items() if isinstance(v, (int, float))}
            )
        running = s.status is SessionStatus.ACTIVE  # its counts are stored when it ends
        return SessionResult(
            pose=self.pose,
            angles=angles,
            reps=list(self.reps),
            fps=s.fps or self.pose.fps,
            frames=len(self.pose) if running else s.frames,
            frames_with_person=int(self.pose.valid.sum()) if running else s.frames_with_person,
            backend=s.backend,
            exercise=s.exercise,
            source=s.source,
            started_at=s.started_at,
            ended_at=s.ended_at,
            metrics=metrics,
            # per-rep lines (rep_index set) are the rep_assessments' text: not the session's
            feedback=[f.text for f in self.feedback if f.kind == FeedbackKind.SYSTEM and f.rep_index is None],
            warnings=[f.text for f in self.feedback if f.kind == FeedbackKind.WARNING],
            analysis_warnings=[f.text for f in self.feedback if f.kind == FeedbackKind.ANALYSIS],
            exercise_label=self.exercise_label,
            exercise_timeline=list(self.exercise_timeline),
            rep_assessments=list(self.rep_assessments),
            corrected_poses=dict(self.corrected_poses),
            models=self.models,
        )


@dataclass(frozen=True)
class ProgressRow:
    """One ended session of an athlete, as the progress page charts it."""

    session_id: int
    date: datetime
    exercise: str
    reps: int
    duration_s: float | None
    rom_deg: dict[str, float]  # robust range of every angle over the session
    mean_rep_rom_deg: float | None  # mean ROM of the counted reps on their principal angle
    balance_score: float | None
    stability_score: float | None
    injury_risk: float | None
    metrics: dict[str, Any]  # the other stored metrics
    sensor_set: bool = False  # a wrist-IMU set (no joint angles; its stability is the sensor's)
    rep_angle: str | None = None  # the angle its reps were counted on (None: no rep)
    # angles measured in only part of the frames (kinematics.FULLY_MEASURED): their range leaps
    # across the gaps; stored since 2026-12-05, so older sessions have none
    rom_gaps: frozenset[str] = frozenset()
    pain: int | None = None  # 0-10 as the athlete said (``set_felt``); None: not asked
    effort: int | None = None

    @property
    def correct_share(self) -> float | None:
        """The share of the session's reps the models judged correct; None if none was judged."""
        verdicts = judged_reps(self.metrics, self.reps)
        return None if verdicts is None else verdicts[0] / verdicts[1]


def judged_reps(metrics: dict[str, Any], reps: int) -> tuple[int, int] | None:
    """(correct, judged) reps from a session's stored metrics; None if the models judged none."""
    bad = metrics.get("reps_incorrect")
    judged = metrics.get("reps_judged", reps)  # stored before reps_judged: every rep
    if bad is None or not judged:
        return None
    judged = int(judged)
    return min(judged, max(0, judged - int(bad))), judged


def _user_out(u: User) -> UserOut:
    return UserOut(
        id=u.id, email=u.email, display_name=u.display_name, role=Role(u.role),
        is_active=u.is_active, created_at=u.created_at, has_login=u.password_hash is not None,
    )


def _session_row(
    s: SessionRecord, athlete_name: str, m: PerformanceMetrics | None = None,
    last_data_at: datetime | None = None, from_import: bool = False,
) -> SessionRow:
    verdicts = judged_reps(m.extra or {}, s.rep_count) if m is not None else None
    return SessionRow(
        id=s.id, athlete_id=s.athlete_id, athlete_name=athlete_name, trainer_id=s.trainer_id,
        exercise=s.exercise, source=s.source, started_at=s.started_at, ended_at=s.ended_at,
        status=SessionStatus(s.status), fps=s.fps, frames=s.frames,
        frames_with_person=s.frames_with_person, rep_count=s.rep_count, backend=s.backend,
        notes=s.notes, stability_score=_finite_or_none(m.stability_score) if m is not None else None,
        reps_correct=verdicts[0] if verdicts else None, reps_judged=verdicts[1] if verdicts else None,
        last_data_at=last_data_at, from_import=bool(from_import), pain=s.pain, effort=s.effort,
    )


def _metrics_out(m: PerformanceMetrics) -> MetricsOut:
    return MetricsOut(m.balance_score, m.stability_score, m.injury_risk, dict(m.extra), m.created_at)


def _feedback_out(f: Feedback) -> FeedbackOut:
    return FeedbackOut(
        f.id, f.session_id, f.rep_index, f.author_id, FeedbackKind(f.kind), f.text, f.created_at
    )


def _finite_or_none(v: Any) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _jsonable(v: Any) -> Any:
    """Metrics may hold numpy scalars, NaN, tuples: make them valid JSON."""
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _finite_or_none(v)
    return v if v is None or isinstance(v, str) else str(v)


# ------------------------------------------------------------------ users and assignments


def _normalise_email(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    return email or None


def _check_name(name: str) -> str:
    """``name`` as given; ValueError when it holds a control character (PostgreSQL refuses a NUL,
    SQLite kept it)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValueError("a name cannot hold control characters")
    return name


def create_user(
    engine: Engine,
    email: str | None,
    display_name: str,
    role: Role | str = Role.ATHLETE,
    password: str | None = None,
    *,
    is_active: bool = True,
) -> UserOut:
    """Create a user; ``password`` (hashed with Argon2) gives them a login. Raises ValueError
    for an empty name, an unknown role or an e-mail that is already taken."""
    role = Role(role)
    name = _check_name(display_name.strip())
    if not name:
        raise ValueError("a user needs a display name")
    email = _normalise_email(email)
    pw_hash = _hasher.hash(password) if password else None

    def fn(s: Session) -> UserOut:
        if email and s.exec(select(User.id).where(User.email == email)).first() is not None:
            raise ValueError(f"a user with e-mail {email} already exists")
        u = User(email=email, display_name=name, role=role.value, password_hash=pw_hash,
                 is_active=is_active)
        s.add(u)
        s.flush()
        return _user_out(u)

    return run_write(engine, fn)


def get_user(engine: Engine, user_id: int) -> UserOut | None:
    return run_read(engine, lambda s: (u := s.get(User, user_id)) and _user_out(u))


def get_user_by_email(engine: Engine, email: str) -> UserOut | None:
    email = _normalise_email(email)
    return run_read(
        engine,
        lambda s: (u := s.exec(select(User).where(User.email == email)).first()) and _user_out(u),
    )


def list_users(
    engine: Engine, role: Role | str | None = None, *, include_inactive: bool = False
) -> list[UserOut]:
    q = select(User).order_by(sa.func.lower(User.display_name), User.id)
    if role is not None:
        q = q.where(User.role == Role(role).value)
    if not include_inactive:
        q = q.where(User.is_active == sa.true())
    return run_read(engine, lambda s: [_user_out(u) for u in s.exec(q)])


def end_logins(s: Session, user_id: int) -> int:
    """End every login of a user, inside the caller's transaction; how many there were."""
    return s.execute(sa.delete(AuthSession).where(AuthSession.user_id == user_id)).rowcount


def set_password(engine: Engine, user_id: int, password: str | None) -> None:
    """Set (or with None remove) a user's password; the user's logins end with the old one."""
    pw_hash = _hasher.hash(password) if password else None

    def fn(s: Session) -> None:
        u = s.get(User, user_id)
        if u is None:
            raise NotFound(f"no user {user_id}")
        u.password_hash = pw_hash
        end_logins(s, user_id)

    run_write(engine, fn)


def set_active(engine: Engine, user_id: int, active: bool) -> None:
    def fn(s: Session) -> None:
        u = s.get(User, user_id)
        if u is None:
            raise NotFound(f"no user {user_id}")
        u.is_active = active

    run_write(engine, fn)


def authenticate(engine: Engine, email: str, password: str) -> UserOut | None:
    """The active user with this e-mail and password, or None."""
    email = _normalise_email(email)

    def fn(s: Session) -> tuple[UserOut, str | None] | None:
        u = s.exec(select(User).where(User.email == email)).first()
        return None if u is None else (_user_out(u), u.password_hash)

    found = run_read(engine, fn)
    if found is None or not found[0].is_active or not found[1]:
        return None
    try:
        _hasher.verify(found[1], password)
    except (VerificationError, InvalidHashError):
        return None
    return found[0]


def _require_role(s: Session, user_id: int, *roles: Role) -> User:
    u = s.get(User, user_id)
    if u is None:
        raise NotFound(f"no user {user_id}")
    if Role(u.role) not in roles:
        raise ValueError(f"user {user_id} is a {u.role}, expected {' or '.join(r.value for r in roles)}")
    return u


def _assign(s: Session, trainer_id: int, athlete_id: int) -> None:
    _require_role(s, trainer_id, Role.TRAINER, Role.ADMIN)
    _require_role(s, athlete_id, Role.ATHLETE)
    if s.get(TrainerAthlete, (trainer_id, athlete_id)) is None:
        s.add(TrainerAthlete(trainer_id=trainer_id, athlete_id=athlete_id))


def assign_athlete(engine: Engine, trainer_id: int, athlete_id: int) -> None:
    """Let a trainer see an athlete (idempotent)."""
    run_write(engine, lambda s: _assign(s, trainer_id, athlete_id))


def unassign_athlete(engine: Engine, trainer_id: int, athlete_id: int) -> None:
    def fn(s: Session) -> None:
        link = s.get(TrainerAthlete, (trainer_id, athlete_id))
        if link is not None:
            s.delete(link)

    run_write(engine, fn)


def list_athletes(engine: Engine, trainer_id: int | None = None) -> list[UserOut]:
    """Active athletes: all of them, or those assigned to ``trainer_id``."""
    q = select(User).where(User.role == Role.ATHLETE.value, User.is_active == sa.true())
    if trainer_id is not None:
        q = q.join(TrainerAthlete, col(TrainerAthlete.athlete_id) == User.id).where(
            TrainerAthlete.trainer_id == trainer_id
        )
    q = q.order_by(sa.func.lower(User.display_name), User.id)
    return run_read(engine, lambda s: [_user_out(u) for u in s.exec(q)])


def list_trainers_of(engine: Engine, athlete_id: int) -> list[UserOut]:
    q = (
        select(User)
        .join(TrainerAthlete, col(TrainerAthlete.trainer_id) == User.id)
        .where(TrainerAthlete.athlete_id == athlete_id)
        .order_by(User.id)
    )
    return run_read(engine, lambda s: [_user_out(u) for u in s.exec(q)])


def get_or_create_athlete(engine: Engine, name: str, trainer_id: int | None = None) -> UserOut:
    """The athlete called ``name`` (case-insensitive), created without a login if missing.

    With ``trainer_id`` only that trainer's athletes are searched (another trainer's "Ana" is a
    different person) and a new athlete is assigned to the trainer.
    """
    name = _check_name(" ".join(name.split()))
    if not name:
        raise ValueError("an athlete needs a name")

    def fn(s: Session) -> UserOut:
        base = select(User).where(
            User.role == Role.ATHLETE.value, sa.func.lower(User.display_name) == name.lower()
        ).order_by(User.id)
        if trainer_id is not None:
            base = base.join(TrainerAthlete, col(TrainerAthlete.athlete_id) == User.id).where(
                TrainerAthlete.trainer_id == trainer_id
            )
        found = s.exec(base).first()
        if found is None:
            found = User(display_name=name, role=Role.ATHLETE.value)
            s.add(found)
            s.flush()
            if trainer_id is not None:
                _assign(s, trainer_id, found.id)
        return _user_out(found)

    return run_write(engine, fn)


# ------------------------------------------------------------------ access rules


def _viewer(s: Session, viewer_id: int) -> User:
    v = s.get(User, viewer_id)
    if v is None or not v.is_active:
        raise AccessDenied("unknown or inactive user")
    return v


def _may_see_athlete(s: Session, viewer: User, athlete_id: int) -> bool:
    if viewer.role == Role.ADMIN.value:
        return True
    if viewer.role == Role.ATHLETE.value:
        return viewer.id == athlete_id
    return s.get(TrainerAthlete, (viewer.id, athlete_id)) is not None


def _check_may_see(s: Session, viewer_id: int | None, athlete_id: int) -> None:
    """AccessDenied unless ``viewer_id`` may see the athlete (None: a trusted caller)."""
    if viewer_id is not None and not _may_see_athlete(s, _viewer(s, viewer_id), athlete_id):
        raise AccessDenied(f"you may not see athlete {athlete_id}")


def _may_see_session(s: Session, viewer: User, rec: SessionRecord) -> bool:
    return rec.trainer_id == viewer.id or _may_see_athlete(s, viewer, rec.athlete_id)


def can_view_athlete(engine: Engine, viewer_id: int, athlete_id: int) -> bool:
    def fn(s: Session) -> bool:
        v = s.get(User, viewer_id)
        return v is not None and v.is_active and _may_see_athlete(s, v, athlete_id)

    return run_read(engine, fn)


def _recorded_videos(s: Session, session_ids=None) -> list[Path]:
    """The video files recorded with these sessions (``session_ids``: ids or a subquery; None:
    every session)."""
    q = select(SensorData.payload).where(SensorData.kind == codec.KIND_VIDEO)
    if session_ids is not None:
        q = q.where(col(SensorData.session_id).in_(session_ids))
    return [Path(p) for doc in s.exec(q).all() for p in doc.get("series", {}).get("path", [])]


def recording_names(engine: Engine) -> set[str]:
    """The file names of every recording a session names (``physio_core.recordings`` deletes
    the others). Names, not paths: a relative data folder reads differently from another
    working directory, and recordings' names are unique."""
    return run_read(engine, lambda s: {p.name for p in _recorded_videos(s)})


def _remove_files(paths: Sequence[Path]) -> None:
    """Delete files that belonged to rows just deleted; one that cannot go is logged, since
    the rows are gone already."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not delete %s of a deleted session: %s", path, exc)


def delete_athlete(engine: Engine, athlete_id: int, viewer_id: int | None = None) -> bool:
    """Delete an athlete with all their sessions, series, metrics and feedback (the foreign keys
    cascade) and the videos recorded with those sessions. False if there was no such athlete.
    Admins, or a trainer the athlete is assigned to."""
    videos: list[Path] = []

    def fn(s: Session) -> bool:
        u = s.get(User, athlete_id)
        if u is None:
            return False
        if u.role != Role.ATHLETE.value:
            raise ValueError(f"user {athlete_id} is a {u.role}, not an athlete")
        if viewer_id is not None:
            v = _viewer(s, viewer_id)
            if v.role == Role.ATHLETE.value or not _may_see_athlete(s, v, athlete_id):
                raise AccessDenied("only an admin or the athlete's trainer may delete an athlete")
        videos[:] = _recorded_videos(s, select(SessionRecord.id).where(SessionRecord.athlete_id == athlete_id))
        s.delete(u)
        return True

    deleted = run_write(engine, fn)
    _remove_files(videos)
    return deleted


# ------------------------------------------------------------------ sessions


def _score_split(metrics: Mapping[str, Any]) -> tuple[dict[str, float | None], dict[str, Any]]:
    scores = {k: _finite_or_none(metrics[k]) if k in metrics else None for k in SCORE_COLUMNS}
    extra = {k: _jsonable(v) for k, v in metrics.items() if k not in SCORE_COLUMNS}
    return scores, extra


def _summary_metrics(angles: AngleSeries | None, reps: Sequence[Rep],
                     assessments: Sequence[dict] = (), models: str | None = None) -> dict[str, Any]:
    """Derived numbers stored with the metrics so the progress page needs no series; with the
    models' ``assessments``, how often each correction was asked ("hips lower": 2), and which
    weights (``models``) judged them."""
    out: dict[str, Any] = {"models": models} if models else {}
    focus = Counter(f for a in assessments for f in a.get("correction_focus", ()))
    if focus:
        out["correction_focus"] = dict(focus)
    if angles is not None and len(angles.times):
        out["rom_deg"] = codec.angle_ranges(angles)
        if gaps := codec.angle_gaps(angles):
            out["rom_gaps"] = gaps
    roms = [r.rom_deg for r in reps if math.isfinite(r.rom_deg)]
    if roms:
        out["mean_rep_rom_deg"] = round(float(np.mean(roms)), codec.ANGLE_DECIMALS)
        out["rep_angle"] = reps[0].angle
    return out


def _put_series(s: Session, session_id: int, kind: str, doc: dict[str, Any], seq: int = 0) -> None:
    s.add(SensorData(session_id=session_id, kind=kind, seq=seq, payload=doc))


def _series_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """A caller's ``extra_data`` entry as stored: a codec payload as it is, a plain dict wrapped in one."""
    return doc if "series" in doc else codec.payload({}, _jsonable(doc))


def _replace_series(s: Session, session_id: int, docs: Mapping[str, dict[str, Any]]) -> None:
    s.execute(sa.delete(SensorData).where(col(SensorData.session_id) == session_id,
                                          col(SensorData.kind).in_(list(docs))))
    s.flush()
    for kind, doc in docs.items():
        _put_series(s, session_id, kind, doc)


def _metrics_row(s: Session, session_id: int) -> PerformanceMetrics | None:
    q = select(PerformanceMetrics).where(PerformanceMetrics.session_id == session_id)
    return s.exec(q).first()


def _put_metrics(s: Session, session_id: int, metrics: Mapping[str, Any], summary: dict[str, Any]) -> None:
    scores, extra = _score_split(metrics)
    extra.update(summary)
    row = _metrics_row(s, session_id)
    if row is None:
        row = PerformanceMetrics(session_id=session_id)
    row.balance_score, row.stability_score, row.injury_risk = (scores[k] for k in SCORE_COLUMNS)
    row.extra = extra
    s.add(row)


def _put_result(
    s: Session, rec: SessionRecord, result: SessionResult, extra_data: Mapping[str, dict] | None
) -> None:
    """Write everything of ``result`` that belongs to the already-flushed session ``rec``."""
    docs = {
        codec.KIND_POSE: codec.encode_pose(result.pose),
        codec.KIND_ANGLES: codec.encode_angles(result.angles),
        codec.KIND_REPS: codec.encode_reps(result.reps),
    }
    if result.exercise_label is not None or result.rep_assessments:
        docs[codec.KIND_ASSESSMENT] = codec.encode_assessment(
            result.exercise_label, _jsonable(result.exercise_timeline), _jsonable(result.rep_assessments),
            result.models)
    if result.corrected_poses:
        docs[codec.KIND_CORRECTED] = codec.encode_corrected(result.corrected_poses)
    for kind, doc in (extra_data or {}).items():
        docs[kind] = _series_doc(doc)
    _replace_series(s, rec.id, docs)
    _put_metrics(s, rec.id, result.metrics,
                 _summary_metrics(result.angles, result.reps, result.rep_assessments, result.models))
    # the analysis' own messages are replaced; what trainers wrote stays
    generated = [FeedbackKind.SYSTEM.value, FeedbackKind.WARNING.value, FeedbackKind.ANALYSIS.value]
    s.execute(sa.delete(Feedback).where(col(Feedback.session_id) == rec.id,
                                        col(Feedback.kind).in_(generated)))
    for kind, texts in ((FeedbackKind.SYSTEM, result.feedback), (FeedbackKind.WARNING, result.warnings),
                        (FeedbackKind.ANALYSIS, result.analysis_warnings)):
        for text in texts:
            s.add(Feedback(session_id=rec.id, kind=kind.value, text=str(text)))
    for row in result.rep_assessments:  # one line per assessed rep, for the feedback lists
        if (text := rep_feedback(row)) is not None:
            s.add(Feedback(session_id=rec.id, kind=FeedbackKind.SYSTEM.value, rep_index=int(row["rep"]),
                           text=text))


def _put_trainer_lines(s: Session, session_id: int, lines: Sequence[tuple[str, int | None]],
                       author_id: int | None) -> None:
    for text, rep in lines:
        if text.strip():
            s.add(Feedback(session_id=session_id, kind=FeedbackKind.TRAINER.value, text=text.strip(),
                           author_id=author_id, rep_index=rep))


def save_session_result(
    engine: Engine,
    result: SessionResult,
    athlete_id: int,
    trainer_id: int | None = None,
    exercise: str | None = None,
    *,
    notes: str = "",
    extra_data: Mapping[str, dict[str, Any]] | None = None,
    trainer_lines: Sequence[tuple[str, int | None]] = (),
    author_id: int | None = None,
    felt: tuple[int | None, int | None] = (None, None),
) -> int:
    """Store a finished analysis as one ended session (one transaction) and return its id.

    ``exercise`` (unset or "auto") defaults to ``result.session_exercise`` (on auto, the
    recognised movement, so that the athlete's progress groups it with the sessions where it
    was named). ``extra_data`` adds more series by kind, e.g. ``{"imu": {"t": [...], "ax":
    [...]}}`` (column lists; stored under ``series``). ``trainer_lines``: (text, rep index)
    of trainer feedback stored with it, by ``author_id`` (an import's). ``felt``: (pain, effort),
    how the set felt (``set_felt``).
    """
    felt_module.check(*felt)
    started = result.started_at or utcnow()
    # no end time given: the recording's own length
    ended = result.ended_at or started + timedelta(seconds=result.frames / result.fps if result.fps else 0.0)

    def fn(s: Session) -> int:
        _require_role(s, athlete_id, Role.ATHLETE)
        rec = SessionRecord(
            trainer_id=trainer_id, athlete_id=athlete_id, exercise=exercise if exercise not in (None, "", "auto") else result.session_exercise,
            source=result.source or "", started_at=started, ended_at=ended,
            status=SessionStatus.ENDED.value, fps=_finite_or_none(result.fps), frames=int(result.frames),
            frames_with_person=int(result.frames_with_person), rep_count=result.rep_count,
            backend=result.backend or "", notes=notes, pain=felt[0], effort=felt[1],
        )
        s.add(rec)
        s.flush()
        _put_result(s, rec, result, extra_data)
        _put_trainer_lines(s, rec.id, trainer_lines, author_id)
        return rec.id

    return run_write(engine, fn)


def start_session(
    engine: Engine,
    athlete_id: int,
    trainer_id: int | None = None,
    exercise: str = "auto",
    *,
    source: str = "live",
    backend: str = "",
    fps: float | None = None,
    started_at: datetime | None = None,
    notes: str = "",
) -> int:
    """Open an active session (live page) and return its id."""

    def fn(s: Session) -> int:
        _require_role(s, athlete_id, Role.ATHLETE)
        rec = SessionRecord(
            trainer_id=trainer_id, athlete_id=athlete_id, exercise=exercise, source=source,
            started_at=started_at or utcnow(), status=SessionStatus.ACTIVE.value, fps=fps,
            backend=backend, notes=notes,
        )
        s.add(rec)
        s.flush()
        return rec.id

    return run_write(engine, fn)


def _session_or_missing(s: Session, session_id: int) -> SessionRecord:
    rec = s.get(SessionRecord, session_id)
    if rec is None:
        raise NotFound(f"no session {session_id}")
    return rec


def append_live_data(
    engine: Engine,
    session_id: int,
    *,
    pose: PoseSequence | None = None,
    angles: AngleSeries | None = None,
    reps: Sequence[Rep] | None = None,
    series: Mapping[str, Mapping[str, list]] | None = None,
) -> int:
    """Append a chunk of a running session's series; returns the chunk number.

    Chunks are cheap inserts (no rewrite of what is stored); ``end_session`` merges them. Times
    inside the chunks are the caller's (session-relative, increasing). ``series`` adds other kinds
    as column lists, e.g. ``{"imu": {"t": [...], "ax": [...]}}``.
    """
    docs: dict[str, dict[str, Any]] = {}
    if pose is not None and len(pose):
        docs[codec.KIND_POSE] = codec.encode_pose(pose)
    if angles is not None and len(angles.times):
        docs[codec.KIND_ANGLES] = codec.encode_angles(angles)
    if reps:
        docs[codec.KIND_REPS] = codec.encode_reps(list(reps))
    for kind, cols in (series or {}).items():
        docs[kind] = codec.payload({}, _jsonable(dict(cols)))

    def fn(s: Session) -> int:
        rec = _session_or_missing(s, session_id)
        if rec.status != SessionStatus.ACTIVE.value:
            raise ValueError(f"session {session_id} has ended; nothing can be appended")
        last = s.exec(
            select(sa.func.max(SensorData.seq)).where(SensorData.session_id == session_id)
        ).one()
        seq = 1 + (last or 0)
        for kind, doc in docs.items():
            _put_series(s, session_id, kind, doc, seq)
        return seq

    return run_write(engine, fn)


# what an analysis result writes (``_put_result``); a session's other series (a recording's
# path, sensor data) are not the analysis' to replace
_RESULT_KINDS = (codec.KIND_POSE, codec.KIND_ANGLES, codec.KIND_REPS, codec.KIND_ASSESSMENT, codec.KIND_CORRECTED)


def _load_series(s: Session, session_id: int, *, except_kinds: Sequence[str] = (),
                 kinds: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """The session's series by kind (chunks merged): all, but ``except_kinds``, or only ``kinds``."""
    query = select(SensorData).where(SensorData.session_id == session_id, col(SensorData.kind).not_in(except_kinds))
    if kinds is not None:
        query = query.where(col(SensorData.kind).in_(kinds))
    rows = s.exec(query.order_by(SensorData.kind, SensorData.seq)).all()
    chunks: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        chunks.setdefault(r.kind, []).append(r.payload)
    return {kind: codec.merge(docs) for kind, docs in chunks.items()}


def end_session(
    engine: Engine,
    session_id: int,
    result: SessionResult | None = None,
    *,
    ended_at: datetime | None = None,
    extra_data: Mapping[str, dict[str, Any]] | None = None,
) -> SessionRow:
    """Close a session. With ``result`` (the pipeline's final analysis) it replaces the live
    chunks; without, the chunks are merged into one row per kind and the counts taken from them."""

    def fn(s: Session) -> SessionRow:
        rec = _session_or_missing(s, session_id)
        rec.status = SessionStatus.ENDED.value
        rec.ended_at = ended_at or (result.ended_at if result and result.ended_at else None) or utcnow()
        if result is not None:
            rec.fps = _finite_or_none(result.fps)
            rec.frames, rec.frames_with_person = int(result.frames), int(result.frames_with_person)
            rec.rep_count = result.rep_count
            rec.backend = result.backend or rec.backend
            if result.session_exercise != "auto":
                rec.exercise = result.session_exercise
            kept = _load_series(s, session_id, except_kinds=_RESULT_KINDS)
            s.execute(sa.delete(SensorData).where(col(SensorData.session_id) == session_id))
            s.flush()
            _put_result(s, rec, result, {**kept, **(extra_data or {})})
        else:
            docs = _load_series(s, session_id)
            s.execute(sa.delete(SensorData).where(col(SensorData.session_id) == session_id))
            s.flush()
            for kind, doc in docs.items():
                _put_series(s, session_id, kind, doc)
            pose = codec.decode_pose(docs[codec.KIND_POSE]) if codec.KIND_POSE in docs else None
            angles = codec.decode_angles(docs[codec.KIND_ANGLES]) if codec.KIND_ANGLES in docs else None
            reps = codec.decode_reps(docs[codec.KIND_REPS]) if codec.KIND_REPS in docs else []
            if pose is not None:
                rec.frames, rec.frames_with_person = len(pose), int(pose.valid.sum())
                rec.fps = rec.fps or pose.fps
            rec.rep_count = len(reps)
            existing = _metrics_row(s, session_id)
            kept = dict(existing.extra) if existing else {}
            if existing:
                kept.update({k: v for k in SCORE_COLUMNS if (v := getattr(existing, k)) is not None})
            _put_metrics(s, session_id, kept, _summary_metrics(angles, reps))
        s.add(rec)
        s.flush()
        return _session_row(rec, s.get(User, rec.athlete_id).display_name)

    return run_write(engine, fn)


def split_session(engine: Engine, session_id: int, parts: Sequence[SessionResult]) -> list[int]:
    """An ended session as the sets ``parts`` (``physio_core.sets.split_sets`` of its stored
    pose), in one transaction; returns the sets' session ids. The session becomes the first set
    (its times, skeleton, angles, reps and scores are the set's) and keeps its notes, how it
    felt and its other series; each other set is a new session of the same athlete and trainer.
    A trainer's line on a rep goes to the set holding the rep's middle (or, for a rep between
    sets, the set nearest it in time), on the set's rep that overlaps it most (on no rep when
    none does); the other trainer lines stay with the first."""
    if len(parts) < 2:
        raise ValueError("a split needs two sets or more")

    def fn(s: Session) -> list[int]:
        rec = _session_or_missing(s, session_id)
        if rec.status != SessionStatus.ENDED.value:
            raise ValueError(f"session {session_id} has not ended: end and analyse it first")
        old = _load_series(s, session_id, kinds=(codec.KIND_REPS,))
        old_reps = codec.decode_reps(old[codec.KIND_REPS]) if codec.KIND_REPS in old else []
        recs = [rec]
        for k, part in enumerate(parts):
            if k:
                recs.append(SessionRecord(trainer_id=rec.trainer_id, athlete_id=rec.athlete_id,
                                          status=SessionStatus.ENDED.value, backend=rec.backend))
            r = recs[k]
            r.exercise, r.source = part.session_exercise, part.source
            r.started_at = part.started_at or rec.started_at
            r.ended_at = part.ended_at or r.started_at
            r.fps, r.frames = _finite_or_none(part.fps), int(part.frames)
            r.frames_with_person, r.rep_count = int(part.frames_with_person), part.rep_count
            s.add(r)
            s.flush()
            _put_result(s, r, part, None)
        lines = s.exec(select(Feedback).where(Feedback.session_id == rec.id,
                                              Feedback.kind == FeedbackKind.TRAINER.value,
                                              col(Feedback.rep_index).is_not(None))).all()
        for line in lines:
            rep = next((r for r in old_reps if r.index == line.rep_index), None)
            if rep is None:
                continue
            mid = (rep.start_s + rep.end_s) / 2  # in a set, else between: the set nearest in time
            k = min(range(len(parts)),
                    key=lambda k: max(parts[k].pose.times[0] - mid, mid - parts[k].pose.times[-1], 0))
            line.session_id = recs[k].id
            overlaps = [(min(r.end_s, rep.end_s) - max(r.start_s, rep.start_s), r.index) for r in parts[k].reps]
            line.rep_index = max(overlaps)[1] if overlaps and max(overlaps)[0] > 0 else None
            s.add(line)
        return [r.id for r in recs]

    return run_write(engine, fn)


def rescore_session(engine: Engine, session_id: int, result: SessionResult) -> SessionRow:
    """Replace an ended session's analysis (reps, the models' verdicts and scores, the analysis'
    own messages) by ``result``, a new analysis of its stored pose; its exercise becomes
    ``result.session_exercise``. Its other series, times, notes and trainers' feedback stay."""

    def fn(s: Session) -> SessionRow:
        rec = _session_or_missing(s, session_id)
        if rec.status != SessionStatus.ENDED.value:
            raise ValueError(f"session {session_id} has not ended: end and analyse it first")
        s.execute(sa.delete(SensorData).where(col(SensorData.session_id) == session_id,
                                              col(SensorData.kind).in_(_RESULT_KINDS)))
        s.flush()
        rec.rep_count = result.rep_count
        rec.exercise = result.session_exercise
        _put_result(s, rec, result, None)
        s.add(rec)
        s.flush()
        return _session_row(rec, s.get(User, rec.athlete_id).display_name)

    return run_write(engine, fn)


def _session_filters(
    q: Any, athlete_id: int | None, trainer_id: int | None, exercise: str | None,
    status: SessionStatus | str | None, since: datetime | None,
) -> Any:
    if athlete_id is not None:
        q = q.where(SessionRecord.athlete_id == athlete_id)
    if trainer_id is not None:
        q = q.where(SessionRecord.trainer_id == trainer_id)
    if exercise is not None:
        q = q.where(SessionRecord.exercise == exercise)
    if status is not None:
        q = q.where(SessionRecord.status == SessionStatus(status).value)
    if since is not None:
        q = q.where(col(SessionRecord.started_at) >= since)
    return q


def _visible_to(s: Session, q: Any, viewer_id: int | None) -> Any:
    """``q`` narrowed to the sessions ``viewer_id`` may see (all with no viewer)."""
    if viewer_id is None:
        return q
    v = _viewer(s, viewer_id)
    if v.role == Role.ATHLETE.value:
        return q.where(SessionRecord.athlete_id == v.id)
    if v.role == Role.TRAINER.value:
        mine = select(TrainerAthlete.athlete_id).where(TrainerAthlete.trainer_id == v.id)
        return q.where(sa.or_(SessionRecord.trainer_id == v.id, col(SessionRecord.athlete_id).in_(mine)))
    return q


def _last_data_at() -> Any:
    """When the session's newest series row was stored (a correlated subquery; the unique
    (session_id, kind, seq) index serves it)."""
    return (select(sa.func.max(SensorData.created_at))
            .where(SensorData.session_id == SessionRecord.id)
            .correlate(SessionRecord).scalar_subquery())


def _from_import() -> Any:
    """Whether the session holds an import's record (an EXISTS the same index serves)."""
    return (sa.exists().where(SensorData.session_id == SessionRecord.id, SensorData.kind == codec.KIND_IMPORTED)
            .correlate(SessionRecord))


def list_sessions(
    engine: Engine,
    *,
    viewer_id: int | None = None,
    athlete_id: int | None = None,
    trainer_id: int | None = None,
    exercise: str | None = None,
    status: SessionStatus | str | None = None,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[SessionRow]:
    """Sessions, newest first, filtered; with ``viewer_id`` only those the viewer may see. Each
    row carries the session's stability and judged reps when its metrics hold them."""
    q = (select(SessionRecord, User.display_name, PerformanceMetrics, _last_data_at(), _from_import())
         .join(User, col(User.id) == SessionRecord.athlete_id)
         .join(PerformanceMetrics, col(PerformanceMetrics.session_id) == SessionRecord.id, isouter=True))
    q = _session_filters(q, athlete_id, trainer_id, exercise, status, since)
    q = q.order_by(col(SessionRecord.started_at).desc(), col(SessionRecord.id).desc())
    q = q.offset(offset).limit(limit)

    def fn(s: Session) -> list[SessionRow]:
        return [_session_row(rec, name, m, last, imported)
                for rec, name, m, last, imported in s.exec(_visible_to(s, q, viewer_id))]

    return run_read(engine, fn)


def count_sessions(
    engine: Engine,
    *,
    viewer_id: int | None = None,
    athlete_id: int | None = None,
    trainer_id: int | None = None,
    exercise: str | None = None,
    status: SessionStatus | str | None = None,
    since: datetime | None = None,
) -> int:
    """How many sessions ``list_sessions`` would return with the same filters and no limit."""
    q = _session_filters(select(sa.func.count()).select_from(SessionRecord),
                         athlete_id, trainer_id, exercise, status, since)
    return run_read(engine, lambda s: int(s.exec(_visible_to(s, q, viewer_id)).one()))


def session_exercises(engine: Engine, *, viewer_id: int | None = None, athlete_id: int | None = None) -> list[str]:
    """The exercises of the sessions ``list_sessions`` would return with these filters, each once,
    sorted: what a filter by exercise can offer."""
    q = _session_filters(select(SessionRecord.exercise).distinct(), athlete_id, None, None, None, None)
    return run_read(engine, lambda s: sorted(e for e in s.exec(_visible_to(s, q, viewer_id)) if e))


def _put_imu_result(s: Session, session_id: int, result: ImuSetResult) -> None:
    """A wrist-sensor set's analysis beside its raw series: the analysis itself, its scores in
    ``performance_metrics`` and its reasons as the analysis' feedback (replacing any before)."""
    st = result.stability
    metrics = {"stability_score": st.score, "lift": result.lift, "imu_rep_period_s": result.reps.period_s,
               "imu_periodicity": result.reps.periodicity, "imu_tempo": st.tempo,
               "imu_amplitude": st.amplitude, "imu_bar_path": st.path}
    if result.prediction is not None:
        metrics["lift_confidence"] = result.prediction.confidence
    notes = [st.reason] if st.reason else []
    if result.rep_count == 0 and result.reps.reason:
        notes.append(result.reps.reason)
    _replace_series(s, session_id, {codec.KIND_IMU_ANALYSIS: codec.payload({}, _jsonable(result.to_dict()))})
    _put_metrics(s, session_id, metrics, {})
    s.execute(sa.delete(Feedback).where(col(Feedback.session_id) == session_id,
                                        col(Feedback.kind) == FeedbackKind.SYSTEM.value))
    for text in notes:
        s.add(Feedback(session_id=session_id, kind=FeedbackKind.SYSTEM.value, text=text))


def rescore_imu_session(engine: Engine, session_id: int, result: ImuSetResult) -> SessionRow:
    """Replace a stored wrist-sensor set's analysis by ``result``, a new analysis of its stored
    series (e.g. with the lift named); the set is filed under that lift. Its raw series, times,
    notes and trainers' feedback stay."""
    from physio_core.imu.io import IMU_BACKEND

    def fn(s: Session) -> SessionRow:
        rec = _session_or_missing(s, session_id)
        if rec.backend != IMU_BACKEND:
            raise ValueError(f"session {session_id} is not a wrist-sensor set")
        rec.exercise, rec.rep_count = result.exercise, result.rep_count
        _put_imu_result(s, rec.id, result)
        s.add(rec)
        s.flush()
        return _session_row(rec, s.get(User, rec.athlete_id).display_name)

    return run_write(engine, fn)


def save_imu_session(
    engine: Engine,
    series: ImuSeries,
    result: ImuSetResult,
    athlete_id: int,
    trainer_id: int | None = None,
    *,
    source: str = "",
    started_at: datetime | None = None,
    notes: str = "",
    trainer_lines: Sequence[tuple[str, int | None]] = (),
    author_id: int | None = None,
    extra_data: Mapping[str, dict[str, Any]] | None = None,
    felt: tuple[int | None, int | None] = (None, None),
) -> int:
    """Store one analysed wrist-IMU set as an ended session (one transaction) and return its id.

    The raw series goes to ``sensor_data`` (kind ``imu``) with the analysis beside it (kind
    ``imu_analysis``); the session is filed under the lift (``ImuSetResult.exercise``), its
    stability in ``performance_metrics`` and the reasons in ``feedback``. ``started_at``
    defaults to the sensor's own clock when the file has one (MetaMotion), else now.
    ``trainer_lines``, ``extra_data`` and ``felt`` as for ``save_session_result``."""
    from physio_core.imu.io import IMU_BACKEND  # imu.io: no models imported to read a name

    felt_module.check(*felt)
    epoch = series.meta.get("start_epoch_s")
    started = started_at or (datetime.fromtimestamp(epoch, UTC) if epoch else utcnow())

    def fn(s: Session) -> int:
        _require_role(s, athlete_id, Role.ATHLETE)
        rec = SessionRecord(
            trainer_id=trainer_id, athlete_id=athlete_id, exercise=result.exercise,
            source=source or str(series.meta.get("source") or ""), started_at=started,
            ended_at=started + timedelta(seconds=series.duration_s), status=SessionStatus.ENDED.value,
            fps=_finite_or_none(series.rate_hz), frames=len(series), frames_with_person=0,
            rep_count=result.rep_count, backend=IMU_BACKEND, notes=notes, pain=felt[0], effort=felt[1],
        )
        s.add(rec)
        s.flush()
        _replace_series(s, rec.id, {codec.KIND_IMU: series.to_json_payload(),
                                    **{k: _series_doc(v) for k, v in (extra_data or {}).items()}})
        _put_imu_result(s, rec.id, result)
        _put_trainer_lines(s, rec.id, trainer_lines, author_id)
        return rec.id

    return run_write(engine, fn)


def get_session_detail(
    engine: Engine, session_id: int, viewer_id: int | None = None
) -> SessionDetail | None:
    """The session with decoded series, metrics and feedback; None if it does not exist.
    Raises AccessDenied when ``viewer_id`` may not see it."""

    def fn(s: Session) -> SessionDetail | None:
        rec = s.get(SessionRecord, session_id)
        if rec is None:
            return None
        if viewer_id is not None and not _may_see_session(s, _viewer(s, viewer_id), rec):
            raise AccessDenied(f"you may not see session {session_id}")
        docs = _load_series(s, session_id)
        m = _metrics_row(s, session_id)
        fb = s.exec(select(Feedback).where(Feedback.session_id == session_id).order_by(Feedback.id)).all()
        pose_doc, angle_doc, rep_doc, assessed_doc, corrected_doc = (
            docs.pop(k, None) for k in (codec.KIND_POSE, codec.KIND_ANGLES, codec.KIND_REPS,
                                        codec.KIND_ASSESSMENT, codec.KIND_CORRECTED)
        )
        label, timeline, assessed, models = (codec.decode_assessment(assessed_doc) if assessed_doc
                                             else (None, [], [], None))
        last = s.exec(select(_last_data_at()).select_from(SessionRecord)
                      .where(SessionRecord.id == session_id)).one()
        row = _session_row(rec, s.get(User, rec.athlete_id).display_name, m, last)
        if codec.KIND_IMPORTED in docs:
            row = replace(row, imported=docs.pop(codec.KIND_IMPORTED).get("series") or None, from_import=True)
        return SessionDetail(
            session=row,
            pose=codec.decode_pose(pose_doc) if pose_doc else None,
            angles=codec.decode_angles(angle_doc) if angle_doc else None,
            reps=codec.decode_reps(rep_doc) if rep_doc else [],
            metrics=_metrics_out(m) if m else None,
            feedback=[_feedback_out(f) for f in fb],
            data=docs,
            exercise_label=label,
            exercise_timeline=timeline,
            rep_assessments=assessed,
            corrected_poses=codec.decode_corrected(corrected_doc) if corrected_doc else {},
            models=models,
        )

    return run_read(engine, fn)


def delete_session(engine: Engine, session_id: int, viewer_id: int | None = None) -> bool:
    """Delete a session with its series, metrics, feedback and recorded video."""
    videos: list[Path] = []

    def fn(s: Session) -> bool:
        rec = s.get(SessionRecord, session_id)
        if rec is None:
            return False
        if viewer_id is not None:
            v = _viewer(s, viewer_id)
            if v.role == Role.ATHLETE.value or not _may_see_session(s, v, rec):
                raise AccessDenied(f"you may not delete session {session_id}")
        videos[:] = _recorded_videos(s, [session_id])
        s.delete(rec)
        return True

    deleted = run_write(engine, fn)
    _remove_files(videos)
    return deleted


def set_felt(engine: Engine, session_id: int, pain: int | None, effort: int | None, *,
             unsaid_only: bool = False) -> bool:
    """How the set felt, as the athlete said: pain 0-10 (numeric rating scale) and effort 0-10
    (Borg CR10); None: not asked (``physio_core.felt``). ``unsaid_only``: left as it is where
    the pain or the effort was said already. Whether it was set."""
    felt_module.check(pain, effort)

    def fn(s: Session) -> bool:
        return _put_felt(s, _session_or_missing(s, session_id), pain, effort, unsaid_only)

    return run_write(engine, fn)


def _put_felt(s: Session, rec: SessionRecord, pain: int | None, effort: int | None, unsaid_only: bool) -> bool:
    if unsaid_only and (rec.pain is not None or rec.effort is not None):
        return False
    rec.pain, rec.effort = pain, effort
    s.add(rec)
    return True


def set_session_notes(engine: Engine, session_id: int, notes: str) -> None:
    def fn(s: Session) -> None:
        rec = _session_or_missing(s, session_id)
        rec.notes = notes
        s.add(rec)

    run_write(engine, fn)


def add_feedback(
    engine: Engine,
    session_id: int,
    text: str,
    *,
    kind: FeedbackKind | str = FeedbackKind.TRAINER,
    author_id: int | None = None,
    rep_index: int | None = None,
) -> FeedbackOut:
    text = text.strip()
    if not text:
        raise ValueError("feedback text is empty")
    kind = FeedbackKind(kind)

    def fn(s: Session) -> FeedbackOut:
        _session_or_missing(s, session_id)
        f = Feedback(session_id=session_id, kind=kind.value, text=text, author_id=author_id,
                     rep_index=rep_index)
        s.add(f)
        s.flush()
        return _feedback_out(f)

    return run_write(engine, fn)


def _progress_query():
    from physio_core.imu.io import IMU_BACKEND  # imu.io: no models imported to read a name

    # plain columns, not ORM objects: building thousands of SQLModel instances costs ten times the query
    return (
        select(SessionRecord.id, SessionRecord.athlete_id, SessionRecord.started_at, SessionRecord.ended_at,
               SessionRecord.exercise, SessionRecord.rep_count, SessionRecord.pain, SessionRecord.effort,
               (SessionRecord.backend == IMU_BACKEND).label("sensor_set"),
               PerformanceMetrics.extra, PerformanceMetrics.balance_score,
               PerformanceMetrics.stability_score, PerformanceMetrics.injury_risk)
        .join(PerformanceMetrics, col(PerformanceMetrics.session_id) == SessionRecord.id, isouter=True)
        .where(SessionRecord.status == SessionStatus.ENDED.value)
        .order_by(col(SessionRecord.started_at), col(SessionRecord.id))
    )


def _progress_row(r: sa.Row) -> ProgressRow:
    """A row of ``_progress_query`` (metrics columns None for a session without metrics)."""
    extra = dict(r.extra or {})
    rom = extra.pop("rom_deg", {}) or {}
    mean_rom = extra.pop("mean_rep_rom_deg", None)
    rep_angle = extra.pop("rep_angle", None)
    gaps = frozenset(extra.pop("rom_gaps", None) or ())
    return ProgressRow(
        session_id=r.id, date=r.started_at, exercise=r.exercise, reps=r.rep_count,
        duration_s=(r.ended_at - r.started_at).total_seconds() if r.ended_at else None,
        rom_deg={k: float(v) for k, v in rom.items()}, mean_rep_rom_deg=mean_rom,
        balance_score=r.balance_score, stability_score=r.stability_score,
        injury_risk=r.injury_risk, metrics=extra, sensor_set=bool(r.sensor_set), rep_angle=rep_angle,
        rom_gaps=gaps, pain=r.pain, effort=r.effort,
    )


def progress_for_athlete(
    engine: Engine,
    athlete_id: int,
    exercise: str | None = None,
    *,
    viewer_id: int | None = None,
) -> list[ProgressRow]:
    """Ended sessions of an athlete, oldest first, with reps, ROM per angle and scores.

    Reads only the sessions and metrics tables (ROM is summarised when a session is saved)."""
    q = _progress_query().where(SessionRecord.athlete_id == athlete_id)
    if exercise is not None:
        q = q.where(SessionRecord.exercise == exercise)

    def fn(s: Session) -> list[ProgressRow]:
        _check_may_see(s, viewer_id, athlete_id)
        return [_progress_row(r) for r in s.exec(q)]

    return run_read(engine, fn)


def progress_for_athletes(
    engine: Engine, athlete_ids: Sequence[int], *, viewer_id: int | None = None
) -> dict[int, list[ProgressRow]]:
    """``progress_for_athlete`` of many athletes in one query (a clinic's roster): every id
    maps to its rows, oldest first; AccessDenied if the viewer may not see one of them."""
    ids = sorted(set(athlete_ids))
    if not ids:
        return {}
    q = _progress_query().where(col(SessionRecord.athlete_id).in_(ids))

    def fn(s: Session) -> dict[int, list[ProgressRow]]:
        if viewer_id is not None:
            viewer = _viewer(s, viewer_id)
            if viewer.role == Role.TRAINER.value:
                assigned = set(s.exec(select(TrainerAthlete.athlete_id)
                                      .where(TrainerAthlete.trainer_id == viewer.id)))
                hidden = [i for i in ids if i not in assigned]
            else:
                hidden = [i for i in ids if not _may_see_athlete(s, viewer, i)]
            if hidden:
                raise AccessDenied(f"you may not see athlete {hidden[0]}")
        out: dict[int, list[ProgressRow]] = {i: [] for i in ids}
        for r in s.exec(q):
            out[r.athlete_id].append(_progress_row(r))
        return out

    return run_read(engine, fn)
