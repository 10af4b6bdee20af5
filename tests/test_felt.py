"""How a set felt (pain and effort, 0-10): stored on the session in SQLite and PostgreSQL, set by
the athlete or their staff and nobody else, charted on Progress, carried by exports and imports."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from physio_core import exports, felt, imports, progress
from physio_core.store import (
    AccessDenied,
    assign_athlete,
    create_user,
    downgrade,
    get_session_detail,
    progress_for_athlete,
    save_session_result,
    set_felt,
    upgrade,
)
from physio_core.store.access import set_felt_as


@pytest.fixture
def stored(db_engine, uiprmd_session_result):
    athlete = create_user(db_engine, "ana@clinic.org", "Ana", "athlete", password="ana-password-1")
    other = create_user(db_engine, "ben@clinic.org", "Ben", "athlete", password="ben-password-1")
    trainer = create_user(db_engine, "tom@clinic.org", "Tom", "trainer", password="tom-password-1")
    stranger = create_user(db_engine, "sue@clinic.org", "Sue", "trainer", password="sue-password-1")
    assign_athlete(db_engine, trainer.id, athlete.id)
    sid = save_session_result(db_engine, uiprmd_session_result, athlete.id)
    return db_engine, sid, {"athlete": athlete.id, "other": other.id, "trainer": trainer.id,
                            "stranger": stranger.id}


def test_pain_and_effort_are_stored_and_read_back(stored):
    engine, sid, ids = stored
    assert (get_session_detail(engine, sid).session.pain, get_session_detail(engine, sid).session.effort) == (None, None)
    set_felt_as(engine, ids["athlete"], sid, 3, 7)  # the athlete's own word
    s = get_session_detail(engine, sid).session
    assert (s.pain, s.effort) == (3, 7)
    row = progress_for_athlete(engine, ids["athlete"])[0]
    assert (row.pain, row.effort) == (3, 7)
    set_felt_as(engine, ids["trainer"], sid, 0, None)  # the trainer writes down what was said
    s = get_session_detail(engine, sid).session
    assert (s.pain, s.effort) == (0, None)


def test_only_the_athlete_and_their_staff_may_say_it(stored):
    engine, sid, ids = stored
    for who in ("other", "stranger"):
        with pytest.raises(AccessDenied):
            set_felt_as(engine, ids[who], sid, 5, 5)
    assert get_session_detail(engine, sid).session.pain is None


@pytest.mark.parametrize("pain, effort", [(11, 3), (-1, 3), (3, 10.5), (True, 2), ("4", 2)])
def test_a_value_off_the_scale_is_refused(stored, pain, effort):
    engine, sid, ids = stored
    with pytest.raises(ValueError, match="0 to 10"):
        set_felt(engine, sid, pain, effort)
    with pytest.raises(ValueError, match="0 to 10"):
        set_felt_as(engine, ids["athlete"], sid, pain, effort)


def test_the_database_itself_keeps_the_scale(stored):
    """The check constraints of migration 0007: a write that goes round the app is refused too."""
    engine, sid, _ = stored
    for column in ("pain", "effort"):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE sessions SET {column} = 11 WHERE id = :i"), {"i": sid})


def test_downgrade_drops_the_columns_and_upgrade_brings_them_back(stored):
    engine, sid, ids = stored
    set_felt(engine, sid, 4, 6)
    downgrade(engine, "0006")
    assert {"pain", "effort"}.isdisjoint(c["name"] for c in sa.inspect(engine).get_columns("sessions"))
    upgrade(engine)
    s = get_session_detail(engine, sid).session
    assert (s.pain, s.effort) == (None, None)  # not asked, as any session stored before 0007
    set_felt(engine, sid, 4, 6)
    assert get_session_detail(engine, sid).session.pain == 4


def test_progress_draws_what_was_said(stored):
    engine, sid, ids = stored
    rows = progress_for_athlete(engine, ids["athlete"])
    assert not progress.has_felt(rows)
    set_felt(engine, sid, 2, None)
    rows = progress_for_athlete(engine, ids["athlete"])
    assert progress.has_felt(rows)
    fig = progress.felt_figure(rows)
    assert [(t.name, list(t.y)) for t in fig.data] == [("Pain", [2])]  # effort not asked: no line
    table = progress.sessions_frame(rows)
    assert (table["pain"][0], table["effort"][0]) == (2, None)


def test_progress_tiles_give_the_last_pain_and_its_change(stored, make_uiprmd_session_result):
    """Progress's Pain tile: the last pain given (a later session without one does not hide it),
    against the first pain given in the dates shown."""
    from dataclasses import replace
    from datetime import timedelta

    engine, sid, ids = stored
    assert progress.summary(progress_for_athlete(engine, ids["athlete"])).pain is None
    first = get_session_detail(engine, sid).session.started_at
    later, last = (save_session_result(engine, replace(make_uiprmd_session_result(episodes=(k,)),
                                                       started_at=first + timedelta(days=7 * k)), ids["athlete"])
                   for k in (1, 2))
    set_felt(engine, sid, 6, 4)
    s = progress.summary(progress_for_athlete(engine, ids["athlete"]))
    assert (s.pain, s.pain_change) == (6, None)
    set_felt(engine, later, 2, None)
    set_felt(engine, last, None, 8)  # effort only
    rows = progress_for_athlete(engine, ids["athlete"])
    s = progress.summary(rows)
    assert (s.pain, s.pain_change) == (2, -4)
    assert progress.summary(rows[1:]).pain_change is None  # the first pain in view is the last
    # the chart spans every session shown, not only those that say how they felt
    set_felt(engine, last, None, None)
    rows = progress_for_athlete(engine, ids["athlete"])
    lo, hi = (pd.Timestamp(x) for x in progress.felt_figure(rows).layout.xaxis.range)
    assert lo <= pd.Timestamp(rows[0].date) and hi >= pd.Timestamp(rows[-1].date)
    # the printable progress report's key numbers say it too
    from physio_core.exports import progress_report_html

    page = progress_report_html(rows, athlete="Ana", include_plotlyjs=False).decode()
    assert "Latest pain" in page and "2/10 (-4)" in page and "pain against the first pain the athlete gave" in page


def test_exports_and_imports_carry_it(stored, tmp_path, uiprmd_session_result):
    """The session's JSON and the athlete's archive say it; an import into another clinic keeps it."""
    from physio_core.archive import athlete_archive
    from physio_core.store import init_db

    engine, sid, ids = stored
    set_felt(engine, sid, 3, 8)
    session = get_session_detail(engine, sid).session
    doc = json.loads(exports.json_bytes(uiprmd_session_result, session=session))
    assert (doc["session"]["pain"], doc["session"]["effort"]) == (3, 8)
    page = exports.html_report(uiprmd_session_result, session=session, include_plotlyjs=False).decode()
    assert f"How it felt:</b> {felt.in_words(3, 8)}" in page
    assert felt.in_words(3, 8) == "pain 3/10 (mild), effort 8/10 (very hard)"

    archive = imports.read_archive(athlete_archive(engine, ids["athlete"]))
    assert [s.felt for s in archive.sessions] == [(3, 8)]
    there = init_db(f"sqlite:///{tmp_path / 'other_clinic.db'}")
    athlete = create_user(there, None, "Ana")
    report = imports.import_sessions(there, archive.sessions, athlete.id)
    assert len(report.imported) == 1
    s = get_session_detail(there, report.imported[0]).session
    assert (s.pain, s.effort) == (3, 8)


def test_the_roster_shows_the_last_pain_and_its_change(stored, make_uiprmd_session_result):
    from dataclasses import replace
    from datetime import timedelta

    engine, sid, ids = stored
    first = get_session_detail(engine, sid).session.started_at
    later = save_session_result(engine, replace(make_uiprmd_session_result(episodes=(2,)),
                                                started_at=first + timedelta(days=7)), ids["athlete"])
    day = (first + timedelta(days=8)).date()
    (glance,) = progress.roster(engine, ids["trainer"], today=day)
    assert (glance.pain, glance.pain_change) == (None, None)
    set_felt(engine, sid, 6, None)
    set_felt(engine, later, 3, 5)
    (glance,) = progress.roster(engine, ids["trainer"], today=day)
    assert (glance.pain, glance.pain_change) == (3, -3)
    frame = progress.roster_frame([glance])
    row = frame.iloc[0]
    assert (row["pain (0–10)"], row["pain change (28 days)"]) == (3, -3)
    # the pain columns come before the counts and scores, where a laptop's page still shows them
    columns = list(frame.columns)
    assert columns.index("pain change (28 days)") < min(columns.index(c) for c in ("sessions", "stability"))
    # the first pain given more than 28 days before: the change is that of the window's only one
    (glance,) = progress.roster(engine, ids["trainer"], today=first.date() + timedelta(days=30))
    assert (glance.pain, glance.pain_change) == (3, None)
