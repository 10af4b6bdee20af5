"""Passwords, logins that expire, sign-up and the first admin, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from physio_core import auth
from physio_core.store import Role, create_user, get_user_by_email, init_db, list_users
from physio_core.store.access import set_active_as
from physio_core.store.models import utcnow

ROOT = Path(__file__).resolve().parents[1]


def _scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def test_password_is_stored_as_argon2id_only(db_engine):
    user = auth.sign_up(db_engine, " Ana@Clinic.org ", "correct horse battery", "Ana")
    assert user.email == "ana@clinic.org" and user.role is Role.ATHLETE
    stored = _scalar(db_engine, "SELECT password_hash FROM users WHERE id = :i", i=user.id)
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    # same password, another user: a different salt, so a different hash
    other = auth.sign_up(db_engine, "ben@clinic.org", "correct horse battery", "Ben")
    assert _scalar(db_engine, "SELECT password_hash FROM users WHERE id = :i", i=other.id) != stored


def test_login_resolves_expires_and_logs_out(db_engine):
    user = auth.sign_up(db_engine, "ana@clinic.org", "correct horse battery", "Ana")
    assert auth.login(db_engine, "ana@clinic.org", "wrong password") is None
    assert auth.login(db_engine, "nobody@clinic.org", "correct horse battery") is None

    t0 = utcnow()
    session = auth.login(db_engine, "ANA@clinic.org", "correct horse battery",
                         ttl=timedelta(hours=2), now=t0)
    assert session is not None and session.user.id == user.id
    assert session.expires_at == t0 + timedelta(hours=2)
    assert auth.current_user(db_engine, session.token) == user
    # only a digest of the token is stored
    stored = _scalar(db_engine, "SELECT token_hash FROM auth_sessions WHERE user_id = :u", u=user.id)
    assert session.token not in stored and len(stored) == 64

    assert auth.current_user(db_engine, session.token, now=t0 + timedelta(hours=1, minutes=59)) == user
    assert auth.current_user(db_engine, session.token, now=t0 + timedelta(hours=2)) is None
    assert auth.current_user(db_engine, "forged-token") is None
    assert auth.current_user(db_engine, None) is None

    second = auth.login(db_engine, "ana@clinic.org", "correct horse battery")
    auth.logout(db_engine, session.token)
    assert auth.current_user(db_engine, session.token) is None
    assert auth.current_user(db_engine, second.token) == user  # the other login lives on
    assert auth.purge_expired(db_engine, now=utcnow() + timedelta(days=365)) == 1


def test_default_session_lifetime_comes_from_the_environment(db_engine, monkeypatch):
    auth.sign_up(db_engine, "ana@clinic.org", "correct horse battery", "Ana")
    monkeypatch.setenv("PHYSIO_SESSION_TTL_HOURS", "0.5")
    t0 = utcnow()
    session = auth.login(db_engine, "ana@clinic.org", "correct horse battery", now=t0)
    assert session.expires_at == t0 + timedelta(minutes=30)


def test_deactivated_user_is_logged_out(db_engine):
    admin = create_user(db_engine, "admin@clinic.org", "Admin", Role.ADMIN, "admin-password")
    user = auth.sign_up(db_engine, "ana@clinic.org", "correct horse battery", "Ana")
    session = auth.login(db_engine, "ana@clinic.org", "correct horse battery")
    set_active_as(db_engine, admin.id, user.id, False)
    assert auth.current_user(db_engine, session.token) is None
    assert auth.login(db_engine, "ana@clinic.org", "correct horse battery") is None


def test_sign_up_rules(db_engine, monkeypatch):
    with pytest.raises(auth.AuthError, match="at least 8"):
        auth.sign_up(db_engine, "ana@clinic.org", "short", "Ana")
    with pytest.raises(auth.AuthError, match="e-mail"):
        auth.sign_up(db_engine, "not-an-email", "correct horse battery", "Ana")
    with pytest.raises(auth.AuthError, match="name"):
        auth.sign_up(db_engine, "ana@clinic.org", "correct horse battery", "  ")
    auth.sign_up(db_engine, "ana@clinic.org", "correct horse battery", "Ana")
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.sign_up(db_engine, "Ana@Clinic.org", "another password", "Ana 2")
    monkeypatch.setenv("PHYSIO_ALLOW_SIGNUP", "false")
    with pytest.raises(auth.AuthError, match="closed"):
        auth.sign_up(db_engine, "ben@clinic.org", "correct horse battery", "Ben")
    assert [u.email for u in list_users(db_engine)] == ["ana@clinic.org"]


def test_change_password_ends_other_logins(db_engine):
    user = auth.sign_up(db_engine, "ana@clinic.org", "correct horse battery", "Ana")
    session = auth.login(db_engine, "ana@clinic.org", "correct horse battery")
    with pytest.raises(auth.AuthError, match="current password"):
        auth.change_password(db_engine, user.id, "wrong", "a new long password")
    with pytest.raises(auth.AuthError, match="at least 8"):
        auth.change_password(db_engine, user.id, "correct horse battery", "short")
    auth.change_password(db_engine, user.id, "correct horse battery", "a new long password")
    assert auth.current_user(db_engine, session.token) is None
    assert auth.login(db_engine, "ana@clinic.org", "correct horse battery") is None
    assert auth.login(db_engine, "ana@clinic.org", "a new long password") is not None


def test_first_admin_from_environment(db_engine, monkeypatch):
    monkeypatch.delenv("PHYSIO_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("PHYSIO_ADMIN_PASSWORD", raising=False)
    assert auth.ensure_admin_from_env(db_engine) is None  # nothing configured: nothing created
    assert not auth.has_admin(db_engine)

    monkeypatch.setenv("PHYSIO_ADMIN_EMAIL", "boss@clinic.org")
    monkeypatch.setenv("PHYSIO_ADMIN_PASSWORD", "boss-secret-password")
    admin = auth.ensure_admin_from_env(db_engine)
    assert admin is not None and admin.role is Role.ADMIN and admin.email == "boss@clinic.org"
    assert auth.login(db_engine, "boss@clinic.org", "boss-secret-password").user.id == admin.id
    # an admin exists: the variables are not used again (e.g. after the password was changed)
    monkeypatch.setenv("PHYSIO_ADMIN_EMAIL", "second@clinic.org")
    assert auth.ensure_admin_from_env(db_engine) is None
    assert get_user_by_email(db_engine, "second@clinic.org") is None

    monkeypatch.setenv("PHYSIO_ADMIN_PASSWORD", "short")
    with pytest.raises(auth.AuthError):
        auth.create_admin(db_engine, "third@clinic.org", "short")


def _cli(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHYSIO_ADMIN")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "physio_core.admin", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)


def test_cli_creates_admin_from_env_password_and_never_a_default(db_url):
    refused = _cli(["--database-url", db_url, "create-admin", "--email", "root@clinic.org"], {})
    assert refused.returncode != 0 and "PHYSIO_ADMIN_PASSWORD" in refused.stderr
    engine = init_db(db_url)
    assert get_user_by_email(engine, "root@clinic.org") is None

    ok = _cli(["--database-url", db_url, "create-admin", "--email", "root@clinic.org", "--name", "Root"],
              {"PHYSIO_ADMIN_PASSWORD": "a-real-long-password"})
    assert ok.returncode == 0, ok.stderr
    assert "created admin" in ok.stdout and "a-real-long-password" not in ok.stdout
    assert auth.login(engine, "root@clinic.org", "a-real-long-password").user.role is Role.ADMIN

    again = _cli(["--database-url", db_url, "create-admin", "--email", "root@clinic.org"],
                 {"PHYSIO_ADMIN_PASSWORD": "a-real-long-password"})
    assert again.returncode == 1 and "already exists" in again.stderr


def test_no_secrets_in_the_repository():
    example = ROOT / ".streamlit" / "secrets.toml.example"
    assert example.is_file()
    ignored = subprocess.run(["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=ROOT)
    assert ignored.returncode == 0, ".streamlit/secrets.toml must be git-ignored"
    # the example names the settings but holds no password value
    for line in example.read_text().splitlines():
        if "PASSWORD" in line and "=" in line and not line.lstrip().startswith("#"):
            value = line.split("=", 1)[1].strip().strip('"').strip("'")
            assert value == "", f"the example file must not hold a password: {line!r}"


def test_failed_logins_lock_the_email_for_a_while(db_engine):
    """Five wrong passwords: the sixth try is refused even with the right one, whatever the
    account; after the window it works again, and a success clears the count."""
    auth.sign_up(db_engine, "ana@clinic.org", "correct horse battery", "Ana")
    throttle = auth.LoginThrottle(max_failures=5, window=timedelta(minutes=15))
    t0 = utcnow()
    for k in range(5):
        assert auth.login(db_engine, "ana@clinic.org", f"guess {k}", now=t0, throttle=throttle) is None
    with pytest.raises(auth.TooManyLoginAttempts, match="try again in 15 minutes"):
        auth.login(db_engine, " Ana@Clinic.org ", "correct horse battery", now=t0, throttle=throttle)
    # an unknown e-mail is counted the same way (a refusal says nothing about the account)
    for _ in range(5):
        assert auth.login(db_engine, "nobody@clinic.org", "x", now=t0, throttle=throttle) is None
    with pytest.raises(auth.TooManyLoginAttempts):
        auth.login(db_engine, "nobody@clinic.org", "x", now=t0, throttle=throttle)

    later = t0 + timedelta(minutes=15, seconds=1)
    assert auth.login(db_engine, "ana@clinic.org", "correct horse battery", now=later,
                      throttle=throttle) is not None
    for k in range(4):  # the success cleared the count: four more failures are allowed
        assert auth.login(db_engine, "ana@clinic.org", f"again {k}", now=later, throttle=throttle) is None
    assert auth.login(db_engine, "ana@clinic.org", "correct horse battery", now=later,
                      throttle=throttle) is not None
