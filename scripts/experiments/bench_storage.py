"""The bench's database and session-report rows alone, for comparing two versions of the code.

    python scripts/experiments/bench_storage.py [--code CHECKOUT] [--repeat N]

Builds the sessions exactly as `python -m physio_core.bench` does (the test clip's poses,
looped to 60 s for the database rows and to 10 min for the report rows) and runs its
`bench_db` and `bench_report` on them, with the code of CHECKOUT (default: this one), e.g. a
`git worktree` of an older commit. Prints one line per row: name, median, unit, the runs; then
the size of the 10-min session's stored pose and angle payloads as that code writes them.
Run it alternately on two checkouts on the same machine to compare them (about 2 min a run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[2],
                        help="checkout whose physio_core to time")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))

    import json

    from physio_core import bench
    from physio_core.store import codec
    from physio_core.pose.converters import mediapipe_to_canonical

    plan = bench.make_plan(False, args.repeat)
    frames = bench.letterbox_frames(bench.TEST_CLIP, limit=plan.pose_frames)
    poses = [None if lm is None else mediapipe_to_canonical(lm[0], lm[1], bench.BENCH_SIZE)
             for lm in bench.mediapipe_landmarks(frames)]
    figs = bench.bench_db(bench.realistic_result(poses, plan.db_series_s), plan.repeat, plan.db_sessions,
                          plan.roster)
    long = bench.realistic_result(poses, plan.report_s)
    figs += bench.bench_report(long, plan.repeat)
    stored = len(json.dumps(codec.encode_pose(long.pose))) + len(json.dumps(codec.encode_angles(long.angles)))
    print(f"code: {args.code.resolve()}")
    for f in figs:
        runs = ", ".join(f"{r:.1f}" for r in f.runs)
        print(f"{f.name:40s} {f.median:9.1f} {f.unit:12s} runs: {runs}")
    print(f"{'10-min session stored (pose + angles)':40s} {stored / 1e6:9.1f} MB")


if __name__ == "__main__":
    main()
