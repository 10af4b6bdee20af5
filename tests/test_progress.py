"""Progress data and figures on six weeks of real UI-PRMD sessions, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from conftest import PgDatabases, seed_progress_world
from physio_core import progress
from physio_core.report import pretty_angle, signed_change
from physio_core.store import (
    AccessDenied,
    dispose_engines,
    init_db,
    progress_for_athlete,
    progress_for_athletes,
)
from physio_core.store.access import set_rom_target


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('progress') / 'p.db'}"
        dbs = None
    else:
        dbs = PgDatabases(request.getfixturevalue("pg_server"))
        url = dbs.new()
    engine = init_db(url)
    ids = seed_progress_world(engine)
    yield engine, ids
    if dbs is None:
        dispose_engines(url)
    else:
        dbs.drop_all()


def test_filters_by_date_and_exercise(seeded):
    engine, ids = seeded
    everything = progress.load_progress(engine, ids["athlete"], viewer_id=ids["athlete"])
    assert len(everything.rows) == 9 and everything.exercises == ["deep_squat", "hurdle_step"]
    assert (everything.first_date, everything.last_date) == (date(2026, 9, 7), date(2026, 10, 15))
    assert [r.date for r in everything.rows] == sorted(r.date for r in everything.rows)

    squats = progress.load_progress(engine, ids["athlete"], viewer_id=ids["trainer"],
                                    flt=progress.ProgressFilter(exercises=("deep_squat",)))
    assert len(squats.rows) == 6 and {r.exercise for r in squats.rows} == {"deep_squat"}
    assert squats.exercises == everything.exercises  # the choices do not shrink with the filter

    window = progress.ProgressFilter(start=date(2026, 9, 14), end=date(2026, 10, 1))
    rows = progress.load_progress(engine, ids["athlete"], flt=window).rows
    assert [r.date.date().isoformat() for r in rows] == [
        "2026-09-14", "2026-09-17", "2026-09-21", "2026-09-28", "2026-10-01"]  # both ends included


def test_days_and_weeks_are_those_of_the_viewers_clock(seeded):
    """The hurdle steps were filmed on Thursdays at 17:00 UTC: in Tokyo that is Friday 02:00, so
    they fall on Fridays there, in the date filter too."""
    from zoneinfo import ZoneInfo

    engine, ids = seeded
    tokyo = ZoneInfo("Asia/Tokyo")
    window = progress.ProgressFilter(start=date(2026, 9, 14), end=date(2026, 10, 1))
    there = progress.load_progress(engine, ids["athlete"], tz=tokyo)
    assert (there.first_date, there.last_date) == (date(2026, 9, 7), date(2026, 10, 16))
    rows = progress.load_progress(engine, ids["athlete"], flt=window, tz=tokyo).rows
    assert [r.date.date().isoformat() for r in rows] == ["2026-09-14", "2026-09-18", "2026-09-21", "2026-09-28"]
    assert {r.date.hour for r in rows} == {18, 2} and all(r.date.utcoffset() == timedelta(hours=9) for r in rows)


def test_other_people_cannot_load_the_progress(seeded):
    engine, ids = seeded
    for viewer in (ids["other_trainer"], ids["other_athlete"]):
        with pytest.raises(AccessDenied):
            progress.load_progress(engine, ids["athlete"], viewer_id=viewer)
    with pytest.raises(AccessDenied):
        progress.load_progress(engine, ids["other_athlete"], viewer_id=ids["athlete"])


def test_rom_figure_draws_each_angle_and_its_target(seeded):
    engine, ids = seeded
    data = progress.load_progress(engine, ids["athlete"], flt=progress.ProgressFilter(exercises=("deep_squat",)))
    assert progress.angles_by_range(data.rows)[:2] == ["knee_angle_r", "hip_flexion_r"]
    fig = progress.rom_figure(data.rows, ["knee_angle_r", "hip_flexion_r"], data.targets, exercise="deep_squat")
    by_name = {t.name: t for t in fig.data}
    knee = by_name["Knee angle (R)"]
    assert list(knee.y) == [r.rom_deg["knee_angle_r"] for r in data.rows]
    assert list(by_name["target Knee angle (R)"].y) == [120.0, 120.0]
    assert list(by_name["target Hip flexion (R)"].y) == [100.0, 100.0]  # the any-exercise target
    # the squat-only knee target does not apply to the hurdle step
    assert progress.target_for(data.targets, "knee_angle_r", "hurdle_step") is None
    # the real recordings: the correct squats (from week 3) go deeper than the incorrect ones
    first, later = data.rows[:2], data.rows[2:]
    assert min(r.rom_deg["knee_angle_r"] for r in later) > max(r.rom_deg["knee_angle_r"] for r in first)


def test_recurring_corrections_add_up_across_sessions():
    from datetime import datetime

    from physio_core.store import ProgressRow

    asked = [{"hips lower": 2, "head back": 1}, {}, {"hips lower": 1, "left knee outward": 3, "hips higher": 1}]
    rows = [ProgressRow(session_id=i, date=datetime(2026, 11, 1 + 7 * i), exercise="deep_squat", reps=5,
                        duration_s=30.0, rom_deg={}, mean_rep_rom_deg=None, balance_score=None,
                        stability_score=None, injury_risk=None, metrics={"correction_focus": f} if f else {})
            for i, f in enumerate(asked)]
    table = progress.recurring_corrections(rows)
    # each with the reps that asked the same joint the other way: the model said "hips higher" once
    assert table.to_dict("records") == [
        {"correction": "hips lower", "reps": 3, "sessions": 2, "first": rows[0].date, "last": rows[2].date,
         "other way": 1},
        {"correction": "left knee outward", "reps": 3, "sessions": 1, "first": rows[2].date, "last": rows[2].date,
         "other way": 0},
        {"correction": "hips higher", "reps": 1, "sessions": 1, "first": rows[2].date, "last": rows[2].date,
         "other way": 3},
        {"correction": "head back", "reps": 1, "sessions": 1, "first": rows[0].date, "last": rows[0].date,
         "other way": 0},
    ]  # most reps first; of two as many, the one asked last
    assert progress.recurring_corrections(rows[1:2]).empty
    # listed: those asked of two reps or more; "hips higher" still counts against "hips lower"
    listed, note = progress.recurring_only(table)
    assert list(listed["correction"]) == ["hips lower", "left knee outward"] and listed["other way"][0] == 1
    assert note == "2 other corrections were asked of one rep only, and are not listed."
    assert progress.recurring_only(table.iloc[:3])[1] == "1 other correction was asked of one rep only, and is not listed."
    assert progress.recurring_only(table.iloc[:2])[1] == ""


def test_progress_opens_after_the_last_long_break():
    from datetime import datetime

    from physio_core.store import ProgressRow

    def rows(*days):
        return [ProgressRow(session_id=i, date=datetime(*d, 10, tzinfo=UTC), exercise="deep_squat", reps=5,
                            duration_s=30.0, rom_deg={}, mean_rep_rom_deg=None, balance_score=None,
                            stability_score=None, injury_risk=None, metrics={}) for i, d in enumerate(days)]

    # weekly sessions with a 3-month pause: all of them
    steady = progress.opening(rows((2026, 3, 2), (2026, 3, 9), (2026, 6, 15), (2026, 6, 22)))
    assert steady == progress.Opening(date(2026, 3, 2), 0, "")
    # two old sets, then the present block after a break of 27 weeks
    back = progress.opening(rows((2024, 1, 10), (2024, 1, 12), (2024, 7, 20), (2025, 1, 25), (2025, 2, 1)))
    assert back.start == date(2025, 1, 25) and back.before == 3
    assert back.note == ("Opens on 2025-01-25, after a break of 6 months: the 3 earlier sessions (2024-01-10 "
                         "to 2024-07-20) are left out until Dates include them.")
    assert progress.opening([]) == progress.Opening(None, 0, "")


def test_a_word_when_other_weights_judged_the_sessions():
    """Progress says when the sessions' verdicts come from other weights than the installed
    ones, or from several, naming which judged which session; nothing when the installed ones
    judged all that say, or when none says (stored before the weights were recorded)."""
    from datetime import datetime

    from physio_core.store import ProgressRow

    def rows(*models):
        """A session each: judged by weights ``m``; "?": judged before they were recorded; None:
        no verdicts."""
        def metrics(m):
            return {} if m is None else {"reps_judged": 5.0} | ({} if m == "?" else {"models": m})

        return [ProgressRow(session_id=i + 1, date=datetime(2026, 11, 1 + i), exercise="deep_squat", reps=5,
                            duration_s=30.0, rom_deg={}, mean_rep_rom_deg=None, balance_score=None,
                            stability_score=None, injury_risk=None, metrics=metrics(m))
                for i, m in enumerate(models)]

    assert progress.weights_note(rows(None, "new", "new"), "new") is None
    assert progress.weights_note(rows(None, None), "new") is None
    assert progress.judged_by_other_weights(rows(None, "new", "old", "?"), "new") == [3, 4]
    unsaid = progress.weights_note(rows("?", "?", None), "new")
    assert unsaid.startswith("These sessions do not say which model weights judged them (#1, #2: judged "
                             "before 2026-12-05)") and "(new)" in unsaid
    mixed = progress.weights_note(rows("?", "new"), "new")
    assert "new (installed now) in #2; weights not recorded (judged before 2026-12-05) in #1." in mixed
    said = progress.weights_note(rows("old", "old", None, "new", "new"), "new")
    assert "new (installed now) in #4, #5; old in #1, #2." in said and "Staff can score them again with the installed weights" in said
    assert "old in #1;" not in said and "#3" not in said
    assert said.startswith("These sessions were judged by 2 sets of model weights: ")
    alone = progress.weights_note(rows("old", "old"), "new")
    assert "other model weights (old in #1, #2) than the ones installed now (new)." in alone
    many = progress.weights_note(rows(*["old"] * 8, "new"), "new")
    assert "old in #1, #2, #3, #4, #5, #6 and 2 more." in many
    assert "3 sets" in progress.weights_note(rows("older", "old", "new"), "new")

    # the installed weights under older scoring rules (a bare fingerprint: rules 1)
    assert progress.judged_by_other_weights(rows("new", "new+r2", "old+r2"), "new+r2") == [1, 3]
    for judged in (("new", "new", "new+r2"), ("new", "new")):
        rules = progress.weights_note(rows(*judged), "new+r2")
        assert rules.startswith("Sessions #1, #2 were scored by the installed weights under older scoring "
                                "rules 1 than this version's scoring rules 2 (since 2026-12-05 injury risk names")
    both = progress.weights_note(rows("new", "old", "new+r2"), "new+r2")
    assert both.startswith("These sessions were judged by 3 sets of model weights and scoring rules: new+r2 "
                           "(installed now) in #3; new (the installed weights under scoring rules 1) in #1; old in #2.")


def test_a_one_sided_session_worked_the_side_its_reps_were_counted_on(tmp_path):
    """UI-PRMD subject 4's incorrect shoulder extensions: the right arm does the ten reps, while
    the idle left arm's few compensating swings span more (its stored range is the larger). The
    session worked the right side, as its reps say, in the sides chart and in the range chart."""
    from conftest import uiprmd_set
    from physio_core import pipeline
    from physio_core.store import Role, create_user, get_or_create_athlete, save_session_result

    exercise = "standing_shoulder_extension"
    seq, _, _ = uiprmd_set([(exercise, 4, False)] * 10)
    res = pipeline.finish_sequence(seq, backend="uiprmd-kinect", exercise=exercise, source="t",
                                   smooth=False, assess=False)
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = init_db(url)
    try:
        trainer = create_user(engine, "coach@clinic.org", "Carla Coach", Role.TRAINER, "coach-password-1")
        athlete = get_or_create_athlete(engine, "Ana Lopez", trainer.id)
        save_session_result(engine, res, athlete.id, trainer.id)
        rows = progress.load_progress(engine, athlete.id).rows
    finally:
        dispose_engines(url)
    (row,) = rows
    assert row.rom_deg["shoulder_flexion_l"] > row.rom_deg["shoulder_flexion_r"]
    assert row.rep_angle == "shoulder_flexion_r" and abs(row.reps - 10) <= 1
    df = progress.sides_frame(rows)
    assert list(df["side"]) == ["right"] and list(df["rom_deg"]) == [row.rom_deg["shoulder_flexion_r"]]
    assert progress.default_rom_angles(rows, [], exercise) == ["shoulder_flexion_r"]
    assert "(the side its reps were counted on; with no rep, the side whose shoulder flexion moved more)" \
        in progress.sides_note(rows, exercise)


def test_a_one_sided_exercise_compares_its_sides_across_sessions(seeded):
    """A hurdle step steps with one leg: within a session its left and right differ by design
    (the asymmetry of the test above). Its sessions are compared side against side instead: each
    at the range of the side it worked, that side found from the stored ranges. The same
    sessions mirrored (as if the other leg had stepped) are the other side's, at equal ranges."""
    from dataclasses import replace

    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows
    assert progress.one_sided("hurdle_step") and not progress.one_sided("deep_squat")
    steps = [r for r in rows if r.exercise == "hurdle_step"]
    df = progress.sides_frame(rows)
    assert list(df["session_id"]) == [r.session_id for r in steps]  # the squats are not one-sided
    for r, (_, got) in zip(steps, df.iterrows()):
        left, right = r.rom_deg["hip_flexion_l"], r.rom_deg["hip_flexion_r"]
        assert min(left, right) < 0.5 * max(left, right)  # real one-leg steps: one hip moves
        assert got["side"] == ("left" if left > right else "right")
        assert got["rom_deg"] == max(left, right) and got["angle"] == f"hip_flexion_{got['side'][0]}"
    side = df["side"].iloc[0]
    other = "left" if side == "right" else "right"
    note = progress.sides_note(rows, "hurdle_step")
    assert note.startswith("Hurdle step works one side at a time, so a session's left and right differ by design.")
    assert f"3 sessions of the {side} side, the latest at {df['rom_deg'].iloc[-1]:.0f}° (#{steps[-1].session_id})" in note
    assert f"o session of the {other} side yet" in note and "band" not in note

    def other_side(k: str) -> str:
        return k[:-2] + ("_r" if k.endswith("_l") else "_l") if k.endswith(("_l", "_r")) else k

    def mirrored(r):
        return replace(r, session_id=r.session_id + 100, rep_angle=other_side(r.rep_angle),
                       rom_deg={other_side(k): v for k, v in r.rom_deg.items()})

    both = rows + [mirrored(r) for r in steps]
    assert set(progress.sides_frame(both)["side"]) == {"left", "right"}
    note = progress.sides_note(both, "hurdle_step")
    assert "The latest left against the latest right: +0 % of their mean, within the ±10 % band." in note
    fig = progress.sides_figure([r for r in both if r.exercise == "hurdle_step"])
    lines = {t.name: list(t.y) for t in fig.data}
    assert lines[f"{side} side"] == lines[f"{other} side"] == list(df["rom_deg"])
    assert fig.layout.yaxis.title.text == "range of motion (°), hip flexion"
    # the range-of-motion chart opens on the side the sessions worked; on both once both were
    (counted,) = {r.rep_angle for r in steps}
    assert counted.endswith(f"_{side[0]}")
    assert progress.default_rom_angles(rows, [], "hurdle_step") == [counted]
    assert set(progress.default_rom_angles(both, [], "hurdle_step")) == {counted[:-2] + "_l", counted[:-2] + "_r"}
    # a squat works both sides at once: both knees, as before
    assert len(progress.default_rom_angles(rows, [], "deep_squat")) == 2


def test_rom_figure_draws_no_empty_trace():
    from datetime import datetime

    from physio_core.store import ProgressRow

    rows = [ProgressRow(session_id=i, date=datetime(2026, 11, i), exercise="deep_squat", reps=5,
                        duration_s=30.0, rom_deg={"knee_angle_r": 80.0 + 5 * i}, mean_rep_rom_deg=None,
                        balance_score=None, stability_score=None, injury_risk=None, metrics={})
            for i in (1, 2, 3)]
    fig = progress.rom_figure(rows, ["knee_angle_r", "elbow_flexion_r"])
    assert len(fig.data) == 1  # no data for the elbow: no empty trace
    assert list(fig.data[0].y) == [85.0, 90.0, 95.0]
    # the axis starts at 0: a few degrees between sessions must not fill the chart's height
    assert fig.layout.yaxis.rangemode == "tozero"


def test_asymmetry_matches_the_stored_ranges(seeded):
    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows
    df = progress.asymmetry_frame(rows)
    knee = df[df["joint"] == "Knee angle"].set_index("session_id")
    for r in rows:
        left, right = r.rom_deg["knee_angle_l"], r.rom_deg["knee_angle_r"]
        assert knee.loc[r.session_id, "asymmetry_pct"] == pytest.approx(100 * (left - right) / ((left + right) / 2))
    # the hurdle step is a one-leg movement: its knee asymmetry dwarfs the squat's
    hurdle = knee[knee["exercise"] == "hurdle_step"]["asymmetry_pct"].abs()
    squat = knee[knee["exercise"] == "deep_squat"]["asymmetry_pct"].abs()
    assert hurdle.min() > 5 * squat.max()
    fig = progress.asymmetry_figure(rows)
    assert {t.name for t in fig.data} == set(df["joint"])
    # the ±10 % band is at most half the axis, and every point is on it
    low, high = fig.layout.yaxis.range
    assert low <= -2 * progress.ASYMMETRY_FLAG_PCT and high >= 2 * progress.ASYMMETRY_FLAG_PCT
    assert low < df["asymmetry_pct"].min() and df["asymmetry_pct"].max() < high
    # the knee, the hip's flexion and the angle the reps were counted on (the hurdle step's is its
    # hip flexion): not the hip's rotation and adduction or the ankle, which moved more than 10°
    # here and whose sides differ by more than the band in correct reps too
    assert set(df["joint"]) == {"Knee angle", "Hip flexion"}
    for noisy in ("hip_rotation", "hip_adduction", "ankle_angle"):
        assert any(r.rom_deg.get(noisy + "_l", 0) > 10 for r in rows)


def test_asymmetry_draws_the_counted_angle_of_a_two_sided_arm_exercise(seeded):
    engine, ids = seeded
    squat = progress.load_progress(engine, ids["athlete"]).rows[0]
    # both arms raised at once, reps counted on the right elbow
    arms = replace(squat, exercise="other", rep_angle="elbow_flexion_r")
    assert set(progress.asymmetry_frame([arms])["joint"]) == {"Knee angle", "Hip flexion", "Elbow flexion"}


def test_main_exercise_is_the_most_frequent(seeded):
    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows
    assert progress.main_exercise(rows) == "deep_squat"
    assert progress.main_exercise([r for r in rows if r.exercise == "hurdle_step"]) == "hurdle_step"
    assert progress.main_exercise([]) is None


def test_session_reps_scores_and_mix_figures(seeded):
    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows

    weekly = progress.sessions_figure(rows)
    assert sum(sum(t.y) for t in weekly.data) == len(rows)
    assert {t.name for t in weekly.data} == {"Deep squat", "Hurdle step"}
    assert weekly.layout.yaxis.dtick == 1  # at most two sessions a week: whole ticks, no "1.5"
    # six weeks: a tick on each; years of them: Plotly's own date ticks, not one per week
    assert weekly.layout.xaxis.dtick == 7 * 86400000.0 and weekly.layout.xaxis.tickformat == "%b %d"
    years = [replace(r, date=r.date - timedelta(weeks=52 * k)) for k, r in enumerate(rows)]
    long = progress.sessions_figure(years)
    assert long.layout.xaxis.dtick is None and long.layout.xaxis.tickformat is None
    assert sum(sum(t.y) for t in long.data) == len(rows)
    # three sets of squats on one day (a video split into its sets) are one session of three sets,
    # as the programme counts them; a hurdle step set that day is a session of its own exercise
    squats = [r for r in rows if r.exercise == "deep_squat"]
    day = [replace(r, date=squats[0].date + timedelta(minutes=10 * k)) for k, r in enumerate(squats[:3])]
    hurdle = replace(next(r for r in rows if r.exercise == "hurdle_step"), date=squats[0].date)
    one_day = progress.sessions_figure([*day, hurdle])
    assert {t.name: (list(t.y), [list(c) for c in t.customdata]) for t in one_day.data} == {
        "Deep squat": ([1], [[3, sum(r.reps for r in day)]]), "Hurdle step": ([1], [[1, hurdle.reps]])}
    assert "%{y} sessions (%{customdata[0]} sets), %{customdata[1]} reps" in one_day.data[0].hovertemplate

    reps = progress.reps_figure(rows)
    assert sum(sum(t.y) for t in reps.data) == sum(r.reps for r in rows) == 6 * 3 + 3 * 2

    # one panel per exercise, in the order of their first session; a line joins one exercise's
    # sessions only (the squats and hurdle steps alternate: one line through both drew a saw)
    scores = progress.scores_figure(rows)
    assert [a.text for a in scores.layout.annotations] == ["Deep squat", "Hurdle step"]
    assert progress.scores_panels(rows) == [("deep_squat", False), ("hurdle_step", False)]
    for ex, axis in (("deep_squat", "y"), ("hurdle_step", "y2")):
        mine = [r for r in rows if r.exercise == ex]
        lines = {t.name: t for t in scores.data if t.yaxis == axis}
        assert set(lines) == {"Correct reps", "Stability", "Balance", "Injury risk"}
        for t in lines.values():
            assert list(t.x) == [r.date for r in mine] and {c[1] for c in t.customdata} == {ex.replace("_", " ")}
        stability = list(lines["Stability"].y)
        assert stability == [r.stability_score for r in mine] == sorted(stability)  # the athlete improves
    # one legend entry per score, though each is drawn in both panels
    assert sorted(t.name for t in scores.data if t.showlegend is not False) == sorted(
        label for _, label in progress.SCORES)
    assert scores.layout.height == 140 + 2 * progress.SCORES_PANEL_HEIGHT
    # the incorrect squats of the first two weeks, then only correct reps
    correct = {t.yaxis: t for t in scores.data if t.name == "Correct reps"}
    two_weeks = rows[0].date + timedelta(weeks=2)
    assert list(correct["y"].y) == [0.0 if r.date < two_weeks else 1.0 for r in rows if r.exercise == "deep_squat"]
    assert list(correct["y2"].y) == [1.0] * 3
    assert list(progress.sessions_frame(rows)["correct_reps_pct"]) == [
        100 * (0.0 if r.exercise == "deep_squat" and r.date < two_weeks else 1.0) for r in rows]

    mix = progress.exercise_mix_figure(rows)
    assert dict(zip(mix.data[0].labels, mix.data[0].values)) == {"Deep squat": 6, "Hurdle step": 3}

    s = progress.summary(rows)
    assert (s.sessions, s.reps, s.active_weeks) == (9, 24, 6)
    # the last session is a hurdle step: its stability against the first hurdle step's (week 2),
    # not against the first session of all (a squat, 0.58)
    assert (s.stability_exercise, s.stability_change) == ("hurdle_step", pytest.approx(0.85 - (0.58 + 0.27 / 5)))
    # every hurdle step was a correct recording: all reps correct, no change
    assert (s.correct_exercise, s.correct_share, s.correct_change) == ("hurdle_step", 1.0, 0.0)
    squats = progress.summary([r for r in rows if r.exercise == "deep_squat"])
    assert (squats.correct_share, squats.correct_change) == (1.0, 1.0)  # from 0 % in week 1

    # a later session of no exercise the models know has no scores: the tiles keep the last ones
    # (the stability tile read "–" after an unrecognised upload, while its chart had them all)
    unscored = replace(rows[-1], session_id=rows[-1].session_id + 100, date=rows[-1].date + timedelta(days=1),
                       exercise="auto", balance_score=None, stability_score=None, injury_risk=None, metrics={})
    later = progress.summary([*rows, unscored])
    assert later.sessions == s.sessions + 1
    assert (later.stability_score, later.stability_change, later.stability_exercise) == (
        rows[-1].stability_score, s.stability_change, "hurdle_step")
    assert (later.correct_share, later.correct_exercise) == (1.0, "hurdle_step")


def test_rom_summary_says_when_each_target_was_reached(seeded):
    engine, ids = seeded
    data = progress.load_progress(engine, ids["athlete"], flt=progress.ProgressFilter(exercises=("deep_squat",)))
    df = progress.rom_summary(data.rows, ["knee_angle_r", "hip_flexion_r", "elbow_flexion_r"], data.targets,
                              "deep_squat").set_index("angle")
    knee = [r.rom_deg["knee_angle_r"] for r in data.rows]
    assert list(df.index) == ["knee_angle_r", "hip_flexion_r", "elbow_flexion_r"]
    assert (df.loc["knee_angle_r", "first_deg"], df.loc["knee_angle_r", "latest_deg"]) == (knee[0], knee[-1])
    assert df.loc["knee_angle_r", "best_deg"] == max(knee)
    assert df.loc["knee_angle_r", "target_deg"] == 120.0
    # the incorrect squats of the first two weeks fall short of 120 deg; a correct one reaches it
    first_reached = [r.session_id for r in data.rows].index(df.loc["knee_angle_r", "reached_in_session"])
    assert first_reached >= 2 and knee[first_reached] >= 120.0 > max(knee[:first_reached])
    assert df.loc["elbow_flexion_r", "target_deg"] is None or pd.isna(df.loc["elbow_flexion_r", "target_deg"])
    assert pd.isna(df.loc["elbow_flexion_r", "reached_in_session"])


def test_rom_summary_table_wording():
    summary = pd.DataFrame({
        "angle": ["knee_angle_r", "hip_flexion_r", "elbow_flexion_r"], "sessions": [3, 3, 2],
        "first_deg": [90.06, 70.0, 40.0], "latest_deg": [101.44, 119.8, 40.04], "best_deg": [101.44, 119.8, 41.0],
        "change_deg": [11.38, 49.8, 0.04], "target_deg": [120.0, 120.0, None],
        "reached_in_session": [None, None, None]})
    table = progress.rom_summary_table(summary).set_index("angle")
    # the change of the numbers as written: 101.4 after 90.1, not the +11.38 of their decimals
    assert list(table["first (°)"]) == [90.1, 70.0, 40.0]
    assert list(table["change (°)"]) == ["+11.3", "+49.8", "±0.0"]
    # a shortfall under a degree is not written "0° short"
    assert list(table["target reached"]) == ["not yet (19° short)", "not yet (0.2° short)", "no target"]


def test_progress_report_prints_the_pages_numbers(seeded, streamlit_plotly_default):
    from conftest import STREAMLIT_PLACEHOLDER
    from physio_core.exports import progress_report_html

    engine, ids = seeded
    data = progress.load_progress(engine, ids["athlete"])
    doc = progress_report_html(data.rows, athlete="Ana Lopez", targets=data.targets,
                               rom_exercise="deep_squat", angles=["knee_angle_r", "hip_flexion_r"],
                               include_plotlyjs=False).decode()
    assert "<title>Progress · Ana Lopez</title>" in doc
    # sessions/week, reps, scores, ROM vs target and asymmetry charts
    assert doc.count("class='chart'") == 5
    # written inside the app (Streamlit's template), the charts still have their colours
    assert not STREAMLIT_PLACEHOLDER.findall(doc)
    sessions = doc[doc.index("<h2>Sessions (9)</h2>"):]
    assert sessions.count("<tr>") == 1 + 9
    for r in data.rows:  # the page's headers and decimals
        assert f'<td class="">{r.mean_rep_rom_deg:.1f}</td><td class="">{100 * r.correct_share:.0f}</td>' \
               f'<td class="">{r.stability_score:.2f}</td>' in sessions
    assert "<th class=\"\">mean rep range (°)</th>" in sessions
    assert "<p class='meta'>Times: UTC.</p>" in sessions
    from zoneinfo import ZoneInfo

    there = progress.load_progress(engine, ids["athlete"], tz=ZoneInfo("Asia/Tokyo")).rows
    tokyo = progress_report_html(there, athlete="Ana Lopez", include_plotlyjs=False).decode()
    assert "2026-09-07 18:00" in tokyo and "<p class='meta'>Times: Asia/Tokyo.</p>" in tokyo
    squats = [r for r in data.rows if r.exercise == "deep_squat"]
    reached = progress.rom_summary(squats, ["knee_angle_r"], data.targets, "deep_squat")["reached_in_session"][0]
    assert f"yes, session #{reached}" in doc
    # the stability tile: the latest (a hurdle step) and its change against the first hurdle step
    s = progress.summary(data.rows)
    assert f"{data.rows[-1].stability_score:.2f} ({s.stability_change:+.2f})" in doc
    assert "Latest correct reps<b>100% (±0 pts)</b>" in doc
    assert "<h2>Left / right asymmetry · Deep squat</h2>" in doc and "Left side / right side" not in doc
    # a one-sided exercise: its sides against each other, as on the page
    steps = progress_report_html(data.rows, athlete="Ana Lopez", rom_exercise="hurdle_step",
                                 angles=["hip_flexion_r"], include_plotlyjs=False).decode()
    assert "<h2>Left side / right side · Hurdle step</h2>" in steps and "Left / right asymmetry" not in steps
    assert "Hurdle step works one side at a time" in steps and steps.count("class='chart'") == 5
    assert "Changes in brackets: stability against the first hurdle step session; correct reps against " \
           "the first hurdle step session." in doc
    # a wrist-sensor athlete: no range of motion part
    no_rom = progress_report_html(data.rows, athlete="x", include_plotlyjs=False).decode()
    assert no_rom.count("class='chart'") == 3 and "Range of motion vs target" not in no_rom
    with pytest.raises(ValueError):
        progress_report_html([], athlete="x")


def test_sessions_with_no_score_say_so_instead_of_an_empty_chart(seeded):
    """An athlete whose sessions are of no known exercise has no score to draw: the page and
    the report said nothing and drew an empty grid (with an axis from -1 to 6)."""
    from dataclasses import replace

    from physio_core.exports import progress_report_html

    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows
    assert progress.has_scores(rows)
    unscored = [replace(r, balance_score=None, stability_score=None, injury_risk=None, metrics={}) for r in rows]
    assert not progress.has_scores(unscored) and not progress.scores_figure(unscored).data
    doc = progress_report_html(unscored, athlete="x", include_plotlyjs=False).decode()
    part = doc.split("<h2>Form, stability and injury risk</h2>")[1].split("<h2>")[0]
    assert part.startswith(f"<p class='meta'>{html.escape(progress.NO_SCORES)}</p>") and "class='chart'" not in part


def test_a_report_of_sessions_with_no_rep_says_so_instead_of_an_empty_chart(seeded):
    """Sessions with no rep counted: the page says ``NO_REPS`` under "Reps per session"; the
    printable report drew an empty grid there."""
    from physio_core.exports import progress_report_html

    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows
    assert progress.has_reps(rows)
    drawn = progress_report_html(rows, athlete="x", include_plotlyjs=False).decode()
    assert "class='chart'" in drawn.split("<h2>Reps per session</h2>")[1].split("<h2>")[0]
    no_reps = [replace(r, reps=0) for r in rows]
    assert not progress.has_reps(no_reps)
    doc = progress_report_html(no_reps, athlete="x", include_plotlyjs=False).decode()
    part = doc.split("<h2>Reps per session</h2>")[1].split("<h2>")[0]
    assert part == f"<p class='meta'>{html.escape(progress.NO_REPS)}</p>\n"
    assert doc.count("class='chart'") == drawn.count("class='chart'") - 1  # the other charts stay


def test_the_progress_reports_made_stamp_is_on_the_clock_it_names(seeded):
    """The report's session times are on the viewer's clock, and it names the zone; its "made"
    stamp was the server's clock (UTC here), half a day off for a viewer in Auckland."""
    from zoneinfo import ZoneInfo

    from physio_core.exports import progress_report_html

    engine, ids = seeded
    for zone in (ZoneInfo("Pacific/Auckland"), ZoneInfo("America/Los_Angeles"), UTC):
        rows = progress.load_progress(engine, ids["athlete"], tz=zone).rows
        before = datetime.now(zone).replace(tzinfo=None, second=0, microsecond=0)
        doc = progress_report_html(rows, athlete="x", include_plotlyjs=False).decode()
        after = datetime.now(zone).replace(tzinfo=None)
        made = datetime.strptime(re.search(r" · made (\d{4}-\d\d-\d\d \d\d:\d\d)</p>", doc)[1], "%Y-%m-%d %H:%M")
        assert before <= made <= after, (zone, made, before, after)
        assert f"<p class='meta'>Times: {zone}.</p>" in doc


def test_the_roster_counts_days_and_weeks_on_the_viewers_clock_as_progress(clinic_of_four, make_uiprmd_session_result):
    """Two squats each just after midnight on a Monday in Auckland (NZDT, UTC+13), which is still
    Sunday in UTC: the trainer's list counted the days since and the programme's weeks in UTC, a day
    and a week before Progress's, which are the viewer's."""
    from zoneinfo import ZoneInfo

    from physio_core import programme
    from physio_core.store import save_session_result
    from physio_core.store.access import set_programme_item

    engine, ids = clinic_of_four
    auckland = ZoneInfo("Pacific/Auckland")
    for day in (2, 9):  # Mondays 2 and 9 November 2026, 00:20 there
        save_session_result(engine, replace(make_uiprmd_session_result(),
                                            started_at=datetime(2026, 11, day, 0, 20, tzinfo=auckland)), ids["athlete"])
    set_programme_item(engine, None, ids["athlete"], "deep_squat", 1, started_at=datetime(2026, 9, 1, tzinfo=UTC))
    today = date(2026, 11, 10)  # the Tuesday after, there
    (glance,) = progress.roster(engine, ids["trainer"], today=today, tz=auckland)

    shown = progress.load_progress(engine, ids["athlete"], viewer_id=ids["trainer"], tz=auckland)
    assert [r.date.astimezone(UTC).date() for r in shown.rows] == [date(2026, 11, 1), date(2026, 11, 8)]  # Sundays
    assert shown.last_date == date(2026, 11, 9) and glance.last == shown.rows[-1].date
    assert glance.last.date() == shown.last_date and glance.days_since == (today - shown.last_date).days == 1
    # the programme's four whole weeks before this one, as Progress's "Programme done per week"
    # counts them: the squat of 2 November in its own week, the one of 9 November in this week
    weeks = [programme.monday(today) - timedelta(weeks=k) for k in range(4, 0, -1)]
    plans = programme.week_plans(shown.programme, shown.rows, weeks, auckland)
    assert [p.done for p in plans] == [0, 0, 0, 1]
    assert glance.programme_done == programme.share_done(plans) == 0.25
    # on a UTC clock both fall a day and a week earlier
    (utc,) = progress.roster(engine, ids["trainer"], today=today)
    assert (utc.days_since, utc.programme_done) == (2, 0.5)


def test_roster_sums_up_each_athlete_for_whoever_may_see_them(seeded):
    engine, ids = seeded
    day = date(2026, 10, 20)  # five days after the seeded athlete's last session
    (ana,) = progress.roster(engine, ids["trainer"], today=day)
    rows = progress_for_athlete(engine, ids["athlete"])
    assert (ana.athlete_id, ana.name, ana.sessions) == (ids["athlete"], "Ana Lopez", 9)
    assert (ana.days_since, ana.last_exercise, ana.stability) == (5, "hurdle_step", rows[-1].stability_score)
    # sessions from Sep 22 (28 days before Oct 20) on: weeks 3-6's squats and hurdle steps
    assert ana.recent_sessions == sum(r.date.date() > date(2026, 9, 22) for r in rows) == 5
    assert (ana.correct_share, ana.correct_change) == (1.0, 0.0)
    # the other trainer sees their own athlete only; an admin sees both; an athlete themself
    assert [g.name for g in progress.roster(engine, ids["other_trainer"], today=day)] == ["Ben Other"]
    assert {g.name for g in progress.roster(engine, ids["admin"], today=day)} == {"Ana Lopez", "Ben Other"}
    assert [g.name for g in progress.roster(engine, ids["athlete"], today=day)] == ["Ana Lopez"]
    table = progress.roster_frame([ana])
    assert table.iloc[0][["sessions", "days since", "correct reps (%)", "change (pts)"]].tolist() == [9, 5, 100, 0]


def test_the_roster_gives_the_condition_and_the_latest_limb_symmetry(seeded):
    """The trainer's list: the condition, the weeks since it and, with the affected side said, the
    latest limb symmetry index on the real stored sessions: the last session, a hurdle step (one
    leg at a time, and every stored one worked the same leg), has none, so it is the last squat's."""
    from physio_core.store.access import set_affected_side, set_condition

    engine, ids = seeded
    day = date(2026, 10, 20)
    (ana,) = progress.roster(engine, ids["trainer"], today=day)
    assert (ana.condition, ana.weeks_since, ana.lsi_pct) == ("", None, None)  # nothing said
    set_condition(engine, ids["trainer"], ids["athlete"], "ACL reconstruction, left knee", date(2026, 8, 31))
    (ana,) = progress.roster(engine, ids["trainer"], today=day)
    assert (ana.condition, ana.weeks_since, ana.lsi_pct) == ("ACL reconstruction, left knee", 7, None)  # 50 days

    set_affected_side(engine, ids["trainer"], ids["athlete"], "left")
    rows = progress_for_athlete(engine, ids["athlete"])
    assert rows[-1].exercise == "hurdle_step" and progress.sides_frame(rows)["side"].nunique() == 1
    squat = [r for r in rows if r.exercise == "deep_squat"][-1]
    family = squat.rep_angle[:-2]
    (ana,) = progress.roster(engine, ids["trainer"], today=day)
    assert ana.lsi_pct == pytest.approx(100 * squat.rom_deg[family + "_l"] / squat.rom_deg[family + "_r"])
    assert ana.lsi_joint == pretty_angle(family + "_l").replace(" (L)", "")
    row = progress.roster_frame([ana]).iloc[0]
    assert row[["limb symmetry (%)", "condition", "weeks since"]].tolist() == [
        round(ana.lsi_pct), "ACL reconstruction, left knee", 7]
    # the other trainer's athlete, nothing said, in the admin's one list
    glances = {g.name: g for g in progress.roster(engine, ids["admin"], today=day)}
    assert glances["Ben Other"].lsi_pct is None and glances["Ana Lopez"].lsi_pct == ana.lsi_pct


def test_the_latest_limb_symmetry_of_a_one_sided_exercise_is_its_latest_of_each_side(seeded):
    engine, ids = seeded
    rows = progress_for_athlete(engine, ids["athlete"])
    steps = [r for r in rows if r.exercise == "hurdle_step"]
    assert progress.latest_lsi(steps, "left") is None  # one side only
    # the same steps done with the other leg at 80 % of the range, after every real one
    mirrored = [replace(r, session_id=r.session_id + 100, date=r.date.replace(hour=23),
                        rep_angle=r.rep_angle[:-1] + ("r" if r.rep_angle.endswith("l") else "l"),
                        rom_deg={(k[:-1] + ("r" if k.endswith("_l") else "l")) if k.endswith(("_l", "_r")) else k:
                                 v * 0.8 for k, v in r.rom_deg.items()}) for r in steps]
    worked = progress.sides_frame(steps)["side"].iloc[0]
    other = "left" if worked == "right" else "right"
    pct, joint, exercise = progress.latest_lsi(sorted(steps + mirrored, key=lambda r: r.date), other)
    assert (round(pct), exercise) == (80, "hurdle_step") and joint == pretty_angle("hip_flexion")
    pct, _, _ = progress.latest_lsi(sorted(steps + mirrored, key=lambda r: r.date), worked)
    assert round(pct) == 125


def test_many_athletes_in_one_query_match_one_by_one(seeded):
    engine, ids = seeded
    both = [ids["athlete"], ids["other_athlete"]]
    many = progress_for_athletes(engine, both, viewer_id=ids["admin"])
    assert set(many) == set(both) and len(many[ids["athlete"]]) == 9 and len(many[ids["other_athlete"]]) == 1
    for athlete in both:
        assert many[athlete] == progress_for_athlete(engine, athlete)
    assert progress_for_athletes(engine, [], viewer_id=ids["trainer"]) == {}
    with pytest.raises(AccessDenied):  # one athlete the trainer does not coach refuses the whole query
        progress_for_athletes(engine, both, viewer_id=ids["trainer"])


def test_a_session_against_the_previous_one_of_its_exercise(seeded):
    engine, ids = seeded
    rows = progress_for_athlete(engine, ids["athlete"])
    squats = [r for r in rows if r.exercise == "deep_squat"]
    hurdles = [r for r in rows if r.exercise == "hurdle_step"]
    # the third squat (week 3, correct) against the second (week 2, incorrect), past a hurdle step
    assert progress.previous_session(rows, squats[2]) is squats[1]
    assert progress.previous_session(rows, hurdles[1]) is hurdles[0]
    assert progress.previous_session(rows, squats[0]) is None
    table = progress.compare_sessions(squats[2], squats[1]).set_index("measure")
    assert table.loc["correct reps"].tolist() == ["100%", "0%", "+100 pts", "better"]
    knee = table.loc["range: Knee angle (R)"]
    assert knee["this session"] == f"{squats[2].rom_deg['knee_angle_r']:.0f}°"
    # every change is the difference of the two numbers as written beside it
    for measure, (now, then, change, _) in table.iterrows():
        number = re.compile(r"[+-]?\d+(?:\.\d+)?")
        now, then = (float(number.search(v)[0]) for v in (now, then))
        assert float(number.search(change.replace("±", ""))[0]) == pytest.approx(now - then), measure
    # the angle the reps were counted on comes first, with its other side, then the largest ranges
    # (a planar shoulder angle that leaps its undefined gap spanned more than the counted one)
    counted = replace(squats[2], rep_angle="hip_flexion_l")
    ranges = [m for m in progress.compare_sessions(counted, squats[1])["measure"] if m.startswith("range: ")]
    largest = [a for a in progress.angles_by_range([squats[2]]) if a not in ("hip_flexion_l", "hip_flexion_r")]
    assert ranges == ["range: " + pretty_angle(a) for a in ["hip_flexion_l", "hip_flexion_r", *largest[:2]]]
    assert progress.angles_by_range([squats[2]])[0] != "hip_flexion_l"  # so the order is the change
    # numbers that round to the same degree differ by nothing, not by the "+1°" of their decimals
    a, b = replace(squats[2], mean_rep_rom_deg=123.4), replace(squats[1], mean_rep_rom_deg=122.6)
    assert progress.compare_sessions(a, b).set_index("measure").loc["mean rep range"].tolist() == \
        ["123°", "123°", "±0°", ""]
    # which way a change goes for the athlete, where that is plain: less injury risk is better, a
    # larger range of the counted angle too; another angle's range and the count of reps say nothing
    # and only a change larger than COMPARE_LEAST (a range by more than 5°, a score by 0.05)
    table = progress.compare_sessions(squats[2], squats[1]).set_index("measure")

    def way(measure: str, good: int, least: float) -> str:
        change = float(table.loc[measure, "change"].replace("±", "").rstrip("°"))
        return "" if abs(change) <= least else "better" if good * change > 0 else "worse"

    for measure in ("injury risk", "stability", "range: Knee angle (R)", "mean rep range"):
        good, least = (-1, 0.05) if measure == "injury risk" else (1, 5.0 if "range" in measure else 0.05)
        assert table.loc[measure, "better / worse"] == way(measure, good, least), measure
    assert table.loc["reps", "better / worse"] == ""
    a, b = replace(squats[2], injury_risk=0.30), replace(squats[1], injury_risk=0.50)
    near = replace(a, rom_deg={**a.rom_deg, "knee_angle_r": b.rom_deg["knee_angle_r"] + 4.4})
    said = progress.compare_sessions(near, b).set_index("measure")["better / worse"]
    assert said["injury risk"] == "better" and said["range: Knee angle (R)"] == ""  # within 5°: the noise
    far = replace(a, rom_deg={**a.rom_deg, "knee_angle_r": b.rom_deg["knee_angle_r"] - 9.0})
    assert progress.compare_sessions(far, b).set_index("measure").loc["range: Knee angle (R)", "better / worse"] \
        == "worse"
    others = [m for m in table.index if m.startswith("range: ") and "Knee" not in m]
    assert others and all(table.loc[m, "better / worse"] == "" for m in others)
    # how the set felt, where both sessions say it: less pain is better by 2 points of 10 or more;
    # effort is neither
    assert "pain" not in table.index and "effort" not in table.index  # not asked
    for pain, effort, said in ((3, 6, "better"), (4, 6, ""), (7, 2, "worse")):
        felt = progress.compare_sessions(replace(a, pain=pain, effort=effort), replace(b, pain=5, effort=4))
        felt = felt.set_index("measure")
        assert felt.loc["pain"].tolist() == [f"{pain}/10", "5/10", signed_change(pain - 5, 0, " pts"), said]
        assert felt.loc["effort", "better / worse"] == ""


def test_progress_rows_match_the_table(seeded):
    engine, ids = seeded
    rows = progress_for_athlete(engine, ids["athlete"])
    table = progress.sessions_frame(rows)
    assert list(table["session"]) == [r.session_id for r in rows]
    assert list(table["reps"]) == [r.reps for r in rows]
    assert set(table["exercise"]) == {"Deep squat", "Hurdle step"}


def test_targets_drive_the_chart_after_an_update(seeded):
    engine, ids = seeded
    set_rom_target(engine, ids["trainer"], ids["athlete"], "knee_angle_l", 115.0)
    data = progress.load_progress(engine, ids["athlete"])
    fig = progress.rom_figure(data.rows, ["knee_angle_l"], data.targets)
    assert list(next(t for t in fig.data if t.name == "target Knee angle (L)").y) == [115.0, 115.0]


def test_an_athletes_first_session_is_drawn_on_a_week_not_on_milliseconds(seeded):
    engine, ids = seeded
    first = progress.load_progress(engine, ids["athlete"]).rows[:1]
    for fig in (progress.reps_figure(first), progress.scores_figure(first)):
        lo, hi = (pd.Timestamp(x) for x in fig.layout.xaxis.range)
        assert lo < pd.Timestamp(first[0].date) < hi and hi - lo == pd.Timedelta(days=7)
    assert progress.reps_figure(first).data[0].width == 8 * 3600 * 1000
    assert progress.reps_figure(first).layout.yaxis.dtick == 1  # 3 reps: no "0.2 reps" ticks
    # and its first week on the weekly chart: seven weeks around it, not one chart-wide bar
    weekly = progress.sessions_figure(first)
    lo, hi = (pd.Timestamp(x) for x in weekly.layout.xaxis.range)
    assert hi - lo == pd.Timedelta(weeks=7) and weekly.data[0].width == 5 * 86400 * 1000
    # with sessions weeks apart Plotly's own range stays
    assert progress.reps_figure(progress.load_progress(engine, ids["athlete"]).rows).layout.xaxis.range is None


def test_the_exercises_a_session_list_can_be_filtered_by(seeded):
    """Each once, sorted, of the sessions the viewer may see (and of one athlete's)."""
    from physio_core.store import session_exercises

    engine, ids = seeded
    assert session_exercises(engine, viewer_id=ids["trainer"]) == ["deep_squat", "hurdle_step"]
    assert session_exercises(engine, viewer_id=ids["other_trainer"]) == ["deep_squat"]  # Ben's one squat
    assert session_exercises(engine, viewer_id=ids["admin"], athlete_id=ids["other_athlete"]) == ["deep_squat"]
    assert session_exercises(engine, viewer_id=ids["athlete"]) == ["deep_squat", "hurdle_step"]


def test_the_range_chart_opens_on_the_targets_and_the_angle_the_reps_were_counted_on(seeded):
    engine, ids = seeded
    data = progress.load_progress(engine, ids["athlete"])
    squats = [r for r in data.rows if r.exercise == "deep_squat"]
    counted = {r.rep_angle for r in squats}
    assert len(counted) == 1 and next(iter(counted)).startswith("knee_angle")
    angle = next(iter(counted))
    other = angle[:-1] + {"r": "l", "l": "r"}[angle[-1]]
    # the targets first
    targeted = [t.angle for t in data.targets if t.exercise in ("", "deep_squat")]
    assert {"knee_angle_r", "hip_flexion_r"} <= set(targeted)  # the squat's knee, any exercise's hip
    assert progress.default_rom_angles(data.rows, data.targets, "deep_squat") == \
        list(dict.fromkeys(targeted + [angle, other]))[:4]
    # with no rep counted, the two that moved most
    none = [replace(r, rep_angle=None) for r in squats]
    assert progress.default_rom_angles(none, [], "deep_squat") == progress.angles_by_range(squats)[:2]


def test_sets_filmed_the_same_day_stack_in_one_bar(seeded):
    """Three sets of one day were three bars at their own minutes, drawn over one another: the
    day's bar now stacks them, each session a block, and the y axis reaches the day's total."""
    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows
    day = [replace(rows[k], date=rows[0].date + timedelta(minutes=20 * k)) for k in range(3)]
    fig = progress.reps_figure(day + rows[3:])
    assert fig.layout.barmode == "stack"
    xs = [(pd.Timestamp(x), y, c[0]) for t in fig.data for x, y, c in zip(t.x, t.y, t.customdata)]
    noon = pd.Timedelta(hours=12)
    same = [(y, sid) for x, y, sid in xs if x == pd.Timestamp(rows[0].date).normalize() + noon]
    assert sorted(same, key=lambda v: v[1]) == [(r.reps, r.session_id) for r in day]
    assert all(pd.Timestamp(x) - pd.Timestamp(x).normalize() == noon for t in fig.data for x in t.x)  # one x a day


def test_a_days_bar_stays_within_its_day_with_sessions_weeks_apart(seeded):
    """Plotly sized the bars by the smallest gap: sessions a week apart drew each day's bar about
    six days wide, from midnight, across the days around it."""
    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows
    weekly = [replace(r, date=rows[0].date + timedelta(days=7 * k)) for k, r in enumerate(rows)]
    fig = progress.reps_figure(weekly)
    for t in fig.data:
        for x, w in zip(t.x, t.width):
            half = pd.Timedelta(milliseconds=w / 2)
            lo, hi = pd.Timestamp(x) - half, pd.Timestamp(x) + half
            assert lo.normalize() == hi.normalize() == pd.Timestamp(x).normalize()  # inside its own day
    # a tick under each day's bar (Plotly put its own on Sundays, between bars filmed on Fridays)
    assert [pd.Timestamp(v) for v in fig.layout.xaxis.tickvals] == sorted(
        {pd.Timestamp(r.date).normalize() + pd.Timedelta(hours=12) for r in weekly})
    assert fig.layout.xaxis.tickformat == "%b %d"
    # daily sessions: bars most of a day wide, never touching
    daily = [replace(r, date=rows[0].date + timedelta(days=k)) for k, r in enumerate(rows)]
    assert all(0.5 * 86400e3 <= w < 86400e3 for t in progress.reps_figure(daily).data for w in t.width)


def test_bars_stay_visible_and_a_week_a_week_when_sessions_are_years_apart(seeded):
    """Two sessions seven years apart (an old sensor set imported): the reps chart drew bars under
    one per cent of its axis, hidden by their white outline (nothing shown), and the weekly chart
    drew each week about three and a half years wide. Now every bar is at least MIN_BAR_SHARE of
    the axis Plotly draws (the span and 0.4 of the gap either side), and the days say their year."""
    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows
    apart = [replace(rows[0], date=datetime(2019, 1, 11, 15, 10, tzinfo=UTC)),
             replace(rows[1], date=datetime(2026, 11, 3, 9, 30, tzinfo=UTC))]
    span_ms = (apart[1].date - apart[0].date).total_seconds() * 1000
    for fig in (progress.reps_figure(apart), progress.sessions_figure(apart)):
        widths = [w for t in fig.data for w in bar_widths(t)]
        assert all(progress.MIN_BAR_SHARE * 1.8 * span_ms * 0.99 <= w <= 0.05 * span_ms for w in widths), widths
    assert progress.reps_figure(apart).layout.xaxis.tickformat == "%b %d, %Y"
    # sessions on following days and one years before: the days' bars, held under a day, keep no
    # white outline (it hid them wholly); wide enough, they keep it, parting a day's sessions
    close = apart[:1] + [replace(rows[1], date=apart[1].date + timedelta(days=k)) for k in range(5)]
    (thin,) = progress.reps_figure(close).data
    assert all(w < 86400e3 and line == 0 for w, line in zip(thin.width[1:], thin.marker.line.width[1:]))
    assert thin.width[0] >= progress.MIN_BAR_SHARE * span_ms and thin.marker.line.width[0] == 1  # the one years before
    assert all(line == 1 for t in progress.reps_figure(apart).data for line in t.marker.line.width)
    # a year of weekly sessions: bars apart, each still visible
    weekly = [replace(rows[0], date=rows[0].date + timedelta(weeks=k)) for k in range(52)]
    for fig in (progress.reps_figure(weekly), progress.sessions_figure(weekly)):
        (t,) = fig.data
        assert all(progress.MIN_BAR_SHARE * 357 * 86400e3 <= w < 7 * 86400e3 for w in bar_widths(t))


def bar_widths(trace) -> list[float]:
    """The width of each bar of a trace (ms): one for all, or one each."""
    return list(trace.width) if isinstance(trace.width, tuple) else [trace.width] * len(trace.x)


def test_two_sessions_on_following_days_leave_the_other_bars_their_width(seeded):
    """A year of weekly sessions and, once, two on following days: every bar was held to the
    pair's 0.8 day, under a pixel on the chart, and the year read as an empty grid. Now only the
    pair's bars are held by their neighbour; the others are as wide as without the pair, and no
    two bars of the chart overlap."""
    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows
    weekly = [replace(rows[k % len(rows)], date=rows[0].date + timedelta(weeks=k)) for k in range(52)]
    alone = {pd.Timestamp(x): w for t in progress.reps_figure(weekly).data for x, w in zip(t.x, bar_widths(t))}
    pair = sorted(weekly + [replace(rows[1], session_id=999, date=weekly[20].date + timedelta(days=1))],
                  key=lambda r: r.date)
    bars = sorted((pd.Timestamp(x), w) for t in progress.reps_figure(pair).data for x, w in zip(t.x, bar_widths(t)))
    held = {pd.Timestamp(weekly[20].date).normalize() + pd.Timedelta(hours=h) for h in (12, 36)}
    assert all(w < 86400e3 for x, w in bars if x in held)
    # (the axis is a little shorter: Plotly's margin is 0.4 of the smallest gap)
    assert all(w == pytest.approx(alone[x], rel=0.02) for x, w in bars
               if x not in held and x - pd.Timedelta(days=6) not in held)
    assert min(alone.values()) >= progress.MIN_BAR_SHARE * 357 * 86400e3
    for (x0, w0), (x1, w1) in zip(bars, bars[1:]):
        assert x0 + pd.Timedelta(milliseconds=w0 / 2) < x1 - pd.Timedelta(milliseconds=w1 / 2)


def test_an_angle_with_gaps_comes_last_in_rankings_and_comparisons(db_engine):
    """In a real sideways arm raise shoulder flexion is undefined mid-rep, so its stored range
    leaps across the gap (~200°, more than the abduction itself): the session stores it among its
    ``rom_gaps``, and Progress's angle list and the session comparison put it after the angles
    measured throughout (the comparison read "range: Shoulder flexion (R) 200°")."""
    from conftest import uiprmd_set
    from physio_core import pipeline
    from physio_core.kinematics import angle_region
    from physio_core.store import repo

    trainer = repo.create_user(db_engine, "t@x.test", "T", "trainer", "password-123")
    athlete = repo.create_user(db_engine, None, "A", "athlete")
    for k in range(2):
        seq, _, _ = uiprmd_set([("standing_shoulder_abduction", 5, True)] * 3, rng=k)
        res = pipeline.finish_sequence(seq, backend="uiprmd-kinect", exercise="standing_shoulder_abduction",
                                       source="t", smooth=False,
                                       started_at=datetime(2026, 11, 2 + 7 * k, 10, tzinfo=UTC))
        repo.save_session_result(db_engine, res, athlete.id, trainer.id)
    this, before = progress.load_progress(db_engine, athlete.id).rows[::-1]
    assert "shoulder_flexion_r" in this.rom_gaps and "shoulder_abduction_r" not in this.rom_gaps
    assert this.rom_deg["shoulder_flexion_r"] > this.rom_deg["shoulder_abduction_r"]  # the leap
    ranked = progress.angles_by_range([before, this])
    assert ranked[0] == "shoulder_abduction_r"
    assert ranked.index("shoulder_flexion_r") > max(ranked.index(a) for a in ranked if a not in this.rom_gaps)
    table = progress.compare_sessions(this, before)
    assert "range: Shoulder abduction (R)" in set(table["measure"])
    assert "range: Shoulder flexion (R)" not in set(table["measure"])
    # nor an ankle, whose tracker noise spans more than the idle arm or the elbow move: the
    # angles of the arms and the trunk come first in an arm raise
    measured = [a for a in ranked if a not in this.rom_gaps and a not in before.rom_gaps]
    assert all(angle_region(a) in ("arm", "trunk") for a in measured[:11])
    ranges = [m for m in table["measure"] if m.startswith("range: ")]
    assert len(ranges) == 4 and not any("Ankle" in m or "Knee" in m or "Hip" in m for m in ranges)
    assert "rom_gaps" not in this.metrics  # not one of its scores


def test_the_limb_symmetry_index_compares_the_affected_side_with_the_other(seeded):
    """With the affected side said, the asymmetry is the limb symmetry index: the affected side's
    range in % of the other's, on the real stored squats and, for a one-sided exercise, the latest
    session of each side."""
    engine, ids = seeded
    rows = progress.load_progress(engine, ids["athlete"]).rows
    squats = [r for r in rows if r.exercise == "deep_squat"]
    for side, mine, other in (("left", "_l", "_r"), ("right", "_r", "_l")):
        df = progress.asymmetry_frame(squats, side)
        knee = df[df["joint"] == "Knee angle"].set_index("session_id")
        for r in squats:
            assert knee.loc[r.session_id, "lsi_pct"] == pytest.approx(
                100 * r.rom_deg["knee_angle" + mine] / r.rom_deg["knee_angle" + other])
        fig = progress.asymmetry_figure(squats, affected=side)
        drawn = next(t for t in fig.data if t.name == "Knee angle")
        assert list(drawn.y) == pytest.approx(list(knee["lsi_pct"]))
        low, high = fig.layout.yaxis.range  # centred on 100 %, the band at most half of it
        assert low <= 80 and high >= 120 and low < knee["lsi_pct"].min() and knee["lsi_pct"].max() < high
        opposite = "right" if side == "left" else "left"
        assert fig.layout.yaxis.title.text.startswith(f"{side} (affected) in % of {opposite}")
    assert progress.asymmetry_frame(squats)["lsi_pct"].isna().all()  # not said: the symmetry index only
    assert progress.asymmetry_note("left").startswith("limb symmetry index: the range of motion of the "
                                                      "affected side (left) in % of the right side's")

    steps = [r for r in rows if r.exercise == "hurdle_step"]
    mirrored = [replace(r, session_id=r.session_id + 100, date=r.date.replace(hour=23),
                        rep_angle=r.rep_angle[:-1] + ("r" if r.rep_angle.endswith("l") else "l"),
                        rom_deg={(k[:-1] + ("r" if k.endswith("_l") else "l")) if k.endswith(("_l", "_r")) else k:
                                 v * 0.8 for k, v in r.rom_deg.items()}) for r in steps]
    df = progress.sides_frame(steps + mirrored)
    worked = df["side"].iloc[0]
    other = "left" if worked == "right" else "right"
    # the mirrored sessions, at 80 % of the range, are the affected side's
    note = progress.sides_note(steps + mirrored, "hurdle_step", other)
    assert f"The latest affected side ({other}) against the latest {worked}: 80 % of its range (limb symmetry " \
           f"index), outside the 90–110 % band." in note
    fig = progress.sides_figure(steps + mirrored, affected=other)
    assert {t.name for t in fig.data} == {f"{worked} side", f"{other} side (affected)"}
    # the printable progress report draws the same
    from physio_core import exports

    page = exports.progress_report_html(squats, athlete="Ana", rom_exercise="deep_squat", angles=["knee_angle_r"],
                                        affected_side="left", include_plotlyjs=False,
                                        condition="ACL reconstruction, left knee, on 2026-09-14: 11 weeks ago.").decode()
    assert "<p class='meta'>ACL reconstruction, left knee, on 2026-09-14: 11 weeks ago.</p>" in page
    assert "<h2>Limb symmetry index · Deep squat</h2>" in page and "Left / right asymmetry" not in page
    assert "Limb symmetry index: the range of motion of the affected side (left) in % of the right side" in page
    page = exports.progress_report_html(steps + mirrored, athlete="Ana", rom_exercise="hurdle_step",
                                        angles=["hip_flexion_r"], affected_side=other, include_plotlyjs=False).decode()
    assert f"The latest affected side ({other}) against the latest {worked}: 80 %" in page


def test_a_session_against_an_earlier_one_says_the_limb_symmetry_with_an_affected_side(seeded):
    """The real stored squats: with the affected side said, the comparison's last row is the limb
    symmetry index of the counted angle's joint, better when it comes nearer 100 %; a hurdle
    step (one leg at a time) has none."""
    engine, ids = seeded
    rows = progress_for_athlete(engine, ids["athlete"])
    squats = [r for r in rows if r.exercise == "deep_squat"]
    this, before = squats[2], squats[1]
    assert "limb symmetry" not in " ".join(progress.compare_sessions(this, before)["measure"])  # not said
    family = this.rep_angle[:-2]
    joint = pretty_angle(family + "_l").replace(" (L)", "")
    table = progress.compare_sessions(this, before, affected="right").set_index("measure")
    row = table.loc[f"limb symmetry: {joint}"]
    now = 100 * this.rom_deg[family + "_r"] / this.rom_deg[family + "_l"]
    then = 100 * before.rom_deg[family + "_r"] / before.rom_deg[family + "_l"]
    assert row[["this session", "previous", "change"]].tolist() == [
        f"{now:.0f}%", f"{then:.0f}%", signed_change(round(now) - round(then), 0, " pts")]
    assert table.index[-1] == f"limb symmetry: {joint}"

    def lsi_of(r, pct):  # the right side at pct % of the left
        return replace(r, rom_deg={**r.rom_deg, family + "_r": r.rom_deg[family + "_l"] * pct / 100})

    for now_pct, then_pct, said in ((96, 80, "better"), (80, 96, "worse"), (97, 100, ""), (104, 90, "better")):
        table = progress.compare_sessions(lsi_of(this, now_pct), lsi_of(before, then_pct), affected="right")
        assert table.set_index("measure").loc[f"limb symmetry: {joint}", "better / worse"] == said, (now_pct, then_pct)
    hurdles = [r for r in rows if r.exercise == "hurdle_step"]
    assert "limb symmetry" not in " ".join(progress.compare_sessions(hurdles[1], hurdles[0], affected="left")["measure"])


def test_the_roster_says_what_asks_for_the_trainer_first():
    glance = progress.AthleteGlance(athlete_id=1, name="Ana", sessions=4, recent_sessions=2, last=None, days_since=3,
                                    last_exercise="deep_squat", correct_share=0.8, correct_change=0.1, stability=0.7,
                                    pain=2, pain_change=0, programme_done=0.75, lsi_pct=95.0, morning_pain=3)
    assert progress.attention(glance) == ""  # nothing
    assert progress.roster_frame([glance]).iloc[0]["attention"] is None
    worse = replace(glance, morning_pain=6, pain_change=2, lsi_pct=82.4, programme_done=0.25, days_since=15)
    assert progress.attention(worse) == ("morning pain 6/10; pain up 2; limb symmetry 82%; programme 25% done; "
                                         "15 days without a session")
    # at the limits: none of them
    edge = replace(glance, morning_pain=5, pain_change=1, lsi_pct=110.0, programme_done=0.5, days_since=14)
    assert progress.attention(edge) == ""
    assert list(progress.roster_frame([worse]).columns[:3]) == ["athlete", "attention", "last session"]


def test_a_sessions_own_limb_symmetry_in_words(seeded):
    engine, ids = seeded
    rows = progress_for_athlete(engine, ids["athlete"])
    squat = next(r for r in rows if r.exercise == "deep_squat")
    family = squat.rep_angle[:-2]
    pct = 100 * squat.rom_deg[family + "_r"] / squat.rom_deg[family + "_l"]
    inside = "within" if abs(pct - 100) <= 10 else "outside"
    assert progress.session_lsi_words(squat, "right") == (
        f"limb symmetry {pct:.0f} % (Knee angle: right, affected, in % of left; {inside} 90–110 %)")
    assert progress.session_lsi_words(squat, None) is None
    step = next(r for r in rows if r.exercise == "hurdle_step")
    assert progress.session_lsi_words(step, "left") is None  # one leg at a time
    lopsided = replace(squat, rom_deg={**squat.rom_deg, family + "_r": squat.rom_deg[family + "_l"] * 0.8})
    assert progress.session_lsi_words(lopsided, "right").startswith("limb symmetry 80 % (")
    assert progress.session_lsi_words(lopsided, "right").endswith("; outside 90–110 %)")


def test_the_first_and_the_latest_session_drawn_one_over_the_other(seeded):
    """The stored squats' first and latest sessions: a typical rep of each, the first in grey
    under the latest, on the page's exercise and in the printable report."""
    from physio_core.exports import progress_report_html

    engine, ids = seeded
    squats = [r for r in progress_for_athlete(engine, ids["athlete"]) if r.exercise == "deep_squat"]
    svg, caption = progress.first_and_latest(engine, squats, viewer_id=ids["trainer"])
    assert caption.startswith("A typical rep (of median range) at its start, turning point and end, from the side: "
                              f"the first session, #{squats[0].session_id} on {squats[0].date:%Y-%m-%d}, in grey, "
                              f"and the latest, #{squats[-1].session_id} on {squats[-1].date:%Y-%m-%d}")
    assert svg.startswith("<svg class='poses'") and "#c4c4c4" in svg
    assert progress.first_and_latest(engine, squats[:1]) is None  # one session: nothing to set against
    with pytest.raises(AccessDenied):
        progress.first_and_latest(engine, squats, viewer_id=ids["other_trainer"])
    page = progress_report_html(squats, athlete="Ana", rom_exercise="deep_squat", angles=["knee_angle_r"],
                                first_and_latest=(svg, caption), include_plotlyjs=False).decode()
    assert "<h2>First and latest · Deep squat</h2>" in page and svg in page


def test_in_short_says_where_the_athlete_stands_in_words(seeded):
    from physio_core.store.access import MorningPainOut, set_affected_side

    engine, ids = seeded
    counted = [r for r in progress_for_athlete(engine, ids["athlete"]) if r.exercise == "deep_squat"][-1].rep_angle
    set_rom_target(engine, ids["trainer"], ids["athlete"], counted, 200, "deep_squat")
    set_affected_side(engine, ids["trainer"], ids["athlete"], "left")
    data = progress.load_progress(engine, ids["athlete"])
    squats = [r for r in data.rows if r.exercise == "deep_squat"]
    first, latest = squats[0].rom_deg[counted], squats[-1].rom_deg[counted]
    lines = progress.in_short(data, date(2026, 10, 20))
    assert lines[0] == "9 training days since 2026-09-07; the latest 5 days ago."
    # two sets on one day (a video split into its sets) are one training day
    twice = replace(data, rows=[*data.rows[:-1], replace(data.rows[-1], date=data.rows[-2].date)])
    assert progress.in_short(twice, date(2026, 10, 20))[0].startswith("8 training days (9 sets) since 2026-09-07;")
    range_line = (f"Deep squat, {pretty_angle(counted)}: {first:.0f}° of range at first, {latest:.0f}° in the latest "
                  f"session ({signed_change(latest - first, 0, '°')})")
    assert lines[1] == range_line + f"; {200 - latest:.0f}° short of the 200° target."
    pct, joint, _ = progress.latest_lsi(data.rows, "left")
    assert lines[2].startswith(f"Limb symmetry: the left (affected) side moves {pct:.0f} % of the right's range ({joint}")
    assert lines[3].startswith("Reps judged correct in the latest judged session: 100%")
    assert len(lines) == 4  # no morning said
    data.morning.append(MorningPainOut(date(2026, 10, 19), 7))
    assert progress.in_short(data, date(2026, 10, 20))[-1].endswith("ease the load.")


def test_in_short_writes_the_change_and_the_shortfall_of_the_degrees_it_writes(seeded):
    """In short wrote "100° of range at first, 102° in the latest session (+1°)": the change of
    101.6 - 100.4, not of the numbers beside it; and "120° in the latest session (...); 0° short
    of the 120° target" for a latest 119.6°."""
    engine, ids = seeded
    data = progress.load_progress(engine, ids["athlete"])
    squats = [r for r in data.rows if r.exercise == "deep_squat"][:2]
    counted = squats[-1].rep_angle
    target = [replace(data.targets[0], exercise="deep_squat", angle=counted, target_deg=120.0)]

    def line(first: float, latest: float) -> str:
        rows = [replace(r, rom_deg={**r.rom_deg, counted: v}) for r, v in zip(squats, (first, latest))]
        return progress.in_short(replace(data, rows=rows, targets=target), date(2026, 10, 20))[1]

    said = f"Deep squat, {pretty_angle(counted)}: 100° of range at first, "
    assert line(100.4, 101.6) == said + "102° in the latest session (+2°); 18° short of the 120° target."
    assert line(100.4, 119.6) == said + "120° in the latest session (+20°); 0.4° short of the 120° target."
    assert line(100.4, 118.6) == said + "119° in the latest session (+19°); 1° short of the 120° target."
    assert line(100.4, 120.0) == said + "120° in the latest session (+20°); the 120° target reached."
    assert line(100.4, 100.2) == said + "100° in the latest session (±0°); 20° short of the 120° target."


def test_in_short_tells_the_range_of_a_known_exercise(seeded):
    """Most sessions not recognised ("auto": each may be another movement): In short opened on
    "Not recognised, Knee angle (R): 40° of range at first, 110° in the latest session (+70°)",
    the ranges of different movements read as progress. It tells the known exercise's."""
    engine, ids = seeded
    data = progress.load_progress(engine, ids["athlete"])
    squats = [r for r in data.rows if r.exercise == "deep_squat"]
    counted = squats[-1].rep_angle
    unknown = [replace(r, session_id=900 + k, exercise="auto", date=r.date + timedelta(hours=1),
                       rom_deg={**r.rom_deg, counted: 40.0 + 10 * k}) for k, r in enumerate(data.rows)]
    rows = sorted(data.rows + unknown, key=lambda r: r.date)
    lines = progress.in_short(replace(data, rows=rows), date(2026, 10, 20))
    assert lines[1].startswith(f"Deep squat, {pretty_angle(counted)}: {squats[0].rom_deg[counted]:.0f}° of range")
    assert not [line for line in lines if line.startswith("Not recognised")]
    # none known: no range is told
    only = progress.in_short(replace(data, rows=sorted(unknown, key=lambda r: r.date)), date(2026, 10, 20))
    assert not [line for line in only if "of range at first" in line]
