"""A barbell set recorded by a wrist sensor: which lift, how many reps, how steady."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import streamlit as st

from pages._auth import require_login
from pages._imu_view import render_imu_report
from pages._shared import save_for_athlete, save_status
from physio_core.imu.io import LABELS, MAX_CSV_BYTES, ImuFormatError
from physio_core.report import lift_name

log = logging.getLogger("physiotrack.app")

RESULT_KEY = "imu_result"  # {"series", "result", "name", "session_id", "save_error"}
LIFT_CHOICES = ["auto", *LABELS]


def _set_name(files) -> str:
    """What the set is called in the page and the sessions list: a MetaMotion export's name up to
    "_MetaWear" (participant-lift-category), else the file's name without its extension."""
    stem = Path(sorted(f.name for f in files)[0]).stem
    return stem.split("_MetaWear_")[0] or stem


def _analyse(files, lift: str) -> None:
    from physio_core.imu.analyze import analyze_imu
    from physio_core.imu.io import read_upload

    name = _set_name(files)
    try:
        series = read_upload([(f.name, f.getvalue()) for f in files])
        result = analyze_imu(series, lift=None if lift == "auto" else lift)
    except ImuFormatError as exc:
        st.error(f"This file cannot be read: {exc}")
        return
    except Exception as exc:
        log.exception("analysis of %s failed", [f.name for f in files])
        st.error(f"The analysis failed unexpectedly ({type(exc).__name__}: {exc}). Please report this.")
        return
    st.session_state[RESULT_KEY] = {"series": series, "result": result, "name": name, "session_id": None}
    _save(st.session_state[RESULT_KEY])


def _save(entry: dict) -> None:
    from physio_core.store import save_imu_session
    from physio_core.store.access import save_imu_as

    series, result, name = entry["series"], entry["result"], entry["name"]
    save_for_athlete(
        entry, lambda engine, me, athlete: save_imu_as(engine, me, series, result, athlete, source=name),
        lambda engine, athlete: save_imu_session(engine, series, result, athlete, source=name))


st.title("Sensor set (IMU)")
require_login()  # also when the script is reached without the app shell's login gate
st.caption("Analyse a barbell set recorded by a wrist sensor: the lift (bench press, squat, "
           "deadlift, overhead press, row, or rest), its reps and how steady the set was.")
with st.expander("File formats"):
    st.markdown(
        "- **Generic CSV**, one file per set, with a header: `time_s,acc_x,acc_y,acc_z` and "
        "optionally `gyr_x,gyr_y,gyr_z` (all three). Time in seconds, acceleration in g with "
        "gravity, gyroscope in deg/s. Columns may be separated by `;` or tabs and numbers may "
        "use a decimal comma, as spreadsheets save them in many countries.\n"
        "- **MetaMotion** (MetaWear app export): the accelerometer file of the set, with its "
        "gyroscope file if you have it (upload both at once).\n\n"
        "Wear the sensor on the wrist, as for the training data.")

files = st.file_uploader(f"Sensor file(s) of one set (csv; up to {MAX_CSV_BYTES // 2**20} MB each)",
                         type=["csv"], accept_multiple_files=True, key="imu_files",
                         max_upload_size=MAX_CSV_BYTES // 2**20)  # the widget's own "... per file" agrees
col_lift, col_go = st.columns([3, 1], vertical_alignment="bottom")
lift = col_lift.selectbox("Lift", LIFT_CHOICES, key="imu_lift",
                          format_func=lambda k: "Detect automatically" if k == "auto" else lift_name(k, False))
go = col_go.button("Analyse", type="primary", disabled=not files, width="stretch")

if files and go:
    _analyse(files, lift)

entry = st.session_state.get(RESULT_KEY)
if entry is not None:
    st.divider()
    st.subheader(f"Set — {entry['name']}")
    save_status(entry, lambda: _save(entry), "set")
    render_imu_report(entry["series"], entry["result"].to_dict(), counted=entry["result"].reps, key="imu",
                      file_stem=re.sub(r"[^A-Za-z0-9_.-]+", "_", entry["name"])[:60] or "imu_set")
