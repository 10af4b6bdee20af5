"""What the live page says aloud during a set, so that the athlete need not watch the screen.

An athlete in the middle of a squat cannot read a tablet three metres away. Said aloud:
- each rep's number as the counter closes it ("7");
- for a rep the mistake model judged incorrect, its main correction, the joint the corrected
  pose moves most and which way ("hips lower"), said only within 1.2 s of the rep's end (its
  verdict comes 0.1 s after it, and the page looks twice a second): a cue about an older rep
  would be taken for the one just done;
- "left knee angle: target reached" the first time in the set that a rep's range of an angle
  reaches the trainer's range-of-motion target for it (``progress.targets_of``);
- "set done" when the count reaches the reps a set the athlete's programme asks;
- "step back so your whole body is visible" once the athlete has been out of view, or partly,
  for 1.5 s (not for a wrist at the edge for a frame), and again only after they were back in view.

``Announcer`` reads the live session's snapshots (``physio_core.live.LiveSnapshot``) as the
page polls them and gives the words that are new since the last poll. The page speaks them with
the browser's own speech synthesis, on the device that shows the page.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from physio_core.live import LiveSnapshot, RepVerdict
    from physio_core.store.access import RomTargetOut

SET_DONE = "Set done."
STEP_BACK = "Step back so your whole body is visible."
STEP_BACK_AFTER_S = 1.5  # out of view this long (the camera's seconds) before it is said
CUE_WITHIN_S = 1.2  # a rep's words are said this soon after its end (the camera's seconds), or never


@dataclass
class Utterance:
    key: str  # unique over sessions and page reruns: the browser says each key once
    text: str


def angle_words(name: str) -> str:
    """An angle as said aloud: 'knee_angle_l' -> 'left knee angle'."""
    side = {"_l": "left ", "_r": "right "}.get(name[-2:], "")
    return side + (name[:-2] if side else name).replace("_", " ")


def rep_goals(v: RepVerdict, targets: Sequence[RomTargetOut], exercise: str | None) -> dict[str, float]:
    """The targets that concern the rep (``progress.targets_of``): of the exercise named, else of
    the one the models recognised, and of the body parts its counted angle is on."""
    from physio_core.progress import targets_of

    named = exercise if exercise not in (None, "auto") else v.exercise
    return targets_of(targets, None if named == "other" else named, [v.angle] if v.angle else [])


@dataclass
class Announcer:
    """The words of one live set, poll by poll (``next_words``)."""

    reps_asked: int | None = None  # the programme's reps a set: "set done" once they are counted
    targets: Sequence[RomTargetOut] = ()  # the athlete's range-of-motion targets
    exercise: str | None = None  # the exercise named ("auto": the one recognised rep by rep)
    reached: set[str] = field(default_factory=set)  # angles whose target a rep of the set reached
    # the count at the last poll: a rise is said; on "auto" the counter may switch to another
    # angle and count fewer, which is not said (the next rise is, as the screen shows it)
    seen_count: int = 0
    # (start, end) of the verdicts read, said or not. By its span, not its number: on "auto" the
    # counter may move to another angle, which renumbers a rep, or shows an older one as the last
    read_verdicts: set[tuple[float, float]] = field(default_factory=set)
    said_done: bool = False
    said: list[Utterance] = field(default_factory=list)
    out_since_s: float | None = None  # out of view since (``LiveSnapshot.elapsed_s``), None while in view
    told_out: bool = False  # STEP_BACK said since the athlete went out of view
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def next_words(self, snap: LiveSnapshot) -> Utterance | None:
        """What is new to say in ``snap``, None when nothing is."""
        words: list[str] = []
        if snap.rep_count > self.seen_count:
            words.append(f"{snap.rep_count}.")
        v = snap.last_rep
        if v is not None and (v.start_s, v.end_s) not in self.read_verdicts:
            self.read_verdicts.add((v.start_s, v.end_s))
            if snap.elapsed_s - v.end_s <= CUE_WITHIN_S:
                words += self._rep_words(v)
        if self.reps_asked and not self.said_done and snap.rep_count >= self.reps_asked:
            words.append(SET_DONE)
            self.said_done = True
        if not snap.out_of_view:
            self.out_since_s, self.told_out = None, False
        elif self.out_since_s is None:
            self.out_since_s = snap.elapsed_s
        elif not self.told_out and snap.elapsed_s - self.out_since_s >= STEP_BACK_AFTER_S:
            words.append(STEP_BACK)
            self.told_out = True
        self.seen_count = snap.rep_count
        if not words:
            return None
        self.said.append(Utterance(f"{self.token}-{len(self.said) + 1}", " ".join(words)))
        return self.said[-1]

    def _rep_words(self, v: RepVerdict) -> list[str]:
        """The newest rep's correction, and the targets it reached first in the set."""
        words = [v.focus[0].capitalize() + "."] if v.mistake == "incorrect" and v.focus else []
        for angle, goal in rep_goals(v, self.targets, self.exercise).items():
            if angle not in self.reached and v.ranges.get(angle, float("nan")) >= goal:
                self.reached.add(angle)
                words.append(f"{angle_words(angle).capitalize()}: target reached.")
        return words

    @property
    def last(self) -> Utterance | None:
        return self.said[-1] if self.said else None
