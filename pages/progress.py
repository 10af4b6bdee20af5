"""An athlete's progress over sessions: sessions and reps over time, range of motion per angle
against the trainer's targets, left/right asymmetry, stability and injury-risk trends, exercise
mix, and the programme done week by week; filtered by date range and exercise. Athletes see their
own; trainers and admins the athlete picked in the sidebar (and may set the programme and the
range-of-motion targets)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from pages._shared import (MORNING_NOTICE, SESSION_NUMBER, current_athlete_id, job_under_way, link_to_session,
                           morning_pain_form, require_engine, seen_by_athlete, session_address, show_table, tile_row,
                           tz_name, viewer_id, viewer_tz)
from physio_core import archive, background, exports, felt, progress, report
from physio_core.ml.weights import installed_judged_by


def _exercise(name: str) -> str:
    return report.pretty_exercise(name, short=True)


def _first_and_latest(ex_rows) -> tuple[str, str] | None:
    """``progress.first_and_latest``, made once per pair of sessions: the page reruns with every
    widget, and each side reads a whole session."""
    if len(ex_rows) < 2:
        return None
    key = f"progress_first_latest_{ex_rows[0].session_id}_{ex_rows[-1].session_id}"
    if key not in st.session_state:
        try:
            st.session_state[key] = progress.first_and_latest(engine, ex_rows, viewer_id=viewer_id())
        except (AccessDenied, StorageUnavailable):
            return None
    return st.session_state[key]


def _change(value: float | None, digits: int, unit: str = "", *, less_is_better: bool = False) -> dict:
    """A tile's change; one that rounds to nothing is grey and without an arrow ("±0 pts"),
    not a green rise (or a red fall, for -0.001). ``less_is_better``: a fall is green (pain)."""
    if value is None:
        return {}
    text = report.signed_change(value, digits, unit)
    if text.startswith("±"):
        return dict(delta=text, delta_color="off", delta_arrow="off")
    return dict(delta=text, delta_color="inverse" if less_is_better else "normal")


def _since(exercise: str | None) -> str:
    return f"the first {_exercise(exercise).lower()} session" if exercise else ""


st.title("Progress")

engine = require_engine()

from pages import _programme  # noqa: E402
from pages._auth import require_user  # noqa: E402
from physio_core.store import AccessDenied, StorageUnavailable, get_user  # noqa: E402
from physio_core.store.access import (delete_rom_target, may_manage_athlete, set_affected_side,  # noqa: E402
                                     set_condition, set_rom_target)

require_user(engine)  # also when the script is reached without the app shell's login gate


def _rescore_key() -> tuple[str, int | None]:
    return ("rescore", viewer_id())


def _score_older_again(ids: list[int], athlete_name: str) -> None:
    """Staff: every session shown that other weights judged (or that does not say which did),
    scored again with the installed ones, on a thread of its own (``physio_core.background``):
    the page can be left meanwhile."""
    from physio_core.rescore import score_all_again

    if not st.button(f"Score {len(ids)} session{'s' * (len(ids) != 1)} again with the installed weights",
                     key="progress_score_again"):
        return
    me_ = viewer_id()
    try:
        background.start(_rescore_key(), lambda progress: score_all_again(
            engine, me_, ids, progress=lambda k, n: progress(k, n, f"#{ids[k]}")),
            label="scoring again", meta={"athlete": athlete_name})
    except background.JobRunning as exc:
        st.error(str(exc))
        return
    st.rerun()


def _rescored(job: background.Job) -> None:
    """Say how the scoring again ended, on the page's next run."""
    if job.error is not None:
        more = " The sessions scored before it stay scored." if isinstance(
            job.error, (AccessDenied, StorageUnavailable)) else ""
        st.session_state["progress_notice"] = ("error", f"{job.meta['athlete']}: {job.error}{more}", [])
        return
    done, failed = job.result
    st.session_state["progress_notice"] = ("success", f"{job.meta['athlete']}: {len(done)} session"
                                           f"{'s' * (len(done) != 1)} scored again with the installed weights.",
                                           failed)


def _describe(job: background.Job) -> str:
    return (f"Scoring {job.meta['athlete']}'s session {job.current} again ({job.done + 1} of {job.total})…"
            if job.total else f"Scoring {job.meta['athlete']}'s sessions again…")


def _affected_side(stored: str | None) -> None:
    """The athlete's affected side: staff pick it (saved at once), the athlete reads it."""
    if not staff:
        if stored:
            st.caption(f"Affected side: **{stored}**, as the athlete's trainer set it.")
        return
    key = f"progress_affected_side_{athlete_id}"
    st.session_state[key] = stored  # what is stored, also when another trainer changed it meanwhile

    def save() -> None:
        try:
            set_affected_side(engine, me, athlete_id, st.session_state[key])
        except (AccessDenied, ValueError, StorageUnavailable) as exc:
            st.session_state["progress_notice"] = ("error", str(exc), [])

    st.radio("Affected side", [None, "left", "right"], format_func=lambda v: v or "not said", horizontal=True,
             key=key, on_change=save,
             help="The injured or operated side. Its range of motion is then compared against the other "
                  "side's: the limb symmetry index, affected in % of the other.")


def _condition(profile) -> None:
    """The athlete's condition and how long ago it began; staff say it under it."""
    today = datetime.now(viewer_tz()).date()
    if words := progress.condition_words(profile, today):
        st.caption(words)
    if not staff:
        return
    with st.expander("Condition"):
        with st.form("condition"):
            c1, c2 = st.columns([3, 1])
            text = c1.text_input("Condition", value=profile.condition, max_chars=200, key=f"condition_{athlete_id}",
                                 placeholder="ACL reconstruction, left knee")
            since = c2.date_input("Injury or operation on", value=profile.since, max_value=today,
                                  format="YYYY-MM-DD", key=f"condition_since_{athlete_id}",
                                  help="Empty: not said. The session pages say how long after it each was.")
            saved = st.form_submit_button("Save the condition")
        if saved:
            try:
                set_condition(engine, me, athlete_id, text, since, today=today)
            except (AccessDenied, ValueError, StorageUnavailable) as exc:
                st.error(str(exc))
            else:
                st.rerun()


athlete_id = current_athlete_id()
if athlete_id is None:
    st.info("Pick an athlete in the sidebar.")
    st.stop()
me = viewer_id()
# The filters are the athlete's own. Streamlit keeps a widget's value under its key across
# athletes: the Exercises the athlete before had picked, none of them this one's, left the box
# empty ("Pick at least one exercise"), and some of them hid this athlete's other exercises.
if st.session_state.get("progress_filters_of") != athlete_id:
    for key in [k for k in st.session_state if k in ("progress_dates", "progress_exercises", "progress_rom_exercise")
                or str(k).startswith("progress_angles_")]:
        del st.session_state[key]
    st.session_state["progress_filters_of"] = athlete_id

if (job := background.current(_rescore_key())) is not None and job.finished:  # before the rows are read
    _rescored(background.collect(_rescore_key()) or job)
try:
    everything = progress.load_progress(engine, athlete_id, viewer_id=me, tz=viewer_tz())
except AccessDenied as exc:
    st.error(str(exc))
    st.stop()
except StorageUnavailable as exc:
    st.error(str(exc))
    st.stop()

athlete = get_user(engine, athlete_id)
st.caption(f"Athlete: **{athlete.display_name if athlete else athlete_id}**")
if notice := st.session_state.pop("progress_notice", None):
    kind, text, failed = notice
    (st.error if kind == "error" else st.success)(text)
    for line in failed:
        st.warning(f"Not scored again: {line}")
staff = me is not None and may_manage_athlete(engine, me, athlete_id)
_condition(everything.profile)
if in_short := progress.in_short(everything, datetime.now(viewer_tz()).date()):
    with st.container(border=True):
        st.markdown("**In short**\n" + "\n".join(f"- {line}" for line in in_short))
_programme.show(engine, me, athlete_id, everything.programme, everything.rows,
                datetime.now(viewer_tz()).date(), viewer_tz(), staff,
                athlete_name=athlete.display_name if athlete else "", mornings=everything.morning)
if not everything.rows:
    st.info("No finished session for this athlete yet.")
    st.stop()

# ------------------------------------------------------------------ filters
f1, f2 = st.columns([2, 3])
opens = progress.opening(everything.rows)
picked = f1.date_input(
    "Dates", value=(opens.start, everything.last_date), min_value=everything.first_date,
    max_value=everything.last_date, key="progress_dates", format="YYYY-MM-DD",
)
# a range while it is being picked has one end only
start, end = (picked[0], picked[-1]) if isinstance(picked, (tuple, list)) and picked else (picked, picked)
if opens.note and start == opens.start:
    f1.caption(opens.note)
chosen_ex = f2.multiselect("Exercises", everything.exercises, default=everything.exercises,
                           format_func=_exercise, key="progress_exercises")
if not chosen_ex:
    st.warning("Pick at least one exercise.")
    st.stop()
rows = progress.filter_rows(everything.rows, progress.ProgressFilter(start, end, tuple(chosen_ex)))
if not rows:
    st.warning("No session in this date range for these exercises.")
    st.stop()

# ------------------------------------------------------------------ key numbers
s = progress.summary(rows)
row = tile_row()
row.metric("Sessions", s.sessions,
           help=f"Sessions stored (each a live session, an upload or a set of a video split into its sets, or a "
                f"sensor set), on {s.training_days} training day{'s' * (s.training_days != 1)}")
row.metric("Reps", s.reps)
row.metric("Active weeks", s.active_weeks)
row.metric("Stability", "–" if s.stability_score is None else f"{s.stability_score:.2f}",
           **_change(s.stability_change, 2),
           help="The score of the last session that has one" + (
               f"; the change is against {_since(s.stability_exercise)}" if s.stability_change is not None else ""))
row.metric("Correct reps", "–" if s.correct_share is None else f"{s.correct_share:.0%}",
           **_change(None if s.correct_change is None else 100 * s.correct_change, 0, " pts"),
           help="The share of reps the models judged correct, in the last session they judged"
                + (f"; the change (percentage points) is against {_since(s.correct_exercise)}"
                   if s.correct_change is not None else ""))
if s.pain is not None:
    row.metric("Pain", f"{s.pain}/10", **_change(s.pain_change, 0, less_is_better=True),
               help=f"As the athlete said for the last session that gives it: {felt.PAIN_WORDS[s.pain]} (0–10)"
                    + ("; the change is against the first pain given in these dates"
                       if s.pain_change is not None else ""))

# ------------------------------------------------------------------ charts
left, right = st.columns(2)
with left:
    st.subheader("Sessions per week", help=progress.SESSIONS_HELP)
    st.plotly_chart(progress.sessions_figure(rows), width="stretch", key="progress_sessions")
with right:
    st.subheader("Reps per session")
    if progress.has_reps(rows):
        st.plotly_chart(progress.reps_figure(rows), width="stretch", key="progress_reps")
    else:
        st.caption(progress.NO_REPS)

# the programme counts every exercise's sessions in the dates shown, whatever the Exercises picked
dated = progress.filter_rows(everything.rows, progress.ProgressFilter(start, end))
_programme.adherence(everything.programme, dated, start, end, viewer_tz())

left, right = st.columns([2, 1])
with left:
    st.subheader("Form, stability and injury risk")
    if progress.has_scores(rows):
        st.plotly_chart(progress.scores_figure(rows), width="stretch", key="progress_scores")
    else:
        st.caption(progress.NO_SCORES)
    st.subheader("Pain and effort")
    mornings = progress.mornings_between(everything.morning, start, end)
    if progress.has_felt(rows, mornings):
        st.plotly_chart(progress.felt_figure(rows, morning=mornings), width="stretch", key="progress_felt")
        st.caption(progress.FELT_NOTE + (f" {progress.MORNING_NOTE}" if mornings else ""))
    else:
        st.caption(progress.NO_FELT)
    if said := st.session_state.pop(MORNING_NOTICE, None):
        st.success(said)
    if (note := felt.morning_note(everything.morning, datetime.now(viewer_tz()).date())) is not None:
        (st.caption if note[1] else st.warning)(note[0])
    with st.expander("Pain the morning after"):
        st.caption("How much it hurts on waking, the morning after training: the training's pain should "
                   "have settled by then. The athlete says it on the live page the morning after, or here.")
        morning_pain_form(engine, athlete_id, key="progress_morning", pick_day=True)
    installed = installed_judged_by()
    if note := progress.weights_note(rows, installed):
        st.info(note if not seen_by_athlete() else (
            "Some of these sessions were scored by another version of PhysioTrack's models or scoring rules, "
            "so a change in their scores may come from that, not from you. Your trainer, or an administrator, "
            "can score them again."))
        older = progress.judged_by_other_weights(rows, installed)
        if (job := background.current(_rescore_key())) is not None and not job.finished:
            job_under_way(_rescore_key(), _describe,
                          "You can leave this page: the sessions are scored meanwhile, and this page says when.")
        elif older and staff:
            _score_older_again(older, athlete.display_name if athlete else str(athlete_id))
with right:
    st.subheader("Exercise mix")
    st.plotly_chart(progress.exercise_mix_figure(rows), width="stretch", key="progress_mix")

# range of motion and asymmetry compare like with like: one exercise at a time, of the sessions
# that measured angles (a wrist-sensor set has none)
angle_rows = [r for r in rows if r.rom_deg]
st.subheader("Range of motion vs target")
if angle_rows:
    exercises_here = sorted({r.exercise for r in angle_rows})
    main = progress.main_exercise(angle_rows)
    c1, c2 = st.columns([1, 3])
    rom_exercise = c1.selectbox("Exercise", exercises_here, index=exercises_here.index(main),
                                format_func=_exercise, key="progress_rom_exercise")
    ex_rows = [r for r in angle_rows if r.exercise == rom_exercise]
    ranked = progress.angles_by_range(ex_rows)
    default_angles = progress.default_rom_angles(ex_rows, everything.targets, rom_exercise)
    angles = c2.multiselect("Angles", ranked, default=default_angles, format_func=report.pretty_angle,
                            key=f"progress_angles_{rom_exercise}")
    st.plotly_chart(progress.rom_figure(ex_rows, angles, everything.targets, exercise=rom_exercise),
                    width="stretch", key="progress_rom")
    if angles:
        show_table(progress.rom_summary_table(progress.rom_summary(ex_rows, angles, everything.targets,
                                                                   rom_exercise)),
                   decimals=progress.ROM_TABLE_DECIMALS)
    if (drawn := _first_and_latest(ex_rows)) is not None:  # the printable report draws it too
        st.subheader(f"First and latest · {_exercise(rom_exercise)}")
        drawing, _ = st.columns([2, 1])  # a phone stacks them: the drawing takes its width
        drawing.image(drawn[0], caption=drawn[1], width="stretch")
    left, right = st.columns([3, 2])
    with left:
        affected = everything.affected_side
        if progress.one_sided(rom_exercise):
            st.subheader("Left side / right side")
            _affected_side(affected)
            st.plotly_chart(progress.sides_figure(ex_rows, affected=affected), width="stretch",
                            key="progress_sides")
            st.caption(progress.sides_note(ex_rows, rom_exercise, affected))
        else:
            st.subheader("Limb symmetry index" if affected else "Left / right asymmetry")
            _affected_side(affected)
            asym = progress.asymmetry_figure(ex_rows, affected=affected)
            if asym.data:
                st.plotly_chart(asym, width="stretch", key="progress_asym")
                st.caption(f"{_exercise(rom_exercise)}: {progress.asymmetry_note(affected)}")
            else:
                st.caption(f"{_exercise(rom_exercise)}: no angle its sessions measured on both sides "
                           f"is one whose sides can be compared (the knee, the hip's flexion, or the "
                           f"angle the reps were counted on).")
        asked = progress.recurring_corrections(ex_rows)
        if not asked.empty:
            recurring, once = progress.recurring_only(asked)
            st.subheader("Recurring corrections")
            if recurring.empty:
                st.caption(f"{_exercise(rom_exercise)}: the corrected pose asked nothing of more than one "
                           f"rep judged incorrect. {once}")
            else:
                show_table(recurring, width="stretch", column_config={
                    k: st.column_config.DatetimeColumn(k, format="YYYY-MM-DD", timezone=tz_name())
                    for k in ("first", "last")})
                st.caption(f"{_exercise(rom_exercise)}: what the corrected pose asked of the reps judged "
                           "incorrect, joint by joint (the athlete's own left and right), and in how many "
                           "reps and sessions; *other way*: the reps that asked the same joint the opposite "
                           "way. A correction that keeps coming back, and seldom the other way, is the one "
                           f"to work on. {once}")
else:
    st.caption("Range of motion and left/right asymmetry come from video sessions; these sessions "
               "are wrist-sensor sets, which measure no joint angle.")
    right = st.container()
with right:
    st.subheader("Sessions")
    table = progress.sessions_frame(rows)
    table["session"] = [session_address(i) for i in table["session"]]  # its number opens it
    show_table(table, width="stretch", labels=progress.SESSION_COLUMN_LABELS,
               decimals=progress.SESSION_DECIMALS,
               column_config={"date": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm",
                                                                      timezone=tz_name()),
                              "session": st.column_config.LinkColumn(
                                  "session", display_text=SESSION_NUMBER, help="Open the session")})
    link_to_session(rows[-1].session_id, label=f"Open the latest session (#{rows[-1].session_id})")
    name = athlete.display_name if athlete else str(athlete_id)
    buttons = st.container(horizontal=True)
    buttons.download_button(
        "Progress report (HTML)", icon=":material/print:", on_click="ignore", mime="text/html",
        data=lambda: exports.progress_report_html(
            rows, athlete=name, targets=everything.targets,
            rom_exercise=rom_exercise if angle_rows else None, angles=angles if angle_rows else (),
            programme=everything.programme, programme_rows=dated, affected_side=everything.affected_side,
            condition=progress.condition_words(everything.profile, datetime.now(viewer_tz()).date()),
            morning=progress.mornings_between(everything.morning, start, end),
            first_and_latest=_first_and_latest(ex_rows) if angle_rows else None),
        file_name=f"progress_{athlete_id}_{rows[0].date:%Y%m%d}-{rows[-1].date:%Y%m%d}.html",
        help="These charts and the sessions table as one page to print or save as PDF; the range "
             "of motion part is the exercise and angles picked above",
    )
    zone = viewer_tz()
    buttons.download_button(
        "All data (ZIP)", icon=":material/folder_zip:", on_click="ignore", mime="application/zip",
        data=lambda: archive.athlete_archive(engine, athlete_id, viewer_id=me, tz=zone),
        file_name=archive.file_name(athlete_id),
        help="Every session of this athlete, whatever the filters above: each one's data files "
             "(CSV, JSON, OpenSim) and printable report, a table of the sessions and the progress "
             "report of them all, in one file. It takes about half a second a session to make.",
    )

# ------------------------------------------------------------------ targets (trainers, admins)
if angle_rows and staff:
    with st.expander("Range-of-motion targets"):
        for t in everything.targets:
            st.write(f"{report.pretty_angle(t.angle)} · {_exercise(t.exercise) if t.exercise else 'any exercise'}"
                     f": **{t.target_deg:.0f}°**")
        with st.form("rom_target"):
            c1, c2, c3 = st.columns(3)
            t_angle = c1.selectbox("Angle", ranked, format_func=report.pretty_angle)
            t_ex = c2.selectbox("Exercise", ["", *everything.exercises],
                                index=1 + everything.exercises.index(rom_exercise),
                                format_func=lambda e: _exercise(e) if e else "any exercise")
            t_deg = c3.number_input("Target range (°)", min_value=1.0, max_value=360.0, value=90.0, step=5.0)
            save, remove = st.columns(2)
            do_save = save.form_submit_button("Save target", type="primary")
            do_remove = remove.form_submit_button("Remove target")
        if do_save or do_remove:
            try:
                if do_save:
                    set_rom_target(engine, me, athlete_id, t_angle, t_deg, t_ex)
                else:
                    delete_rom_target(engine, me, athlete_id, t_angle, t_ex)
            except (AccessDenied, ValueError, StorageUnavailable) as exc:
                st.error(str(exc))
            else:
                st.rerun()
