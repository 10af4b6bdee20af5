"""The Progress page under Streamlit's AppTest, on the seeded world of real UI-PRMD sessions
(SQLite): what it shows when the trainer goes from one athlete to another."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import SEED_PASSWORDS, build_uiprmd_session_result, seed_progress_world

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


@pytest.fixture
def seeded(app_db):
    return app_db, seed_progress_world(app_db)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def progress_of(at: AppTest, athlete_id: int) -> AppTest:
    """The Progress page of the athlete the sidebar picked (``athlete_picker`` sets this key; AppTest
    runs a switched-to page without the app shell, so the pick is set as the shell sets it)."""
    at.session_state["athlete_id"] = athlete_id
    return run(at)


def admin_on_progress() -> AppTest:
    at = run(AppTest.from_file(APP, default_timeout=240))
    at.text_input(key="login_email").input("admin@clinic.org")
    at.text_input(key="login_password").input(SEED_PASSWORDS["admin"])
    next(b for b in at.button if b.label == "Log in").click()
    run(at)
    at.switch_page("pages/progress.py")
    return at


def test_the_filters_start_afresh_for_each_athlete(seeded):
    """The Exercises box kept the athlete before's picks: from an athlete with deep squats only to
    one with hurdle steps only, the page said "Pick at least one exercise." and showed nothing;
    to one with both, it hid their hurdle steps and counted 6 sessions of 9."""
    from physio_core.store import get_or_create_athlete, save_session_result

    engine, ids = seeded
    stepper = get_or_create_athlete(engine, "Cy Stepper")
    when = datetime(2026, 10, 5, 9, tzinfo=UTC)
    save_session_result(engine, replace(build_uiprmd_session_result(movement=2, episodes=(1, 2)), started_at=when,
                                        ended_at=when + timedelta(seconds=30)), stepper.id)

    at = admin_on_progress()

    def shown() -> tuple[list[str], dict[str, str]]:
        return at.multiselect(key="progress_exercises").value, {m.label: m.value for m in at.metric}

    progress_of(at, ids["other_athlete"])  # one deep squat
    assert shown()[0] == ["deep_squat"] and shown()[1]["Sessions"] == "1"
    progress_of(at, stepper.id)  # one hurdle step
    assert not at.warning, [w.value for w in at.warning]
    assert shown()[0] == ["hurdle_step"] and shown()[1]["Sessions"] == "1"
    progress_of(at, ids["other_athlete"])
    progress_of(at, ids["athlete"])  # six deep squats and three hurdle steps
    assert shown()[0] == ["deep_squat", "hurdle_step"] and shown()[1]["Sessions"] == "9"
    assert "Ana Lopez" in at.caption[0].value

    # within one athlete's page the picks stay as the user left them
    at.multiselect(key="progress_exercises").set_value(["hurdle_step"])
    run(at)
    assert shown()[0] == ["hurdle_step"] and shown()[1]["Sessions"] == "3"
    run(at)
    assert shown()[0] == ["hurdle_step"] and shown()[1]["Sessions"] == "3"


def test_sessions_without_a_rep_say_so_instead_of_an_empty_chart(seeded):
    """An athlete whose sessions counted no rep (holds, movements the counter does not follow): the
    reps chart was an empty grid whose axis ran from -1 rep to 1."""
    from physio_core import progress
    from physio_core.store import get_or_create_athlete, save_session_result

    engine, ids = seeded
    holder = get_or_create_athlete(engine, "Hal Holder")
    for k in range(3):
        when = datetime(2026, 10, 5, 9, tzinfo=UTC) + timedelta(weeks=k)
        save_session_result(engine, replace(build_uiprmd_session_result(), reps=[], started_at=when,
                                            ended_at=when + timedelta(seconds=30)), holder.id)

    # the chart's axis from 0: never a negative count
    rows = progress.load_progress(engine, holder.id).rows
    assert progress.reps_figure(rows).layout.yaxis.rangemode == "nonnegative"

    at = admin_on_progress()
    progress_of(at, holder.id)
    assert {m.label: m.value for m in at.metric}["Reps"] == "0"
    assert progress.NO_REPS in [c.value for c in at.caption]
    def reps_chart_drawn() -> bool:
        return any("progress_reps" in c.proto.id for c in at.get("plotly_chart"))

    assert not reps_chart_drawn()
    progress_of(at, ids["athlete"])  # with a rep somewhere the chart is drawn
    assert progress.NO_REPS not in [c.value for c in at.caption] and reps_chart_drawn()
