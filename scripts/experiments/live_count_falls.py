"""Does the live count on the screen fall back? And how right is it while the set goes on?

    python scripts/experiments/live_count_falls.py

Streams each UI-PRMD subject's first ten reps of a movement (correct, then incorrect), joined
with pauses as `conftest.uiprmd_set` joins them (160 sets), through the streaming counter with
their poses, as a live session feeds it, with the movement named and on auto (no movement):
- falls: frames at which the count is lower than at the frame before, and the sets with any;
  "refused" ones happen while the counter stays on its angle (a rep counted, then taken off the
  count), "switch" ones when it moves to another angle (on auto);
- shown 1 s after each true rep end: the share of reps at which the count equals the true reps
  so far, and the mean |count - true|;
- at the end of the stream: sets whose count is exact.
Nothing is trained. About 4 min on 2 cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from physio_core.datasets.continuous import concatenate_reps  # noqa: E402
from physio_core.datasets.uiprmd import list_reps  # noqa: E402
from physio_core.kinematics import compute_angles  # noqa: E402
from physio_core.reps import StreamingRepCounter  # noqa: E402

ROOT = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ui-prmd"


def ten_rep_sets():
    """(movement, subject, correct, PoseSequence, rep frame bounds) of each subject's first ten reps
    of a movement, correct, then incorrect, joined with pauses (as ``conftest.uiprmd_set``)."""
    every = list_reps(ROOT)
    for movement in sorted({r.movement_name for r in every}):
        for subject in sorted({r.subject for r in every}):
            for correct in (True, False):
                reps = sorted((r for r in every if (r.movement_name, r.subject, r.correct) == (movement, subject, correct)),
                              key=lambda r: r.episode)[:10]
                seq, bounds = concatenate_reps([r.load() for r in reps], rng=subject)
                yield movement, subject, correct, seq, bounds


def main() -> None:
    sets = [(movement, seq, bounds, compute_angles(seq)) for movement, _, _, seq, bounds in ten_rep_sets()]
    print(f"{'mode':6} {'sets':>4} {'sets with a fall':>16} {'refused':>8} {'switch':>7} "
          f"{'exact 1 s after each rep':>24} {'mean |err|':>10} {'exact at end':>12}")
    for named in (True, False):
        falls = {"refused": 0, "switch": 0}
        fell, errors, exact = 0, [], 0
        for movement, seq, bounds, angles in sets:
            sc = StreamingRepCounter(seq.fps, exercise=movement if named else None)
            counts, before, angle = [], 0, sc.angle
            for i, (row, t) in enumerate(zip(angles.values, angles.times)):
                k = sc.update(row, float(t), seq.joints[i])
                if k < before:
                    falls["refused" if sc.angle == angle else "switch"] += 1
                counts.append(k)
                before, angle = k, sc.angle
            counts = np.asarray(counts)
            fell += bool((np.diff(counts) < 0).any())
            at = [min(end + int(seq.fps), len(seq) - 1) for _, end in bounds]
            errors += [abs(int(counts[f]) - (j + 1)) for j, f in enumerate(at)]
            exact += counts[-1] == len(bounds)
        errors = np.asarray(errors)
        print(f"{'named' if named else 'auto':6} {len(sets):4d} {fell:16d} {falls['refused']:8d} {falls['switch']:7d} "
              f"{np.mean(errors == 0):24.3f} {errors.mean():10.3f} {exact:12d}")


if __name__ == "__main__":
    main()
