"""Rep counting: synthetic signals with known reps, and real UI-PRMD continuous sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from physio_core.kinematics import ANGLE_NAMES, compute_angles
from physio_core.results import AngleSeries
from physio_core.reps import (
    AngleRepSignal,
    RepSignal,
    StreamingRepCounter,
    StreamingRepSignal,
    choose_principal_angle,
    count_reps,
    rep_peaks,
)

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
UIPRMD = DATASETS / "ui-prmd"
FPS = 30.0


def synthetic(n_reps=6, rest=5.0, top=95.0, seed=0, bounce=0.0, noise=1.0):
    """Raised-cosine reps (1.5-2.5 s) separated by 0.5-2 s pauses; returns signal and truth."""
    rng = np.random.default_rng(seed)
    parts, bounds = [np.full(int(rng.uniform(0.5, 1.5) * FPS), rest)], []
    cursor = len(parts[0])
    for _ in range(n_reps):
        n = int(rng.uniform(1.5, 2.5) * FPS)
        ph = np.linspace(0, 2 * np.pi, n)
        rep = rest + (top - rest) * (0.5 - 0.5 * np.cos(ph))
        if bounce:  # a dip at the turning point: must not count twice
            rep -= bounce * (top - rest) * np.exp(-(((ph - np.pi) / 0.25) ** 2))
        parts.append(rep)
        bounds.append((cursor, cursor + n - 1))
        cursor += n
        pause = np.full(int(rng.uniform(0.5, 2.0) * FPS), rest)
        parts.append(pause)
        cursor += len(pause)
    x = np.concatenate(parts) + rng.normal(0, noise, cursor)
    return x, bounds


def series(x: np.ndarray, name: str = "knee_angle_r") -> AngleSeries:
    values = np.zeros((len(x), len(ANGLE_NAMES)))
    values[:, ANGLE_NAMES.index(name)] = x
    return AngleSeries(ANGLE_NAMES, values, np.arange(len(x)) / FPS)


def shown(sc: StreamingRepCounter, angles: AngleSeries, poses: np.ndarray | None = None) -> np.ndarray:
    """Feed the counter frame by frame: the count it shows after each frame."""
    return np.array([sc.update(row, t, None if poses is None else poses[i])
                     for i, (row, t) in enumerate(zip(angles.values, angles.times))])


def stream(angles: AngleSeries, poses: np.ndarray | None = None, **kw) -> StreamingRepCounter:
    sc = StreamingRepCounter(FPS, angles.names, **kw)
    shown(sc, angles, poses)
    sc.finish()
    return sc


def live_view(seq) -> tuple[np.ndarray, AngleSeries]:
    """The poses and angles a live session has of ``seq``: One-Euro filtered as live.py does."""
    from physio_core.filters import OneEuroFilter
    from physio_core.skeleton import PoseSequence

    one_euro = OneEuroFilter(min_cutoff=1.0, beta=0.3)  # the live session's settings
    joints = np.array([one_euro(j.reshape(-1), t).reshape(j.shape) for j, t in zip(seq.joints, seq.times)])
    return joints, compute_angles(PoseSequence(joints, seq.confidence, seq.times, seq.fps))


def test_counts_synthetic_reps_with_boundaries_and_rom():
    x, bounds = synthetic()
    reps = count_reps(series(x), "knee_angle_r", FPS)
    assert len(reps) == len(bounds)
    for k, (rep, (s, e)) in enumerate(zip(reps, bounds), 1):
        assert rep.index == k and rep.angle == "knee_angle_r"
        assert rep.start_frame < rep.end_frame and rep.start_s < rep.peak_s < rep.end_s
        # boundaries sit where the signal is within 10 % of the ROM from rest
        tol = 0.15 * (e - s)
        assert abs(rep.start_frame - s) <= tol and abs(rep.end_frame - e) <= tol
        assert abs(rep.peak_s - (s + e) / 2 / FPS) < 0.1
        assert rep.rom_deg == pytest.approx(90.0, abs=4.0)
        assert rep.max_deg == pytest.approx(95.0, abs=3.0)
    assert reps[0].to_dict()["rom_deg"] == round(reps[0].rom_deg, 3)


def test_hysteresis_ignores_bounce_and_small_wiggles():
    x, bounds = synthetic(bounce=0.3, seed=1)
    assert len(count_reps(series(x), "knee_angle_r", FPS)) == len(bounds)
    rng = np.random.default_rng(2)
    wiggle = 5 + 6 * np.sin(np.arange(600) / FPS * 2 * np.pi * 0.7) + rng.normal(0, 1, 600)
    assert count_reps(series(wiggle), "knee_angle_r", FPS) == []


@pytest.mark.parametrize("name, wobble, small_rep", [
    ("knee_angle_r", 20.0, 30.0),  # noise on a straight knee reads bends of up to ~20 deg
    ("shoulder_abduction_l", 27.0, 35.0),
    ("shoulder_rotation_r", 32.0, 40.0),
    ("shoulder_flexion_r", 12.0, 18.0),  # no noise floor: the 15 deg floor of every angle
])
def test_tracking_noise_floor_per_angle(name, wobble, small_rep):
    """Excursions as large as what tracking noise alone makes on this angle are not reps, offline
    or live; the smallest reps above it are, both ways."""
    noise, _ = synthetic(n_reps=5, rest=5.0, top=5.0 + wobble, seed=5, noise=0.5)
    assert count_reps(series(noise, name), name, FPS) == []
    assert stream(series(noise, name), angle=name).reps == []
    x, bounds = synthetic(n_reps=5, rest=5.0, top=5.0 + small_rep, seed=5, noise=0.5)
    assert len(count_reps(series(x, name), name, FPS)) == len(bounds)
    assert len(stream(series(x, name), angle=name).reps) == len(bounds)


def test_reps_going_down_from_rest_are_found():
    x, bounds = synthetic(rest=0.0, top=-50.0, seed=3)  # e.g. shoulder extension
    reps = count_reps(series(x, "shoulder_flexion_r"), "shoulder_flexion_r", FPS)
    assert len(reps) == len(bounds)
    assert all(r.min_deg < -45 for r in reps)
    assert len(count_reps(series(x, "shoulder_flexion_r"), exercise="shoulder extension")) == 6


def test_nan_gap_does_not_break_counting():
    x, bounds = synthetic(seed=4)
    s, e = bounds[2]
    x[s + 20 : s + 26] = np.nan  # tracking lost for 0.2 s mid-rep
    assert len(count_reps(series(x), "knee_angle_r", FPS)) == len(bounds)


def test_streaming_matches_offline_on_synthetic():
    x, bounds = synthetic(seed=5, n_reps=8)
    a = series(x)
    off = count_reps(a, "knee_angle_r", FPS)
    sc = stream(a, angle="knee_angle_r")
    live = sc.reps
    assert sc.count == len(live) == len(off) == 8
    for p, q in zip(off, live):
        assert abs(p.start_frame - q.start_frame) <= 3 and abs(p.end_frame - q.end_frame) <= 3
        assert q.rom_deg == pytest.approx(p.rom_deg, abs=3.0)


def test_find_peaks_cross_check_agrees():
    x, bounds = synthetic(seed=6)
    peaks = rep_peaks(series(x), "knee_angle_r", FPS)
    reps = count_reps(series(x), "knee_angle_r", FPS)
    assert len(peaks) == len(reps)
    assert np.abs(peaks / FPS - np.array([r.peak_s for r in reps])).max() < 0.15


class FixedRangePhase:
    """A stand-in for a learned live rep model: knee flexion mapped onto [0, 1] by 0..120 deg."""

    name = "fixed-range"

    def step(self, values: np.ndarray, t: float) -> float:
        return float(np.clip(values[ANGLE_NAMES.index("knee_angle_r")] / 120.0, 0, 1))


def test_rep_signal_seam_offline_and_live():
    x, bounds = synthetic(seed=7)
    a = series(x)
    sig = AngleRepSignal("knee_angle_r")
    assert isinstance(sig, RepSignal) and isinstance(FixedRangePhase(), StreamingRepSignal)
    reps = count_reps(a, "knee_angle_r", FPS, signal=sig)
    assert len(reps) == len(bounds)
    assert reps[0].rom_deg == pytest.approx(90.0, abs=4.0)  # still in degrees of the angle
    sc = stream(a, angle="knee_angle_r", signal=FixedRangePhase())
    assert len(sc.reps) == len(bounds)


# ------------------------------------------------------------------------- real UI-PRMD

needs_uiprmd = pytest.mark.skipif(not UIPRMD.is_dir(), reason=f"UI-PRMD not found at {UIPRMD}")

# (movement, subject): a spread of lower/upper limb moves, left-arm s07, a downward rep (m08)
CASES = [(1, 1), (1, 6), (2, 4), (3, 8), (4, 2), (5, 3), (6, 5), (7, 7), (8, 3), (9, 5), (10, 2)]


@pytest.fixture(scope="module")
def uiprmd_sets():
    from physio_core.datasets.continuous import uiprmd_sets as build

    sets = {}
    for m, s in CASES:
        cs = next(build(UIPRMD, movements=[m], subjects=[s]))
        sets[m, s] = (cs, compute_angles(cs.pose))
    return sets


@needs_uiprmd
@pytest.mark.parametrize("case", CASES, ids=[f"m{m:02d}_s{s:02d}" for m, s in CASES])
def test_uiprmd_set_counts_exact_with_exercise(uiprmd_sets, case):
    cs, angles = uiprmd_sets[case]
    reps = count_reps(angles, exercise=cs.movement_name, fps=cs.pose.fps)
    assert len(reps) == cs.n_reps == 10
    # every true rep holds exactly one detected turning point
    for rep, (s, e) in zip(reps, cs.bounds):
        assert s <= rep.peak_s * cs.pose.fps <= e


@needs_uiprmd
def test_uiprmd_automatic_angle_choice(uiprmd_sets):
    expect = {(1, 1): "knee_angle", (7, 7): "shoulder_", (9, 5): "shoulder_rotation_r"}
    for case, prefix in expect.items():
        cs, angles = uiprmd_sets[case]
        name = choose_principal_angle(angles)
        assert name.startswith(prefix), (case, name)
        assert len(count_reps(angles, fps=cs.pose.fps)) == 10
    cs, angles = uiprmd_sets[7, 7]  # s07 raises the left arm
    assert choose_principal_angle(angles, "standing_shoulder_abduction") == "shoulder_abduction_l"


@needs_uiprmd
@pytest.mark.parametrize("case", [(1, 6), (5, 3), (7, 7), (8, 3), (9, 5)])
def test_uiprmd_streaming_agrees_with_offline(uiprmd_sets, case):
    cs, angles = uiprmd_sets[case]
    off = count_reps(angles, exercise=cs.movement_name, fps=cs.pose.fps)
    sc = stream(angles, exercise=cs.movement_name)
    live = sc.reps
    assert sc.angle == off[0].angle
    assert len(live) == len(off) == 10
    d = np.array(
        [[p.start_frame - q.start_frame, p.end_frame - q.end_frame] for p, q in zip(off, live)]
    )
    assert np.median(np.abs(d)) <= 2 and np.abs(d).max() <= 10


def test_slow_stream_below_the_smoothing_cutoff_still_counts():
    # a live stream that processes only 3 fps must not break the filter design (Nyquist 1.5 Hz)
    t = np.arange(0, 30, 1 / 3.0)
    knee = 60 + 50 * np.sin(2 * np.pi * t / 5 - np.pi / 2)  # starts at rest (10 deg), 6 reps
    angles = AngleSeries(("knee_angle_r",), knee[:, None], t)
    assert len(count_reps(angles, "knee_angle_r", fps=3.0)) == 6
    live = StreamingRepCounter(3.0, ("knee_angle_r",), angle="knee_angle_r")
    for row, ti in zip(knee[:, None], t):
        live.update(row, ti)
    assert len(live.finish()) == 6


def test_live_counter_refuses_reps_without_motion():
    """Streamed with its poses, the live counter refuses a "rep" in which no joint moves
    MIN_REP_MOTION, as uploads do: a shoulder angle swinging 25 deg (above its 15 deg floor) on a
    body that stays put is not counted, while the same swing with the arm really moving is."""
    from physio_core.skeleton import J

    x, bounds = synthetic(n_reps=5, rest=5.0, top=30.0, seed=6, noise=0.5)
    angles = series(x, "shoulder_flexion_r")
    still = _body(len(x))
    moving = still.copy()  # the same body, whose right wrist swings 25 cm with the angle
    moving[:, J.R_WRIST, 2] = 0.25 * (x - 5.0) / 25.0

    assert len(stream(angles, angle="shoulder_flexion_r").reps) == len(bounds)  # angles alone
    assert stream(angles, still, angle="shoulder_flexion_r").reps == []
    assert len(stream(angles, moving, angle="shoulder_flexion_r").reps) == len(bounds)


def test_live_motion_paths_cover_the_rep_in_pose_frames():
    """The poses the live motion checks read for a rep run from its start, moved back by the
    filter's delay (the angles lag the poses), to now, also after a long stream has dropped the
    oldest poses: a wrist whose height is its frame number in mm reads back those frames."""
    from physio_core.skeleton import J

    n = int(120 * FPS)  # long enough that the counter has dropped early poses
    body = _body(n)
    body[:, J.R_WRIST, 1] = 0.001 * np.arange(n)
    sc = StreamingRepCounter(FPS, ANGLE_NAMES, angle="knee_angle_r")
    assert sc.motion_paths(0, 10) is None  # no poses given yet
    for i in range(n):
        sc.update(np.zeros(len(ANGLE_NAMES)), i / FPS, body[i])
    assert sc.delay > 0
    now, start = n - 1, n - int(4 * FPS)
    frames = 1000 * sc.motion_paths(start, now)[:, J.R_WRIST, 1]
    assert len(frames) == now - (start - sc.delay) + 1
    np.testing.assert_allclose(frames[[0, len(frames) // 2, -1]],
                               [start - sc.delay, (start - sc.delay + now) / 2, now], atol=0.5)
    kept = sc.motion_paths(0, now)  # a start older than the poses kept: from the oldest kept
    assert len(kept) < now + 1
    assert 1000 * kept[0, J.R_WRIST, 1] == pytest.approx(now + 1 - len(kept), abs=0.5)


def _body(n: int) -> np.ndarray:
    """A body of fixed size (torso 0.5 m, legs 0.85 m), standing still for n frames."""
    from physio_core.skeleton import J, N_JOINTS

    body = np.zeros((n, N_JOINTS, 3))
    body[:, J.THORAX] = [0.0, 0.5, 0.0]
    body[:, J.R_HIP], body[:, J.L_HIP] = [-0.1, 0.0, 0.0], [0.1, 0.0, 0.0]
    body[:, J.R_KNEE], body[:, J.L_KNEE] = [-0.1, -0.45, 0.0], [0.1, -0.45, 0.0]
    body[:, J.R_ANKLE], body[:, J.L_ANKLE] = [-0.1, -0.85, 0.0], [0.1, -0.85, 0.0]
    return body


def test_rep_gap_is_how_far_a_rep_ends_from_its_start():
    """rep_gap on known paths: a wrist that goes out 40 cm and back scores ~0, one that goes
    40 cm one way ~1 (its end-to-end distance over its 5th-95th percentile spread), one that
    comes halfway back ~0.5; nobody measured is NaN."""
    from physio_core.results import Rep
    from physio_core.reps import rep_gap
    from physio_core.skeleton import J

    n = 90
    rep = Rep(1, 0, n - 1, 0.0, (n - 1) / FPS, "x", 0.0, 0.0, 0.0, 1.0)
    u = np.linspace(0.0, 1.0, n)
    paths = {"back": 0.4 * np.sin(np.pi * u), "one way": 0.4 * u,
             "half back": 0.4 * np.where(u < 0.5, 2 * u, 1.5 - u)}
    gap = {}
    for name, x in paths.items():
        body = _body(n)
        body[:, J.R_WRIST, 2] = x
        gap[name] = float(rep_gap(body, [rep], FPS)[0])
    assert gap["back"] < 0.05
    assert 0.95 < gap["one way"] < 1.2
    assert 0.4 < gap["half back"] < 0.6
    assert np.isnan(rep_gap(np.full((n, *_body(1).shape[1:]), np.nan), [rep], FPS)[0])


@needs_uiprmd
def test_larger_count_drops_a_detector_rep_that_does_not_come_back():
    """A learned detector's "rep" over a slow one-way move between two real poses (subject 3
    standing, then at the bottom of their squat) is dropped; the same "rep" over their real
    squat, which comes back, is kept. Without the poses neither check can run."""
    from conftest import one_way, uiprmd_set
    from physio_core.kinematics import angles_from_joints
    from physio_core.reps import MAX_BODY_GAP, MAX_REP_GAP, larger_count, rep_body_gap, rep_gap

    seq, bounds, _ = uiprmd_set([("deep_squat", 3, True)])
    (a, b), mid = bounds[0], (bounds[0][0] + bounds[0][1]) // 2
    move = one_way(seq.joints[a], seq.joints[mid], (b - a) / FPS, seed=0).joints
    gaps = []
    for joints, kept in ((seq.joints[a : b + 1], 1), (move, 0)):
        angles = AngleSeries(ANGLE_NAMES, angles_from_joints(joints), np.arange(len(joints)) / FPS)
        found = [(0, len(joints) // 2, len(joints) - 1)]
        assert len(larger_count([], found, angles, "knee_angle_r", FPS, joints=joints)) == kept
        without_poses = larger_count([], found, angles, "knee_angle_r", FPS)
        assert len(without_poses) == 1
        gaps.append((rep_gap(joints, without_poses, FPS)[0],
                     rep_body_gap(joints, without_poses, FPS)[0]))
    assert gaps[0][0] < 0.3 and gaps[0][1] < 0.3
    assert gaps[1][0] > MAX_REP_GAP and gaps[1][1] > MAX_BODY_GAP


@needs_uiprmd
@pytest.mark.parametrize("movement,subject,correct,kept", [
    ("standing_shoulder_extension", 2, False, 10), ("inline_lunge", 2, True, 9)])
def test_a_rep_in_which_one_joint_ends_elsewhere_is_still_a_rep(movement, subject, correct, kept):
    """Real sets in which, in some reps, the joint that ends farthest from its start ends
    almost its whole movement away (a knee or a wrist the tracker moved and left there) while
    the body as a whole comes back: those reps are kept, where the joint gap alone would drop
    them. The lunge's second rep also carries much of the body elsewhere (body gap 0.56) and
    is dropped: the price of catching one-way moves (models/rep_detector.md)."""
    from conftest import uiprmd_set
    from physio_core.results import Rep
    from physio_core.reps import MAX_BODY_GAP, MAX_REP_GAP, drop_non_reps, rep_body_gap, rep_gap

    seq, bounds, _ = uiprmd_set([(movement, subject, correct)] * 10)
    reps = [Rep(i + 1, a, b, a / FPS, b / FPS, "x", 0.0, 0.0, 0.0, 1.0)
            for i, (a, b) in enumerate(bounds)]
    joint, body = rep_gap(seq.joints, reps, FPS), rep_body_gap(seq.joints, reps, FPS)
    assert (joint > MAX_REP_GAP).sum() == 2
    assert (body[joint > MAX_REP_GAP] < MAX_BODY_GAP).sum() == kept - 8  # all others come back
    assert len(drop_non_reps(reps, seq.joints, FPS)) == kept


@needs_uiprmd
@pytest.mark.parametrize("case", CASES, ids=[f"m{m:02d}_s{s:02d}" for m, s in CASES])
def test_uiprmd_streaming_with_poses_keeps_every_rep(uiprmd_sets, case):
    """Given the poses too (as the live session gives them), the live counter keeps all ten
    reps of each real set: the motion check refuses noise, not reps."""
    cs, angles = uiprmd_sets[case]
    plain = stream(angles, exercise=cs.movement_name).reps
    with_poses = stream(angles, cs.pose.joints, exercise=cs.movement_name).reps
    frames = [(r.start_frame, r.end_frame) for r in plain]
    assert [(r.start_frame, r.end_frame) for r in with_poses] == frames
    assert len(with_poses) == 10


@needs_uiprmd
def test_live_counter_takes_one_way_moves_off_the_count():
    """The live path (One-Euro filtered poses, their angles, the streaming counter fed the
    poses) on ten slow one-way moves between real poses (``conftest.one_way_moves``), each
    session set to each movement and to auto: no rep is left once its end shows the body did not
    come back. Without that check 10 of these 110 sessions keep 1-4 reps, 8 of them on auto.
    Nor is one shown on the way: the screen's count stays 0 throughout (counting a rep as its
    angle came back, before its end showed the body had not, put a "1" on the screen for a moment
    in 6 of them)."""
    from conftest import one_way_moves
    from physio_core.ml.data import CLASS_NAMES, N_MOVEMENTS

    counted = {False: [], True: []}
    seen_counted = []
    for m, move in enumerate(one_way_moves()):
        joints, angles = live_view(move)
        for named in (*CLASS_NAMES[:N_MOVEMENTS], None):
            for round_trip in (False, True):
                sc = StreamingRepCounter(FPS, angles.names, exercise=named, round_trip=round_trip)
                most = shown(sc, angles, joints).max()
                if reps := sc.finish():
                    counted[round_trip].append((CLASS_NAMES[m], named, len(reps)))
                if round_trip and most:
                    seen_counted.append((CLASS_NAMES[m], named, most))
    assert len(counted[False]) >= 5  # not vacuous: the angles alone rise and fall on the way
    assert counted[True] == []
    assert seen_counted == []


@needs_uiprmd
@pytest.mark.parametrize("movement,subject,correct,named", [
    ("inline_lunge", 6, True, False),
    ("standing_shoulder_extension", 3, False, True),
    ("standing_active_straight_leg_raise", 3, False, True),
    ("inline_lunge", 2, True, True),
    ("side_lunge", 7, True, True),
])
def test_the_live_count_does_not_fall_back_when_a_rep_is_refused(movement, subject, correct, named):
    """Ten real reps of one subject joined into a set, streamed with their poses: the count on the
    screen never falls, and ends at the reps stored. In these sets a rep was first counted as
    its angle came back and then refused by the motion check, and the count fell by one (1 to 4
    times a set); such a rep is now counted only once the body is back too."""
    from conftest import uiprmd_set

    seq, _, _ = uiprmd_set([(movement, subject, correct)] * 10, rng=subject)
    angles = compute_angles(seq)
    sc = StreamingRepCounter(seq.fps, angles.names, exercise=movement if named else None)
    counts = shown(sc, angles, seq.joints)
    assert counts[-1] >= 6
    assert (np.diff(counts) >= 0).all(), f"the count fell at frames {np.flatnonzero(np.diff(counts) < 0) + 1}"
    assert len(sc.finish()) == counts[-1]


@needs_uiprmd
def test_live_counter_counts_nothing_while_the_athlete_stands_still():
    """The live session's path (One-Euro filtered poses, angles, streaming counter with the
    poses) on ten real rest poses held for 10 s with tracker noise, each session set to each of
    the ten movements and to auto: no reps. Without the poses, some of these sessions count."""
    from conftest import held_still, uiprmd_set
    from physio_core.ml.data import CLASS_NAMES, N_MOVEMENTS

    counted = {False: [], True: []}
    for m in range(N_MOVEMENTS):
        seq, _, _ = uiprmd_set([(CLASS_NAMES[m], m % 8 + 1, True)])
        joints, angles = live_view(held_still(seq.joints[0], 10.0, seed=m))
        for named in (*CLASS_NAMES[:N_MOVEMENTS], None):
            for with_poses in (False, True):
                sc = stream(angles, joints if with_poses else None, exercise=named)
                if sc.reps:
                    counted[with_poses].append((CLASS_NAMES[m], named, len(sc.reps)))
    assert counted[False]  # the noise alone does make "reps" on these angles
    assert counted[True] == []


def test_a_skeleton_without_toes_measures_its_reps_quietly():
    """MMPose's skeleton has no toes: a rep's motion is that of the joints it has, without
    numpy's "All-NaN slice" warning on every rep (the command line printed it)."""
    import warnings

    from conftest import subject5_squats
    from physio_core.reps import rep_motion
    from physio_core.results import Rep
    from physio_core.skeleton import J

    seq, bounds, _ = subject5_squats("ccI")
    reps = [Rep(i + 1, a, b, float(seq.times[a]), float(seq.times[b]), "knee_angle_r", 0, 0, 0)
            for i, (a, b) in enumerate(bounds)]
    toeless, still = seq.joints.copy(), seq.joints.copy()
    toeless[:, [J.L_TOE, J.R_TOE]] = np.nan
    still[:, [J.L_TOE, J.R_TOE]] = still[:, [J.PELVIS]]  # toes that never move add no motion
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        moved = rep_motion(toeless, reps, seq.fps)
    np.testing.assert_allclose(moved, rep_motion(still, reps, seq.fps))
    assert (moved > 0.1).all()


def test_an_angle_that_leaps_across_its_gaps_does_not_carry_the_reps():
    """Arms raised sideways to 150 deg (jumping jacks): abduction follows the whole swing, while
    planar shoulder flexion reads 0 with the arm low, is undefined while the arm is more than
    60 deg out of the sagittal plane (abduction 60-120), and reads 180 with it overhead. Its range
    is larger, but it leaps across every gap: the reps are counted on abduction, offline and live."""
    abd, bounds = synthetic(n_reps=6, rest=10.0, top=150.0, seed=3)
    rng = np.random.default_rng(4)
    flex = np.where(abd <= 60, 0.0, np.where(abd >= 120, 180.0, np.nan)) + rng.normal(0, 1.0, len(abd))
    values = np.zeros((len(abd), len(ANGLE_NAMES)))
    values[:, ANGLE_NAMES.index("shoulder_abduction_r")] = abd
    values[:, ANGLE_NAMES.index("shoulder_flexion_r")] = flex
    angles = AngleSeries(ANGLE_NAMES, values, np.arange(len(abd)) / FPS)
    assert np.nanpercentile(flex, 95) - np.nanpercentile(flex, 5) > np.ptp(abd)

    assert choose_principal_angle(angles, fps=FPS) == "shoulder_abduction_r"
    reps = count_reps(angles, fps=FPS)
    assert len(reps) == 6 and all(r.angle == "shoulder_abduction_r" for r in reps)
    live = stream(angles)
    assert live.angle == "shoulder_abduction_r" and len(live.reps) == 6


@needs_uiprmd
@pytest.mark.parametrize("subject, side", [(4, "r"), (7, "l")])
def test_reps_of_an_arm_taken_past_its_wrap_on_the_side_that_does_them(subject, side):
    """Incorrect shoulder extensions (movement 8, down from rest) of subjects 4 and 7 take the arm
    far behind, where planar shoulder flexion wraps from -90 to 270 deg. Counted on the angle as
    measured, s07's last reps read 355-358 deg of range. s04's reps were counted on the idle
    left arm, whose few compensating swings span more than the working right arm's reps: 3 reps
    of 10. Reps are now counted on the unwrapped angle, and of an exercise's angle the side is
    the one whose reps are larger and more regular, offline and live."""
    from physio_core.datasets.continuous import uiprmd_sets as build

    cs = next(build(UIPRMD, correct=False, movements=[8], subjects=[subject]))
    angles = compute_angles(cs.pose)
    name = f"shoulder_flexion_{side}"
    x = angles[name]
    assert np.abs(np.diff(x[np.isfinite(x)])).max() > 300  # the wrap, as measured
    reps = count_reps(angles, exercise=cs.movement_name, fps=cs.pose.fps)
    assert {r.angle for r in reps} == {name} and abs(len(reps) - cs.n_reps) <= 1
    assert max(r.rom_deg for r in reps) < 150
    live = stream(angles, exercise=cs.movement_name)
    assert live.angle == name and abs(len(live.reps) - cs.n_reps) <= 1
    assert max(r.rom_deg for r in live.reps) < 150
