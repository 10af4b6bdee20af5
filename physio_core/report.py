"""Figures, tables and exports of an analysed session, without Streamlit.

Everything takes the plain result pieces (AngleSeries, reps, PoseSequence) so that a fresh
``SessionResult`` and a session read back from the database render the same way.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from physio_core.kinematics import FULLY_MEASURED, outside_regions, robust_range, unwrapped
from physio_core.names import SHORT_EXERCISE, pretty_exercise
from physio_core.results import AngleSeries, Rep, SessionResult
from physio_core.skeleton import BONES, JOINT_NAMES, N_JOINTS, J, PoseSequence, farthest_frame

LEFT_COLOUR = "#4287f5"
RIGHT_COLOUR = "#ff8c00"
MID_COLOUR = "#555555"
REP_FILL = "rgba(46, 204, 113, 0.15)"
INCORRECT_REP_FILL = "rgba(231, 76, 60, 0.18)"  # a rep the mistake model judged incorrect

_LEFT = {J.L_HIP, J.L_KNEE, J.L_ANKLE, J.L_TOE, J.L_SHOULDER, J.L_ELBOW, J.L_WRIST}
_RIGHT = {J.R_HIP, J.R_KNEE, J.R_ANKLE, J.R_TOE, J.R_SHOULDER, J.R_ELBOW, J.R_WRIST}


def pretty_angle(name: str) -> str:
    """'knee_angle_r' -> 'Knee angle (R)'."""
    side = ""
    if name.endswith(("_r", "_l")):
        side = " (R)" if name.endswith("_r") else " (L)"
        name = name[:-2]
    return name.replace("_", " ").capitalize() + side


# a horizontal legend under the plot, where Plotly's auto-margin makes room for it: above the
# plot a legend of several entries wraps into the tool bar
LEGEND_BELOW = dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0, traceorder="normal")


def green_name(mistake: str | None) -> str:
    """What the green pose beside a rep is called: a rep judged correct still gets the mistake
    model's pose, but nothing in it is a correction: it is the model's form of the rep."""
    return "model" if mistake == "correct" else "correction"


def correction_title(rep: int, mistake: str | None) -> str:
    """The title of a rep's 3D view beside its correction (``green_name``). As short for a rep
    judged correct as for the other, for a phone's column."""
    verdict = " (correct)" if mistake == "correct" else ""
    return f"Rep #{rep}{verdict}: you (red) vs {green_name(mistake)} (green)"


def lift_name(lift: str, short: bool = True) -> str:
    """A wrist-IMU set's lift as the pages name it: 'dead' -> 'Deadlift'."""
    from physio_core.imu.analyze import EXERCISE_OF_LIFT

    return pretty_exercise(EXERCISE_OF_LIFT.get(lift, lift), short)


def signed_change(value: float, digits: int = 0, unit: str = "") -> str:
    """A change as shown: "+11°", "-0.08", and "±0 pts" for one that rounds to nothing (not
    "+0", nor "-0.00" for -0.001)."""
    text = f"{value:+.{digits}f}"
    if float(text) == 0:
        text = "±" + text[1:]
    return text + unit


def rep_verdicts(assessments: Sequence[dict]) -> dict[int, str]:
    """Rep index -> "correct" | "incorrect", for the reps the mistake model judged."""
    return {a["rep"]: a["mistake"] for a in assessments if "mistake" in a and "rep" in a}


def correct_reps(rep_assessments: Sequence[dict]) -> str | None:
    """"4 of 6": the reps the mistake model judged correct, of those it judged; None if none."""
    judged = list(rep_verdicts(rep_assessments).values())
    return f"{judged.count('correct')} of {len(judged)}" if judged else None


def _finite(v: float | None) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


# ------------------------------------------------------------------------------ tables


def angle_ranges(angles: AngleSeries, valid: np.ndarray | None = None) -> pd.DataFrame:
    """Per angle: min, max (of the angle as drawn: ``unwrapped``), robust range (5th-95th
    percentile, on the circle: ``kinematics.robust_range``) and share of frames measured."""
    rows = []
    mask = np.ones(len(angles.times), bool) if valid is None else np.asarray(valid, bool)
    for name in angles.names:
        v = unwrapped(angles[name])[mask]
        f = v[np.isfinite(v)]
        rows.append({
            "angle": name,
            "label": pretty_angle(name),
            "min_deg": float(f.min()) if f.size else math.nan,
            "max_deg": float(f.max()) if f.size else math.nan,
            "rom_deg": robust_range(f, 5, 95) if f.size else math.nan,
            "measured": f.size / max(1, v.size),
        })
    return pd.DataFrame(rows)


def principal_angles(angles: AngleSeries, reps: Sequence[Rep] = (), valid: np.ndarray | None = None,
                     k: int = 4, exercise: str | None = None) -> list[str]:
    """The rep angle first, then the angles that moved most: those measured throughout
    (``FULLY_MEASURED``) before those measured in at least half the frames. With an exercise
    known (from the reps' angle, else ``exercise``), among each the angles of the body part it
    trains and the trunk's come before the others: an arm raise opens on the arm and the trunk's
    lean, not on the ankles, whose tracker noise can span more degrees than an elbow moves."""
    from physio_core.reps import trained_regions_of

    ranges = angle_ranges(angles, valid)
    ranges = ranges[ranges["measured"] >= 0.5]
    trained = trained_regions_of([r.angle for r in reps], exercise)
    elsewhere = [outside_regions(a, trained) for a in ranges["angle"]]
    ranges = ranges.assign(gaps=ranges["measured"] < FULLY_MEASURED, elsewhere=elsewhere)
    ranges = ranges.sort_values(["gaps", "elsewhere", "rom_deg"], ascending=[True, True, False])
    out: list[str] = []
    for r in reps:
        if r.angle in angles.names and r.angle not in out:
            out.append(r.angle)
    for name in ranges["angle"]:
        if len(out) >= k:
            break
        if name not in out:
            out.append(name)
    return out or list(angles.names[:k])


ASSESSMENT_COLUMNS = ("exercise", "stability_score", "balance_score", "injury_risk", "mistake",
                      "mistake_confidence", "reason")


def reps_table(reps: Sequence[Rep], assessments: Sequence[dict] = ()) -> pd.DataFrame:
    """One row per rep: timing, range of motion and its turning point; with ``assessments``
    (SessionResult.rep_assessments) also the models' exercise, scores, mistake and reason."""
    df = _reps_timing_table(reps)
    if assessments:
        by_rep = {a["rep"]: a for a in assessments}
        for col in ASSESSMENT_COLUMNS:
            df[col] = [by_rep.get(r, {}).get(col) for r in df["rep"]]
    return df


# decimals of the numbers of the rep tables, on the page and in the printed report: a table that
# writes 1.3 above 10.97 reads as if the first were less precise
REPS_VIEW_DECIMALS = {"start (s)": 2, "duration (s)": 2, "to turn (s)": 2, "back (s)": 2, "range (°)": 1,
                      "stability": 2, "injury risk": 2}
IMU_REPS_VIEW_DECIMALS = {"start (s)": 2, "duration (s)": 2, "peak at (s)": 2, "amplitude (g)": 2}


def reps_view_table(reps: Sequence[Rep], assessments: Sequence[dict] = ()) -> pd.DataFrame:
    """``reps_table`` as the report pages and the printable report show it: readable headers and
    names, the verdict with its confidence ("incorrect (51%)"), scores as numbers (NaN: not
    scored) that ``REPS_VIEW_DECIMALS`` says how to write; the CSV and JSON exports keep
    ``reps_table``'s own columns.

    The rep's tempo: "to turn" from its start to its turning point (the bottom of a squat, the
    top of an arm raise), "back" from there to its end; the three durations are those of the
    times as written, so that they add up. With verdicts, they and their reasons come first,
    the timing last."""
    df = reps_table(reps, assessments)
    start, end = df["start_s"].astype(float), df["end_s"].astype(float)
    turn = pd.to_numeric(df["peak_s"], errors="coerce")  # NaN: a rep without its turning point
    out = pd.DataFrame({"rep": df["rep"], "start (s)": start, "duration (s)": (end - start).round(2),
                        "to turn (s)": (turn - start).round(2), "back (s)": (end - turn).round(2),
                        "angle": [pretty_angle(a) for a in df["angle"]], "range (°)": df["rom_deg"]})
    if assessments:
        def score(v) -> float:
            return np.nan if v is None else float(v)

        # what the classifier saw in the rep, also when the user named the exercise
        out["recognised as"] = [pretty_exercise(e, short=True) if isinstance(e, str) else "–" for e in df["exercise"]]
        out["verdict"] = [("–" if not isinstance(m, str) else m if c is None or not np.isfinite(c) else f"{m} ({c:.0%})")
                          for m, c in zip(df["mistake"], df["mistake_confidence"])]
        out["stability"] = [score(v) for v in df["stability_score"]]
        out["injury risk"] = [score(v) for v in df["injury_risk"]]
        out["reason"] = [r if isinstance(r, str) else "" for r in df["reason"]]
        # the models' verdict and why first: on a tablet the table shows its first ~500 px
        first = ["rep", "verdict", "injury risk", "reason", "stability", "range (°)", "recognised as"]
        out = out[first + [c for c in out.columns if c not in first]]
    return out


def fold_common_columns(table: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, dict[str, object]]:
    """``table`` less those of ``columns`` that hold one value on every row (two rows or more),
    and those values by column: said once above the table, they leave its room to the rest."""
    if len(table) < 2:
        return table, {}
    common = {c: table[c].iloc[0] for c in columns if c in table and table[c].nunique(dropna=False) == 1}
    return table.drop(columns=list(common)), common


JUDGEMENT_COLUMNS = ("verdict", "stability", "injury risk", "reason")


def reps_said_once(table: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """``reps_view_table`` less what every rep has alike, and the sentence that says it once
    above the table: the angle and the exercise ("All 6 reps counted on the knee angle (L),
    recognised as deep squat."), and the models' columns when no rep was judged (a set outside
    the movements the models know)."""
    judged = table.reindex(columns=list(JUDGEMENT_COLUMNS))
    unjudged = len(table) > 0 and "verdict" in table and bool(
        judged["verdict"].isin(["–", None]).all() and judged[["stability", "injury risk"]].isna().all().all()
        and not judged["reason"].fillna("").astype(bool).any())
    if unjudged:
        table = table.drop(columns=[c for c in JUDGEMENT_COLUMNS if c in table])
    table, common = fold_common_columns(table, ("angle", "recognised as"))

    def prose(name: object) -> str:
        return str(name)[:1].lower() + str(name)[1:]  # "Knee angle (L)" -> "knee angle (L)"

    said = []
    if "angle" in common:
        said.append(f"counted on the {prose(common['angle'])}")
    if common.get("recognised as") == SHORT_EXERCISE["other"]:
        said.append("none recognised as a movement the models know")
    elif "recognised as" in common:
        said.append(f"recognised as {prose(common['recognised as'])}")
    if unjudged:
        said.append("none judged")
    if len(table) == 1 and said:  # nothing is folded of a lone rep (``fold_common_columns``): only its verdict
        return table, "The rep was not judged."
    return table, (f"All {len(table)} reps " + ", ".join(said) + ".") if said else None


def imu_reps_view_table(reps: Sequence[dict]) -> pd.DataFrame:
    """A wrist-IMU set's reps (ImuRep.to_dict() rows) as its report shows them."""
    cols = {"index": "rep", "start_s": "start (s)", "duration_s": "duration (s)", "peak_s": "peak at (s)",
            "amplitude_g": "amplitude (g)"}
    df = pd.DataFrame(list(reps), columns=list(cols)).rename(columns=cols)
    return df.round(IMU_REPS_VIEW_DECIMALS)


def _reps_timing_table(reps: Sequence[Rep]) -> pd.DataFrame:
    cols = ["rep", "start_s", "end_s", "duration_s", "angle", "rom_deg", "min_deg", "max_deg",
            "peak_s"]
    rows = [{
        "rep": r.index,
        "start_s": round(r.start_s, 2),
        "end_s": round(r.end_s, 2),
        "duration_s": round(r.duration_s, 2),
        "angle": r.angle,
        "rom_deg": round(r.rom_deg, 1),
        "min_deg": round(r.min_deg, 1),
        "max_deg": round(r.max_deg, 1),
        "peak_s": None if r.peak_s is None else round(r.peak_s, 2),
    } for r in reps]
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------ figures


def _shade_reps(fig: go.Figure, spans: Sequence[tuple[float, float]], labels: Sequence[str], *,
                fills: Sequence[str], opacities: Sequence[float] | None = None,
                text_colors: Sequence[str | None] | None = None) -> None:
    """Shade each rep's time span over the whole plot height, its label at the top left: what
    ``fig.add_vrect(annotation_text=...)`` draws, set in one go. (add_vrect re-validates every
    shape already there: the angle chart of a 10-min session with 313 reps took 45.6 s.)"""
    shapes, notes = [], []
    for k, ((x0, x1), label) in enumerate(zip(spans, labels)):
        shape = dict(type="rect", xref="x", yref="y domain", x0=x0, x1=x1, y0=0, y1=1,
                     fillcolor=fills[k], line=dict(width=0), layer="below")
        if opacities is not None:
            shape["opacity"] = opacities[k]
        shapes.append(shape)
        font = dict(size=11) | ({"color": text_colors[k]} if text_colors and text_colors[k] else {})
        notes.append(dict(text=label, x=x0, xref="x", y=1, yref="y domain", xanchor="left",
                          yanchor="top", showarrow=False, font=font))
    fig.update_layout(shapes=list(fig.layout.shapes) + shapes,
                      annotations=list(fig.layout.annotations) + notes)


def angles_figure(
    angles: AngleSeries,
    reps: Sequence[Rep] = (),
    names: Sequence[str] | None = None,
    *,
    current_s: float | None = None,
    valid: np.ndarray | None = None,
    assessments: Sequence[dict] = (),
    exercise: str | None = None,
    height: int = 380,
) -> go.Figure:
    """Angle time series (degrees) with every rep shaded and numbered, and a time cursor. With
    ``assessments`` (SessionResult.rep_assessments) a rep judged incorrect is shaded red and
    marked "✗". Without ``names``, ``principal_angles`` (of ``exercise``, without reps)."""
    names = list(names) if names else principal_angles(angles, reps, valid, exercise=exercise)
    fig = go.Figure()
    for name in names:
        if name not in angles.names:
            continue
        fig.add_trace(go.Scatter(
            x=angles.times, y=unwrapped(angles[name]), mode="lines", name=pretty_angle(name),
            connectgaps=False, hovertemplate="%{y:.0f}° at %{x:.2f} s",
        ))
    verdicts = rep_verdicts(assessments)
    wrong = [verdicts.get(r.index) == "incorrect" for r in reps]
    _shade_reps(fig, [(r.start_s, r.end_s) for r in reps],
                [f"#{r.index}" + (" ✗" if w else "") for r, w in zip(reps, wrong)],
                fills=[INCORRECT_REP_FILL if w else REP_FILL for w in wrong],
                text_colors=["#c0392b" if w else None for w in wrong])
    if current_s is not None:
        fig.add_vline(x=current_s, line_dash="dot", line_color="#c0392b")
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), hovermode="x unified",
        xaxis_title="time (s)", yaxis_title="angle (°)",
        legend=LEGEND_BELOW,
    )
    return fig


_EYE = dict(x=0.385, y=2.42, z=0.495)  # in front of the athlete, a little to the side and above


def _camera(aspect: dict) -> dict:
    """The 3D views' camera for a box of ``aspect``: Plotly's view angle is fixed, so a taller
    box (arms overhead) is seen from farther, and the view aims a little below the box's centre.
    Nearer, the box's top or its floor and the "left (m)" title under it fell out of the figure."""
    farther = max(1.0, aspect["z"] / 1.05)
    return dict(eye={k: v * farther for k, v in _EYE.items()}, up=dict(x=0, y=0, z=1),
                center=dict(x=0, y=0, z=-0.05))


def _z_range(lo: float, hi: float) -> list[float]:
    # a body-sized box that grows only when a foot or a hand (overhead) would leave it
    return [min(lo, -1.0) - 0.05, max(hi, 1.0) + 0.05]


def _z_axis(lo: float, hi: float) -> dict:
    """The up axis of the 3D views: ``_z_range``, a tick every 0.5 m, none within 0.1 m of the
    floor of the box, where its label would be drawn over the forward axis's."""
    z0, z1 = _z_range(lo, hi)
    ticks = np.arange(np.ceil((z0 + 0.1) * 2) / 2, z1 + 1e-9, 0.5)
    return dict(title="up (m)", range=[z0, z1], tickvals=[round(float(v), 1) for v in ticks])


def _scene(lo: float, hi: float, mirrored: bool = False) -> dict:
    """The scene of the 3D views: a body-sized box, 2 m wide and deep (fixed, so that a skeleton
    does not jump in size while scrubbing), as tall as joint heights ``lo``..``hi`` need, and its
    camera. The skeleton's frame maps onto Plotly's with one axis pair swapped (up is its y,
    Plotly's z), which mirrors the view: the left axis is reversed to undo it, so that the
    athlete's left shows on the right, as in the video of an athlete who faces the camera.
    ``mirrored`` keeps the mirror image, for a selfie preview."""
    aspect = _aspect(lo, hi)
    return dict(xaxis=dict(title="left (m)", range=[-1.0, 1.0] if mirrored else [1.0, -1.0]),
                yaxis=dict(title="forward (m)", range=[-1.0, 1.0]),
                zaxis=_z_axis(lo, hi), aspectmode="manual", aspectratio=aspect, camera=_camera(aspect))


def _view_layout(lo: float, hi: float, height: int, title: str | None, mirrored: bool = False) -> dict:
    """The layout of a 3D view: ``_scene``, its title, and the tool bar down the right-hand side
    (across the top, it covers the title in a narrow column: "Rep #4: you (red) vs correction
    (green)" on a tablet)."""
    return dict(height=height, margin=dict(l=0, r=0, t=30 if title else 0, b=0), title=title,
                scene=_scene(lo, hi, mirrored), modebar=dict(orientation="v"))


def _aspect(lo: float, hi: float) -> dict:
    # metres look the same along every axis, also when the box grows upward
    z0, z1 = _z_range(lo, hi)
    return dict(x=1.0, y=1.0, z=(z1 - z0) / 2.0)


def skeleton_figure(
    joints: np.ndarray,
    confidence: np.ndarray | None = None,
    *,
    title: str | None = None,
    min_conf: float = 0.05,
    height: int = 420,
    mirrored: bool = False,
) -> go.Figure:
    """3D view of one canonical pose: left side blue, right orange; Plotly's z axis is up.

    Canonical +X (subject's left) -> plot x, +Z (forward) -> plot y, +Y (up) -> plot z.
    ``mirrored``: as in a mirror (beside a selfie preview).
    """
    p = np.asarray(joints, dtype=float).reshape(N_JOINTS, 3)
    ok = np.isfinite(p).all(axis=1)
    if confidence is not None:
        ok &= np.asarray(confidence).reshape(N_JOINTS) >= min_conf
    fig = go.Figure()
    shown = np.where(ok[:, None], p, np.nan)
    for colour, side in ((LEFT_COLOUR, _LEFT), (RIGHT_COLOUR, _RIGHT), (MID_COLOUR, None)):
        in_side = np.array([(b in side) if side is not None else (b not in _LEFT and b not in _RIGHT)
                            for b in range(N_JOINTS)])
        xs, ys, zs = _bones_xyz(shown, in_side)
        if xs:
            fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", hoverinfo="skip",
                                       line=dict(color=colour, width=7), showlegend=False))
    idx = np.flatnonzero(ok)
    if idx.size:
        fig.add_trace(go.Scatter3d(
            x=p[idx, 0], y=p[idx, 2], z=p[idx, 1], mode="markers",
            marker=dict(size=4, color="#222222"), text=[JOINT_NAMES[i] for i in idx],
            hovertemplate="%{text}<extra></extra>", showlegend=False,
        ))
    lo = float(np.nanmin(p[ok, 1])) if idx.size else -1.0
    hi = float(np.nanmax(p[ok, 1])) if idx.size else 1.0
    fig.update_layout(**_view_layout(lo, hi, height, title, mirrored))
    return fig


ATHLETE_COLOUR = "#e74c3c"
CORRECTED_COLOUR = "#27ae60"


def side_colour(joint: int) -> str:
    """The colour of a joint's side (and of the bone ending in it): left blue, right orange."""
    return LEFT_COLOUR if joint in _LEFT else RIGHT_COLOUR if joint in _RIGHT else MID_COLOUR


def _bones_xyz(p: np.ndarray, keep: np.ndarray | None = None) -> tuple[list, list, list]:
    """Plot coordinates (as in skeleton_figure) of the bones of one pose, None between bones;
    ``keep`` (bool per joint): only the bones ending in a kept joint."""
    ok = np.isfinite(p).all(axis=1)
    q = np.round(p, 3).tolist()  # to the millimetre, as stored: an animation's frames add up
    xs, ys, zs = [], [], []
    for a, b in BONES:
        if ok[a] and ok[b] and (keep is None or keep[b]):
            for j in (a, b):
                xs.append(q[j][0]); ys.append(q[j][2]); zs.append(q[j][1])
            xs.append(None); ys.append(None); zs.append(None)
    return xs, ys, zs


def _off_by(athlete: np.ndarray, corrected: np.ndarray, tolerance_m: float):
    """One frame's two poses as (N_JOINTS, 3) arrays, how far each joint is from its correction
    (m), and which joints are more than ``tolerance_m`` off (drawn thick in red)."""
    a = np.asarray(athlete, dtype=float).reshape(N_JOINTS, 3)
    c = np.asarray(corrected, dtype=float).reshape(N_JOINTS, 3)
    off = np.linalg.norm(a - c, axis=1)
    return a, c, off, np.isfinite(off) & (off > tolerance_m)


def _correction_traces(athlete: np.ndarray, corrected: np.ndarray, tolerance_m: float,
                       green: str = "correction") -> list[dict]:
    """The correction view of one frame, always these four traces (an animation's frames update
    them by position, so none may be left out): the correction in green, the athlete in red,
    thicker red for the bones into a joint more than ``tolerance_m`` from the correction, and
    those joints as markers (hover: how far off). Plain dicts: a rep's animation holds hundreds
    of them, and Plotly checks each trace object it builds (go.Scatter3d) property by property."""
    a, c, off, wrong = _off_by(athlete, corrected, tolerance_m)
    idx = np.flatnonzero(wrong)

    def bones(p, keep, colour, name, width, legend) -> dict:
        x, y, z = _bones_xyz(p, keep)
        return dict(type="scatter3d", x=x, y=y, z=z, mode="lines", name=name, hoverinfo="skip",
                    line=dict(color=colour, width=width), showlegend=legend)

    return [
        bones(c, None, CORRECTED_COLOUR, green, 6, True),
        bones(a, ~wrong, ATHLETE_COLOUR, "athlete", 6, True),
        bones(a, wrong, ATHLETE_COLOUR, "athlete", 11, False),
        dict(type="scatter3d", x=a[idx, 0], y=a[idx, 2], z=a[idx, 1],
             mode="markers", showlegend=False, marker=dict(size=5, color=ATHLETE_COLOUR),
             text=[f"{JOINT_NAMES[i]}: {off[i] * 100:.0f} cm off" for i in idx],
             hovertemplate="%{text}<extra></extra>"),
    ]


def _correction_layout(fig: go.Figure, heights: np.ndarray, title: str | None, height: int,
                       mirrored: bool = False) -> None:
    """Axes and box of the correction views: ``skeleton_figure``'s, tall enough for every
    joint height in ``heights`` (m)."""
    seen = heights[np.isfinite(heights)]
    lo, hi = (float(seen.min()), float(seen.max())) if seen.size else (-1.0, 1.0)
    fig.update_layout(**_view_layout(lo, hi, height, title, mirrored), legend=dict(orientation="h", y=0.02))


def correction_figure(
    athlete: np.ndarray,
    corrected: np.ndarray,
    *,
    title: str | None = None,
    tolerance_m: float = 0.08,  # correct UI-PRMD reps stay within ~7 cm of their correction
    height: int = 420,
    mirrored: bool = False,
    green: str = "correction",
) -> go.Figure:
    """3D view of one frame of a rep: the athlete in red (thicker where a joint is more than
    ``tolerance_m`` from the correction) and the corrected pose in green, same axes and box as
    ``skeleton_figure``; ``mirrored``: as in a mirror (beside a selfie preview); ``green``: the
    corrected pose's name in the legend (``green_name``)."""
    fig = go.Figure(_correction_traces(athlete, corrected, tolerance_m, green))
    both = np.vstack([np.reshape(athlete, (N_JOINTS, 3)), np.reshape(corrected, (N_JOINTS, 3))])
    _correction_layout(fig, both[:, 1], title, height, mirrored)
    return fig


def correction_animation(
    athlete: np.ndarray,
    corrected: np.ndarray,
    times: np.ndarray,
    *,
    start: int = 0,
    title: str | None = None,
    tolerance_m: float = 0.08,
    height: int = 490,
    green: str = "correction",
) -> go.Figure:
    """The whole rep in the correction view: (n, N_JOINTS, 3) athlete and corrected poses at
    ``times`` (s), one animation frame each, played in the browser (Play / Pause and a time
    slider under the view; no round trip to the server). It opens on frame ``start`` (the
    worst, say) and plays at the recording's speed. The box holds every frame, so that it does
    not change size while playing."""
    a = np.asarray(athlete, dtype=float).reshape(-1, N_JOINTS, 3)
    c = np.asarray(corrected, dtype=float).reshape(-1, N_JOINTS, 3)
    n = min(len(a), len(c), len(times))
    if n == 0:
        raise ValueError("a correction animation needs at least one frame")
    start = int(np.clip(start, 0, n - 1))
    t = np.asarray(times[:n], dtype=float) - float(times[0])
    names = [f"{v:.2f} s" for v in t]
    frames = [dict(data=_correction_traces(a[k], c[k], tolerance_m, green), name=names[k]) for k in range(n)]
    fig = go.Figure(data=frames[start]["data"], frames=frames)  # one check of the frames, in here
    _correction_layout(fig, np.concatenate([a[:n, :, 1].ravel(), c[:n, :, 1].ravel()]), title, height)
    step_ms = 1000.0 * float(np.median(np.diff(t))) if n > 1 else 33.0
    # 3D traces cannot be tweened: each frame is redrawn, without transition
    play = dict(frame=dict(duration=step_ms, redraw=True), transition=dict(duration=0),
                fromcurrent=True, mode="immediate")
    jump = dict(frame=dict(duration=0, redraw=True), transition=dict(duration=0), mode="immediate")
    # the buttons, then the slider on a line of its own under them: side by side, they overlap
    # in a narrow column (a tablet)
    fig.update_layout(
        margin=dict(l=0, r=0, t=30 if title else 0, b=120),
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=0.0, xanchor="left", yanchor="top",
                          pad=dict(t=26, r=10), showactive=False, buttons=[
                              dict(label="▶ Play", method="animate", args=[None, play]),
                              dict(label="❚❚ Pause", method="animate", args=[[None], jump])])],
        # one step per frame: their labels would overlap, only the current one is written
        sliders=[dict(active=start, x=0.0, len=1.0, y=0.0, yanchor="top", pad=dict(t=62, r=10),
                      ticklen=0, minorticklen=0, font=dict(color="rgba(0,0,0,0)"),
                      currentvalue=dict(prefix="rep time ", font=dict(size=12, color="#444")),
                      steps=[dict(label=name, method="animate", args=[[name], jump]) for name in names])],
    )
    return fig


def correction_views_figure(
    athlete: np.ndarray,
    corrected: np.ndarray,
    *,
    title: str | None = None,
    tolerance_m: float = 0.08,
    height: int = 340,
    green: str = "correction",
) -> go.Figure:
    """One frame of a rep seen flat from the front and from the side, as a physio looks at it:
    the athlete in red (thicker into a joint more than ``tolerance_m`` from the correction), the
    corrected pose in green, one metre as long on both axes. Drawn in SVG, it prints where a 3D
    (WebGL) view may come out blank. From the front the athlete's left is on the right, as a
    camera in front sees them; from the side they face right."""
    from plotly.subplots import make_subplots

    a, c, _, wrong = _off_by(athlete, corrected, tolerance_m)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("from the front", "from the side"),
                        horizontal_spacing=0.08)
    for col, across in ((1, 0), (2, 1)):  # _bones_xyz: x = left, y = forward, z = up
        for p, keep, colour, name, width in ((c, None, CORRECTED_COLOUR, green, 3),
                                              (a, ~wrong, ATHLETE_COLOUR, "athlete", 3),
                                              (a, wrong, ATHLETE_COLOUR, "athlete", 6)):
            xyz = _bones_xyz(p, keep)
            fig.add_trace(go.Scatter(x=xyz[across], y=xyz[2], mode="lines", name=name, hoverinfo="skip",
                                     line=dict(color=colour, width=width),
                                     showlegend=col == 1 and width == 3), row=1, col=col)
    both = np.vstack([a, c])
    both = both[np.isfinite(both).all(axis=1)]
    lo, hi = (both.min(axis=0), both.max(axis=0)) if len(both) else (np.full(3, -1.0), np.full(3, 1.0))
    pad = 0.1
    half = max(float(hi[0] - lo[0]), float(hi[2] - lo[2])) / 2 + pad  # both views equally wide
    for col, axis in ((1, 0), (2, 2)):
        mid = float(lo[axis] + hi[axis]) / 2
        fig.update_xaxes(range=[mid - half, mid + half], row=1, col=col, showticklabels=False, zeroline=False)
        fig.update_yaxes(range=[float(lo[1]) - pad, float(hi[1]) + pad], row=1, col=col,
                         scaleanchor=f"x{'' if col == 1 else col}", scaleratio=1, showticklabels=col == 1,
                         title_text="up (m)" if col == 1 else None)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=60 if title else 30, b=10),
                      legend=dict(orientation="h", y=-0.04), dragmode=False)
    if title:  # an unset title reads "undefined" in Streamlit
        fig.update_layout(title=title)
    return fig


def rep_correction_figure(pose: PoseSequence, rep: Rep, corrected: PoseSequence, *,
                          title: str | None = None, height: int = 490, green: str = "correction") -> go.Figure:
    """``correction_animation`` of one rep of ``pose`` against its correction, opening on the
    frame that shows the mistake best (``worst_correction_frame``)."""
    n = min(len(corrected), len(pose) - rep.start_frame)
    frames = slice(rep.start_frame, rep.start_frame + n)
    return correction_animation(pose.joints[frames], corrected.joints[:n], pose.times[frames],
                                start=worst_correction_frame(pose, rep, corrected), title=title, height=height,
                                green=green)


def rep_correction_views_figure(pose: PoseSequence, rep: Rep, corrected: PoseSequence, *,
                                name: str | None = None, height: int = 340,
                                green: str = "correction") -> go.Figure:
    """``correction_views_figure`` of one rep of ``pose`` at the frame that shows the mistake best
    (``worst_correction_frame``, where ``rep_correction_figure`` opens); ``name`` ("Rep #3"):
    its title, with how far into the rep that frame is."""
    k = worst_correction_frame(pose, rep, corrected)
    at = float(pose.times[rep.start_frame + k] - pose.times[rep.start_frame])
    return correction_views_figure(pose.joints[rep.start_frame + k], corrected.joints[k], height=height,
                                   title=None if name is None else f"{name}, {at:.1f} s into it", green=green)


def worst_correction_frame(pose: PoseSequence, rep: Rep, corrected: PoseSequence) -> int:
    """Index into ``corrected`` (frame ``rep.start_frame + k`` of ``pose``) where the athlete is
    farthest from the correction: the frame that shows the mistake best."""
    n = min(len(corrected), len(pose) - rep.start_frame)
    if n <= 0:
        return 0
    return farthest_frame(pose.joints[rep.start_frame:rep.start_frame + n], corrected.joints[:n])


# a rep's bar is drawn orange when its range of motion is this share off the set's median
ROM_NEAR_MEDIAN = 0.15
ROM_NEAR_COLOUR, ROM_OFF_COLOUR = "#2ecc71", "#e67e22"


def reps_figure(reps: Sequence[Rep], assessments: Sequence[dict] = (), *, height: int = 300) -> go.Figure:
    """Range of motion of each rep (bars, orange when ``ROM_NEAR_MEDIAN`` off the set's median) with the rep
    duration as hover text; with ``assessments`` each judged rep's verdict over its bar (✓ / ✗)."""
    fig = go.Figure()
    if reps:
        rom = np.array([r.rom_deg for r in reps])
        med = float(np.median(rom))
        near = np.abs(rom - med) <= ROM_NEAR_MEDIAN * max(med, 1)
        colours = np.where(near, ROM_NEAR_COLOUR, ROM_OFF_COLOUR).tolist()
        verdicts = rep_verdicts(assessments)
        said = [verdicts.get(r.index, "") for r in reps]
        fig.add_trace(go.Bar(
            x=[f"#{r.index}" for r in reps], y=rom, marker_color=colours,
            text=[{"correct": "✓", "incorrect": "✗"}.get(v, "") for v in said], textposition="outside",
            textfont=dict(size=15, color=["#c0392b" if v == "incorrect" else "#1e8449" for v in said]),
            customdata=[[r.duration_s, r.angle, f"<br>judged {v}" if v else ""] for r, v in zip(reps, said)],
            hovertemplate="ROM %{y:.0f}° (%{customdata[1]})<br>%{customdata[0]:.2f} s%{customdata[2]}<extra></extra>",
        ))
        # the median named in a legend: a label on the line sat on the tallest bar and its mark
        fig.add_hline(y=med, line_dash="dot", line_color="#444")
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"median {med:.0f}°",
                                 line=dict(dash="dot", color="#444"), hoverinfo="skip"))
        # what the bars' two colours mean, for those present
        pct = f"{ROM_NEAR_MEDIAN:.0%}".replace("%", " %")
        for shown, colour, name in ((near.any(), ROM_NEAR_COLOUR, f"within {pct} of it"),
                                    ((~near).any(), ROM_OFF_COLOUR, f"more than {pct} off")):
            if shown:
                fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                                         marker=dict(symbol="square", size=12, color=colour)))
        fig.data[0].showlegend = False
    # "#1", "#2": Plotly reads them as the numbers 1, 2 and a linear axis (ticks at 1.5) otherwise
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), xaxis_type="category",
                      xaxis_title="rep", yaxis_title="range of motion (°)", legend=LEGEND_BELOW)
    return fig


# a recording's time before and after the set it holds (not counted)
OUTSIDE_SET_FILL = "#d5d8dc"
OUTSIDE_SET_AT_LEAST_S = 2.0  # less is not worth a word


def counted_span(counting: dict) -> tuple[float, float] | None:
    """(start, end) s of the stretch of a wrist-IMU recording its reps were counted in;
    ``counting``: RepCount.to_dict(). None for sets analysed before the counter looked for the
    set in the recording."""
    return (counting["set_start_s"], counting["set_end_s"]) if "set_start_s" in counting else None


def outside_set(times: np.ndarray, counting: dict) -> tuple[float, float]:
    """(seconds before, seconds after) the set in a wrist-IMU recording (``counted_span``; (0, 0)
    without one)."""
    if (span := counted_span(counting)) is None or len(times) == 0:
        return 0.0, 0.0
    return max(0.0, span[0] - float(times[0])), max(0.0, float(times[-1]) - span[1])


def outside_set_words(times: np.ndarray, counting: dict) -> str | None:
    """What of a wrist-IMU recording is not the set, in a sentence; None when it is all set."""
    before, after = outside_set(times, counting)
    early, late = before >= OUTSIDE_SET_AT_LEAST_S, after >= OUTSIDE_SET_AT_LEAST_S
    if early and late:
        where = f"the {before:.0f} s before it or the {after:.0f} s after it"
        why = "standing, moving about, taking or racking the bar"
    elif early:
        where, why = f"the {before:.0f} s before it", "standing, moving about, taking the bar"
    elif late:
        where, why = f"the {after:.0f} s after it", "racking the bar, standing, moving about"
    else:
        return None
    start, end = counted_span(counting)
    return f"Reps are counted in the set ({start:.0f}–{end:.0f} s), not in {where} ({why})."


def imu_set_figure(times: np.ndarray, acc: np.ndarray, reps: Sequence[dict],
                   signal_times: np.ndarray | None = None, signal: np.ndarray | None = None,
                   *, set_span: tuple[float, float] | None = None, height: int = 340) -> go.Figure:
    """A wrist-IMU set: acceleration magnitude (g), the signal the reps were counted on, every
    rep shaded and numbered with its peak marked. ``reps``: ImuRep.to_dict() rows. ``set_span``:
    (start, end) s of the set in the recording; the time outside it is greyed, "not the set"."""
    fig = go.Figure()
    has_signal = signal is not None and signal_times is not None and len(signal) > 0
    mag = np.linalg.norm(np.asarray(acc, dtype=float), axis=1)
    fig.add_trace(go.Scatter(x=times, y=mag, mode="lines", name="acceleration |a|",
                             line=dict(color="#95a5a6", width=1), hovertemplate="%{y:.2f} g at %{x:.2f} s",
                             # the rep signal may be centred on 0 (a principal component): |a| on demand
                             visible="legendonly" if has_signal else True))
    if has_signal:
        fig.add_trace(go.Scatter(x=signal_times, y=signal, mode="lines", name="rep signal (filtered)",
                                 line=dict(color="#2e86c1", width=2.5),
                                 hovertemplate="%{y:.2f} g at %{x:.2f} s"))
    _shade_reps(fig, [(r["start_s"], r["end_s"]) for r in reps], [f"#{r['index']}" for r in reps],
                fills=[REP_FILL] * len(reps),  # an IMU set's reps touch: every other one lighter
                opacities=[1.0 if k % 2 == 0 else 0.45 for k in range(len(reps))])
    if set_span is not None and len(times):
        outside = [(float(times[0]), set_span[0]), (set_span[1], float(times[-1]))]
        outside = [(a, b) for a, b in outside if b - a >= OUTSIDE_SET_AT_LEAST_S]
        _shade_reps(fig, outside, ["not the set"] * len(outside), fills=[OUTSIDE_SET_FILL] * len(outside),
                    opacities=[0.5] * len(outside), text_colors=["#7f8c8d"] * len(outside))
    if reps and has_signal:
        peaks = np.array([r["peak_s"] for r in reps])
        fig.add_trace(go.Scatter(x=peaks, y=np.interp(peaks, signal_times, signal), mode="markers",
                                 name="rep", marker=dict(color="#c0392b", size=8),
                                 hovertemplate="rep at %{x:.2f} s<extra></extra>"))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), hovermode="closest",
        xaxis_title="time (s)", yaxis_title="acceleration (g)",
        legend=LEGEND_BELOW,
    )
    return fig


# ------------------------------------------------------------------------------ exports


def angles_frame(angles: AngleSeries) -> pd.DataFrame:
    df = pd.DataFrame(angles.values, columns=list(angles.names))
    df.insert(0, "time_s", np.round(angles.times, 4))
    return df


def csv_bytes(columns: dict[str, Any], *, quote_strings: bool = False, delimiter: str = ",",
              header: bool = True) -> bytes:
    """Columns (arrays, or ``pyarrow`` arrays) as CSV, written by Arrow: about ten times faster
    than pandas' ``to_csv`` on the million-cell files of a long session. NaN and None are empty
    cells; numbers are written as their shortest exact form (round them first). Text cells are
    quoted only with ``quote_strings`` (else they must hold no delimiter, quote or line break).
    ``header``: a first line of the column names."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.table({k: v if isinstance(v, pa.Array) else pa.array(np.asarray(v), from_pandas=True)
                      for k, v in columns.items()})
    buf = io.BytesIO()
    if header:
        buf.write((delimiter.join(columns) + "\n").encode("utf-8"))
    pa_csv.write_csv(table, buf, pa_csv.WriteOptions(
        include_header=False, delimiter=delimiter, quoting_style="needed" if quote_strings else "none"))
    return buf.getvalue()


def json_array(values: Any, decimals: int) -> str:
    """``values`` (an array of any shape) as JSON text, rounded to ``decimals``, NaN/inf as null:
    what ``json.dumps(store.codec.to_list(values, decimals))`` gives, up to how numbers are
    written (1 for 1.0). The numbers are written by Arrow, several times faster than json on
    the million numbers of a long session's joints."""
    import pyarrow as pa
    import pyarrow.compute as pc

    a = np.round(np.asarray(values, dtype=np.float64), decimals)
    if a.size == 0:
        return json.dumps(np.empty(a.shape).tolist())
    flat = a.reshape(-1)
    text = pc.if_else(pa.array(~np.isfinite(flat)), "null", pc.cast(pa.array(flat), pa.string()))
    for size in reversed(a.shape):  # innermost axis first: rows of numbers -> "[x,y,z]"
        offsets = pa.array(np.arange(0, len(text) + 1, size, dtype=np.int32))
        text = pc.binary_join(pa.ListArray.from_arrays(offsets, text), ",")
        text = pc.binary_join_element_wise("[", text, "]", "")
    return text[0].as_py()


def angles_csv(angles: AngleSeries) -> bytes:
    """time_s + one column per angle (degrees to 3 decimals; empty where not measured)."""
    values = np.round(np.asarray(angles.values, dtype=np.float64).reshape(len(angles.times), -1), 3)
    return csv_bytes({"time_s": np.round(angles.times, 4),
                      **{n: values[:, k] for k, n in enumerate(angles.names)}})


def reps_csv(reps: Sequence[Rep]) -> bytes:
    return reps_table(reps).to_csv(index=False).encode("utf-8")


def _json_default(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return _finite(float(v))
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def summary_dict(result: SessionResult) -> dict[str, Any]:
    """The JSON contract of ``python -m physio_core.analyze`` (summary.json) and the download.

    Keys: frames, fps, frames_with_person, rep_count, reps (start_s, end_s, rom_deg, angle...,
    and when assessed exercise, stability_score, balance_score, injury_risk, reason, mistake),
    exercise_label, exercise_timeline,
    backend, models (which weights assessed it), plus source, exercise, duration_s, principal_angle, angle ranges, metrics,
    feedback, warnings.
    """
    ranges = angle_ranges(result.angles, result.pose.valid if len(result.pose) else None)
    return {
        "source": result.source,
        "backend": result.backend,
        "models": result.models,
        "exercise": result.exercise,
        "frames": int(result.frames),
        "fps": round(float(result.fps), 4),
        "duration_s": None if (duration := result.duration_s) is None else round(duration, 3),
        "frames_with_person": int(result.frames_with_person),
        "rep_count": int(result.rep_count),
        "exercise_label": result.exercise_label,
        "exercise_timeline": list(result.exercise_timeline),
        "reps": _reps_with_assessment(result),
        "principal_angle": result.reps[0].angle if result.reps else None,
        "angles": {
            row.angle: {"min_deg": _finite(round(row.min_deg, 2)), "max_deg": _finite(round(row.max_deg, 2)),
                        "rom_deg": _finite(round(row.rom_deg, 2)), "measured": round(row.measured, 3)}
            for row in ranges.itertuples()
        },
        "metrics": {k: (_finite(float(v)) if isinstance(v, (int, float, np.number)) else v)
                    for k, v in result.metrics.items()},
        "feedback": list(result.feedback),
        "warnings": result.all_warnings,
        "started_at": result.started_at.isoformat() if result.started_at else None,
        "ended_at": result.ended_at.isoformat() if result.ended_at else None,
    }


def _reps_with_assessment(result: SessionResult) -> list[dict[str, Any]]:
    """Rep.to_dict() plus the models' per-rep fields (exercise, stability_score,
    balance_score, injury_risk, reason, mistake, ...) when the rep was assessed."""
    by_rep = {a["rep"]: a for a in result.rep_assessments}
    def clean(v: Any) -> Any:
        return _finite(float(v)) if isinstance(v, (float, np.floating)) else v

    return [{**r.to_dict(), **{k: clean(v) for k, v in by_rep.get(r.index, {}).items() if k != "rep"}}
            for r in result.reps]


def summary_json(result: SessionResult, *, include_series: bool = False, extra: dict | None = None) -> bytes:
    """summary_dict as UTF-8 JSON; ``include_series`` adds the time + angle series, ``extra`` more
    keys (``analyze --sets``: the video's sets)."""
    text = json.dumps({**summary_dict(result), **(extra or {})}, indent=2, default=_json_default, allow_nan=False)
    if include_series:
        series = {"time_s": json_array(result.angles.times, 4),
                  **{n: json_array(result.angles[n], 3) for n in result.angles.names}}
        # one line per series: json's indented output is written by its pure-Python encoder,
        # about 0.7 s for the 400 000 numbers of a 10-min session, one number per line
        lines = ",\n".join(f"    {json.dumps(k)}: {v}" for k, v in series.items())
        text = text[: text.rindex("}")].rstrip() + ',\n  "series": {\n' + lines + "\n  }\n}"
    return text.encode("utf-8")


def pose_csv(pose: PoseSequence) -> bytes:
    """Canonical 3D joints per frame: time_s, then <joint>_x/_y/_z (metres) and <joint>_conf."""
    cols: dict[str, np.ndarray] = {"time_s": pose.times}
    for j, name in enumerate(JOINT_NAMES):
        for k, axis in enumerate("xyz"):
            cols[f"{name}_{axis}"] = pose.joints[:, j, k]
        cols[f"{name}_conf"] = pose.confidence[:, j]
    return csv_bytes({k: np.round(v, 4) for k, v in cols.items()})
