"""The pain the morning after training (the pain-monitoring model): said by the athlete or written
down by their staff, kept by SQLite and PostgreSQL, read against the model's limits, drawn on
Progress, listed on the trainers' roster and carried by the archive into another clinic."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from physio_core import felt, imports, progress
from physio_core.archive import athlete_archive
from physio_core.store import AccessDenied, delete_athlete, downgrade, upgrade
from physio_core.store.access import MorningPainOut, morning_pain, morning_pains, set_morning_pain

DAY = date(2026, 12, 1)


def _m(*pairs: tuple[int, int]) -> list[MorningPainOut]:
    """Mornings as (days after DAY, pain)."""
    return [MorningPainOut(DAY + timedelta(days=d), p) for d, p in pairs]


def test_the_athlete_or_their_staff_say_it_and_nobody_else(clinic_of_four):
    engine, ids = clinic_of_four
    set_morning_pain(engine, ids["athlete"], ids["athlete"], DAY, 3, today=DAY)  # the athlete, at home
    set_morning_pain(engine, ids["trainer"], ids["athlete"], DAY + timedelta(days=1), 4,
                     today=DAY + timedelta(days=1))  # their trainer, writing it down
    assert morning_pain(engine, ids["athlete"], viewer_id=ids["athlete"]) == _m((0, 3), (1, 4))
    for who in ("stranger", "other"):  # a trainer of neither, another athlete
        with pytest.raises(AccessDenied):
            set_morning_pain(engine, ids[who], ids["athlete"], DAY, 9, today=DAY)
        with pytest.raises(AccessDenied):
            morning_pain(engine, ids["athlete"], viewer_id=ids[who])
    set_morning_pain(engine, ids["athlete"], ids["athlete"], DAY, 2, today=DAY)  # said again: replaced
    set_morning_pain(engine, ids["athlete"], ids["athlete"], DAY + timedelta(days=1), None)  # taken back
    assert morning_pain(engine, ids["athlete"]) == _m((0, 2))
    with pytest.raises(ValueError, match="still to come"):
        set_morning_pain(engine, ids["athlete"], ids["athlete"], DAY + timedelta(days=1), 2, today=DAY)
    with pytest.raises(ValueError, match="0 to 10"):
        set_morning_pain(engine, ids["athlete"], ids["athlete"], DAY, 11, today=DAY)
    with pytest.raises(ValueError, match="expected athlete"):  # a morning's pain is an athlete's
        set_morning_pain(engine, None, ids["trainer"], DAY, 2, today=DAY)
    assert morning_pains(engine, [ids["athlete"], ids["other"]]) == {ids["athlete"]: _m((0, 2)), ids["other"]: []}


def test_the_database_keeps_one_a_day_within_the_scale_and_cascades(clinic_of_four):
    engine, ids = clinic_of_four
    for pain in (11, -1):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO morning_pain (athlete_id, day, pain) VALUES (:a, :d, :p)"),
                         {"a": ids["athlete"], "d": DAY, "p": pain})
    set_morning_pain(engine, ids["athlete"], ids["athlete"], DAY, 3, today=DAY)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO morning_pain (athlete_id, day, pain) VALUES (:a, :d, 4)"),
                     {"a": ids["athlete"], "d": DAY})
    assert delete_athlete(engine, ids["athlete"])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM morning_pain")).scalar() == 0


def test_downgrade_drops_the_table_and_upgrade_brings_it_back(clinic_of_four):
    engine, ids = clinic_of_four
    set_morning_pain(engine, ids["athlete"], ids["athlete"], DAY, 3, today=DAY)
    downgrade(engine, "0010")
    assert "morning_pain" not in sa.inspect(engine).get_table_names()
    upgrade(engine)
    assert morning_pain(engine, ids["athlete"]) == []


@pytest.mark.parametrize(("mornings", "ok", "said"), [
    (_m((0, 2), (2, 3)), True, "Pain on the morning of 2026-12-03: 3/10 (mild), within the pain-monitoring model"),
    (_m((0, 2), (2, 6)), False, "6/10 (moderate), above the 5/10 the pain-monitoring model allows: ease the load."),
    (_m((0, 5)), True, "5/10 (moderate), within"),  # 5 is allowed
    (_m((0, 1), (2, 3)), False, "3/10 (mild), up 2 on the morning of 2026-12-01: the pain has not settled"),
    (_m((0, 1), (15, 3)), True, "within"),  # the morning before is more than two weeks away
    (_m((0, 1), (2, 1), (7, 2), (9, 3)), False, "this week's mornings average 2.5, the week before's 1.0: rising"),
])
def test_the_latest_morning_against_the_pain_monitoring_model(mornings, ok, said):
    text, within = felt.morning_note(mornings, mornings[-1].day + timedelta(days=1))
    assert within is ok and said in text


def test_a_morning_a_week_old_says_nothing_and_the_morning_after_training_is_asked():
    assert felt.morning_note(_m((0, 7)), DAY + timedelta(days=7)) is None
    assert felt.morning_note([], DAY) is None
    trained = [DAY, DAY + timedelta(days=2)]
    assert felt.morning_asked(trained, [], DAY + timedelta(days=1))
    assert not felt.morning_asked(trained, _m((1, 2)), DAY + timedelta(days=1))  # said already
    assert not felt.morning_asked(trained, [], DAY + timedelta(days=2))  # no training the day before


def test_progress_draws_the_mornings_and_the_roster_gives_the_latest(clinic_of_four, make_uiprmd_session_result):
    from physio_core.store import save_session_result

    engine, ids = clinic_of_four
    started = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    save_session_result(engine, make_uiprmd_session_result(started_at=started), ids["athlete"])
    save_session_result(engine, make_uiprmd_session_result(episodes=(4, 5), started_at=started + timedelta(days=2)),
                        ids["athlete"])
    set_morning_pain(engine, ids["athlete"], ids["athlete"], date(2026, 12, 1), 2, today=date(2026, 12, 1))
    set_morning_pain(engine, ids["athlete"], ids["athlete"], date(2026, 12, 3), 6, today=date(2026, 12, 3))
    data = progress.load_progress(engine, ids["athlete"], viewer_id=ids["trainer"])
    assert data.morning == [MorningPainOut(date(2026, 12, 1), 2), MorningPainOut(date(2026, 12, 3), 6)]
    assert progress.has_felt(data.rows, data.morning) and not progress.has_felt(data.rows)  # no set said it
    fig = progress.felt_figure(data.rows, morning=data.morning)
    (line,) = [t for t in fig.data if t.name == "Pain next morning"]
    assert list(line.y) == [2, 6] and [x.hour for x in line.x] == [progress.MORNING_HOUR] * 2
    assert [s.y0 for s in fig.layout.shapes] == [felt.MORNING_LIMIT]  # the model's limit, dashed
    assert progress.mornings_between(data.morning, date(2026, 12, 2), None) == data.morning[1:]

    (glance,) = progress.roster(engine, ids["trainer"], today=date(2026, 12, 6))
    assert glance.morning_pain == 6
    assert progress.roster_frame([glance]).iloc[0]["morning pain (0–10)"] == 6
    (glance,) = progress.roster(engine, ids["trainer"], today=date(2026, 12, 10))  # a week on: not said lately
    assert glance.morning_pain is None

    from physio_core.exports import progress_report_html

    page = progress_report_html(data.rows, athlete="Ana", morning=data.morning, include_plotlyjs=False).decode()
    assert "Pain next morning" in page and "above the 5/10 the pain-monitoring model allows" in page


def test_the_archive_carries_the_mornings_and_an_import_keeps_those_said_here(clinic_of_four):
    engine, ids = clinic_of_four
    for d, p in ((0, 2), (1, 3), (2, 4)):
        set_morning_pain(engine, ids["athlete"], ids["athlete"], DAY + timedelta(days=d), p, today=date(2026, 12, 6))
    archive = athlete_archive(engine, ids["athlete"])
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert z.read("morning_pain.csv").decode() == "day,pain\n2026-12-01,2\n2026-12-02,3\n2026-12-03,4\n"
    contents = imports.read_archive(archive)
    assert contents.morning == _m((0, 2), (1, 3), (2, 4)) and contents.holds_more
    set_morning_pain(engine, ids["other"], ids["other"], DAY + timedelta(days=1), 7, today=date(2026, 12, 6))
    report = imports.import_sessions(engine, contents.sessions, ids["other"], morning=contents.morning)
    assert report.morning == 2 and "the pain of 2 mornings after added" in report.summary()
    assert morning_pain(engine, ids["other"]) == _m((0, 2), (1, 7), (2, 4))  # the one said here is kept

    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as src, zipfile.ZipFile(broken, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, "day,pain\n2026-12-01,a lot\n" if name == "morning_pain.csv" else src.read(name))
    with pytest.raises(imports.ImportFormatError, match="morning_pain.csv"):
        imports.read_archive(broken.getvalue())


def test_the_morning_after_the_last_day_shown_is_drawn_with_it():
    mornings = _m((0, 2), (1, 3), (2, 4))
    assert progress.mornings_between(mornings, DAY, DAY) == mornings[:2]  # the day, and the morning after it
    assert progress.mornings_between(mornings, DAY + timedelta(days=2), None) == mornings[2:]


def test_the_load_by_the_pain_monitoring_model(clinic_of_four, make_uiprmd_session_result):
    """Two whole weeks of squats as planned (twice a week), the sets' pain and the mornings said:
    the load may increase while all stay within the model, is kept when a planned session was
    missed, and eased after a set that hurt 6/10 or a morning above 5."""
    from physio_core import programme
    from physio_core.store import progress_for_athlete, save_session_result, set_felt
    from physio_core.store.access import programme as programme_of, set_programme_item

    engine, ids = clinic_of_four
    monday = date(2026, 11, 16)  # two whole weeks before the week of Dec 3
    today = date(2026, 12, 3)
    set_programme_item(engine, None, ids["athlete"], "deep_squat", 2, 10,
                       started_at=datetime(2026, 11, 1, tzinfo=UTC))
    (item,) = programme_of(engine, ids["athlete"])
    days = [monday, monday + timedelta(days=3), monday + timedelta(days=7), monday + timedelta(days=10)]
    sids = [save_session_result(engine, make_uiprmd_session_result(started_at=datetime.combine(d, datetime.min.time(),
                                                                                               UTC).replace(hour=9)),
                                ids["athlete"]) for d in days]
    for sid in sids:
        set_felt(engine, sid, 3, 6)
    mornings = _m((1, 2), (2, 3))  # Dec 2 and 3
    rows = progress_for_athlete(engine, ids["athlete"])
    advice = programme.load_advice(item, rows, mornings, today)
    assert advice.word == "may increase" and "every planned session of the last 2 weeks done" in advice.why
    assert programme.load_advice(item, rows, _m((1, 2), (2, 6)), today).word == "ease"  # a morning above 5
    set_felt(engine, sids[-1], 6, 8)  # the last set hurt 6/10
    rows = progress_for_athlete(engine, ids["athlete"])
    advice = programme.load_advice(item, rows, mornings, today)
    assert advice.word == "ease" and advice.why.startswith("the last set hurt 6/10")
    set_felt(engine, sids[-1], 3, 6)
    missed = [r for r in progress_for_athlete(engine, ids["athlete"]) if r.session_id != sids[1]]
    assert programme.load_advice(item, missed, mornings, today).word == "keep"  # 3 of 4 planned sessions
    assert programme.load_advice(item, [], [], today) is None  # no pain said: nothing to go on


def test_the_load_stays_when_the_form_slipped(clinic_of_four):
    """Pain within the model and every planned session done, but the squats of the last two weeks
    were the subject's incorrect ones, the two weeks before their correct ones, each judged by the
    shipped models: the load is kept, with the shares said. The other way round it may increase."""
    from conftest import build_uiprmd_session_result
    from physio_core import programme
    from physio_core.config import PROJECT_ROOT
    from physio_core.pipeline import add_assessment
    from physio_core.store import delete_session, progress_for_athlete, save_session_result, set_felt
    from physio_core.store.access import programme as programme_of, set_programme_item
    from physio_core.store.repo import judged_reps

    if not (PROJECT_ROOT / "models" / "mistake_gcn.pt").is_file():
        pytest.skip("trained weights not in models/")
    engine, ids = clinic_of_four
    today = date(2026, 12, 3)
    since = date(2026, 11, 16)  # two whole weeks before the week of Dec 3
    set_programme_item(engine, None, ids["athlete"], "deep_squat", 2, 5, started_at=datetime(2026, 10, 1, tzinfo=UTC))
    (item,) = programme_of(engine, ids["athlete"])
    results = {}
    for correct in (True, False):
        results[correct] = []
        for k in range(2):
            r = build_uiprmd_session_result(movement=1, subject=1, episodes=tuple(range(1 + 5 * k, 6 + 5 * k)),
                                            correct=correct)
            add_assessment(r)
            results[correct].append(r)

    def athlete_with(before: bool, now: bool) -> list:
        athlete = ids["athlete"]
        for s in progress_for_athlete(engine, athlete):
            delete_session(engine, s.session_id)
        for start, correct in ((since - timedelta(weeks=2), before), (since, now)):
            for week in range(2):
                for k, day in enumerate((0, 3)):  # Monday and Thursday, as planned
                    r = results[correct][k]
                    r.started_at = datetime.combine(start + timedelta(weeks=week, days=day), datetime.min.time(),
                                                    UTC).replace(hour=9)
                    set_felt(engine, save_session_result(engine, r, athlete), 3, 5)
        return progress_for_athlete(engine, athlete)

    mornings = _m((1, 2), (2, 2))
    rows = athlete_with(before=True, now=False)
    share = {stretch: [judged_reps(r.metrics, r.reps) for r in rows
                       if (r.date.date() >= since) == (stretch == "now")] for stretch in ("now", "before")}
    share = {k: sum(c for c, _ in v) / sum(n for _, n in v) for k, v in share.items()}
    assert share["before"] - share["now"] > 0.5, share  # the models tell them apart (measured 1.0 and 0.0)
    advice = programme.load_advice(item, rows, mornings, today)
    assert advice.word == "keep", advice
    assert advice.why == (f"pain within the pain-monitoring model, but its form slipped: {share['now']:.0%} of its "
                          f"reps judged correct since Nov 16, against {share['before']:.0%} in the 2 weeks before")
    # the other way round: form got better
    advice = programme.load_advice(item, athlete_with(before=False, now=True), mornings, today)
    assert advice.word == "may increase", advice
    # the same form throughout: no slip
    assert programme.load_advice(item, athlete_with(before=True, now=True), mornings, today).word == "may increase"


def test_a_slip_of_form_is_more_than_chance():
    """Form slipped: the share of reps judged correct fell by more than 10 points and by more than
    chance would (Fisher's exact test); a few reps fewer judged correct among a few is chance."""
    from physio_core.programme import form_slipped
    from physio_core.store.repo import ProgressRow

    since = date(2026, 11, 16)

    def sets(start: date, n: int, reps: int, incorrect: int) -> list[ProgressRow]:
        return [ProgressRow(k, datetime.combine(start + timedelta(days=2 * k), datetime.min.time(), UTC),
                            "deep_squat", reps, None, {}, None, None, None, None,
                            {"reps_incorrect": incorrect, "reps_judged": reps}) for k in range(n)]

    before = sets(since - timedelta(weeks=2), 4, 10, 1)  # 90 % judged correct
    assert form_slipped("deep_squat", before + sets(since, 4, 10, 4), since) == (0.6, 0.9)
    assert form_slipped("deep_squat", before + sets(since, 4, 10, 2), since) is None  # 80 %: 10 points
    assert form_slipped("deep_squat", sets(since - timedelta(weeks=2), 1, 5, 0) + sets(since, 1, 5, 2),
                        since) is None  # 100 % then 60 % of five reps: chance
    assert form_slipped("other_exercise", before + sets(since, 4, 10, 4), since) is None
    assert form_slipped("deep_squat", sets(since, 4, 10, 4), since) is None  # nothing before to compare


def test_a_sessions_page_says_the_pain_of_the_morning_after_it():
    from physio_core.store.access import AthleteProfileOut

    profile = AthleteProfileOut(condition="Achilles tendinopathy, right", since=date(2026, 10, 1))
    mornings = _m((0, 2), (1, 4))  # Dec 1 and 2
    assert progress.session_about(profile, DAY, None, mornings) == (
        "8 weeks after Achilles tendinopathy, right (2026-10-01) · pain the next morning 4/10 (moderate)")
    assert progress.session_about(AthleteProfileOut(), DAY + timedelta(days=1), None, mornings) is None  # none said
