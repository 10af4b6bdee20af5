"""Which synthetic "other" (no exercise) kind makes the exercise classifier call real reps "other"?

    python scripts/experiments/other_kinds.py [--out DIR] [--variant NAME ...] [SUBJECT ...]

The classifier learns "other" from four synthetic kinds (`data.other_samples`): (a) standing
still, (b) fidgeting, (c) a slow blend between poses of two movements, (d) a small (10-25 %)
start of a rep between long holds. About 21 of its ~50 leave-one-subject-out errors are real
reps called "other". For each variant (the kinds left out of training) and held-out subject it
trains the classifier exactly as `evaluate --cv` does, except for those kinds, keeps the
probabilities in DIR/VARIANT/foldS.npz (reused when present) and prints, pooled over the folds:
movement accuracy, real reps called "other", accuracy over the ten movements only, and how
often each kind of the held-out subject's synthetic "other" windows (the same windows as
`evaluate`, all four kinds) is recognised. About 2 min per fold and variant.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from _folds import fold_args  # noqa: E402

from physio_core.ml import classifier, suite  # noqa: E402
from physio_core.ml.classifier import ExerciseClassifier  # noqa: E402
from physio_core.ml.data import OTHER, Augment, load_uiprmd, other_samples  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402

KINDS = "abcd"
VARIANTS = {"all": "", "no_d": "d", "no_c": "c", "no_cd": "cd"}


def samples_without(dropped: str):
    """other_samples with the ``dropped`` kinds left out (the same number of windows)."""
    keep = [i for i in range(len(KINDS)) if KINDS[i] not in dropped]

    def make(reps, rng, n, length=90):
        per = -(-n * len(KINDS) // len(keep))
        out = other_samples(reps, rng, per, length)
        return [j for i, j in enumerate(out) if i % len(KINDS) in keep][:n]

    return make


def run_folds(out: Path, variant: str, held: list[int]) -> None:
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    classifier.other_samples = samples_without(VARIANTS[variant])
    (out / variant).mkdir(parents=True, exist_ok=True)
    for s in held or sorted({r.subject for r in reps}):
        path = out / variant / f"fold{s}.npz"
        if path.exists():
            continue
        t0 = time.time()
        model = ExerciseClassifier().fit([r for r in reps if r.subject != s])
        te = [r for r in reps if r.subject == s]
        rng = np.random.default_rng(suite.SCORE_SEED)  # the same "other" windows as score_all
        aug = Augment()
        others = [aug(j, rng, time_warp=False) for j in other_samples(te, rng, 40)]
        np.savez(path, p=model.predict_proba([r.joints for r in te]),
                 po=model.predict_proba(others), move=np.array([r.movement for r in te]))
        print(f"{variant} fold s{s:02d} done in {time.time() - t0:.0f} s", flush=True)
    classifier.other_samples = other_samples


def report(out: Path, variant: str) -> None:
    folds = sorted((out / variant).glob("fold*.npz"))
    if not folds:
        return
    d = {k: np.concatenate([np.load(f)[k] for f in folds]) for k in ("p", "po", "move")}
    pred, move = d["p"].argmax(1), d["move"]
    ten = d["p"][:, :OTHER].argmax(1)
    kind = np.arange(len(d["po"])) % 40 % len(KINDS)  # 40 windows per fold, kinds in turn
    rec = d["po"].argmax(1) == OTHER
    per_kind = "  ".join(f"{k} {rec[kind == i].mean():.2f}" for i, k in enumerate(KINDS))
    print(f"{variant:<6} {len(folds)} folds  movement {np.mean(pred == move):.4f} "
          f"({int(np.sum(pred != move))} errors, {int(np.sum(pred == OTHER))} called other)  "
          f"ten only {np.mean(ten == move):.4f}  'other' recognised {rec.mean():.3f} ({per_kind})")


def main() -> None:
    args = fold_args(__doc__, "other_kinds",
                     lambda ap: ap.add_argument("--variant", action="append", choices=sorted(VARIANTS)))
    for v in args.variant or ["all", "no_d"]:
        run_folds(args.out, v, args.subjects)
    for v in VARIANTS:
        report(args.out, v)


if __name__ == "__main__":
    main()
