"""Would fusing models help? Leave-one-subject-out, on the same folds as `evaluate --cv`.

    python scripts/experiments/fusion_loso.py [--out DIR] [SUBJECT ...]

For each held-out subject it trains the classifier, the mistake GCN and the judge on the other
subjects (about 4.5 min per fold) and keeps their probabilities on the held-out reps in
DIR/foldS.npz (an existing file is reused), then prints:
- movement accuracy of the classifier alone, the GCN's movement part alone, and their average
  at a few weights (the GCN has no "other": its movement probabilities share 1 - P(other));
- correct-vs-incorrect macro accuracy of the GCN alone and averaged with the judge.
The shipped app uses neither fusion: on 2026-11-30 none of them gained (see the model cards).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from _folds import fold_args  # noqa: E402

from physio_core.ml import suite  # noqa: E402
from physio_core.ml.data import OTHER, Augment, load_uiprmd, other_samples  # noqa: E402
from physio_core.ml.gcn import correction_targets, rep_input  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402


def run_folds(out: Path, held: list[int]) -> None:
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    targets = None
    for s in held or sorted({r.subject for r in reps}):
        path = out / f"fold{s}.npz"
        if path.exists():
            continue
        if targets is None:
            targets = correction_targets(reps, [rep_input(r.joints) for r in reps])
        t0 = time.time()
        tr = [i for i, r in enumerate(reps) if r.subject != s]
        te = [r for r in reps if r.subject == s]
        m = suite.train_all([reps[i] for i in tr], [targets[i] for i in tr],
                            only={"classifier", "gcn", "judge"})
        rng = np.random.default_rng(suite.SCORE_SEED)  # the same "other" windows as score_all
        joints = [r.joints for r in te]
        pg, fixed = m.gcn.correct(joints)
        aug = Augment()
        others = [aug(j, rng, time_warp=False) for j in other_samples(te, rng, 40)]
        moves = [r.movement for r in te]
        np.savez(path, pc=m.classifier.predict_proba(joints), pg=pg,
                 oc=m.classifier.predict_proba(others), og=m.gcn.correct(others)[0],
                 jp=m.judge.prob_correct(joints, moves), jfix=m.judge.prob_correct(fixed, moves),
                 move=np.array(moves), correct=np.array([r.correct for r in te]))
        print(f"fold s{s:02d} done in {time.time() - t0:.0f} s", flush=True)


def gcn_movement(p20: np.ndarray) -> np.ndarray:
    return p20.reshape(len(p20), OTHER, 2).sum(2)


def fuse(p11: np.ndarray, p20: np.ndarray, w: float) -> np.ndarray:
    p_other = p11[:, OTHER:]
    moves = (1 - w) * p11[:, :OTHER] + w * (1 - p_other) * gcn_movement(p20)
    return np.concatenate([moves, p_other], 1)


def report(out: Path) -> None:
    folds = sorted(out.glob("fold*.npz"))
    d = {k: np.concatenate([np.load(f)[k] for f in folds]) for k in np.load(folds[0]).files}
    move, ok = d["move"], d["correct"].astype(bool)
    print(f"{len(folds)} folds, {len(move)} reps")

    def row(name: str, reps_p: np.ndarray, other_p: np.ndarray) -> None:
        pred = reps_p.argmax(1)
        print(f"{name:<34} movement {np.mean(pred == move):.4f} ({int(np.sum(pred != move))} errors)"
              f"   synthetic 'other' recognised {np.mean(other_p.argmax(1) == OTHER):.3f}")

    row("classifier alone", d["pc"], d["oc"])
    print(f"{'GCN movement part alone':<34} movement {np.mean(gcn_movement(d['pg']).argmax(1) == move):.4f}")
    for w in (0.3, 0.5, 0.7):
        row(f"classifier + GCN, GCN weight {w}", fuse(d["pc"], d["pg"], w), fuse(d["oc"], d["og"], w))

    def macro(p_bad: np.ndarray) -> float:
        return 0.5 * (np.mean(p_bad[ok] < 0.5) + np.mean(p_bad[~ok] >= 0.5))

    gcn_bad = d["pg"].reshape(len(move), OTHER, 2)[:, :, 1].sum(1)
    print(f"{'correct-vs-incorrect, GCN alone':<34} macro {macro(gcn_bad):.4f}")
    print(f"{'  judge alone':<34} macro {macro(1 - d['jp']):.4f}")
    print(f"{'  GCN and judge averaged':<34} macro {macro(0.5 * gcn_bad + 0.5 * (1 - d['jp'])):.4f}")
    print(f"{'incorrect reps judged correct after correction':<34} {np.mean(d['jfix'][~ok] >= 0.5):.4f}")


def main() -> None:
    args = fold_args(__doc__, "fusion_loso")
    run_folds(args.out, args.subjects)
    report(args.out)


if __name__ == "__main__":
    main()
