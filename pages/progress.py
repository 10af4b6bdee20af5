"""An athlete's progress over sessions: range of motion per angle, reps, scores."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._shared import current_athlete_id, db_error_message, get_engine, link_to_session, viewer_id
from physio_core import report

st.title("Progress")

engine = get_engine()
if engine is None:
    st.error(db_error_message())
    st.stop()

from physio_core.store import AccessDenied, progress_for_athlete  # noqa: E402

athlete_id = current_athlete_id()
if athlete_id is None:
    st.info("Pick an athlete in the sidebar.")
    st.stop()

try:
    rows = progress_for_athlete(engine, athlete_id, viewer_id=viewer_id())
except AccessDenied as exc:
    st.error(str(exc))
    st.stop()
except Exception as exc:
    st.error(f"Could not read the progress: {exc}")
    st.stop()

exercises = sorted({r.exercise for r in rows})
if len(exercises) > 1:
    pick = st.selectbox("Exercise", ["all", *exercises])
    if pick != "all":
        rows = [r for r in rows if r.exercise == pick]
if not rows:
    st.info("No finished session for this athlete yet.")
    st.stop()

counts: dict[str, int] = {}
for r in rows:
    for name, v in r.rom_deg.items():
        if v is not None:
            counts[name] = counts.get(name, 0) + 1
by_rom = sorted(counts, key=lambda n: -max((r.rom_deg.get(n) or 0) for r in rows))
chosen = st.multiselect("Angles", sorted(counts), default=by_rom[:4],
                        format_func=report.pretty_angle)
st.subheader("Range of motion per session")
st.plotly_chart(report.progress_figure(rows, chosen), width="stretch", key="progress_rom")

st.subheader("Sessions")
table = pd.DataFrame([{
    "session": r.session_id,
    "date": r.date,
    "exercise": r.exercise,
    "reps": r.reps,
    "mean rep ROM (°)": None if r.mean_rep_rom_deg is None else round(r.mean_rep_rom_deg, 1),
    "stability": r.stability_score,
    "balance": r.balance_score,
    "injury risk": r.injury_risk,
} for r in rows])
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"date": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
link_to_session(rows[-1].session_id, label=f"Open the latest session (#{rows[-1].session_id})")
