"""A rep's correction in words: joints, distances and directions against known geometry, and the
words the shipped models give real incorrect squats."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import subject5_squats
from physio_core.correction_cue import ARM_JOINTS, LEG_JOINTS, correction_cue, said_moves, watched_joints
from physio_core.skeleton import J


@pytest.fixture(scope="module")
def rep():
    """One real squat rep (UI-PRMD subject 5): its (n, 19, 3) joints and times."""
    seq, bounds, _ = subject5_squats("c")
    a, b = bounds[0]
    part = seq.slice(a, b + 1)
    return part.joints.copy(), part.times.copy()


def moved(joints: np.ndarray, frame: int | slice, **by: tuple[float, float, float]) -> np.ndarray:
    out = joints.copy()
    for name, xyz in by.items():
        out[frame, J[name.upper()]] += np.asarray(xyz)
    return out


def test_the_words_name_the_athletes_own_side_and_direction(rep):
    joints, times = rep
    every = slice(None)
    # +X is the subject's left: out for the left knee, in for the right one
    assert correction_cue(joints, moved(joints, every, l_knee=(0.12, 0, 0))) == "left knee 12 cm outward"
    assert correction_cue(joints, moved(joints, every, r_knee=(0.12, 0, 0))) == "right knee 12 cm inward"
    assert correction_cue(joints, moved(joints, every, head=(-0.1, 0, 0))) == "head 10 cm to the right"
    assert correction_cue(joints, moved(joints, every, l_wrist=(0, -0.1, 0))) == "left wrist 10 cm lower"
    # a second direction at least 0.6 of the first is said too
    assert correction_cue(joints, moved(joints, every, thorax=(0, 0.10, -0.08))) == "chest 13 cm higher and back"
    assert correction_cue(joints, moved(joints, every, thorax=(0, 0.10, -0.05))) == "chest 11 cm higher"
    # farthest first, at most two
    three = moved(joints, every, l_knee=(0.09, 0, 0), r_ankle=(0, 0, 0.2), l_wrist=(0, 0.15, 0))
    assert correction_cue(three, joints) == "right ankle 20 cm back, left wrist 15 cm lower"


def test_what_is_left_out(rep):
    joints, _ = rep
    every = slice(None)
    assert correction_cue(joints, joints) is None
    assert correction_cue(joints, moved(joints, every, l_knee=(0.07, 0, 0))) is None  # within 8 cm
    # the arms of a squat, the legs of a shoulder abduction
    assert watched_joints("deep_squat") == LEG_JOINTS and watched_joints("standing_shoulder_abduction") == ARM_JOINTS
    arm = moved(joints, every, r_wrist=(0, 0.2, 0))
    assert correction_cue(joints, arm, joints=LEG_JOINTS) is None
    assert correction_cue(joints, arm, joints=ARM_JOINTS) == "right wrist 20 cm higher"
    # the head and the neck moved alike are one movement, said at the head; moved apart, two
    trunk = moved(joints, every, head=(0, 0, -0.2), neck=(0, 0, -0.14))
    assert correction_cue(joints, trunk) == "head 20 cm back"
    apart = moved(joints, every, head=(0, 0, -0.2), neck=(0.14, 0, 0))
    assert correction_cue(joints, apart) == "head 20 cm back, neck 14 cm to the left"
    # said from the foot on the ground: in a squat deeper than its correction, the pelvis-centred
    # poses have the athlete's feet 15 cm higher; the correction raises the hips
    deeper = moved(joints, every, l_ankle=(0, 0.15, 0), r_ankle=(0, 0.15, 0))
    assert correction_cue(deeper, joints, max_joints=1) == "hips 15 cm higher"
    assert correction_cue(joints, deeper, max_joints=1) == "hips 15 cm lower"
    # toes are often placed, not seen
    assert correction_cue(joints, moved(joints, every, l_toe=(0, 0.3, 0))) is None


def test_it_is_said_at_the_frame_farthest_from_the_correction(rep):
    joints, times = rep
    k = len(joints) // 3
    fixed = moved(joints, k, r_knee=(-0.15, 0, 0))
    assert correction_cue(joints, fixed, times) == f"right knee 15 cm outward ({times[k] - times[0]:.1f} s into the rep)"


def test_the_words_read_back_a_joint_a_line(rep):
    """The annotated video says a stored correction a joint a line, without its time."""
    joints, times = rep
    k = len(joints) // 3
    fixed = moved(joints, k, r_knee=(-0.15, 0, 0), head=(0, -0.12, -0.1))
    said = correction_cue(joints, fixed, times)
    assert said == f"head 16 cm lower and back, right knee 15 cm outward ({times[k] - times[0]:.1f} s into the rep)"
    assert said_moves(said) == ["head 16 cm lower and back", "right knee 15 cm outward"]
    assert said_moves(correction_cue(joints, fixed)) == said_moves(said)
    assert said_moves("") == []


def test_real_incorrect_squats_get_words_from_their_correction(assessed_squat_result):
    """Subject 5's squats through the shipped models: a rep judged incorrect carries the words of
    its stored correction (a leg or trunk joint, more than 8 cm), in its feedback line too; a rep
    judged correct has none."""
    from physio_core.assess import rep_feedback

    r = assessed_squat_result
    worded = 0
    for row in r.rep_assessments:
        if row.get("mistake") != "incorrect":
            assert "correction" not in row
            continue
        rep = next(x for x in r.reps if x.index == row["rep"])
        part = r.pose.slice(rep.start_frame, rep.end_frame + 1)
        fixed = r.corrected_poses[rep.index]
        said = correction_cue(part.joints, fixed.joints, part.times, joints=LEG_JOINTS)
        assert row.get("correction") == said
        if said is None:
            continue
        worded += 1
        first = re.match(r"(hips|head|neck|chest|mid-back|(left|right) (hip|knee|ankle)) (\d+) cm", said)
        assert first is not None and int(first[4]) >= 8, said
        assert f"correction: {said}" in rep_feedback(row)
    assert worded >= 1  # the incorrect squats of this set have words
