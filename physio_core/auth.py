"""Logins: e-mail + password (Argon2id through argon2-cffi), bearer tokens that expire, sign-up,
and the first administrator.

A login hands out a random token (``secrets.token_urlsafe``); the database keeps only its SHA-256
(``auth_sessions``), with an absolute expiry. The app keeps the token in ``st.session_state`` and
resolves it to the user on every rerun with ``current_user``.

There is no default password anywhere: the first admin comes from ``PHYSIO_ADMIN_EMAIL`` +
``PHYSIO_ADMIN_PASSWORD`` (``ensure_admin_from_env``, called by the app at start-up, only while no
admin exists) or from ``python -m physio_core.admin create-admin --email ...``.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from physio_core.config import read_settings
from physio_core.store import repo
from physio_core.store.access import check_email, check_password_strength
from physio_core.store.db import run_read, run_write
from physio_core.store.models import AuthSession, Role, User, utcnow
from physio_core.store.repo import UserOut

class AuthSettings(BaseSettings):
    """Environment variables (or root-level keys of ``.streamlit/secrets.toml``, which Streamlit
    copies into the environment)."""

    model_config = SettingsConfigDict(env_prefix="PHYSIO_", env_file=".env", extra="ignore")

    session_ttl_hours: float = Field(default=12.0, gt=0)
    allow_signup: bool = True  # self sign-up creates athlete accounts
    admin_email: str | None = None
    admin_password: SecretStr | None = None
    admin_name: str = "Administrator"
    # failed logins of one e-mail within the window after which it is refused for the window
    # (at least 1, over a window longer than 0: the app stops at the start on others)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: float = Field(default=15.0, gt=0)


def auth_settings() -> AuthSettings:
    """The login settings from the environment; ConfigError names a value that cannot be used."""
    return read_settings(AuthSettings)


class AuthError(ValueError):
    """A sign-up or password change that cannot be done; ``str(err)`` is fit to show a user."""


class TooManyLoginAttempts(AuthError):
    """Too many failed logins for this e-mail: refused without checking the password."""


@dataclass
class LoginThrottle:
    """Failed logins per (database, e-mail), kept in this process's memory.

    After ``max_failures`` failures within ``window``, that e-mail is refused until the oldest of
    them is ``window`` old, so a password cannot be guessed at the speed of the server. Unknown
    e-mails are counted too, so a refusal does not tell whether an account exists. A successful
    login clears the count. Each server process counts on its own (Streamlit runs one)."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    _failures: dict[tuple[str, str], list[datetime]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _recent(self, key: tuple[str, str], now: datetime) -> list[datetime]:
        recent = [t for t in self._failures.get(key, []) if now - t < self.window]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return recent

    def retry_after(self, key: tuple[str, str], now: datetime) -> timedelta | None:
        """How long this e-mail is still refused, or None."""
        with self._lock:
            recent = self._recent(key, now)
            if len(recent) < self.max_failures:
                return None
            return recent[-self.max_failures] + self.window - now

    def failed(self, key: tuple[str, str], now: datetime) -> None:
        with self._lock:
            if len(self._failures) > 10_000:  # many e-mails tried: forget the stale ones
                for k in list(self._failures):
                    self._recent(k, now)
            self._failures.setdefault(key, []).append(now)

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)


_throttle: LoginThrottle | None = None


def login_throttle() -> LoginThrottle:
    """The process's throttle, sized by ``PHYSIO_LOGIN_MAX_FAILURES`` / ``_WINDOW_MINUTES``."""
    global _throttle
    if _throttle is None:
        cfg = auth_settings()
        _throttle = LoginThrottle(cfg.login_max_failures,
                                  timedelta(minutes=cfg.login_window_minutes))
    return _throttle


@dataclass(frozen=True)
class LoginSession:
    token: str  # give it to the client; it is not stored anywhere server-side
    user: UserOut
    expires_at: datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def validate_email(email: str) -> str:
    try:
        return check_email(email)
    except ValueError as err:
        raise AuthError(str(err)) from err


def _throttle_key(engine: Engine, email: str | None) -> tuple[str, str]:
    return engine.url.render_as_string(hide_password=True), (email or "").strip().lower()


def _refuse_if_throttled(throttle: LoginThrottle, key: tuple[str, str], now: datetime) -> None:
    wait = throttle.retry_after(key, now)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        raise TooManyLoginAttempts(f"Too many failed logins for this e-mail: try again in "
                                   f"{minutes} minute{'s' if minutes > 1 else ''}.")


# ------------------------------------------------------------------ login sessions


def login(
    engine: Engine,
    email: str,
    password: str,
    *,
    ttl: timedelta | None = None,
    now: datetime | None = None,
    throttle: LoginThrottle | None = None,
) -> LoginSession | None:
    """Check the password and open a login session, or None (wrong e-mail, password, or an
    inactive account: the caller shows the same message for all three).

    Raises TooManyLoginAttempts after too many failures for this e-mail (``login_throttle``)."""
    now = now or utcnow()
    throttle = throttle or login_throttle()
    key = _throttle_key(engine, email)
    _refuse_if_throttled(throttle, key, now)
    # an e-mail no account can have is not looked up: PostgreSQL refuses a NUL in a query
    user = repo.authenticate(engine, email, password or "") if "\x00" not in key[1] else None
    if user is None:
        throttle.failed(key, now)
        return None
    throttle.succeeded(key)
    expires = now + (ttl if ttl is not None else timedelta(hours=auth_settings().session_ttl_hours))
    token = secrets.token_urlsafe(32)

    def fn(s: Session) -> None:
        s.add(AuthSession(token_hash=_token_hash(token), user_id=user.id, created_at=now,
                          expires_at=expires))

    run_write(engine, fn)
    return LoginSession(token=token, user=user, expires_at=expires)


def current_user(engine: Engine, token: str | None, *, now: datetime | None = None) -> UserOut | None:
    """The active user a token belongs to, or None if it is unknown, expired or logged out."""
    if not token:
        return None
    now = now or utcnow()
    q = (
        select(User)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(AuthSession.token_hash == _token_hash(token), AuthSession.expires_at > now,
               User.is_active == sa.true())
    )
    return run_read(engine, lambda s: (u := s.exec(q).first()) and repo._user_out(u))


def logout(engine: Engine, token: str | None) -> None:
    if token:
        run_write(engine, lambda s: s.execute(
            sa.delete(AuthSession).where(AuthSession.token_hash == _token_hash(token))))


def logout_everywhere(engine: Engine, user_id: int) -> int:
    """End every login of a user (after a password change); returns how many there were."""
    return run_write(engine, lambda s: repo.end_logins(s, user_id))


def purge_expired(engine: Engine, *, now: datetime | None = None) -> int:
    now = now or utcnow()
    return run_write(engine, lambda s: s.execute(
        sa.delete(AuthSession).where(AuthSession.expires_at <= now)).rowcount)


# ------------------------------------------------------------------ accounts


def sign_up(engine: Engine, email: str, password: str, display_name: str) -> UserOut:
    """Self sign-up: always an athlete account (trainers and admins are made by an admin)."""
    if not auth_settings().allow_signup:
        raise AuthError("sign-up is closed here: ask an administrator for an account")
    email = validate_email(email)
    if not display_name.strip():
        raise AuthError("please enter your name")
    try:
        check_password_strength(password)
        return repo.create_user(engine, email, display_name, Role.ATHLETE, password)
    except ValueError as err:
        raise AuthError(str(err)) from err


def change_password(engine: Engine, user_id: int, old_password: str, new_password: str, *,
                    now: datetime | None = None, throttle: LoginThrottle | None = None) -> None:
    """Change one's own password (the old one is asked again); ends the user's other logins.

    A wrong current password counts as a failed login of the account's e-mail (``login``), so
    an open page left unattended cannot be used to guess it; TooManyLoginAttempts after too many."""
    now = now or utcnow()
    throttle = throttle or login_throttle()
    user = repo.get_user(engine, user_id)
    if user is None or user.email is None:
        raise AuthError("the current password is not right")
    key = _throttle_key(engine, user.email)
    _refuse_if_throttled(throttle, key, now)
    if repo.authenticate(engine, user.email, old_password or "") is None:
        throttle.failed(key, now)
        raise AuthError("the current password is not right")
    throttle.succeeded(key)
    if new_password == old_password:
        raise AuthError("the new password is the current one: choose another")
    try:
        check_password_strength(new_password)
    except ValueError as err:
        raise AuthError(str(err)) from err
    repo.set_password(engine, user_id, new_password)  # which ends every login, in its transaction


def has_admin(engine: Engine) -> bool:
    q = select(User.id).where(User.role == Role.ADMIN.value, User.is_active == sa.true())
    return run_read(engine, lambda s: s.exec(q).first() is not None)


def create_admin(engine: Engine, email: str, password: str, display_name: str = "Administrator") -> UserOut:
    """A new administrator with a login (the CLI's ``create-admin``)."""
    email = validate_email(email)
    try:
        check_password_strength(password)
        return repo.create_user(engine, email, display_name, Role.ADMIN, password)
    except ValueError as err:
        raise AuthError(str(err)) from err


def ensure_admin_from_env(engine: Engine, settings: AuthSettings | None = None) -> UserOut | None:
    """Create the first admin from PHYSIO_ADMIN_EMAIL / PHYSIO_ADMIN_PASSWORD when the database
    has no admin yet; returns the new admin, or None when nothing was done."""
    settings = settings or auth_settings()
    password = settings.admin_password.get_secret_value() if settings.admin_password else ""
    if not settings.admin_email or not password or has_admin(engine):
        return None
    try:
        return create_admin(engine, settings.admin_email, password, settings.admin_name)
    except AuthError:
        if has_admin(engine):  # another app process created it at the same moment
            return None
        raise
