"""Manage people: users and roles (admins), trainer-athlete assignments (admins), athletes and
their deletion with confirmation (admins, and trainers for their own athletes)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._auth import log_in_again, plain, require_user, same_name
from pages._shared import (ATHLETE_KEY, ROLE_KEY, get_engine, pick_athlete, show_table, stop_for_database,
                           tz_name, viewer_tz)

DOES = "manages what is stored"  # what the page says it does when the database cannot be used
TITLES = {"admin": "Administration", "trainer": "My athletes"}  # the menu's, by role

# the title above a stop for the database too, from the role the app shell's login check found;
# a script run alone learns the role in require_user (which stops athletes without a title)
if titled := TITLES.get(st.session_state.get(ROLE_KEY)):
    st.title(titled)
engine = get_engine()
if engine is None:
    stop_for_database(does=DOES)

from physio_core.store import (  # noqa: E402
    AccessDenied,
    Role,
    StorageUnavailable,
    count_sessions,
)
from physio_core import archive, felt, progress  # noqa: E402
from physio_core.store import access  # noqa: E402

me = require_user(engine, Role.ADMIN, Role.TRAINER, does=DOES)
is_admin = me.role is Role.ADMIN
if not titled:
    st.title(TITLES[me.role.value])


NOTICE = "manage_notice"
if notice := st.session_state.pop(NOTICE, None):
    st.success(notice)

# ------------------------------------------------------------------ training at a glance

glances = progress.roster(engine, me.id, tz=viewer_tz())  # days and weeks on the viewer's clock, as Progress
if glances:
    st.subheader("Training at a glance")
    table = progress.roster_frame(glances)
    # the link beside the name: on a phone or a tablet the last columns scroll out of view
    table.insert(1, "progress", [f"progress?athlete={g.athlete_id}" for g in glances])
    show_table(table, width="stretch", decimals={"stability": 2}, column_config={
        "last session": st.column_config.DatetimeColumn(format="YYYY-MM-DD", timezone=tz_name()),
        "progress": st.column_config.LinkColumn(display_text="open"),
        "change (pts)": st.column_config.NumberColumn(format="%+d"),  # a change: +50, -10
        f"pain change ({progress.ROSTER_WINDOW_DAYS} days)": st.column_config.NumberColumn(format="%+d"),
        "limb symmetry (%)": st.column_config.NumberColumn(help=progress.ROSTER_LSI_HELP),
        "weeks since": st.column_config.NumberColumn(help="Whole weeks since the injury or operation."),
    })
    st.caption(f"Attention: a morning's pain above {felt.MORNING_LIMIT}/10, the pain given up "
               f"{progress.PAIN_RISE} or more, the limb symmetry outside {progress.LSI_BAND}, less than "
               f"{progress.PROGRAMME_LOW:.0%} of the programme done, more than {progress.AWAY_DAYS} days without a "
               "session. Pain: the last pain the athlete gave (0–10), and its change over the sessions of the last "
               f"{progress.ROSTER_WINDOW_DAYS} days that give it. Morning pain: the latest pain the morning after "
               f"training, said in the last {progress.MORNING_WINDOW_DAYS} days (the pain-monitoring model allows "
               f"up to {felt.MORNING_LIMIT}). Programme done: the planned sessions done "
               "in the four whole weeks before this one (the programme is set on Progress). Correct reps: "
               "the share of reps the models judged correct in the athlete's last judged session; its change "
               "is against their first session of that exercise. Stability: the last session's that has one. "
               f"Limb symmetry: {progress.ROSTER_LSI_HELP} Condition and weeks since: as said on Progress. "
               "Click a column to sort.")


def _run(action, success: str, *, forget: tuple[str, ...] = ()) -> None:
    """Do a write, then rerun with ``success`` shown; a refusal or a database error is shown
    instead of a traceback."""
    try:
        action()
    except (AccessDenied, ValueError, StorageUnavailable) as exc:
        st.error(str(exc))
        return
    for key in forget:
        st.session_state.pop(key, None)
    st.session_state[NOTICE] = success
    st.rerun()


# ------------------------------------------------------------------ users (admins)

if is_admin:
    users = access.list_users_as(engine, me.id)
    names = {u.id: f"{u.display_name} ({u.role.value}{', ' + u.email if u.email else ''})" for u in users}
    st.subheader("Users")
    show_table(pd.DataFrame([{
        "id": u.id, "name": u.display_name, "e-mail": u.email or "", "role": u.role.value,
        "active": u.is_active, "can log in": u.has_login, "created": u.created_at,
    } for u in users]), width="stretch",
        column_config={"created": st.column_config.DatetimeColumn(format="YYYY-MM-DD", timezone=tz_name())})

    with st.expander("Create a user", expanded=False):
        new_user_keys = ("new_user_name", "new_user_role", "new_user_email", "new_user_pw")
        with st.form("create_user"):  # cleared once created: a refusal keeps what was typed
            c1, c2 = st.columns(2)
            name = c1.text_input("Name", key=new_user_keys[0])
            role = c2.selectbox("Role", [r.value for r in Role], index=0, key=new_user_keys[1])
            email = c1.text_input("E-mail (for a login)", key=new_user_keys[2])
            password = c2.text_input("Password (8+ characters; empty = no login yet)", type="password",
                                     key=new_user_keys[3])
            if st.form_submit_button("Create user", type="primary"):
                _run(lambda: access.create_user_as(engine, me.id, email or None, name, role,
                                                   password or None),
                     f"User {plain(name)} created.", forget=new_user_keys)

    with st.expander("Change a user", expanded=False):
        uid = st.selectbox("User", [u.id for u in users], format_func=names.get, key="admin_user")
        chosen = next(u for u in users if u.id == uid)
        a, b = st.columns(2)
        if chosen.is_active:
            if a.button("Deactivate (blocks the login, keeps the data)", disabled=chosen.id == me.id):
                _run(lambda: access.set_active_as(engine, me.id, uid, False), "Deactivated.")
        elif a.button("Activate"):
            _run(lambda: access.set_active_as(engine, me.id, uid, True), "Activated.")
        if chosen.role is not Role.ATHLETE and chosen.id != me.id:
            if b.button(f"Delete the account of {chosen.display_name}",
                        help="Sessions they ran stay with their athletes."):
                _run(lambda: access.delete_user_as(engine, me.id, uid), "Account deleted.",
                     forget=("admin_user",))
        with st.form("set_login", clear_on_submit=True):
            st.caption("Set a login (e-mail and a new password) for this user.")
            new_email = st.text_input("E-mail", value=chosen.email or "")
            new_pw = st.text_input("New password", type="password")
            if st.form_submit_button("Save login"):
                if uid == me.id:  # a new password ends one's own logins, this one too
                    try:
                        access.set_login_as(engine, me.id, uid, new_email, new_pw)
                    except (AccessDenied, ValueError, StorageUnavailable) as exc:
                        st.error(str(exc))
                    else:
                        log_in_again(engine, "Login saved. Please log in with the new password.")
                else:
                    _run(lambda: access.set_login_as(engine, me.id, uid, new_email, new_pw),
                         "Login saved; the user can log in with it now (their open logins have ended).")

    st.subheader("Trainers and their athletes")
    trainers = [u for u in users if u.role in (Role.TRAINER, Role.ADMIN) and u.is_active]
    athletes_all = [u for u in users if u.role is Role.ATHLETE]
    links = access.assignments_as(engine, me.id)
    show_table(pd.DataFrame([{"trainer": names.get(t, t), "athlete": names.get(a, a)}
                             for t, a in links], columns=["trainer", "athlete"]), width="stretch")
    if trainers and athletes_all:
        c1, c2, c3 = st.columns([2, 2, 1])
        t_id = c1.selectbox("Trainer", [t.id for t in trainers], format_func=names.get, key="assign_t")
        a_id = c2.selectbox("Athlete", [a.id for a in athletes_all], format_func=names.get, key="assign_a")
        linked = (t_id, a_id) in links
        if c3.button("Unassign" if linked else "Assign", key="assign_btn"):
            fn = access.unassign_as if linked else access.assign_as
            _run(lambda: fn(engine, me.id, t_id, a_id), "Assignments updated.")

# ------------------------------------------------------------------ athletes (admins, trainers)

athletes = access.athletes_for(engine, me.id)
if not is_admin:
    st.subheader("Athletes")
    if athletes:
        show_table(pd.DataFrame([{"name": a.display_name, "e-mail": a.email or "",
                                  "can log in": a.has_login} for a in athletes]), width="stretch")
    with st.form("new_athlete_form"):  # cleared once added: a refusal keeps what was typed
        st.caption("Add an athlete (an e-mail and password give them their own login).")
        c1, c2, c3 = st.columns(3)
        a_name = c1.text_input("Name", key="trainer_new_name")
        a_email = c2.text_input("E-mail (optional)", key="trainer_new_email")
        a_pw = c3.text_input("Password (optional)", type="password", key="trainer_new_pw")
        if st.form_submit_button("Add athlete", type="primary"):
            _run(lambda: access.create_user_as(engine, me.id, a_email or None, a_name,
                                               Role.ATHLETE, a_pw or None),
                 f"Athlete {plain(a_name)} added.",
                 forget=("trainer_new_name", "trainer_new_email", "trainer_new_pw"))

st.subheader("Delete an athlete")
if not athletes:
    st.caption("No athlete to delete.")
else:
    by_id = {a.id: a for a in athletes}
    # nobody is preselected: a destructive form names no one, and warns of nothing, on its own
    victim_id = st.selectbox("Athlete to delete", list(by_id), format_func=lambda i: by_id[i].display_name,
                             index=None, placeholder="Pick the athlete to delete", key="delete_athlete_pick")
    victim = by_id.get(victim_id)
    if victim is not None:
        n_sessions = count_sessions(engine, athlete_id=victim_id, viewer_id=me.id)
        st.warning(f"Deleting **{plain(victim.display_name)}** removes the athlete and their {n_sessions} "
                   "session(s) with every recording, angle series, metric, target and feedback. "
                   "This cannot be undone.")
        if n_sessions:
            zone = viewer_tz()
            st.download_button(
                "Their data first (ZIP)", icon=":material/folder_zip:", on_click="ignore", mime="application/zip",
                data=lambda: archive.athlete_archive(engine, victim_id, viewer_id=me.id, tz=zone),
                file_name=archive.file_name(victim_id), key="delete_athlete_archive",
                help="Everything stored about this athlete in one file (as on their progress page), "
                     "to keep or hand over before it is deleted")
        typed = st.text_input(f"Type **{plain(victim.display_name)}** to confirm", key="delete_athlete_confirm")
        confirmed = same_name(typed, victim.display_name)
        if st.button("Delete athlete and all their data", type="primary", disabled=not confirmed,
                     key="delete_athlete_button"):
            def delete() -> None:
                access.delete_athlete_as(engine, me.id, victim_id)
                if st.session_state.get(ATHLETE_KEY) == victim_id:
                    pick_athlete(None)  # the sidebar falls back to the first athlete

            _run(delete, f"{plain(victim.display_name)} and all their data were deleted.",
                 forget=("delete_athlete_confirm", "delete_athlete_pick"))
