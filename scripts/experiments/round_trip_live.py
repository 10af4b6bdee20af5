"""The "comes back" check live: should the streaming counter refuse a one-way "rep", and where?

    python scripts/experiments/round_trip_live.py

Uploads drop a rep whose body ends more than `reps.MAX_REP_GAP` of its movement away from where
it began (`round_trip.py`). The live counter must decide when it counts a rep, as the angle
comes back past `return_frac` of its range, before the rep has ended, so its gap there is
larger than the rep's own. This streams, as a live session does (One-Euro filtered poses, their
angles, the streaming counter told the movement, fed the poses):
- real: `evaluate`'s 320 scoring sets (UI-PRMD reps of one subject joined with pauses), at
  their own tempo and 3x faster; each rep's gap from its start to the frame it counts;
- one-way: 80 slow moves between real poses (each movement's rest pose to the middle of
  another movement's rep, 8 s, `ml.data.Augment`'s tracker noise), each streamed as each of the
  ten movements; the gap of every "rep" counted.
Then, for each candidate limit (the counter refusing a rep whose gap is above it when it would
count it, on top of its own checks; `inf` is the counter without a gap check): real sets whose
count changes, off-by-one and exact counts, and one-way sessions counted. The last rows refuse a
rep only when its body gap (`reps.rep_body_gap`, at counting) is above a second limit too, as
uploads do.
The streaming counter has no learned model: nothing is trained. About 15 min.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import physio_core.reps as R  # noqa: E402
from physio_core.filters import OneEuroFilter  # noqa: E402
from physio_core.kinematics import compute_angles  # noqa: E402
from physio_core.ml import suite  # noqa: E402
from physio_core.ml.data import CLASS_NAMES, FPS, N_MOVEMENTS, Augment, load_uiprmd  # noqa: E402
from physio_core.ml.repcount import build_sets, speed_up  # noqa: E402
from physio_core.skeleton import PoseSequence  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402

LIMITS = (np.inf, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6)
# (joint gap limit, body gap limit): a rep is refused when both are exceeded, as uploads do
# (reps.MAX_REP_GAP, reps.MAX_BODY_GAP); -inf: the joint gap alone
RULES = ([(limit, -np.inf) for limit in LIMITS]
         + [(limit, body) for limit in (1.0, 0.9, 0.8) for body in (0.6, 0.5, 0.4)])
SPEEDS = (1.0, 3.0)


def live_view(joints: np.ndarray) -> tuple[np.ndarray, object]:
    """The poses and angles a live session has: One-Euro filtered as live.py filters them."""
    times = np.arange(len(joints)) / FPS
    one_euro = OneEuroFilter(min_cutoff=1.0, beta=0.3)
    j = np.array([one_euro(p.reshape(-1), t).reshape(p.shape) for p, t in zip(joints, times)])
    return j, compute_angles(PoseSequence(j, np.ones(j.shape[:2]), times, FPS))


def stream(joints: np.ndarray, angles, exercise: str
           ) -> tuple[dict[tuple[float, float], int], list[float]]:
    """Stream one sequence: the live count under each candidate rule of ``RULES`` (the counter
    also refusing a rep that breaks it when it would count it), and the joint gap (from the
    rep's start to the frame it counts) of each rep that any candidate angle's counter counts
    with no rule."""
    seen: list[tuple[float, float]] = []
    n = run(joints, angles, exercise, (np.inf, -np.inf), seen)
    # a rule no rep breaks changes nothing: stream again only for those some rep breaks
    out = {rule: n for rule in RULES}
    for limit, body in RULES[1:]:
        if any(g > limit and b > body for g, b in seen):
            out[(limit, body)] = run(joints, angles, exercise, (limit, body), [])
    return out, [g for g, _ in seen]


def run(joints: np.ndarray, angles, exercise: str, rule: tuple[float, float],
        seen: list[tuple[float, float]]) -> int:
    """The live count with the counter's own checks plus a gap rule (joint and body gaps of
    counted reps appended to ``seen``)."""
    limit, body_limit = rule
    sc = R.StreamingRepCounter(FPS, angles.names, exercise=exercise)
    moved = sc._moved  # the shipped motion check

    def check(start: int, now: int) -> bool:
        if not moved(start, now):
            return False
        paths = sc.motion_paths(start, now)
        gap, body = R._gaps(paths) if paths is not None else (np.nan, np.nan)
        if gap > limit and body > body_limit:
            return False
        seen.append((gap, body))
        return True

    for machines in sc._machines:
        for m in machines:
            m.moved = check
    for i, (row, t) in enumerate(zip(angles.values, angles.times)):
        sc.update(row, t, joints[i])
    return len(sc.finish())


def real_sets_and_moves() -> tuple[list, list[np.ndarray]]:
    """``evaluate``'s 320 scoring sets (joints, spans, n_reps, movement) and the 80 slow one-way
    moves (joints) of the module docstring."""
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    subjects = sorted({r.subject for r in reps})
    real = []
    for s in subjects:
        rng = np.random.default_rng(suite.SCORE_SEED)
        real += build_sets([r for r in reps if r.subject == s], rng, per_group=2, augment=False)
    moves = []
    aug = Augment()
    for m in range(N_MOVEMENTS):
        for s in subjects:
            rng = np.random.default_rng(100 * m + s)
            a = [r for r in reps if r.subject == s and r.movement == m][0].joints[0]
            other = [r for r in reps if r.subject == s and r.movement == (m + 3) % N_MOVEMENTS][0]
            b = other.joints[len(other.joints) // 2]
            w = np.linspace(0.0, 1.0, int(8 * FPS))[:, None, None]
            moves.append(aug((1 - w) * a[None] + w * b[None], rng, time_warp=False))
    return real, moves


def main() -> None:
    real, moves = real_sets_and_moves()
    pct = (50, 90, 95, 99, 100)
    table = {}
    for f in SPEEDS:
        gaps, rows = [], []
        for joints, spans, k, movement in real:
            j, _ = speed_up(joints, spans, f)
            jl, angles = live_view(j)
            row, g = stream(jl, angles, CLASS_NAMES[movement])
            rows.append((k, row))
            gaps += g
        table[f] = rows
        print(f"real {f:g}x: {len(gaps)} reps counted, gap at counting, percentiles {pct}: "
              f"{np.round(np.nanpercentile(gaps, pct), 2).tolist()}", flush=True)
    gaps, rows = [], []
    for j in moves:
        jl, angles = live_view(j)
        for m in range(N_MOVEMENTS):
            row, g = stream(jl, angles, CLASS_NAMES[m])
            rows.append(row)
            gaps += g
    print(f"one-way: {len(gaps)} reps counted in {len(rows)} sessions, gap percentiles "
          f"(0, 5, 10, 25, 50): {np.round(np.nanpercentile(gaps, (0, 5, 10, 25, 50)), 2).tolist()}")
    print(f"{'limit':>6s} {'body':>5s} | real sets ({len(real)}) per tempo: count changed, "
          f"off-by-one, exact | one-way sessions counted (of {len(rows)})")
    for rule in RULES:
        cells = []
        for f in SPEEDS:
            t = np.array([k for k, _ in table[f]], float)
            p = np.array([r[rule] for _, r in table[f]], float)
            changed = sum(r[rule] != r[RULES[0]] for _, r in table[f])
            cells.append(f"{f:g}x: {changed:3d} {np.mean(np.abs(p - t) <= 1):.3f} "
                         f"{np.mean(p == t):.3f}")
        print(f"{rule[0]:6.2f} {rule[1]:5.2f} | {' | '.join(cells)} | {sum(r[rule] > 0 for r in rows)}")


if __name__ == "__main__":
    main()
