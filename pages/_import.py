"""The Sessions page's import box: an athlete's archive or one session's JSON from another
PhysioTrack, analysed again here (``physio_core.imports``). Staff only; every write goes
through the role-checked ``store.access`` API."""

from __future__ import annotations

import streamlit as st

from pages._shared import ATHLETE_KEY
from physio_core.imports import ImportFormatError, import_sessions, read_upload
from physio_core.store import AccessDenied, StorageUnavailable
from physio_core.store.access import add_athlete_as

_PARSED = "import_parsed"  # (the uploaded file's id, what it holds): read once, not on every rerun
_NOTICE = "import_notice"  # (summary, failures) of the import just made, said after the rerun


def _say_notice() -> None:
    if notice := st.session_state.pop(_NOTICE, None):
        summary, failed, imported = notice
        (st.success if imported else st.info)(summary)
        for line in failed:
            st.warning(line)


def import_box(engine, viewer_id: int) -> None:
    _say_notice()
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
        st.write(f"{whose} {'archive' if upload.name.lower().endswith('.zip') else 'session'}: "
                 f"{len(contents.sessions)} session{'s' * (len(contents.sessions) != 1)} with data{targets}.")
        for why in contents.skipped:
            st.caption(f"Not imported: {why}.")
        if not contents.sessions:
            return
        with st.form("import_form"):
            name = st.text_input("Into the athlete", value=contents.athlete or "", key="import_athlete",
                                 help="Their name here: an athlete of yours with this name, or a new one")
            go = st.form_submit_button(f"Import {len(contents.sessions)} session"
                                       f"{'s' * (len(contents.sessions) != 1)}", type="primary")
        if not go:
            return
        if not name.strip():
            st.error("Name the athlete the sessions are for.")
            return
        bar = st.progress(0.0)
        try:
            athlete = add_athlete_as(engine, viewer_id, name.strip())
            report = import_sessions(
                engine, contents.sessions, athlete.id, viewer_id=viewer_id, targets=contents.targets,
                progress=lambda k, n, label: bar.progress(k / n, text=f"Analysing {label} ({k + 1} of {n})…"))
        except AccessDenied as exc:
            st.error(str(exc))
            return
        except StorageUnavailable as exc:
            st.error(f"{exc} The sessions stored before it stay; import the file again to store the rest.")
            return
        bar.empty()
        # the sidebar (drawn before this page) picks the athlete, and the table lists the sessions
        st.session_state[ATHLETE_KEY] = athlete.id
        st.session_state.pop("athlete_select", None)
        st.session_state[_NOTICE] = (f"{athlete.display_name}: {report.summary()}", report.failed,
                                     bool(report.imported or report.targets))
        st.rerun()
