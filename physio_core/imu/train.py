"""Train the shipped IMU lift classifier (seconds on a laptop CPU).

    python -m physio_core.imu.train [--data DIR] [--out models/imu_lift_classifier.joblib]

Fits on every (de-duplicated) MetaMotion set of the folder with a fixed seed; the same folder
and seed give the same model.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from physio_core.config import PROJECT_ROOT

SEED = 0
DEFAULT_DIR = PROJECT_ROOT.parent / "shared" / "datasets" / "metamotion-imu"


def train(directory: str | Path = DEFAULT_DIR, out: str | Path | None = None, seed: int = SEED) -> dict:
    from physio_core.imu.classifier import LiftClassifier
    from physio_core.imu.io import list_sets

    sets = list_sets(directory)
    if not sets:
        raise FileNotFoundError(f"no MetaMotion sets in {directory}")
    model = LiftClassifier(seed=seed).fit([s.load() for s in sets], [s.lift for s in sets])
    path = model.save(out)
    return {
        "model": str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path),
        "n_sets": len(sets),
        "sets_per_lift": dict(sorted(Counter(s.lift for s in sets).items())),
        "participants": sorted({s.participant for s in sets}),
        "labels": model.labels,
        "seed": seed,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DIR))
    ap.add_argument("--out", default=None, help="default: models/imu_lift_classifier.joblib")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    try:
        summary = train(args.data, args.out, args.seed)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
