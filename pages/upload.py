"""Upload a recorded video, analyse it, show the report and save it as a session."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import streamlit as st

from pages._auth import require_login
from pages._shared import (
    current_athlete_id,
    exercise_choice,
    get_engine,
    programme_now,
    forget_report_picks,
    render_report,
    save_for_athlete,
    save_status,
    saved_as,
    show_table,
    shown_time,
    tz_name,
)
from physio_core.config import get_settings
from physio_core.names import pretty_exercise
from physio_core.sets import overview
from physio_core.reps import EXERCISES as REP_EXERCISES
from physio_core.uploads import store_upload
from physio_core.video import VIDEO_EXTENSIONS, VideoError, check_size, probe_video

log = logging.getLogger("physiotrack.upload")

# the exercises the rep counter knows (UI-PRMD movements); on "auto" it counts on the angle whose
# reps are largest and most regular
EXERCISES = ["auto", *REP_EXERCISES]
RESULT_KEY = "upload_result"  # {"result", "video", "name", "session_id", "file_id", "filmed", "sets"}
SET_KEY = "upload_set"  # the set shown, of a video of several
SPLIT_HELP = ("A video of several exercises, or of sets of one with a rest of 20 s or more between them, "
              "is saved as one session per set, each counted on its own exercise. Untick it to keep the "
              "whole video as one session.")


def _analyse(uploaded, exercise: str, split: bool) -> None:
    from physio_core.pipeline import NoPersonFound, analyze_video
    from physio_core.pose.base import PoseBackendUnavailable

    settings = get_settings()
    try:
        check_size(uploaded.size, settings)
    except VideoError as exc:
        st.error(str(exc))
        return
    try:
        path = store_upload(uploaded, uploaded.name, settings)
    except OSError as exc:
        log.exception("could not store the upload %s", uploaded.name)
        st.error(f"The video could not be written on the server ({exc}). Free some disk space under "
                 f"{settings.data_dir} (or point PHYSIO_DATA_DIR elsewhere), then press Analyse again.")
        return
    bar = st.progress(0.0, text=f"Analysing {uploaded.name}…")
    try:
        result = analyze_video(
            path, exercise=exercise, settings=settings, source=uploaded.name,
            progress=lambda f: bar.progress(f, text=f"Analysing {uploaded.name}… {f:.0%}"),
            scored=not split,  # the models assess each set, or the whole when it is one (_sets)
        )
    except (VideoError, FileNotFoundError) as exc:
        bar.empty()
        st.error(f"This file cannot be analysed: {_as_uploaded(exc, path, uploaded.name)}")
        path.unlink(missing_ok=True)
        return
    except NoPersonFound as exc:
        bar.empty()
        st.error(_as_uploaded(exc, path, uploaded.name))
        path.unlink(missing_ok=True)
        return
    except PoseBackendUnavailable as exc:
        bar.empty()
        st.error(f"The pose backend is not available: {exc}")
        return
    except Exception as exc:
        log.exception("analysis of %s failed", uploaded.name)
        bar.empty()
        st.error(f"The analysis failed unexpectedly ({type(exc).__name__}: {exc}). "
                 f"The file is kept on the server for {settings.upload_keep_hours:g} h; please report this.")
        return
    bar.empty()
    try:
        filmed = probe_video(path, settings).filmed_at is not None
    except (VideoError, OSError):
        filmed = False
    result, sets = _sets(result, uploaded.name) if split else (result, [])
    previous = st.session_state.get(RESULT_KEY)
    if previous is not None:
        if Path(previous["video"]) != path:
            Path(previous["video"]).unlink(missing_ok=True)  # only the shown report keeps its video
        for key in _report_keys(previous):
            forget_report_picks(key)
            st.session_state.pop(f"{key}_annotated", None)
    st.session_state.pop(SET_KEY, None)
    st.session_state[RESULT_KEY] = {
        "result": result, "video": path, "name": uploaded.name, "session_id": None,
        "file_id": uploaded.file_id, "filmed": filmed, "sets": sets,
    }
    forget_report_picks("upload")
    _save_all(st.session_state[RESULT_KEY], exercise)


def _as_uploaded(exc: Exception, stored: Path, name: str) -> str:
    """``exc``'s message with the file named as the user uploaded it, not as it is stored here."""
    return str(exc).replace(str(stored), name).replace(stored.name, name)


def _sets(result, name: str) -> tuple:
    """The video counted but not assessed (``scored=False``) -> (the whole, its sets): the
    sets (``physio_core.sets``) each assessed, an entry of its own to save and show; or, when it is
    one set (or the search fails), the whole assessed and no sets."""
    from physio_core.sets import sets_or_whole

    with st.spinner(f"Looking for sets in {name} and scoring their reps…"):
        parts = sets_or_whole(result)
    if len(parts) > 1:
        return result, [{"result": p, "session_id": None} for p in parts]
    return parts[0], []


def _report_keys(entry: dict) -> list[str]:
    """The widget keys of an upload's reports: one, or one per set."""
    return [f"upload_set{k}" for k in range(1, len(entry.get("sets") or []) + 1)] or ["upload"]


def _save_all(entry: dict, exercise: str) -> None:
    for one in entry.get("sets") or [entry]:
        _save(one, exercise)


def set_label(result, k: int) -> str:
    """"2 · Sit to stand · 0:31–0:58 · 8 reps": a set of the video, for its picker."""
    from physio_core.sets import set_label as label

    t = result.pose.times
    return label(k, pretty_exercise(result.session_exercise, short=True), t[0], t[-1], result.rep_count)


def _reps_asked(entry: dict, exercise: str) -> int | None:
    """The reps a set the programme of the athlete picked asks of ``exercise``, read once per
    athlete and exercise (the page reruns with every frame scrubbed); None when it says none."""
    athlete, engine = current_athlete_id(), get_engine()
    if athlete is None or engine is None or exercise not in REP_EXERCISES:
        return None
    key = f"reps_asked_{athlete}_{exercise}"
    if key not in entry:
        try:
            now = programme_now(engine, athlete, exercise)
        except Exception:  # the report works without it
            log.warning("could not read the programme", exc_info=True)
            return None
        entry[key] = None if now is None else now.item.reps_per_set
    return entry[key]


def _save(entry: dict, exercise: str) -> None:
    from physio_core.store import save_session_result
    from physio_core.store.access import save_result_as

    save_for_athlete(
        entry, lambda engine, me, athlete: save_result_as(engine, me, entry["result"], athlete, exercise),
        lambda engine, athlete: save_session_result(engine, entry["result"], athlete, exercise=exercise))


st.title("Upload analysis")
require_login(get_engine())  # also when the script is reached without the app shell's login gate
settings = get_settings()
st.caption("Analyse a recorded video: 3D skeleton, joint angles and repetitions of one person. "
           "The video stays on the server only while its report is open (at most "
           f"{settings.upload_keep_hours:g} h); a saved session keeps the skeleton, angles and reps.")
# the widget's own "... per file" says the limit too; Streamlit's server refuses anything over
# server.maxUploadSize whatever PHYSIO_MAX_UPLOAD_MB says
limit_mb = max(1, min(settings.max_upload_mb, st.get_option("server.maxUploadSize")))
uploaded = st.file_uploader(
    f"Video of the exercise ({', '.join(VIDEO_EXTENSIONS[:4])}; up to {limit_mb} MB)",
    type=list(VIDEO_EXTENSIONS), key="upload_file", max_upload_size=limit_mb,
)
col_ex, col_go = st.columns([3, 1], vertical_alignment="bottom")
exercise = col_ex.selectbox("Exercise", EXERCISES, format_func=exercise_choice, key="upload_exercise")
go = col_go.button("Analyse", type="primary", disabled=uploaded is None, width="stretch")
split = st.checkbox("Split into sets", value=True, key="upload_split", help=SPLIT_HELP)

if uploaded is not None and go:
    _analyse(uploaded, exercise, split)
elif (shown := st.session_state.get(RESULT_KEY)) is None or (uploaded is not None
                                                          and uploaded.file_id != shown["file_id"]):
    # a video is about to be picked or analysed: the pose processes and the learned models load
    # now, not after Analyse (not while a report is read: the processes hold memory while they wait)
    from physio_core.assess import warm_up
    from physio_core.pipeline import prewarm_pose_workers

    prewarm_pose_workers(settings)
    warm_up(settings.model_dir)

entry = st.session_state.get(RESULT_KEY)
if entry is not None:
    st.divider()
    st.subheader(f"Report — {entry['name']}")
    shown, key, printable, stem = entry, "upload", f"Upload · {entry['name']}", Path(entry["name"]).stem
    if sets := entry.get("sets"):
        st.info(f"This video holds {len(sets)} sets. Each is saved as a session of its own, with its reps "
                "counted on its own exercise; the time between them is in none.")
        table = pd.DataFrame(overview([one["result"] for one in sets]))
        table["session"] = saved_as(sets)
        show_table(table, decimals={"stability": 2, "injury risk": 2})
        k = st.radio("Set", range(1, len(sets) + 1), format_func=lambda k: set_label(sets[k - 1]["result"], k),
                     horizontal=True, key=SET_KEY)
        shown, key = sets[k - 1], f"upload_set{k}"
        printable, stem = f"{printable} · set {k} of {len(sets)}", f"{stem}_set{k}"
    result = shown["result"]
    if result.started_at is not None:
        st.caption(f"Dated {shown_time(result.started_at)} ({tz_name()}): "
                   + ("when it was filmed, as the video file says." if entry.get("filmed") else
                      "the time of the analysis, since the video file does not say when it was filmed."))
    save_status(shown, lambda: _save(shown, result.exercise), "set" if sets else "analysis", sets or ())
    render_report(result, video_path=entry["video"], key=key, printable=printable, file_stem=stem,
                  reps_asked=_reps_asked(shown, result.session_exercise))
