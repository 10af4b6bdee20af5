"""A rep's correction in words: which joints the corrected pose moves, how far and which way.

The mistake model's corrected pose is drawn over the athlete (red where a joint is more than
``OFF_BY_M`` from it). This says the same thing in a line that a trainer can read out, or an
athlete can read on their session: "left knee 9 cm outward, right wrist 8 cm higher (1.2 s into
the rep)". Both poses are canonical skeletons (pelvis at the origin, +X the subject's left, +Y up,
+Z the way they face), so the words are the athlete's own sides and directions whatever the camera.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from physio_core.skeleton import PARENTS, J, farthest_frame

OFF_BY_M = 0.08  # as drawn: correct UI-PRMD reps stay within ~7 cm of their correction
# named when its second direction is at least this share of the first ("higher and forward")
SECOND_DIRECTION = 0.6

# two joints up to this many bones apart that move this alike (cosine) are one movement: the
# farther is named ("head 21 cm back", not also "neck 14 cm back")
SAME_CHAIN_BONES = 2
SAME_WAY_COS = 0.7

_NAMES = {J.PELVIS: "hips", J.SPINE: "mid-back", J.THORAX: "chest", J.NECK: "neck", J.HEAD: "head"}
_TRUNK = frozenset({J.SPINE, J.THORAX, J.NECK, J.HEAD})
# the joints a movement's cue may name: the limbs it trains and the trunk. The arms swing freely
# in a squat, and the mistake model's correction moves them most there (to the nearest correct
# rep's arms), which is not what the squat is about. Toes are often placed, not seen (MMPose has
# none).
LEG_JOINTS = frozenset({J.PELVIS, J.R_HIP, J.R_KNEE, J.R_ANKLE, J.L_HIP, J.L_KNEE, J.L_ANKLE}) | _TRUNK
ARM_JOINTS = frozenset({J.L_SHOULDER, J.L_ELBOW, J.L_WRIST, J.R_SHOULDER, J.R_ELBOW, J.R_WRIST}) | _TRUNK
_ARM_FAMILIES = ("shoulder_",)


def watched_joints(movement: str) -> frozenset[J]:
    """The joints a cue for ``movement`` (a UI-PRMD name) may name: the arms and trunk for the
    shoulder movements, the legs and trunk for the others (the angle families its reps are
    counted on, ``reps.EXERCISES``)."""
    from physio_core.reps import EXERCISES

    families = EXERCISES.get(movement, ((),))[0]
    return ARM_JOINTS if any(f.startswith(_ARM_FAMILIES) for f in families) else LEG_JOINTS


def _chain_apart(a: J, b: J) -> bool:
    """Whether ``a`` and ``b`` are at most SAME_CHAIN_BONES bones apart along one limb or the
    spine (one the other's ancestor)."""
    for lo, hi in ((a, b), (b, a)):
        j = int(lo)
        for _ in range(SAME_CHAIN_BONES):
            j = PARENTS[j]
            if j == hi:
                return True
            if j < 0:
                break
    return False


def _name(j: J) -> str:
    if j in _NAMES:
        return _NAMES[j]
    side, part = j.name.lower().split("_")
    return f"{'left' if side == 'l' else 'right'} {part}"


# the words for a move along each canonical axis (+, -): +X is the athlete's left, outward for a
# left joint and inward for a right one
_SIDEWAYS = {"L_": ("outward", "inward"), "R_": ("inward", "outward")}
_MIDLINE = ("to the left", "to the right")
_UP_DOWN, _FORE_AFT = ("higher", "lower"), ("forward", "back")


def _words(j: J, move: np.ndarray) -> str:
    """The directions of ``move`` (metres, canonical axes) for joint ``j``, largest first."""
    words = (_SIDEWAYS.get(j.name[:2], _MIDLINE), _UP_DOWN, _FORE_AFT)
    size = np.abs(move)
    order = np.argsort(-size)
    said = [words[order[0]][0 if move[order[0]] > 0 else 1]]
    if size[order[1]] >= SECOND_DIRECTION * size[order[0]]:
        said.append(words[order[1]][0 if move[order[1]] > 0 else 1])
    return " and ".join(said)


# each direction a correction says (``_words``) and the opposite one
OPPOSITE = {a: b for pair in (*_SIDEWAYS.values(), _MIDLINE, _UP_DOWN, _FORE_AFT)
            for a, b in (pair, pair[::-1])}


def opposite_focus(focus: str) -> str | None:
    """The same joint asked the other way: "hips lower" -> "hips higher"; None for another text."""
    for towards in sorted(OPPOSITE, key=len, reverse=True):  # "to the left" before "left"
        if focus.endswith(" " + towards):
            return focus[: -len(towards)] + OPPOSITE[towards]
    return None


@dataclass(frozen=True)
class Correction:
    """A rep's correction, joint by joint: (name, cm, directions) farthest first, and when."""

    moves: tuple[tuple[str, int, str], ...]  # ("hips", 18, "lower"), ("head", 16, "lower and back")
    at_s: float | None = None  # into the rep

    def text(self) -> str:
        """ "hips 18 cm lower, head 16 cm lower and back (0.8 s into the rep)" """
        said = ", ".join(f"{name} {cm} cm {towards}" for name, cm, towards in self.moves)
        return said if self.at_s is None else f"{said} ({self.at_s:.1f} s into the rep)"

    def focus(self) -> list[str]:
        """Each joint with its main direction, to count across reps and sessions: "hips lower"."""
        return [f"{name} {towards.split(' and ')[0]}" for name, _, towards in self.moves]


def rep_correction(athlete: np.ndarray, corrected: np.ndarray, times: np.ndarray | None = None, *,
                   joints: frozenset[J] = LEG_JOINTS | ARM_JOINTS, off_by_m: float = OFF_BY_M,
                   max_joints: int = 2) -> Correction | None:
    """The correction of one rep, at its frame farthest from the athlete: the (up to
    ``max_joints``) joints of ``joints`` (``watched_joints``) it moves by more than ``off_by_m``,
    farthest first, each with its distance and direction; a joint near one already named and
    moved the same way is left out (the wrist says what the elbow would). ``athlete``,
    ``corrected``: (n, N_JOINTS, 3) poses of the rep; ``times``: theirs (s), for when. None
    when nothing is that far."""
    a = np.asarray(athlete, dtype=float)
    c = np.asarray(corrected, dtype=float)
    n = min(len(a), len(c))
    if n == 0:
        return None
    k = farthest_frame(a[:n], c[:n])
    move = c[k] - a[k]
    # both poses are pelvis-centred; the words are said from the foot that the correction moves
    # least (the one on the ground), so that a deeper squat reads "hips 15 cm lower", not
    # "ankles 15 cm higher"
    feet = [f for f in (J.L_ANKLE, J.R_ANKLE) if np.isfinite(move[f]).all()]
    if feet:
        move = move - move[min(feet, key=lambda f: np.linalg.norm(move[f]))]
    dist = np.linalg.norm(move, axis=-1)
    # both hips moved alike are the hips ("hips 18 cm lower", not each hip by itself)
    left, right = move[J.L_HIP], move[J.R_HIP]
    if left @ right >= SAME_WAY_COS * dist[J.L_HIP] * dist[J.R_HIP]:  # False when one is NaN
        move[J.PELVIS] = (left + right) / 2
        dist[J.PELVIS] = np.linalg.norm(move[J.PELVIS])
        dist[[J.L_HIP, J.R_HIP]] = np.nan
    picked: list[J] = []
    for j in (J(i) for i in np.argsort(-np.nan_to_num(dist, nan=-1.0), kind="stable")):
        if len(picked) == max_joints or not dist[j] > off_by_m:
            break
        if j not in joints:
            continue
        same_way = [p for p in picked if _chain_apart(p, j)
                    and move[p] @ move[j] >= SAME_WAY_COS * dist[p] * dist[j]]
        if not same_way:
            picked.append(j)
    if not picked:
        return None
    at = float(times[k] - times[0]) if times is not None and len(times) > k else None
    return Correction(tuple((_name(j), round(100 * float(dist[j])), _words(j, move[j])) for j in picked), at)


def said_moves(text: str) -> list[str]:
    """The joints of a ``Correction.text()``, one each, without the time: "hips 18 cm lower, head
    16 cm lower and back (0.8 s into the rep)" -> ["hips 18 cm lower", "head 16 cm lower and
    back"]. Reads the stored text back, so sessions scored before the moves were kept apart
    read too."""
    said = re.sub(r"\s*\([^()]*into the rep\)\s*$", "", text or "")
    return [m.strip() for m in said.split(",") if m.strip()]


def correction_cue(athlete: np.ndarray, corrected: np.ndarray, times: np.ndarray | None = None,
                   **kw) -> str | None:
    """``rep_correction`` in words: "left knee 9 cm outward, right wrist 8 cm higher (1.2 s into
    the rep)"; None when nothing is that far."""
    c = rep_correction(athlete, corrected, times, **kw)
    return None if c is None else c.text()
