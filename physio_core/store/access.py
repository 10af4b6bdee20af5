"""The role-checked API the pages call: every function takes the logged-in ``viewer_id`` and
raises AccessDenied when that user's role does not allow the action.

Rules (the same ones ``repo`` applies to reads given a viewer):

* admin: everything, including users, roles, passwords and trainer-athlete assignments;
* trainer: the athletes assigned to them (and the sessions they ran): create sessions for them,
  end and analyse them, write notes and feedback, set range-of-motion targets, create new
  athletes (assigned to themselves), delete their athletes;
* athlete: their own sessions, progress and targets (read), their own recordings; never another
  athlete's data, never feedback, targets, users or assignments.

The checks run inside the same transaction as the write wherever the write is simple enough to
live here; the bigger writes (saving a result) check first and then call ``repo``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from physio_core import felt
from physio_core.results import AngleSeries, Rep, SessionResult, plausible_filming_time
from physio_core.skeleton import PoseSequence
from physio_core.store import repo
from physio_core.store.db import run_read, run_write
from physio_core.store.models import (
    AthleteProfile,
    Feedback,
    FeedbackKind,
    MorningPain,
    ProgrammeItem,
    Role,
    RomTarget,
    SessionRecord,
    SessionStatus,
    TrainerAthlete,
    User,
    utcnow,
)
from physio_core.store.repo import AccessDenied, FeedbackOut, NotFound, SessionRow, UserOut

if TYPE_CHECKING:
    from physio_core.imu.analyze import ImuSetResult

MIN_PASSWORD_LENGTH = 8
# one @, a dot after it, no spaces nor control characters (PostgreSQL refuses a NUL in text)
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


@dataclass(frozen=True)
class RomTargetOut:
    athlete_id: int
    exercise: str  # "" = any exercise
    angle: str
    target_deg: float
    set_by: int | None
    updated_at: datetime


@dataclass(frozen=True)
class ProgrammeItemOut:
    """One exercise of an athlete's programme (``models.ProgrammeItem``)."""

    id: int
    athlete_id: int
    exercise: str
    sessions_per_week: int
    reps_per_set: int | None
    note: str
    set_by: int | None
    started_at: datetime
    ended_at: datetime | None  # None: in the programme now
    sets_per_session: int | None = None  # None: not said
    days: tuple[int, ...] = ()  # the days of the week it is planned on, 0 Monday .. 6 Sunday; (): not said


def check_password_strength(password: str) -> None:
    """Length is what matters (NIST SP 800-63B); no composition rules."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def check_email(email: str | None) -> str:
    """The e-mail of a login as stored (trimmed, lower case); ValueError unless it looks like one."""
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise ValueError("please enter a valid e-mail address")
    return email


# ------------------------------------------------------------------ checks (inside a session)


def _role(u: User) -> Role:
    return Role(u.role)


def _admin(s: Session, viewer_id: int) -> User:
    v = repo._viewer(s, viewer_id)
    if _role(v) is not Role.ADMIN:
        raise AccessDenied("only an administrator may do this")
    return v


def _staff_for_athlete(s: Session, viewer_id: int, athlete_id: int) -> User:
    """An admin, or a trainer the athlete is assigned to."""
    v = repo._viewer(s, viewer_id)
    if _role(v) is Role.ATHLETE or not repo._may_see_athlete(s, v, athlete_id):
        raise AccessDenied(f"only an admin or a trainer of athlete {athlete_id} may do this")
    return v


def _may_record_for(s: Session, viewer_id: int, athlete_id: int) -> User:
    """Staff of the athlete, or the athlete themself (a recording at home)."""
    v = repo._viewer(s, viewer_id)
    if not repo._may_see_athlete(s, v, athlete_id):
        raise AccessDenied(f"you may not record sessions for athlete {athlete_id}")
    return v


def _session_for(s: Session, viewer_id: int, session_id: int, *, staff: bool) -> tuple[User, SessionRecord]:
    rec = s.get(SessionRecord, session_id)
    if rec is None:
        raise NotFound(f"no session {session_id}")
    v = repo._viewer(s, viewer_id)
    if not repo._may_see_session(s, v, rec) or (staff and _role(v) is Role.ATHLETE):
        raise AccessDenied(f"you may not change session {session_id}")
    return v, rec


def may_manage_athlete(engine: Engine, viewer_id: int, athlete_id: int) -> bool:
    """True for an admin or a trainer of the athlete (pages use it to show staff-only actions)."""

    def fn(s: Session) -> bool:
        try:
            _staff_for_athlete(s, viewer_id, athlete_id)
        except AccessDenied:
            return False
        return True

    return run_read(engine, fn)


# ------------------------------------------------------------------ users and assignments


def list_users_as(engine: Engine, viewer_id: int, role: Role | str | None = None) -> list[UserOut]:
    """All users, inactive ones included (admins only)."""
    run_read(engine, lambda s: _admin(s, viewer_id))
    return repo.list_users(engine, role, include_inactive=True)


def athletes_for(engine: Engine, viewer_id: int) -> list[UserOut]:
    """The athletes this viewer may work with: all (admin), assigned (trainer), self (athlete)."""
    viewer = run_read(engine, lambda s: repo._user_out(repo._viewer(s, viewer_id)))
    if viewer.role is Role.ADMIN:
        return repo.list_athletes(engine)
    if viewer.role is Role.TRAINER:
        return repo.list_athletes(engine, viewer.id)
    return [viewer]


def create_user_as(
    engine: Engine,
    viewer_id: int,
    email: str | None,
    display_name: str,
    role: Role | str = Role.ATHLETE,
    password: str | None = None,
) -> UserOut:
    """Admins create any user; trainers create athletes (assigned to themselves)."""
    role = Role(role)
    viewer = run_read(engine, lambda s: repo._user_out(repo._viewer(s, viewer_id)))
    if viewer.role is Role.ATHLETE or (viewer.role is Role.TRAINER and role is not Role.ATHLETE):
        raise AccessDenied("only an administrator may create trainers and administrators")
    if password is not None:
        check_password_strength(password)
        if not (email or "").strip():  # else the account reads "can log in" and nobody can
            raise ValueError("a password needs an e-mail to log in with: give one, or leave the password empty")
    if (email or "").strip():
        email = check_email(email)
    user = repo.create_user(engine, email, display_name, role, password)
    if viewer.role is Role.TRAINER:
        repo.assign_athlete(engine, viewer.id, user.id)
    return user


def add_athlete_as(engine: Engine, viewer_id: int, name: str) -> UserOut:
    """The sidebar's "new athlete": find or create by name, scoped to a trainer's own athletes."""
    viewer = run_read(engine, lambda s: repo._user_out(repo._viewer(s, viewer_id)))
    if viewer.role is Role.ATHLETE:
        raise AccessDenied("athletes cannot create athletes")
    return repo.get_or_create_athlete(
        engine, name, trainer_id=viewer.id if viewer.role is Role.TRAINER else None
    )


def set_active_as(engine: Engine, viewer_id: int, user_id: int, active: bool) -> None:
    def fn(s: Session) -> None:
        _admin(s, viewer_id)
        if user_id == viewer_id and not active:
            raise ValueError("you cannot deactivate your own account")
        u = s.get(User, user_id)
        if u is None:
            raise NotFound(f"no user {user_id}")
        u.is_active = active
        if not active:  # log them out everywhere
            repo.end_logins(s, user_id)

    run_write(engine, fn)


def set_password_as(engine: Engine, viewer_id: int, user_id: int, password: str) -> None:
    """Admins reset anyone's password; everyone else only their own (use auth.change_password,
    which also asks for the old one)."""
    check_password_strength(password)

    def fn(s: Session) -> None:
        v = repo._viewer(s, viewer_id)
        if v.id != user_id and _role(v) is not Role.ADMIN:
            raise AccessDenied("only an administrator may set another user's password")

    run_read(engine, fn)
    repo.set_password(engine, user_id, password)


def set_login_as(engine: Engine, viewer_id: int, user_id: int, email: str, password: str) -> UserOut:
    """Give an existing user (e.g. an athlete a trainer created by name) an e-mail login."""
    check_password_strength(password)
    email_n = check_email(email)
    pw_hash = repo._hasher.hash(password)

    def fn(s: Session) -> UserOut:
        _admin(s, viewer_id)
        u = s.get(User, user_id)
        if u is None:
            raise NotFound(f"no user {user_id}")
        taken = s.exec(select(User.id).where(User.email == email_n, User.id != user_id)).first()
        if taken is not None:
            raise ValueError(f"a user with e-mail {email_n} already exists")
        u.email, u.password_hash = email_n, pw_hash
        s.add(u)
        repo.end_logins(s, user_id)  # a new password ends the logins made with the old one (a leaked one)
        s.flush()
        return repo._user_out(u)

    return run_write(engine, fn)


def assign_as(engine: Engine, viewer_id: int, trainer_id: int, athlete_id: int) -> None:
    def fn(s: Session) -> None:
        _admin(s, viewer_id)
        repo._assign(s, trainer_id, athlete_id)

    run_write(engine, fn)


def unassign_as(engine: Engine, viewer_id: int, trainer_id: int, athlete_id: int) -> None:
    def fn(s: Session) -> None:
        _admin(s, viewer_id)
        link = s.get(TrainerAthlete, (trainer_id, athlete_id))
        if link is not None:
            s.delete(link)

    run_write(engine, fn)


def assignments_as(engine: Engine, viewer_id: int) -> list[tuple[int, int]]:
    """All (trainer_id, athlete_id) links (admins only)."""

    def fn(s: Session) -> list[tuple[int, int]]:
        _admin(s, viewer_id)
        rows = s.exec(select(TrainerAthlete.trainer_id, TrainerAthlete.athlete_id)
                      .order_by(TrainerAthlete.trainer_id, TrainerAthlete.athlete_id)).all()
        return [(int(t), int(a)) for t, a in rows]

    return run_read(engine, fn)


def delete_user_as(engine: Engine, viewer_id: int, user_id: int) -> bool:
    """Delete a trainer or admin account (admins only). Athletes go through ``delete_athlete_as``,
    which says what it removes. Sessions a trainer ran stay with their athletes."""

    def fn(s: Session) -> bool:
        _admin(s, viewer_id)
        if user_id == viewer_id:
            raise ValueError("you cannot delete your own account")
        u = s.get(User, user_id)
        if u is None:
            return False
        s.delete(u)
        return True

    return run_write(engine, fn)


def delete_athlete_as(engine: Engine, viewer_id: int, athlete_id: int) -> bool:
    """Delete an athlete and all their data (admins, or a trainer of the athlete)."""
    return repo.delete_athlete(engine, athlete_id, viewer_id=viewer_id)


# ------------------------------------------------------------------ sessions


def _recording_trainer_id(engine: Engine, viewer_id: int, athlete_id: int) -> int | None:
    """The trainer id a session the viewer records for the athlete carries (the viewer's, when
    a trainer; None for an admin or the athlete). AccessDenied when the viewer may not record."""
    v = run_read(engine, lambda s: repo._user_out(_may_record_for(s, viewer_id, athlete_id)))
    return v.id if v.role is Role.TRAINER else None


def start_session_as(
    engine: Engine, viewer_id: int, athlete_id: int, exercise: str = "auto", **kwargs: Any
) -> int:
    """Open a live session for an athlete; a trainer's id is recorded as the session's trainer."""
    trainer_id = _recording_trainer_id(engine, viewer_id, athlete_id)
    return repo.start_session(engine, athlete_id, trainer_id, exercise, **kwargs)


def save_result_as(
    engine: Engine,
    viewer_id: int,
    result: SessionResult,
    athlete_id: int,
    exercise: str | None = None,
    *,
    notes: str = "",
    extra_data: Mapping[str, dict[str, Any]] | None = None,
    trainer_lines: Sequence[tuple[str, int | None]] = (),
    felt: tuple[int | None, int | None] = (None, None),
) -> int:
    """Store a finished analysis (upload page) for an athlete the viewer may record for; with
    ``trainer_lines`` (an import's trainer feedback, written by the viewer) staff only."""
    trainer_id = _recording_trainer_id(engine, viewer_id, athlete_id)
    _staff_to_write_lines(engine, viewer_id, athlete_id, trainer_lines)
    return repo.save_session_result(engine, result, athlete_id, trainer_id, exercise, notes=notes,
                                    extra_data=extra_data, trainer_lines=trainer_lines, author_id=viewer_id,
                                    felt=felt)


def _staff_to_write_lines(engine: Engine, viewer_id: int, athlete_id: int, lines: Sequence) -> None:
    if lines:
        run_read(engine, lambda s: _staff_for_athlete(s, viewer_id, athlete_id))


def save_imu_as(engine: Engine, viewer_id: int, series, result, athlete_id: int, *,
                source: str = "", notes: str = "", started_at: datetime | None = None,
                trainer_lines: Sequence[tuple[str, int | None]] = (),
                extra_data: Mapping[str, dict[str, Any]] | None = None,
                felt: tuple[int | None, int | None] = (None, None)) -> int:
    """Store an analysed wrist-IMU set (``repo.save_imu_session``) for an athlete the viewer may
    record for (``trainer_lines`` as for ``save_result_as``)."""
    trainer_id = _recording_trainer_id(engine, viewer_id, athlete_id)
    _staff_to_write_lines(engine, viewer_id, athlete_id, trainer_lines)
    return repo.save_imu_session(engine, series, result, athlete_id, trainer_id, source=source, notes=notes,
                                 started_at=started_at, trainer_lines=trainer_lines, author_id=viewer_id,
                                 extra_data=extra_data, felt=felt)


def append_live_as(
    engine: Engine,
    viewer_id: int,
    session_id: int,
    *,
    pose: PoseSequence | None = None,
    angles: AngleSeries | None = None,
    reps: Sequence[Rep] | None = None,
    series: Mapping[str, Mapping[str, list]] | None = None,
) -> int:
    run_read(engine, lambda s: _session_for(s, viewer_id, session_id, staff=False))
    return repo.append_live_data(engine, session_id, pose=pose, angles=angles, reps=reps, series=series)


def end_session_as(
    engine: Engine, viewer_id: int, session_id: int, result: SessionResult | None = None, **kwargs: Any
) -> SessionRow:
    """End (and with ``result``, store the analysis of) a session the viewer may see."""
    run_read(engine, lambda s: _session_for(s, viewer_id, session_id, staff=False))
    return repo.end_session(engine, session_id, result, **kwargs)


def rescore_session_as(engine: Engine, viewer_id: int, session_id: int, result: SessionResult) -> SessionRow:
    """A new analysis of an ended session's stored pose (``repo.rescore_session``; staff only)."""
    run_read(engine, lambda s: _session_for(s, viewer_id, session_id, staff=True))
    return repo.rescore_session(engine, session_id, result)


def split_session_as(engine: Engine, viewer_id: int, session_id: int, parts: Sequence[SessionResult]) -> list[int]:
    """An ended session as its sets (``repo.split_session``; staff only)."""
    run_read(engine, lambda s: _session_for(s, viewer_id, session_id, staff=True))
    return repo.split_session(engine, session_id, parts)


def rescore_imu_session_as(engine: Engine, viewer_id: int, session_id: int, result: ImuSetResult) -> SessionRow:
    """A new analysis of a stored wrist-sensor set (``repo.rescore_imu_session``; staff only)."""
    run_read(engine, lambda s: _session_for(s, viewer_id, session_id, staff=True))
    return repo.rescore_imu_session(engine, session_id, result)


def set_notes_as(engine: Engine, viewer_id: int, session_id: int, notes: str) -> None:
    """The trainer's notes on a session (staff only)."""

    def fn(s: Session) -> None:
        _, rec = _session_for(s, viewer_id, session_id, staff=True)
        rec.notes = notes.strip()
        s.add(rec)

    run_write(engine, fn)


def set_felt_as(engine: Engine, viewer_id: int, session_id: int, pain: int | None, effort: int | None, *,
                unsaid_only: bool = False) -> bool:
    """How the set felt (``repo.set_felt``): the athlete themself, or their staff writing down
    what the athlete said."""
    felt.check(pain, effort)

    def fn(s: Session) -> bool:
        return repo._put_felt(s, _session_for(s, viewer_id, session_id, staff=False)[1], pain, effort, unsaid_only)

    return run_write(engine, fn)


def set_filmed_at_as(engine: Engine, viewer_id: int, session_id: int, started_at: datetime) -> None:
    """Date an ended session (staff only): when it was filmed, for a file that did not say or
    said wrong. Its end moves with it, so its duration stays. ``started_at`` is aware or UTC."""
    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    if not plausible_filming_time(started_at):
        raise ValueError(f"{started_at:%Y-%m-%d %H:%M} cannot be when it was filmed: "
                         "give a time from 2000 on, and not in the future.")

    def fn(s: Session) -> None:
        _, rec = _session_for(s, viewer_id, session_id, staff=True)
        if rec.status != SessionStatus.ENDED.value:
            raise ValueError("A live session is dated when it records: end it first.")
        if rec.ended_at is not None:
            rec.ended_at = started_at + (rec.ended_at - rec.started_at)
        rec.started_at = started_at
        s.add(rec)

    run_write(engine, fn)


def add_feedback_as(
    engine: Engine, viewer_id: int, session_id: int, text: str, *, rep_index: int | None = None
) -> FeedbackOut:
    """A trainer's feedback on a session or one rep of it (staff only)."""
    text = text.strip()
    if not text:
        raise ValueError("feedback text is empty")

    def fn(s: Session) -> FeedbackOut:
        v, _ = _session_for(s, viewer_id, session_id, staff=True)
        f = Feedback(session_id=session_id, kind=FeedbackKind.TRAINER.value, text=text,
                     author_id=v.id, rep_index=rep_index)
        s.add(f)
        s.flush()
        return repo._feedback_out(f)

    return run_write(engine, fn)


def delete_feedback_as(engine: Engine, viewer_id: int, feedback_id: int) -> bool:
    """Remove a trainer's feedback: its author or an admin."""

    def fn(s: Session) -> bool:
        f = s.get(Feedback, feedback_id)
        if f is None:
            return False
        v = repo._viewer(s, viewer_id)
        if f.kind != FeedbackKind.TRAINER.value or (f.author_id != v.id and _role(v) is not Role.ADMIN):
            raise AccessDenied("only its author or an admin may remove this feedback")
        s.delete(f)
        return True

    return run_write(engine, fn)


# ------------------------------------------------------------------ range-of-motion targets


def _target_out(t: RomTarget) -> RomTargetOut:
    return RomTargetOut(t.athlete_id, t.exercise, t.angle, float(t.target_deg), t.set_by, t.updated_at)


def set_rom_target(
    engine: Engine, viewer_id: int | None, athlete_id: int, angle: str, target_deg: float, exercise: str = ""
) -> RomTargetOut:
    """Set (or replace) the range-of-motion goal of one angle (staff of the athlete only;
    ``viewer_id=None`` = trusted, the command line's import)."""
    angle = angle.strip()
    if not angle:
        raise ValueError("a target needs an angle name")
    target_deg = float(target_deg)
    if not math.isfinite(target_deg) or not 0 < target_deg <= 360:
        raise ValueError("a range-of-motion target is between 0 and 360 degrees")

    def fn(s: Session) -> RomTargetOut:
        set_by = None if viewer_id is None else _staff_for_athlete(s, viewer_id, athlete_id).id
        repo._require_role(s, athlete_id, Role.ATHLETE)
        t = s.exec(select(RomTarget).where(RomTarget.athlete_id == athlete_id,
                                           RomTarget.exercise == exercise,
                                           RomTarget.angle == angle)).first()
        if t is None:
            t = RomTarget(athlete_id=athlete_id, exercise=exercise, angle=angle, target_deg=target_deg)
        t.target_deg, t.set_by, t.updated_at = target_deg, set_by, utcnow()
        s.add(t)
        s.flush()
        return _target_out(t)

    return run_write(engine, fn)


def delete_rom_target(engine: Engine, viewer_id: int, athlete_id: int, angle: str, exercise: str = "") -> bool:
    def fn(s: Session) -> bool:
        _staff_for_athlete(s, viewer_id, athlete_id)
        t = s.exec(select(RomTarget).where(RomTarget.athlete_id == athlete_id,
                                           RomTarget.exercise == exercise,
                                           RomTarget.angle == angle)).first()
        if t is None:
            return False
        s.delete(t)
        return True

    return run_write(engine, fn)


def rom_targets(engine: Engine, athlete_id: int, viewer_id: int | None = None) -> list[RomTargetOut]:
    """The athlete's targets (anyone who may see the athlete; ``viewer_id=None`` = trusted)."""

    def fn(s: Session) -> list[RomTargetOut]:
        repo._check_may_see(s, viewer_id, athlete_id)
        rows = s.exec(select(RomTarget).where(RomTarget.athlete_id == athlete_id)
                      .order_by(RomTarget.exercise, RomTarget.angle)).all()
        return [_target_out(t) for t in rows]

    return run_read(engine, fn)


# ------------------------------------------------------------------ the athlete's programme


def _item_out(p: ProgrammeItem) -> ProgrammeItemOut:
    return ProgrammeItemOut(p.id, p.athlete_id, p.exercise, p.sessions_per_week, p.reps_per_set, p.note,
                            p.set_by, p.started_at, p.ended_at, p.sets_per_session,
                            tuple(d for d in range(7) if (p.days_mask or 0) >> d & 1))


def check_programme_item(exercise: str, sessions_per_week: int, reps_per_set: int | None,
                         sets_per_session: int | None = None, days: Sequence[int] = ()) -> None:
    """ValueError unless the exercise is named, the numbers are whole and in range (the
    database checks the same) and the days, if said, are days of the week (0 Monday .. 6
    Sunday), as many as the sessions a week."""
    if not exercise.strip():
        raise ValueError("a programme item needs an exercise")
    if days:
        if len(set(days)) != len(days) or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise ValueError(f"the days are days of the week, 0 (Monday) to 6 (Sunday), each once, not {days!r}")
        if len(days) != sessions_per_week:
            raise ValueError(f"{len(days)} days for {sessions_per_week} sessions a week: as many days as sessions")
    # a session of the programme is a day (``programme``): more than 7 a week could never be done
    for what, v, top, may_be_none in (("sessions a week", sessions_per_week, 7, False),
                                      ("reps a set", reps_per_set, 100, True),
                                      ("sets a session", sets_per_session, 20, True)):
        if v is None and may_be_none:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= top:
            raise ValueError(f"{what} is a whole number from 1 to {top}, not {v!r}")


def set_programme_item(
    engine: Engine, viewer_id: int | None, athlete_id: int, exercise: str, sessions_per_week: int,
    reps_per_set: int | None = None, note: str = "", *, started_at: datetime | None = None,
    ended_at: datetime | None = None, sets_per_session: int | None = None, days: Sequence[int] = (),
) -> ProgrammeItemOut:
    """Put an exercise in the athlete's programme (staff of the athlete only; ``viewer_id=None`` =
    trusted, an import). The exercise's current item, if any, ends now: a change starts a new
    item, so the weeks before keep the plan they had. ``started_at`` / ``ended_at``: an item
    from an archive, with its own dates (then nothing else is ended). ``days``: the days of the
    week it is planned on (0 Monday .. 6 Sunday), as many as ``sessions_per_week``; (): not said."""
    exercise = exercise.strip()
    check_programme_item(exercise, sessions_per_week, reps_per_set, sets_per_session, days)
    note = (note or "").strip()[:500]

    def fn(s: Session) -> ProgrammeItemOut:
        set_by = None if viewer_id is None else _staff_for_athlete(s, viewer_id, athlete_id).id
        repo._require_role(s, athlete_id, Role.ATHLETE)
        now = utcnow()
        if started_at is None:
            for old in s.exec(select(ProgrammeItem).where(ProgrammeItem.athlete_id == athlete_id,
                                                          ProgrammeItem.exercise == exercise,
                                                          ProgrammeItem.ended_at.is_(None))).all():
                old.ended_at = now
                s.add(old)
        item = ProgrammeItem(athlete_id=athlete_id, exercise=exercise, sessions_per_week=sessions_per_week,
                             reps_per_set=reps_per_set, sets_per_session=sets_per_session, note=note, set_by=set_by,
                             started_at=started_at or now, ended_at=ended_at,
                             days_mask=sum(1 << d for d in set(days)) or None)
        s.add(item)
        s.flush()
        return _item_out(item)

    return run_write(engine, fn)


def end_programme_item(engine: Engine, viewer_id: int, item_id: int) -> bool:
    """Take an exercise off the athlete's programme from now (staff of the athlete only). False
    when it was ended already."""

    def fn(s: Session) -> bool:
        item = s.get(ProgrammeItem, item_id)
        if item is None:
            raise NotFound(f"no programme item {item_id}")
        _staff_for_athlete(s, viewer_id, item.athlete_id)
        if item.ended_at is not None:
            return False
        item.ended_at = utcnow()
        s.add(item)
        return True

    return run_write(engine, fn)


def _rows_by_athlete(engine: Engine, athlete_ids: Sequence[int], viewer_id: int | None, table: Any,
                     order: Sequence[Any], out: Callable[[Any], Any]) -> dict[int, list]:
    """Each athlete's rows of ``table`` (a model with ``athlete_id``) in ``order``, as ``out``
    makes them, in one query, to anyone who may see every one of them (``viewer_id=None`` =
    trusted)."""

    def fn(s: Session) -> dict[int, list]:
        for a in athlete_ids:
            repo._check_may_see(s, viewer_id, a)
        found: dict[int, list] = {a: [] for a in athlete_ids}
        if athlete_ids:
            for row in s.exec(select(table).where(table.athlete_id.in_(list(athlete_ids))).order_by(*order)).all():
                found[row.athlete_id].append(out(row))
        return found

    return run_read(engine, fn)


def programmes(engine: Engine, athlete_ids: Sequence[int], viewer_id: int | None = None
               ) -> dict[int, list[ProgrammeItemOut]]:
    """Each athlete's programme items, current and ended, oldest first (anyone who may see the
    athlete; ``viewer_id=None`` = trusted)."""
    return _rows_by_athlete(engine, athlete_ids, viewer_id, ProgrammeItem,
                            (ProgrammeItem.started_at, ProgrammeItem.id), _item_out)


def programme(engine: Engine, athlete_id: int, viewer_id: int | None = None) -> list[ProgrammeItemOut]:
    """The athlete's programme items, current and ended, oldest first (``programmes``)."""
    return programmes(engine, [athlete_id], viewer_id=viewer_id)[athlete_id]


# ------------------------------------------------------------------ the athlete's profile

SIDES = ("left", "right")
CONDITION_CHARS = 200


@dataclass(frozen=True)
class AthleteProfileOut:
    """What the athlete's staff said about the athlete (``models.AthleteProfile``)."""

    affected_side: str | None = None  # "left" / "right"; None: not said
    condition: str = ""  # in words: "ACL reconstruction, left knee"
    since: date | None = None  # the day of the injury or the operation

    @property
    def said(self) -> bool:
        return bool(self.affected_side or self.condition or self.since)


def _set_profile(engine: Engine, viewer_id: int | None, athlete_id: int, **values: Any) -> None:
    def fn(s: Session) -> None:
        if viewer_id is not None:
            _staff_for_athlete(s, viewer_id, athlete_id)
        repo._require_role(s, athlete_id, Role.ATHLETE)
        profile = s.get(AthleteProfile, athlete_id) or AthleteProfile(athlete_id=athlete_id)
        for k, v in values.items():
            setattr(profile, k, v)
        profile.updated_at = utcnow()
        s.add(profile)

    run_write(engine, fn)


def set_affected_side(engine: Engine, viewer_id: int | None, athlete_id: int, side: str | None) -> None:
    """The athlete's injured or operated side, ``"left"`` / ``"right"``, or None (not said)
    (staff of the athlete only; ``viewer_id=None`` = trusted, an import)."""
    if side is not None and side not in SIDES:
        raise ValueError(f"the affected side is left or right, not {side!r}")
    _set_profile(engine, viewer_id, athlete_id, affected_side=side)


def set_condition(engine: Engine, viewer_id: int | None, athlete_id: int, condition: str,
                  since: date | None, *, today: date | None = None) -> None:
    """The athlete's condition in words and the day of the injury or operation (None: not said)
    (staff of the athlete only; ``viewer_id=None`` = trusted). A day after ``today`` (the
    viewer's; default UTC's) is refused."""
    condition = " ".join((condition or "").split())
    if len(condition) > CONDITION_CHARS:
        raise ValueError(f"the condition is at most {CONDITION_CHARS} characters")
    if since is not None and since > (today or utcnow().date()):
        raise ValueError(f"the day of the injury or operation, {since:%Y-%m-%d}, is still to come")
    _set_profile(engine, viewer_id, athlete_id, condition=condition, since=since)


def athlete_profiles(engine: Engine, athlete_ids: Sequence[int], viewer_id: int | None = None
                     ) -> dict[int, AthleteProfileOut]:
    """What the athletes' staff said about each athlete (``AthleteProfileOut()`` where nothing),
    in one query, to anyone who may see every one of them."""

    def fn(s: Session) -> dict[int, AthleteProfileOut]:
        for a in athlete_ids:
            repo._check_may_see(s, viewer_id, a)
        found = set(s.exec(select(User.id).where(User.id.in_(list(athlete_ids)))).all()) if athlete_ids else set()
        if missing := [a for a in athlete_ids if a not in found]:
            raise NotFound(f"no athlete {missing[0]}")
        out = {a: AthleteProfileOut() for a in athlete_ids}
        if athlete_ids:
            for p in s.exec(select(AthleteProfile).where(AthleteProfile.athlete_id.in_(list(athlete_ids)))).all():
                out[p.athlete_id] = AthleteProfileOut(p.affected_side, p.condition, p.since)
        return out

    return run_read(engine, fn)


def athlete_profile(engine: Engine, athlete_id: int, viewer_id: int | None = None) -> AthleteProfileOut:
    """What the athlete's staff said about the athlete, to anyone who may see the athlete."""
    return athlete_profiles(engine, [athlete_id], viewer_id)[athlete_id]


def affected_side(engine: Engine, athlete_id: int, viewer_id: int | None = None) -> str | None:
    """The athlete's affected side (``set_affected_side``), to anyone who may see the athlete."""
    return athlete_profile(engine, athlete_id, viewer_id).affected_side


# ------------------------------------------------------------------ the pain the morning after


@dataclass(frozen=True)
class MorningPainOut:
    """The pain the athlete felt on the morning of ``day`` (``models.MorningPain``)."""

    day: date
    pain: int


def set_morning_pain(engine: Engine, viewer_id: int | None, athlete_id: int, day: date, pain: int | None, *,
                     today: date | None = None) -> None:
    """The pain the athlete felt on the morning of ``day``, 0..10, or None to take it back: the
    athlete themself or their staff writing down what the athlete said (``viewer_id=None`` =
    trusted, an import). A day after ``today`` (the viewer's; default UTC's) is refused."""
    felt.check(pain, None)
    if day > (today or utcnow().date()):
        raise ValueError(f"the morning of {day:%Y-%m-%d} is still to come")

    def fn(s: Session) -> None:
        if viewer_id is not None:
            _may_record_for(s, viewer_id, athlete_id)
        repo._require_role(s, athlete_id, Role.ATHLETE)
        row = s.exec(select(MorningPain).where(MorningPain.athlete_id == athlete_id, MorningPain.day == day)).first()
        if pain is None:
            if row is not None:
                s.delete(row)
            return
        row = row or MorningPain(athlete_id=athlete_id, day=day, pain=pain)
        row.pain, row.said_by, row.said_at = pain, viewer_id, utcnow()
        s.add(row)

    run_write(engine, fn)


def morning_pains(engine: Engine, athlete_ids: Sequence[int], viewer_id: int | None = None
                  ) -> dict[int, list[MorningPainOut]]:
    """Each athlete's morning pain, oldest day first, in one query, to anyone who may see every
    one of them."""
    return _rows_by_athlete(engine, athlete_ids, viewer_id, MorningPain, (MorningPain.day,),
                            lambda m: MorningPainOut(m.day, m.pain))


def morning_pain(engine: Engine, athlete_id: int, viewer_id: int | None = None) -> list[MorningPainOut]:
    """The athlete's morning pain, oldest day first (``morning_pains``)."""
    return morning_pains(engine, [athlete_id], viewer_id)[athlete_id]

