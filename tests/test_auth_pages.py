"""Login, sign-up, account and administration pages under Streamlit's AppTest (SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from physio_core.store import (
    Role,
    create_user,
    dispose_engines,
    get_or_create_athlete,
    get_session_detail,
    get_user,
    init_db,
    list_sessions,
)

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"


@pytest.fixture
def engine(app_db):
    return app_db


def page(name: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=120)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def log_in(at: AppTest, email: str, password: str) -> AppTest:
    at.text_input(key="login_email").input(email)
    at.text_input(key="login_password").input(password)
    next(b for b in at.button if b.label == "Log in").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_login_page_logs_in_and_refuses_wrong_passwords(engine):
    coach = create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, PASSWORD)
    at = page("login.py")
    assert at.title[0].value == "PhysioTrack"
    assert any("No administrator exists yet" in w.value for w in at.warning)

    log_in(at, "coach@clinic.org", "not the password")
    assert [e.value for e in at.error] == ["Wrong e-mail or password."]
    assert "auth_token" not in at.session_state

    log_in(at, "Coach@Clinic.org", PASSWORD)
    assert not at.error
    assert at.session_state["user_id"] == coach.id and at.session_state["user_role"] == "trainer"
    from physio_core.auth import current_user

    assert current_user(engine, at.session_state["auth_token"]).id == coach.id


def test_login_page_refuses_an_email_after_too_many_failures(engine):
    create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, PASSWORD)
    at = page("login.py")
    for k in range(5):
        log_in(at, "coach@clinic.org", f"guess {k}")
        assert [e.value for e in at.error] == ["Wrong e-mail or password."]
    log_in(at, "coach@clinic.org", PASSWORD)
    assert len(at.error) == 1 and at.error[0].value.startswith("Too many failed logins")
    assert "auth_token" not in at.session_state


def test_sign_up_creates_an_athlete_and_logs_in(engine):
    at = page("login.py")
    at.text_input(key="signup_name").input("Ana Lopez")
    at.text_input(key="signup_email").input("ana@clinic.org")
    at.text_input(key="signup_password").input("short")
    at.text_input(key="signup_password2").input("short")
    next(b for b in at.button if b.label == "Create my account").click()
    at.run()
    assert any("at least 8" in e.value for e in at.error)

    at.text_input(key="signup_password").input(PASSWORD)
    at.text_input(key="signup_password2").input(PASSWORD)
    next(b for b in at.button if b.label == "Create my account").click()
    at.run()
    assert not at.exception and not at.error
    user = get_user(engine, at.session_state["user_id"])
    assert (user.email, user.role) == ("ana@clinic.org", Role.ATHLETE)


def test_sign_up_tab_is_gone_when_closed(engine, monkeypatch):
    monkeypatch.setenv("PHYSIO_ALLOW_SIGNUP", "false")
    at = page("login.py")
    assert [t.label for t in at.tabs] == ["Log in"]


def test_first_admin_comes_from_the_environment(engine, monkeypatch):
    monkeypatch.setenv("PHYSIO_ADMIN_EMAIL", "boss@clinic.org")
    monkeypatch.setenv("PHYSIO_ADMIN_PASSWORD", "boss-secret-password")
    at = page("login.py")
    assert not any("No administrator" in w.value for w in at.warning)
    log_in(at, "boss@clinic.org", "boss-secret-password")
    assert at.session_state["user_role"] == "admin"


def test_expired_login_is_cleared(engine):
    from datetime import timedelta

    from physio_core.auth import login

    create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, PASSWORD)
    expired = login(engine, "coach@clinic.org", PASSWORD, ttl=timedelta(seconds=-1))
    at = page("account.py", auth_token=expired.token)
    assert [w.value for w in at.warning] == ["Please log in first."]
    assert "auth_token" not in at.session_state and "user_id" not in at.session_state


def test_account_page_changes_the_password_and_logs_out(engine):
    from physio_core.auth import login

    create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, PASSWORD)
    at = page("account.py", auth_token=login(engine, "coach@clinic.org", PASSWORD).token)
    who = next(m.value for m in at.markdown if "**Role:**" in m.value)
    assert "**Role:** Trainer" in who and "`coach@clinic.org`" in who  # a code span is never a mailto link
    inputs = at.text_input
    inputs[0].input(PASSWORD)
    inputs[1].input("a brand new password")
    inputs[2].input("a brand new password")
    next(b for b in at.button if b.label == "Change password").click()
    at.run()
    assert "auth_token" not in at.session_state
    assert login(engine, "coach@clinic.org", PASSWORD) is None
    assert login(engine, "coach@clinic.org", "a brand new password") is not None


def test_admin_page_refuses_athletes(engine):
    from physio_core.auth import login

    create_user(engine, "ana@clinic.org", "Ana", Role.ATHLETE, PASSWORD)
    at = page("admin.py", auth_token=login(engine, "ana@clinic.org", PASSWORD).token)
    assert [e.value for e in at.error] == ["Your account may not open this page."]
    assert not at.dataframe


def test_admin_creates_a_trainer_and_deletes_an_athlete_after_confirmation(engine, make_uiprmd_session_result):
    from physio_core.auth import login
    from physio_core.store import save_session_result

    admin = create_user(engine, "admin@clinic.org", "Admin", Role.ADMIN, PASSWORD)
    leaving = get_or_create_athlete(engine, "Leaving Athlete")
    sid = save_session_result(engine, make_uiprmd_session_result(episodes=(1,)), leaving.id)
    at = page("admin.py", auth_token=login(engine, "admin@clinic.org", PASSWORD).token)
    assert at.title[0].value == "Administration"

    # create a trainer through the form
    form_inputs = [t for t in at.text_input if t.label in ("Name", "E-mail (for a login)")]
    form_inputs[0].input("New Coach")
    form_inputs[1].input("newcoach@clinic.org")
    next(t for t in at.text_input if t.label.startswith("Password (8+")).input("coach-password-1")
    next(s for s in at.selectbox if s.label == "Role").set_value("trainer")
    next(b for b in at.button if b.label == "Create user").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["User New Coach created."]
    assert login(engine, "newcoach@clinic.org", "coach-password-1").user.role is Role.TRAINER

    # deleting names nobody until an athlete is picked, then asks for their name
    assert at.selectbox(key="delete_athlete_pick").value is None
    assert not at.warning and not [b for b in at.button if b.key == "delete_athlete_button"]
    at.selectbox(key="delete_athlete_pick").set_value(leaving.id)
    at.run()
    button = at.button(key="delete_athlete_button")
    assert button.disabled
    assert any("1 session(s)" in w.value for w in at.warning)
    # their data can be taken first, in the file their progress page gives
    offered = [d for d in at.get("download_button") if d.proto.label == "Their data first (ZIP)"]
    assert len(offered) == 1
    at.text_input(key="delete_athlete_confirm").input("Leaving Athlet")  # a typo: still refused
    at.run()
    assert at.button(key="delete_athlete_button").disabled
    at.text_input(key="delete_athlete_confirm").input("Leaving Athlete")
    at.run()
    at.button(key="delete_athlete_button").click()
    at.run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Leaving Athlete and all their data were deleted."]
    assert get_user(engine, leaving.id) is None
    assert [r.id for r in list_sessions(engine)] == []
    assert get_user(engine, admin.id) is not None and get_session_detail(engine, sid) is None


def test_trainer_sees_only_their_athletes_on_the_manage_page(engine):
    from physio_core.auth import login
    from physio_core.store.access import set_condition

    coach = create_user(engine, "coach@clinic.org", "Coach", Role.TRAINER, PASSWORD)
    mine = get_or_create_athlete(engine, "Mine", coach.id)
    get_or_create_athlete(engine, "Not Mine")
    set_condition(engine, coach.id, mine.id, "Ankle sprain, left", datetime.now(UTC).date() - timedelta(days=15))
    at = page("admin.py", auth_token=login(engine, "coach@clinic.org", PASSWORD).token)
    assert at.title[0].value == "My athletes"
    glance = at.dataframe[0].value  # training at a glance: no session yet
    assert glance["athlete"].tolist() == ["Mine"] and glance["sessions"].tolist() == [0]
    assert glance[["condition", "weeks since"]].values.tolist() == [["Ankle sprain, left", 2]]
    assert glance["limb symmetry (%)"].isna().all()  # no affected side said, nor a session
    assert at.selectbox(key="delete_athlete_pick").options == ["Mine"]
    assert at.selectbox(key="delete_athlete_pick").value is None  # nobody preselected
    at.selectbox(key="delete_athlete_pick").set_value(mine.id)
    at.run()
    assert any("Deleting **Mine**" in w.value and "0 session(s)" in w.value for w in at.warning)


def test_login_page_says_clearly_when_the_database_is_away(engine, monkeypatch):
    from physio_core.config import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/physio")  # nothing there
    get_settings.cache_clear()
    at = page("login.py")
    assert any("cannot be reached" in e.value and "127.0.0.1:1" in e.value for e in at.error)
    assert not at.text_input  # no form that could not work


def test_login_page_says_a_newer_version_set_the_database_up(engine, tmp_path, monkeypatch):
    """An older app started on a database a newer one migrated: the page says which, and what
    to do, not that the database cannot be reached (the reason it gave before)."""
    import sqlalchemy as sa

    from physio_core.config import get_settings
    from physio_core.store import make_engine

    url = f"sqlite:///{tmp_path / 'newer.db'}"
    init_db(url)
    dispose_engines(url)
    newer = make_engine(url)
    with newer.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d0013'"))
    newer.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    at = page("login.py")
    [error] = [e.value for e in at.error]
    assert "was set up by a newer version of PhysioTrack" in error and "f00d0013" in error
    assert error.endswith("or set DATABASE_URL to another database.") and "cannot be reached" not in error
    # nothing can be analysed before logging in: the login page does not say analyses go on
    assert "Analyses still work" not in error
    assert not at.text_input
