"""The shipped UI-PRMD models on real UI-PRMD sequences (weights under models/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from physio_core.features import (
    body_frame, frame_features, joint_features, segment_directions, sequence_features,
)
from physio_core.ml.data import CLASS_NAMES, load_uiprmd
from physio_core.ml.runtime import ModelSuite, ModelUnavailable
from physio_core.skeleton import N_JOINTS, J, PoseSequence

ROOT = Path(__file__).resolve().parents[1]
UIPRMD = ROOT.parent / "shared" / "datasets" / "ui-prmd"
MODELS = ROOT / "models"

needs_data = pytest.mark.skipif(not UIPRMD.is_dir(), reason=f"UI-PRMD not found at {UIPRMD}")


@pytest.fixture(scope="module")
def reps():
    return load_uiprmd(UIPRMD, ROOT / ".cache")


@pytest.fixture(scope="module")
def suite():
    s = ModelSuite.load(MODELS)
    assert not s.missing, f"shipped weights missing or stale: {s.missing}"
    return s


def _pick(reps, movement=None, subject=None, correct=None, n=None):
    out = [r for r in reps if (movement is None or r.movement == movement)
           and (subject is None or r.subject == subject)
           and (correct is None or r.correct == correct)]
    return out[:n] if n else out


@needs_data
def test_features_are_per_frame_and_size_invariant(reps):
    j = reps[0].joints
    f = joint_features(j)
    assert np.allclose(frame_features(j[5]), f[5])
    # a taller person (all joints ×1.25) doing the same thing: same positions and angles
    assert np.allclose(joint_features(j * 1.25), f, atol=1e-5)
    # turning to face the camera at 40°: the hip line is re-aligned, positions stay
    a = np.radians(40)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    assert np.allclose(joint_features(j @ rot.T)[:, :57], f[:, :57], atol=1e-4)
    seq = reps[0].pose()
    assert np.allclose(sequence_features(seq), f)


@needs_data
def test_segment_directions_against_known_geometry(reps):
    rest = reps[0].joints[:1].copy()  # a real standing frame, subject facing +Z
    x, up, facing = body_frame(rest, J.L_SHOULDER, J.R_SHOULDER)[0]
    assert facing[2] > 0.9 and up[1] > 0.9
    forward, side = rest.copy(), rest.copy()
    for j, direction in ((forward, facing), (side, -x)):
        j[0, J.R_ELBOW] = j[0, J.R_SHOULDER] + 0.3 * direction
        j[0, J.R_WRIST] = j[0, J.R_SHOULDER] + 0.55 * direction
    # right upper arm and shoulder->wrist: straight ahead is +z, out to the side is -x
    assert np.allclose(segment_directions(forward)[0, :6], [0, 0, 1, 0, 0, 1], atol=1e-6)
    assert np.allclose(segment_directions(side)[0, :6], [-1, 0, 0, -1, 0, 0], atol=1e-6)
    # the same pose turned 40° about the vertical reads the same
    a = np.radians(40)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    assert np.allclose(segment_directions(forward @ rot.T), segment_directions(forward), atol=1e-6)


@needs_data
def test_arm_plane_separates_abduction_from_scaption(reps):
    # real reps: at the highest point the arm is raised well forward of the frontal plane in
    # scaption (about 45°) and close to it in abduction
    def plane_deg(r):
        d = segment_directions(r.joints)
        best = max((d[:, 3:6], d[:, 9:12]), key=lambda v: v[:, 1].max())  # the working arm
        k = best[:, 1].argmax()
        return np.degrees(np.arctan2(best[k, 2], abs(best[k, 0])))

    abd = np.median([plane_deg(r) for r in _pick(reps, 6, correct=True)])
    sca = np.median([plane_deg(r) for r in _pick(reps, 9, correct=True)])
    assert sca - abd > 15, (abd, sca)


@needs_data
def test_classifier_names_real_reps(suite, reps):
    # two subjects, every movement, correct and incorrect: 40 real reps
    picked = [r for s in (1, 5) for m in range(10) for c in (True, False)
              for r in _pick(reps, m, s, c, 1)]
    hits = sum(suite.classify_window(r.pose()).index == r.movement for r in picked)
    assert hits >= 38, f"{hits}/40 real reps classified as their movement"


@needs_data
def test_standing_still_is_other(suite, reps):
    rest = reps[0].joints[0]
    rng = np.random.default_rng(0)
    still = rest[None] + rng.normal(0, 0.005, (90, N_JOINTS, 3))
    assert suite.classify_window(still).label == "other"


@needs_data
def test_counts_reps_in_a_concatenated_real_set(suite, reps):
    from physio_core.datasets.continuous import concatenate_reps

    rng = np.random.default_rng(3)
    for movement, k in ((0, 6), (6, 8), (3, 5)):
        chosen = _pick(reps, movement, 2, True, k)
        seq, bounds = concatenate_reps([r.pose() for r in chosen], pause_s=(0.5, 1.5), rng=rng)
        assert len(bounds) == k
        counted = suite.count_reps(seq).count
        assert abs(counted - k) <= 1, f"movement {movement}: counted {counted}, true {k}"


def _resampled(seq, fps):
    """The set as a camera at ``fps`` would have filmed it (linear resampling in time)."""
    from physio_core.features import resample
    from physio_core.skeleton import PoseSequence

    n = int(round((len(seq) - 1) * fps / seq.fps)) + 1
    return PoseSequence(resample(seq.joints, n), np.ones((n, seq.joints.shape[1])),
                        np.arange(n) / fps, fps)


@needs_data
def test_rep_detector_finds_each_rep_s_start_and_end_at_any_frame_rate(suite, reps):
    from physio_core.datasets.continuous import concatenate_reps

    chosen = _pick(reps, 6, 4, None, 7)  # shoulder abduction, correct and incorrect
    seq, bounds = concatenate_reps([r.pose() for r in chosen], pause_s=(0.3, 2.0), rng=5)
    true = np.array([(seq.times[a], seq.times[b]) for a, b in bounds])
    for fps in (30.0, 15.0, 60.0):
        cam = _resampled(seq, fps)
        found = suite.segment_reps(cam)
        assert len(found) == len(bounds), fps
        got = np.array([(cam.times[s], cam.times[e]) for s, _, e in found])
        # measured at 30 fps: every boundary within 0.3 s (the frame rate moves it a frame or so)
        assert np.abs(got - true).max() < 0.4, (fps, np.round(got - true, 2))
        assert all(s < p < e for s, p, e in found)
        assert all(found[k][2] < found[k + 1][0] for k in range(len(found) - 1))


@needs_data
def test_rep_detector_counts_sets_done_two_and_three_times_faster(suite, reps):
    """UI-PRMD reps take 1.7-3.9 s; athletes are often faster. Subject 6's side lunges played
    2x and 3x faster (reps of 0.6-1.3 s, shorter pauses) are still counted rep for rep. The
    detector trained on UI-PRMD's tempo alone counted such sets wrongly (models/rep_detector.md)."""
    from physio_core.datasets.continuous import concatenate_reps
    from physio_core.ml.repcount import speed_up

    chosen = _pick(reps, 3, 6, True, 6)
    seq, bounds = concatenate_reps([r.pose() for r in chosen], pause_s=(0.3, 1.5), rng=4)
    spans = [(a, b + 1) for a, b in bounds]
    for speed in (2.0, 3.0):
        joints, fast = speed_up(seq.joints, spans, speed)
        assert len(joints) == round(len(seq) / speed)
        found = suite.segment_reps(joints, fps=30.0)
        assert len(found) == 6, (speed, found, fast)
        # each counted rep's peak lies inside one true rep, in order
        assert [next(k for k, (a, b) in enumerate(fast) if a <= p < b) for _, p, _ in found] == list(range(6))


@needs_data
def test_rep_phase_is_zero_where_nobody_is_in_view(suite, reps):
    """Frames without a person (NaN) read as rest: a rep is never counted while the athlete is
    out of view, however the frames either side of the gap differ."""
    from physio_core.datasets.continuous import concatenate_reps

    seq, bounds = concatenate_reps([r.pose() for r in _pick(reps, 0, 1, True, 4)], rng=2)
    joints = seq.joints.copy()
    a, b = bounds[2]
    joints[a : b + 1] = np.nan  # the third squat happens out of view
    phase = suite.rep_phase(joints, fps=seq.fps)
    assert np.all(phase[a : b + 1] == 0.0)
    assert phase[slice(*bounds[1])].max() > 0.8  # the reps in view still peak
    assert suite.count_reps(joints, fps=seq.fps).count == 3


@needs_data
def test_incorrect_reps_look_more_anomalous(suite, reps):
    scores = {True: [], False: []}
    for m in (0, 3, 6):
        for r in _pick(reps, m, 3) + _pick(reps, m, 6):
            scores[r.correct].append(1 - suite.score_rep(r.pose(), movement=m)["stability_score"])
    assert np.mean(scores[False]) > np.mean(scores[True]) + 0.05


@needs_data
def test_score_rep_outputs(suite, reps):
    r = _pick(reps, 0, 4, False, 1)[0]
    out = suite.score_rep(r.pose())
    for k in ("stability_score", "balance_score", "injury_risk"):
        assert 0.0 <= out[k] <= 1.0
    assert isinstance(out["reason"], str) and out["reason"]
    assert out["movement"] == CLASS_NAMES[0]
    # the fused anomaly: mean of the three detectors' mean, the supervised calibration and the
    # mistake GCN's P(incorrect)
    unsupervised = np.mean([out[f"anomaly_{k}"] for k in ("ae", "iforest", "ocsvm")])
    assert 0.0 <= out["anomaly_supervised"] <= 1.0 and 0.0 <= out["anomaly_mistake"] <= 1.0
    fused = (unsupervised + out["anomaly_supervised"] + out["anomaly_mistake"]) / 3
    assert out["anomaly"] == pytest.approx(fused, abs=3e-4)
    assert out["stability_score"] == pytest.approx(1 - out["anomaly"], abs=2e-4)
    # compared with the athlete's own correct reps, the reason speaks of "your usual"
    own = [q.pose() for q in _pick(reps, 0, 4, True, 5)]
    out2 = suite.score_rep(r.pose(), movement="deep_squat", baseline=own)
    assert 0.0 <= out2["injury_risk"] <= 1.0


@needs_data
def test_a_reps_features_are_computed_once_however_often_they_are_read(suite, reps, monkeypatch):
    """Each rep of a set is scored against the set's other reps: their features are read once per
    rep scored. A 12-rep set of real squats, assessed as an upload's is, computes each rep's once
    (it computed 12 x 14 = 168 before: a 100-rep set took three times as long), and scores them on
    the IsolationForest in one call."""
    from physio_core.assess import assess_session, count_set, get_suite
    from physio_core.datasets.continuous import concatenate_reps
    from physio_core.kinematics import compute_angles
    from physio_core.ml import stability

    picked = _pick(reps, 0, 2, True, 6) + _pick(reps, 0, 2, False, 6)
    seq, _ = concatenate_reps([r.pose() for r in picked], rng=0)
    counted = count_set(seq, compute_angles(seq), "deep_squat", use_models=False)
    assert len(counted) == 12
    stability._MEMO.clear()
    computed, real = [], stability._rep_features
    monkeypatch.setattr(stability, "_rep_features", lambda j, fps: computed.append(len(j)) or real(j, fps))
    model = get_suite()._m["stability"]  # the installed models, which assess_session uses
    model._iso_seen.clear()
    iso = model.per_movement[0]["iso"]
    forest, score_samples = [], iso.score_samples
    monkeypatch.setattr(iso, "score_samples", lambda x: forest.append(len(x)) or score_samples(x))
    out = assess_session(seq, counted, seq.fps, "deep_squat")
    assert len([r for r in out.reps if "stability_score" in r]) == 12
    assert len(computed) == 12
    assert forest == [12]  # the IsolationForest scores the set's reps in one call (prime_set)
    # read again, a rep's features are the same values, and a caller's change to them stays its own
    j = picked[0].pose().joints
    first = stability.rep_features(j)
    first["com_sway"] = -1.0
    assert stability.rep_features(j) == real(j, 30.0) != first
    assert stability.rep_features(j, fps=60.0)["speed_mean"] == pytest.approx(2 * real(j, 30.0)["speed_mean"])


@needs_data
def test_a_sets_usuals_are_each_reps_set_mates(suite, reps):
    """An upload's set is scored rep by rep against the set's other reps, their usual worked out
    once for the set (``set_usuals``): each rep's score is the one it gets with the others as its
    baseline. A rep that cannot be read is left out of the others' usual, and a rep with fewer
    than two readable mates is scored against the correct reps."""
    from physio_core.ml.runtime import _joints
    from physio_core.ml.stability import rep_features, usual_features

    poses = [r.pose() for r in _pick(reps, 0, 3)[:5]]
    usuals = suite.set_usuals(poses)
    for i, p in enumerate(poses):
        mates = poses[:i] + poses[i + 1:]
        assert suite.score_rep(p, movement=0, usual=usuals[i]) == suite.score_rep(p, movement=0, baseline=mates)
    reasons = [suite.score_rep(p, movement=0, usual=u)["reason"] for p, u in zip(poses, usuals)]
    assert all(r.endswith("your usual") or r == "knees cave in at the bottom" for r in reasons), reasons
    nobody = poses[0].joints * np.nan
    with_nobody = suite.set_usuals([nobody] + poses[:3])
    readable = [rep_features(_joints(p)) for p in poses[:3]]
    assert with_nobody[0] == usual_features(readable)
    assert with_nobody[1] == usual_features(readable[1:])
    assert suite.set_usuals([nobody] + poses[:2]) == [usual_features(readable[:2]), None, None]


@needs_data
def test_a_sets_isolation_forest_scores_come_from_one_call_and_are_each_reps_own(suite, reps, monkeypatch):
    """``prime_set`` scores a set's reps on the IsolationForest together; each rep's scores are
    then those it gets scored alone, and scoring them calls the forest no more."""
    model = suite._m["stability"]
    picked = [r.pose() for r in _pick(reps, 0, 5)[:8]]
    model._iso_seen.clear()
    alone = [suite.score_rep(p, movement=0) for p in picked]
    iso = model.per_movement[0]["iso"]
    calls, real = [], iso.score_samples
    monkeypatch.setattr(iso, "score_samples", lambda x: calls.append(len(x)) or real(x))
    suite.prime_set(picked, CLASS_NAMES[0])
    together = [suite.score_rep(p, movement=0) for p in picked]
    assert calls == [len(picked)]
    assert together == alone
    # a rep the set did not hold is scored on its own
    other = _pick(reps, 0, 6)[0].pose()
    suite.score_rep(other, movement=0)
    assert calls == [len(picked), 1]


@needs_data
def test_reasons_are_short_enough_for_the_rep_table(suite, reps):
    """The rep table shows each rep's reason beside nine other columns: at 40 characters it
    fits a 1400-px window whole. Real reps of every movement, against the athlete's own correct
    reps and against the training reference, reach most of the cues."""
    reasons = set()
    for m in range(10):
        own = [q.pose() for q in _pick(reps, m, 5, True, 5)]
        for r in _pick(reps, m, 5, False, 4) + _pick(reps, m, 5, True, 2):
            for baseline in (own, None):
                out = suite.score_rep(r.pose(), movement=CLASS_NAMES[m], baseline=baseline)
                reasons.add(out["reason"])
    too_long = [r for r in reasons if len(r) > 40]
    assert not too_long, too_long
    kinds = {r.split(" ")[0] for r in reasons}  # "knees", "trunk", "shape", "close", ...
    assert len(kinds) >= 5, sorted(reasons)


@needs_data
def test_a_reason_never_names_a_difference_video_cannot_measure(suite, reps):
    """The reason for a rep's injury risk names a difference of at least 5 degrees or 2 cm
    (what video measures of a joint angle or the body's sway), also where the movement's
    correct reps hardly move that joint (the knees of a shoulder abduction: a 1-degree knee
    asymmetry was named). Real reps of subjects 1 and 5, against their own correct reps."""
    import re

    named, said = [], 0
    for m in range(10):
        for subject in (1, 5):
            own = [q.pose() for q in _pick(reps, m, subject, True, 5)]
            for r in _pick(reps, m, subject, False, 5) + _pick(reps, m, subject, True, 5):
                reason = suite.score_rep(r.pose(), movement=CLASS_NAMES[m], baseline=own)["reason"]
                if (size := re.search(r"(\d+)(°| cm)", reason)) is not None:
                    said += 1
                    if int(size.group(1)) < (5 if size.group(2) == "°" else 2):
                        named.append((CLASS_NAMES[m], subject, reason))
    assert said >= 20  # the cues are still named where they are real
    assert not named, named


@needs_data
def test_the_arm_cue_says_which_way_the_arm_moves(suite, reps):
    """The arm's elevation grows as it rises in an abduction and as it goes back in a shoulder
    extension: subject 2's incorrect reps of each, against their own correct reps, name the
    smaller movement with the movement's own verb ("arm rises 29° less" read wrong for an
    extension)."""
    said = {}
    for m in (6, 7):
        own = [q.pose() for q in _pick(reps, m, 2, True, 5)]
        said[CLASS_NAMES[m]] = {suite.score_rep(r.pose(), movement=CLASS_NAMES[m], baseline=own)["reason"]
                                for r in _pick(reps, m, 2, False, 10)}
    back = [r for r in said["standing_shoulder_extension"] if r.startswith("arm ")]
    rises = [r for r in said["standing_shoulder_abduction"] if r.startswith("arm ")]
    assert len(back) >= 5 and all(r.startswith("arm goes back ") for r in back), said
    assert len(rises) >= 5 and all(r.startswith("arm rises ") for r in rises), said


@needs_data
def test_mistake_label_and_correction_toward_correct(suite, reps):
    incorrect = [r for m in range(10) for r in _pick(reps, m, 8, False, 2)]
    before, after, flagged, movement_ok = [], [], 0, 0
    for r in incorrect:
        label, fixed = suite.mistake_and_correction(r.pose())
        assert isinstance(fixed, PoseSequence) and len(fixed) == len(r.joints)
        movement_ok += label.movement == CLASS_NAMES[r.movement]
        flagged += not label.correct
        before.append(suite.judge_correct(r.pose(), r.movement))
        after.append(suite.judge_correct(fixed, r.movement))
    assert flagged >= 16, f"only {flagged}/20 incorrect reps flagged"
    assert movement_ok >= 17, f"movement right on only {movement_ok}/20"
    assert np.mean(after) > np.mean(before) + 0.3
    assert np.mean(np.array(after) > 0.5) >= 0.5


def test_missing_weights_give_clear_messages(tmp_path):
    s = ModelSuite.load(tmp_path)
    assert set(s.missing) == {"classifier", "rep", "stability", "gcn", "judge"}
    with pytest.raises(ModelUnavailable, match="physio_core.train"):
        s.classify_window(np.zeros((10, N_JOINTS, 3)))
    with pytest.raises(ModelUnavailable):
        s.score_rep(np.zeros((10, N_JOINTS, 3)), movement=0)


@needs_data
def test_nearest_correct_is_the_same_subjects_closest_correct_rep(reps):
    from physio_core.ml.gcn import STEPS, dtw_distance, nearest_correct, rep_input

    some = _pick(reps, 0, 2) + _pick(reps, 0, 3) + _pick(reps, 4, 2)
    inputs = [rep_input(r.joints) for r in some]

    def dist(i, k):  # every other step, as nearest_correct compares them
        return dtw_distance(inputs[i].reshape(STEPS, -1)[::2], inputs[k].reshape(STEPS, -1)[::2])

    near = nearest_correct(some, inputs)
    for i, (r, k) in enumerate(zip(some, near)):
        if r.correct:
            assert k is None
            continue
        q = some[k]
        assert q.correct and (q.subject, q.movement) == (r.subject, r.movement)
        # no correct rep of the same subject and movement is closer
        same = [j for j, p in enumerate(some) if p.correct and (p.subject, p.movement) == (r.subject, r.movement)]
        assert all(dist(i, k) <= dist(i, j) for j in same)
    # a movement with no correct rep left has no reference
    only_bad = [r for r in some if not r.correct][:3]
    assert nearest_correct(only_bad, [rep_input(r.joints) for r in only_bad]) == [None] * 3


def test_mistake_verdict_is_read_from_the_marginals():
    from physio_core.ml.gcn import label20, read_label

    p = np.zeros((2, 20))
    # most likely class: movement 0 correct (0.4); but incorrect summed over movements is 0.6,
    # and movement 0 summed over correctness is 0.7
    p[0, [0, 1, 3]] = 0.4, 0.3, 0.3
    # clear case: movement 4 correct
    p[1, [8, 9]] = 0.9, 0.1
    move, correct, conf = read_label(p)
    assert move.tolist() == [0, 4]
    assert correct.tolist() == [False, True]
    assert np.allclose(conf, [0.6, 0.9])
    assert label20(p).tolist() == [1, 8]


def test_missing_toes_are_put_where_the_training_skeletons_have_them():
    """Hips along +X, facing +Z: a missing toe lies ahead of and below its ankle, a little
    outward, in body-size units; turned to face +X, it lies ahead along +X; measured toes and
    frames without a person are left as they are."""
    from physio_core.features import TOE_FROM_ANKLE, body_scale, impute_missing_toes
    from physio_core.skeleton import N_JOINTS, J

    pose = np.zeros((N_JOINTS, 3))
    pose[J.L_HIP], pose[J.R_HIP] = (0.1, 0.9, 0.0), (-0.1, 0.9, 0.0)
    pose[J.L_KNEE], pose[J.R_KNEE] = (0.1, 0.5, 0.0), (-0.1, 0.5, 0.0)
    pose[J.L_ANKLE], pose[J.R_ANKLE] = (0.1, 0.1, 0.0), (-0.1, 0.1, 0.0)
    pose[J.PELVIS], pose[J.THORAX] = (0.0, 0.9, 0.0), (0.0, 1.4, 0.0)
    turned = pose[:, [2, 1, 0]] * [1.0, 1.0, -1.0]  # a quarter turn: hips along -Z, facing +X
    joints = np.stack([pose, pose, turned, np.full((N_JOINTS, 3), np.nan)])
    joints[:, [J.L_TOE, J.R_TOE]] = np.nan
    joints[1, J.R_TOE] = (-0.1, 0.0, 0.2)  # measured on this frame
    out = impute_missing_toes(joints)

    scale = body_scale(pose)
    assert scale == pytest.approx(0.5 + 0.4 + 0.4)
    out_, up, fwd = TOE_FROM_ANKLE * scale
    np.testing.assert_allclose(out[0, J.L_TOE], pose[J.L_ANKLE] + (out_, up, fwd))
    np.testing.assert_allclose(out[0, J.R_TOE], pose[J.R_ANKLE] + (-out_, up, fwd))
    np.testing.assert_allclose(out[1, J.R_TOE], (-0.1, 0.0, 0.2))
    np.testing.assert_allclose(out[2, J.L_TOE], turned[J.L_ANKLE] + (fwd, up, -out_), atol=1e-12)
    assert np.isnan(out[3]).all()
    np.testing.assert_array_equal(np.delete(out, [J.L_TOE, J.R_TOE], axis=1),
                                  np.delete(joints, [J.L_TOE, J.R_TOE], axis=1))


def test_a_bounded_memo_keeps_the_entries_used_last():
    from physio_core.ml.common import BoundedMemo

    memo: BoundedMemo[str, int] = BoundedMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # read: "a" is now the one used last
    memo.put("c", 3)  # past its size: "b", used longest ago, goes
    assert (memo.get("b"), memo.get("a"), memo.get("c"), len(memo)) == (None, 1, 3, 2)
    memo.update([("d", 4), ("e", 5), ("f", 6)])
    assert [memo.get(k) for k in "acdef"] == [None, None, None, 5, 6]
    memo.clear()
    assert len(memo) == 0 and memo.get("f") is None
