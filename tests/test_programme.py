"""The athlete's programme: set by their staff and nobody else, kept in SQLite and PostgreSQL with
its history, counted against the sessions stored week by week, on Progress and the trainer's list."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from physio_core import programme, progress
from physio_core.store import (
    AccessDenied,
    create_user,
    delete_athlete,
    downgrade,
    progress_for_athlete,
    save_session_result,
    upgrade,
)
from physio_core.store.access import end_programme_item, programme as programme_of, set_programme_item

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def _squats(engine, athlete_id, make, days: list[int]) -> None:
    """One stored deep-squat session (three real UI-PRMD reps) on each of ``days`` after MONDAY."""
    for d in days:
        save_session_result(engine, replace(make(), started_at=MONDAY + timedelta(days=d)), athlete_id)


def test_staff_set_the_programme_and_the_athlete_reads_it(clinic_of_four):
    engine, ids = clinic_of_four
    item = set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 3, 10, "slow down")
    assert (item.exercise, item.sessions_per_week, item.reps_per_set, item.note, item.set_by, item.ended_at) == (
        "deep_squat", 3, 10, "slow down", ids["trainer"], None)
    assert [i.id for i in programme_of(engine, ids["athlete"], viewer_id=ids["athlete"])] == [item.id]
    for who in ("athlete", "stranger", "other"):  # nobody but the athlete's staff sets it
        with pytest.raises(AccessDenied):
            set_programme_item(engine, ids[who], ids["athlete"], "deep_squat", 2)
        with pytest.raises(AccessDenied):
            end_programme_item(engine, ids[who], item.id)
    for who in ("stranger", "other"):  # nor reads it
        with pytest.raises(AccessDenied):
            programme_of(engine, ids["athlete"], viewer_id=ids[who])
    with pytest.raises(ValueError, match="expected athlete"):  # a programme is an athlete's
        set_programme_item(engine, None, ids["trainer"], "deep_squat", 2)


def test_a_change_ends_the_old_item_and_taking_off_ends_it(clinic_of_four):
    engine, ids = clinic_of_four
    first = set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 3)
    second = set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 4, 12)
    lunge = set_programme_item(engine, ids["trainer"], ids["athlete"], "inline_lunge", 2)
    items = {i.id: i for i in programme_of(engine, ids["athlete"])}
    assert items[first.id].ended_at is not None and items[first.id].ended_at >= items[first.id].started_at
    assert items[second.id].ended_at is None and items[lunge.id].ended_at is None
    assert end_programme_item(engine, ids["trainer"], lunge.id) is True
    assert end_programme_item(engine, ids["trainer"], lunge.id) is False  # ended already
    current = [i for i in programme_of(engine, ids["athlete"]) if i.ended_at is None]
    assert [(i.exercise, i.sessions_per_week, i.reps_per_set) for i in current] == [("deep_squat", 4, 12)]


@pytest.mark.parametrize("per_week, reps", [(0, 10), (15, 10), (3, 0), (3, 101), (2.5, 10), (True, 10)])
def test_numbers_off_the_range_are_refused(clinic_of_four, per_week, reps):
    engine, ids = clinic_of_four
    with pytest.raises(ValueError):
        set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", per_week, reps)
    with pytest.raises(ValueError):
        set_programme_item(engine, ids["trainer"], ids["athlete"], "  ", 3)
    assert programme_of(engine, ids["athlete"]) == []


def test_the_database_itself_keeps_the_range_and_cascades(clinic_of_four):
    engine, ids = clinic_of_four
    insert = sa.text("INSERT INTO programme_items (athlete_id, exercise, sessions_per_week, reps_per_set) "
                     "VALUES (:a, 'deep_squat', :n, :r)")
    for n, r in ((0, None), (3, 0), (3, 101)):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"a": ids["athlete"], "n": n, "r": r})
    set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 3)
    assert delete_athlete(engine, ids["athlete"])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM programme_items")).scalar() == 0


def test_downgrade_drops_the_table_and_upgrade_brings_it_back(clinic_of_four):
    engine, ids = clinic_of_four
    set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 3)
    downgrade(engine, "0007")
    assert "programme_items" not in sa.inspect(engine).get_table_names()
    upgrade(engine)
    assert programme_of(engine, ids["athlete"]) == []  # dropped with its rows
    set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 3)
    assert len(programme_of(engine, ids["athlete"])) == 1


def test_weeks_are_counted_against_the_plan_they_had(clinic_of_four, make_uiprmd_session_result):
    """Squats twice a week from the first Monday, three times from the third week's Wednesday;
    real stored sets: two days in week 1, one day of two sets in week 2 (one session of the
    programme), four days in week 3, none in week 4."""
    engine, ids = clinic_of_four
    _squats(engine, ids["athlete"], make_uiprmd_session_result, [0, 3, 9, 9.1, 14, 15, 16, 18])
    rows = progress_for_athlete(engine, ids["athlete"])
    assert {r.exercise for r in rows} == {"deep_squat"}
    # the items as they stood (dates given, as an archive's are)
    set_programme_item(engine, None, ids["athlete"], "deep_squat", 2, started_at=MONDAY - timedelta(hours=1),
                       ended_at=MONDAY + timedelta(days=16))
    set_programme_item(engine, None, ids["athlete"], "deep_squat", 3, started_at=MONDAY + timedelta(days=16))
    items = programme_of(engine, ids["athlete"])
    weeks = programme.mondays(MONDAY.date(), MONDAY.date() + timedelta(days=27))
    assert weeks == [MONDAY.date() + timedelta(weeks=k) for k in range(4)]
    plans = programme.week_plans(items, rows, weeks)
    assert [(p.week, p.planned, p.done, p.counted, p.sets) for p in plans] == [
        (weeks[0], 2, 2, 2, 2), (weeks[1], 2, 1, 1, 2), (weeks[2], 3, 4, 3, 4), (weeks[3], 3, 0, 0, 0)]
    assert programme.share_done(plans) == pytest.approx(6 / 10)
    # this week (the fourth, on its Thursday): nothing yet, the last squat on week 3's Friday
    (now,) = programme.this_week(items, rows, weeks[3] + timedelta(days=3))
    assert (now.item.sessions_per_week, now.done, now.last_done) == (3, 0, (MONDAY + timedelta(days=18)).date())
    # on week 2's Wednesday, the day of its two sets: one session so far, of two sets
    (now,) = programme.this_week([replace(items[0], ended_at=None)], rows, weeks[1] + timedelta(days=2))
    assert (now.done, now.sets_today, programme.sets_words(now)) == (1, 2, "2 sets")
    # the trainer's list: the four whole weeks before the fifth
    assert programme.recent_share(items, rows, weeks[3] + timedelta(days=7)) == pytest.approx(6 / 10)
    fig = programme.adherence_figure(plans)
    assert [round(y) for y in fig.data[0].y] == [100, 50, 100, 0]
    assert list(fig.data[0].customdata[1:3]) == ["Deep squat: 1 of 2 (2 sets)", "Deep squat: 4 of 3 (4 sets)"]
    assert list(fig.data[0].text) == ["2 of 2", "1 of 2", "3 of 3", "0 of 3"]
    # the printable progress report charts the weeks its sessions span (the first three)
    from physio_core.exports import progress_report_html

    page = progress_report_html(rows, athlete="Ana", include_plotlyjs=False, programme=items).decode()
    assert "Programme done per week" in page and "86% of the planned sessions in these weeks were done" in page
    assert "Programme done per week" not in progress_report_html(rows, athlete="Ana", include_plotlyjs=False).decode()


def test_the_trainers_list_shows_the_programme_done(clinic_of_four, make_uiprmd_session_result):
    engine, ids = clinic_of_four
    _squats(engine, ids["athlete"], make_uiprmd_session_result, [0, 7, 8])
    today = (MONDAY + timedelta(days=14)).date()  # the third Monday: weeks 1 and 2 are whole
    (glance,) = progress.roster(engine, ids["trainer"], today=today)
    assert glance.programme_done is None  # no programme
    set_programme_item(engine, None, ids["athlete"], "deep_squat", 2, started_at=MONDAY - timedelta(days=30))
    (glance,) = progress.roster(engine, ids["trainer"], today=today)
    # the four whole weeks before this one: 0 of 2, 0 of 2, 1 of 2, 2 of 2
    assert glance.programme_done == pytest.approx(3 / 8)
    assert progress.roster_frame([glance]).iloc[0]["programme done (%)"] == 38


def test_sets_a_session_are_said_and_counted_day_by_day(clinic_of_four, make_uiprmd_session_result):
    """3 sets of 10 reps, twice a week: the sets of one day are one session of the programme."""
    engine, ids = clinic_of_four
    _squats(engine, ids["athlete"], make_uiprmd_session_result, [1, 1.05, 1.1, 1.15])  # Tuesday: 4 sets
    item = set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 2, 10, sets_per_session=3)
    assert programme.plan_words(item) == "2 sessions a week, 3 sets of 10 reps"
    assert programme.plan_words(replace(item, reps_per_set=None)) == "2 sessions a week, 3 sets"
    assert programme.plan_words(replace(item, sets_per_session=None)) == "2 sessions a week, 10 reps a set"
    rows = progress_for_athlete(engine, ids["athlete"])
    items = programme_of(engine, ids["athlete"])
    tuesday = (MONDAY + timedelta(days=1)).date()
    (now,) = programme.this_week(items, rows[:2], tuesday)
    assert (now.done, now.sets_today, programme.sets_words(now)) == (1, 2, "2 of 3 sets")
    (now,) = programme.this_week(items, rows, tuesday)
    assert (now.done, now.sets_today, programme.sets_words(now)) == (1, 4, "4 of 3 sets ✓")
    (now,) = programme.this_week(items, rows, tuesday + timedelta(days=1))  # the next day: none yet
    assert (now.done, programme.sets_words(now)) == (1, "0 of 3 sets")
    for sets in (0, 21, 2.5):
        with pytest.raises(ValueError, match="sets a session"):
            set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 2, sets_per_session=sets)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("UPDATE programme_items SET sets_per_session = 21"))


def test_the_days_of_the_week_are_said_and_the_week_counts_on_them(clinic_of_four, make_uiprmd_session_result):
    """Mon, Wed, Fri: the plan says them, the day says whether it is one of them or which comes
    next, and the database keeps them to days of the week."""
    engine, ids = clinic_of_four
    _squats(engine, ids["athlete"], make_uiprmd_session_result, [0])  # Monday's set
    item = set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 3, 10, days=(4, 0, 2))
    assert item.days == (0, 2, 4) and programme_of(engine, ids["athlete"])[0].days == (0, 2, 4)
    assert programme.plan_words(item) == "3 sessions a week (Mon, Wed, Fri), 10 reps a set"
    rows = progress_for_athlete(engine, ids["athlete"])
    monday = MONDAY.date()
    (now,) = programme.this_week([item], rows, monday)
    assert (now.planned_today, now.next_day, programme.day_words(now)) == (True, monday + timedelta(days=2),
                                                                           "planned today")
    (now,) = programme.this_week([item], rows, monday + timedelta(days=5))  # Saturday
    assert (now.planned_today, programme.day_words(now), now.done) == (False, "next Mon", 1)
    (off,) = programme.this_week([replace(item, sets_per_session=3)], rows, monday + timedelta(days=5))
    assert programme.sets_words(off) is None  # a day off with no set: no "0 of 3 sets"
    (on,) = programme.this_week([replace(item, sets_per_session=3)], rows, monday + timedelta(days=4))
    assert programme.sets_words(on) == "0 of 3 sets"  # Friday, planned
    (now,) = programme.this_week([replace(item, days=())], rows, monday)
    assert (now.planned_today, programme.day_words(now)) == (None, None)  # no days said
    # what the live page says is asked today: on a planned day, and on any day while the week's
    # sessions are not all done; not on a day off
    bench = replace(item, exercise="bench_press", days=(), sessions_per_week=1, sets_per_session=None)
    assert programme.today_words(programme.this_week([item, bench], rows, monday)) == "Bench press, Deep squat 1 set"
    assert programme.today_words(programme.this_week([item], rows, monday + timedelta(days=5))) is None
    done = programme.this_week([replace(item, days=(), sessions_per_week=1)], rows, monday + timedelta(days=1))
    assert programme.today_words(done) is None  # the week's one session done on Monday
    for days, why in (((0, 2), "2 days for 3 sessions"), ((0, 0, 2), "each once"), ((0, 2, 7), "each once")):
        with pytest.raises(ValueError, match=why):
            set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 3, days=days)
    for mask in (0, 128):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("UPDATE programme_items SET days_mask = :m"), {"m": mask})


def test_exercises_a_programme_can_hold():
    names = programme.exercises()
    assert "deep_squat" in names and "bench_press" in names and "rest" not in names
    assert len(names) == len(set(names)) == 15
    assert programme.monday(date(2026, 12, 6)) == date(2026, 11, 30)  # a Sunday's week



def test_the_archive_carries_the_programme_to_another_clinic(clinic_of_four, tmp_path, make_uiprmd_session_result):
    """All data (ZIP) holds the programme with its history; imported elsewhere, the items keep
    their dates, so the weeks count as they did; importing again adds nothing."""
    from physio_core import imports
    from physio_core.archive import athlete_archive
    from physio_core.store import init_db

    engine, ids = clinic_of_four
    _squats(engine, ids["athlete"], make_uiprmd_session_result, [0])
    set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 3, 10, "knees out")
    set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 4, sets_per_session=3)  # ends the first
    set_programme_item(engine, ids["trainer"], ids["athlete"], "bench_press", 2, days=(1, 3))
    mine = programme_of(engine, ids["athlete"])
    archive = imports.read_archive(athlete_archive(engine, ids["athlete"]))
    assert [(i.exercise, i.sessions_per_week, i.reps_per_set, i.note, i.sets_per_session, i.days)
            for i in archive.programme] == [("deep_squat", 3, 10, "knees out", None, ()),
                                            ("deep_squat", 4, None, "", 3, ()), ("bench_press", 2, None, "", None, (1, 3))]

    there = init_db(f"sqlite:///{tmp_path / 'other_clinic.db'}")
    athlete = create_user(there, None, "Ana")
    report = imports.import_sessions(there, archive.sessions, athlete.id, programme=archive.programme)
    assert report.programme == 3 and "3 programme items added" in report.summary()

    def shape(items):  # times to the second, as the archive writes them
        return [(i.exercise, i.sessions_per_week, i.reps_per_set, i.sets_per_session, i.days, i.note,
                 i.started_at.replace(microsecond=0),
                 None if i.ended_at is None else i.ended_at.replace(microsecond=0)) for i in items]

    assert shape(programme_of(there, athlete.id)) == shape(mine)
    again = imports.import_sessions(there, archive.sessions, athlete.id, programme=archive.programme)
    assert again.programme == 0 and len(programme_of(there, athlete.id)) == 3
