"""Progress's programme: this week's sessions against the athlete's programme, the share done per
week, and, for staff, the form that sets it (``physio_core.programme``)."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from pages._shared import show_table
from physio_core import felt, programme, report
from physio_core.store import AccessDenied, NotFound, StorageUnavailable
from physio_core.store.access import end_programme_item, set_programme_item

_ERRORS = (AccessDenied, NotFound, ValueError, StorageUnavailable)
NOTICE = "programme_notice"


def _exercise(name: str) -> str:
    return report.pretty_exercise(name, short=True)


def this_week(items, rows, today: date, tz, mornings=None) -> None:
    """The programme now and this week's sessions of each exercise (nothing without one);
    ``mornings`` (staff): the athlete's morning pain, for each exercise's load by the
    pain-monitoring model."""
    now = programme.this_week(items, rows, today, tz)
    if not now:
        return
    week = programme.monday(today)
    st.caption(f"This week, {week:%b %d} to {week + timedelta(days=6):%b %d}: the sessions of each exercise "
               "of the programme (a session is a day with at least one set of it), and today's sets.")
    loads = {} if mornings is None else {n.item.exercise: programme.load_advice(n.item, rows, mornings, today, tz,
                                                                                items=items) for n in now}
    # the load beside the exercise (the table's right edge is cut on a laptop), why under the
    # table; no column while no pain was said lately: nothing to go on
    with_load = any(loads.values())
    table = [{
        "exercise": _exercise(n.item.exercise),
        **({"load": None if (a := loads[n.item.exercise]) is None else a.word} if with_load else {}),
        "this week": n.week_words(),
        "today": ", ".join(x for x in (programme.day_words(n), programme.sets_words(n)) if x) or None,
        "plan": programme.plan_words(n.item),
        "note": n.item.note or None,
        "last session": None if n.last_done is None else f"{n.last_done:%Y-%m-%d}",
    } for n in now]
    show_table(table, width="stretch")
    if with_load:
        why: dict[tuple[str, str], list[str]] = {}
        for n in now:
            if (a := loads[n.item.exercise]) is not None:
                why.setdefault((a.word, a.why), []).append(_exercise(n.item.exercise))
        st.caption("Load, by the pain-monitoring model (staff only; a suggestion, the decision is the trainer's): "
                   + " ".join(f"{word.capitalize()}, {', '.join(names)}: {reason}." for (word, reason), names
                              in why.items())
                   + f" The set may hurt up to {felt.SET_LIMIT}/10; the pain should have settled by the next "
                     "morning and not rise from week to week. It may increase when the sets and mornings of the "
                     f"last {programme.LOAD_WEEKS} whole weeks stayed within that, every planned session was done "
                     "and the form held (the share of reps judged correct did not fall against the weeks before).")


def staff_form(engine, me: int, athlete_id: int, items) -> None:
    """Put an exercise in the programme (or change it), or take one off."""
    current = [it for it in items if it.ended_at is None]
    with st.expander("Set the programme", expanded=not current):
        with st.form("programme_set", clear_on_submit=True):
            c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
            exercise = c1.selectbox("Exercise", programme.exercises(), format_func=_exercise, key="programme_exercise")
            per_week = c2.number_input("Sessions a week", min_value=1, max_value=7, value=3, step=1,
                                       key="programme_per_week", help="Days a week with the exercise")
            sets = c3.number_input("Sets a session", min_value=0, max_value=20, value=3, step=1, key="programme_sets",
                                   help="0: not said. Each set is one recording: a live session from START to "
                                        "STOP, an upload, a sensor set")
            reps = c4.number_input("Reps a set", min_value=0, max_value=100, value=10, step=1, key="programme_reps",
                                   help="0: not said")
            d1, d2 = st.columns([2, 2])
            days = d1.multiselect("Days (if said)", range(7), format_func=lambda d: programme.DAY_NAMES[d],
                                  key="programme_days", placeholder="any days",
                                  help="The days of the week it is planned on; their number is then the sessions a "
                                       "week. Empty: any days")
            note = d2.text_input("Note for the athlete", max_chars=500, key="programme_note",
                                 placeholder="slow on the way down; stop if the knee hurts more than 3 of 10")
            if st.form_submit_button("Save in the programme", type="primary"):
                try:
                    it = set_programme_item(engine, me, athlete_id, exercise, len(days) or int(per_week),
                                            int(reps) or None, note, sets_per_session=int(sets) or None,
                                            days=tuple(sorted(days)))
                except _ERRORS as exc:
                    st.error(str(exc))
                else:
                    st.session_state[NOTICE] = f"{_exercise(it.exercise)}: {programme.plan_words(it)}, from now on."
                    st.rerun()
        st.caption("An exercise already in the programme is changed from now on; the weeks before keep "
                   "the plan they had.")
        if current:
            with st.form("programme_end"):
                c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
                ids = [it.id for it in current]
                names = {it.id: f"{_exercise(it.exercise)} ({programme.plan_words(it)})" for it in current}
                off = c1.selectbox("Exercise to take off", ids, format_func=names.get, key="programme_off")
                if c2.form_submit_button("Take off the programme", width="stretch"):
                    try:
                        end_programme_item(engine, me, off)
                    except _ERRORS as exc:
                        st.error(str(exc))
                    else:
                        st.session_state[NOTICE] = f"{names[off]} is taken off the programme."
                        st.rerun()


def handout_button(engine, me: int | None, athlete_id: int, athlete_name: str, today: date, tz) -> None:
    """The programme as a sheet to print for home (``physio_core.handout``), made when clicked."""
    from physio_core import exports, handout

    st.download_button(
        "Home programme (printable)", icon=":material/print:", on_click="ignore", mime="text/html",
        data=lambda: exports.handout_html(handout.build_handout(engine, athlete_id, viewer_id=me, today=today, tz=tz,
                                                                athlete=athlete_name)),
        file_name=f"home_programme_{athlete_id}_{today:%Y%m%d}.html", key="programme_handout",
        help="Each exercise of the programme on one page to print: the plan, the note, how it is done, "
             "the targets, and the athlete's own rep drawn at its start, turning point and end")


def show(engine, me: int | None, athlete_id: int, items, rows, today: date, tz, staff: bool,
         athlete_name: str = "", mornings=()) -> None:
    """The programme section, above the filters: it is what the athlete does this week."""
    if not items and not staff:
        return
    st.subheader("Programme")
    if notice := st.session_state.pop(NOTICE, None):
        st.success(notice)
    if not any(it.ended_at is None for it in items):
        st.caption("No exercise in the programme." + (" Set one below: Progress then counts the athlete's "
                                                       "sessions against it each week." if staff else ""))
    this_week(items, rows, today, tz, mornings if staff else None)
    if any(it.ended_at is None for it in items):
        handout_button(engine, me, athlete_id, athlete_name or str(athlete_id), today, tz)
    if staff and me is not None:
        staff_form(engine, me, athlete_id, items)


def adherence(items, rows, start: date, end: date, tz) -> None:
    """The share of the planned sessions done, week by week over the dates shown."""
    plans = programme.week_plans(items, rows, programme.mondays(start, end), tz)
    if not plans:
        return
    st.subheader("Programme done per week")
    st.plotly_chart(programme.adherence_figure(plans), width="stretch", key="progress_programme")
    st.caption(programme.adherence_note(plans))
