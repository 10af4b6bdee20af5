"""The Sessions page's import box: an athlete's archive or one session's JSON from another
PhysioTrack, analysed again here (``physio_core.imports``). Staff only; every write goes
through the role-checked ``store.access`` API. The import runs on a thread of its own
(``physio_core.background``): the page can be left while it runs, and says how far it has got
when it is opened again."""

from __future__ import annotations

import streamlit as st

from pages._shared import job_under_way, pick_athlete, shown_time
from physio_core import background
from physio_core.config import get_settings
from physio_core.imports import ImportFormatError, import_sessions, read_upload
from physio_core.store import AccessDenied, StorageUnavailable
from physio_core.store.access import add_athlete_as

_PARSED = "import_parsed"  # (the uploaded file's id, what it holds): read once, not on every rerun
_NOTICE = "import_notice"  # (summary, failures, anything stored) of the import that ended, said once


def _say_notice() -> None:
    if notice := st.session_state.pop(_NOTICE, None):
        summary, failed, imported = notice
        (st.success if imported else st.info)(summary)
        for line in failed:
            st.warning(line)


def _job_key(viewer_id: int) -> tuple[str, int]:
    return ("import", viewer_id)


def _trace_dir():
    return get_settings().data_dir / "jobs"


def _stopped_by_restart(gone: background.Interrupted) -> None:
    """Say that the server stopped an import half-way (its thread went with it)."""
    where = f" at {gone.current} ({gone.done + 1} of {gone.total})" if gone.total else ""
    st.warning(f"The import of {gone.label} for {gone.meta.get('athlete', 'an athlete')} stopped{where}: "
               f"the server stopped or restarted (last heard of {shown_time(gone.last_heard)}). The sessions "
               "imported before it are kept. Import the file again to add the rest: the sessions the athlete "
               "has already are left alone.", icon=":material/restart_alt:")


def _finished(job: background.Job) -> None:
    """Say how an import ended; the sidebar (drawn after this rerun) picks its athlete."""
    athlete_id, name = job.meta["athlete_id"], job.meta["athlete"]
    if isinstance(job.error, StorageUnavailable):
        st.session_state[_NOTICE] = (f"{name}: {job.error} The sessions stored before it stay; import the "
                                     "file again to store the rest.", [], False)
    elif job.error is not None:
        st.session_state[_NOTICE] = (f"{name}: the import stopped: {job.error}", [], False)
    else:
        report = job.result
        st.session_state[_NOTICE] = (f"{name}: {report.summary()}", report.failed,
                                     bool(report.imported or report.set_more))
    pick_athlete(athlete_id)


def _describe(job: background.Job) -> str:
    return (f"Importing {job.label} for {job.meta['athlete']}: analysing {job.current} "
            f"({job.done + 1} of {job.total})…" if job.total else f"Importing {job.label} for {job.meta['athlete']}…")


def _import_label(contents) -> str:
    """The import button's words: the sessions, or what an archive without any holds (an athlete
    whose programme and targets were set before their first session)."""
    if contents.sessions:
        return f"Import {len(contents.sessions)} session{'s' * (len(contents.sessions) != 1)}"
    what = [w for w, n in (("the programme", contents.programme), ("the targets", contents.targets),
                           ("the condition", contents.profile is not None and contents.profile.said),
                           ("the mornings' pain", contents.morning)) if n]
    return "Import " + ", ".join(what[:-1]) + (" and " if len(what) > 1 else "") + what[-1]


def import_box(engine, viewer_id: int) -> None:
    job = background.current(_job_key(viewer_id))
    if job is not None and job.finished:  # ended while the page was elsewhere
        _finished(background.collect(_job_key(viewer_id)) or job)
        st.rerun()  # the sidebar, drawn before this page, picks its athlete
    _say_notice()
    if job is None and (gone := background.interrupted(_job_key(viewer_id), _trace_dir())) is not None:
        _stopped_by_restart(gone)
    running = job is not None and not job.finished
    if running:  # once it has ended, the whole page's run says so (and can move the sidebar)
        job_under_way(_job_key(viewer_id), _describe,
                      "You can leave this page: the import goes on, and this page says how it ended.")
    with st.expander("Import sessions from another PhysioTrack"):
        st.caption("An athlete's archive (**All data (ZIP)** on their Progress page) or one session's "
                   "**Full session (JSON)**. Each session is analysed again here, by the models installed "
                   "here; its skeleton or sensor series, times, notes and trainers' lines come with it. "
                   "Sessions the athlete has already are left alone, so an import can be run again.")
        upload = st.file_uploader("Archive (.zip) or session (.json)", type=["zip", "json"], key="import_file")
        if upload is None:
            st.session_state.pop(_PARSED, None)
            return
        parsed = st.session_state.get(_PARSED)
        if parsed is None or parsed[0] != upload.file_id:
            try:
                with st.spinner("Reading the file…"):
                    parsed = (upload.file_id, read_upload(upload.getvalue(), upload.name))
            except ImportFormatError as exc:
                st.error(f"{upload.name} cannot be imported: {exc}")
                return
            st.session_state[_PARSED] = parsed
            st.session_state.pop("import_athlete", None)  # named as this file names them
        contents = parsed[1]
        whose = f"{contents.athlete}'s" if contents.athlete else "This"
        targets = (f", {len(contents.targets)} range-of-motion target{'s' * (len(contents.targets) != 1)}"
                   if contents.targets else "")
        if contents.programme:
            targets += f", {len(contents.programme)} programme item{'s' * (len(contents.programme) != 1)}"
        if contents.profile is not None and contents.profile.said:
            p = contents.profile
            said = [p.condition, p.since and f"since {p.since:%Y-%m-%d}", p.affected_side and f"{p.affected_side} side"]
            targets += f", the condition ({', '.join(x for x in said if x)})"
        if contents.morning:
            targets += f", the pain of {len(contents.morning)} morning{'s' * (len(contents.morning) != 1)} after"
        st.write(f"{whose} {'archive' if upload.name.lower().endswith('.zip') else 'session'}: "
                 f"{len(contents.sessions)} session{'s' * (len(contents.sessions) != 1)} with data{targets}.")
        for why in contents.skipped:
            st.caption(f"Not imported: {why}.")
        if not (contents.sessions or contents.holds_more):
            return
        with st.form("import_form"):
            name = st.text_input("Into the athlete", value=contents.athlete or "", key="import_athlete",
                                 help="Their name here: an athlete of yours with this name, or a new one")
            go = st.form_submit_button(_import_label(contents), type="primary",
                                       disabled=running, help="One import at a time" if running else None)
        if not go:
            return
        if not name.strip():
            st.error("Name the athlete the sessions are for.")
            return
        try:
            athlete = add_athlete_as(engine, viewer_id, name.strip())
        except AccessDenied as exc:
            st.error(str(exc))
            return
        except StorageUnavailable as exc:
            st.error(str(exc))
            return
        sessions, targets, plan, profile = contents.sessions, contents.targets, contents.programme, contents.profile
        morning = contents.morning
        try:
            background.start(_job_key(viewer_id), lambda progress: import_sessions(
                engine, sessions, athlete.id, viewer_id=viewer_id, targets=targets, programme=plan,
                profile=profile, morning=morning, progress=progress),
                label=upload.name, meta={"athlete_id": athlete.id, "athlete": athlete.display_name},
                trace_dir=_trace_dir())
        except background.JobRunning as exc:
            st.error(str(exc))
            return
        st.rerun()
