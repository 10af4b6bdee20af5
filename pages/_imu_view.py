"""The report of one wrist-IMU set: the page that analyses it and the stored session both show it."""

from __future__ import annotations

import streamlit as st

from pages._shared import seen_by_athlete, show_table, tile_row, viewer_tz
from physio_core import exports, report
from physio_core.imu.analyze import UNSURE_LIFT_BELOW
from physio_core.imu.io import ImuSeries
from physio_core.imu.reps import RepCount, count_reps
from physio_core.report import lift_name


def other_lift_weights(pred: dict | None) -> str | None:
    """A word when the lift was recognised by other lift-classifier weights than the installed
    ones, or by weights not recorded (sets stored before 2026-12-05): another recognition might
    name another lift."""
    from physio_core.ml.weights import RECORDED_SINCE, UNRECORDED, installed_lift_fingerprint, judging_weights

    installed = installed_lift_fingerprint()
    judged_by = judging_weights(pred.get("weights"), True) if pred is not None else None
    if judged_by is None or installed is None or judged_by == installed:
        return None
    by = (f"lift-classifier weights not recorded (recognised before {RECORDED_SINCE})" if judged_by == UNRECORDED
          else f"other lift-classifier weights ({judged_by})")
    return (f"The lift was recognised by {by}, not the ones installed now ({installed}). Staff can "
            "recognise it again: **Score again as another lift**, Detect automatically.")


def render_imu_report(series: ImuSeries, analysis: dict, *, key: str, file_stem: str,
                      counted: RepCount | None = None, session=None, feedback=(), about: str | None = None) -> None:
    """``analysis``: ``ImuSetResult.to_dict()`` as it was when the set was analysed; ``counted``:
    its RepCount when at hand (a stored set is counted again, only for the signal drawn).
    ``session``, ``feedback``, ``about``: a stored set's, for its printable report."""
    lift = analysis["lift"]
    pred = analysis.get("lift_prediction")
    stab = analysis.get("stability") or {}
    reps = (analysis.get("reps") or {}).get("reps", [])

    row = tile_row()
    if pred is None:
        row.metric("Lift", lift_name(lift), help="named when the set was analysed")
    else:
        ranked = sorted(pred["probabilities"].items(), key=lambda kv: -kv[1])
        row.metric("Lift", lift_name(lift),
                   help="Recognised by the lift classifier: " + ", ".join(
                       f"{lift_name(k)} {v:.0%}" for k, v in ranked[:3])
                   + ("" if pred.get("used_gyroscope") else " (accelerometer only)")
                   + (f"; weights {pred['weights']}" if pred.get("weights") else ""))
    row.metric("Reps", analysis["rep_count"])
    score = stab.get("score")
    row.metric("Stability", "–" if score is None else f"{score:.2f}",
               help="0–1: steady tempo, even reps, a straight bar path (needs 3 reps)")
    row.metric("Duration", f"{analysis['duration_s']:.1f} s")
    if pred is not None and pred["confidence"] < UNSURE_LIFT_BELOW:
        st.warning(f"The lift is uncertain ({pred['confidence']:.0%}): if it is not a "
                   f"{lift_name(lift).lower()}, name the lift with Score again on the session's page "
                   "(or analyse the file again with the lift named).")
    if session is not None and (other := other_lift_weights(pred)) is not None:
        st.info(other if not seen_by_athlete() else (
            "The lift was recognised by another version of PhysioTrack's lift model, which may name another lift "
            "than the current one. Your trainer, or an administrator, can have it recognised again."))
    if stab.get("reason"):
        st.info(f"Stability: {stab['reason']}.")
    if not reps and (analysis.get("reps") or {}).get("reason"):
        st.info(f"No rep counted: {analysis['reps']['reason']}.")

    if counted is None:  # the signal again, from the raw series (the reps drawn are the stored ones)
        counted = count_reps(series, lift)
    counting = analysis.get("reps") or {}
    st.plotly_chart(report.imu_set_figure(series.times, series.acc, reps, counted.times, counted.signal,
                                          set_span=report.counted_span(counting)),
                    key=f"{key}_imu_plot", width="stretch")
    if (words := report.outside_set_words(series.times, counting)) is not None:
        st.caption(words)
    if reps:
        show_table(report.imu_reps_view_table(reps), width="stretch", decimals=report.IMU_REPS_VIEW_DECIMALS)

    row = st.container(horizontal=True)
    files = exports.imu_session_exports(series, analysis, stem=file_stem, session=session, feedback=feedback,
                                        tz=viewer_tz(), about=about)
    for e, name in zip(files, ("csv", "json", "html")):
        row.download_button(e.label, data=e.build, file_name=e.file_name, mime=e.mime, key=f"{key}_imu_{name}",
                            on_click="ignore", icon=":material/print:" if name == "html" else None)
