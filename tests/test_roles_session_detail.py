"""The session lifecycle on the session detail page (AppTest, SQLite): a trainer creates a
session, its sensor data comes in, the trainer ends and analyses it, writes notes and feedback,
downloads the exports; the athlete sees it all but may change nothing; deleting asks first."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import SEED_PASSWORDS, page_as, seed_progress_world, session_ids
from physio_core.store import SessionStatus, append_live_data, get_session_detail, list_sessions
from physio_core.store.access import start_session_as

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "session_detail.py")


@pytest.fixture
def seeded(app_db):
    return app_db, seed_progress_world(app_db, weeks=2)


def as_user(engine, email: str, password: str, page: str = PAGE, **query) -> AppTest:
    return page_as(engine, email, password, page, **query)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_end_and_analyse_reads_the_rate_the_frames_came_at(seeded, make_uiprmd_session_result):
    """A live session stores its chunks at a nominal 25 fps, while the server processed the
    frames as fast as it could, here 10 a second (their times are the real ones). Ended from its
    page, it is analysed at 10 fps: its duration is the real one, its reps those of the squats."""
    from physio_core.skeleton import PoseSequence
    from physio_core.store import start_session

    engine, ids = seeded
    full = make_uiprmd_session_result(episodes=(1, 2, 3)).pose  # 30 fps
    live = PoseSequence(full.joints[::3], full.confidence[::3], full.times[::3], 25.0, full.root[::3])
    sid = start_session(engine, ids["athlete"], ids["trainer"], "deep_squat", backend="embedded", fps=25.0)
    append_live_data(engine, sid, pose=live)
    at = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=sid))
    button(at, "End and analyse").click()
    run(at)
    ended = get_session_detail(engine, sid).session
    assert ended.status is SessionStatus.ENDED and ended.fps == pytest.approx(10.0, rel=0.01)
    assert ended.rep_count == 3
    seconds = live.times[-1] - live.times[0] + 0.1
    assert next(m for m in at.metric if m.label == "Duration").value == f"{seconds:.1f} s"


def test_a_live_session_left_without_stop_says_so(seeded, make_uiprmd_session_result):
    """An active session whose last chunk of frames came in an hour ago was left without STOP:
    its page says so and points to End and analyse, and the Sessions list marks it "left
    running". One whose frames are still coming in does not, nor one that never got a frame; the
    first warns that a live page is still recording it. One opened an hour ago that never got a
    frame is marked "nothing recorded", and its page points to its deletion."""
    from datetime import timedelta

    import sqlalchemy as sa

    from physio_core.store import start_session
    from physio_core.store.models import utcnow

    engine, ids = seeded
    pose = make_uiprmd_session_result(episodes=(1,)).pose
    sid = {name: start_session(engine, ids["athlete"], ids["trainer"], "deep_squat")
           for name in ("left", "running", "created", "empty")}
    for name in ("left", "running"):
        append_live_data(engine, sid[name], pose=pose)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE sensor_data SET created_at = :t WHERE session_id = :s"),
                     {"t": utcnow() - timedelta(minutes=61), "s": sid["left"]})
        # opened an hour ago and nothing ever came in (a live page closed before its first
        # frames were stored, or an older version's empty "Create session")
        conn.execute(sa.text("UPDATE sessions SET started_at = :t WHERE id = :s"),
                     {"t": utcnow() - timedelta(minutes=60), "s": sid["empty"]})
    shown, recording, empty = {}, {}, {}
    for name, i in sid.items():
        at = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=i))
        shown[name] = [w.value for w in at.warning if "has not ended" in w.value]
        recording[name] = [w.value for w in at.warning if "still recording" in w.value]
        empty[name] = [w.value for w in at.warning if w.value.startswith("Nothing has been recorded")]
    assert len(shown["left"]) == 1 and "(61 min ago)" in shown["left"][0]
    assert "**End and analyse**" in shown["left"][0]
    assert shown["running"] == shown["created"] == shown["empty"] == []
    # the one whose frames are coming in: End and analyse here would file only part of it
    assert len(recording["running"]) == 1 and "Press **STOP** on that page" in recording["running"][0]
    assert recording["left"] == recording["created"] == recording["empty"] == []
    # the empty one points to its deletion; one just opened may still get its first frames
    assert len(empty["empty"]) == 1 and "**Delete this session**" in empty["empty"][0]
    assert empty["left"] == empty["running"] == empty["created"] == []

    at = as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], page=str(ROOT / "pages" / "sessions.py"))
    table = run(at).dataframe[0].value
    table = dict(zip(session_ids(table), table["status"]))
    assert {name: table[i] for name, i in sid.items()} == {
        "left": "left running", "running": "active", "created": "active", "empty": "nothing recorded"}


def test_trainer_runs_the_whole_lifecycle(seeded, make_uiprmd_session_result):
    engine, ids = seeded
    # a live session, opened as the live page opens it; the page has no form of its own that
    # makes one (an empty session that nothing would record into)
    sid = start_session_as(engine, ids["trainer"], ids["athlete"], "deep_squat", source="live")
    at = as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=sid)
    at.session_state["athlete_id"] = ids["athlete"]
    run(at)
    assert not [b for b in at.button if "Create" in b.label]
    assert not [e for e in at.expander if "Create" in e.label]
    row = next(r for r in list_sessions(engine, viewer_id=ids["trainer"]) if r.id == sid)
    assert row.status is SessionStatus.ACTIVE and row.trainer_id == ids["trainer"]

    # sensor data arrives (as the live page stores it), the page shows it
    full = make_uiprmd_session_result(episodes=(1, 2, 3))
    half = len(full.pose) // 2
    append_live_data(engine, sid, pose=full.pose.slice(0, half))
    append_live_data(engine, sid, pose=full.pose.slice(half, len(full.pose)))
    run(at)
    assert any(f"3D pose: {len(full.pose)} frames" in c.value for c in at.caption)
    found = next(m for m in at.metric if m.label == "Person found")
    assert found.value == f"{full.frames_with_person / full.frames:.0%}" and found.value != "0%"
    assert next(m for m in at.metric if m.label == "Duration").value == f"{full.frames / full.fps:.1f} s"
    assert "Pose backend" in [m.label for m in at.metric]  # staff see which estimator measured

    # end and analyse: angles and reps from the stored pose
    button(at, "End and analyse").click()
    run(at)
    detail = get_session_detail(engine, sid)
    assert detail.session.status is SessionStatus.ENDED
    assert detail.angles is not None and len(detail.angles.names) == 23
    assert any("ended" in s.value for s in at.success)
    assert not [b for b in at.button if b.label == "End and analyse"]

    # notes and feedback
    at.text_area(key=f"session_notes_{sid}").input("Knees cave in on the way up.")
    button(at, "Save notes").click()
    run(at)
    at.text_input(key=f"feedback_text_{sid}").input("Push the knees out")
    button(at, "Add feedback").click()
    run(at)
    detail = get_session_detail(engine, sid)
    assert detail.session.notes == "Knees cave in on the way up."
    assert [(f.kind.value, f.text, f.author_id) for f in detail.feedback if f.kind.value == "trainer"] == [
        ("trainer", "Push the knees out", ids["trainer"])]

    # every file of the session in one row under its report (not a second "Exports" further down)
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Angles (CSV)", "Summary (JSON)", "3D joints (CSV)", "CSV (long format)", "Full session (JSON)",
                      "OpenSim angles (.mot)", "3D joints (.trc)", "Printable report (HTML)"], labels
    assert [h.value for h in at.subheader].count("Downloads") == 1 and "Exports" not in [h.value for h in at.subheader]

    # delete asks first
    delete = at.button(key=f"delete_session_button_{sid}")
    assert delete.disabled
    at.checkbox(key=f"delete_session_sure_{sid}").check()
    run(at)
    at.button(key=f"delete_session_button_{sid}").click()
    run(at)
    assert get_session_detail(engine, sid) is None


def test_athlete_sees_feedback_but_changes_nothing(seeded):
    engine, ids = seeded
    from physio_core.store.access import add_feedback_as, set_notes_as

    sid = list_sessions(engine, athlete_id=ids["athlete"])[0].id
    set_notes_as(engine, ids["trainer"], sid, "Good week")
    add_feedback_as(engine, ids["trainer"], sid, "Deeper next time", rep_index=2)
    at = run(as_user(engine, "ana@clinic.org", SEED_PASSWORDS["athlete"], id=sid))
    assert not at.error
    assert any("Deeper next time" in m.value for m in at.markdown)
    assert any("Good week" in i.value for i in at.info)
    labels = {b.label for b in at.button}
    assert not labels & {"Save notes", "Add feedback", "Delete session", "End and analyse", "Score again"}
    assert not at.text_area
    # the report without the staff's technical tile: which estimator measured says its help
    labels = [m.label for m in at.metric]
    assert "Person found" in labels and "Pose backend" not in labels
    assert "uiprmd-kinect" in next(m for m in at.metric if m.label == "Person found").help
    assert "Full session (JSON)" in [d.proto.label for d in at.get("download_button")]  # their own data


def test_a_trainer_scores_a_stored_session_again_as_another_exercise(seeded):
    """With its video gone, a session filed under the wrong exercise (or none) is scored again
    from its stored skeleton: the page files it under the exercise picked, with that count."""
    engine, ids = seeded
    sid = list_sessions(engine, athlete_id=ids["athlete"], exercise="deep_squat")[0].id
    at = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=sid))
    assert at.selectbox(key=f"score_again_exercise_{sid}").value == "deep_squat"
    at.selectbox(key=f"score_again_exercise_{sid}").set_value("hurdle_step")
    button(at, "Score again").click()
    run(at)
    d = get_session_detail(engine, sid)
    assert d.session.exercise == "hurdle_step"
    assert at.success[0].value == f"Session #{sid} scored again, as hurdle step: {d.session.rep_count} reps."
    assert at.subheader[0].value.endswith("· Hurdle step")
    assert all(r.angle.startswith(("hip", "knee")) for r in d.reps)  # counted on a hurdle step's angle


def test_score_again_opens_on_the_exercise_a_wrongly_filed_session_looks_like(seeded):
    """Straight-leg raises filed as a shoulder abduction count no rep and say what they look like;
    the Score again box opens on that movement, so one click files them right."""
    from conftest import uiprmd_set
    from physio_core.pipeline import finish_sequence
    from physio_core.store import save_session_result

    engine, ids = seeded
    seq, _, _ = uiprmd_set([("standing_active_straight_leg_raise", 3, True)] * 5, rng=1)
    wrong = finish_sequence(seq, backend="uiprmd-kinect", exercise="standing_shoulder_abduction",
                            source="upload:raises", smooth=False)
    sid = save_session_result(engine, wrong, ids["athlete"], ids["trainer"])
    at = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=sid))
    assert [w.value for w in at.warning if w.value.startswith("No rep of shoulder abduction was counted")]
    box = at.selectbox(key=f"score_again_exercise_{sid}")
    assert box.value == "standing_active_straight_leg_raise"
    button(at, "Score again").click()
    run(at)
    d = get_session_detail(engine, sid)
    assert (d.session.exercise, d.session.rep_count) == ("standing_active_straight_leg_raise", 5)
    assert not [w for w in at.warning if "looks like" in w.value]
    # filed right now: the box opens on its own exercise
    assert at.selectbox(key=f"score_again_exercise_{sid}").value == "standing_active_straight_leg_raise"


def test_a_trainer_dates_a_session_when_it_was_filmed(seeded):
    """A clip whose file did not say when it was filmed is dated by its upload: the trainer sets
    the day it was filmed; the session keeps its length and moves in the athlete's history."""
    from datetime import UTC, date, datetime, time

    from physio_core.store import progress_for_athlete

    engine, ids = seeded
    newest = list_sessions(engine, athlete_id=ids["athlete"])[0]
    length = newest.ended_at - newest.started_at
    at = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=newest.id))
    assert at.date_input(key=f"filmed_day_{newest.id}").label == "Filmed on"
    at.date_input(key=f"filmed_day_{newest.id}").set_value(date(2026, 8, 31))
    at.time_input(key=f"filmed_time_{newest.id}").set_value(time(17, 45))
    button(at, "Save date").click()
    run(at)
    assert not at.error, [e.value for e in at.error]
    assert any(f"Session #{newest.id} is now dated 2026-08-31 17:45." in s.value for s in at.success)
    moved = get_session_detail(engine, newest.id).session
    assert moved.started_at == datetime(2026, 8, 31, 17, 45, tzinfo=UTC)
    assert moved.ended_at - moved.started_at == length
    sessions = list_sessions(engine, athlete_id=ids["athlete"])
    assert sessions[-1].id == newest.id  # now the oldest of the athlete's sessions
    assert progress_for_athlete(engine, ids["athlete"])[0].session_id == newest.id  # oldest first



def test_only_staff_may_date_a_session_and_only_once_it_ended(seeded):
    from datetime import UTC, datetime, timedelta

    from physio_core.store import AccessDenied, start_session
    from physio_core.store.access import set_filmed_at_as

    engine, ids = seeded
    sid = list_sessions(engine, athlete_id=ids["athlete"])[0].id
    when = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    for who in (ids["athlete"], ids["other_trainer"]):
        with pytest.raises(AccessDenied):
            set_filmed_at_as(engine, who, sid, when)
    live = start_session(engine, ids["athlete"], ids["trainer"], "auto", backend="embedded", fps=25.0)
    with pytest.raises(ValueError, match="end it first"):
        set_filmed_at_as(engine, ids["trainer"], live, when)
    before = get_session_detail(engine, sid).session.started_at
    for impossible in (datetime(1970, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=3)):
        with pytest.raises(ValueError, match="cannot be when it was filmed"):
            set_filmed_at_as(engine, ids["trainer"], sid, impossible)
    assert get_session_detail(engine, sid).session.started_at == before
    set_filmed_at_as(engine, ids["admin"], sid, when)
    assert get_session_detail(engine, sid).session.started_at == when
    at = run(as_user(engine, "ana@clinic.org", SEED_PASSWORDS["athlete"], id=sid))
    assert not at.date_input and not [b for b in at.button if b.label == "Save date"]


def test_other_trainer_is_refused_the_session(seeded):
    engine, ids = seeded
    sid = list_sessions(engine, athlete_id=ids["athlete"])[0].id
    at = run(as_user(engine, "other@clinic.org", "other-password-1", id=sid))
    assert [e.value for e in at.error] == [f"you may not see session {sid}"]
    assert not at.get("download_button")


def test_a_session_compares_with_any_earlier_one_of_its_exercise(seeded, make_uiprmd_session_result):
    """Three deep squat sessions: the newest opens against the previous one, and the trainer can
    pick the first, the baseline, instead; the table's numbers are those two sessions'."""
    import base64
    import re
    from datetime import timedelta

    from physio_core import progress
    from physio_core.store import progress_for_athlete, save_session_result

    engine, ids = seeded
    rows = progress_for_athlete(engine, ids["athlete"])
    squats = [r for r in rows if r.exercise == "deep_squat"]
    latest = make_uiprmd_session_result(episodes=(4, 5), started_at=squats[-1].date + timedelta(days=7))
    sid = save_session_result(engine, latest, ids["athlete"], ids["trainer"])
    rows = progress_for_athlete(engine, ids["athlete"])
    this = next(r for r in rows if r.session_id == sid)
    first, previous = squats[0], squats[-1]

    at = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=sid))
    assert any(e.label == "Against earlier deep squat sessions (2)" for e in at.expander)
    picker = at.selectbox(key=f"versus_{sid}")
    assert picker.value == previous.session_id
    assert picker.options == [f"#{previous.session_id} on {previous.date:%Y-%m-%d} (previous)",
                              f"#{first.session_id} on {first.date:%Y-%m-%d} (first)"]
    assert list(at.dataframe[0].value.columns) == [
        "measure", "this session", f"#{previous.session_id}", "change", "better / worse"]
    # a typical rep of each drawn one over the other, from the side (a squat's knees go forward)
    (drawn,) = [i for i in at.get("image") if i.captions[0].startswith("A typical rep")]
    assert f"from the side: #{previous.session_id} (rep " in drawn.captions[0]
    assert "in grey, this session (rep " in drawn.captions[0]
    svg = base64.b64decode(drawn.proto.imgs[0].url.split(",", 1)[1]).decode()
    bones = re.findall(r"<line [^>]*stroke='(#[0-9a-f]{6})' stroke-width='5'", svg)
    grey = bones.count("#c4c4c4")  # the earlier rep beneath, bone for bone
    assert grey >= 3 * 16 and len(bones) == 2 * grey and bones[:grey // 3] == ["#c4c4c4"] * (grey // 3)

    picker.set_value(first.session_id)
    run(at)
    (drawn,) = [i for i in at.get("image") if i.captions[0].startswith("A typical rep")]
    assert f": #{first.session_id} (rep " in drawn.captions[0]
    shown = at.dataframe[0].value
    assert list(shown.columns) == ["measure", "this session", f"#{first.session_id}", "change", "better / worse"]
    assert shown.equals(progress.compare_sessions(this, first, label=f"#{first.session_id}"))
    # the page run on its own (no navigation): its link is a plain one
    link = f"[Open session #{first.session_id}](session_detail?id={first.session_id})"
    assert link in [m.value for m in at.markdown]
    # with the athlete's affected side said, the table ends on the limb symmetry of the two sessions
    from physio_core.store.access import set_affected_side

    set_affected_side(engine, ids["trainer"], ids["athlete"], "left")
    at = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=previous.session_id))
    shown = at.dataframe[0].value
    assert shown.iloc[-1]["measure"] == "limb symmetry: Knee angle"
    before = squats[-2]  # the one before the previous
    assert shown.equals(progress.compare_sessions(previous, before, label=f"#{before.session_id}", affected="left"))


def test_a_sessions_printable_report_carries_its_comparison(seeded):
    """The printable report of a session holds what its page compares: the table against the
    earlier session and a typical rep of each drawn (no JavaScript needed to print them)."""
    from physio_core import exports, progress
    from physio_core.store import get_session_detail, progress_for_athlete

    engine, ids = seeded
    squats = [r for r in progress_for_athlete(engine, ids["athlete"]) if r.exercise == "deep_squat"]
    this, before = squats[-1], squats[-2]
    table = progress.compare_sessions(this, before, label=f"#{before.session_id}")
    svg, now, then = progress.reps_drawn(engine, this, before)
    detail = get_session_detail(engine, this.session_id)
    versus = exports.Versus(f"Against session #{before.session_id}", table, svg, "the earlier rep in grey")
    page = exports.html_report(detail.to_result(), session=detail.session, versus=versus).decode()
    section = page[page.index(f"<h2>Against session #{before.session_id}</h2>"):]
    assert section.index("<table") < section.index("<svg") < section.index("the earlier rep in grey")
    for measure, mine, theirs in zip(table["measure"], table["this session"], table[f"#{before.session_id}"]):
        assert measure in section and str(mine) in section and str(theirs) in section
    assert "class='poses'" in svg and svg in section
    plain = exports.html_report(detail.to_result(), session=detail.session).decode()
    assert "Against session" not in plain and "class='poses'" not in plain


def test_the_sessions_list_filters_by_exercise(seeded):
    """The trainer's list of the athlete's sessions offers the exercises they have, and shows
    only those of the one picked; the athlete's own list offers the same."""
    from physio_core.store import session_exercises

    engine, ids = seeded
    mine = [r for r in list_sessions(engine, viewer_id=ids["trainer"], athlete_id=ids["athlete"])]
    assert session_exercises(engine, viewer_id=ids["trainer"], athlete_id=ids["athlete"]) == \
        ["deep_squat", "hurdle_step"] == session_exercises(engine, viewer_id=ids["athlete"])

    at = as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], page=str(ROOT / "pages" / "sessions.py"))
    at.session_state["athlete_id"] = ids["athlete"]
    run(at)
    picker = at.selectbox(key="sessions_exercise")
    assert picker.options == ["All exercises", "Deep squat", "Hurdle step"] and picker.value is None
    assert sorted(session_ids(at.dataframe[0].value)) == sorted(r.id for r in mine)
    picker.set_value("hurdle_step")
    table = run(at).dataframe[0].value
    hurdles = [r.id for r in mine if r.exercise == "hurdle_step"]
    assert sorted(session_ids(table)) == sorted(hurdles) and set(table["exercise"]) == {"Hurdle step"}


def test_an_athletes_own_list_has_no_switch_for_other_athletes(seeded):
    """An athlete sees their own sessions only: the trainer's switch between the athlete picked
    and everyone's would change nothing, so their list has none, and no athlete column."""
    engine, ids = seeded
    at = as_user(engine, "ana@clinic.org", SEED_PASSWORDS["athlete"], page=str(ROOT / "pages" / "sessions.py"))
    at.session_state["athlete_id"] = ids["athlete"]
    run(at)
    assert not at.toggle
    table = at.dataframe[0].value
    assert "athlete" not in table.columns
    assert sorted(session_ids(table)) == sorted(r.id for r in list_sessions(engine, viewer_id=ids["athlete"]))

    at = as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], page=str(ROOT / "pages" / "sessions.py"))
    at.session_state["athlete_id"] = ids["athlete"]
    run(at)
    assert [t.label for t in at.toggle] == ["Only the athlete picked in the sidebar"]


def test_the_athlete_says_how_the_set_felt_and_progress_draws_it(seeded):
    """The athlete opens their own session and gives pain and effort; the page says it is saved,
    the session keeps it, and their Progress draws it. Their trainer sees what they said."""
    from physio_core.progress import felt_figure
    from physio_core.store import progress_for_athlete

    engine, ids = seeded
    newest = list_sessions(engine, athlete_id=ids["athlete"])[0]
    at = run(as_user(engine, "ana@clinic.org", SEED_PASSWORDS["athlete"], id=newest.id))
    pain, effort = at.selectbox(key=f"felt_pain_{newest.id}"), at.selectbox(key=f"felt_effort_{newest.id}")
    assert (pain.label, pain.value, effort.label, effort.value) == ("Pain during the set", None, "Effort", None)
    pain.set_value(3)
    effort.set_value(7)
    button(at, "Save how it felt").click()
    run(at)
    assert not at.error, [e.value for e in at.error]
    assert any(f"Saved how session #{newest.id} felt: pain 3/10 (mild), effort 7/10 (very hard)." in s.value
               for s in at.success)
    s = get_session_detail(engine, newest.id).session
    assert (s.pain, s.effort) == (3, 7)
    fig = felt_figure(progress_for_athlete(engine, ids["athlete"]))
    assert {t.name: list(t.y) for t in fig.data} == {"Pain": [3], "Effort": [7]}

    coach = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=newest.id))
    assert "pain 3/10 (mild), effort 7/10 (very hard)" in coach.caption[0].value  # under the title
    assert coach.selectbox(key=f"felt_pain_{newest.id}").value == 3
    assert coach.selectbox(key=f"felt_effort_{newest.id}").value == 7
    # and in the Sessions table, beside the scores
    listing = as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], page=str(ROOT / "pages" / "sessions.py"))
    listing.session_state["athlete_id"] = ids["athlete"]
    table = run(listing).dataframe[0].value
    pains = dict(zip(session_ids(table), table["pain"]))
    assert pains[newest.id] == 3 and all(pd.isna(p) for sid, p in pains.items() if sid != newest.id)

    progress_page = run(as_user(engine, "ana@clinic.org", SEED_PASSWORDS["athlete"],
                                page=str(ROOT / "pages" / "progress.py")))
    assert "Pain and effort" in [h.value for h in progress_page.subheader]
    tile = next(m for m in progress_page.metric if m.label == "Pain")
    assert tile.value == "3/10" and tile.help.startswith("As the athlete said for the last session that gives it: mild")
    from physio_core.progress import NO_FELT  # the chart, not the word that nothing was said

    assert NO_FELT not in [c.value for c in progress_page.caption]
    assert any(c.value.startswith("As the athlete said: pain 0 none") for c in progress_page.caption)


# ------------------------------------------------------------------ on the Progress page

PROGRESS_PAGE = str(ROOT / "pages" / "progress.py")


def _progress(engine, who: str, athlete_id: int):
    email = {"trainer": "coach@clinic.org", "athlete": "ana@clinic.org"}[who]
    at = as_user(engine, email, SEED_PASSWORDS[who], page=PROGRESS_PAGE)
    at.session_state["athlete_id"] = athlete_id
    return run(at)


def test_the_trainer_sets_the_programme_on_progress_and_the_athlete_sees_it(seeded):
    from datetime import UTC, datetime

    from physio_core.store import get_or_create_athlete, progress_for_athlete
    from physio_core.store.access import programme as programme_of, set_programme_item

    engine, ids = seeded
    at = _progress(engine, "trainer", ids["athlete"])
    assert "Programme" in [h.value for h in at.subheader]
    assert any(c.value.startswith("No exercise in the programme. Set one below") for c in at.caption)
    at.selectbox(key="programme_exercise").set_value("deep_squat")
    at.number_input(key="programme_per_week").set_value(2)
    at.number_input(key="programme_reps").set_value(8)
    assert at.number_input(key="programme_sets").value == 3  # as most programmes ask
    at.text_input(key="programme_note").set_value("slow on the way down")
    button(at, "Save in the programme").click()
    run(at)
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Deep squat: 2 sessions a week, 3 sets of 8 reps, from now on."]
    (item,) = programme_of(engine, ids["athlete"])
    assert (item.exercise, item.sessions_per_week, item.sets_per_session, item.reps_per_set, item.note,
            item.set_by) == ("deep_squat", 2, 3, 8, "slow on the way down", ids["trainer"])
    last_squat = [r.date for r in progress_for_athlete(engine, ids["athlete"]) if r.exercise == "deep_squat"][-1]
    week = at.dataframe[0].value  # this week's table, first on the page
    # put in today: no more sessions this week than the days left (one on a Sunday)
    this_week = f"0 of {min(2, 7 - datetime.now(UTC).weekday())}"
    assert week.iloc[0].to_dict() == {"exercise": "Deep squat", "this week": this_week, "today": "0 of 3 sets",
                                      "plan": "2 sessions a week, 3 sets of 8 reps", "note": "slow on the way down",
                                      "last session": f"{last_squat:%Y-%m-%d}"}
    # the seeded weeks had no programme then: no weekly chart
    assert "Programme done per week" not in [h.value for h in at.subheader]
    assert "Home programme (printable)" in [d.proto.label for d in at.get("download_button")]

    # the athlete reads it, and has no form to change it
    mine = _progress(engine, "athlete", ids["athlete"])
    assert "Programme" in [h.value for h in mine.subheader]
    assert mine.dataframe[0].value.iloc[0]["this week"] == this_week
    assert "Set the programme" not in [e.label for e in mine.expander]
    assert "Home programme (printable)" in [d.proto.label for d in mine.get("download_button")]

    # a programme that held over the seeded weeks: each week's share done is charted
    set_programme_item(engine, None, ids["athlete"], "hurdle_step", 1, started_at=datetime(2026, 9, 1, tzinfo=UTC))
    mine = _progress(engine, "athlete", ids["athlete"])
    assert "Programme done per week" in [h.value for h in mine.subheader]
    assert any(c.value.endswith("sessions beyond the plan count as the plan.") for c in mine.caption)

    # taken off by the trainer
    at = _progress(engine, "trainer", ids["athlete"])
    off = at.selectbox(key="programme_off")
    off.set_value(item.id)
    button(at, "Take off the programme").click()
    run(at)
    assert [s.value for s in at.success] == [
        "Deep squat (2 sessions a week, 3 sets of 8 reps) is taken off the programme."]
    assert [i.exercise for i in programme_of(engine, ids["athlete"]) if i.ended_at is None] == ["hurdle_step"]

    # a new athlete with no session yet: the programme is set before the first one
    new = get_or_create_athlete(engine, "Nia New", ids["trainer"])
    at = _progress(engine, "trainer", new.id)
    assert "Programme" in [h.value for h in at.subheader]
    assert any("No finished session for this athlete yet." in i.value for i in at.info)
    assert next(e for e in at.expander if e.label == "Set the programme")
    assert not at.get("download_button")  # no programme, no sheet


def test_the_athlete_says_the_morning_pain_on_progress_and_reads_it_against_the_model(seeded):
    from datetime import UTC, datetime, timedelta

    from physio_core.store import progress_for_athlete
    from physio_core.store.access import morning_pain, set_morning_pain

    engine, ids = seeded
    at = _progress(engine, "athlete", ids["athlete"])
    assert "Pain the morning after" in [e.label for e in at.expander]
    last = progress_for_athlete(engine, ids["athlete"])[-1].date.date()
    at.date_input(key="progress_morning_day").set_value(last + timedelta(days=1))  # the morning after the last set
    at.selectbox(key="progress_morning_pain").set_value(7)
    button(at, "Save").click()
    run(at)
    assert [(m.day, m.pain) for m in morning_pain(engine, ids["athlete"])] == [(last + timedelta(days=1), 7)]
    assert f"Saved: pain 7/10 on the morning of {last + timedelta(days=1):%Y-%m-%d}." in [s.value for s in at.success]
    # drawn with the sessions' pain (the morning after the last day shown), and said too much,
    # where it is the last week's
    chart = next(c for c in at.get("plotly_chart") if "Pain next morning" in c.proto.spec)
    assert '"y":[7]' in chart.proto.spec.replace(" ", "")
    # the last session's page says how it settled
    last_id = progress_for_athlete(engine, ids["athlete"])[-1].session_id
    page = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=last_id))
    assert any("pain the next morning 7/10 (severe)" in c.value for c in page.caption)
    # a day still to come is not offered
    today = datetime.now(UTC).date()
    assert at.date_input(key="progress_morning_day").proto.max == f"{today:%Y-%m-%d}"
    # this morning's, too much by the pain-monitoring model: said so over the chart
    assert not any("pain-monitoring model allows" in w.value for w in at.warning)
    set_morning_pain(engine, ids["athlete"], ids["athlete"], today, 7)
    at = _progress(engine, "trainer", ids["athlete"])
    assert any(w.value == f"Pain on the morning of {today:%Y-%m-%d}: 7/10 (severe), above the 5/10 the "
               "pain-monitoring model allows: ease the load." for w in at.warning)


def test_the_trainer_says_the_affected_side_and_progress_compares_it_with_the_other(seeded):
    from physio_core.store.access import affected_side, set_affected_side

    engine, ids = seeded
    at = _progress(engine, "trainer", ids["athlete"])
    key = f"progress_affected_side_{ids['athlete']}"
    assert at.radio(key=key).value is None and "Left / right asymmetry" in [h.value for h in at.subheader]
    at.radio(key=key).set_value("left")
    run(at)
    assert not at.error, [e.value for e in at.error]
    assert affected_side(engine, ids["athlete"]) == "left"
    assert "Limb symmetry index" in [h.value for h in at.subheader]
    assert any(c.value.startswith("Deep squat: limb symmetry index: the range of motion of the affected side "
                                  "(left) in % of the right side's") for c in at.caption)
    chart = next(c for c in at.get("plotly_chart") if '"lsi' in c.proto.spec or "(affected)" in c.proto.spec)
    assert "left (affected) in % of right" in chart.proto.spec

    # changed meanwhile by someone else: the page shows what is stored, and does not write back its own
    set_affected_side(engine, None, ids["athlete"], "right")
    run(at)
    assert at.radio(key=key).value == "right" and affected_side(engine, ids["athlete"]) == "right"

    # the athlete reads it, and cannot change it
    mine = _progress(engine, "athlete", ids["athlete"])
    assert not [r for r in mine.radio if r.label == "Affected side"]
    assert "Affected side: **right**, as the athlete's trainer set it." in [c.value for c in mine.caption]
    assert "Limb symmetry index" in [h.value for h in mine.subheader]


def test_the_trainer_says_the_condition_and_the_pages_say_how_long_after_it(seeded):
    from datetime import UTC, datetime, timedelta

    from physio_core.store import progress_for_athlete
    from physio_core.store.access import athlete_profile

    engine, ids = seeded
    first = progress_for_athlete(engine, ids["athlete"])[0]
    operated = first.date.date() - timedelta(days=30)
    at = _progress(engine, "trainer", ids["athlete"])
    at.text_input(key=f"condition_{ids['athlete']}").input("ACL reconstruction, left knee")
    at.date_input(key=f"condition_since_{ids['athlete']}").set_value(operated)
    button(at, "Save the condition").click()
    run(at)
    assert not at.error, [e.value for e in at.error]
    assert athlete_profile(engine, ids["athlete"]).condition == "ACL reconstruction, left knee"
    weeks = (datetime.now(UTC).date() - operated).days // 7  # the page's clock: UTC, no browser here
    said = f"ACL reconstruction, left knee, on {operated:%Y-%m-%d}: {weeks} weeks ago."
    assert said in [c.value for c in at.caption]

    mine = _progress(engine, "athlete", ids["athlete"])  # the athlete reads it, with no form
    assert said in [c.value for c in mine.caption] and "Condition" not in [e.label for e in mine.expander]

    # the session's page: how long after the operation it was
    page = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=first.session_id))
    assert any(f"4 weeks after ACL reconstruction, left knee ({operated:%Y-%m-%d})" in c.value for c in page.caption)
    assert not any("limb symmetry" in c.value for c in page.caption)  # no affected side said
    # with it said: the session's own limb symmetry beside it, on the counted joint
    from physio_core.store.access import set_affected_side

    set_affected_side(engine, ids["trainer"], ids["athlete"], "left")
    page = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=first.session_id))
    family = first.rep_angle[:-2]
    pct = 100 * first.rom_deg[family + "_l"] / first.rom_deg[family + "_r"]
    assert any(f"4 weeks after ACL reconstruction, left knee ({operated:%Y-%m-%d}) · limb symmetry {pct:.0f} % "
               "(Knee angle: left, affected, in % of right; " in c.value for c in page.caption), \
        [c.value for c in page.caption]


def test_staff_read_each_exercises_load_by_the_pain_monitoring_model(seeded, make_uiprmd_session_result):
    from datetime import UTC, datetime, timedelta

    from physio_core.store import save_session_result, set_felt
    from physio_core.store.access import set_programme_item

    engine, ids = seeded
    set_programme_item(engine, None, ids["athlete"], "deep_squat", 2, 10)
    at = _progress(engine, "trainer", ids["athlete"])
    assert "load" not in at.dataframe[0].value.columns  # no pain said lately: nothing to go on
    sid = save_session_result(engine, make_uiprmd_session_result(started_at=datetime.now(UTC) - timedelta(hours=2)),
                              ids["athlete"])
    set_felt(engine, sid, 7, 8)  # the set hurt 7/10
    at = _progress(engine, "trainer", ids["athlete"])
    week = at.dataframe[0].value
    assert list(week.columns[:2]) == ["exercise", "load"] and week.iloc[0]["load"] == "ease"
    said = ("Load, by the pain-monitoring model (staff only; a suggestion, the decision is the trainer's): Ease, "
            "Deep squat: the last set hurt 7/10, more than the 5")
    assert any(c.value.startswith(said) for c in at.caption)
    mine = _progress(engine, "athlete", ids["athlete"])  # the trainer's call, not the athlete's
    assert "load" not in mine.dataframe[0].value.columns


def test_progress_draws_the_first_and_the_latest_session_of_the_exercise(seeded):
    from physio_core.store import progress_for_athlete

    engine, ids = seeded
    mine = _progress(engine, "athlete", ids["athlete"])
    shown = mine.selectbox(key="progress_rom_exercise").value
    sessions = [r for r in progress_for_athlete(engine, ids["athlete"]) if r.exercise == shown]
    assert f"First and latest · {_short(shown)}" in [h.value for h in mine.subheader]
    (drawn,) = mine.get("image")
    assert f"the first session, #{sessions[0].session_id} on " in drawn.captions[0]
    # and at the top, in short, in words
    (short,) = [m.value for m in mine.markdown if m.value.startswith("**In short**")]
    days = {r.date.date() for r in progress_for_athlete(engine, ids["athlete"])}
    assert f"\n- {len(days)} training days since " in short
    assert f"the latest, #{sessions[-1].session_id} on " in drawn.captions[0]


def _short(exercise: str) -> str:
    from physio_core.report import pretty_exercise

    return pretty_exercise(exercise, short=True)


def test_the_trainer_plans_the_days_of_the_week(seeded):
    from physio_core.store.access import programme as programme_of

    engine, ids = seeded
    at = _progress(engine, "trainer", ids["athlete"])
    at.selectbox(key="programme_exercise").set_value("sit_to_stand")
    at.multiselect(key="programme_days").set_value([0, 2, 4])
    at.number_input(key="programme_per_week").set_value(2)  # the days decide: three of them
    button(at, "Save in the programme").click()
    run(at)
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [
        "Sit to stand: 3 sessions a week (Mon, Wed, Fri), 3 sets of 10 reps, from now on."]
    (item,) = programme_of(engine, ids["athlete"])
    assert (item.sessions_per_week, item.days) == (3, (0, 2, 4))
    from datetime import UTC, datetime

    today = at.dataframe[0].value.iloc[0]["today"]  # the page's clock: UTC, no browser here
    assert today.startswith("planned today" if datetime.now(UTC).weekday() in (0, 2, 4) else "next ")


def test_a_trainer_splits_a_session_of_two_exercises_into_its_sets(seeded):
    """A live session that went from squats to shoulder abductions (real UI-PRMD reps, joined as
    a camera sees them), stored as one: the trainer looks for its sets, sees them and splits it;
    a session of one set says there is nothing to split. The athlete is not offered it."""
    from conftest import uiprmd_set
    from pages._session_actions import SPLIT_CAPTION
    from physio_core.datasets.continuous import concatenate_reps
    from physio_core.pipeline import finish_sequence
    from physio_core.store import save_session_result

    engine, ids = seeded
    squats, _, _ = uiprmd_set([("deep_squat", 3, True)] * 6, rng=1)
    raises, _, _ = uiprmd_set([("standing_shoulder_abduction", 3, True)] * 7, rng=2)
    seq, _ = concatenate_reps([squats, raises], pause_s=(1.5, 1.5), rng=1)
    sid = save_session_result(engine, finish_sequence(seq, backend="embedded", smooth=False, source="live"),
                              ids["athlete"], ids["trainer"])
    before = {s.id for s in list_sessions(engine, athlete_id=ids["athlete"])}

    at = run(as_user(engine, "ana@clinic.org", SEED_PASSWORDS["athlete"], id=sid))
    assert "Look for sets" not in {b.label for b in at.button}
    at = run(as_user(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], id=sid))
    assert SPLIT_CAPTION in [c.value for c in at.caption]
    button(at, "Look for sets").click()
    run(at)
    table = next(d.value for d in at.dataframe
                 if list(d.value.columns) == ["set", "exercise", "from", "to", "rest before"])
    assert list(table["exercise"]) == ["Deep squat", "Standing shoulder abduction"]
    assert list(table["from"])[0] == "0:00"
    assert pd.isna(table["rest before"][0]) and table["rest before"][1] in ("0:00", "0:01", "0:02")
    button(at, "Split into 2 sessions").click()
    run(at)
    new = sorted({s.id for s in list_sessions(engine, athlete_id=ids["athlete"])} - before)
    assert len(new) == 1
    assert at.success[0].value == f"Session #{sid} is now set 1 of 2; the other sets are sessions #{new[0]}."
    a, b = get_session_detail(engine, sid).session, get_session_detail(engine, new[0]).session
    assert (a.exercise, b.exercise) == ("deep_squat", "standing_shoulder_abduction")
    assert a.source.startswith("live · set 1 of 2 (0:00–") and b.source.startswith("live · set 2 of 2 (0:")
    assert at.subheader[0].value.endswith("· Deep squat")
    # each set points to the recording's other sets
    assert "Set 1 of 2 of live; its other sets:" in [c.value for c in at.caption]
    link = f"[Set 2: #{new[0]} · Standing shoulder abduction · {b.rep_count} reps](session_detail?id={new[0]})"
    assert link in [m.value for m in at.markdown]
    other = run(as_user(engine, "ana@clinic.org", SEED_PASSWORDS["athlete"], id=new[0]))
    assert "Set 2 of 2 of live; its other sets:" in [c.value for c in other.caption]
    assert f"[Set 1: #{sid} · Deep squat · {a.rep_count} reps](session_detail?id={sid})" in [
        m.value for m in other.markdown]
    # the set it now is holds one set
    button(at, "Look for sets").click()
    run(at)
    assert any("This session is one set" in i.value for i in at.info)
