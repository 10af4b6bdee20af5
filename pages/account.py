"""The logged-in user's account: who they are, a new password, logging out."""

from __future__ import annotations

import streamlit as st

from pages._auth import TOKEN_KEY, log_in_again, log_out, plain, require_user
from pages._shared import require_engine

st.title("My account")

engine = require_engine()

from physio_core.auth import AuthError, change_password, logout_everywhere  # noqa: E402
from physio_core.store import StorageUnavailable, list_trainers_of  # noqa: E402

user = require_user(engine)

# plain lines, not metrics: a long address is neither cut nor turned into a large mailto link
st.markdown(f"**Name:** {plain(user.display_name)}  \n**Role:** {user.role.value.capitalize()}  \n"
            f"**E-mail:** `{user.email or '–'}`")
if user.role.value == "athlete":
    trainers = list_trainers_of(engine, user.id)
    st.caption("Your trainers: " + (", ".join(plain(t.display_name) for t in trainers) or "none yet"))

st.subheader("Change my password")
with st.form("change_password", clear_on_submit=True):
    old = st.text_input("Current password", type="password", autocomplete="current-password")
    new1 = st.text_input("New password (8 characters or more)", type="password",
                         autocomplete="new-password")
    new2 = st.text_input("Repeat the new password", type="password", autocomplete="new-password")
    change = st.form_submit_button("Change password")
if change:
    if new1 != new2:
        st.error("The two new passwords differ.")
    else:
        try:
            change_password(engine, user.id, old, new1)
        except (AuthError, StorageUnavailable) as exc:
            st.error(str(exc))
        else:
            # every login ended, this one too: log in again with the new password
            log_in_again(engine, "Password changed. Please log in with the new one.")

st.subheader("Log out")
a, b = st.columns(2)
if a.button("Log out", type="primary"):
    log_out(engine)
    st.rerun()
if b.button("Log out on every device"):
    logout_everywhere(engine, user.id)
    st.session_state.pop(TOKEN_KEY, None)
    log_out(engine)
    st.rerun()
