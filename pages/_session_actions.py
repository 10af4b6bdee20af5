"""Session lifecycle actions of the session detail page: see its sensor data, end and analyse it,
score it again, trainer notes and feedback, delete. Every write goes through the role-checked
``physio_core.store.access`` API, so a hidden button is never the only guard."""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from pages._auth import plain
from pages._shared import (exercise_choice, felt_form, forget_report_picks, local_time, show_table, shown_time,
                           tz_name, viewer_tz)
from physio_core import report
from physio_core.store import AccessDenied, FeedbackKind, NotFound, Role, SessionStatus, StorageUnavailable
from physio_core.store import access, codec
from physio_core.store.models import utcnow

NOTICE = "session_notice"
_ERRORS = (AccessDenied, NotFound, ValueError, StorageUnavailable)


def show_notice() -> None:
    if notice := st.session_state.pop(NOTICE, None):
        st.success(notice)


def _done(message: str) -> None:
    st.session_state[NOTICE] = message
    st.rerun()


def _sensor_data(detail) -> None:
    st.subheader("Sensor data")
    pose, angles = detail.pose, detail.angles
    if pose is None and angles is None and not detail.data:
        st.caption("No sensor data stored for this session yet.")
        return
    if pose is not None:
        st.caption(f"3D pose: {len(pose)} frames at {pose.fps:.1f} fps, "
                   f"{int(pose.valid.sum())} with the person, canonical skeleton (metres).")
        with st.expander("3D joints (first 500 frames)"):
            show_table(pd.read_csv(io.BytesIO(report.pose_csv(pose.slice(0, 500)))), width="stretch")
    if angles is not None and angles.names:
        with st.expander(f"Joint angles ({len(angles.names)} angles, degrees)"):
            show_table(report.angles_frame(angles).head(500), width="stretch")
    for kind, doc in sorted(detail.data.items()):
        series = doc.get("series", {})
        if kind == codec.KIND_IMU_ANALYSIS:  # drawn by the report above
            continue
        if kind == codec.KIND_IMU:
            n, gyr = len(series.get("times", [])), "gyr" in series
            st.caption(f"Wrist IMU: {n} samples at {detail.session.fps or 0:.1f} Hz, accelerometer (g)"
                       + (" and gyroscope (deg/s)" if gyr else "") + "; the report's CSV holds them.")
            continue
        cols = {k: v for k, v in series.items() if isinstance(v, list)}
        lengths = {len(v) for v in cols.values()}
        with st.expander(f"{kind} ({', '.join(cols)})"):
            if len(lengths) == 1:
                df = pd.DataFrame(cols)
                show_table(df.head(500), width="stretch")
                numeric = df.select_dtypes("number")
                if len(numeric.columns) > 1:
                    st.line_chart(numeric.set_index(numeric.columns[0]))
            else:
                st.json(series)


def _end_and_analyse(engine, viewer_id: int, detail) -> None:
    from physio_core.pipeline import finish_sequence

    s = detail.session
    st.subheader("End and analyse")
    st.caption("Ends the recording and computes the angles and repetitions from the stored pose.")
    if s.receiving():
        ago = max(0.0, (utcnow() - s.last_data_at).total_seconds())
        st.warning(f"A live page is still recording this session: its last frames came in {ago:.0f} s "
                   "ago. Press **STOP** on that page to file the whole session. Ending it here files "
                   "only the frames that have come in so far.", icon=":material/videocam:")
    if st.button("End and analyse", type="primary", key="end_analyse"):
        try:
            result = None
            if detail.scorable:
                result = finish_sequence(detail.pose.at_measured_rate(), backend=s.backend or "stored",
                                         exercise=s.exercise, source=s.source, started_at=s.started_at)
            row = access.end_session_as(engine, viewer_id, s.id, result)
        except _ERRORS as exc:
            st.error(str(exc))
        else:
            forget_report_picks(f"session{row.id}")
            _done(f"Session #{row.id} ended: {row.rep_count} reps.")


def _score_again_box(detail, *, what: str, caption: str, options: list[str], index: int, format_func,
                     key: str, expanded: bool, scoring: str, score) -> None:
    """The Score again box of an ended session: pick the ``what`` among ``options`` and press
    Score again; ``score(choice)`` stores the new analysis and returns the success message."""
    s = detail.session
    with st.expander(f"Score again as another {what}", expanded=expanded):
        st.caption(caption)
        with st.form(f"{key}_form_{s.id}", border=False):
            choice = st.selectbox(what.capitalize(), options, index=index, format_func=format_func,
                                  key=f"{key}_{s.id}")
            go = st.form_submit_button("Score again")
        if go:
            try:
                with st.spinner(f"Scoring the stored {scoring}…"):
                    message = score(choice)
            except _ERRORS as exc:
                st.error(str(exc))
            else:
                _done(message)


def _score_again(engine, viewer_id: int, detail) -> None:
    """An ended session scored again as another exercise from its stored skeleton: the only way
    to score an upload whose exercise was not recognised once its video has left the server."""
    from physio_core.assess import looks_like_instead
    from physio_core.reps import EXERCISES
    from physio_core.rescore import score_again_stored

    s = detail.session
    options = ["auto", *EXERCISES]
    # filed under an exercise its reps (or its frames) do not look like: the box opens on the one
    # they look like, which its warning above names
    instead = looks_like_instead(s.exercise, detail.exercise_timeline) if s.exercise != "auto" else None
    pick = instead if instead in options else s.exercise

    def score(exercise: str) -> str:
        row = score_again_stored(engine, viewer_id, s.id, exercise)
        forget_report_picks(f"session{row.id}")
        filed = ("no exercise recognised" if row.exercise == "auto"
                 else f"as {report.pretty_exercise(row.exercise).lower()}")
        return f"Session #{row.id} scored again, {filed}: {row.rep_count} reps."

    _score_again_box(
        detail, what="exercise", options=options, format_func=exercise_choice,
        index=options.index(pick) if pick in options else 0, key="score_again_exercise",
        expanded=s.exercise == "auto" or pick != s.exercise, scoring="skeleton", score=score,
        caption="Counts the reps and runs the models' verdicts, scores and corrections again from the stored "
                "skeleton, as the exercise picked here (the video is not needed). The angles, notes and "
                "trainer feedback stay.")


SPLIT_CAPTION = ("A recording of several exercises, or of sets of one with rests of 20 s or more between them, "
                 "as sessions of one set each: each set's exercise is recognised and its reps counted on its "
                 "own angles. This session becomes the first set and keeps its notes and how it felt; a "
                 "trainer's line on a rep goes with the rep. The time between sets is in none.")


def _split(engine, viewer_id: int, detail) -> None:
    """Split into sets: look for the sets of a stored session, then split it into them."""
    from physio_core.rescore import sets_of_stored, split_stored
    from physio_core.sets import clock, rests_before

    s = detail.session
    found = f"split_sets_{s.id}"
    with st.expander("Split into sets", expanded=found in st.session_state):
        st.caption(SPLIT_CAPTION)
        if found not in st.session_state:
            if st.button("Look for sets", key=f"split_look_{s.id}"):
                try:
                    with st.spinner("Reading the exercise along the recording…"):
                        st.session_state[found] = sets_of_stored(engine, viewer_id, s.id)
                except _ERRORS as exc:
                    st.error(str(exc))
                    return
                st.rerun()
            return
        spans = st.session_state[found]
        if len(spans) < 2:
            st.info("This session is one set: there is nothing to split." if spans else
                    "No set of an exercise the models know was found: there is nothing to split.")
            return
        show_table(pd.DataFrame({
            "set": range(1, len(spans) + 1),
            "exercise": [report.pretty_exercise(sp.exercise) for sp in spans],
            "from": [clock(sp.start_s) for sp in spans], "to": [clock(sp.end_s) for sp in spans],
            "rest before": rests_before([(sp.start_s, sp.end_s) for sp in spans])}),
            key=f"split_table_{s.id}")
        if st.button(f"Split into {len(spans)} sessions", type="primary", key=f"split_go_{s.id}"):
            try:
                with st.spinner("Analysing each set…"):
                    ids = split_stored(engine, viewer_id, s.id, spans)
            except _ERRORS as exc:
                st.session_state.pop(found, None)  # look again: the session may have changed
                st.error(str(exc))
                return
            st.session_state.pop(found, None)
            forget_report_picks(f"session{s.id}")
            _done(f"Session #{s.id} is now set 1 of {len(ids)}; the other sets are sessions "
                  + ", ".join(f"#{i}" for i in ids[1:]) + ".")


def _score_imu_again(engine, viewer_id: int, detail) -> None:
    """A stored wrist-sensor set analysed again from its stored series, as the lift picked: a set
    whose lift was not recognised right (the sensor file is not needed again)."""
    from physio_core.imu.analyze import UNSURE_LIFT_BELOW, analyze_imu
    from physio_core.imu.io import LABELS

    s = detail.session
    analysis = detail.imu_analysis or {}
    pred = analysis.get("lift_prediction")
    options = ["auto", *LABELS]

    def score(lift: str) -> str:
        result = analyze_imu(detail.imu_series, lift=None if lift == "auto" else lift)
        row = access.rescore_imu_session_as(engine, viewer_id, s.id, result)
        return f"Session #{row.id} scored again, as {report.lift_name(result.lift).lower()}: {row.rep_count} reps."

    _score_again_box(
        detail, what="lift", options=options,
        format_func=lambda k: "Detect automatically" if k == "auto" else report.lift_name(k, False),
        index=options.index(analysis.get("lift", "auto")) if pred is None else 0, key="score_again_lift",
        expanded=pred is not None and pred["confidence"] < UNSURE_LIFT_BELOW, scoring="sensor data", score=score,
        caption="Counts the reps and scores the set's stability again from its stored sensor data, as the lift "
                "picked here. Notes and trainer feedback stay.")


def _notes_and_feedback(engine, viewer_id: int, detail, staff: bool) -> None:
    s = detail.session
    st.subheader("Notes and feedback")
    mine = [f for f in detail.feedback if f.kind == FeedbackKind.TRAINER]
    for f in mine:
        rep = f" (rep {f.rep_index})" if f.rep_index else ""
        st.markdown(f"- **Trainer{rep}:** {plain(f.text)}  \n  :small[{shown_time(f.created_at)}]")
    if s.status is SessionStatus.ENDED:
        felt_form(engine, s.id, s.pain, s.effort, key="felt", on_saved=_done)
    if not staff:
        if s.notes:
            st.info(f"Trainer notes: {plain(s.notes)}")
        if not mine:
            st.caption("No feedback from your trainer yet.")
        return
    if s.status is SessionStatus.ENDED:
        _filmed_date(engine, viewer_id, s, sensor=detail.imu_series is not None)
    with st.form(f"trainer_notes_{s.id}"):
        notes = st.text_area("Session notes", value=s.notes, key=f"session_notes_{s.id}")
        if st.form_submit_button("Save notes"):
            try:
                access.set_notes_as(engine, viewer_id, s.id, notes)
            except _ERRORS as exc:
                st.error(str(exc))
            else:
                _done("Notes saved.")
    with st.form(f"trainer_feedback_{s.id}", clear_on_submit=True):
        c1, c2 = st.columns([2, 1])  # room for "whole session" on a tablet
        text = c1.text_input("Feedback for the athlete", key=f"feedback_text_{s.id}")
        reps = ["whole session", *[str(r.index) for r in detail.reps]]
        rep = c2.selectbox("Rep", reps, key=f"feedback_rep_{s.id}")
        if st.form_submit_button("Add feedback"):
            try:
                access.add_feedback_as(engine, viewer_id, s.id, text,
                                       rep_index=None if rep == reps[0] else int(rep))
            except _ERRORS as exc:
                st.error(str(exc))
            else:
                _done("Feedback added.")


def _filmed_date(engine, viewer_id: int, s, *, sensor: bool) -> None:
    """Re-date the session: a video whose file did not say when it was filmed (a clip sent
    through a messenger loses it) is dated by its upload, which puts it in the wrong week.
    Read and written on the viewer's clock. ``sensor``: a wrist-sensor set, recorded, not filmed.
    A set of a recording split into sets moves the recording's other sets with it (a tick, on by
    default): left behind, they stayed in their old week and lost their links to it."""
    from datetime import datetime

    from physio_core.results import EARLIEST_FILMED, plausible_filming_time

    shown = local_time(s.started_at)
    others = [r for r in other_sets_of(engine, viewer_id, s) if r.status is SessionStatus.ENDED]
    with st.form(f"filmed_date_{s.id}"):
        c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
        day = c1.date_input("Recorded on" if sensor else "Filmed on", value=shown.date(), key=f"filmed_day_{s.id}",
                            format="YYYY-MM-DD", min_value=EARLIEST_FILMED.date(),
                            max_value=local_time(utcnow()).date())
        at = c2.time_input(f"at ({tz_name()})", value=shown.time().replace(second=0, microsecond=0),
                           key=f"filmed_time_{s.id}", step=60)
        along = bool(others) and st.checkbox(
            "The recording's other " + ("set" if len(others) == 1 else f"{len(others)} sets")
            + " (" + ", ".join(f"#{r.id}" for r in others) + ") move with it",
            value=True, key=f"filmed_others_{s.id}")
        if c3.form_submit_button("Save date", width="stretch"):
            when = datetime.combine(day, at, tzinfo=viewer_tz())
            moved = [(r.id, r.started_at + (when - s.started_at)) for r in (others if along else ())]
            try:
                # checked before any is moved
                if late := next(((i, t) for i, t in moved if not plausible_filming_time(t)), None):
                    raise ValueError(f"Session #{late[0]}, another set of the recording, would then be dated "
                                     f"{local_time(late[1]):%Y-%m-%d %H:%M}, in the future or before 2000: "
                                     "nothing was changed.")
                access.set_filmed_at_as(engine, viewer_id, s.id, when)
                for i, t in moved:
                    access.set_filmed_at_as(engine, viewer_id, i, t)
            except _ERRORS as exc:
                st.error(str(exc))
            else:
                _done(f"Session #{s.id} is now dated {day:%Y-%m-%d} {at:%H:%M}"
                      + (f"; the recording's other {'set' if len(moved) == 1 else 'sets'} "
                         f"{', '.join(f'#{i}' for i, _ in moved)} moved with it." if moved else "."))


def other_sets_of(engine, viewer_id: int | None, s) -> list:
    """The sessions of the other sets of the recording ``s`` is a set of (``physio_core.sets``);
    none when it is no set, or they cannot be read."""
    from datetime import timedelta

    from physio_core.sets import other_sets, set_of
    from physio_core.store import list_sessions

    if set_of(s.source) is None:
        return []
    try:
        rows = list_sessions(engine, athlete_id=s.athlete_id, viewer_id=viewer_id,
                             since=s.started_at - timedelta(days=1), limit=1000)
    except (AccessDenied, StorageUnavailable):
        return []
    return other_sets(rows, s)


def _exports(detail) -> None:
    """Why a session without its report has no files (with one, they are under its report)."""
    if detail.pose is not None or detail.imu_analysis:
        return
    st.subheader("Exports")
    if detail.imu_series is None:
        st.caption("Nothing to export before the session has sensor data.")
    else:
        st.caption("This sensor set was stored without its analysis: there is no report to print.")


def _delete(engine, viewer_id: int, detail) -> None:
    s = detail.session
    with st.expander("Delete this session"):
        st.warning(f"Session #{s.id} and all its recordings, metrics and feedback will be removed.")
        sure = st.checkbox(f"Yes, delete session #{s.id}", key=f"delete_session_sure_{s.id}")
        if st.button("Delete session", disabled=not sure, key=f"delete_session_button_{s.id}"):
            from physio_core.store import delete_session

            try:
                delete_session(engine, s.id, viewer_id=viewer_id)
            except _ERRORS as exc:
                st.error(str(exc))
            else:
                st.session_state.pop(f"delete_session_sure_{s.id}", None)
                st.query_params.pop("id", None)
                _done(f"Session #{s.id} deleted.")


def render_actions(engine, viewer_id: int | None, detail, role: Role | None) -> None:
    """Everything below the report: sensor data, lifecycle, notes, feedback, exports, delete."""
    s = detail.session
    staff = role in (Role.TRAINER, Role.ADMIN) or role is None
    signed_in_staff = viewer_id is not None and staff and role is not None
    # an action on the report above, not part of the sensor data below
    if signed_in_staff and s.status is SessionStatus.ENDED:
        if detail.scorable:
            _score_again(engine, viewer_id, detail)
            _split(engine, viewer_id, detail)
        elif detail.pose is None and detail.imu_series is not None:
            _score_imu_again(engine, viewer_id, detail)
    _sensor_data(detail)
    if viewer_id is not None and s.status is SessionStatus.ACTIVE:
        _end_and_analyse(engine, viewer_id, detail)
    if viewer_id is not None:
        _notes_and_feedback(engine, viewer_id, detail, signed_in_staff)
    _exports(detail)
    if signed_in_staff:
        _delete(engine, viewer_id, detail)
