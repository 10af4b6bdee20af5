"""Helpers shared by the app shell and the pages: database, current athlete, the report view.

The pages stay thin: everything they show comes from physio_core (pipeline, report, overlay,
store); this module only lays it out with Streamlit.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import streamlit as st

from physio_core import exports, felt, report
from physio_core.results import SessionResult, on_clock

log = logging.getLogger("physiotrack.app")

ROOT = Path(__file__).resolve().parents[1]
SESSION_DETAIL_PAGE = "pages/session_detail.py"
ATHLETE_KEY = "athlete_id"  # st.session_state key of the athlete picked in the sidebar
PICKER_KEY = "athlete_select"  # the sidebar's select box (with "_N" once code has picked: ``pick_athlete``)
_PICKS = "athlete_picks"  # how many times code has picked the athlete
USER_KEY = "user_id"  # set by a login gate when there is one; None = trusted local use
ROLE_KEY = "user_role"  # the logged-in user's role ("athlete", "trainer", "admin"), with USER_KEY
_BANNER_KEY = "db_banner"  # the database's reason the app's banner shows on this run, if any
_FAILED_THIS_RUN_KEY = "db_failed_this_run"  # set by one_database_attempt: the app shell's run


def viewer_tz() -> tzinfo:
    """The time zone of the viewer's browser; UTC where it does not say (AppTest, bare runs)."""
    name = st.context.timezone
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def tz_name() -> str:
    """How the pages name the viewer's time zone ("Europe/Madrid", "UTC")."""
    return str(viewer_tz())


def local_time(when: datetime) -> datetime:
    """A stored time (UTC) as the viewer's clock shows it."""
    return on_clock(when, viewer_tz())


def shown_time(dt: datetime) -> str:
    """A stored time written for the viewer: "2026-11-30 15:02", on their clock."""
    return f"{local_time(dt):%Y-%m-%d %H:%M}"


def exercise_choice(name: str) -> str:
    """How an Exercise box writes its options: "auto" is "Detect automatically"."""
    return "Detect automatically" if name == "auto" else report.pretty_exercise(name)


# ------------------------------------------------------------------ navigation


def _leave_pages_directory_mode() -> None:
    """Run every page through app.py's st.navigation, even on a fresh server's first visit.

    Streamlit treats an app with a ``pages/`` folder as an old-style multipage app until some
    script calls ``st.navigation``: a first visitor who opens /upload directly would get the
    bare page, without the app shell (sidebar, athlete picker). When a page is run that way,
    switch Streamlit to st.navigation mode for the whole process and rerun: the rerun goes
    through app.py and lands on the same URL.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    except ImportError:  # internals moved in a later Streamlit: keep the old behaviour
        return
    if PagesManager.uses_pages_directory and get_script_run_ctx() is not None:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_pages_directory_mode()


@dataclass(frozen=True)
class PageSpec:
    group: str
    title: str
    url_path: str
    icon: str
    path: Path | None  # the page's script; None = a placeholder drawn by the app shell
    default: bool = False


def navigation_spec(root: Path = ROOT) -> list[PageSpec]:
    """The app's pages in navigation order. Pages other engineers add (live session,
    administration) appear as soon as their file exists; the live entry is a placeholder
    until then."""
    pages = root / "pages"
    live = pages / "live.py"
    specs = [
        PageSpec("Analyse", "Live session", "live", ":material/videocam:",
                 live if live.is_file() else None),
        PageSpec("Analyse", "Upload analysis", "upload", ":material/upload_file:",
                 pages / "upload.py", default=True),
        PageSpec("Analyse", "Sensor set (IMU)", "imu", ":material/sensors:", pages / "imu.py"),
        PageSpec("History", "Sessions", "sessions", ":material/list:", pages / "sessions.py"),
        PageSpec("History", "Session detail", "session_detail", ":material/insights:",
                 pages / "session_detail.py"),
        PageSpec("History", "Progress", "progress", ":material/trending_up:",
                 pages / "progress.py"),
    ]
    for group, title, url, icon, name in (
        ("Account", "Log in", "login", ":material/login:", "login.py"),
        ("Account", "My account", "account", ":material/person:", "account.py"),
        ("Account", "Administration", "admin", ":material/admin_panel_settings:", "admin.py"),
    ):
        if (pages / name).is_file():
            specs.append(PageSpec(group, title, url, icon, pages / name))
    return specs


def tile_row():
    """A row of metric tiles that wraps onto another line when the page is narrow (a tablet with
    the sidebar open), where ``st.columns`` would cut each tile's label and value ("Stabi…")."""
    return st.container(horizontal=True, gap="medium")


def wrapping_columns(key: str, min_px: tuple[int, int]):
    """Two columns, 3:2, side by side while each keeps its ``min_px``, else the second under the
    first, as wide as the page. A 3D view's field of view is fixed
    vertically, so a narrow one (a tablet with the sidebar open) cuts the sides of its box;
    Streamlit's own columns stack only at a phone's width."""
    rule = f".st-key-{key} [data-testid='stHorizontalBlock']"
    with st.container(key=key):
        st.html(f"<style>{rule} {{ flex-wrap: wrap; }}"
                f"{rule} > [data-testid='stColumn']:first-child {{ flex: 3 1 {min_px[0]}px; }}"
                f"{rule} > [data-testid='stColumn']:last-child {{ flex: 2 1 {min_px[1]}px; }}</style>")
        return st.columns([3, 2])


def app_style() -> None:
    """Style rules of every page. A multiselect's chip cuts its text at 128 px, so that
    "Shoulder abduction (R)" and "(L)" both read "Shoulder abductio…": a chip is as wide as its
    name (still never wider than its box)."""
    st.html("<style>[data-baseweb='tag'] > span[title] { max-width: none; }</style>")


def text_metric(label: str, value: str, *, help: str | None = None) -> None:
    """A metric tile for words: its value wraps onto a second line in a narrow column, where
    ``st.metric`` cuts it ("Shoulder ab…")."""
    st.markdown(
        f":small[{label}]  \n<span style='font-size:1.75rem;line-height:1.25'>{html.escape(value)}</span>",
        unsafe_allow_html=True, help=help)


# ------------------------------------------------------------------ tables

MISSING = "–"  # a table's missing value (Streamlit's own is the word "None")


def show_table(data, *, decimals: Mapping[str, int] | None = None, labels: Mapping[str, str] | None = None,
               helps: Mapping[str, str] | None = None, column_config: dict | None = None, where=None,
               **kwargs):
    """``st.dataframe`` as every table of the app shows one: no index, "–" where a value is
    missing, ``decimals`` fixed per column (Streamlit writes 1.3 above 10.97 otherwise),
    ``labels`` as the headers of columns whose data keep their own names and ``helps`` as the
    tooltips of number columns. ``where``: the container (default: the page)."""
    labels, helps = labels or {}, helps or {}
    config: dict = dict(labels)
    for col, n in (decimals or {}).items():
        config[col] = st.column_config.NumberColumn(labels.get(col), format=f"%.{n}f", help=helps.get(col))
    config.update(column_config or {})
    return (where or st).dataframe(data, hide_index=True, placeholder=MISSING, column_config=config, **kwargs)


# ------------------------------------------------------------------ database


@contextmanager
def one_database_attempt() -> Iterator[None]:
    """The app shell's run: once the database could not be opened, or could not be read through
    the engine made before, the parts that follow do not try it again in this run (the shell's
    login check, the athlete picker and the page each ask; a server that does not answer makes
    each attempt wait out the connect timeout): ``get_engine`` and ``database_failed_this_run``."""
    st.session_state[_FAILED_THIS_RUN_KEY] = None
    try:
        yield
    finally:  # also when the page stops or reruns; a page script run alone tries each time
        st.session_state.pop(_FAILED_THIS_RUN_KEY, None)


def database_failed(reason: str, *, opened: bool) -> None:
    """The database cannot be used, for ``reason`` (the banner's): its engine could not be made
    (``opened`` False), or it was made before and a read through it failed."""
    st.session_state["db_error"] = reason
    if _FAILED_THIS_RUN_KEY in st.session_state:
        st.session_state[_FAILED_THIS_RUN_KEY] = "read" if opened else "open"


def database_failed_this_run() -> bool:
    """Whether the database failed earlier in the app shell's run (``db_error`` says why)."""
    return bool(st.session_state.get(_FAILED_THIS_RUN_KEY))


def get_engine():
    """The database engine, or None (with the reason in session_state) when it cannot be opened.
    After a failed read in the app shell's run, the engine made before (kept by the live page, to
    save a session once the database is back), with the failure's reason kept."""
    from physio_core.store import StorageUnavailable, init_db

    failed = st.session_state.get(_FAILED_THIS_RUN_KEY)
    if failed == "open":
        return None  # db_error holds the reason found earlier in this run
    try:
        engine = init_db()  # made before, when a read failed: the cached one, nothing tried
    except Exception as exc:
        if isinstance(exc, StorageUnavailable):  # says what is wrong, and what to do, in a sentence or two
            database_failed(str(exc), opened=False)
        else:  # a broken URL or driver: same answer for the user
            log.exception("database initialisation failed")
            database_failed(f"The database cannot be opened: {exc}.", opened=False)
        return None
    if not failed:
        st.session_state.pop("db_error", None)
    return engine


def db_error_message(analyses_go_on: bool = True) -> str:
    """Why nothing is saved: the StorageUnavailable's own words (the database cannot be reached,
    or cannot serve, and what to do), and that analyses go on (not on the login page, where
    nothing can be analysed before logging in)."""
    why = st.session_state.get("db_error") or "The database cannot be opened."
    return f"{why} Analyses still work but are not saved." if analyses_go_on else why


@contextmanager
def database_banner() -> Iterator[None]:
    """The app's banner at the top of every page while the database cannot be used: its reason,
    said once. ``db_error_here`` points to it from the sidebar and the page drawn inside; a page
    script run alone (AppTest runs one) gives the reason itself."""
    if st.session_state.get("db_error"):
        st.warning(db_error_message(), icon=":material/cloud_off:")
        st.session_state[_BANNER_KEY] = st.session_state["db_error"]
    try:
        yield
    finally:  # also when the page stops or reruns
        st.session_state.pop(_BANNER_KEY, None)


def db_error_here(what: str, reason: str | None = None) -> str:
    """What a part of the page says of the database it cannot use: ``what`` and a pointer to the
    banner when the banner gives ``reason`` (default: the page's last one), else ``what`` and the
    reason in full. The banner's reason said again under it, beside it in the sidebar and in the
    page read as three problems."""
    reason = reason or st.session_state.get("db_error") or "The database cannot be opened."
    if st.session_state.get(_BANNER_KEY) == reason:
        return f"{what}: the message at the top of the page says why."
    return f"{what}. {reason}"


def stop_for_database(reason: str | None = None, *, does: str = "shows what is stored") -> NoReturn:
    """Stop a page of stored data, saying it needs the database (what the page ``does`` with it,
    and why it cannot be used: ``db_error_here``)."""
    st.error(db_error_here(f"This page {does}, and the database cannot be used now", reason))
    st.stop()


def require_engine():
    """The database engine for a page that cannot work without it; else why not and st.stop()."""
    engine = get_engine()
    if engine is None:
        stop_for_database()
    return engine


def viewer_id() -> int | None:
    return st.session_state.get(USER_KEY)


def current_athlete_id() -> int | None:
    return st.session_state.get(ATHLETE_KEY)


def picker_key() -> str:
    """The sidebar select box's key now."""
    n = st.session_state.get(_PICKS, 0)
    return PICKER_KEY if n == 0 else f"{PICKER_KEY}_{n}"


def pick_athlete(athlete_id: int | None) -> None:
    """Pick the athlete from code (a link, a new athlete, an import; None: the first one), for
    the sidebar's next drawing. Its select box is drawn anew, under another key: one the browser
    shows already kept showing its own choice, and sent it back at the next click anywhere, so
    that a page about the new athlete sat under the old one's name, and the next page was the
    old one's."""
    st.session_state.pop(picker_key(), None)
    st.session_state[_PICKS] = st.session_state.get(_PICKS, 0) + 1
    if athlete_id is None:
        st.session_state.pop(ATHLETE_KEY, None)
    else:
        st.session_state[ATHLETE_KEY] = athlete_id


def job_under_way(key, describe, leave: str) -> None:
    """Long work on a thread of its own (``physio_core.background``), drawn in a fragment redrawn
    every second: its progress bar (``describe(job)`` its text) and ``leave``, a word that the
    page may be left; once it has ended, the whole page again, which says how it ended."""
    from physio_core import background

    def draw() -> None:
        job = background.current(key)
        if job is None:
            return
        if job.finished:
            st.rerun(scope="app")
        st.progress(job.share, text=describe(job))
        st.caption(leave)

    st.fragment(draw, run_every=1.0)()


def athlete_picker(engine, *, container=None) -> int | None:
    """Athlete select box plus a 'new athlete' field; returns the chosen athlete's id."""
    from physio_core.store import get_or_create_athlete, list_athletes
    from physio_core.store.access import add_athlete_as, athletes_for

    me = viewer_id()
    box = container or st.sidebar
    box.subheader("Athlete")
    if engine is None or database_failed_this_run():
        box.warning(db_error_here("No athletes to pick while the database cannot be used"))
        return None
    try:
        # logged in: only the athletes this user may work with (the queries check it too)
        athletes = list_athletes(engine) if me is None else athletes_for(engine, me)
    except Exception as exc:
        box.warning(db_error_here("Could not read the athletes", str(exc)))
        return None
    ids = [a.id for a in athletes]
    names = {a.id: a.display_name for a in athletes}
    wanted = st.query_params.get("athlete")  # a link to an athlete's page (?athlete=ID), once
    refused = False
    if wanted is not None:
        del st.query_params["athlete"]
        if wanted.isdigit() and int(wanted) in ids:
            pick_athlete(int(wanted))
        else:
            refused = True
    current = st.session_state.get(ATHLETE_KEY)
    if ids:
        index = ids.index(current) if current in ids else 0
        chosen = box.selectbox("Athlete", ids, index=index, format_func=names.get,
                               key=picker_key(), label_visibility="collapsed")
        st.session_state[ATHLETE_KEY] = chosen
    else:
        box.caption("No athlete yet: create one below.")
        st.session_state.pop(ATHLETE_KEY, None)
    if refused:  # said on the page: else the link's reader takes the athlete shown for the one linked
        shown = f"**{names[chosen]}**" if ids else "no athlete"
        which = f" ({wanted})" if wanted.isdigit() else ""  # never echo a link's own text as markdown
        st.warning(f"The link names an athlete{which} who is not among yours; showing {shown} instead.")
    if me is not None and st.session_state.get("user_role") == "athlete":
        return st.session_state.get(ATHLETE_KEY)  # athletes do not create athletes
    with box.form("new_athlete", clear_on_submit=True, border=False):
        name = st.text_input("New athlete", placeholder="Name of a new athlete")
        if st.form_submit_button("Add athlete") and name.strip():
            try:
                athlete = (get_or_create_athlete(engine, name) if me is None
                           else add_athlete_as(engine, me, name))
            except Exception as exc:
                st.error(f"Could not create the athlete: {exc}")
            else:
                pick_athlete(athlete.id)
                st.rerun()
    return st.session_state.get(ATHLETE_KEY)


def session_address(session_id: int) -> str:
    """The session detail page's address, relative to the app's root (a table's link column
    takes it; ``SESSION_NUMBER`` shows the number in it)."""
    return f"session_detail?id={session_id}"


SESSION_NUMBER = r"session_detail\?id=(\d+)"  # a LinkColumn's display_text: the number of session_address


def link_to_session(session_id: int, label: str | None = None) -> None:
    """A link to the session detail page (works inside st.navigation and stand-alone)."""
    label = label or f"Open session #{session_id}"
    try:
        st.page_link(SESSION_DETAIL_PAGE, label=label, icon=":material/insights:",
                     query_params={"id": str(session_id)})
    except Exception:  # page not registered (a page run on its own): a plain link
        st.markdown(f"[{label}]({session_address(session_id)})")


def save_for_athlete(entry: dict, as_viewer: Callable[[Any, int, int], int],
                     unchecked: Callable[[Any, int], int]) -> None:
    """Save a page's analysis (``entry``) once, for the athlete picked in the sidebar: logged in,
    ``as_viewer(engine, viewer_id, athlete_id)`` (the role-checked save); else
    ``unchecked(engine, athlete_id)``. The new session's id, or why it failed, lands in ``entry``
    (which keeps the analysis, so nothing is lost when the database is away)."""
    athlete_id = current_athlete_id()
    if athlete_id is None or entry.get("session_id") is not None:
        return
    engine = get_engine()
    if engine is None:
        return
    entry.pop("save_error", None)
    try:
        me = st.session_state.get(USER_KEY)
        entry["session_id"] = as_viewer(engine, me, athlete_id) if me is not None else unchecked(engine, athlete_id)
    except Exception as exc:
        log.exception("saving the session failed")
        entry["save_error"] = str(exc)


FELT_CHOICES = [None, *felt.SCALE]


def felt_form(engine, session_id: int, pain: int | None, effort: int | None, *, key: str,
              on_saved: Callable[[str], None], others: Sequence[int] = ()) -> None:
    """How the set felt, pain and effort 0-10: the athlete says it, or staff write down what the
    athlete said. Progress draws them over the weeks. ``on_saved`` gets the sentence saying what
    was saved; widgets are keyed ``{key}_pain_{session_id}`` and ``{key}_effort_{session_id}``.
    ``others``: the sessions of the recording's other sets, which a tick gives the same answer
    where none was given yet (one question for a workout, not one per set)."""
    from physio_core.store import AccessDenied, NotFound, StorageUnavailable, access, set_felt

    with st.form(f"{key}_{session_id}"):
        c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
        pain = c1.selectbox("Pain during the set", FELT_CHOICES, index=FELT_CHOICES.index(pain),
                            format_func=felt.pain_label, key=f"{key}_pain_{session_id}",
                            help="0 no pain … 10 the worst pain imaginable (numeric rating scale)")
        effort = c2.selectbox("Effort", FELT_CHOICES, index=FELT_CHOICES.index(effort),
                              format_func=felt.effort_label, key=f"{key}_effort_{session_id}",
                              help="0 rest … 10 maximal (Borg CR10, session RPE)")
        also = bool(others) and st.checkbox(
            "The same for the recording's other " + ("set" if len(others) == 1 else f"{len(others)} sets")
            + ", where not said yet",
            value=True, key=f"{key}_others_{session_id}")
        if c3.form_submit_button("Save how it felt", width="stretch"):
            viewer = st.session_state.get(USER_KEY)

            def put(sid: int, unsaid_only: bool = False) -> bool:
                if viewer is None:  # trusted local use, no login gate
                    return set_felt(engine, sid, pain, effort, unsaid_only=unsaid_only)
                return access.set_felt_as(engine, viewer, sid, pain, effort, unsaid_only=unsaid_only)

            try:
                put(session_id)
                same = [sid for sid in (others if also else ()) if put(sid, unsaid_only=True)]
            except (AccessDenied, NotFound, ValueError, StorageUnavailable) as exc:
                st.error(str(exc))
            else:
                said = felt.in_words(pain, effort) or "pain and effort not asked"
                kept = [sid for sid in others if also and sid not in same]
                on_saved(f"Saved how session #{session_id} felt: {said}."
                         + (f" The same for {_ids(same)}." if same else "")
                         + (f" {_ids(kept).capitalize()} had {'its' if len(kept) == 1 else 'their'} own "
                            "already." if kept else ""))
        if st.session_state.get(ROLE_KEY) == "athlete":
            st.caption("How did the set feel? Progress draws it over the weeks.")
        elif pain is None and effort is None:
            st.caption("Ask the athlete how the set felt: Progress draws it over the weeks.")
        else:
            st.caption("How the athlete said the set felt. Progress draws it over the weeks.")


def morning_pain_form(engine, athlete_id: int, *, key: str, pick_day: bool) -> None:
    """The pain the athlete feels the morning after training (``felt.morning_note``), 0-10: the
    athlete says it, or staff write down what they said. ``pick_day``: a day to pick (Progress,
    for a morning not said at the time); else this morning's (the live page). Saved: the page
    runs again with what was said."""
    from physio_core.store import AccessDenied, NotFound, StorageUnavailable
    from physio_core.store.access import set_morning_pain

    today = datetime.now(viewer_tz()).date()
    with st.form(key):
        if pick_day:
            c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
            day = c1.date_input("Morning of", value=today, max_value=today, key=f"{key}_day")
        else:
            c2, c3 = st.columns([4, 1], vertical_alignment="bottom")
            day = today
        said = c2.selectbox("Pain that morning" if pick_day else "Pain this morning", felt.SCALE,
                            format_func=felt.pain_label, key=f"{key}_pain",
                            help="0 no pain … 10 the worst pain imaginable, on waking, the morning after training")
        if c3.form_submit_button("Save", width="stretch"):
            try:
                set_morning_pain(engine, viewer_id(), athlete_id, day, said, today=today)
            except (AccessDenied, NotFound, ValueError, StorageUnavailable) as exc:
                st.error(str(exc))
            else:
                st.session_state[MORNING_NOTICE] = f"Saved: pain {said}/10 on the morning of {day:%Y-%m-%d}."
                st.rerun()


MORNING_NOTICE = "morning_pain_notice"


def programme_now(engine, athlete_id: int, exercise: str, rows=None, items=None):
    """The athlete's programme for ``exercise`` now (``programme.ItemNow``: this week's sessions
    and today's sets, on the viewer's clock); None when the exercise is not in it. ``rows``,
    ``items``: the athlete's sessions and programme, where read already; else the programme and
    only the sessions of the exercise are read. Storage errors are the caller's."""
    from physio_core import programme
    from physio_core.store import progress_for_athlete
    from physio_core.store.access import programme as programme_of

    if items is None:
        items = programme_of(engine, athlete_id, viewer_id=viewer_id())
    items = [it for it in items if it.exercise == exercise]
    if not any(it.ended_at is None for it in items):
        return None
    if rows is None:
        rows = progress_for_athlete(engine, athlete_id, exercise, viewer_id=viewer_id())
    return next(iter(programme.this_week(items, rows, datetime.now(viewer_tz()).date(), viewer_tz())), None)


def programme_line(engine, session_id: int, athlete_id: int) -> str:
    """Where the saved session leaves its exercise's programme this week ("Deep squat: set 2 of 3
    today; 1 of 3 sessions of the programme this week."); "" when the exercise is not in the
    programme. Read once per session: the page reruns with every frame scrubbed."""
    key = f"programme_line_{session_id}"
    if key in st.session_state:
        return st.session_state[key]
    from physio_core import programme
    from physio_core.store import progress_for_athlete

    line = ""
    try:
        rows = progress_for_athlete(engine, athlete_id, viewer_id=viewer_id())
        this = next((r for r in rows if r.session_id == session_id), None)
        today = datetime.now(viewer_tz()).date()
        # a set dated in another week (a phone's clip filmed last month) changes nothing this week
        if (this is not None and local_time(this.date).date() >= programme.monday(today)
                and (now := programme_now(engine, athlete_id, this.exercise, rows)) is not None):
            parts = ([f"{now.done} of {now.planned} sessions of the programme this week"
                      + (", done" if now.done >= now.planned else "")] if now.planned
                     else ["the programme asks it from next week"])
            sets = now.item.sets_per_session
            if local_time(this.date).date() == today and sets:  # a session of the programme is a day's sets
                parts.insert(0, f"set {now.sets_today} of {sets} today" if now.sets_today <= sets
                             else f"{now.sets_today} sets today, {sets} planned")
            line = f"{report.pretty_exercise(this.exercise, short=True)}: {'; '.join(parts)}."
    except Exception:  # a word of encouragement is not worth an error on the page
        log.warning("could not read the programme for session %s", session_id, exc_info=True)
        return ""
    st.session_state[key] = line
    return line


def _ids(session_ids: Sequence[int]) -> str:
    """ "session #12", "sessions #12, #13" """
    return f"session{'s' * (len(session_ids) > 1)} " + ", ".join(f"#{sid}" for sid in session_ids)


def felt_after_save(session_id: int, athlete_id: int | None, others: Sequence[int] = ()) -> None:
    """Right after a set is saved: where it leaves the athlete's programme this week, and how it
    felt, asked while the athlete is still there to say (for the recording's ``others`` sets too)."""
    engine = get_engine()
    if engine is None:
        return
    if athlete_id is not None and (line := programme_line(engine, session_id, athlete_id)):
        st.info(line, icon=":material/event_available:")
    said = f"felt_said_{session_id}"

    def saved(message: str) -> None:
        st.session_state[said] = message

    felt_form(engine, session_id, None, None, key="felt_now", on_saved=saved, others=others)
    if message := st.session_state.get(said):
        st.success(message)


def saved_as(entries: list[dict]) -> list[str]:
    """Each entry's session ("#12"), or "not saved": the session column of a table of sets."""
    return [f"#{e['session_id']}" if e.get("session_id") is not None else "not saved" for e in entries]


def save_status(entry: dict, save: Callable[[], None], what: str, sets: Sequence[dict] = ()) -> None:
    """Under an analysis: where it was saved, why it was not (with a retry), or how to save it.
    ``sets``: the entries of every set of the recording, ``entry`` among them."""
    if entry.get("session_id") is not None:
        st.success(f"Saved as session #{entry['session_id']}.")
        link_to_session(entry["session_id"])
        felt_after_save(entry["session_id"], current_athlete_id(),
                        [e["session_id"] for e in sets if e is not entry and e.get("session_id") is not None])
    elif entry.get("save_error"):
        st.warning(f"The {what} could not be saved: {entry['save_error']}")
        if st.button("Try saving again"):
            save()
            st.rerun()
    elif current_athlete_id() is None:
        if st.session_state.get("db_error"):
            st.info(db_error_here(f"This {what} is not saved while the database cannot be used"))
        else:
            st.info(f"Pick or add an athlete in the sidebar to save this {what}.")
    elif st.button("Save session"):
        save()
        st.rerun()


# ------------------------------------------------------------------ the report


def _frame_image(video_path: Path, result: SessionResult, index: int, max_side: int | None):
    from physio_core.annotate import draw_result_frame
    from physio_core.video import read_frame

    # by time, not index: a slow-motion clip is analysed one frame in two or four
    t = float(result.pose.times[index])
    return draw_result_frame(read_frame(video_path, time_s=t, max_side=max_side), result, index, t)


def _scrubber(result: SessionResult, video_path: Path | None, max_side: int | None, key: str) -> None:
    """The frame slider, the video frame with the analysis drawn (when the video is kept), the 3D
    pose of that frame and the angle chart with the frame's time marked."""
    valid = result.pose.valid
    n = len(result.pose)
    default = int(np.flatnonzero(valid)[0]) if valid.any() else 0
    # a single frame (a session stored before a one-frame video was refused) has nothing to scrub:
    # Streamlit refuses a slider from 0 to 0
    index = st.slider("Frame", 0, n - 1, default, key=f"{key}_frame",
                      help="Scrub through the recording") if n > 1 else 0
    t_now = float(result.pose.times[index])
    if video_path is not None and Path(video_path).is_file():
        left, right = wrapping_columns(f"{key}_frame_and_pose", (420, 360))
        with left:
            try:
                st.image(_frame_image(Path(video_path), result, index, max_side),
                         caption=f"frame {index} · {t_now:.2f} s", width="stretch")
            except Exception as exc:
                log.exception("frame %s could not be drawn", index)
                st.info(f"This frame cannot be shown ({exc}).")
    else:  # no empty column beside the 3D view
        st.caption("The video itself is not stored: the skeleton and angles are.")
        right = st.container()
    with right:
        if valid[index]:
            st.plotly_chart(
                report.skeleton_figure(result.pose.joints[index], result.pose.confidence[index],
                                       title=f"3D pose at {t_now:.2f} s"),
                key=f"{key}_3d", width="stretch",
            )
        else:
            st.info("No person in this frame.")
    _angles_chart(result, t_now, key)


def _angles_chart(result: SessionResult, t_now: float | None, key: str) -> None:
    valid = result.pose.valid if len(result.pose) else None
    if result.angles.names:
        names = report.principal_angles(result.angles, result.reps, valid, exercise=result.session_exercise)
        chosen = st.multiselect(
            "Angles", list(result.angles.names), default=names, key=f"{key}_angles",
            format_func=report.pretty_angle,
        )
        st.plotly_chart(report.angles_figure(result.angles, result.reps, chosen, current_s=t_now,
                                             valid=valid, assessments=result.rep_assessments),
                        key=f"{key}_angles_chart", width="stretch")


# what the rep table's tempo columns measure
TEMPO_HELP = {"to turn (s)": "From the rep's start to its turning point: the way down of a squat, the way up "
                             "of an arm raise",
              "back (s)": "From the turning point to the rep's end"}


REPS_ASKED_HELP = "Reps a set, as the athlete's programme asks"


def render_report(
    result: SessionResult,
    *,
    video_path: Path | None = None,
    max_side: int | None = 640,
    key: str = "report",
    file_stem: str = "session",
    printable: str | None = None,
    more_downloads: Sequence[exports.Export] = (),
    reps_asked: int | None = None,
) -> None:
    """The full report of one result: scrubber with the skeleton, 3D view, angle chart,
    reps (table + chart) and downloads. ``video_path`` enables the video frames. ``printable``:
    the title of a printable report among the downloads. ``more_downloads``: a stored session's
    own files (``exports.session_exports``, its printable report among them), in the same row.
    ``reps_asked``: the reps a set the athlete's programme asks of the exercise (the Reps tile
    reads "7 of 10")."""
    n = len(result.pose)

    row = tile_row()
    if reps_asked:
        row.metric("Reps", f"{result.rep_count} of {reps_asked}", help=REPS_ASKED_HELP)
    else:
        row.metric("Reps", result.rep_count)
    row.metric("Person found", f"{result.frames_with_person / max(1, result.frames):.0%}",
               help=f"{result.frames_with_person} of {result.frames} frames"
                    + (f", by the pose estimator {result.backend}" if result.backend else ""))
    duration = result.duration_s  # from the frames' times: an unfinished live session's fps is nominal
    row.metric("Duration", f"{duration:.1f} s" if duration is not None else "–")
    if st.session_state.get("user_role") != "athlete":  # which estimator measured is the staff's concern
        row.metric("Pose backend", result.backend or "–")
    _assessment_summary(result)
    for w in result.all_warnings:
        st.warning(w)
    for f in result.feedback:
        st.info(f)

    if n:
        # the scrubber and the angle chart (its "now" line follows the scrubber) rerun on their
        # own: moving through a long session must not re-read and redraw the whole page
        st.fragment(_scrubber)(result, video_path, max_side, key)
    else:
        _angles_chart(result, None, key)

    st.subheader(f"Repetitions ({result.rep_count})")
    if result.reps and result.rep_assessments:
        # picking a rep (a row of the table, or the picker) reruns this part alone, as the scrubber
        st.fragment(_judged_reps)(result, key)
    elif result.reps:
        a, b = st.columns([3, 2])
        show_table(_said_once(report.reps_view_table(result.reps), a), where=a, width="stretch",
                   decimals=report.REPS_VIEW_DECIMALS, helps=TEMPO_HELP)
        b.plotly_chart(report.reps_figure(result.reps), key=f"{key}_reps_chart", width="stretch")
    else:
        st.caption("No repetition was counted.")

    # built when clicked, not on every rerun (a 10-min session's three: about 0.3 s)
    st.subheader("Downloads")
    row = st.container(horizontal=True)
    row.download_button("Angles (CSV)", lambda: report.angles_csv(result.angles),
                        file_name=f"{file_stem}_angles.csv", mime="text/csv", key=f"{key}_dl_csv",
                        on_click="ignore")
    row.download_button("Summary (JSON)", lambda: report.summary_json(result, include_series=True),
                        file_name=f"{file_stem}_summary.json", mime="application/json",
                        key=f"{key}_dl_json", on_click="ignore")
    if n:
        row.download_button("3D joints (CSV)", lambda: report.pose_csv(result.pose),
                            file_name=f"{file_stem}_joints.csv", mime="text/csv",
                            key=f"{key}_dl_pose", on_click="ignore")
    if printable:
        zone = viewer_tz()
        row.download_button("Printable report (HTML)", lambda: exports.html_report(result, title=printable, tz=zone),
                            file_name=f"{file_stem}_report.html", mime="text/html", key=f"{key}_dl_html",
                            on_click="ignore", icon=":material/print:")
    for e in more_downloads:
        row.download_button(e.label, data=e.build, file_name=e.file_name, mime=e.mime, key=f"{key}_dl_{e.file_name}",
                            on_click="ignore", icon=":material/print:" if e.mime == "text/html" else None)
    if n and video_path is not None and Path(video_path).is_file():
        _annotated_video(result, Path(video_path), key, file_stem, max_side)


def _what_is_drawn(result: SessionResult, video_path: Path) -> str:
    """A digest of what an annotated video of ``result`` shows: a new analysis of the same file
    (another exercise, End and analyse) needs a new video."""
    import hashlib

    kp = result.pose.keypoints_2d if result.pose.keypoints_2d is not None else result.pose.joints
    labels = (str(video_path), [r.to_dict() for r in result.reps],
              [a.get("mistake") for a in result.rep_assessments])
    return hashlib.sha1(repr(labels).encode() + np.nan_to_num(kp).tobytes()).hexdigest()


def _annotated_video(result: SessionResult, video_path: Path, key: str, file_stem: str,
                     max_side: int | None) -> None:
    """The video with the analysis drawn on it, made on request (it takes a while: every frame
    is decoded, drawn and encoded again), then played here and offered as a download."""
    import tempfile

    from physio_core.annotate import write_annotated_video

    state = f"{key}_annotated"
    held = st.session_state.get(state)
    if held is not None and held["drawn"] != _what_is_drawn(result, video_path):
        del st.session_state[state]  # another analysis's: free its bytes
        held = None
    if held is None:
        if st.button("Make the annotated video", key=f"{key}_annotate", icon=":material/movie:",
                     help="The video with the skeleton, angles, rep count and each rep's verdict "
                          "drawn on it (MP4), to watch here or send to the athlete."):
            bar = st.progress(0.0, text="Drawing the analysis on every frame…")
            try:
                with tempfile.TemporaryDirectory(prefix="physio_annotated_") as tmp:
                    made = write_annotated_video(video_path, result, Path(tmp) / "annotated.mp4",
                                                 max_side=max_side, progress=lambda f: bar.progress(f))
                    data = made.path.read_bytes()
            except Exception as exc:
                log.exception("annotated video of %s failed", video_path.name)
                bar.empty()
                st.error(f"The annotated video could not be made ({exc}). The report above is unaffected.")
                return
            st.session_state[state] = {"drawn": _what_is_drawn(result, video_path), "data": data}
            st.rerun()
        return
    player, _ = st.columns([3, 2])  # as wide as the frame view above, not the whole page
    player.video(held["data"], format="video/mp4")
    st.download_button("Annotated video (MP4)", held["data"], file_name=f"{file_stem}_annotated.mp4",
                       mime="video/mp4", key=f"{key}_dl_annotated", icon=":material/download:")


def _assessment_summary(result: SessionResult) -> None:
    """The recognised exercise and the session scores, when the models assessed it."""
    if result.exercise_label is None:
        return
    m = result.metrics
    row = tile_row()
    label, conf = result.exercise_label, m.get("exercise_confidence")
    row.metric("Exercise", report.pretty_exercise(label, short=True),
               help=report.pretty_exercise(label) + ("" if conf is None else f" (model confidence {conf:.0%})")
               + (f"; assessed by model weights {result.models}" if result.models else ""))
    scores = (("Stability", "stability_score"), ("Balance", "balance_score"), ("Injury risk", "injury_risk"))
    correct = report.correct_reps(result.rep_assessments)
    # nothing scored (no exercise the models know): a warning says so, not four dashes
    if correct is not None or any(k in m for _, k in scores):
        for name, k in scores:
            row.metric(name, f"{m[k]:.2f}" if k in m else "–",
                       help="0–1; session risk = the riskiest rep's" if k == "injury_risk" else "0–1, mean of the reps")
        row.metric("Correct reps", correct or "–",
                   help="The reps the mistake model judged correct, of those it judged")
    if (older := _older_models(result)) is not None:
        st.info(older if not seen_by_athlete() else (
            "This session was scored by another version of PhysioTrack's models or scoring rules, so its scores "
            "may differ from a session scored now. Your trainer, or an administrator, can score it again."))
    if len({t["exercise"] for t in result.exercise_timeline}) > 1:
        st.caption("Exercise over time: " + ", ".join(
            f"{t['start_s']:.1f}–{t['end_s']:.1f} s {t['exercise'].replace('_', ' ')}"
            for t in result.exercise_timeline[:12]))


def seen_by_athlete() -> bool:
    """Whether an athlete is looking: told in plain words what staff are told with the models'
    fingerprints, and what staff can do about it."""
    return st.session_state.get(ROLE_KEY) == "athlete"


def _older_models(result: SessionResult) -> str | None:
    """A word when other weights than the installed ones assessed the session (models
    retrained since), or the installed ones under older scoring rules: its verdicts and scores
    are theirs until it is scored again."""
    from physio_core.ml.weights import (RECORDED_SINCE, UNRECORDED, installed_judged_by, judging_weights,
                                        older_rules_said, other_rules_only)

    installed = installed_judged_by()
    judged_by = judging_weights(result.models, any("mistake" in a for a in result.rep_assessments))
    again = "Staff can score it with the installed ones: **Score again**, under the downloads."
    if judged_by == UNRECORDED:
        return (f"This session does not say which model weights judged it (judged before {RECORDED_SINCE}), "
                f"so its verdicts may not be those of the weights installed now ({installed}). {again}")
    if judged_by is None or installed is None or judged_by == installed:
        return None
    if other_rules_only(judged_by, installed):
        return (f"Scored by {older_rules_said(judged_by, installed)}: its injury risk and reasons may differ "
                f"from a session scored now. {again}")
    return (f"Assessed by other model weights ({result.models}) than the ones installed now "
            f"({installed}): its verdicts, scores and corrections are theirs. {again}")


def _said_once(df, where=None):
    """The rep table less its columns that say the same on every row, said in a caption above it."""
    df, sentence = report.reps_said_once(df)
    if sentence:
        (where or st).caption(sentence)
    return df


def _judged_reps(result: SessionResult, key: str) -> None:
    """The rep table with the models' verdicts, then one rep replayed against its correction
    beside the chart of all reps. A click on a row of the table picks its rep for the replay."""
    df = _said_once(report.reps_view_table(result.reps, result.rep_assessments))
    table = f"{key}_reps_table_{st.session_state.get(f'{key}_reps_table_n', 0)}"

    def row_picked() -> None:
        rows = st.session_state[table].selection.rows  # positions in df, whatever the sorting shown
        rep = int(df["rep"].iloc[rows[0]]) if rows else None
        if any(a["rep"] == rep for a in result.rep_assessments):  # the picker lists these reps
            st.session_state[f"{key}_corr_rep"] = rep

    show_table(df, width="stretch",
               decimals=report.REPS_VIEW_DECIMALS, helps=TEMPO_HELP, key=table, on_select=row_picked,
               selection_mode="single-row", column_config={
                   "rep": st.column_config.NumberColumn(pinned=True),  # kept in view when scrolled sideways
                   "reason": st.column_config.TextColumn(help="Why the injury risk is what it is")})
    a, b = st.columns([3, 2])
    b.plotly_chart(report.reps_figure(result.reps, result.rep_assessments), key=f"{key}_reps_chart",
                   width="stretch")
    with a:
        _correction_view(result, key)


def forget_report_picks(key: str) -> None:
    """A new analysis replaces the report under ``key``: its frame, angles and rep open as a
    first look at it would, not where the user left the previous one."""
    for pick in ("frame", "angles", "corr_rep"):
        st.session_state.pop(f"{key}_{pick}", None)
    _forget_row_pick(key)


def _forget_row_pick(key: str) -> None:
    """The picker chose another rep: the table, a new widget, no longer marks the row picked before."""
    st.session_state[f"{key}_reps_table_n"] = st.session_state.get(f"{key}_reps_table_n", 0) + 1


CORRECTION_HELP = ("Where the corrected pose (green) is farthest from you: the joints it moves more than 8 cm, "
                   "of the limbs the exercise trains and the trunk, and which way (your own left and right).")


def _correction_view(result: SessionResult, key: str) -> None:
    """One assessed rep: its mistake label and reason, and the rep replayed in 3D, the athlete
    (red) over the models' corrected pose (green)."""
    by_rep = {a["rep"]: a for a in result.rep_assessments}
    reps = {r.index: r for r in result.reps if r.index in by_rep}
    if not reps:
        return
    order = list(reps)
    picker = f"{key}_corr_rep"
    if st.session_state.get(picker) not in order:
        # opens on the first rep with a mistake: the one worth a look
        wrong = [i for i in order if by_rep[i].get("mistake") == "incorrect"]
        st.session_state[picker] = wrong[0] if wrong else order[0]
    idx = st.selectbox("Rep to inspect", order, key=picker, on_change=_forget_row_pick, args=(key,),
                       format_func=lambda i: f"#{i} · {by_rep[i].get('mistake', 'not judged')}",
                       help="Or click the rep's row in the table above")
    a = by_rep[idx]
    if "mistake" in a:
        st.markdown(f"**{a['mistake']}** ({a.get('mistake_confidence', 0):.0%} confidence)")
    if "correction" in a:
        st.markdown(f"**Correction:** {a['correction']}", help=CORRECTION_HELP)
    if "reason" in a:
        st.caption(f"Injury risk {a['injury_risk']:.2f}: {a['reason']}")
    fixed = result.corrected_poses.get(idx)
    rep = reps[idx]
    if fixed is None or len(fixed) == 0:
        if "mistake" in a or "stability_score" in a:
            st.caption("No corrected pose for this rep.")
        else:
            st.caption("Not judged: the models judge the reps of the ten movements they know. "
                       "To judge these reps, name the exercise with Score again on the session's page "
                       "(or analyse the video again with the exercise picked).")
        return
    green = report.green_name(a.get("mistake"))
    st.plotly_chart(report.rep_correction_figure(result.pose, rep, fixed, green=green,
                                                 title=report.correction_title(idx, a.get("mistake"))),
                    key=f"{key}_corr_3d", width="stretch")
    st.caption(f"Opens where you are farthest from the {green}; ▶ Play replays the rep.")
    st.plotly_chart(report.rep_correction_views_figure(result.pose, rep, fixed, height=300, green=green),
                    key=f"{key}_corr_flat", width="stretch", config={"displayModeBar": False})
    st.caption("That moment from the front (your left on the right, as a camera in front sees you) "
               "and from the side (facing right).")
