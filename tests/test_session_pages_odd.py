"""Odd inputs on the Sessions list and the Session detail page (AppTest, SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import SEED_PASSWORDS, page_as, seed_progress_world
from physio_core.store import get_session_detail, list_sessions

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "session_detail.py")
SESSIONS = str(ROOT / "pages" / "sessions.py")


@pytest.fixture
def seeded(app_db):
    return app_db, seed_progress_world(app_db, weeks=2)


def as_trainer(engine, page: str = PAGE, **query) -> AppTest:
    return page_as(engine, "coach@clinic.org", SEED_PASSWORDS["trainer"], page, **query)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def squat_id(engine, ids) -> int:
    return min(r.id for r in list_sessions(engine, athlete_id=ids["athlete"]) if r.exercise == "deep_squat")


def shown_as_typed(markdown: str, typed: str) -> bool:
    """``typed`` is in ``markdown`` with every markup character escaped (other punctuation may be
    escaped too, which markdown draws as the character itself): Streamlit draws it as typed."""
    import re

    def char(c: str) -> str:
        if c in "\\`*_{}[]()#+-.!|~<>$:":
            return re.escape("\\" + c)
        return ("\\\\?" + re.escape(c)) if c.isascii() and not c.isalnum() and not c.isspace() else re.escape(c)

    return re.search("".join(char(c) for c in typed), markdown) is not None


@pytest.mark.parametrize("raw, said", [
    ("abc", "“abc” in the address is not a session number"),
    ("²", "“²” in the address is not a session number"),  # isdigit(), yet no int
    ("-3", "“-3” in the address is not a session number"),
    ("99999999999999999999999", "Session #99999999999999999999999 does not exist."),
])
def test_an_address_whose_id_names_no_session_says_so(seeded, raw, said):
    """A mistyped link: the page says the address names no session, rather than a traceback, a
    database's "int too large", or silently showing the newest session as if it were the one asked."""
    engine, _ = seeded
    at = run(as_trainer(engine, id=raw))
    assert any(e.value.startswith(said) for e in at.error), [e.value for e in at.error]


def test_split_with_sets_found_before_another_page_split_it(seeded):
    """The trainer looked for the sets of a two-exercise session; meanwhile it was split on another
    page (another tab, a colleague). Split into 2 sessions then says the session changed, makes no
    session, and offers to look for its sets again (it was an IndexError traceback)."""
    from conftest import uiprmd_set
    from physio_core.datasets.continuous import concatenate_reps
    from physio_core.pipeline import finish_sequence
    from physio_core.rescore import split_stored
    from physio_core.store import save_session_result

    engine, ids = seeded
    squats, _, _ = uiprmd_set([("deep_squat", 3, True)] * 6, rng=1)
    raises, _, _ = uiprmd_set([("standing_shoulder_abduction", 3, True)] * 7, rng=2)
    seq, _ = concatenate_reps([squats, raises], pause_s=(1.5, 1.5), rng=1)
    sid = save_session_result(engine, finish_sequence(seq, backend="embedded", smooth=False, source="live"),
                              ids["athlete"], ids["trainer"])
    at = run(as_trainer(engine, id=sid))
    button(at, "Look for sets").click()
    run(at)
    assert len(split_stored(engine, ids["trainer"], sid)) == 2  # the other page
    stored = {(r.id, r.rep_count, r.source) for r in list_sessions(engine, athlete_id=ids["athlete"])}
    button(at, "Split into 2 sessions").click()
    run(at)
    assert [e.value for e in at.error] == [
        f"session #{sid} has changed since its sets were looked for (split already?): look for its sets again"]
    assert {(r.id, r.rep_count, r.source) for r in list_sessions(engine, athlete_id=ids["athlete"])} == stored
    run(at)
    assert "Look for sets" in {b.label for b in at.button}


def test_notes_and_trainer_lines_are_shown_as_typed(seeded):
    """Notes and a trainer's line hold what physios type: "3*10, then 2*5", "$20 and $30", "<b>",
    emoji. Streamlit's markdown made "*10, then 2*" italics (the numbers shown were no longer the
    ones written) and "$20 and $" a formula; the line's time was a literal "<small>" tag."""
    from physio_core.store.access import add_feedback_as, set_notes_as

    engine, ids = seeded
    sid = squat_id(engine, ids)
    note = "Sets 3*10, then 2*5 at $20 and $30 <b>x</b> [a](b) # kept 😀"
    line = "knees in on 2*3 reps_left, $5"
    set_notes_as(engine, ids["trainer"], sid, note)
    add_feedback_as(engine, ids["trainer"], sid, line, rep_index=1)
    at = run(as_trainer(engine, id=sid))
    header = at.caption[0].value
    assert shown_as_typed(header, note), header
    lines = [m.value for m in at.markdown if m.value.startswith("- **Trainer (rep 1):**")]
    assert len(lines) == 1 and shown_as_typed(lines[0], line) and "<small>" not in lines[0], lines
    from physio_core.auth import login

    athlete = login(engine, "ana@clinic.org", SEED_PASSWORDS["athlete"])
    seen = AppTest.from_file(PAGE, default_timeout=240)
    seen.session_state["auth_token"] = athlete.token
    seen.session_state["user_id"] = athlete.user.id
    seen.session_state["user_role"] = athlete.user.role.value
    seen.query_params["id"] = str(sid)
    run(seen)
    assert any(i.value.startswith("Trainer notes: ") and shown_as_typed(i.value, note) for i in seen.info)
    assert get_session_detail(engine, sid).session.notes == note  # stored as typed


def split_squats_then_raises(engine, ids, started_at=None) -> list[int]:
    """A two-exercise live session (real UI-PRMD reps), stored and split into its two sets."""
    from conftest import uiprmd_set
    from physio_core.datasets.continuous import concatenate_reps
    from physio_core.pipeline import finish_sequence
    from physio_core.rescore import split_stored
    from physio_core.store import save_session_result

    squats, _, _ = uiprmd_set([("deep_squat", 3, True)] * 6, rng=1)
    raises, _, _ = uiprmd_set([("standing_shoulder_abduction", 3, True)] * 7, rng=2)
    seq, _ = concatenate_reps([squats, raises], pause_s=(1.5, 1.5), rng=1)
    result = finish_sequence(seq, backend="embedded", smooth=False, source="gym.mp4", started_at=started_at)
    sid = save_session_result(engine, result, ids["athlete"], ids["trainer"])
    return split_stored(engine, ids["trainer"], sid)


def test_redating_a_set_moves_the_recordings_other_sets_into_its_week(seeded):
    """A clip a messenger stripped of its date, split into two sets, is dated by its upload. The
    trainer re-dates set 1 to when it was filmed, eight days before: set 2 moves with it (same gap
    to set 1), so both land in that week and still point to each other; before, set 2 stayed in the
    upload's week and lost its link. Moving it where set 2 would land in the future changes nothing."""
    from datetime import UTC, datetime, timedelta

    engine, ids = seeded
    uploaded = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    first, second = split_squats_then_raises(engine, ids, started_at=uploaded)
    gap = get_session_detail(engine, second).session.started_at - get_session_detail(engine, first).session.started_at
    at = run(as_trainer(engine, id=first))
    at.date_input(key=f"filmed_day_{first}").set_value((uploaded - timedelta(days=8)).date())
    button(at, "Save date").click()
    run(at)
    assert at.success[0].value == (
        f"Session #{first} is now dated 2026-11-12 10:00; the recording's other set #{second} moved with it.")
    a, b = (get_session_detail(engine, i).session for i in (first, second))
    assert a.started_at == uploaded - timedelta(days=8) and b.started_at - a.started_at == gap
    there = run(as_trainer(engine, id=second))
    assert "Set 2 of 2 of gym.mp4; its other sets:" in [c.value for c in there.caption]

    # set 1 is earlier than set 2: set 2 dated the first minute of 2000 would put set 1 before it
    there.date_input(key=f"filmed_day_{second}").set_value(datetime(2000, 1, 1).date())
    there.time_input(key=f"filmed_time_{second}").set_value(datetime(2000, 1, 1).time())
    button(there, "Save date").click()
    run(there)
    assert [e.value for e in there.error] == [
        f"Session #{first}, another set of the recording, would then be dated 1999-12-31 23:59, "
        "in the future or before 2000: nothing was changed."]
    assert [get_session_detail(engine, i).session.started_at for i in (first, second)] == [a.started_at, b.started_at]


def test_opening_another_session_shows_its_own_notes_and_asks_its_own_deletion(seeded):
    """From session A (notes being edited, feedback typed, "Yes, delete" ticked) the trainer opens
    session B on the same page (Open session #B, a set's link, the picker). B's boxes held A's
    notes and line, so Save notes wrote A's notes over B's, and B's Delete session was enabled
    without B's own tick."""
    from physio_core.store.access import set_notes_as

    engine, ids = seeded
    a, b = sorted(r.id for r in list_sessions(engine, athlete_id=ids["athlete"]))[:2]
    set_notes_as(engine, ids["trainer"], a, "A: left knee sore")
    set_notes_as(engine, ids["trainer"], b, "B: pain-free today")
    at = run(as_trainer(engine, id=a))
    next(t for t in at.text_area if t.label == "Session notes").input("A: left knee sore, better")
    next(t for t in at.text_input if t.label == "Feedback for the athlete").input("for A only")
    next(c for c in at.checkbox if c.label == f"Yes, delete session #{a}").check()
    run(at)
    at.query_params["id"] = str(b)
    run(at)
    assert next(t for t in at.text_area if t.label == "Session notes").value == "B: pain-free today"
    assert next(t for t in at.text_input if t.label == "Feedback for the athlete").value == ""
    assert not next(c for c in at.checkbox if c.label == f"Yes, delete session #{b}").value
    assert button(at, "Delete session").disabled
    button(at, "Save notes").click()
    run(at)
    assert [get_session_detail(engine, i).session.notes for i in (a, b)] == ["A: left knee sore", "B: pain-free today"]
    assert not [f for f in get_session_detail(engine, b).feedback if f.kind.value == "trainer"]


def test_a_session_of_a_single_frame_opens(seeded):
    """A live session whose one frame came in before its page closed (or a one-frame video stored
    before such uploads were refused): Streamlit refuses a frame slider from 0 to 0, and the
    session's page was a traceback on every visit."""
    from conftest import build_uiprmd_session_result
    from physio_core.store import append_live_data, start_session

    engine, ids = seeded
    sid = start_session(engine, ids["athlete"], ids["trainer"], "deep_squat", backend="embedded", fps=25.0)
    append_live_data(engine, sid, pose=build_uiprmd_session_result().pose.slice(0, 1))
    at = run(as_trainer(engine, id=sid))
    assert f"#{sid} · " in at.subheader[0].value
    assert not [s for s in at.slider if s.label == "Frame"]  # nothing to scrub
