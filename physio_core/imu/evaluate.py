"""Evaluate the IMU path on a MetaMotion folder: lift accuracy and rep counts against the protocol.

    python -m physio_core.imu.evaluate [DIR] [--cv]

Rep figures are over the lifting sets (rest sets are reported apart, in imu_rest_zero) and use
the lift the classifier predicted, as the product does; ``*_true_lift`` use the labelled lift.
Held-in (default) uses the shipped model, which was trained on these very sets; ``--cv`` refits
the classifier leaving each participant out in turn (rep counting has no fitted part, only its
lift input changes).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from physio_core.config import PROJECT_ROOT
from physio_core.imu.classifier import LiftClassifier, default_model_path
from physio_core.imu.io import LABELS, list_sets
from physio_core.imu.reps import count_reps
from physio_core.imu.train import SEED

DEFAULT_DIR = PROJECT_ROOT.parent / "shared" / "datasets" / "metamotion-imu"


def _frac(x: list[bool]) -> float:
    return round(float(np.mean(x)), 4) if x else 0.0


def evaluate_imu(directory: str | Path = DEFAULT_DIR, *, cv: bool = False,
                 model_path: str | Path | None = None) -> dict:
    directory = Path(directory)
    sets = list_sets(directory)
    if not sets:
        raise FileNotFoundError(f"no MetaMotion sets in {directory}")
    n_files = len(list_sets(directory, dedupe=False))
    series = [s.load() for s in sets]
    truth = [s.lift for s in sets]
    participants = np.array([s.participant for s in sets])

    if cv:
        proto = LiftClassifier(seed=SEED)
        feats = [proto.featurize(x) for x in series]
        predicted = [""] * len(sets)
        for p in sorted(set(participants)):
            train = np.where(participants != p)[0]
            model = LiftClassifier(seed=SEED).fit([feats[i] for i in train], [truth[i] for i in train])
            for i in np.where(participants == p)[0]:
                predicted[i] = model.predict(feats[i])
        model_desc = "leave-one-participant-out refits (seed %d)" % SEED
    else:
        path = Path(model_path) if model_path else default_model_path()
        model = LiftClassifier.load(path)
        predicted = [model.predict(x) for x in series]
        model_desc = f"shipped model {path.name} (trained on these sets)"

    rows = []
    for s, x, pred in zip(sets, series, predicted):
        counted = count_reps(x, pred).count
        counted_true = count_reps(x, s.lift).count
        rows.append({
            "set": s.name, "participant": s.participant, "lift": s.lift, "predicted": pred,
            "expected_reps": s.expected_reps, "counted": counted, "counted_true_lift": counted_true,
        })
    lifting = [r for r in rows if r["lift"] != "rest"]
    rest = [r for r in rows if r["lift"] == "rest"]
    err = [r["counted"] - r["expected_reps"] for r in lifting]
    err_true = [r["counted_true_lift"] - r["expected_reps"] for r in lifting]

    per_lift = {}
    for lift in LABELS:
        rs = [r for r in rows if r["lift"] == lift]
        if not rs:
            continue
        per_lift[lift] = {
            "n_sets": len(rs),
            "lift_accuracy": _frac([r["predicted"] == lift for r in rs]),
            "rep_exact": _frac([r["counted"] == r["expected_reps"] for r in rs]),
            "rep_within1": _frac([abs(r["counted"] - r["expected_reps"]) <= 1 for r in rs]),
        }
    per_participant = {
        p: {
            "n_sets": int((participants == p).sum()),
            "lift_accuracy": _frac([r["predicted"] == r["lift"] for r in rows if r["participant"] == p]),
        }
        for p in sorted(set(participants))
    }
    confusion = Counter(f"{r['lift']}->{r['predicted']}" for r in rows if r["lift"] != r["predicted"])
    return {
        "mode": "leave-one-participant-out" if cv else "held-in",
        "model": model_desc,
        "data": directory.name,
        "participants": sorted(set(participants.tolist())),
        "n_file_pairs": n_files,
        "n_sets": len(sets),
        "n_duplicate_sets_dropped": n_files - len(sets),
        "n_lifting_sets": len(lifting),
        "n_rest_sets": len(rest),
        "imu_lift_accuracy": _frac([r["predicted"] == r["lift"] for r in rows]),
        "imu_rep_exact": _frac([e == 0 for e in err]),
        "imu_rep_within1": _frac([abs(e) <= 1 for e in err]),
        "imu_rep_mae": round(float(np.mean(np.abs(err))), 4) if err else 0.0,
        "imu_rep_exact_true_lift": _frac([e == 0 for e in err_true]),
        "imu_rep_within1_true_lift": _frac([abs(e) <= 1 for e in err_true]),
        "imu_rest_zero": _frac([r["counted"] == 0 for r in rest]),
        "per_lift": per_lift,
        "per_participant": per_participant,
        "misclassified": dict(sorted(confusion.items())),
        "sets": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory", nargs="?", default=str(DEFAULT_DIR))
    ap.add_argument("--cv", action="store_true", help="leave-one-participant-out for the classifier")
    ap.add_argument("--model", default=None, help="model file (default: the shipped one)")
    ap.add_argument("--sets", action="store_true", help="include the per-set rows")
    args = ap.parse_args(argv)
    try:
        result = evaluate_imu(args.directory, cv=args.cv, model_path=args.model)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.sets:
        result.pop("sets")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
