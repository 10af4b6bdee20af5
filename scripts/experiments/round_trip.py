"""Does a rep come back to where it started? A check against one-way movements counted as reps.

    python scripts/experiments/round_trip.py [--out DIR] [--shipped] [SUBJECT ...]

The learned rep detector reads poses, not a return to rest: in `rep_tempo.py`'s "no exercise"
set the app counted reps in 38 of 80 slow one-way transitions (a blend from one pose to
another), nearly all the detector's. The angle counter needs its angle to come back down, but
an angle can rise and fall while the body moves one way. For each rep the statistic is its gap
(`reps.rep_gap`): how far the body ends from where it began, over how far it moved, both on
`reps.rep_motion`'s paths (pelvis-relative, 3 Hz low-pass). End poses are the median of the
rep's first and last 10 % of frames; the gap is the largest joint displacement between them over
the largest joint spread (5th-95th percentile) within the rep. About 0 for a rep that returns,
about 1 for a straight one-way move.

Per held-out subject (leave-one-subject-out, the detector weights of `rep_tempo.py`'s shipped
variant, trained into DIR/tempo3_s12 when absent): the reps of both counters that pass the
noise floor and the motion check, on the scoring sets at 1x, 2x and 3x and on the 40 "no
exercise" sequences (each counted as one of the ten movements, as `rep_tempo.py` does). Prints
the gap's distribution on real and invented reps, then the app's count with reps above each
candidate gap dropped: the detector's only, then both counters' (inf: no gap check).

The joint gap alone also drops real reps in which one joint ends elsewhere while the body comes
back (a tracker jump of a wrist or a knee). The last table drops a rep only when its body gap
(`reps.rep_body_gap`: all joints' displacements over all joints' spreads) is also above a
candidate, with the joint gap above reps.MAX_REP_GAP: the app's rule, with reps.MAX_BODY_GAP.
With --shipped every subject is counted by the shipped detector (models/rep_detector.pt, which
has seen them: its counts are near perfect, so what a check costs shows plainly) instead of
fold weights. About 8 min when the fold weights exist (1 min each to train).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from _folds import fold_args  # noqa: E402
from rep_tempo import OTHER_KINDS, SPEEDS, VARIANTS  # noqa: E402

import physio_core.reps as R  # noqa: E402
from physio_core.kinematics import ANGLE_NAMES, angles_from_joints  # noqa: E402
from physio_core.config import get_settings  # noqa: E402
from physio_core.ml import repcount, suite  # noqa: E402
from physio_core.ml.data import CLASS_NAMES, FPS, Augment, load_uiprmd, other_samples  # noqa: E402
from physio_core.ml.repcount import RepConfig, RepDetector, speed_up  # noqa: E402
from physio_core.results import AngleSeries  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402

VARIANT = "tempo3_s12"
GAPS = (np.inf, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


def moving(reps: list, joints: np.ndarray) -> list:
    """The reps that pass the motion check (`reps.MIN_REP_MOTION`)."""
    return [r for r, m in zip(reps, R.rep_motion(joints, reps, FPS)) if not m < R.MIN_REP_MOTION]


def counted(detector: RepDetector, joints: np.ndarray, movement: int):
    """The number of the angle counter's reps, and the gaps of the detector's and the angle
    counter's reps, that pass the noise floor and the motion check (before the gap check)."""
    angles = AngleSeries(ANGLE_NAMES, angles_from_joints(joints), np.arange(len(joints)) / FPS)
    name = CLASS_NAMES[movement]
    principal = R.choose_principal_angle(angles, exercise=name)
    by_angle = moving(R.count_reps(angles, angle=principal, fps=FPS, exercise=name), joints)
    floor = R.noise_floor_deg(principal)
    other = [r for r in R.reps_at(detector.segment(joints, FPS), angles, principal, FPS)
             if np.isnan(r.rom_deg) or r.rom_deg >= floor]
    other = moving(other, joints)
    return (len(by_angle), R.rep_gap(joints, other, FPS), R.rep_gap(joints, by_angle, FPS),
            R.rep_body_gap(joints, other, FPS), R.rep_body_gap(joints, by_angle, FPS))


def fold(out: Path, s: int, reps, shipped: RepDetector | None = None) -> dict:
    """Subject ``s`` counted by ``shipped``, or by its fold's weights (trained when absent)."""
    path = out / VARIANT / f"fold{s}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if shipped is not None:
        model = shipped
    elif path.exists():
        model = RepDetector.load(path)
    else:
        model = RepDetector(RepConfig(**VARIANTS[VARIANT])).fit([r for r in reps if r.subject != s])
        model.save(path)
    rng = np.random.default_rng(suite.SCORE_SEED)
    sets = repcount.build_sets([r for r in reps if r.subject == s], rng, per_group=2, augment=False)
    res: dict = {f: [] for f in SPEEDS}
    for joints, spans, k, movement in sets:
        for f in SPEEDS:
            j, _ = speed_up(joints, spans, f)
            res[f].append((k, *counted(model, j, movement)))
    rng = np.random.default_rng(suite.SCORE_SEED + 1)  # rep_tempo.py's "no exercise" draw
    aug = Augment()
    others = [aug(j, rng, time_warp=False)
              for j in other_samples([r for r in reps if r.subject == s], rng, 40, length=300)]
    res["other"] = [(0, *counted(model, j, i % 10)) for i, j in enumerate(others)]
    print(f"  subject {s} done", flush=True)
    return res


def app_count(c: tuple, limit: float, both: bool, body: float = -np.inf) -> int:
    """The app's count of one sequence with detector reps (and with ``both`` the angle
    counter's too) whose gap is above ``limit`` and body gap above ``body`` dropped."""
    _, n_angle, g, ga, b, ba = c
    kept = ~((g > limit) & (b > body))
    kept_angle = ~((ga > limit) & (ba > body))
    return max(int(kept_angle.sum()) if both else n_angle, int(kept.sum()))


def main() -> None:
    args = fold_args(__doc__, "rep_tempo",  # shares rep_tempo.py's fold weights
                     lambda ap: ap.add_argument("--shipped", action="store_true"))
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    shipped = RepDetector.load(get_settings().model_dir / suite.FILES["rep"]) if args.shipped else None
    per = [fold(args.out, s, reps, shipped)
           for s in args.subjects or sorted({r.subject for r in reps})]
    print("detector:", "the shipped weights (held-in)" if args.shipped
          else f"{VARIANT} fold weights (leave-one-subject-out)")
    real = {f: [c for p in per for c in p[f]] for f in SPEEDS}
    other = [c for p in per for c in p["other"]]
    pct = (50, 90, 95, 99, 100)
    for f in SPEEDS:
        g = np.concatenate([c[2] for c in real[f]])
        print(f"real {f:g}x: {len(g)} detector reps, gap percentiles {pct}: "
              f"{np.round(np.nanpercentile(g, pct), 2).tolist()}")
        ga = np.concatenate([c[3] for c in real[f]])
        print(f"real {f:g}x: {len(ga)} angle reps,    gap percentiles {pct}: "
              f"{np.round(np.nanpercentile(ga, pct), 2).tolist()}")
    for i, kind in enumerate(OTHER_KINDS):
        g = np.concatenate([c[2] for c in other[i::4]])
        print(f"no exercise, {kind:10s}: {len(g):4d} detector reps, gap percentiles "
              f"{np.round(np.nanpercentile(g, (0, 5, 10, 25, 50)), 2).tolist() if len(g) else []}"
              " (0, 5, 10, 25, 50)")
    rules = [(f"dropped above the gap: {'both counters' if both else 'detector'} reps", both,
              [(limit, -np.inf) for limit in GAPS]) for both in (False, True)]
    rules.append((f"both counters' reps dropped when the gap is above {R.MAX_REP_GAP:g} and the "
                  "body gap above", True,
                  [(R.MAX_REP_GAP, body) for body in (np.inf, 0.7, 0.6, 0.55, 0.5, 0.45, 0.4, 0.0)]))
    for title, both, cands in rules:
        print(title)
        print(f"{'gap':>5s} {'body':>5s} | {'OBO 1x':>6s} {'MAE 1x':>6s} {'exact':>6s} {'OBO 2x':>6s} "
              f"{'exact':>6s} {'OBO 3x':>6s} {'exact':>6s} | no exercise counted, per kind")
        for limit, body in cands:
            cells = []
            for f in SPEEDS:
                t = np.array([c[0] for c in real[f]], float)
                p = np.array([app_count(c, limit, both, body) for c in real[f]], float)
                cells.append((np.mean(np.abs(p - t) <= 1), np.mean(np.abs(p - t) / t),
                              np.mean(p == t)))
            o = np.array([app_count(c, limit, both, body) for c in other])
            kinds = ", ".join(f"{k} {(o[i::4] > 0).sum()}/{len(o[i::4])}"
                              for i, k in enumerate(OTHER_KINDS))
            print(f"{limit:5.2f} {body:5.2f} | {cells[0][0]:6.3f} {cells[0][1]:6.3f} "
                  f"{cells[0][2]:6.3f} {cells[1][0]:6.3f} {cells[1][2]:6.3f} {cells[2][0]:6.3f} "
                  f"{cells[2][2]:6.3f} | {(o > 0).sum()}/{len(o)} ({kinds})")


if __name__ == "__main__":
    main()
