"""The "comes back" check live, judged at the rep's END: does it keep real reps and drop one-way moves?

    python scripts/experiments/round_trip_live_end.py

`round_trip_live.py` judged a live rep when the counter counts it (the angle back past
`return_frac`), where real reps' gaps overlap one-way moves'. The streaming counter knows a rep's
end a little later; there its gap is the upload's own (`reps._gaps` from the rep's start to its
end), and the upload's limits (`MAX_REP_GAP`, `MAX_BODY_GAP`) apply. A rep refused there was
shown in the count for a moment and is taken off it. This streams, as a live session does
(One-Euro filtered poses, their angles, the streaming counter fed the poses), with the movement
named and on auto (no movement: every angle a candidate):
- real: `evaluate`'s 320 scoring sets (UI-PRMD reps of one subject joined with pauses), at their
  own tempo and 3x faster: off-by-one and exact final counts, sets whose count changes;
- one-way: 80 slow moves between real poses (each movement's rest pose to the middle of another
  movement's rep, 8 s, `ml.data.Augment`'s tracker noise): sessions with a final count, and
  sessions in which some count was shown on the way.
Nothing is trained. About 25 min on 2 cores.
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import physio_core.reps as R  # noqa: E402
from physio_core.ml.data import CLASS_NAMES, FPS, N_MOVEMENTS  # noqa: E402
from physio_core.ml.repcount import speed_up  # noqa: E402
from round_trip_live import live_view, real_sets_and_moves  # noqa: E402

SPEEDS = (1.0, 3.0)


def stream(joints: np.ndarray, angles, exercise: str | None, round_trip: bool) -> tuple[int, int]:
    """(final count, largest count shown while streaming)."""
    sc = R.StreamingRepCounter(FPS, angles.names, exercise=exercise, round_trip=round_trip)
    shown = 0
    for i, (row, t) in enumerate(zip(angles.values, angles.times)):
        shown = max(shown, sc.update(row, t, joints[i]))
    return len(sc.finish()), shown


def both(joints: np.ndarray, movement: int | None) -> dict[tuple[str, bool], tuple[int, int]]:
    """Every (named or auto, check or not) stream of one sequence; ``movement`` None streams
    one-way moves as each movement."""
    jl, angles = live_view(joints)
    out = {}
    for rt in (False, True):
        if movement is None:
            for m in range(N_MOVEMENTS):
                out[(CLASS_NAMES[m], rt)] = stream(jl, angles, CLASS_NAMES[m], rt)
        else:
            out[("named", rt)] = stream(jl, angles, CLASS_NAMES[movement], rt)
        out[("auto", rt)] = stream(jl, angles, None, rt)
    return out


def main() -> None:
    real, moves = real_sets_and_moves()
    with ProcessPoolExecutor(2) as pool:
        for f in SPEEDS:
            jobs = [(speed_up(joints, spans, f)[0], movement) for joints, spans, _, movement in real]
            rows = list(pool.map(both, *zip(*jobs), chunksize=8))
            truth = np.array([k for _, _, k, _ in real], float)
            for mode in ("named", "auto"):
                cells = []
                for rt in (False, True):
                    p = np.array([r[(mode, rt)][0] for r in rows], float)
                    changed = sum(r[(mode, rt)][0] != r[(mode, False)][0] for r in rows)
                    cells.append(f"check {'on ' if rt else 'off'}: off-by-one {np.mean(np.abs(p - truth) <= 1):.3f}"
                                 f" exact {np.mean(p == truth):.3f} changed {changed:3d}")
                print(f"real {f:g}x {mode:5s} ({len(real)} sets) | {' | '.join(cells)}", flush=True)
        rows = list(pool.map(both, moves, [None] * len(moves), chunksize=4))
    for mode in ("named", "auto"):
        keys = CLASS_NAMES[:N_MOVEMENTS] if mode == "named" else ("auto",)
        cells = []
        for rt in (False, True):
            runs = [r[(k, rt)] for r in rows for k in keys]
            cells.append(f"check {'on ' if rt else 'off'}: counted at the end {sum(n > 0 for n, _ in runs):3d},"
                         f" a count shown {sum(s > 0 for _, s in runs):3d}")
        print(f"one-way {mode:5s} ({len(rows) * len(keys)} sessions) | {' | '.join(cells)}")


if __name__ == "__main__":
    main()
