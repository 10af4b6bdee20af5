"""Does averaging the mistake GCN's verdict over slightly altered copies of a rep (test-time
augmentation) judge correct vs incorrect better on unseen subjects?

    python scripts/experiments/gcn_tta.py [--out DIR] [SUBJECT ...]

Rep boundaries and camera set-up differ between subjects, so the variants are: the rep trimmed
by a few percent at its start and/or end, the rep with a few frames of its first or last pose
held, a small camera pitch, and longer or shorter limbs. For each held-out subject it trains one
GCN (seed 31, as `evaluate --cv` trains member 0) on the other subjects, keeps it in
DIR/foldS.pt (reused when present) and prints, pooled over the folds, movement accuracy and
correct-vs-incorrect macro accuracy (gcn.read_label) for the rep as it is and for each family of
variants averaged with it. Last, for the rep as it is, the verdict with a threshold on
P(incorrect) per movement instead of 0.5, each chosen on the other subjects' held-out reps (the
networks that scored those reps were trained on this subject, so this leaks a little in its
favour). About 1.5 min per fold to train; scoring takes seconds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from _folds import fold_args  # noqa: E402

from physio_core.ml import suite  # noqa: E402
from physio_core.ml.data import load_uiprmd, rotate, scale_bones  # noqa: E402
from physio_core.ml.gcn import GCNConfig, MistakeGCN, correction_targets, prob_incorrect, read_label, rep_input  # noqa: E402
from physio_core.skeleton import N_JOINTS, J  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402


def trim(j: np.ndarray, head: float, tail: float) -> np.ndarray:
    t = len(j)
    return j[int(round(head * t)): t - int(round(tail * t))]


def hold(j: np.ndarray, head: float, tail: float) -> np.ndarray:
    t = len(j)
    return np.concatenate([np.repeat(j[:1], int(round(head * t)), 0), j,
                           np.repeat(j[-1:], int(round(tail * t)), 0)])


def centred(j: np.ndarray) -> np.ndarray:
    return j - j[:, J.PELVIS: J.PELVIS + 1]


VARIANTS = {
    "trim": [lambda j: trim(j, 0.05, 0), lambda j: trim(j, 0, 0.05), lambda j: trim(j, 0.05, 0.05)],
    "trim10": [lambda j: trim(j, 0.1, 0), lambda j: trim(j, 0, 0.1), lambda j: trim(j, 0.1, 0.1)],
    "hold": [lambda j: hold(j, 0.05, 0), lambda j: hold(j, 0, 0.05), lambda j: hold(j, 0.05, 0.05)],
    "pitch": [lambda j: centred(rotate(j, 0, 4, 0)), lambda j: centred(rotate(j, 0, -4, 0))],
    "limbs": [lambda j: scale_bones(j, np.full(N_JOINTS, 1.05)), lambda j: scale_bones(j, np.full(N_JOINTS, 0.95))],
}
VARIANTS["trim+hold"] = VARIANTS["trim"] + VARIANTS["hold"]
VARIANTS["all"] = [v for k in ("trim", "hold", "pitch", "limbs") for v in VARIANTS[k]]


def main() -> None:
    args = fold_args(__doc__, "gcn_tta")
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    subjects = args.subjects or sorted({r.subject for r in reps})
    targets = None
    probs = {k: [] for k in ["as is", *VARIANTS]}
    label, fold_of = [], []
    for s in subjects:
        path = args.out / f"fold{s}.pt"
        te = [r for r in reps if r.subject == s]
        if path.exists():
            gcn = MistakeGCN.load(path)
        else:
            if targets is None:
                targets = correction_targets(reps, [rep_input(r.joints) for r in reps])
            t0 = time.time()
            tr = [i for i, r in enumerate(reps) if r.subject != s]
            gcn = MistakeGCN(GCNConfig(members=1)).fit([reps[i] for i in tr], [targets[i] for i in tr])
            gcn.save(path)
            print(f"fold s{s:02d} trained in {time.time() - t0:.0f} s", flush=True)
        joints = [r.joints for r in te]
        base = gcn.predict_raw(joints)[0]
        probs["as is"].append(base)
        for name, fns in VARIANTS.items():
            alt = [gcn.predict_raw([f(j) for j in joints])[0] for f in fns]
            probs[name].append(np.mean([base, *alt], 0))
        label.append(np.array([r.label20 for r in te]))
        fold_of.append(np.full(len(te), s))
    label, fold_of = np.concatenate(label), np.concatenate(fold_of)

    def macro(true: np.ndarray, pred: np.ndarray) -> float:
        return suite._macro(true, pred, np.unique(true))[0]

    print(f"folds {subjects}")
    print(f"{'variants':<10} {'movement':>9} {'correct-vs-incorrect':>21}  per fold")
    for name, p in probs.items():
        p = np.concatenate(p)
        move, ok, _ = read_label(p)
        per = " ".join(f"{macro(label[fold_of == s] % 2, (~ok[fold_of == s]).astype(int)):.3f}" for s in subjects)
        print(f"{name:<10} {np.mean(move == label // 2):9.4f} {macro(label % 2, (~ok).astype(int)):21.4f}  {per}")

    bad, truth, movement = prob_incorrect(np.concatenate(probs["as is"])), label % 2, label // 2
    grid = np.linspace(0.2, 0.8, 25)
    pred = np.zeros_like(truth)
    for s in subjects:
        for m in np.unique(movement):
            fit, use = (fold_of != s) & (movement == m), (fold_of == s) & (movement == m)
            t = max(grid, key=lambda t: macro(truth[fit], (bad[fit] >= t).astype(int)))
            pred[use] = bad[use] >= t
    print(f"as is, a threshold per movement chosen on the other subjects: correct-vs-incorrect "
          f"{macro(truth, pred):.4f}")


if __name__ == "__main__":
    main()
