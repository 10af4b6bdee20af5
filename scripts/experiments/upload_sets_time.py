"""What the upload page spends after the pose, with Split into sets ticked, and what it gets.

    python scripts/experiments/upload_sets_time.py [--recordings N] [--ui-prmd DIR]

Real UI-PRMD poses joined as a camera sees them (`physio_core.sets.evaluate`'s recordings: one
subject's two sets, two movements with a 1 or 5 s pause or, one in three, one movement with a
30 s rest; and each recording's first set alone). Each goes through both paths:
- before: the whole recording assessed (``finish_sequence``), then split (``split_sets``), each
  set assessed again, the whole's assessment thrown away;
- after: the whole counted but not assessed (``scored=False``), then ``sets_or_whole``: each set
  assessed, or the whole when it is one set.
Prints the seconds of each path (median and total) and whether both give the same sets, reps,
labels, scores and verdicts. The pose estimation before this is the same in both and is left out.
24 recordings took 7 min here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from physio_core.datasets.continuous import uiprmd_sets  # noqa: E402
from physio_core.pipeline import finish_sequence  # noqa: E402
from physio_core.sets import sets_or_whole, split_sets, two_set_recordings  # noqa: E402

ROOT = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ui-prmd"


def recordings(root: Path, n: int, seed: int = 0):
    """(two-set pose, first set's pose) n times, as ``sets.evaluate`` draws them."""
    singles = list(uiprmd_sets(root, correct=None, seed=seed))
    for pose, a, _ in two_set_recordings(singles, n, seed):
        yield pose, a.pose

def same(a, b) -> bool:
    return ((a.reps, a.exercise_label, a.metrics, a.feedback, a.rep_assessments, a.all_warnings)
            == (b.reps, b.exercise_label, b.metrics, b.feedback, b.rep_assessments, b.all_warnings)
            and np.array_equal(a.pose.joints, b.pose.joints))


def before(pose):
    whole = finish_sequence(pose, backend="uiprmd-kinect", smooth=False)
    return split_sets(whole)


def after(pose):
    return sets_or_whole(finish_sequence(pose, backend="uiprmd-kinect", smooth=False, scored=False))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ui-prmd", type=Path, default=ROOT)
    ap.add_argument("--recordings", type=int, default=24)
    args = ap.parse_args()
    rows = {"two sets": [], "one set": []}
    before(next(recordings(args.ui_prmd, 1))[1])  # models loaded before timing
    for two, one in recordings(args.ui_prmd, args.recordings):
        for kind, pose in (("two sets", two), ("one set", one)):
            t0 = time.perf_counter()
            old = before(pose)
            t1 = time.perf_counter()
            new = after(pose)
            t2 = time.perf_counter()
            agree = len(old) == len(new) and all(same(a, b) for a, b in zip(old, new))
            rows[kind].append((float(pose.times[-1] - pose.times[0]), t1 - t0, t2 - t1, len(new), agree))
    print("| recordings | n | mean length (s) | sets found (mean) | before: median s (total) "
          "| after: median s (total) | same outcome |")
    print("|---|---|---|---|---|---|---|")
    for kind, r in rows.items():
        length, b, a, n_sets, agree = (np.array(c) for c in zip(*r))
        print(f"| {kind} | {len(r)} | {length.mean():.0f} | {n_sets.mean():.2f} | {np.median(b):.2f} ({b.sum():.0f}) "
              f"| {np.median(a):.2f} ({a.sum():.0f}) | {int(agree.sum())} of {len(r)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
