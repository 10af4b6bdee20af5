"""How the models' assessment of a recorded set grows with its reps.

    python scripts/experiments/assess_time.py [--reps 10 30 60 100] [--repeat 3] [--out FILE]

A set of N real UI-PRMD deep squats (subject 1's correct and incorrect reps taken in turn, each
rep file used again once all are used, joined with the pauses of `datasets.continuous`) is
counted as an upload counts it, then assessed by the shipped models (`pipeline.add_assessment`:
each rep's label, stability against the set's other reps, mistake and correction). That is the
work after the pose of an upload, and of a live session at STOP. Prints the median seconds of
the assessment per set length; ``--out`` keeps every rep's verdict (JSON), to check that two
versions of the code give the same.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from physio_core.datasets.continuous import concatenate_reps  # noqa: E402
from physio_core.datasets.uiprmd import list_reps  # noqa: E402
from physio_core.pipeline import add_assessment, finish_sequence  # noqa: E402

ROOT = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ui-prmd"


def squats(root: Path, n: int):
    files = sorted((r for r in list_reps(root) if r.movement_name == "deep_squat" and r.subject == 1),
                   key=lambda r: (r.episode, r.correct))
    poses = [r.load() for r in files]
    pose, _ = concatenate_reps([poses[k % len(poses)] for k in range(n)], rng=0)
    return pose


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ui-prmd", type=Path, default=ROOT)
    ap.add_argument("--reps", type=int, nargs="+", default=[10, 30, 60, 100])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    kept = {}
    print("| reps in the set | reps counted | set length (s) | assessment: median s | per rep (ms) |")
    print("|---|---|---|---|---|")
    add_assessment(finish_sequence(squats(args.ui_prmd, 3), backend="uiprmd-kinect", smooth=False, scored=False))
    for n in args.reps:
        counted = finish_sequence(squats(args.ui_prmd, n), backend="uiprmd-kinect", smooth=False, scored=False)
        runs = []
        for _ in range(args.repeat):
            result = finish_sequence(counted.pose, backend="uiprmd-kinect", smooth=False, scored=False)
            t0 = time.perf_counter()
            add_assessment(result)
            runs.append(time.perf_counter() - t0)
        s = float(np.median(runs))
        k, length = len(result.reps), result.pose.times[-1] - result.pose.times[0]
        print(f"| {n} | {k} | {length:.0f} | {s:.2f} | {1e3 * s / max(k, 1):.0f} |")
        kept[n] = {"rep_assessments": result.rep_assessments, "metrics": result.metrics, "feedback": result.feedback}
    if args.out:
        args.out.write_text(json.dumps(kept, indent=1, sort_keys=True, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
