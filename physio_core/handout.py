"""The athlete's home programme as a sheet to print: each exercise of the programme now, what
the trainer asks (sessions a week, sets, reps, the note), how it is done, the range-of-motion
targets against the athlete's latest, and the athlete's own rep drawn at its start, its turning
point and its end.

The picture is the athlete's own movement, not a stock drawing: a rep the models judged correct
in one of their latest sessions of the exercise; else the models' correction of a rep; else,
where the reps were not judged, a rep of median range (``physio_core.keyposes`` picks and draws it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo

import numpy as np
from sqlalchemy.engine import Engine

from physio_core.keyposes import KeyPoses, key_poses

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


@dataclass(frozen=True)
class HandoutItem:
    exercise: str
    plan: str  # programme.plan_words
    note: str  # the trainer's
    how: str  # HOW_TO's
    targets: list[str] = field(default_factory=list)  # "Knee angle (R): 110° of range; your latest 96° (…)"
    example: KeyPoses | None = None
    days: tuple[int, ...] = ()  # the days of the week it is planned on (0 Monday); (): any


@dataclass(frozen=True)
class Handout:
    athlete: str
    day: date
    condition: str | None  # progress.condition_words
    items: list[HandoutItem]


def example_rep(engine: Engine, rows: Sequence, viewer_id: int | None) -> KeyPoses | None:
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
    """The range-of-motion targets of the exercise against the latest session of it that
    measured the angle: its own, and those set for any exercise on the body parts it trains (a
    knee target is no word on a shoulder raise's sheet)."""
    from physio_core.progress import targets_of
    from physio_core.report import pretty_angle

    out = []
    for angle, goal in targets_of(targets, exercise).items():
        said = f"{pretty_angle(angle)}: {goal:.0f}° of range"
        latest = next((r for r in reversed(rows) if np.isfinite(r.rom_deg.get(angle, np.nan))), None)
        if latest is not None:
            said += f"; your latest {latest.rom_deg[angle]:.0f}° ({latest.date:%Y-%m-%d})"
        out.append(said)
    return out


def build_handout(engine: Engine, athlete_id: int, *, viewer_id: int | None, today: date, tz: tzinfo,
                  athlete: str, data=None) -> Handout:
    """The handout of the athlete's programme now, for anyone who may see the athlete (raises
    AccessDenied otherwise). Dates are on the clock of ``tz`` (the viewer's). ``data``: the
    athlete's unfiltered ``progress.ProgressData`` on that clock, where read already."""
    from physio_core import programme, progress

    if data is None:
        data = progress.load_progress(engine, athlete_id, viewer_id=viewer_id, tz=tz)
    items = []
    for it in data.programme:
        if it.ended_at is not None:
            continue
        rows = [r for r in data.rows if r.exercise == it.exercise]
        items.append(HandoutItem(
            exercise=it.exercise, plan=programme.plan_words(it), note=it.note,
            how=HOW_TO.get(it.exercise, ""), targets=_target_words(data.targets, it.exercise, rows),
            example=example_rep(engine, rows, viewer_id), days=it.days))
    return Handout(athlete=athlete, day=today, condition=progress.condition_words(data.profile, today), items=items)
