"""Evaluate the IMU path on a MetaMotion folder: lift accuracy and rep counts against the protocol.

    python -m physio_core.imu.evaluate [DIR] [--cv]

Rep figures are over the lifting sets (rest sets are reported apart, in imu_rest_zero) and use
the lift the classifier predicted, as the product does; ``*_true_lift`` use the labelled lift.
Held-in (default) uses the shipped model, which was trained on these very sets; ``--cv`` refits
the classifier leaving each participant out in turn (rep counting has no fitted part, only its
lift input changes). The lift is recognised on the set the counter finds in the recording, as
``analyze_imu`` does.

``imu_edges`` scores recordings that hold more than the set, as a sensor started early and
stopped late records: every lifting set with EDGE_PAD_S seconds before and after it, joined by a
one-second turn of the wrist to the set's posture, either standing still in another posture
(``still``) or a stretch of a rest recording, moving about (``moving``, the folder's rest
recordings, from a fixed seed). Lift and reps are read as the product reads them.
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
from physio_core.imu.io import DEFAULT_RATE_HZ, LABELS, ImuSeries, list_sets
from physio_core.imu.reps import count_reps, set_stretch
from physio_core.imu.train import SEED

DEFAULT_DIR = PROJECT_ROOT.parent / "shared" / "datasets" / "metamotion-imu"


EDGE_PAD_S = 6.0
TURN_S = 1.0


def _frac(x: list[bool]) -> float:
    return round(float(np.mean(x)), 4) if x else 0.0


def wrist_turn(a: ImuSeries, b: ImuSeries, seconds: float = TURN_S) -> ImuSeries:
    """The wrist turning smoothly from the last posture of ``a`` to the first of ``b``: gravity's
    direction rotates (slerp) and its measured size changes linearly; no rotation rate recorded."""
    n = max(2, int(seconds * DEFAULT_RATE_HZ))
    g0, g1 = a.acc[-5:].mean(axis=0), b.acc[:5].mean(axis=0)
    m0, m1 = np.linalg.norm(g0), np.linalg.norm(g1)
    u0, u1 = g0 / m0, g1 / m1
    angle = float(np.arccos(np.clip(u0 @ u1, -1.0, 1.0)))
    w = (1 - np.cos(np.linspace(0, np.pi, n))) / 2
    if angle < 1e-6:
        d = np.outer(1 - w, u0) + np.outer(w, u1)
    else:
        d = (np.sin((1 - w) * angle)[:, None] * u0 + np.sin(w * angle)[:, None] * u1) / np.sin(angle)
    gyr = None if a.gyr is None or b.gyr is None else np.zeros((n, 3))
    return ImuSeries(np.arange(n) / DEFAULT_RATE_HZ, d * ((1 - w) * m0 + w * m1)[:, None], gyr)


def join(parts: list[ImuSeries]) -> ImuSeries:
    """One 25 Hz recording of the parts in turn, a wrist turn between each two."""
    parts = [p.resample(DEFAULT_RATE_HZ) for p in parts]
    joined = [parts[0]]
    for p in parts[1:]:
        joined += [wrist_turn(joined[-1], p), p]
    acc = np.concatenate([p.acc for p in joined])
    gyr = None if any(p.gyr is None for p in joined) else np.concatenate([p.gyr for p in joined])
    return ImuSeries(np.arange(len(acc)) / DEFAULT_RATE_HZ, acc, gyr)


def held_still(seconds: float, down, rng: np.random.Generator) -> ImuSeries:
    """The wrist held still, gravity along ``down``: sensor noise of 0.01 g and 1 deg/s."""
    n = int(seconds * DEFAULT_RATE_HZ)
    g = np.asarray(down, dtype=float)
    acc = g / np.linalg.norm(g) + rng.normal(scale=0.01, size=(n, 3))
    return ImuSeries(np.arange(n) / DEFAULT_RATE_HZ, acc, rng.normal(scale=1.0, size=(n, 3)))


def piece(x: ImuSeries, start: int, seconds: float) -> ImuSeries:
    """``seconds`` of ``x`` from its sample ``start`` (a series on a uniform grid)."""
    n = int(seconds * DEFAULT_RATE_HZ)
    return ImuSeries(x.times[start:start + n], x.acc[start:start + n],
                     None if x.gyr is None else x.gyr[start:start + n])


def padded_sets(lifting: list[ImuSeries], rests: list[ImuSeries], seed: int = SEED) -> dict[str, list[ImuSeries]]:
    """Each set with EDGE_PAD_S s before and after it: still in a random posture, or moving about
    (two stretches of a rest recording, taken in turn)."""
    rng = np.random.default_rng(seed)
    n = int(EDGE_PAD_S * DEFAULT_RATE_HZ)
    out: dict[str, list[ImuSeries]] = {"still": [], "moving": []}
    for k, x in enumerate(lifting):
        still = [held_still(EDGE_PAD_S, rng.normal(size=3), rng) for _ in range(2)]
        out["still"].append(join([still[0], x, still[1]]))
        if rests:
            r = rests[k % len(rests)].resample(DEFAULT_RATE_HZ)
            start = int(rng.integers(0, len(r) - 2 * n))
            out["moving"].append(join([piece(r, start, EDGE_PAD_S), x, piece(r, start + n, EDGE_PAD_S)]))
    return out


def held_out_classifiers(sets: list, series: list[ImuSeries]) -> dict[str, LiftClassifier]:
    """Per participant of ``sets`` (``io.list_sets``, loaded as ``series``), the lift classifier
    fitted on every other participant's recordings (rest ones included), with the shipped
    model's seed: the leave-one-participant-out refits."""
    proto = LiftClassifier(seed=SEED)
    feats = [proto.featurize(x) for x in series]
    return {p: LiftClassifier(seed=SEED).fit([f for s, f in zip(sets, feats) if s.participant != p],
                                             [s.lift for s in sets if s.participant != p])
            for p in sorted({s.participant for s in sets})}


def evaluate_imu(directory: str | Path = DEFAULT_DIR, *, cv: bool = False,
                 model_path: str | Path | None = None) -> dict:
    directory = Path(directory)
    sets = list_sets(directory)
    if not sets:
        raise FileNotFoundError(f"no MetaMotion sets in {directory}")
    n_files = len(list_sets(directory, dedupe=False))
    series = [s.load() for s in sets]
    participants = np.array([s.participant for s in sets])

    lifting = [i for i, s in enumerate(sets) if s.lift != "rest"]
    padded = padded_sets([series[i] for i in lifting], [x for s, x in zip(sets, series) if s.lift == "rest"])
    # every recording to recognise: the sets, then the padded ones (by kind, in the order of lifting)
    recordings = series + [x for kind in padded for x in padded[kind]]
    owner = list(range(len(sets))) + [i for kind in padded for i in lifting[:len(padded[kind])]]

    if cv:
        refits = held_out_classifiers(sets, series)  # each recording read by its owner's refit
        predicted_all = [refits[participants[i]].predict(set_stretch(x)) for x, i in zip(recordings, owner)]
        model_desc = "leave-one-participant-out refits (seed %d)" % SEED
    else:
        path = Path(model_path) if model_path else default_model_path()
        model = LiftClassifier.load(path)
        predicted_all = [model.predict(set_stretch(x)) for x in recordings]
        model_desc = f"shipped model {path.name} (trained on these sets)"
    predicted = predicted_all[:len(sets)]

    edges: dict = {"pad_s": EDGE_PAD_S, "n_sets": len(lifting)}
    at = len(sets)
    for kind, xs in padded.items():
        if not xs:  # no rest recording in the folder to move about with
            continue
        preds = predicted_all[at:at + len(xs)]
        at += len(xs)
        own = [sets[i] for i in lifting[:len(xs)]]
        edges[f"{kind}_lift_accuracy"] = _frac([p == s.lift for p, s in zip(preds, own)])
        edges[f"{kind}_rep_within1"] = _frac(
            [abs(count_reps(x, p).count - s.expected_reps) <= 1 for x, p, s in zip(xs, preds, own)])

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
        "imu_edges": edges,
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
