"""A barbell set recorded by a wrist sensor: which lift, how many reps, how steady."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from pages._auth import require_login
from pages._imu_view import render_imu_report
from pages._shared import get_engine, save_for_athlete, save_status, saved_as, show_table
from physio_core.imu.io import LABELS, MAX_CSV_BYTES, ImuFormatError, recording_name
from physio_core.report import lift_name

log = logging.getLogger("physiotrack.app")

RESULT_KEY = "imu_result"  # {"series", "result", "name", "session_id", "save_error", "sets"}
SET_KEY = "imu_set"  # the set shown, of a recording of several
LIFT_CHOICES = ["auto", *LABELS]
SPLIT_HELP = ("A recording of a whole workout, several sets with rests of 10 s or more between them, is saved "
              "as one session per set, each with its own lift, reps and stability. Untick to keep the "
              "recording one set.")


def _analyse(files, lift: str, split: bool) -> None:
    from physio_core.imu.analyze import analyze_imu
    from physio_core.imu.classifier import LiftClassifier
    from physio_core.imu.io import read_upload
    from physio_core.imu.workout import split_workout

    name = recording_name(sorted(f.name for f in files)[0])
    named = None if lift == "auto" else lift
    try:
        series = read_upload([(f.name, f.getvalue()) for f in files])
        classifier = LiftClassifier.load()
        sets = split_workout(series, classifier, lift=named) if split else []
        result = None if sets else analyze_imu(series, lift=named, classifier=classifier)
    except ImuFormatError as exc:
        st.error(f"This file cannot be read: {exc}")
        return
    except Exception as exc:
        log.exception("analysis of %s failed", [f.name for f in files])
        st.error(f"The analysis failed unexpectedly ({type(exc).__name__}: {exc}). Please report this.")
        return
    st.session_state.pop(SET_KEY, None)
    now = datetime.now(UTC)
    st.session_state[RESULT_KEY] = entry = {
        "series": series, "result": result, "name": name, "session_id": None,
        "sets": [_set_entry(series, one, name, now) for one in sets]}
    for one in entry["sets"] or [entry]:
        _save(one)


def _set_entry(series, one, name: str, now: datetime) -> dict:
    """A set of a workout recording, to save and show: its source says where it lies, and it is
    dated by the recording's clock plus its offset (the analysis' time when the file has none)."""
    epoch = one.series.meta.get("start_epoch_s")
    offset = timedelta(seconds=float(one.series.times[0] - series.times[0]))
    return {"series": one.series, "result": one.result, "name": one.source(name), "session_id": None,
            "workout_set": one,
            "started_at": (datetime.fromtimestamp(epoch, UTC) if epoch else now + offset)}


def _save(entry: dict) -> None:
    from physio_core.store import save_imu_session
    from physio_core.store.access import save_imu_as

    series, result, name, when = entry["series"], entry["result"], entry["name"], entry.get("started_at")
    save_for_athlete(
        entry, lambda engine, me, athlete: save_imu_as(engine, me, series, result, athlete, source=name,
                                                       started_at=when),
        lambda engine, athlete: save_imu_session(engine, series, result, athlete, source=name, started_at=when))


st.title("Sensor set (IMU)")
require_login(get_engine())  # also when the script is reached without the app shell's login gate
st.caption("Analyse a barbell set recorded by a wrist sensor, or a whole workout of sets: the lift (bench "
           "press, squat, deadlift, overhead press, row, or rest), its reps and how steady the set was.")
with st.expander("File formats"):
    st.markdown(
        "- **Generic CSV**, one file per set or workout, with a header: `time_s,acc_x,acc_y,acc_z` and "
        "optionally `gyr_x,gyr_y,gyr_z` (all three). Time in seconds, acceleration in g with "
        "gravity, gyroscope in deg/s. Columns may be separated by `;` or tabs and numbers may "
        "use a decimal comma, as spreadsheets save them in many countries.\n"
        "- **MetaMotion** (MetaWear app export): the accelerometer file of the recording, with its "
        "gyroscope file if you have it (upload both at once).\n\n"
        "Wear the sensor on the wrist, as for the training data.")

files = st.file_uploader("Sensor file(s) of one recording, a set or a workout "
                         f"(csv; up to {MAX_CSV_BYTES // 2**20} MB each)",
                         type=["csv"], accept_multiple_files=True, key="imu_files",
                         max_upload_size=MAX_CSV_BYTES // 2**20)  # the widget's own "... per file" agrees
col_lift, col_go = st.columns([3, 1], vertical_alignment="bottom")
lift = col_lift.selectbox("Lift", LIFT_CHOICES, key="imu_lift",
                          format_func=lambda k: "Detect automatically" if k == "auto" else lift_name(k, False))
go = col_go.button("Analyse", type="primary", disabled=not files, width="stretch")
split = st.checkbox("Split into sets", value=True, key="imu_split", help=SPLIT_HELP)

if files and go:
    _analyse(files, lift, split)

entry = st.session_state.get(RESULT_KEY)
if entry is not None:
    st.divider()
    shown, key, stem = entry, "imu", re.sub(r"[^A-Za-z0-9_.-]+", "_", entry["name"])[:60] or "imu_set"
    if sets := entry.get("sets"):
        from physio_core.imu.workout import overview

        st.subheader(f"Workout — {entry['name']}")
        st.info(f"This recording holds {len(sets)} sets. Each is saved as a session of its own, with its lift, "
                "reps and stability; the rests between them are in none.")
        table = pd.DataFrame(overview([one["workout_set"] for one in sets]))
        table["session"] = saved_as(sets)
        show_table(table, decimals={"stability": 2})
        k = st.radio("Set", range(1, len(sets) + 1), format_func=lambda k: sets[k - 1]["workout_set"].label,
                     horizontal=True, key=SET_KEY)
        shown, key, stem = sets[k - 1], f"imu_set{k}", f"{stem}_set{k}"
        st.markdown(f"**Set {k} — {shown['name']}**")
    else:
        st.subheader(f"Set — {entry['name']}")
    save_status(shown, lambda: _save(shown), "set", entry.get("sets") or ())
    render_imu_report(shown["series"], shown["result"].to_dict(), counted=shown["result"].reps, key=key,
                      file_stem=stem)
