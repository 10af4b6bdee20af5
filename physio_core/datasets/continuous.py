"""Continuous exercise sets built from single-repetition recordings (UI-PRMD files hold one rep).

A set = lead-in hold, rep 1, pause, rep 2, ..., rep N, hold. During a pause the body holds still
(small, smooth jitter like a tracker's) while the joints and the root blend smoothly from the
last pose of one rep to the first pose of the next, so the joined sequence has no jumps and the
true rep boundaries are known exactly. Used to test and evaluate rep counters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import butter, sosfiltfilt

from physio_core.skeleton import PoseSequence


def _pause(
    a: np.ndarray, b: np.ndarray, n: int, noise: float, rng: np.random.Generator, fps: float
) -> np.ndarray:
    """n frames going smoothly from array a to array b (any shape), with tapered smooth noise."""
    k = np.arange(1, n + 1) / (n + 1)
    w = (0.5 - 0.5 * np.cos(np.pi * k)).reshape(-1, *([1] * a.ndim))
    out = (1 - w) * a[None] + w * b[None]
    if noise > 0 and n > 0:
        jitter = rng.normal(0.0, 1.0, out.shape)
        if n > 12:
            sos = butter(2, min(3.0, 0.4 * fps), fs=fps, output="sos")
            jitter = sosfiltfilt(sos, jitter, axis=0)
        jitter *= noise / max(float(np.std(jitter)), 1e-12)
        out = out + jitter * np.sin(np.pi * k).reshape(w.shape)  # zero at both ends: no jump
    return out


def concatenate_reps(
    reps: Sequence[PoseSequence],
    pause_s: tuple[float, float] = (0.5, 2.0),
    rng: np.random.Generator | int | None = None,
    lead_s: tuple[float, float] = (0.5, 1.5),
    noise_m: float = 0.002,
) -> tuple[PoseSequence, list[tuple[int, int]]]:
    """Join single reps of one person and movement into one continuous set.

    pause_s:  (min, max) seconds between reps, drawn uniformly per pause.
    lead_s:   (min, max) seconds of still standing before the first and after the last rep.
    noise_m:  std (metres) of the smooth jitter added while holding still.
    Returns the set (times from 0 at the first rep's fps) and the true (start_frame, end_frame)
    of every rep, end inclusive like ``Rep.end_frame``.
    """
    if not reps:
        raise ValueError("no reps to concatenate")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    fps = reps[0].fps
    if any(abs(r.fps - fps) > 1e-6 for r in reps):
        raise ValueError("all reps must share one frame rate")

    def n_frames(rng_s: tuple[float, float]) -> int:
        return int(round(rng.uniform(*rng_s) * fps))

    joints, conf, root, bounds = [], [], [], []
    cursor = 0

    def add(j: np.ndarray, c: np.ndarray, r: np.ndarray) -> None:
        nonlocal cursor
        joints.append(j)
        conf.append(c)
        root.append(r)
        cursor += len(j)

    def hold(prev: PoseSequence | None, nxt: PoseSequence | None, n: int) -> None:
        a = prev if prev is not None else nxt
        b = nxt if nxt is not None else prev
        ia, ib = (-1 if prev is not None else 0), (0 if nxt is not None else -1)
        add(
            _pause(a.joints[ia], b.joints[ib], n, noise_m, rng, fps),
            np.repeat(np.minimum(a.confidence[ia], b.confidence[ib])[None], n, axis=0),
            _pause(a.root[ia], b.root[ib], n, noise_m, rng, fps),
        )

    hold(None, reps[0], n_frames(lead_s))
    for i, rep in enumerate(reps):
        if i:
            hold(reps[i - 1], rep, n_frames(pause_s))
        bounds.append((cursor, cursor + len(rep) - 1))
        add(rep.joints, rep.confidence, rep.root)
    hold(reps[-1], None, n_frames(lead_s))

    j = np.concatenate(joints)
    seq = PoseSequence(j, np.concatenate(conf), np.arange(len(j)) / fps, fps, np.concatenate(root))
    return seq, bounds


@dataclass(frozen=True)
class ContinuousSet:
    """One subject's reps of one UI-PRMD movement joined into a set, with the true boundaries."""

    movement: int
    movement_name: str
    subject: int
    correct: bool
    pose: PoseSequence
    bounds: list[tuple[int, int]]

    @property
    def n_reps(self) -> int:
        return len(self.bounds)


def uiprmd_sets(
    root: str | Path,
    correct: bool | None = True,
    movements: Sequence[int] | None = None,
    subjects: Sequence[int] | None = None,
    seed: int = 0,
    pause_s: tuple[float, float] = (0.5, 2.0),
) -> Iterator[ContinuousSet]:
    """Continuous sets for every (movement, subject[, correct]) of UI-PRMD, episodes in order.

    The pauses of each set are drawn from a generator seeded by (seed, movement, subject, correct),
    so a set is the same whatever else is asked for.
    """
    from physio_core.datasets.uiprmd import list_reps

    groups: dict[tuple[int, int, bool], list] = {}
    for r in list_reps(root):
        if correct is not None and r.correct != correct:
            continue
        if (movements and r.movement not in movements) or (subjects and r.subject not in subjects):
            continue
        groups.setdefault((r.movement, r.subject, r.correct), []).append(r)
    for (m, s, c), reps in sorted(groups.items()):
        reps = sorted(reps, key=lambda r: r.episode)
        rng = np.random.default_rng([seed, m, s, int(c)])
        pose, bounds = concatenate_reps([r.load() for r in reps], pause_s=pause_s, rng=rng)
        yield ContinuousSet(m, reps[0].movement_name, s, c, pose, bounds)
