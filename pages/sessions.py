"""All stored sessions (of the athlete picked in the sidebar, or everybody's)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._shared import (SESSION_NUMBER, current_athlete_id, link_to_session, require_engine, session_address,
                           show_table, shown_time, tz_name, viewer_id)
from physio_core.imu.io import IMU_BACKEND
from physio_core.report import pretty_exercise

st.title("Sessions")

engine = require_engine()

from pages._auth import require_user  # noqa: E402
from physio_core.store import count_sessions, list_sessions, session_exercises  # noqa: E402

PAGE_SIZE = 200

require_user(engine)  # also when the script is reached without the app shell's login gate

if viewer_id() is not None and st.session_state.get("user_role") in ("trainer", "admin"):
    from pages._import import import_box

    import_box(engine, viewer_id())

athlete_id = current_athlete_id()
left, right = st.columns([3, 2], vertical_alignment="bottom")
if st.session_state.get("user_role") == "athlete":
    only_athlete = athlete_id is not None  # their own sessions are all they see: no switch to offer
else:
    only_athlete = left.toggle("Only the athlete picked in the sidebar", value=athlete_id is not None,
                               disabled=athlete_id is None)
which = {"viewer_id": viewer_id(), "athlete_id": athlete_id if only_athlete else None}
try:
    exercises = session_exercises(engine, **which)
    if len(exercises) > 1:
        if st.session_state.get("sessions_exercise") not in (None, *exercises):  # another athlete's
            del st.session_state["sessions_exercise"]
        which["exercise"] = right.selectbox(
            "Exercise", [None, *exercises], key="sessions_exercise",
            format_func=lambda e: "All exercises" if e is None else pretty_exercise(e, short=True))
    total = count_sessions(engine, **which)
    n_pages = max(1, -(-total // PAGE_SIZE))
    page = 1
    if n_pages > 1:
        if st.session_state.get("sessions_page", 1) > n_pages:  # fewer sessions since (a filter)
            st.session_state["sessions_page"] = n_pages
        page = int(st.number_input(f"Page (of {n_pages}, newest first)", min_value=1, max_value=n_pages,
                                   step=1, key="sessions_page"))
    rows = list_sessions(engine, **which, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
except Exception as exc:
    st.error(f"Could not read the sessions: {exc}")
    st.stop()
if n_pages > 1:
    first = (page - 1) * PAGE_SIZE + 1
    st.caption(f"Sessions {first}–{first + len(rows) - 1} of {total}.")

if not rows:
    st.info("No session yet. Analyse a video on **Upload analysis** (or run a live session) "
            "with an athlete picked in the sidebar.")
    st.stop()

# the session's number is its link (as on Progress), and the long source (an upload's file name)
# comes last: a table wider than the page scrolls, and at 1280 px a separate "open" column beside
# the id pushed the status out of view
df = pd.DataFrame([{
    "session": session_address(r.id),
    "date": r.started_at,
    "athlete": r.athlete_name,
    "exercise": pretty_exercise(r.exercise, short=True),
    "reps": r.rep_count,
    "correct reps": None if r.reps_judged is None else f"{r.reps_correct} of {r.reps_judged}",
    "stability": r.stability_score,
    "pain": r.pain,
    "duration (s)": round((r.ended_at - r.started_at).total_seconds(), 1) if r.ended_at else None,
    "in view": 100 * r.frames_with_person / r.frames if r.frames and r.backend != IMU_BACKEND else None,
    "status": "left running" if r.left_running() else "nothing recorded" if r.never_recorded()
              else str(getattr(r.status, "value", r.status)) + (" · imported" if r.from_import else ""),
    "source": r.source,
} for r in rows])
if only_athlete:  # named in the sidebar; the table must fit the page without its column
    df = df.drop(columns="athlete")
show_table(
    df, width="stretch", decimals={"duration (s)": 1},
    column_config={
        "session": st.column_config.LinkColumn("session", display_text=SESSION_NUMBER, width="small",
                                               help="Open the session"),
        "reps": st.column_config.NumberColumn("reps", width="small"),
        "date": st.column_config.DatetimeColumn("date", format="YYYY-MM-DD HH:mm", timezone=tz_name(),
                                                help=f"When it was filmed ({tz_name()})"),
        # blue, not the theme's red: a full bar is the good case
        "in view": st.column_config.ProgressColumn("in view", min_value=0, max_value=100, format="%.0f%%",
                                                   color="blue", width="small", help="Frames with the person found"),
        "stability": st.column_config.NumberColumn("stability", format="%.2f",
                                                   help="0–1, from the models (a sensor set: its own)"),
        "status": st.column_config.TextColumn(
            "status", help="left running: a live session never ended whose frames stopped coming in "
                           "(the page was closed without STOP); open it and End and analyse. nothing recorded: a "
                           "session left open with nothing in it; open it to delete it. imported: "
                           "brought in from another PhysioTrack (its page says from where)"),
        "pain": st.column_config.NumberColumn("pain", format="%d", width="small",
                                              help="Pain during the set, 0–10, as the athlete said it"),
        "correct reps": st.column_config.TextColumn(
            "correct reps", help="reps the mistake model judged correct, of those it judged"),
    },
)

ids = [r.id for r in rows]
labels = {r.id: f"#{r.id} · {shown_time(r.started_at)} · {r.athlete_name} · {pretty_exercise(r.exercise)}"
          for r in rows}
chosen = st.selectbox("Session", ids, format_func=labels.get)
link_to_session(chosen)
