"""One stored session read back from the database: charts, reps, 3D view, downloads."""

from __future__ import annotations

import streamlit as st

from pages._auth import plain
from pages._session_actions import other_sets_of, render_actions, show_notice
from pages._shared import (link_to_session, render_report, require_engine, show_table, local_time, shown_time,
                           stop_for_database, tile_row, viewer_id, viewer_tz)
from physio_core import exports, felt, progress
from physio_core.imports import origin_sentence
from physio_core.report import pretty_exercise

st.title("Session detail")

engine = require_engine()

from pages._auth import require_user  # noqa: E402
from physio_core.store import (  # noqa: E402
    AccessDenied,
    Role,
    StorageUnavailable,
    count_sessions,
    get_session_detail,
    list_sessions,
    progress_for_athlete,
)
from physio_core.store.access import AthleteProfileOut, athlete_profile, morning_pain  # noqa: E402
from physio_core.store.models import utcnow  # noqa: E402

PICKER_SIZE = 200  # sessions offered in the picker when no ?id= is given
MAX_ID = 2**31 - 1  # the ids' column (PostgreSQL's integer)


def _left_running(row) -> None:
    """Say so when the live page of an active session stopped sending frames: only End and
    analyse files it then."""
    if not row.left_running():
        return
    last = row.last_data_at
    idle_min = (utcnow() - last).total_seconds() / 60
    ago = f"{idle_min:.0f} min" if idle_min < 120 else f"{idle_min / 60:.0f} h"
    st.warning(f"This live session has not ended, and no frame has come in since "
               f"{shown_time(last)} ({ago} ago). If its live page is no longer open (the tab was "
               "closed, the connection or the server was lost), **End and analyse** at the foot of "
               "this page files it with its reps.")


def _never_recorded(row) -> None:
    """Say so when an active session has had nothing recorded into it since it was opened."""
    if row.never_recorded():
        st.warning(f"Nothing has been recorded into this session since it was opened "
                   f"({shown_time(row.started_at)}), and nothing will be: a live session is opened by "
                   "the live page's START and filled as it records. **Delete this session** at the foot "
                   "of this page removes it (End and analyse would file it with 0 reps).")


def _then_and_now(detail, this, before) -> tuple[str, str] | None:
    """A typical rep of this session drawn over one of the earlier session, at their start,
    turning point and end (``progress.reps_drawn``), and its caption. Made once per pair: the page
    reruns with every frame scrubbed."""
    key = f"then_and_now_{detail.session.id}_{before.session_id}"
    if key not in st.session_state:
        drawn = None
        try:
            if detail.pose is not None and (found := progress.reps_drawn(
                    engine, this, before, viewer_id=me, this_result=detail.to_result(), tz=viewer_tz())) is not None:
                svg, now, then = found
                drawn = (svg, f"A typical rep of each session (its range the median of the session's) at its "
                              f"start, turning point and end, from the {now.view}: #{then.session_id} (rep "
                              f"{then.rep}) in grey, this session (rep {now.rep}) in colour over it.")
        except (AccessDenied, StorageUnavailable):
            pass
        st.session_state[key] = drawn
    if (drawn := st.session_state[key]) is not None:
        # two thirds of a desktop's column; a phone stacks the columns, and it takes the screen's
        # width (a fixed width overflowed it; st.html drops the SVG)
        drawing, _ = st.columns([2, 1])
        drawing.image(drawn[0], caption=drawn[1], width="stretch")
    return drawn


def _other_sets(session) -> None:
    """A set of a recording split into its sets (``physio_core.sets``): the recording's other
    sets, a link each."""
    from physio_core.sets import set_of

    if not (others := other_sets_of(engine, me, session)):
        return
    recording, k, n = set_of(session.source)
    st.caption(f"Set {k} of {n} of {recording or 'one recording'}; its other sets:")
    for r in others:
        which = set_of(r.source)[1]
        link_to_session(r.id, label=f"Set {which}: #{r.id} · {pretty_exercise(r.exercise)} · {r.rep_count} reps")


def _against_earlier(session, affected: str | None, rows, detail=None) -> exports.Versus | None:
    """This session against an earlier one of the same exercise: the previous one unless the
    user picks another (the first, the baseline of a rehabilitation, say). ``rows``: the
    athlete's sessions (``progress_for_athlete``). Returns the comparison shown, for the
    printable report."""
    this = next((r for r in rows if r.session_id == session.id), None)  # None: not ended yet
    earlier = [] if this is None else progress.earlier_sessions(rows, this)
    if not earlier:
        return None
    kind = ("sessions with no exercise recognised" if this.exercise == "auto"
            else f"{pretty_exercise(this.exercise, short=True).lower()} sessions")
    with st.expander(f"Against earlier {kind} ({len(earlier)})", expanded=True):
        def name(r) -> str:
            which = " (previous)" if r is earlier[0] else " (first)" if r is earlier[-1] else ""
            return f"#{r.session_id} on {local_time(r.date):%Y-%m-%d}{which}"

        if len(earlier) > 1:
            by_id = {r.session_id: r for r in earlier}
            before = by_id[st.selectbox("Compare with", list(by_id), format_func=lambda i: name(by_id[i]),
                                        key=f"versus_{session.id}")]
        else:
            before = earlier[0]
            st.caption(f"Compared with {name(before)}.")
        table = progress.compare_sessions(this, before, label=f"#{before.session_id}", affected=affected)
        if table.empty:
            st.caption("The two sessions have no measure in common.")
            return None
        show_table(table, height="content")  # a dozen rows at most: the last (limb symmetry) in view
        drawn = _then_and_now(detail, this, before) if detail is not None else None
        link_to_session(before.session_id, label=f"Open session #{before.session_id}")
    return exports.Versus(f"Against session {name(before)}", table, *(drawn or ()))


require_user(engine)  # also when the script is reached without the app shell's login gate
show_notice()
me = viewer_id()
role = Role(st.session_state["user_role"]) if me is not None and st.session_state.get("user_role") else None

raw = st.query_params.get("id")
# ASCII digits only: "²" passes isdigit() but not int(); a number past the ids' range names no session
session_id = int(raw) if raw is not None and raw.isascii() and raw.isdigit() else None
if raw is not None and session_id is None:
    st.error(f"“{raw[:40]}” in the address is not a session number: pick the session here.")
if session_id is not None and session_id > MAX_ID:
    st.error(f"Session #{session_id} does not exist.")
    st.stop()
if session_id is None:
    try:
        rows = list_sessions(engine, viewer_id=viewer_id(), limit=PICKER_SIZE)
    except StorageUnavailable as exc:
        stop_for_database(str(exc))
    if not rows:
        st.info("No session stored yet.")
        st.stop()
    labels = {r.id: f"#{r.id} · {shown_time(r.started_at)} · {r.athlete_name} · "
                    f"{pretty_exercise(r.exercise)}" for r in rows}
    session_id = st.selectbox("Session", list(labels), format_func=labels.get)
    if len(rows) == PICKER_SIZE and (total := count_sessions(engine, viewer_id=viewer_id())) > PICKER_SIZE:
        st.caption(f"The newest {PICKER_SIZE} of {total} sessions; older ones open from **Sessions**.")

try:
    detail = get_session_detail(engine, session_id, viewer_id=viewer_id())
except AccessDenied as exc:
    st.error(str(exc))
    st.stop()
except Exception as exc:
    st.error(f"Could not read session #{session_id}: {exc}")
    st.stop()
if detail is None:
    st.error(f"Session #{session_id} does not exist.")
    st.stop()

s = detail.session
try:
    profile = athlete_profile(engine, s.athlete_id, viewer_id=me)
except (AccessDenied, StorageUnavailable):
    profile = AthleteProfileOut()
try:
    athlete_rows = progress_for_athlete(engine, s.athlete_id, viewer_id=me)
except (AccessDenied, StorageUnavailable):
    athlete_rows = []
this_row = next((r for r in athlete_rows if r.session_id == s.id), None)  # None: not ended yet
try:
    mornings = morning_pain(engine, s.athlete_id, viewer_id=me)
except (AccessDenied, StorageUnavailable):
    mornings = []
about = progress.session_about(profile, local_time(s.started_at).date(), this_row, mornings)
st.subheader(f"#{s.id} · {plain(s.athlete_name)} · {pretty_exercise(s.exercise)}")
st.caption(" · ".join(x for x in (
    shown_time(s.started_at), about,
    f"source {plain(s.source or '–')}", f"status {getattr(s.status, 'value', s.status)}",
    felt.in_words(s.pain, s.effort), plain(s.notes)) if x))
_other_sets(s)
versus = _against_earlier(s, profile.affected_side, athlete_rows, detail)
_left_running(detail.session)
_never_recorded(detail.session)
if s.imported:
    st.caption(origin_sentence(s.imported, sensor_set=detail.imu_series is not None, when=shown_time))
if detail.pose is None and detail.imu_series is not None:
    from pages._imu_view import render_imu_report

    if detail.imu_analysis:
        render_imu_report(detail.imu_series, detail.imu_analysis, key=f"session{s.id}", file_stem=f"session_{s.id}",
                          session=s, feedback=detail.feedback, about=about)
    else:
        st.info(f"This session holds a wrist-sensor set of {s.rep_count} reps.")
    render_actions(engine, me, detail, role)
    st.stop()
if detail.pose is None:
    st.info(f"This session has no stored pose series: {s.rep_count} reps, "
            f"{s.frames} frames ({s.frames_with_person} with the person).")
    render_actions(engine, me, detail, role)
    st.stop()

result = detail.to_result()
if detail.metrics is not None and result.exercise_label is None:  # else the report shows them
    scores = {k: v for k, v in (("Stability", detail.metrics.stability_score),
                                ("Balance", detail.metrics.balance_score),
                                ("Injury risk", detail.metrics.injury_risk)) if v is not None}
    if scores:
        row = tile_row()
        for k, v in scores.items():
            row.metric(k, f"{v:.2f}")
video = detail.video_path  # a live session recorded with "Record video"
render_report(result, video_path=video, key=f"session{s.id}", file_stem=f"session_{s.id}",
              more_downloads=exports.session_exports(result, session_id=s.id, session=s, feedback=detail.feedback,
                                                     tz=viewer_tz(), about=about, versus=versus))
if video is not None:
    with st.expander("Recorded video"):
        st.video(str(video))
        st.caption("The raw camera video of this live session; deleting the session deletes it.")
render_actions(engine, me, detail, role)
