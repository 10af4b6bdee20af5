"""PhysioTrack: the Streamlit app shell (login gate, navigation by role, the athlete picker
shared by all pages).

    streamlit run app.py
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from pages._auth import account_box, bootstrap_admin, load_secrets_into_env, signed_in_user, sync_login_cookie
from pages._shared import (app_style, athlete_picker, database_banner, database_failed_this_run, get_engine,
                           navigation_spec, one_database_attempt)
from physio_core.auth import auth_settings
from physio_core.config import ConfigError, get_settings
from physio_core.recordings import SWEEP_EVERY_S, sweep_orphan_recordings
from physio_core.uploads import sweep_uploads

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="PhysioTrack", page_icon=":material/accessibility_new:", layout="wide")
load_secrets_into_env()  # .streamlit/secrets.toml -> environment, before any setting is read
try:
    _ = get_settings(), auth_settings()  # an assignment: Streamlit would draw a bare expression
except ConfigError as exc:
    st.error(f"PhysioTrack cannot start: a setting is wrong. {exc}. Fix it in the environment "
             "or in .env and restart the app.")
    st.stop()
sweep_uploads(get_settings())  # every page visit deletes uploaded videos past their keeping time


def _live_placeholder() -> None:
    st.title("Live session")
    st.info("The live camera session is not installed in this build yet. "
            "Use **Upload analysis** with a recorded video meanwhile.")


def _pages(role: str) -> dict[str, list]:
    groups: dict[str, list] = {}
    for spec in navigation_spec(ROOT):
        if spec.url_path == "login" or (spec.url_path == "admin" and role == "athlete"):
            continue  # logged in already; athletes manage nobody (the queries refuse them anyway)
        target = str(spec.path) if spec.path is not None else _live_placeholder
        if spec.url_path == "admin" and role == "trainer":
            spec = replace(spec, title="My athletes")  # the page's own title for a trainer
        # athletes land on their progress, staff on the analysis
        default = spec.url_path == "progress" if role == "athlete" else spec.default
        group = groups.setdefault(spec.group, [])
        if default:
            # Streamlit serves its default page at the root address only, so its own address
            # (a bookmarked /upload, or /progress for an athlete) would answer "Page not found":
            # that address opens the same script as a page hidden from the menu
            group.append(st.Page(target, title=spec.title, icon=spec.icon, url_path="start", default=True))
            group.append(st.Page(target, title=spec.title, icon=spec.icon, url_path=spec.url_path,
                                 visibility="hidden"))
        else:
            group.append(st.Page(target, title=spec.title, icon=spec.icon, url_path=spec.url_path))
    return groups


with one_database_attempt():  # the shell, the page and its parts: one try at an absent database a run
    engine = get_engine()
    bootstrap_admin(engine)
    user = signed_in_user(engine)
    # hourly: recordings no session names, once a day old, are deleted (after the login check, which
    # finds a database gone since the engine was made: then the sweep waits, not the page)
    if engine is not None and not database_failed_this_run():
        sweep_orphan_recordings(engine, every_s=SWEEP_EVERY_S)
    if user is None:  # the login gate: nothing else is reachable
        # every page's address shows the login form, so that a bookmarked or shared link (/sessions,
        # /session_detail?id=12) opens its page once the user has logged in
        login = str(ROOT / "pages" / "login.py")
        gate = st.navigation([st.Page(login, title="Log in", icon=":material/login:", url_path=spec.url_path,
                              default=spec.url_path == "login") for spec in navigation_spec(ROOT)],
                             position="hidden")
        sync_login_cookie()  # a log-out just happened: forget the login in the browser too
        gate.run()
        st.stop()

    page = st.navigation(_pages(user.role.value))
    app_style()
    with database_banner():  # the reason said once, above the page; the sidebar and page point to it
        with st.sidebar:
            st.markdown("### PhysioTrack")
            account_box(engine, user)
            sync_login_cookie()  # a log-in just happened: keep it across reloads
        athlete_picker(engine)
        page.run()
