"""The live count on "auto" (no exercise picked), with the exercise recognised as the live page does.

    python scripts/experiments/live_auto_counts.py [--limit N]

Each subject's first ten reps of a movement (correct, then incorrect), joined with pauses (160
sets, `live_count_falls.ten_rep_sets`), streamed as a live session streams them: the poses
One-Euro filtered, their angles into the streaming counter with the poses, and every
`LiveConfig.recognise_every_s` the exercise recognised in the last `recognise_window_s` of the
stream (`assess.recognise_window`, the shipped classifier), the reading handed to the counter as
`LiveSession` hands it (`live.suggest_exercise`).
Prints, per movement and in all: the count shown 1 s after each true rep end (share exact, mean
|count - true|), sets with a fall of the count, and the count at the end (exact, within one).
Rep verdicts are not computed (they do not steer the count). About 10 min on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from physio_core.assess import recognise_window  # noqa: E402
from physio_core.filters import OneEuroFilter  # noqa: E402
from physio_core.kinematics import compute_angles_frame  # noqa: E402
from physio_core.live import LiveConfig  # noqa: E402
from physio_core.reps import StreamingRepCounter  # noqa: E402
from live_count_falls import ten_rep_sets  # noqa: E402


def stream(seq, cfg: LiveConfig) -> np.ndarray:
    """The count shown at each frame."""
    import physio_core.live as live

    one_euro = OneEuroFilter(min_cutoff=1.0, beta=0.3)  # the live session's joint filter
    counter = StreamingRepCounter(seq.fps)
    due, recognised, counts = 0.0, None, []
    for i, t in enumerate(seq.times):
        joints = one_euro(seq.joints[i].reshape(-1), float(t)).reshape(seq.joints[i].shape)
        counts.append(counter.update(compute_angles_frame(joints, seq.confidence[i]), float(t), joints))
        if t >= due:
            due = t + cfg.recognise_every_s
            if hasattr(live, "suggest_exercise"):
                live.suggest_exercise(counter, recognised)
            else:  # before 2026-12-06
                counter.suggest(recognised.exercise if recognised is not None and not recognised.unsure else None)
            first = int(np.searchsorted(seq.times, t - cfg.recognise_window_s))
            recognised = recognise_window(seq.slice(first, i + 1))
    return np.asarray(counts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N sets (a quick look)")
    args = ap.parse_args()
    cfg = LiveConfig()
    rows = []
    for movement, subject, correct, seq, bounds in ten_rep_sets():
        if args.limit and len(rows) >= args.limit:
            break
        counts = stream(seq, cfg)
        at = [min(end + int(seq.fps), len(seq) - 1) for _, end in bounds]
        errors = [abs(int(counts[f]) - (j + 1)) for j, f in enumerate(at)]
        rows.append((movement, errors, bool((np.diff(counts) < 0).any()), int(counts[-1]) - len(bounds)))
        print(f"{movement:45} s{subject} {'correct' if correct else 'incorrect':9} end {counts[-1]:2d} "
              f"of {len(bounds)}  falls {int((np.diff(counts) < 0).sum())}", file=sys.stderr, flush=True)
    print(f"{'movement':45} {'sets':>4} {'exact 1 s after each rep':>24} {'mean |err|':>10} {'with a fall':>11} "
          f"{'end exact':>9} {'end ±1':>6}")
    for name in [*sorted({r[0] for r in rows}), "all"]:
        mine = [r for r in rows if name in ("all", r[0])]
        err = np.concatenate([r[1] for r in mine])
        end = np.array([r[3] for r in mine])
        print(f"{name:45} {len(mine):4d} {np.mean(err == 0):24.3f} {err.mean():10.3f} {sum(r[2] for r in mine):11d} "
              f"{np.mean(end == 0):9.3f} {np.mean(np.abs(end) <= 1):6.3f}")


if __name__ == "__main__":
    main()
