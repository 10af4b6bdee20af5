"""Continuous sets joined from single reps: exact boundaries, no jumps, realistic pauses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from physio_core.datasets.continuous import concatenate_reps, uiprmd_sets
from physio_core.skeleton import N_JOINTS, PoseSequence

UIPRMD = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "ui-prmd"


def fake_rep(n: int, offset: float, seed: int) -> PoseSequence:
    base = np.random.default_rng(0).normal(0, 0.3, (N_JOINTS, 3))  # one body ...
    base += np.random.default_rng(seed + 1).normal(0, 0.05, (N_JOINTS, 3))  # ... posed anew
    base[0] = 0.0
    swing = np.sin(np.linspace(0, np.pi, n))[:, None, None] * 0.2
    joints = base[None] + swing
    joints[:, 0] = 0.0
    root = np.column_stack([np.full(n, offset), np.full(n, 1.0), np.linspace(0, 0.05, n)])
    return PoseSequence(joints, np.ones((n, N_JOINTS)), np.arange(n) / 30.0, 30.0, root)


def max_step(x: np.ndarray) -> float:
    return float(np.nanmax(np.linalg.norm(np.diff(x, axis=0), axis=-1)))


def test_boundaries_are_exact_and_pauses_in_range():
    reps = [fake_rep(40 + 5 * i, offset=0.1 * i, seed=i) for i in range(4)]
    seq, bounds = concatenate_reps(reps, pause_s=(0.5, 1.0), rng=1, lead_s=(0.5, 0.5))
    assert len(bounds) == 4 and bounds[0][0] == 15
    for rep, (s, e) in zip(reps, bounds):
        np.testing.assert_array_equal(seq.joints[s : e + 1], rep.joints)
        np.testing.assert_array_equal(seq.root[s : e + 1], rep.root)
    gaps = [b[0] - a[1] - 1 for a, b in zip(bounds, bounds[1:])]
    assert all(15 <= g <= 30 for g in gaps)
    assert len(seq) == bounds[-1][1] + 1 + 15
    np.testing.assert_allclose(np.diff(seq.times), 1 / 30.0)
    # same seed, same set
    again, bounds2 = concatenate_reps(reps, pause_s=(0.5, 1.0), rng=1, lead_s=(0.5, 0.5))
    assert bounds2 == bounds and np.array_equal(again.joints, seq.joints)


def test_pauses_blend_without_jumps():
    reps = [fake_rep(40, offset=0.3 * i, seed=i) for i in range(3)]  # roots 30 cm apart
    seq, bounds = concatenate_reps(reps, pause_s=(1.0, 1.5), rng=2, noise_m=0.002)
    within = max(max_step(r.joints) for r in reps)
    # the pose changes between reps (by ~5 cm) yet no frame-to-frame step is large
    assert max_step(seq.joints) < max(within, 0.05)
    assert max_step(seq.root) < 0.05
    pause = seq.joints[bounds[0][1] + 1 : bounds[1][0]]
    assert 0.0005 < np.std(np.diff(pause, axis=0)) < 0.01  # alive, but small


@pytest.mark.skipif(not UIPRMD.is_dir(), reason=f"UI-PRMD not found at {UIPRMD}")
def test_uiprmd_set_is_continuous():
    cs = next(uiprmd_sets(UIPRMD, movements=[1], subjects=[3]))
    assert cs.n_reps == 10 and cs.movement_name == "deep_squat" and cs.correct
    pause_steps = []
    for (s0, e0), (s1, _) in zip(cs.bounds, cs.bounds[1:]):
        assert 15 <= s1 - e0 - 1 <= 60
        pause_steps.append(max_step(cs.pose.joints[e0 : s1 + 1]))
    rep_steps = [max_step(cs.pose.joints[s : e + 1]) for s, e in cs.bounds]
    assert max(pause_steps) <= max(rep_steps)
    assert np.isfinite(cs.pose.root).all()
