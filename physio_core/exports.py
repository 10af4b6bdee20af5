"""Per-session exports: long CSV, JSON, OpenSim ``.mot`` (angles) and ``.trc`` (3D joints), and a
printable, self-contained HTML report; and an athlete's printable progress report.

Everything takes a ``SessionResult`` (a fresh analysis, or ``SessionDetail.to_result()`` of a
stored one) plus, for stored sessions, the session row and its feedback.

PDF: not produced. A good PDF of Plotly charts needs a browser engine (Kaleido 1.x drives an
installed Chrome; WeasyPrint cannot run the charts' JavaScript), so the HTML report carries print
styles instead and any browser's "Print -> Save as PDF" makes the PDF offline.

Axes of the OpenSim files: OpenSim's ground frame is +X forward, +Y up, +Z right, so canonical
(x=left, y=up, z=forward) becomes (z, y, -x). Joints stay pelvis-centred (the pelvis is the origin),
which is what marker-based scaling and inverse kinematics need from keypoints.
"""

from __future__ import annotations

import html
import io
import json
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from physio_core import felt, report
from physio_core.names import in_sentence
from physio_core.results import AngleSeries, SessionResult, on_clock
from physio_core.skeleton import JOINT_NAMES, N_JOINTS, PoseSequence, measured_fps

LONG_COLUMNS = ("session", "frame", "time", "measure", "value")


# ------------------------------------------------------------------ CSV (long format)


@dataclass(frozen=True)
class _LongRows:
    """The long format's rows, sorted by frame then measure name: ``measure`` holds indices
    into ``names`` (sorted)."""

    frame: np.ndarray
    time: np.ndarray
    measure: np.ndarray
    names: np.ndarray
    value: np.ndarray


def _long_rows(result: SessionResult) -> _LongRows:
    blocks: list[tuple[np.ndarray, list[str], np.ndarray]] = []  # (values (T, M), names, times)
    a = result.angles
    if a.names and len(a.times):
        blocks.append((np.asarray(a.values, float).reshape(len(a.times), -1),
                       [f"{n}_deg" for n in a.names], np.asarray(a.times, float)))
    pose = result.pose
    if len(pose):
        xyz = pose.joints.reshape(len(pose), N_JOINTS * 3)
        names = [f"{j}_{ax}_m" for j in JOINT_NAMES for ax in "xyz"]
        conf = np.where(pose.confidence > 0, pose.confidence, np.nan)
        blocks.append((xyz, names, pose.times))
        blocks.append((conf, [f"{j}_conf" for j in JOINT_NAMES], pose.times))

    every = np.asarray([n for _, names, _ in blocks for n in names], dtype=object)
    order = np.argsort(every, kind="stable")
    rank = np.empty(len(every), dtype=np.int64)
    rank[order] = np.arange(len(every))
    parts, first = [], 0
    for values, names, times in blocks:
        t_count, m_count = values.shape
        flat = values.reshape(-1)
        keep = np.isfinite(flat)
        parts.append((np.repeat(np.arange(t_count), m_count)[keep], np.repeat(times, m_count)[keep],
                      np.tile(rank[first:first + m_count], t_count)[keep], flat[keep]))
        first += m_count
    if not parts:
        parts = [(np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64), np.empty(0))]
    frame, time, measure, value = (np.concatenate(c) for c in zip(*parts))
    rows = np.argsort(frame * max(len(every), 1) + measure, kind="stable")
    return _LongRows(frame[rows], time[rows], measure[rows], every[order], value[rows])


def long_frame(result: SessionResult, session_id: int | str) -> pd.DataFrame:
    """One row per (frame, measure) with a value: angles in degrees (``<angle>_deg``), joint
    coordinates in metres (``<joint>_x_m``, canonical axes) and joint confidences
    (``<joint>_conf``). Frames or joints that were not measured have no row."""
    r = _long_rows(result)
    return pd.DataFrame({"session": [session_id] * len(r.frame), "frame": r.frame, "time": r.time,
                         "measure": r.names[r.measure], "value": r.value}, columns=list(LONG_COLUMNS))


def _significant(x: np.ndarray, digits: int = 6) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits (as ``%.6g`` prints them)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    decimals = np.where(np.isfinite(mag), digits - 1 - mag, 0).astype(int)
    up = np.clip(decimals, 0, None)
    down = np.clip(-decimals, 0, None)
    # scale by exact powers of ten so the quotient is the double nearest the rounded decimal
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.round(x * 10.0**up / 10.0**down) / 10.0**up * 10.0**down
    return np.where(np.isfinite(out), out, x)  # subnormals: as they are


def long_csv(result: SessionResult, session_id: int | str) -> bytes:
    """``session,frame,time,measure,value`` (see ``long_frame``): values to 6 significant
    digits, times to the microsecond. Written by Arrow's CSV writer: a 10-min session has about
    1.5 million rows, which pandas' ``to_csv`` takes seconds over."""
    import pyarrow as pa

    r = _long_rows(result)
    sid = session_id if isinstance(session_id, int) else str(session_id)
    # no quotes around the measure names (none needs them), only around an odd session id
    odd = not isinstance(sid, int) and any(c in sid for c in ',"\r\n')
    return report.csv_bytes({
        "session": pa.repeat(sid, len(r.frame)),
        "frame": r.frame.astype(np.int64),
        "time": np.round(r.time, 6),
        "measure": pa.DictionaryArray.from_arrays(pa.array(r.measure.astype(np.int32)),
                                                  pa.array(r.names, pa.string())),
        "value": _significant(r.value),
    }, quote_strings=odd)


# ------------------------------------------------------------------ JSON


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _meta(session: Any | None) -> dict[str, Any] | None:
    if session is None:
        return None
    return {
        "id": session.id, "athlete_id": session.athlete_id, "athlete": session.athlete_name,
        "trainer_id": session.trainer_id, "exercise": session.exercise, "source": session.source,
        "status": str(getattr(session.status, "value", session.status)),
        "started_at": session.started_at.isoformat() if session.started_at else None,
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "notes": session.notes,
        # how the set felt, 0-10, as the athlete said (physio_core.felt); null: not asked
        "pain": getattr(session, "pain", None), "effort": getattr(session, "effort", None),
        # where it came from, when it was imported (read back by a later import as its history)
        **({"imported": session.imported} if getattr(session, "imported", None) else {}),
    }


def _felt_and_notes(session: Any | None) -> list[str]:
    """The printable report's lines on how the set felt and the trainer's notes."""
    parts = []
    if session is not None and (said := felt.in_words(getattr(session, "pain", None),
                                                      getattr(session, "effort", None))):
        parts.append(f"<p><b>How it felt:</b> {html.escape(said)}</p>")
    if session is not None and session.notes:
        parts.append(f"<p><b>Trainer notes:</b> {html.escape(session.notes)}</p>")
    return parts


def _feedback_docs(feedback: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"kind": str(getattr(f.kind, "value", f.kind)), "text": f.text, "rep_index": f.rep_index,
             "author_id": f.author_id,
             "created_at": f.created_at.isoformat() if isinstance(f.created_at, datetime) else None}
            for f in feedback]


def json_doc(result: SessionResult, *, session: Any | None = None,
             feedback: Sequence[Any] = ()) -> dict[str, Any]:
    """The JSON export less its series: the summary (``report.summary_dict``, the analyze CLI's
    contract) plus the session row and all feedback."""
    doc: dict[str, Any] = {"format": "physiotrack-session", "version": 1, "session": _meta(session)}
    doc.update(report.summary_dict(result))
    doc["feedback_items"] = _feedback_docs(feedback)
    return doc


def json_bytes(result: SessionResult, *, session: Any | None = None, feedback: Sequence[Any] = ()) -> bytes:
    """``json_doc`` plus the full series: time, angles (degrees) and joints (metres, canonical)."""
    pose = result.pose
    angles = ",".join(f"{json.dumps(n)}:{report.json_array(result.angles[n], 3)}" for n in result.angles.names)
    series = {
        "time_s": report.json_array(result.angles.times, 4),
        "angles_deg": "{" + angles + "}",
        "joint_names": json.dumps(list(JOINT_NAMES)),
        "pose_time_s": report.json_array(pose.times, 4),
        "joints_m": report.json_array(pose.joints, 4),  # (frames, joints, xyz)
        "confidence": report.json_array(pose.confidence, 3),
    }
    head = json.dumps(json_doc(result, session=session, feedback=feedback), allow_nan=False,
                      separators=(",", ":"), default=str)
    body = ",".join(f"{json.dumps(k)}:{v}" for k, v in series.items())
    return (head[:-1] + ',"series":{' + body + "}}").encode("utf-8")


# ------------------------------------------------------------------ OpenSim


def mot(angles: AngleSeries, *, name: str = "physiotrack_angles") -> bytes:
    """OpenSim motion (Storage) file of the angles, in degrees; unmeasured values are NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = np.round(np.asarray(angles.values, float).reshape(len(angles.times), -1), 6)
    header = [
        name,
        "version=1",
        f"nRows={len(angles.times)}",
        f"nColumns={len(angles.names) + 1}",
        "inDegrees=yes",
        "endheader",
        "\t".join(("time", *angles.names)),
    ]

    def column(v: np.ndarray) -> pa.Array:  # OpenSim reads "NaN", not an empty field
        return pc.if_else(pa.array(~np.isfinite(v)), "NaN", pc.cast(pa.array(v), pa.string()))

    body = report.csv_bytes({"time": np.round(angles.times, 6),
                             **{n: column(values[:, k]) for k, n in enumerate(angles.names)}},
                            delimiter="\t", header=False)
    return ("\n".join(header) + "\n").encode("utf-8") + body


def to_opensim_axes(joints: np.ndarray) -> np.ndarray:
    """Canonical (left, up, forward) -> OpenSim ground (forward, up, right)."""
    j = np.asarray(joints, float)
    return np.stack([j[..., 2], j[..., 1], -j[..., 0]], axis=-1)


def trc(pose: PoseSequence, *, name: str = "physiotrack_joints.trc") -> bytes:
    """Track Row Column marker file of the 3D joints (one marker per joint, metres, OpenSim axes).
    Frames or joints not measured are empty fields, which OpenSim reads as missing markers."""
    n = len(pose)
    # the rate of its Time column: a live session's stored chunks carry a nominal one
    rate = measured_fps(pose.times) or float(pose.fps or 1.0)
    xyz = to_opensim_axes(pose.joints)
    xyz = np.where((pose.confidence > 0)[..., None], xyz, np.nan)
    names = list(JOINT_NAMES)
    header = [
        f"PathFileType\t4\t(X/Y/Z)\t{name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate:.2f}\t{rate:.2f}\t{n}\t{len(names)}\tm\t{rate:.2f}\t1\t{n}",
        "Frame#\tTime\t" + "\t".join(f"{m}\t\t" for m in names),
        "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, len(names) + 1)),
        "",
    ]
    coords = np.round(xyz.reshape(n, -1), 6)
    body = report.csv_bytes({"frame": np.arange(1, n + 1), "time": np.round(pose.times, 6),
                             **{str(k): coords[:, k] for k in range(coords.shape[1])}},
                            delimiter="\t", header=False)
    return ("\n".join(header) + "\n").encode("utf-8") + body


def read_mot(data: bytes) -> tuple[dict[str, str], pd.DataFrame]:
    """Parse a ``.mot`` back (header key=values, table): used by tests and for re-import."""
    text = data.decode("utf-8").splitlines()
    end = text.index("endheader")
    meta = dict(line.split("=", 1) for line in text[1:end] if "=" in line)
    df = pd.read_csv(io.StringIO("\n".join(text[end + 1:])), sep="\t")
    return meta, df


def read_trc(data: bytes) -> tuple[dict[str, str], list[str], np.ndarray]:
    """Parse a ``.trc`` back: header values, marker names, (frames, markers, 3) with NaN gaps."""
    lines = data.decode("utf-8").split("\n")
    meta = dict(zip(lines[1].split("\t"), lines[2].split("\t")))
    markers = [m for m in lines[3].split("\t")[2:] if m]
    rows = [line.split("\t") for line in lines[6:] if line]
    values = np.array([[float(v) if v else np.nan for v in r[2:]] for r in rows], float)
    return meta, markers, values.reshape(len(rows), len(markers), 3)


# ------------------------------------------------------------------ printable HTML report

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1000px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.4em;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; } .kpis { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.kpi { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.kpi b { display: block; font-size: 1.4em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th { background: #f4f6f8; } td.l, th.l { text-align: left; }
td.l { min-width: 8em; }  /* on a phone a reason would wrap a word a line: the table scrolls instead */
.chart { page-break-inside: avoid; break-inside: avoid; }
svg.poses { max-width: 100%; height: auto; display: block; margin: 8px 0 2px; }
.scroll { overflow-x: auto; }
.corrections { display: flex; flex-wrap: wrap; gap: 8px; }
.corrections .chart { flex: 1 1 420px; max-width: 460px; }
ul.fb li.trainer { font-weight: 600; } .warn { color: #a15c00; }
@media print { body { margin: 0; max-width: none; } .noprint { display: none; } .scroll { overflow: visible; }
  h2 { page-break-after: avoid; } table, .kpis { page-break-inside: avoid; } }
"""


def _table(df: pd.DataFrame, left: Sequence[str] = (), decimals: Mapping[str, int] | None = None) -> str:
    """An HTML table: ``left`` columns aligned left, numbers with their column's ``decimals`` (a
    float elsewhere: one), "–" where a value is missing, as on the pages."""
    head = "".join(f'<th class="{"l" if c in left else ""}">{html.escape(str(c))}</th>' for c in df.columns)
    decimals = decimals or {}
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, row):
            number = isinstance(v, numbers.Real) and not isinstance(v, bool)
            if v is None or (number and not math.isfinite(v)):
                text = "–"
            elif number and (c in decimals or isinstance(v, float)):
                text = f"{v:.{decimals.get(c, 1)}f}"
            else:
                text = str(v)
            cells.append(f'<td class="{"l" if c in left else ""}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    # a table wider than a phone scrolls on its own, not the whole page
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


# Streamlit's light-theme colours for a chart's lines, in its order, so that each line in a
# printed report has the colour it has on the page.
STREAMLIT_COLORWAY = ("#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1",
                      "#ff8700", "#ffd16a", "#6d3fc0", "#d5dae5")


def _report_template() -> go.layout.Template:
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.colorway = STREAMLIT_COLORWAY
    return template


def _chart_writer(include_plotlyjs: bool | str) -> Callable[..., str]:
    """A function writing a figure as an HTML div as wide as the page's column (a phone's
    screen, a desktop's 1000 px, the paper); Plotly's JavaScript goes with the first one only."""
    first = True

    def chart(fig) -> str:
        nonlocal first
        fig.update_layout(width=None, autosize=True)
        # Inside the app Plotly's default template is Streamlit's, whose colours are placeholders
        # (#000001, #000002...) that only Streamlit's page replaces: in a file every line was black
        fig.layout.template = _report_template()
        # the tight margins count on Streamlit's template to make room for the tick labels and
        # axis titles; outside it, plain Plotly cut them off at the chart's left edge
        fig.update_xaxes(automargin=True)
        fig.update_yaxes(automargin=True)
        div = pio.to_html(fig, full_html=False, include_plotlyjs=include_plotlyjs if first else False,
                          config={"displayModeBar": False, "staticPlot": False, "responsive": True},
                          auto_play=False, default_width="100%")
        first = False
        return div

    return chart


def _head(title: str) -> list[str]:
    return ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>"]


def _kpis(kpis: Sequence[tuple[str, str]]) -> str:
    return "<div class='kpis'>" + "".join(f"<div class='kpi'>{html.escape(k)}<b>{html.escape(v)}</b></div>"
                                          for k, v in kpis) + "</div>"


_PRINT_HINT = "<p class='noprint meta'>Print this page (Ctrl+P) to save it as a PDF.</p>"


MAX_CORRECTIONS_SHOWN = 4  # 3D views in the printable report (each a Plotly chart)


def _reps_for_print(result: SessionResult) -> tuple[pd.DataFrame, str | None]:
    """The page's rep table and the sentence above it; narrow enough for a printed page, without
    the per-rep exercise when the reps differ (the CSV and JSON exports hold every column)."""
    df, sentence = report.reps_said_once(report.reps_view_table(result.reps, result.rep_assessments))
    return df.drop(columns=["recognised as"], errors="ignore"), sentence


def _feedback_line(f: Any) -> tuple[str, str]:
    """(text, kind) of a stored feedback row, worded as the session page words it."""
    kind = str(getattr(f.kind, "value", f.kind))
    if kind == "trainer":
        return f"Trainer{f' (rep {f.rep_index})' if f.rep_index else ''}: {f.text}", kind
    return f.text, kind  # the analysis' per-rep lines begin "Rep N:" themselves


def _origin(session: Any | None, tz: tzinfo, *, sensor_set: bool) -> list[str]:
    """Where an imported session came from, as its page says it (``imports.origin_sentence``)."""
    from physio_core.imports import origin_sentence

    if session is None or not getattr(session, "imported", None):
        return []
    text = origin_sentence(session.imported, sensor_set=sensor_set,
                           when=lambda t: f"{on_clock(t, tz):%Y-%m-%d %H:%M}")
    return [f"<p class='meta'>{html.escape(text)}</p>"]


@dataclass(frozen=True)
class Versus:
    """A session against an earlier one, as its page shows it (``progress.compare_sessions``):
    the heading, the table, and a typical rep of each drawn (``progress.reps_drawn``: SVG)."""

    heading: str
    table: pd.DataFrame
    drawing: str | None = None
    caption: str = ""


def _versus_html(versus: Versus | None) -> list[str]:
    if versus is None or versus.table.empty:
        return []
    out = [f"<h2>{html.escape(versus.heading)}</h2>", _table(versus.table, left=[versus.table.columns[0]])]
    if versus.drawing:
        out.append(f"<div class='drawing'>{versus.drawing}</div>")
        out.append(f"<p class='meta'>{html.escape(versus.caption)}</p>")
    return out


def html_report(
    result: SessionResult,
    *,
    title: str | None = None,
    session: Any | None = None,
    feedback: Sequence[Any] = (),
    include_plotlyjs: bool | str = True,
    tz: tzinfo = UTC,
    about: str | None = None,
    versus: Versus | None = None,
) -> bytes:
    """A single HTML file: key numbers, the angle chart with the reps shaded, ROM per rep, the rep
    table, range per angle, feedback. Plotly's JavaScript is inlined (works offline) unless
    ``include_plotlyjs`` says otherwise ("cdn", False). The session's time is written on the
    clock of ``tz`` (the viewer's), which the page names; ``about``: what its page says of it in the
    athlete's care (``progress.session_about``: how long after the injury, the limb symmetry),
    beside it; ``versus``: the session against an earlier one, as its page compares them."""
    s = session
    title = title or (f"Session #{s.id} · {s.athlete_name}" if s is not None else "PhysioTrack session")
    when = result.started_at or (s.started_at if s is not None else None)
    exercise = in_sentence(s.exercise if s is not None else result.session_exercise)
    duration = result.duration_s  # from the frames' times: an unfinished live session's fps is nominal
    valid = result.pose.valid if len(result.pose) else None

    kpis = [("Reps", str(result.rep_count)), ("Duration", f"{duration:.1f} s" if duration else "–"),
            ("Person found", f"{result.frames_with_person / max(1, result.frames):.0%}")]
    if result.exercise_label is not None:
        kpis.insert(0, ("Exercise", report.pretty_exercise(result.exercise_label, short=True)))
    for key, label in (("stability_score", "Stability"), ("balance_score", "Balance"),
                       ("injury_risk", "Injury risk")):
        v = _finite(result.metrics.get(key))
        if v is not None:
            kpis.append((label, f"{v:.2f}"))
    if (correct := report.correct_reps(result.rep_assessments)) is not None:
        kpis.append(("Correct reps", correct))

    parts = [
        *_head(title),
        "<p class='meta'>" + html.escape(" · ".join(x for x in (
            f"{on_clock(when, tz):%Y-%m-%d %H:%M} ({tz})" if when else "", about or "",
            f"exercise: {exercise}", f"source: {result.source or '–'}",
            f"pose backend: {result.backend or '–'}",
            f"models: {result.models}" if result.models else "") if x)) + "</p>",
        _PRINT_HINT,
        _kpis(kpis),
    ]
    parts += _origin(s, tz, sensor_set=False)
    parts += _felt_and_notes(s)
    parts += _versus_html(versus)

    figures = []
    if result.angles.names and len(result.angles.times):
        fig = report.angles_figure(result.angles, result.reps, valid=valid, assessments=result.rep_assessments,
                                   exercise=result.session_exercise, height=360)
        figures.append(("Joint angles", fig))
    if result.reps:
        figures.append(("Range of motion per rep",
                        report.reps_figure(result.reps, result.rep_assessments, height=300)))
    chart = _chart_writer(include_plotlyjs)
    for heading, fig in figures:
        parts.append(f"<h2>{html.escape(heading)}</h2><div class='chart'>{chart(fig)}</div>")

    parts.append(f"<h2>Repetitions ({result.rep_count})</h2>")
    if result.reps:
        table, sentence = _reps_for_print(result)
        if sentence:
            parts.append(f"<p class='meta'>{html.escape(sentence)}</p>")
        parts.append(_table(table, left=("angle", "verdict", "reason"), decimals=report.REPS_VIEW_DECIMALS))
    else:
        parts.append("<p>No repetition was counted.</p>")

    # the reps the models judged incorrect, each at the frame where it is farthest from its correction
    wrong = [a["rep"] for a in result.rep_assessments
             if a.get("mistake") == "incorrect" and a["rep"] in result.corrected_poses]
    reps_by_index = {r.index: r for r in result.reps}
    shown = [i for i in wrong if i in reps_by_index][:MAX_CORRECTIONS_SHOWN]
    if shown:
        parts.append("<h2>Corrections</h2><p class='meta'>You in red (thicker where more than 8 cm "
                     "from the correction), the models' corrected pose in green, each rep where it is "
                     "farthest from its correction<span class='noprint'> (▶ Play replays it; under it the same "
                     "moment from the front and the side)</span>"
                     + (f"; the first {len(shown)} of {len(wrong)} reps judged incorrect" if len(wrong) > len(shown)
                        else "") + ".</p><div class='corrections'>")
        for i in shown:
            rep, corrected = reps_by_index[i], result.corrected_poses[i]
            fig = report.rep_correction_figure(result.pose, rep, corrected, height=470,
                                               title=f"Rep #{i} ({rep.start_s:.1f}–{rep.end_s:.1f} s)")
            # the same frame flat, from the front and the side: printed, a 3D (WebGL) view can
            # come out blank, and its Play button means nothing on paper
            views = report.rep_correction_views_figure(result.pose, rep, corrected, name=f"Rep #{i}")
            parts.append(f"<div class='chart'><div class='noprint'>{chart(fig)}</div>{chart(views)}</div>")
        parts.append("</div>")

    if result.angles.names:
        ranges = report.angle_ranges(result.angles, valid)
        ranges = ranges[ranges["measured"] > 0].sort_values("rom_deg", ascending=False)
        ranges = pd.DataFrame({
            "angle": ranges["label"], "min (°)": ranges["min_deg"], "max (°)": ranges["max_deg"],
            "range (°)": ranges["rom_deg"], "measured (%)": 100 * ranges["measured"],
        })
        parts.append("<h2>Range per angle</h2>" + _table(ranges, left=("angle",))
                     + "<p class='meta'>Min and max over the frames where the angle was measured, as "
                       "the chart draws it (a shoulder angle of an arm held behind the back, past -90°, reads "
                       "-92°, not 268°); the range runs from its 5th to its 95th percentile, so that a single "
                       "glitch does not stretch it.</p>")

    items = [_feedback_line(f) for f in feedback]
    if not items:
        items = [(t, "system") for t in result.feedback] + [(t, "warning") for t in result.all_warnings]
    parts.append(_feedback_html(items))
    parts.append(_FOOT)
    return "\n".join(parts).encode("utf-8")


def _feedback_html(items: Sequence[tuple[str, str]]) -> str:
    if not items:
        return ""
    return "<h2>Feedback</h2><ul class='fb'>" + "".join(
        f"<li class='{html.escape(kind)}'>{'⚠ ' if kind in ('warning', 'analysis') else ''}{html.escape(text)}</li>"
        for text, kind in items) + "</ul>"


_FOOT = "<p class='meta'>Made with PhysioTrack.</p></body></html>"


def imu_html_report(
    series: Any,
    analysis: Mapping[str, Any],
    *,
    session: Any | None = None,
    feedback: Sequence[Any] = (),
    include_plotlyjs: bool | str = True,
    tz: tzinfo = UTC,
    about: str | None = None,
) -> bytes:
    """A wrist-IMU set (``ImuSeries`` and its ``ImuSetResult.to_dict()``) as one printable HTML
    file, with what its page shows: the lift, reps, stability and its reason, the set's signal
    with every rep, the rep table, the trainer's notes and feedback. ``about``: as
    ``html_report`` takes it."""
    from physio_core.imu.reps import count_reps

    s = session
    lift = report.lift_name(analysis["lift"])
    title = f"Session #{s.id} · {s.athlete_name}" if s is not None else f"Sensor set · {lift}"
    when = s.started_at if s is not None else None
    stab = analysis.get("stability") or {}
    counting = analysis.get("reps") or {}
    reps = counting.get("reps", [])
    pred = analysis.get("lift_prediction")

    kpis = [("Lift", lift), ("Reps", str(analysis["rep_count"])),
            ("Stability", _score(stab.get("score"))), ("Duration", f"{analysis['duration_s']:.1f} s")]
    named = ("named when the set was analysed" if pred is None else
             f"recognised by the lift classifier ({pred['confidence']:.0%}"
             + (f", weights {pred['weights']})" if pred.get("weights") else ")"))
    parts = [
        *_head(title),
        "<p class='meta'>" + html.escape(" · ".join(x for x in (
            f"{on_clock(when, tz):%Y-%m-%d %H:%M} ({tz})" if when else "", about or "",
            f"lift {named}", f"source: {s.source or '–'}" if s is not None else "",
            "wrist sensor: accelerometer" + (" and gyroscope" if series.gyr is not None else "")) if x)) + "</p>",
        _PRINT_HINT,
        _kpis(kpis),
    ]
    parts += _origin(s, tz, sensor_set=True)
    parts += _felt_and_notes(s)
    if stab.get("reason"):
        parts.append(f"<p>Stability: {html.escape(stab['reason'])}.</p>")
    if not reps and counting.get("reason"):
        parts.append(f"<p>No rep counted: {html.escape(counting['reason'])}.</p>")

    counted = count_reps(series, analysis["lift"])  # the signal drawn; the reps are the stored ones
    fig = report.imu_set_figure(series.times, series.acc, reps, counted.times, counted.signal,
                                set_span=report.counted_span(counting))
    parts.append(f"<h2>The set</h2><div class='chart'>{_chart_writer(include_plotlyjs)(fig)}</div>")
    if (words := report.outside_set_words(series.times, counting)) is not None:
        parts.append(f"<p class='meta'>{html.escape(words)}</p>")
    parts.append(f"<h2>Repetitions ({analysis['rep_count']})</h2>")
    parts.append(_table(report.imu_reps_view_table(reps), decimals=report.IMU_REPS_VIEW_DECIMALS)
                 if reps else "<p>No repetition was counted.</p>")
    # the stored analysis' own line is the stability reason, written above already
    parts.append(_feedback_html([_feedback_line(f) for f in feedback if f.text != stab.get("reason")]))
    parts.append(_FOOT)
    return "\n".join(p for p in parts if p).encode("utf-8")


# ------------------------------------------------------------------ the home programme

_HANDOUT_CSS = """
.item { page-break-inside: avoid; break-inside: avoid; border: 1px solid #ddd; border-radius: 8px;
        padding: 4px 16px 12px; margin: 16px 0; }
.item h2 { border: none; margin-top: 0.6em; } .plan { font-size: 1.15em; font-weight: 600; }
.note { background: #fff7e0; border-left: 4px solid #f0b400; padding: 6px 10px; }
.tick { display: inline-block; width: 1.5em; height: 1.5em; border: 1.5px solid #555; border-radius: 3px;
        margin-right: 4px; vertical-align: middle; text-align: center; font-size: 0.75em; line-height: 1.5em;
        color: #999; }
.tick.off { background: #eee; border-color: #ccc; color: #bbb; }
"""

HANDOUT_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")  # a box to tick a day


def handout_html(handout: Any) -> bytes:
    """The athlete's home programme (``handout.Handout``) as one page to print: per exercise, the
    plan, the trainer's note, how it is done, the range-of-motion targets, the athlete's own rep
    at its key moments (``keyposes.poses_svg``) and a box to tick each day."""
    from physio_core.keyposes import poses_svg

    h = handout
    title = f"Home programme · {h.athlete}"
    parts = _head(title)
    parts[1] = parts[1].replace("</style>", _HANDOUT_CSS + "</style>")
    parts.append("<p class='meta'>" + html.escape(" · ".join(x for x in (f"{h.day:%Y-%m-%d}", h.condition) if x))
                 + "</p>")
    parts.append(_PRINT_HINT)
    if not h.items:
        parts.append("<p>No exercise in the programme now. The trainer sets it on Progress.</p>")
    for it in h.items:
        parts.append(f"<div class='item'><h2>{html.escape(report.pretty_exercise(it.exercise))}</h2>"
                     f"<p class='plan'>{html.escape(it.plan[0].upper() + it.plan[1:])}</p>")
        if it.note:
            parts.append(f"<p class='note'>{html.escape(it.note)}</p>")
        if it.how:
            parts.append(f"<p>{html.escape(it.how)}</p>")
        if it.example is not None:
            parts.append(poses_svg(it.example) + f"<p class='meta'>{html.escape(it.example.words)}</p>")
        if it.targets:
            parts.append("<p>Range-of-motion targets: " + html.escape("; ".join(it.targets)) + ".</p>")
        # with its days said, the others are greyed: no box to tick on a day off
        parts.append("<p>Done: " + "".join(f"<span class='tick{' off' if it.days and k not in it.days else ''}'>{d}"
                                           "</span>" for k, d in enumerate(HANDOUT_DAYS)) + "</p></div>")
    parts.append("<p class='meta'>Stop and tell your trainer if an exercise hurts more than they said it "
                 "may. Record your sets with PhysioTrack: your trainer sees them on Progress.</p>")
    parts.append(_FOOT)
    return "\n".join(parts).encode("utf-8")


# ------------------------------------------------------------------ an athlete's progress


def _score(v: float | None) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.2f}"


def progress_report_html(
    rows: Sequence[Any],
    *,
    athlete: str,
    targets: Sequence[Any] = (),
    rom_exercise: str | None = None,
    angles: Sequence[str] = (),
    include_plotlyjs: bool | str = True,
    programme: Sequence[Any] = (),
    programme_rows: Sequence[Any] | None = None,
    affected_side: str | None = None,
    condition: str | None = None,
    morning: Sequence[Any] = (),
    first_and_latest: tuple[str, str] | None = None,
) -> bytes:
    """An athlete's progress over ``rows`` (``store.ProgressRow``, oldest first, as the progress
    page filtered them) as one printable HTML file: key numbers, sessions and reps over time,
    the score trends, range of motion against the targets for ``rom_exercise`` (``angles``;
    with a table of first, latest and best range and when each target was reached), left/right
    asymmetry, and every session. The figures are the progress page's. ``programme``: the
    athlete's programme items, charted as the share of planned sessions done each week, counted
    on ``programme_rows`` (the sessions of every exercise in the dates; default ``rows``).
    ``affected_side``: the athlete's injured side, which the asymmetry compares against the other;
    ``condition``: the athlete's condition in words (``progress.condition_words``), under the title.
    ``morning``: the pain of the mornings after in the dates (``store.access.MorningPainOut``),
    drawn with the sessions' pain, and the latest against the pain-monitoring model.
    ``first_and_latest``: ``progress.first_and_latest`` of ``rom_exercise``'s sessions (an SVG
    and its caption), drawn under its range of motion."""
    from physio_core import programme as plan
    from physio_core import progress
    from physio_core.ml.weights import installed_judged_by

    if not rows:
        raise ValueError("no session to report")
    title = f"Progress · {athlete}"
    tz = rows[0].date.tzinfo or UTC  # the rows are on the viewer's clock (``load_progress``'s tz)
    s = progress.summary(rows)
    exercises = sorted({r.exercise for r in rows})
    stab = _score(s.stability_score)
    if s.stability_change is not None:
        stab += f" ({report.signed_change(s.stability_change, 2)})"
    correct = "–" if s.correct_share is None else f"{s.correct_share:.0%}"
    if s.correct_change is not None:
        correct += f" ({report.signed_change(100 * s.correct_change, 0, ' pts')})"
    parts = [
        *_head(title),
        "<p class='meta'>" + html.escape(" · ".join((
            f"{s.first:%Y-%m-%d} to {s.last:%Y-%m-%d}",
            "exercises: " + ", ".join(report.pretty_exercise(e, short=True).lower() for e in exercises),
            f"made {datetime.now(tz):%Y-%m-%d %H:%M}"))) + "</p>",  # on the clock its times are, named below
        *([f"<p class='meta'>{html.escape(condition)}</p>"] if condition else []),
        _PRINT_HINT,
        _kpis([("Sessions", str(s.sessions)), ("Reps", str(s.reps)), ("Active weeks", str(s.active_weeks)),
               ("Latest stability", stab), ("Latest correct reps", correct)]
              + ([("Latest pain", f"{s.pain}/10" + ("" if s.pain_change is None
                                                    else f" ({report.signed_change(s.pain_change, 0)})"))]
                 if s.pain is not None else [])),
    ]
    since = [f"{what} against the first {report.pretty_exercise(ex, short=True).lower()} session"
             for what, change, ex in (("stability", s.stability_change, s.stability_exercise),
                                      ("correct reps", s.correct_change, s.correct_exercise))
             if change is not None]
    if s.pain_change is not None:
        since.append("pain against the first pain the athlete gave")
    if since:
        parts.append(f"<p class='meta'>Changes in brackets: {html.escape('; '.join(since))}.</p>")
    chart = _chart_writer(include_plotlyjs)
    parts.append(f"<h2>Sessions per week</h2><div class='chart'>{chart(progress.sessions_figure(rows))}</div>")
    parts.append("<h2>Reps per session</h2>" + (  # as the page: no rep counted is said, not an empty grid
        f"<div class='chart'>{chart(progress.reps_figure(rows))}</div>" if progress.has_reps(rows)
        else f"<p class='meta'>{html.escape(progress.NO_REPS)}</p>"))
    parts.append("<h2>Form, stability and injury risk</h2>" + (
        f"<div class='chart'>{chart(progress.scores_figure(rows))}</div>" if progress.has_scores(rows)
        else f"<p class='meta'>{html.escape(progress.NO_SCORES)}</p>"))
    if progress.has_felt(rows, morning):
        said = [progress.FELT_NOTE] + ([progress.MORNING_NOTE] if morning else [])
        parts.append(f"<h2>Pain and effort</h2><div class='chart'>{chart(progress.felt_figure(rows, morning=morning))}"
                     f"</div><p class='meta'>{html.escape(' '.join(said))}</p>")
        if morning and (note := felt.morning_note(morning, morning[-1].day)) is not None:
            parts.append(f"<p class='{'meta' if note[1] else 'warn'}'>{html.escape(note[0])}</p>")
    if note := progress.weights_note(rows, installed_judged_by()):
        parts.append(f"<p class='meta'>{html.escape(note)}</p>")
    if programme:
        weeks = plan.mondays(rows[0].date.astimezone(tz).date(), rows[-1].date.astimezone(tz).date())
        if plans := plan.week_plans(programme, rows if programme_rows is None else programme_rows, weeks, tz):
            parts.append(f"<h2>Programme done per week</h2><div class='chart'>{chart(plan.adherence_figure(plans))}"
                         f"</div><p class='meta'>{html.escape(plan.adherence_note(plans))}</p>")

    ex_rows = [r for r in rows if r.exercise == rom_exercise and r.rom_deg]
    if ex_rows and angles:
        name = report.pretty_exercise(rom_exercise, short=True)
        parts.append(f"<h2>Range of motion vs target · {html.escape(name)}</h2><div class='chart'>"
                     f"{chart(progress.rom_figure(ex_rows, angles, targets, exercise=rom_exercise))}</div>")
        parts.append(_table(progress.rom_summary_table(
            progress.rom_summary(ex_rows, angles, targets, rom_exercise)), left=("angle", "target reached"),
            decimals=progress.ROM_TABLE_DECIMALS))
        if first_and_latest is not None:
            parts.append(f"<h2>First and latest · {html.escape(name)}</h2><div class='chart'>{first_and_latest[0]}"
                         f"</div><p class='meta'>{html.escape(first_and_latest[1])}</p>")
        if progress.one_sided(rom_exercise):
            sides = progress.sides_figure(ex_rows, affected=affected_side)
            if sides.data:
                parts.append(f"<h2>Left side / right side · {html.escape(name)}</h2>"
                             f"<div class='chart'>{chart(sides)}</div><p class='meta'>"
                             f"{html.escape(progress.sides_note(ex_rows, rom_exercise, affected_side))}</p>")
        elif (asym := progress.asymmetry_figure(ex_rows, affected=affected_side)).data:
            note = progress.asymmetry_note(affected_side)
            heading = "Limb symmetry index" if affected_side else "Left / right asymmetry"
            parts.append(f"<h2>{heading} · {html.escape(name)}</h2>"
                         f"<div class='chart'>{chart(asym)}</div><p class='meta'>"
                         f"{html.escape(note[0].upper() + note[1:])}</p>")
        recurring, once = progress.recurring_only(progress.recurring_corrections(ex_rows))
        if not recurring.empty:
            for k in ("first", "last"):
                recurring[k] = [f"{d:%Y-%m-%d}" for d in recurring[k]]
            parts.append(f"<h2>Recurring corrections · {html.escape(name)}</h2>"
                         + _table(recurring, left=("correction", "first", "last"))
                         + "<p class='meta'>What the corrected pose asked of the reps judged incorrect, "
                           "joint by joint (the athlete's own left and right), and in how many reps and "
                           "sessions; other way: the reps that asked the same joint the opposite way. "
                         + html.escape(once) + "</p>")

    table = progress.sessions_frame(rows)
    table["date"] = [f"{d:%Y-%m-%d %H:%M}" for d in table["date"]]
    labels = progress.SESSION_COLUMN_LABELS
    decimals = {labels.get(c, c): n for c, n in progress.SESSION_DECIMALS.items()}
    table = _table(table.rename(columns=labels), left=("date", "exercise", "source"), decimals=decimals)
    zone = str(tz)  # the page's rows are on the viewer's clock
    parts.append(f"<h2>Sessions ({len(rows)})</h2>" + table + f"<p class='meta'>Times: {html.escape(zone)}.</p>")
    parts.append(_FOOT)
    return "\n".join(parts).encode("utf-8")


# ------------------------------------------------------------------ all of them, for a page


@dataclass(frozen=True)
class Export:
    label: str
    file_name: str
    mime: str
    build: Callable[[], bytes]  # called only when the user downloads


def imu_json_doc(analysis: Mapping[str, Any], *, session: Any | None = None,
                 feedback: Sequence[Any] = ()) -> dict[str, Any]:
    """A wrist-sensor set's analysis (``ImuSetResult.to_dict()``) with, when it is a stored
    session's, the session row and its feedback, as a video session's JSON has them."""
    doc = dict(analysis)
    if session is not None:
        doc["session"] = _meta(session)
        doc["feedback_items"] = _feedback_docs(feedback)
    return doc


def imu_session_exports(series: Any, analysis: Mapping[str, Any] | None, *, stem: str,
                        session: Any | None = None, feedback: Sequence[Any] = (), tz: tzinfo = UTC,
                        include_plotlyjs: bool | str = True, about: str | None = None) -> list[Export]:
    """Every export of one wrist-sensor set (``ImuSeries`` and its ``ImuSetResult.to_dict()``),
    built lazily: the raw series as CSV (the generic format ``read_imu_csv`` reads back), and, when
    the analysis is at hand, the analysis as JSON and the printable report (``about``: its)."""
    from physio_core.imu.io import write_imu_csv

    def raw_csv() -> bytes:
        buf = io.StringIO()
        write_imu_csv(series, buf)
        return buf.getvalue().encode()

    out = [Export("Sensor data (CSV)", f"{stem}_imu.csv", "text/csv", raw_csv)]
    if analysis:
        out += [
            Export("Analysis (JSON)", f"{stem}_imu.json", "application/json",
                   lambda: json.dumps(imu_json_doc(analysis, session=session, feedback=feedback), indent=2,
                                      default=str).encode()),
            Export("Printable report (HTML)", f"{stem}_report.html", "text/html",
                   lambda: imu_html_report(series, analysis, session=session, feedback=feedback, tz=tz,
                                           include_plotlyjs=include_plotlyjs, about=about)),
        ]
    return out


def session_exports(result: SessionResult, *, session_id: int | str, session: Any | None = None,
                    feedback: Sequence[Any] = (), stem: str | None = None,
                    tz: tzinfo = UTC, include_plotlyjs: bool | str = True, about: str | None = None,
                    versus: Versus | None = None) -> list[Export]:
    """Every export of one session, built lazily (``st.download_button(data=e.build)``); the
    printable report tells the time on the clock of ``tz``, the data files in UTC.
    ``include_plotlyjs``, ``about`` and ``versus``: the report's, as ``html_report`` takes them."""
    stem = stem or f"session_{session_id}"
    return [
        Export("CSV (long format)", f"{stem}.csv", "text/csv", lambda: long_csv(result, session_id)),
        Export("Full session (JSON)", f"{stem}.json", "application/json",
               lambda: json_bytes(result, session=session, feedback=feedback)),
        Export("OpenSim angles (.mot)", f"{stem}.mot", "text/plain",
               lambda: mot(result.angles, name=f"{stem}_angles")),
        Export("3D joints (.trc)", f"{stem}.trc", "text/plain",
               lambda: trc(result.pose, name=f"{stem}.trc")),
        Export("Printable report (HTML)", f"{stem}_report.html", "text/html",
               lambda: html_report(result, session=session, feedback=feedback, tz=tz,
                                   include_plotlyjs=include_plotlyjs, about=about, versus=versus)),
    ]
