"""The Streamlit side of logins: the token in ``st.session_state`` (and in a browser cookie, so
that reloading the page or opening a second tab keeps the login), the user it resolves to on every
rerun, and the role guard pages call first.

    user = require_user(engine, Role.TRAINER, Role.ADMIN)   # stops the page for anyone else
"""

from __future__ import annotations

import logging
import re
import unicodedata

import streamlit as st

from pages._shared import (ATHLETE_KEY, ROLE_KEY, USER_KEY, database_failed, database_failed_this_run, picker_key,
                           stop_for_database)

log = logging.getLogger("physiotrack.app")

TOKEN_KEY = "auth_token"
CACHED_USER_KEY = "auth_user"  # the UserOut last resolved from the token (used while the DB is away)
NOTICE_KEY = "auth_notice"  # one message for the login page ("your session expired")

COOKIE_NAME = "physiotrack_login"
_COOKIE_READ_KEY = "auth_cookie_read"  # this browser session's cookie was looked at once
_COOKIE_PENDING_KEY = "auth_cookie_pending"  # (token, max_age_s) the browser's cookie must become


def plain(text: str) -> str:
    """``text`` someone typed (a name, notes, a trainer's line, a file's name) for Streamlit's
    markdown, shown as typed: its ASCII punctuation escaped, so that "Jo_Anne *Smith*",
    "[x](https://…)", "3*10, then 2*5 at $20 and $30" or "<b>" is neither formatting, a link, a
    formula nor a tag; its lines kept (spaces within a line read as one, as markdown shows them)."""
    return "  \n".join(re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", " ".join(line.split())) for line in text.splitlines())


def same_name(typed: str, name: str) -> bool:
    """Whether ``typed`` names ``name`` as a reader of the page would type it: without regard to
    case, to spaces around or doubled (markdown shows them single), or to how an accent is encoded."""
    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFC", s).split()).casefold()

    return bool(name.strip()) and norm(typed) == norm(name)


def load_secrets_into_env() -> None:
    """Streamlit copies root-level keys of .streamlit/secrets.toml into os.environ when it reads
    the file; do it before physio_core reads its settings. No file is fine."""
    try:
        st.secrets.load_if_toml_exists()
    except Exception as exc:  # a malformed file: say so, keep running on the environment
        log.warning("could not read .streamlit/secrets.toml: %s", exc)


@st.cache_resource(show_spinner=False)
def _bootstrap_admin(url: str) -> str | None:
    """Create the first admin from PHYSIO_ADMIN_EMAIL/PASSWORD once per process and database."""
    from physio_core.auth import AuthError, ensure_admin_from_env
    from physio_core.store import init_db

    try:
        admin = ensure_admin_from_env(init_db(url))
    except AuthError as exc:
        return f"The first administrator from PHYSIO_ADMIN_EMAIL could not be created: {exc}"
    return f"Administrator {admin.email} created from the environment." if admin else None


def bootstrap_admin(engine) -> None:
    if engine is None:
        return
    message = _bootstrap_admin(engine.url.render_as_string(hide_password=False))
    if message:
        log.info(message)


def _clear() -> None:
    for key in (TOKEN_KEY, USER_KEY, ROLE_KEY, ATHLETE_KEY, CACHED_USER_KEY, picker_key()):
        st.session_state.pop(key, None)
    st.session_state[_COOKIE_PENDING_KEY] = ("", 0)


def _token_from_cookie() -> str | None:
    """The login token the browser sent when this session connected, looked at once per session:
    after a log-out the (now revoked) token in that request must not log the user in again."""
    if st.session_state.get(_COOKIE_READ_KEY):
        return None
    st.session_state[_COOKIE_READ_KEY] = True
    try:
        token = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # no browser request behind this session (a bare script run)
        return None
    return token if isinstance(token, str) and token else None  # AppTest has no real cookies


def sync_login_cookie() -> None:
    """Set or delete the login cookie in the browser after a log-in or log-out.

    The app shell calls this on every run, before the page, as a page may stop early. The cookie
    holds the same random token as the session state (the database keeps only its hash); it
    lives until the login expires, and is SameSite=Strict so no other site can send it."""
    pending = st.session_state.pop(_COOKIE_PENDING_KEY, None)
    if pending is None:
        return
    token, max_age = pending
    secure = "(location.protocol === 'https:' ? '; Secure' : '')"
    st.html(f"<script>document.cookie = '{COOKIE_NAME}={token}; Path=/; Max-Age={int(max_age)}; "
            f"SameSite=Strict' + {secure};</script>", unsafe_allow_javascript=True)


def current_user(engine):
    """The logged-in user (UserOut) or None; an expired or revoked login is cleared here."""
    from physio_core.auth import current_user as resolve

    token = st.session_state.get(TOKEN_KEY)
    if not token and (token := _token_from_cookie()):
        st.session_state[TOKEN_KEY] = token  # a reload or a new tab: checked below like any other
    if not token or engine is None:
        return None
    user = resolve(engine, token)
    if user is None:
        _clear()
        st.session_state[NOTICE_KEY] = "Your session has expired. Please log in again."
        return None
    _remember(user)
    return user


def _remember(user) -> None:
    st.session_state[USER_KEY] = user.id
    st.session_state[ROLE_KEY] = user.role.value
    st.session_state[CACHED_USER_KEY] = user
    if user.role.value == "athlete":
        st.session_state[ATHLETE_KEY] = user.id  # an athlete only ever looks at themself


def signed_in_user(engine):
    """For the app shell: the logged-in user, also while the database is unreachable.

    The token was checked against the database when this (server-side) browser session last
    could; while the database is away that user stays logged in, so a live session keeps
    running and keeps its data in memory, and a banner says what is happening."""
    from physio_core.store import StorageUnavailable

    cached = st.session_state.get(CACHED_USER_KEY)
    if engine is None or database_failed_this_run():
        return cached if st.session_state.get(TOKEN_KEY) else None
    try:
        return current_user(engine)
    except StorageUnavailable as exc:
        database_failed(str(exc), opened=True)
        return cached if st.session_state.get(TOKEN_KEY) else None


def account_box(engine, user) -> None:
    """Sidebar: who is logged in, and a log-out button."""
    st.caption(f"Logged in as **{plain(user.display_name)}** ({user.role.value})")
    if st.button("Log out", key="sidebar_logout", icon=":material/logout:"):
        try:
            log_out(engine)
        except Exception:  # the database is away: forget the login here anyway
            _clear()
        st.rerun()


def log_in(engine, email: str, password: str) -> bool:
    from physio_core.auth import login
    from physio_core.store.models import utcnow

    session = login(engine, email, password)
    if session is None:
        return False
    _clear()
    st.session_state[TOKEN_KEY] = session.token
    st.session_state[_COOKIE_PENDING_KEY] = (
        session.token, (session.expires_at - utcnow()).total_seconds())
    _remember(session.user)
    st.session_state.pop(NOTICE_KEY, None)
    return True


def log_out(engine) -> None:
    from physio_core.auth import logout

    token = st.session_state.get(TOKEN_KEY)
    try:
        if engine is not None:
            logout(engine, token)
    finally:
        _clear()


def log_in_again(engine, why: str) -> None:
    """End this login and show the login page with ``why`` (a new password ended every login)."""
    log_out(engine)
    st.session_state[NOTICE_KEY] = why
    st.rerun()


def require_user(engine, *roles, does: str = "shows what is stored"):
    """The logged-in user if their role is among ``roles`` (any role when none given); else an
    error and ``st.stop()``. Pages call it before anything else. A database that cannot be used
    stops the page too, saying what the page ``does``: the pages that work without it call
    ``require_login``."""
    from physio_core.store import StorageUnavailable

    if database_failed_this_run():  # found by the app shell's login check: not tried again
        stop_for_database(does=does)
    try:
        user = current_user(engine)
    except StorageUnavailable as exc:  # the engine was made before: the database went away since
        database_failed(str(exc), opened=True)
        stop_for_database(does=does)
    if user is None:
        st.warning("Please log in first.")
        st.stop()
    if roles and user.role not in roles:
        st.error("Your account may not open this page.")
        st.stop()
    return user


def require_login(engine):
    """For the pages that work without the database (upload, sensor set, live): the logged-in
    user, also while the database is away (``engine``: the page's ``get_engine()``, None then);
    else a warning and ``st.stop()``. The app shell's gate runs first (in Chromium the first request
    after a start, to /live, showed the login page too); a page's script run alone, as AppTest runs
    one, checks for itself."""
    user = signed_in_user(engine)
    if user is None:
        st.warning("Please log in first.")
        st.stop()
    return user
