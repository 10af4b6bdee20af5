"""One rep of an athlete at its key moments, its start, its turning point and its end, and their
drawing: the home programme sheet shows the athlete's own rep (``physio_core.handout``), a
session's page the same moments of a typical rep against an earlier session's.

Drawn in SVG: it prints without JavaScript, shows in a page as an image, and weighs a few kB.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from physio_core.results import Rep, SessionResult
from physio_core.skeleton import BONES, J, N_JOINTS

KEY_MOMENTS = ("start", "turning point", "end")


@dataclass(frozen=True)
class KeyPoses:
    """One rep of the athlete drawn at ``KEY_MOMENTS``."""

    session_id: int
    day: date
    rep: int  # its index in the session
    poses: np.ndarray  # (3, N_JOINTS, 3), canonical, metres
    # "correct": judged correct; "corrected": the models' correction; "unjudged"; "typical": of median range
    kind: str
    view: str  # "front" / "side": where the movement shows best

    @property
    def words(self) -> str:
        said = {"correct": "a rep the models judged correct",
                "corrected": "the models' correction of a rep judged incorrect (no rep was judged correct)",
                "unjudged": "a rep of median range (the reps were not judged)",
                "typical": "its rep of median range"}[self.kind]
        return f"You, {self.day:%Y-%m-%d} (session #{self.session_id}, rep {self.rep}): {said}; from the {self.view}."


def _turning_frame(result: SessionResult, rep: Rep) -> int:
    """The frame of the rep's turning point: its ``peak_s``, else where its angle is farthest
    from where it started."""
    frames = np.arange(rep.start_frame, rep.end_frame + 1)
    if rep.peak_s is not None:
        return int(frames[np.argmin(np.abs(result.pose.times[frames] - rep.peak_s))])
    if rep.angle in result.angles.names:
        a = result.angles[rep.angle][frames]
        if np.isfinite(a).any():
            return int(frames[np.nanargmax(np.abs(a - a[np.isfinite(a)][0]))])
    return int((rep.start_frame + rep.end_frame) // 2)


def _view(joints: np.ndarray) -> str:
    """The side when the joints travel more forward and back than sideways over the rep (a
    squat's knees, an arm moved backward), else the front (an arm raised sideways)."""
    move = np.nan_to_num(np.abs(np.diff(joints, axis=0))).sum(axis=(0, 1))
    return "side" if move[2] >= move[0] else "front"


def _median_rep(reps: Sequence[Rep]) -> Rep:
    return sorted(reps, key=lambda r: r.rom_deg)[(len(reps) - 1) // 2]


def key_poses(result: SessionResult, session_id: int, day: date, *, typical: bool = False) -> KeyPoses | None:
    """The rep of one session to draw: the one the models judged correct most surely; else the
    correction of the rep they judged incorrect most surely; with no rep judged, the rep of median
    range. None without reps, or when every rep was judged incorrect and none has a correction.
    ``typical``: the rep of median range whatever the verdicts (to set a session against another)."""
    reps = [r for r in result.reps if 0 <= r.start_frame <= r.end_frame < len(result.pose)]
    if not reps:
        return None
    judged = {a["rep"]: a for a in result.rep_assessments}
    sure = lambda r: judged[r.index].get("mistake_confidence") or 0.0  # noqa: E731
    correct = [r for r in reps if judged.get(r.index, {}).get("mistake") == "correct"]
    corrected = [r for r in reps if r.index in result.corrected_poses and r.index in judged]
    if typical:
        rep, kind = _median_rep(reps), "typical"
    elif correct:
        rep, kind = max(correct, key=sure), "correct"
    elif corrected:
        rep, kind = max(corrected, key=sure), "corrected"
    elif not judged:
        rep, kind = _median_rep(reps), "unjudged"
    else:
        return None
    frames = [rep.start_frame, _turning_frame(result, rep), rep.end_frame]
    if kind == "corrected":
        whole = result.corrected_poses[rep.index].joints
        poses = whole[np.clip([f - rep.start_frame for f in frames], 0, len(whole) - 1)]
    else:
        whole = result.pose.joints[rep.start_frame:rep.end_frame + 1]
        poses = result.pose.joints[frames]
    if not np.isfinite(poses[:, J.PELVIS]).all():
        return None
    return KeyPoses(session_id, day, rep.index, poses, kind, _view(whole))


def then_and_now(this: SessionResult, this_id: int, this_day: date, before: SessionResult, before_id: int,
                 before_day: date) -> tuple[KeyPoses, KeyPoses] | None:
    """A typical rep (of median range) of a session and of an earlier one, to draw one over the
    other (``poses_svg(now, under=then)``): (now, then), both seen from where this session's rep
    shows best; None when either has no rep to draw."""
    now = key_poses(this, this_id, this_day, typical=True)
    then = key_poses(before, before_id, before_day, typical=True)
    if now is None or then is None:
        return None
    return now, dataclasses.replace(then, view=now.view)


# ------------------------------------------------------------------ the drawing

_FEET = (J.L_ANKLE, J.R_ANKLE, J.L_TOE, J.R_TOE)
UNDER_COLOUR = "#c4c4c4"  # the earlier session's rep, drawn beneath
FLAT_FOOT_M = 0.05  # an ankle this near the lower one's height stands on the floor too


def _standing(example: KeyPoses, across: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per key pose: the joints' coordinate ``across`` (m) from the foot the athlete stands on,
    their height above the floor that foot stands on (m), and which joints are known.

    The joints are body-centred (the pelvis at the origin); drawn from the feet, the hips move
    back in a squat as they do, and two people's reps drawn one over the other share their base
    of support. Both feet on the floor (within ``FLAT_FOOT_M``), their middle."""
    out = []
    for p in example.poses.reshape(len(example.poses), N_JOINTS, 3):
        ok = np.isfinite(p).all(axis=1)
        ankles = [j for j in (J.L_ANKLE, J.R_ANKLE) if ok[j]]
        feet = p[list(_FEET), 1][ok[list(_FEET)]]
        floor = float(feet.min()) if feet.size else float(np.nanmin(p[:, 1]))
        if ankles:
            low = min(p[j, 1] for j in ankles)
            base = float(np.mean([p[j, across] for j in ankles if p[j, 1] - low <= FLAT_FOOT_M]))
        else:
            base = 0.0
        out.append((p[:, across] - base, p[:, 1] - floor, ok))
    return out


def poses_svg(example: KeyPoses, *, under: KeyPoses | None = None, panel_px: int = 170) -> str:
    """The key poses side by side as an SVG, one scale for all, standing on one floor line. From
    the front the athlete's left is on the right, as a camera in front sees them; from the side
    they face right. Left limbs blue, right orange, as in the app's 3D view; ``under``: another
    rep (an earlier session's) drawn beneath in grey, seen from the same side."""
    from physio_core.report import side_colour

    across = 0 if example.view == "front" else 2
    # (the poses, the colour of the bone ending in a joint, the head's)
    layers = [(_standing(under, across), lambda b: UNDER_COLOUR, UNDER_COLOUR)] if under is not None else []
    layers.append((_standing(example, across), side_colour, "#555"))
    top = max(float(np.nanmax(u)) for drawn, _, _ in layers for _, u, _ in drawn)
    half = max(float(np.nanmax(np.abs(x))) for drawn, _, _ in layers for x, _, _ in drawn)
    pad = 14.0
    scale = min((panel_px - 2 * pad) / max(2 * half, 1e-6), (1.6 * panel_px - 2 * pad - 18) / max(top, 1e-6))
    height = top * scale + 2 * pad + 18
    floor_y = pad + top * scale
    n = len(example.poses)
    said = example.words if under is None else f"{under.words} Over it: {example.words}"
    parts = [f"<svg class='poses' xmlns='http://www.w3.org/2000/svg' width='{panel_px * n}' "
             f"height='{height:.0f}' viewBox='0 0 {panel_px * n} {height:.0f}' role='img' "
             f"aria-label='{html.escape(said)}'>"]
    for k in range(n):
        cx = panel_px * k + panel_px / 2
        parts.append(f"<line x1='{panel_px * k + 8}' y1='{floor_y:.1f}' x2='{panel_px * (k + 1) - 8}' "
                     f"y2='{floor_y:.1f}' stroke='#bbb' stroke-width='2'/>")
        for drawn, colour, head in layers:
            x, u, good = drawn[min(k, len(drawn) - 1)]
            px, py = cx + x * scale, floor_y - u * scale
            for a, b in BONES:
                if good[a] and good[b]:
                    parts.append(f"<line x1='{px[a]:.1f}' y1='{py[a]:.1f}' x2='{px[b]:.1f}' y2='{py[b]:.1f}' "
                                 f"stroke='{colour(b)}' stroke-width='5' stroke-linecap='round'/>")
            if good[J.HEAD]:
                parts.append(f"<circle cx='{px[J.HEAD]:.1f}' cy='{py[J.HEAD]:.1f}' r='{0.09 * scale:.1f}' "
                             f"fill='white' stroke='{head}' stroke-width='3'/>")
        label = KEY_MOMENTS[k] if n == len(KEY_MOMENTS) else k + 1
        parts.append(f"<text x='{cx:.0f}' y='{height - 4:.0f}' text-anchor='middle' font-size='13' "
                     f"font-family='sans-serif' fill='#555'>{label}</text>")
    parts.append("</svg>")
    return "".join(parts)
