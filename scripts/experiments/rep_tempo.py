"""Does training the rep detector on faster sets let it count fast reps, without losing slow ones?

    python scripts/experiments/rep_tempo.py [--out DIR] [--variant NAME ...] [SUBJECT ...]

UI-PRMD reps take 1.7-3.9 s and the detector trains with time warps of 0.75-1.35x only; on the
test clip's arm raises (under a second each) it counted 1 of 3 (models/rep_detector.md). A
variant trains on sets sped up as a whole by a tempo drawn log-uniformly from its range (the
athlete does the whole set faster: reps and pauses). For each variant and held-out subject it
trains the detector on the other subjects (weights kept in DIR/VARIANT/foldS.pt, reused when
present) and counts the held-out subject's scoring sets (built as `evaluate` builds them)
at their own tempo and sped up 2x and 3x. Counters: "net" the detector, "angle" the
principal-angle counter told the movement, "app" the larger of the two as the app keeps it
(`reps.larger_count`, with the standing-still checks: angle noise floors and motion).
"No exercise": 40 synthetic 10 s sequences per held-out subject (standing still, fidgeting,
transitions, a small start of a rep: 10 of each), each counted as if a movement had been named:
how many reps each counter invents, in all and per kind. It also counts the camera clip
tests/data/sports2d_demo.mp4 (3 arm raises; its MediaPipe pose is cached in DIR/clip.npz) with
each fold's model. About 1 min per fold and variant (training 10-30 s of it).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from _folds import fold_args  # noqa: E402

from physio_core.ml import repcount, suite  # noqa: E402
from physio_core.ml.data import Augment, load_uiprmd, other_samples  # noqa: E402
from physio_core.ml.repcount import RepConfig, RepDetector, speed_up  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "data" / "sports2d_demo.mp4"
# the detector before 2026-12-01 (2 sets per group, UI-PRMD's tempo, 0.6 s between peaks)
_OLD = {"sets_per_group": 2, "tempo": (1.0, 1.0), "min_distance_s": 0.6}
VARIANTS = {
    "base": _OLD,
    "tempo3": {**_OLD, "tempo": (1.0, 3.0), "min_distance_s": 0.35},
    "tempo3_e12": {**_OLD, "tempo": (1.0, 3.0), "min_distance_s": 0.35, "epochs": 12},
    "tempo3_s6": {**_OLD, "tempo": (1.0, 3.0), "min_distance_s": 0.35, "sets_per_group": 6},
    "s6": {**_OLD, "sets_per_group": 6},
    "tempo3_s12": {},  # RepConfig's defaults since 2026-12-01: shipped
}
SPEEDS = (1.0, 2.0, 3.0)


def clip_pose(out: Path) -> tuple[np.ndarray, float]:
    """(joints, fps) of the camera clip, analysed once (NaN where nobody is seen)."""
    path = out / "clip.npz"
    if not path.exists():
        from physio_core.pipeline import analyze_video

        r = analyze_video(CLIP, exercise="standing_shoulder_abduction")
        np.savez(path, joints=r.pose.joints, fps=r.pose.fps)
    with np.load(path) as z:
        return z["joints"], float(z["fps"])


OTHER_KINDS = ("still", "fidget", "transition", "partial")  # other_samples' kinds, in turn


def counts(model: RepDetector, joints: np.ndarray, movement: int) -> tuple[int, int, int]:
    """The detector's, the angle counter's and the app's count of one sequence."""
    found, n_angle, n_app = suite.rep_counts(model, joints, movement)
    return len(found), n_angle, n_app


def run_fold(out: Path, variant: str, s: int, reps, clip) -> dict:
    path = out / variant / f"fold{s}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        model = RepDetector.load(path)
    else:
        t0 = time.time()
        model = RepDetector(RepConfig(**VARIANTS[variant])).fit([r for r in reps if r.subject != s])
        model.save(path)
        print(f"  {variant} fold {s}: trained in {time.time() - t0:.0f} s", flush=True)
    rng = np.random.default_rng(suite.SCORE_SEED)
    sets = repcount.build_sets([r for r in reps if r.subject == s], rng, per_group=2, augment=False)
    res: dict = {"true": [], "sets": len(sets)}
    for f in SPEEDS:
        res[f"net{f:g}"], res[f"angle{f:g}"], res[f"app{f:g}"] = [], [], []
    for joints, spans, k, movement in sets:
        res["true"].append(k)
        for f in SPEEDS:
            j, _ = speed_up(joints, spans, f)
            for name, c in zip(("net", "angle", "app"), counts(model, j, movement)):
                res[f"{name}{f:g}"].append(c)
    # sequences with no exercise in them (standing still, fidgeting, transitions, a small start
    # of a rep), 10 s each, counted as if the athlete had named each of the ten movements
    rng = np.random.default_rng(suite.SCORE_SEED + 1)
    aug = Augment()
    others = [aug(j, rng, time_warp=False)
              for j in other_samples([r for r in reps if r.subject == s], rng, 40, length=300)]
    res["other_net"], res["other_angle"], res["other_app"] = map(
        list, zip(*(counts(model, j, i % 10) for i, j in enumerate(others))))
    cj, cfps = clip
    rc = model.count(cj, cfps)  # frames without the athlete read as rest
    res["clip"] = rc.count
    res["clip_peaks_s"] = [round(p / cfps, 1) for p in rc.peaks_frame]
    return res


def main() -> None:
    args = fold_args(__doc__, "rep_tempo", lambda ap: ap.add_argument(
        "--variant", action="append", choices=sorted(VARIANTS)))
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    clip = clip_pose(args.out)
    subjects = args.subjects or sorted({r.subject for r in reps})
    print(f"{'variant':12s} {'tempo':>5s} {'counter':8s} {'OBO':>6s} {'MAE':>6s} {'exact':>6s}")
    for v in args.variant or ["base", "tempo3"]:
        per = [run_fold(args.out, v, s, reps, clip) for s in subjects]
        t = np.concatenate([p["true"] for p in per]).astype(float)
        for f in SPEEDS:
            for name in ("net", "angle", "app"):
                p = np.concatenate([q[f"{name}{f:g}"] for q in per]).astype(float)
                print(f"{v:12s} {f:5g} {name:8s} {np.mean(np.abs(p - t) <= 1):6.3f} "
                      f"{np.mean(np.abs(p - t) / t):6.3f} {np.mean(p == t):6.3f}")
        for name in ("net", "angle", "app"):
            o = np.concatenate([q[f"other_{name}"] for q in per])
            kinds = ", ".join(f"{kind} {(o[i::4] > 0).sum()}/{len(o[i::4])}"
                              for i, kind in enumerate(OTHER_KINDS))
            print(f"{v:12s} no exercise: {name} counted {o.sum()} reps in {(o > 0).sum()} of "
                  f"{len(o)} ({kinds})")
        print(f"{v:12s} clip (3 raises): counts {[p['clip'] for p in per]}; "
              f"peaks (s) {[p['clip_peaks_s'] for p in per]}", flush=True)


if __name__ == "__main__":
    main()
