"""The athlete's home programme as a sheet to print: each exercise of the programme now, what
the trainer asks (sessions a week, sets, reps, the note), how it is done, the range-of-motion
targets against the athlete's latest, and the athlete's own rep drawn at its start, its turning
point and its end.

The picture is the athlete's own movement, not a stock drawing: a rep the models judged correct
in one of their latest sessions of the exercise; else the models' correction of a rep; else,
where the reps were not judged, a rep of median range. Drawn in SVG, it prints without
JavaScript and keeps the page small enough to send.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo

import numpy as np
from sqlalchemy.engine import Engine

from physio_core.results import Rep, SessionResult
from physio_core.skeleton import BONES, J, N_JOINTS

# How each exercise the programme can hold is done, in general; the trainer's note says what is
# this athlete's own.
HOW_TO = {
    "deep_squat": "Feet shoulder-width apart, arms overhead. Sit down as deep as you can with the heels on the "
                  "floor, the knees over the toes and the chest up; stand back up.",
    "hurdle_step": "Stand tall. Lift one knee to step over a hurdle at shin height, touch the heel down in "
                   "front and bring the leg back, the hips level and the trunk still.",
    "inline_lunge": "One foot in front of the other. Lower the back knee towards the floor behind the front "
                    "heel, the trunk upright, and rise again.",
    "side_lunge": "Step wide to one side and bend that knee, the hips back and the other leg straight; push "
                  "back to standing.",
    "sit_to_stand": "Sit on a chair, arms crossed on the chest. Stand up fully and sit down slowly, without "
                    "the hands.",
    "standing_active_straight_leg_raise": "Stand tall. Raise one straight leg in front of you as high as you "
                                          "can without bending the knee or leaning back; lower it slowly.",
    "standing_shoulder_abduction": "Arm straight at your side, thumb up. Raise it out to the side and up as "
                                   "far as you can, without shrugging or leaning; lower it slowly.",
    "standing_shoulder_extension": "Arm straight at your side. Move it backward as far as you can, the trunk "
                                   "upright, and bring it back.",
    "standing_shoulder_internal_external_rotation": "Upper arm out to the side at shoulder height, elbow bent "
                                                    "at 90°. Turn the forearm up and down, the elbow in place.",
    "standing_shoulder_scaption": "Arm straight, thumb up. Raise it forward and out, midway between the front "
                                  "and the side, to shoulder height or above; lower it slowly.",
    "bench_press": "Lying on the bench, feet flat. Lower the bar to the chest under control and press it up "
                   "to straight arms.",
    "barbell_squat": "Bar on the upper back. Sit down between the heels, the knees over the toes and the chest "
                     "up; stand up.",
    "deadlift": "Bar over the middle of the feet. Hinge with a flat back to grip it, stand up pushing the floor "
                "away with the bar close to the legs, and lower it the same way.",
    "overhead_press": "Bar at the shoulders. Press it straight overhead to straight arms without leaning back; "
                      "lower it to the shoulders.",
    "barbell_row": "Hinge forward with a flat back, the bar hanging. Pull it to the lower ribs and lower it "
                   "under control.",
}

LOOK_BACK = 5  # the latest sessions of an exercise searched for a rep to draw

KEY_MOMENTS = ("start", "turning point", "end")


@dataclass(frozen=True)
class KeyPoses:
    """One rep of the athlete drawn at ``KEY_MOMENTS``."""

    session_id: int
    day: date
    rep: int  # its index in the session
    poses: np.ndarray  # (3, N_JOINTS, 3), canonical, metres
    kind: str  # "correct": judged correct; "corrected": the models' correction; "unjudged"
    view: str  # "front" / "side": where the movement shows best

    @property
    def words(self) -> str:
        said = {"correct": "a rep the models judged correct",
                "corrected": "the models' correction of a rep judged incorrect (no rep was judged correct)",
                "unjudged": "a rep of median range (the reps were not judged)"}[self.kind]
        return f"You, {self.day:%Y-%m-%d} (session #{self.session_id}, rep {self.rep}): {said}; from the {self.view}."


@dataclass(frozen=True)
class HandoutItem:
    exercise: str
    plan: str  # programme.plan_words
    note: str  # the trainer's
    how: str  # HOW_TO's
    targets: list[str] = field(default_factory=list)  # "Knee angle (R): 110° of range; your latest 96° (…)"
    example: KeyPoses | None = None


@dataclass(frozen=True)
class Handout:
    athlete: str
    day: date
    condition: str | None  # progress.condition_words
    items: list[HandoutItem]


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


def key_poses(result: SessionResult, session_id: int, day: date) -> KeyPoses | None:
    """The rep of one session to draw: the one the models judged correct most surely; else the
    correction of the rep they judged incorrect most surely; with no rep judged, the rep of median
    range. None without reps, or when every rep was judged incorrect and none has a correction."""
    reps = [r for r in result.reps if 0 <= r.start_frame <= r.end_frame < len(result.pose)]
    if not reps:
        return None
    judged = {a["rep"]: a for a in result.rep_assessments}
    sure = lambda r: judged[r.index].get("mistake_confidence") or 0.0  # noqa: E731
    correct = [r for r in reps if judged.get(r.index, {}).get("mistake") == "correct"]
    corrected = [r for r in reps if r.index in result.corrected_poses and r.index in judged]
    if correct:
        rep, kind = max(correct, key=sure), "correct"
    elif corrected:
        rep, kind = max(corrected, key=sure), "corrected"
    elif not judged:
        rep, kind = sorted(reps, key=lambda r: r.rom_deg)[(len(reps) - 1) // 2], "unjudged"
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


def _example(engine: Engine, rows: Sequence, viewer_id: int | None) -> KeyPoses | None:
    """The rep to draw from the newest ``LOOK_BACK`` sessions ``rows`` (one exercise's, oldest
    first): a correct rep from any of them before a correction or an unjudged one."""
    from physio_core.store import get_session_detail

    fallback = None
    for r in list(rows)[::-1][:LOOK_BACK]:
        detail = get_session_detail(engine, r.session_id, viewer_id=viewer_id)
        if detail is None or detail.pose is None:
            continue
        found = key_poses(detail.to_result(), r.session_id, r.date.date())
        if found is not None and found.kind == "correct":
            return found
        fallback = fallback or found
    return fallback


def _target_words(targets: Sequence, exercise: str, rows: Sequence) -> list[str]:
    """The range-of-motion targets of the exercise (its own, and those of any exercise) against
    the latest session of it that measured the angle."""
    from physio_core.progress import target_for
    from physio_core.report import pretty_angle

    out = []
    for angle in sorted({t.angle for t in targets if t.exercise in ("", exercise)}):
        goal = target_for(targets, angle, exercise)
        said = f"{pretty_angle(angle)}: {goal:.0f}° of range"
        latest = next((r for r in reversed(rows) if np.isfinite(r.rom_deg.get(angle, np.nan))), None)
        if latest is not None:
            said += f"; your latest {latest.rom_deg[angle]:.0f}° ({latest.date:%Y-%m-%d})"
        out.append(said)
    return out


def build_handout(engine: Engine, athlete_id: int, *, viewer_id: int | None, today: date, tz: tzinfo,
                  athlete: str) -> Handout:
    """The handout of the athlete's programme now, for anyone who may see the athlete (raises
    AccessDenied otherwise). Dates are on the clock of ``tz`` (the viewer's)."""
    from physio_core import programme, progress

    data = progress.load_progress(engine, athlete_id, viewer_id=viewer_id, tz=tz)
    items = []
    for it in data.programme:
        if it.ended_at is not None:
            continue
        rows = [r for r in data.rows if r.exercise == it.exercise]
        items.append(HandoutItem(
            exercise=it.exercise, plan=programme.plan_words(it), note=it.note,
            how=HOW_TO.get(it.exercise, ""), targets=_target_words(data.targets, it.exercise, rows),
            example=_example(engine, rows, viewer_id)))
    return Handout(athlete=athlete, day=today, condition=progress.condition_words(data.profile, today), items=items)


# ------------------------------------------------------------------ the drawing

_FEET = (J.L_ANKLE, J.R_ANKLE, J.L_TOE, J.R_TOE)


def poses_svg(example: KeyPoses, *, panel_px: int = 170) -> str:
    """The key poses side by side as an SVG, one scale for all, standing on one floor line. From
    the front the athlete's left is on the right, as a camera in front sees them; from the side
    they face right. Left limbs blue, right orange, as in the app's 3D view."""
    from physio_core.report import side_colour

    across = 0 if example.view == "front" else 2
    poses = example.poses.reshape(len(example.poses), N_JOINTS, 3)
    ok = np.isfinite(poses).all(axis=2)
    feet = [p[list(_FEET), 1][ok_[list(_FEET)]] for p, ok_ in zip(poses, ok)]
    floors = [float(f.min()) if f.size else float(np.nanmin(p[:, 1])) for f, p in zip(feet, poses)]
    ups = [p[:, 1] - fl for p, fl in zip(poses, floors)]  # height above the floor
    xs = [p[:, across] for p in poses]
    top = max(float(np.nanmax(u)) for u in ups)
    half = max(float(np.nanmax(np.abs(x))) for x in xs)
    pad = 14.0
    scale = min((panel_px - 2 * pad) / max(2 * half, 1e-6), (1.6 * panel_px - 2 * pad - 18) / max(top, 1e-6))
    height = top * scale + 2 * pad + 18
    floor_y = pad + top * scale
    parts = [f"<svg class='poses' xmlns='http://www.w3.org/2000/svg' width='{panel_px * len(poses)}' "
             f"height='{height:.0f}' viewBox='0 0 {panel_px * len(poses)} {height:.0f}' role='img' "
             f"aria-label='{html.escape(example.words)}'>"]
    for k, (x, u, good) in enumerate(zip(xs, ups, ok)):
        cx = panel_px * k + panel_px / 2
        px = cx + x * scale
        py = floor_y - u * scale
        parts.append(f"<line x1='{panel_px * k + 8}' y1='{floor_y:.1f}' x2='{panel_px * (k + 1) - 8}' "
                     f"y2='{floor_y:.1f}' stroke='#bbb' stroke-width='2'/>")
        for a, b in BONES:
            if good[a] and good[b]:
                parts.append(f"<line x1='{px[a]:.1f}' y1='{py[a]:.1f}' x2='{px[b]:.1f}' y2='{py[b]:.1f}' "
                             f"stroke='{side_colour(b)}' stroke-width='5' stroke-linecap='round'/>")
        if good[J.HEAD]:
            parts.append(f"<circle cx='{px[J.HEAD]:.1f}' cy='{py[J.HEAD]:.1f}' r='{0.09 * scale:.1f}' "
                         f"fill='white' stroke='#555' stroke-width='3'/>")
        parts.append(f"<text x='{cx:.0f}' y='{height - 4:.0f}' text-anchor='middle' font-size='13' "
                     f"fill='#555'>{KEY_MOMENTS[k] if len(poses) == len(KEY_MOMENTS) else k + 1}</text>")
    parts.append("</svg>")
    return "".join(parts)

