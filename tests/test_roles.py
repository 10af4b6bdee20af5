"""Role matrix: every role against every resource, on SQLite and on PostgreSQL.

The world: an admin; trainer T1 with athlete A1 (who has a login) and session S1; trainer T2 with
athlete A2 and session S2. The viewers are the admin, T1 and A1; "own" targets are A1 / S1 (A1's
trainer's, A1's own) and "other" targets A2 / S2. Every case either works or raises AccessDenied,
and the expected answer is written out in ALLOWED below. Actions that destroy something act on a
fresh athlete / session made for that case, so the world stays the same for the other cases.
"""

from __future__ import annotations

import functools
from datetime import date
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import PgDatabases, build_uiprmd_session_result
from physio_core.store import (
    AccessDenied,
    Role,
    assign_athlete,
    create_user,
    delete_session,
    dispose_engines,
    get_or_create_athlete,
    get_session_detail,
    get_user,
    init_db,
    list_sessions,
    progress_for_athlete,
    progress_for_athletes,
    save_session_result,
    start_session,
)
from physio_core.store import access

VIEWERS = ("admin", "trainer", "athlete")


@dataclass
class World:
    engine: sa.Engine
    admin: int
    t1: int
    t2: int
    a1: int
    a2: int
    s1: int
    s2: int
    result: object

    def athlete(self, which: str) -> int:
        return self.a1 if which == "own" else self.a2

    def session(self, which: str) -> int:
        return self.s1 if which == "own" else self.s2

    def fresh_athlete(self, which: str) -> int:
        trainer = self.t1 if which == "own" else self.t2
        return get_or_create_athlete(self.engine, f"Fresh athlete {_next()}", trainer).id

    def fresh_session(self, which: str) -> int:
        athlete, trainer = (self.a1, self.t1) if which == "own" else (self.a2, self.t2)
        return start_session(self.engine, athlete, trainer)


_counter = iter(range(10**6))


def _next() -> int:
    return next(_counter)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request, tmp_path_factory) -> World:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('roles') / 'roles.db'}"
        dbs = None
    else:
        dbs = PgDatabases(request.getfixturevalue("pg_server"))
        url = dbs.new()
    engine = init_db(url)
    result = build_uiprmd_session_result(episodes=(1,))
    admin = create_user(engine, "admin@clinic.org", "Admin", Role.ADMIN, "admin-password")
    t1 = create_user(engine, "t1@clinic.org", "Trainer One", Role.TRAINER, "trainer-one-pw")
    t2 = create_user(engine, "t2@clinic.org", "Trainer Two", Role.TRAINER, "trainer-two-pw")
    a1 = create_user(engine, "a1@clinic.org", "Athlete One", Role.ATHLETE, "athlete-one-pw")
    assign_athlete(engine, t1.id, a1.id)
    a2 = get_or_create_athlete(engine, "Athlete Two", t2.id)
    s1 = save_session_result(engine, result, a1.id, t1.id)
    s2 = save_session_result(engine, result, a2.id, t2.id)
    yield World(engine, admin.id, t1.id, t2.id, a1.id, a2.id, s1, s2, result)
    if dbs is None:
        dispose_engines(url)
    else:
        dbs.drop_all()


def viewer_id(w: World, viewer: str) -> int:
    return {"admin": w.admin, "trainer": w.t1, "athlete": w.a1}[viewer]


# action name -> fn(world, viewer_id, which) ; "which" is "own" or "other" (or "-" when the
# action has no target). Each returns normally when allowed and raises AccessDenied when refused.
Action = Callable[[World, int, str], object]


def _see_session_in_list(w: World, v: int, which: str) -> None:
    if w.session(which) not in {r.id for r in list_sessions(w.engine, viewer_id=v)}:
        raise AccessDenied("not in the viewer's list")


def _athlete_in_picker(w: World, v: int, which: str) -> None:
    if w.athlete(which) not in {a.id for a in access.athletes_for(w.engine, v)}:
        raise AccessDenied("not among the viewer's athletes")


ACTIONS: dict[str, Action] = {
    # reading
    "list_sessions": _see_session_in_list,
    "athletes_for": _athlete_in_picker,
    "session_detail": lambda w, v, x: get_session_detail(w.engine, w.session(x), viewer_id=v),
    "progress": lambda w, v, x: progress_for_athlete(w.engine, w.athlete(x), viewer_id=v),
    # the roster's one query, asked for the viewer's own athlete and this one
    "progress_many": lambda w, v, x: progress_for_athletes(w.engine, {w.athlete("own"), w.athlete(x)}, viewer_id=v),
    "read_targets": lambda w, v, x: access.rom_targets(w.engine, w.athlete(x), viewer_id=v),
    # the condition and the affected side: the roster reads them all at once
    "profiles_many": lambda w, v, x: access.athlete_profiles(w.engine, [w.athlete("own"), w.athlete(x)], viewer_id=v),
    "morning_pains": lambda w, v, x: access.morning_pains(w.engine, [w.athlete("own"), w.athlete(x)], viewer_id=v),
    # the pain the morning after: the athlete at home, or their staff
    "say_morning_pain": lambda w, v, x: access.set_morning_pain(w.engine, v, w.athlete(x), date(2026, 12, 1), 3),
    # recording
    "start_session": lambda w, v, x: access.start_session_as(w.engine, v, w.athlete(x)),
    "save_result": lambda w, v, x: access.save_result_as(w.engine, v, w.result, w.athlete(x)),
    "save_imu": lambda w, v, x: access.save_imu_as(w.engine, v, *_imu_set(), w.athlete(x)),
    "append_live": lambda w, v, x: access.append_live_as(
        w.engine, v, w.fresh_session(x), pose=w.result.pose.slice(0, 5)),
    "end_session": lambda w, v, x: access.end_session_as(w.engine, v, w.fresh_session(x)),
    # coaching
    "add_feedback": lambda w, v, x: access.add_feedback_as(w.engine, v, w.session(x), "good depth"),
    "set_notes": lambda w, v, x: access.set_notes_as(w.engine, v, w.session(x), "felt fine"),
    "set_target": lambda w, v, x: access.set_rom_target(w.engine, v, w.athlete(x), "knee_angle_r", 120),
    "delete_session": lambda w, v, x: _delete_session(w, v, x),
    "delete_athlete": lambda w, v, x: _delete_athlete(w, v, x),
    "create_athlete": lambda w, v, x: access.create_user_as(
        w.engine, v, None, f"New athlete {_next()}", Role.ATHLETE),
    # administration
    "create_trainer": lambda w, v, x: access.create_user_as(
        w.engine, v, f"t{_next()}@clinic.org", "Trainer", Role.TRAINER, "a-long-password"),
    "create_admin": lambda w, v, x: access.create_user_as(
        w.engine, v, f"adm{_next()}@clinic.org", "Admin", Role.ADMIN, "a-long-password"),
    "list_users": lambda w, v, x: access.list_users_as(w.engine, v),
    "assign": lambda w, v, x: access.assign_as(w.engine, v, w.t1, w.fresh_athlete("other")),
    "unassign": lambda w, v, x: access.unassign_as(w.engine, v, w.t2, w.fresh_athlete("other")),
    "deactivate_user": lambda w, v, x: access.set_active_as(w.engine, v, w.fresh_athlete("other"), False),
    "reset_password_of_other": lambda w, v, x: access.set_password_as(w.engine, v, w.t2, "another-password"),
    "set_login": lambda w, v, x: access.set_login_as(
        w.engine, v, w.fresh_athlete("own"), f"x{_next()}@clinic.org", "a-long-password"),
    "delete_trainer": lambda w, v, x: access.delete_user_as(
        w.engine, v, create_user(w.engine, None, "Temp trainer", Role.TRAINER).id),
    "list_assignments": lambda w, v, x: access.assignments_as(w.engine, v),
}


@functools.cache
def _imu_set():
    """A real MetaMotion set and its analysis (the same for every viewer)."""
    from physio_core.imu import list_sets
    from physio_core.imu.analyze import analyze_imu

    data = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "metamotion-imu"
    if not data.is_dir():
        pytest.skip(f"MetaMotion data set not found at {data}")
    series = list_sets(data)[0].load()
    return series, analyze_imu(series)


def _delete_session(w: World, v: int, which: str) -> None:
    sid = w.fresh_session(which)
    assert delete_session(w.engine, sid, viewer_id=v) is True
    assert get_session_detail(w.engine, sid) is None


def _delete_athlete(w: World, v: int, which: str) -> None:
    aid = w.fresh_athlete(which)
    assert access.delete_athlete_as(w.engine, v, aid) is True
    assert get_user(w.engine, aid) is None


TARGETED = {"list_sessions", "athletes_for", "session_detail", "progress", "progress_many", "read_targets",
            "profiles_many", "morning_pains", "say_morning_pain",
            "start_session", "save_result", "save_imu", "append_live", "end_session", "add_feedback",
            "set_notes", "set_target", "delete_session", "delete_athlete"}

# what each viewer may do; everything not listed must be refused
ALLOWED: dict[str, set[tuple[str, str]]] = {
    "admin": {(a, x) for a in ACTIONS for x in (("own", "other") if a in TARGETED else ("-",))},
    "trainer": {(a, "own") for a in TARGETED} | {("create_athlete", "-")},
    "athlete": {(a, "own") for a in ("list_sessions", "athletes_for", "session_detail", "progress", "progress_many",
                                     "read_targets", "profiles_many", "morning_pains", "say_morning_pain",
                                     "start_session", "save_result", "save_imu",
                                     "append_live", "end_session")},
}

CASES = [
    (viewer, action, which)
    for viewer in VIEWERS
    for action in ACTIONS
    for which in (("own", "other") if action in TARGETED else ("-",))
]


@pytest.mark.parametrize(("viewer", "action", "which"), CASES,
                         ids=[f"{v}-{a}-{x}" for v, a, x in CASES])
def test_role_matrix(world: World, viewer: str, action: str, which: str) -> None:
    allowed = (action, which) in ALLOWED[viewer]
    run = lambda: ACTIONS[action](world, viewer_id(world, viewer), which)  # noqa: E731
    if allowed:
        run()
    else:
        with pytest.raises(AccessDenied):
            run()


def test_refused_writes_leave_no_trace(world: World) -> None:
    """A refused write changes nothing: no feedback row, no target, no session."""
    w = world

    def count(table: str) -> int:
        with w.engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()

    before = {t: count(t) for t in ("feedback", "rom_targets", "sessions", "users")}
    for fn in (
        lambda: access.add_feedback_as(w.engine, w.a1, w.s1, "I am my own coach"),
        lambda: access.add_feedback_as(w.engine, w.t1, w.s2, "not my athlete"),
        lambda: access.set_rom_target(w.engine, w.a1, w.a1, "knee_angle_r", 150),
        lambda: access.start_session_as(w.engine, w.t1, w.a2),
        lambda: access.start_session_as(w.engine, w.a1, w.a2),
        lambda: access.create_user_as(w.engine, w.t1, "boss@clinic.org", "Boss", Role.ADMIN, "a-long-password"),
        lambda: access.delete_athlete_as(w.engine, w.a1, w.a1),
    ):
        with pytest.raises(AccessDenied):
            fn()
    assert {t: count(t) for t in before} == before


def test_deactivated_user_is_refused_everything(world: World) -> None:
    w = world
    t3 = access.create_user_as(w.engine, w.admin, "third.trainer@clinic.org", "Trainer Three", Role.TRAINER,
                               "trainer-three-pw")
    access.assign_as(w.engine, w.admin, t3.id, w.a1)
    assert access.athletes_for(w.engine, t3.id)[0].id == w.a1
    access.set_active_as(w.engine, w.admin, t3.id, False)
    for fn in (
        lambda: list_sessions(w.engine, viewer_id=t3.id),
        lambda: get_session_detail(w.engine, w.s1, viewer_id=t3.id),
        lambda: access.start_session_as(w.engine, t3.id, w.a1),
        lambda: access.add_feedback_as(w.engine, t3.id, w.s1, "still here?"),
    ):
        with pytest.raises(AccessDenied):
            fn()


def test_trainer_created_athlete_is_assigned_to_them(world: World) -> None:
    w = world
    new = access.create_user_as(w.engine, w.t1, None, "Walk-in", Role.ATHLETE)
    assert new.id in {a.id for a in access.athletes_for(w.engine, w.t1)}
    assert new.id not in {a.id for a in access.athletes_for(w.engine, w.t2)}
    same = access.add_athlete_as(w.engine, w.t1, "walk-in")
    assert same.id == new.id
    with pytest.raises(AccessDenied):
        access.add_athlete_as(w.engine, w.a1, "Someone")


def test_targets_are_set_and_replaced(world: World) -> None:
    w = world
    access.set_rom_target(w.engine, w.t1, w.a1, "hip_flexion_r", 90)
    out = access.set_rom_target(w.engine, w.t1, w.a1, "hip_flexion_r", 100)
    assert out.target_deg == 100 and out.set_by == w.t1
    mine = {(t.exercise, t.angle): t.target_deg for t in access.rom_targets(w.engine, w.a1, viewer_id=w.a1)}
    assert mine[("", "hip_flexion_r")] == 100
    with pytest.raises(ValueError):
        access.set_rom_target(w.engine, w.t1, w.a1, "hip_flexion_r", -5)
    assert access.delete_rom_target(w.engine, w.t1, w.a1, "hip_flexion_r") is True
    assert ("", "hip_flexion_r") not in {(t.exercise, t.angle) for t in access.rom_targets(w.engine, w.a1)}
