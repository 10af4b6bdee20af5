"""Odd and hostile inputs to logins, accounts and administration: a password reset while the
account is logged in, a password without an e-mail, a NUL in an e-mail, guessing the current
password on an open page, names holding markdown or typed differently at the deletion prompt."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from physio_core import auth
from physio_core.store import Role, create_user, get_user, list_users
from physio_core.store import access
from physio_core.store.models import utcnow

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"


@pytest.fixture
def engine(app_db):
    return app_db


def page(name: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=120)
    for k, v in state.items():
        at.session_state[k] = v
    return run(at)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(markdown: str) -> str:
    """What a reader sees of a markdown text (CommonMark, as Streamlit renders it): its text,
    and whether it holds a link or emphasis."""
    tokens = [t for block in MarkdownIt().parse(markdown) for t in (block.children or [])]
    return "".join(t.content for t in tokens if t.type in ("text", "code_inline")) + "".join(
        f" <{t.type}>" for t in tokens if t.type in ("link_open", "em_open"))


# ------------------------------------------------------------------ passwords and logins


def test_a_password_set_by_an_admin_ends_the_logins_made_with_the_old_one(db_url, db_engine, monkeypatch):
    """An admin resets a leaked password: whoever is logged in with the old one is out (before,
    every open login, the thief's too, went on until it expired: 12 hours)."""
    from physio_core.admin import main as admin_cli

    admin = create_user(db_engine, "boss@clinic.org", "Boss", Role.ADMIN, PASSWORD)
    ana = create_user(db_engine, "ana@clinic.org", "Ana", Role.ATHLETE, "ana-password-1")
    thief = auth.login(db_engine, "ana@clinic.org", "ana-password-1").token
    access.set_login_as(db_engine, admin.id, ana.id, " ANA@clinic.org ", "ana-password-2")
    assert auth.current_user(db_engine, thief) is None
    assert auth.login(db_engine, "ana@clinic.org", "ana-password-1") is None

    thief = auth.login(db_engine, "ana@clinic.org", "ana-password-2").token
    access.set_password_as(db_engine, admin.id, ana.id, "ana-password-3")
    assert auth.current_user(db_engine, thief) is None

    thief = auth.login(db_engine, "ana@clinic.org", "ana-password-3").token
    boss = auth.login(db_engine, "boss@clinic.org", PASSWORD).token
    monkeypatch.setenv("PHYSIO_ADMIN_PASSWORD", "ana-password-4")
    assert admin_cli(["--database-url", db_url, "set-password", "--email", "Ana@Clinic.org"]) == 0
    assert auth.current_user(db_engine, thief) is None
    assert auth.current_user(db_engine, boss).id == admin.id  # nobody else's login
    assert auth.login(db_engine, "ana@clinic.org", "ana-password-4") is not None


def test_a_nul_in_the_email_is_a_wrong_login_not_a_database_error(db_engine):
    """PostgreSQL refuses a NUL in a query: the login page showed its DataError, with the SQL,
    to anyone, and sign-up and the admin's forms the same."""
    create_user(db_engine, "ana@clinic.org", "Ana", Role.ATHLETE, PASSWORD)
    throttle = auth.LoginThrottle(max_failures=2, window=timedelta(minutes=15))
    now = utcnow()
    assert auth.login(db_engine, "ana@clinic.org\x00", PASSWORD, now=now, throttle=throttle) is None
    assert auth.login(db_engine, "ana@clinic.org\x00", PASSWORD, now=now, throttle=throttle) is None
    with pytest.raises(auth.TooManyLoginAttempts):  # counted like any other wrong login
        auth.login(db_engine, "ana@clinic.org\x00", PASSWORD, now=now, throttle=throttle)
    with pytest.raises(auth.AuthError, match="valid e-mail"):
        auth.sign_up(db_engine, "ben\x00@clinic.org", PASSWORD, "Ben")
    assert auth.login(db_engine, "ana@clinic.org", PASSWORD, now=now, throttle=throttle) is not None
    # a NUL in a name: refused on both databases alike, with a message (SQLite kept it)
    admin = create_user(db_engine, "boss@clinic.org", "Boss", Role.ADMIN, PASSWORD)
    with pytest.raises(auth.AuthError, match="control characters"):
        auth.sign_up(db_engine, "ben@clinic.org", PASSWORD, "Ben\x00")
    with pytest.raises(ValueError, match="control characters"):
        access.create_user_as(db_engine, admin.id, None, "Ben\x00", Role.ATHLETE)
    with pytest.raises(ValueError, match="control characters"):
        access.add_athlete_as(db_engine, admin.id, "Ben\x00")
    assert [u.display_name for u in list_users(db_engine)] == ["Ana", "Boss"]


def test_the_current_password_cannot_be_guessed_on_an_open_page(db_engine):
    """Change password asks the current one: wrong answers count as failed logins of the
    account's e-mail (before, an unattended open page could try passwords without end), and
    the new one must differ from it."""
    ana = create_user(db_engine, "ana@clinic.org", "Ana", Role.ATHLETE, PASSWORD)
    throttle = auth.LoginThrottle(max_failures=3, window=timedelta(minutes=15))
    now = utcnow()
    with pytest.raises(auth.AuthError, match="the new password is the current one"):
        auth.change_password(db_engine, ana.id, PASSWORD, PASSWORD, now=now, throttle=throttle)
    for k in range(3):
        with pytest.raises(auth.AuthError, match="the current password is not right"):
            auth.change_password(db_engine, ana.id, f"guess {k}", "a new password", now=now, throttle=throttle)
    with pytest.raises(auth.TooManyLoginAttempts, match="try again in 15 minutes"):
        auth.change_password(db_engine, ana.id, PASSWORD, "a new password", now=now, throttle=throttle)
    with pytest.raises(auth.TooManyLoginAttempts):  # the same count as the login form's
        auth.login(db_engine, " Ana@Clinic.org", PASSWORD, now=now, throttle=throttle)
    later = now + timedelta(minutes=16)
    auth.change_password(db_engine, ana.id, PASSWORD, "a new password", now=later, throttle=throttle)
    assert auth.login(db_engine, "ana@clinic.org", "a new password", now=later, throttle=throttle)


def test_emails_and_passwords_that_differ_only_in_form(db_engine):
    """Case and spaces around an e-mail name one account; long and non-Latin passwords work."""
    auth.sign_up(db_engine, " Ana@Clinic.ORG ", "pässwörd🔒 " * 2000, "Ana")
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.sign_up(db_engine, "ANA@clinic.org", PASSWORD, "Another Ana")
    assert auth.login(db_engine, "ana@clinic.org", "pässwörd🔒 " * 2000) is not None
    assert auth.login(db_engine, "ana@clinic.org", "PÄSSWÖRD🔒 " * 2000) is None
    with pytest.raises(auth.AuthError, match="at least 8"):
        auth.sign_up(db_engine, "ben@clinic.org", "🔒🔒🔒", "Ben")
    admin = create_user(db_engine, "boss@clinic.org", "Boss", Role.ADMIN, PASSWORD)
    with pytest.raises(ValueError, match="already exists"):
        access.create_user_as(db_engine, admin.id, " ANA@CLINIC.org", "Ana again", Role.TRAINER, PASSWORD)


def test_a_password_without_an_email_is_refused(db_engine):
    """The admin's form took a password with no e-mail (or an e-mail such as "bob"): the list
    said the account could log in, and nobody could."""
    admin = create_user(db_engine, "boss@clinic.org", "Boss", Role.ADMIN, PASSWORD)
    for email in (None, "   "):
        with pytest.raises(ValueError, match="a password needs an e-mail"):
            access.create_user_as(db_engine, admin.id, email, "No Mail", Role.TRAINER, PASSWORD)
    for email in ("bob", "bob@clinic", "bo b@clinic.org"):
        with pytest.raises(ValueError, match="valid e-mail"):
            access.create_user_as(db_engine, admin.id, email, "Bob", Role.TRAINER, PASSWORD)
        with pytest.raises(ValueError, match="valid e-mail"):
            access.set_login_as(db_engine, admin.id, admin.id, email, PASSWORD)
    assert [u.display_name for u in list_users(db_engine, include_inactive=True)] == ["Boss"]
    walk_in = access.create_user_as(db_engine, admin.id, "  ", "Walk-in", Role.ATHLETE)  # no login: fine
    assert (walk_in.email, walk_in.has_login) == (None, False)


# ------------------------------------------------------------------ the pages


def test_the_admin_form_refuses_a_password_without_an_email_and_keeps_what_was_typed(engine):
    admin = create_user(engine, "boss@clinic.org", "Boss", Role.ADMIN, PASSWORD)
    at = page("admin.py", auth_token=auth.login(engine, "boss@clinic.org", PASSWORD).token)
    at.text_input(key="new_user_name").input("New Coach")
    at.selectbox(key="new_user_role").set_value("trainer")
    at.text_input(key="new_user_pw").input("coach-password-1")
    next(b for b in at.button if b.label == "Create user").click()
    run(at)
    assert [e.value for e in at.error] == [
        "a password needs an e-mail to log in with: give one, or leave the password empty"]
    assert [u.id for u in list_users(engine, include_inactive=True)] == [admin.id]
    # nothing typed is lost: the e-mail is added and the form sent again
    assert at.text_input(key="new_user_name").value == "New Coach"
    at.text_input(key="new_user_email").input("coach@clinic.org")
    next(b for b in at.button if b.label == "Create user").click()
    run(at)
    assert not at.error and [s.value for s in at.success] == ["User New Coach created."]
    assert auth.login(engine, "coach@clinic.org", "coach-password-1").user.role is Role.TRAINER
    assert at.text_input(key="new_user_name").value == ""  # created: the form is empty again


def test_an_admin_who_resets_their_own_password_is_asked_to_log_in_again(engine):
    admin = create_user(engine, "boss@clinic.org", "Boss", Role.ADMIN, PASSWORD)
    at = page("admin.py", auth_token=auth.login(engine, "boss@clinic.org", PASSWORD).token)
    at.selectbox(key="admin_user").set_value(admin.id)
    run(at)
    form_pw = next(t for t in at.text_input if t.label == "New password")
    form_pw.input("a new boss password")
    next(b for b in at.button if b.label == "Save login").click()
    run(at)
    assert [w.value for w in at.warning] == ["Please log in first."]
    assert at.session_state["auth_notice"] == "Login saved. Please log in with the new password."
    assert "auth_token" not in at.session_state
    assert auth.login(engine, "boss@clinic.org", "a new boss password").user.id == admin.id


def test_an_athlete_is_deleted_by_the_name_the_page_shows(engine):
    """The deletion prompt names the athlete in markdown: "Jo_Anne  *Smith*" read as "Jo_Anne
    Smith" in italics with one space, and typing that (or the name in other case, or an accent
    typed another way) never matched, so the athlete could not be deleted."""
    create_user(engine, "boss@clinic.org", "Boss", Role.ADMIN, PASSWORD)
    odd = create_user(engine, None, "Jo_Anne  *Smith*", Role.ATHLETE)
    nfd = create_user(engine, None, unicodedata.normalize("NFD", "José Núñez"), Role.ATHLETE)
    keep = create_user(engine, None, "Jo Anne Smith", Role.ATHLETE)
    at = page("admin.py", auth_token=auth.login(engine, "boss@clinic.org", PASSWORD).token)
    at.selectbox(key="delete_athlete_pick").set_value(odd.id)
    run(at)
    confirm = at.text_input(key="delete_athlete_confirm")
    assert shown(confirm.label) == "Type Jo_Anne *Smith* to confirm"
    assert any(shown(w.value).startswith("Deleting Jo_Anne *Smith* removes") for w in at.warning)
    for wrong in ("Jo Anne Smith", "JoAnneSmith", ""):
        at.text_input(key="delete_athlete_confirm").input(wrong)
        run(at)
        assert at.button(key="delete_athlete_button").disabled, wrong
    at.text_input(key="delete_athlete_confirm").input(" jo_anne *SMITH* ")
    run(at)
    at.button(key="delete_athlete_button").click()
    run(at)
    assert [shown(s.value) for s in at.success] == ["Jo_Anne *Smith* and all their data were deleted."]
    assert get_user(engine, odd.id) is None and get_user(engine, keep.id) is not None

    at = page("admin.py", auth_token=at.session_state["auth_token"])  # a page as it opens after the rerun
    at.selectbox(key="delete_athlete_pick").set_value(nfd.id)
    run(at)
    at.text_input(key="delete_athlete_confirm").input(unicodedata.normalize("NFC", "josé núñez"))
    run(at)
    at.button(key="delete_athlete_button").click()
    run(at)
    assert get_user(engine, nfd.id) is None and get_user(engine, keep.id) is not None


def test_markdown_in_a_name_is_shown_as_typed(engine):
    """A name is no link nor markup on the account page (a self sign-up picks its own name)."""
    name = "[Reset your password](https://evil.example) **now**"
    auth.sign_up(engine, "ana@clinic.org", PASSWORD, name)
    at = page("account.py", auth_token=auth.login(engine, "ana@clinic.org", PASSWORD).token)
    who = next(m.value for m in at.markdown if "**Role:**" in m.value)
    assert shown(who).startswith(f"Name: {name}Role: Athlete")
    assert "<link_open>" not in shown(who)


def test_the_account_page_stops_guessing_the_current_password(engine):
    from physio_core.store.repo import authenticate

    create_user(engine, "ana@clinic.org", "Ana", Role.ATHLETE, PASSWORD)
    at = page("account.py", auth_token=auth.login(engine, "ana@clinic.org", PASSWORD).token)

    def change(old: str, new: str) -> list[str]:
        for box, text in zip(at.text_input[:3], (old, new, new)):
            box.input(text)
        next(b for b in at.button if b.label == "Change password").click()
        return [e.value for e in run(at).error]

    assert change(PASSWORD, PASSWORD) == ["the new password is the current one: choose another"]
    for k in range(5):  # PHYSIO_LOGIN_MAX_FAILURES
        assert change(f"guess {k}", "a new password") == ["the current password is not right"]
    [refused] = change(PASSWORD, "a new password")
    assert refused.startswith("Too many failed logins for this e-mail: try again in ")
    assert authenticate(engine, "ana@clinic.org", PASSWORD) is not None  # unchanged
    assert "auth_token" in at.session_state  # still logged in: the page says why, nothing else


@pytest.mark.parametrize("var, value", [("PHYSIO_LOGIN_MAX_FAILURES", "0"), ("PHYSIO_LOGIN_MAX_FAILURES", "-3"),
                                        ("PHYSIO_LOGIN_WINDOW_MINUTES", "0"), ("PHYSIO_SESSION_TTL_HOURS", "-1")])
def test_login_settings_that_cannot_work_are_named_at_the_start(engine, monkeypatch, var, value):
    """PHYSIO_LOGIN_MAX_FAILURES=0 (meant as "off") made every login a traceback (IndexError),
    a window of 0 counted no failure, a lifetime below 0 logged everyone out at once: the app
    now stops at the start and names the setting, as for its other settings."""
    from physio_core.config import ConfigError

    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=var):
        auth.auth_settings()
    at = run(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120))
    [error] = [e.value for e in at.error]
    assert error.startswith("PhysioTrack cannot start: a setting is wrong.") and var in error
