"""Log in with e-mail and password, or sign up (as an athlete) when sign-up is open."""

from __future__ import annotations

import streamlit as st

from pages._auth import NOTICE_KEY, bootstrap_admin, log_in
from pages._shared import db_error_message, get_engine

st.title("PhysioTrack")
st.caption("Motion analysis for physiotherapists, coaches and their athletes.")

engine = get_engine()
if engine is None:
    st.error(db_error_message(analyses_go_on=False))
    st.info("Logging in needs the database: try again once it is back, or put right as said above.")
    if st.button("Try again"):
        st.rerun()
    st.stop()

from physio_core.auth import AuthError, auth_settings, has_admin, sign_up  # noqa: E402
from physio_core.store import StorageUnavailable  # noqa: E402

bootstrap_admin(engine)
if notice := st.session_state.pop(NOTICE_KEY, None):
    st.info(notice)

try:
    admin_exists = has_admin(engine)
except StorageUnavailable as exc:
    st.error(str(exc))
    st.stop()
if not admin_exists:
    st.warning(
        "No administrator exists yet. Create one with "
        "`python -m physio_core.admin create-admin --email you@example.org` "
        "(the password is asked for, or read from PHYSIO_ADMIN_PASSWORD), or set "
        "PHYSIO_ADMIN_EMAIL and PHYSIO_ADMIN_PASSWORD before starting the app."
    )

allow_signup = auth_settings().allow_signup
tabs = st.tabs(["Log in", "Sign up"] if allow_signup else ["Log in"])

with tabs[0]:
    with st.form("login"):
        email = st.text_input("E-mail", key="login_email", autocomplete="username")
        password = st.text_input("Password", type="password", key="login_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        try:
            ok = log_in(engine, email, password)
        except (StorageUnavailable, AuthError) as exc:  # AuthError: too many failed logins
            st.error(str(exc))
        else:
            if ok:
                st.rerun()
            # one message for an unknown e-mail, a wrong password and a disabled account
            st.error("Wrong e-mail or password.")

if allow_signup:
    with tabs[1]:
        st.caption("A new account is an athlete account; your trainer or an administrator "
                   "links it to your trainer.")
        with st.form("signup"):
            name = st.text_input("Your name", key="signup_name", autocomplete="name")
            new_email = st.text_input("E-mail", key="signup_email", autocomplete="email")
            pw1 = st.text_input("Password (8 characters or more)", type="password",
                                key="signup_password", autocomplete="new-password")
            pw2 = st.text_input("Repeat the password", type="password", key="signup_password2",
                                autocomplete="new-password")
            created = st.form_submit_button("Create my account", type="primary")
        if created:
            if pw1 != pw2:
                st.error("The two passwords differ.")
            else:
                try:
                    sign_up(engine, new_email, pw1, name)
                    log_in(engine, new_email, pw1)
                except AuthError as exc:
                    st.error(str(exc))
                except StorageUnavailable as exc:
                    st.error(str(exc))
                else:
                    st.rerun()
