"""Rep-counter accuracy on UI-PRMD continuous sets (every subject x movement).

    python scripts/eval_reps.py [--dataset ../shared/datasets/ui-prmd] [--incorrect] [--stream]

Each subject's 10 reps of one movement are joined into one continuous set
(physio_core.datasets.continuous, pauses 0.5-2 s, seed 0) and counted offline, once with the
exercise known and once fully automatic; --stream also runs the live counter (slow with no
exercise: it runs every angle). Prints one line per set and the exact-count accuracy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from physio_core.datasets.continuous import uiprmd_sets  # noqa: E402
from physio_core.kinematics import compute_angles  # noqa: E402
from physio_core.reps import StreamingRepCounter, count_reps  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "datasets" / "ui-prmd")
    ap.add_argument("--incorrect", action="store_true", help="the incorrect performances")
    ap.add_argument("--stream", action="store_true", help="also run the live counter")
    args = ap.parse_args()

    exact = {"exercise": [], "auto": [], "stream": []}
    boundary_err = []
    for cs in uiprmd_sets(args.dataset, correct=not args.incorrect):
        angles = compute_angles(cs.pose)
        line = f"m{cs.movement:02d} s{cs.subject:02d} true={cs.n_reps}"
        for mode, ex in (("exercise", cs.movement_name), ("auto", None)):
            reps = count_reps(angles, exercise=ex, fps=cs.pose.fps)
            ok = len(reps) == cs.n_reps
            exact[mode].append(ok)
            line += f" | {mode}: {len(reps)} on {reps[0].angle if reps else '-'}"
            if mode == "exercise" and ok:
                err = [
                    (abs(r.start_frame - s) + abs(r.end_frame - e)) / 2
                    for r, (s, e) in zip(reps, cs.bounds)
                ]
                boundary_err += err
            if not ok:
                line += " MISCOUNT"
            if mode == "exercise" and args.stream:
                sc = StreamingRepCounter(cs.pose.fps, angles.names, exercise=ex)
                for row, t in zip(angles.values, angles.times):
                    sc.update(row, t)
                live = sc.finish()
                same = len(live) == len(reps)
                exact["stream"].append(len(live) == cs.n_reps)
                line += f" (live {len(live)}"
                if same and reps:
                    d = max(max(abs(a.start_frame - b.start_frame), abs(a.end_frame - b.end_frame))
                            for a, b in zip(live, reps))  # fmt: skip
                    line += f", max boundary diff {d} frames"
                line += ")"
        print(line, flush=True)
    for mode, oks in exact.items():
        if oks:
            print(f"{mode:9s} exact count in {sum(oks)}/{len(oks)} sets = {np.mean(oks):.3f}")
    if boundary_err:
        print(f"boundary error (exercise mode, exact sets): median {np.median(boundary_err):.1f} "
              f"frames, 90th percentile {np.percentile(boundary_err, 90):.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
