"""The home programme sheet: the athlete's own rep at its start, turning point and end, picked
from real UI-PRMD sets as the shipped models judged them, seen from where the movement shows,
and the sheet of the programme stored on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np
import pytest

from conftest import uiprmd_set
from physio_core import exports, handout, keyposes
from physio_core.skeleton import J


def _assessed(movement: str, subject: int, order: str, started: datetime | None = None):
    """A real UI-PRMD set (c = correct rep, I = incorrect) analysed as an upload is."""
    from pathlib import Path

    from physio_core.pipeline import finish_sequence

    if not (Path(__file__).resolve().parents[1] / "models" / "stability.joblib").is_file():
        pytest.skip("trained weights not in models/")
    seq, _, _ = uiprmd_set([(movement, subject, k == "c") for k in order])
    return finish_sequence(seq, backend="uiprmd-kinect", exercise=movement, source="upload:set", smooth=False,
                           started_at=started or datetime(2026, 11, 20, 9, tzinfo=UTC))


def test_the_rep_drawn_is_the_one_judged_correct_most_surely_at_its_deepest(assessed_squat_result):
    result = assessed_squat_result
    example = keyposes.key_poses(result, 7, date(2026, 11, 3))
    judged = {a["rep"]: a for a in result.rep_assessments}
    correct = [i for i, a in judged.items() if a["mistake"] == "correct"]
    assert example.kind == "correct" and example.rep == max(correct, key=lambda i: judged[i]["mistake_confidence"])
    rep = next(r for r in result.reps if r.index == example.rep)
    start, turn, end = example.poses
    assert np.array_equal(start, result.pose.joints[rep.start_frame], equal_nan=True)
    assert np.array_equal(end, result.pose.joints[rep.end_frame], equal_nan=True)
    # the turning point is the squat's bottom: the counted knee at its most flexed of the rep
    knee = result.angles[rep.angle]
    turned = next(f for f in range(rep.start_frame, rep.end_frame + 1)
                  if np.array_equal(result.pose.joints[f], turn, equal_nan=True))
    assert knee[turned] == pytest.approx(np.nanmax(knee[rep.start_frame:rep.end_frame + 1]), abs=5)
    assert knee[turned] - knee[rep.start_frame] > 90
    assert start[J.PELVIS, 1] == turn[J.PELVIS, 1] == 0  # body-centred: the hips' drop is in the feet
    assert turn[J.L_ANKLE, 1] - start[J.L_ANKLE, 1] > 0.2
    assert example.view == "side"  # a squat's knees travel forward
    assert example.words.startswith("You, 2026-11-03 (session #7, rep ")


def test_without_a_correct_rep_the_correction_is_drawn_and_unjudged_reps_give_the_median(assessed_squat_result):
    result = assessed_squat_result
    wrong = replace(result, rep_assessments=[{**a, "mistake": "incorrect"} for a in result.rep_assessments])
    example = keyposes.key_poses(wrong, 1, date(2026, 11, 3))
    judged = {a["rep"]: a["mistake_confidence"] for a in wrong.rep_assessments}
    assert example.kind == "corrected" and example.rep == max(judged, key=judged.get)
    assert np.array_equal(example.poses[0], wrong.corrected_poses[example.rep].joints[0], equal_nan=True)
    assert "correction" in example.words

    unjudged = replace(result, rep_assessments=[], corrected_poses={})
    example = keyposes.key_poses(unjudged, 1, date(2026, 11, 3))
    ranges = sorted(r.rom_deg for r in result.reps)
    assert example.kind == "unjudged"
    assert next(r.rom_deg for r in result.reps if r.index == example.rep) == ranges[(len(ranges) - 1) // 2]
    # judged, every rep incorrect, and no correction: nothing fit to show
    assert keyposes.key_poses(replace(wrong, corrected_poses={}), 1, date(2026, 11, 3)) is None
    assert keyposes.key_poses(replace(result, reps=[]), 1, date(2026, 11, 3)) is None


def test_an_arm_raised_sideways_is_seen_from_the_front_with_its_left_on_the_right():
    result = _assessed("standing_shoulder_abduction", 3, "ccc")
    example = keyposes.key_poses(result, 2, date(2026, 11, 20))
    assert example.kind == "correct" and example.view == "front"
    svg = keyposes.poses_svg(example)
    assert re.findall(r">(start|turning point|end)</text>", svg) == list(keyposes.KEY_MOMENTS)
    # from the front a camera sees the athlete's left on the right: the left shoulder is drawn
    # right of the right one, in the first panel
    blue = re.findall(r"<line x1='([\d.]+)' y1='[\d.]+' x2='([\d.]+)' y2='[\d.]+' stroke='#4287f5'", svg)
    orange = re.findall(r"<line x1='([\d.]+)' y1='[\d.]+' x2='([\d.]+)' y2='[\d.]+' stroke='#ff8c00'", svg)
    panel = 170
    first = lambda lines: [float(x) for pair in lines for x in pair if float(x) < panel]  # noqa: E731
    assert np.median(first(blue)) > np.median(first(orange))


def test_the_poses_stand_on_the_floor_line(assessed_squat_result):
    example = keyposes.key_poses(assessed_squat_result, 7, date(2026, 11, 3))
    svg = keyposes.poses_svg(example)
    floors = {float(y) for y in re.findall(r"<line x1='[\d.]+' y1='([\d.]+)' x2='[\d.]+' y2='\1' stroke='#bbb'", svg)}
    assert len(floors) == 1
    (floor,) = floors
    bones = re.findall(r"<line x1='[\d.]+' y1='([\d.]+)' x2='[\d.]+' y2='([\d.]+)' stroke='#(?!bbb)", svg)
    lowest = max(float(y) for pair in bones for y in pair)
    assert lowest == pytest.approx(floor, abs=0.11)  # the lowest foot on the floor, none below it
    # the squat's bottom is drawn lower than its start: the head's circle of the second panel
    heads = [float(cy) for cy in re.findall(r"<circle cx='[\d.]+' cy='([\d.]+)'", svg)]
    assert len(heads) == 3 and heads[1] > heads[0] + 20


def test_the_sheet_holds_the_programme_now_with_the_athletes_own_reps(clinic_of_four, assessed_squat_result):
    from physio_core.store import AccessDenied, save_session_result
    from physio_core.store.access import (end_programme_item, set_condition, set_programme_item,
                                         set_rom_target)

    engine, ids = clinic_of_four
    sid = save_session_result(engine, assessed_squat_result, ids["athlete"])
    set_programme_item(engine, ids["trainer"], ids["athlete"], "deep_squat", 3, 10, "slow on the way down",
                       sets_per_session=3)
    gone = set_programme_item(engine, ids["trainer"], ids["athlete"], "hurdle_step", 2, 8)
    end_programme_item(engine, ids["trainer"], gone.id)
    set_programme_item(engine, ids["trainer"], ids["athlete"], "bench_press", 2, 5, days=(1, 3))
    set_rom_target(engine, ids["trainer"], ids["athlete"], "knee_angle_r", 120, "deep_squat")
    set_rom_target(engine, ids["trainer"], ids["athlete"], "hip_flexion_r", 100)  # any exercise: a leg's
    set_rom_target(engine, ids["trainer"], ids["athlete"], "shoulder_abduction_r", 150)  # any: an arm's
    set_condition(engine, ids["trainer"], ids["athlete"], "ACL reconstruction, left knee", date(2026, 9, 14),
                  today=date(2026, 12, 6))
    sheet = handout.build_handout(engine, ids["athlete"], viewer_id=ids["athlete"], today=date(2026, 12, 6), tz=UTC,
                                  athlete="Ana")
    assert [it.exercise for it in sheet.items] == ["deep_squat", "bench_press"]  # taken off: not on it
    squat, bench = sheet.items
    assert (squat.plan, squat.note) == ("3 sessions a week, 3 sets of 10 reps", "slow on the way down")
    assert squat.example.session_id == sid and squat.example.kind == "correct"
    assert [t.split(":")[0] for t in squat.targets] == ["Hip flexion (R)", "Knee angle (R)"]  # not the arm's
    assert squat.targets[1].startswith("Knee angle (R): 120° of range; your latest ")
    assert bench.example is None and bench.how == handout.HOW_TO["bench_press"]  # a sensor lift: no skeleton

    page = exports.handout_html(sheet).decode()
    assert "<h1>Home programme · Ana</h1>" in page
    assert "2026-12-06 · ACL reconstruction, left knee, on 2026-09-14: 11 weeks ago." in page
    assert "<p class='plan'>3 sessions a week, 3 sets of 10 reps</p>" in page
    assert "<p class='note'>slow on the way down</p>" in page and "Hurdle step" not in page
    assert page.count("<svg class='poses'") == 1 and page.count("<div class='item'>") == 2
    assert "<script" not in page  # prints and mails without JavaScript
    # a box a day; the bench press's, on Tuesday and Thursday, the others greyed
    bench_part = page.split("<h2>Bench press</h2>")[1]
    assert "<p class='plan'>2 sessions a week (Tue, Thu), 5 reps a set</p>" in bench_part
    assert re.findall(r"<span class='tick( off)?'>(\w\w)</span>", bench_part) == [
        (" off", "Mo"), ("", "Tu"), (" off", "We"), ("", "Th"), (" off", "Fr"), (" off", "Sa"), (" off", "Su")]
    squat_part = page.split("<h2>Deep squat</h2>")[1].split("<h2>")[0]
    assert squat_part.count("<span class='tick'>") == 7  # any days

    # the athlete's archive carries the sheet as the page makes it
    import io
    import zipfile

    from physio_core.archive import athlete_archive

    with zipfile.ZipFile(io.BytesIO(athlete_archive(engine, ids["athlete"]))) as z:
        kept = z.read("home_programme.html").decode()
    assert "<p class='plan'>3 sessions a week, 3 sets of 10 reps</p>" in kept and "<svg class='poses'" in kept
    with zipfile.ZipFile(io.BytesIO(athlete_archive(engine, ids["other"]))) as z:
        assert "home_programme.html" not in z.namelist()  # no programme, no sheet

    with pytest.raises(AccessDenied):  # a trainer of neither athlete
        handout.build_handout(engine, ids["athlete"], viewer_id=ids["stranger"], today=date(2026, 12, 6), tz=UTC,
                              athlete="Ana")
    empty = handout.build_handout(engine, ids["other"], viewer_id=None, today=date(2026, 12, 6), tz=UTC, athlete="Ben")
    assert empty.items == [] and "No exercise in the programme now." in exports.handout_html(empty).decode()


def test_every_exercise_a_programme_can_hold_has_its_instructions():
    from physio_core import programme

    assert set(handout.HOW_TO) == set(programme.exercises())


def test_a_session_set_against_an_earlier_one_draws_a_typical_rep_of_each(make_uiprmd_session_result):
    from physio_core.skeleton import N_JOINTS

    this = make_uiprmd_session_result(subject=2, episodes=(1, 2, 3))
    before = make_uiprmd_session_result(subject=2, episodes=(4, 5, 6), correct=False)
    now, then = keyposes.then_and_now(this, 9, date(2026, 11, 20), before, 4, date(2026, 11, 6))
    assert (now.kind, then.kind, now.session_id, then.session_id) == ("typical", "typical", 9, 4)
    for shown, result in ((now, this), (then, before)):  # the rep of median range, whatever its verdict
        ranges = sorted(r.rom_deg for r in result.reps)
        assert next(r.rom_deg for r in result.reps if r.index == shown.rep) == ranges[(len(ranges) - 1) // 2]
    assert then.view == now.view
    svg = keyposes.poses_svg(now, under=then)
    grey = re.findall(r"<line [^>]*stroke='#c4c4c4' stroke-width='5'", svg)
    assert len(grey) == 3 * (N_JOINTS - 1) and svg.index("#c4c4c4") < svg.index("#4287f5")  # beneath
    assert keyposes.then_and_now(this, 9, date(2026, 11, 20), replace(before, reps=[]), 4, date(2026, 11, 6)) is None
