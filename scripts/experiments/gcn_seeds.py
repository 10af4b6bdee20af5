"""Would an ensemble of mistake GCNs (different seeds) judge correct vs incorrect better?

    python scripts/experiments/gcn_seeds.py [--out DIR] [--seeds 31 32 33] [SUBJECT ...]

The exercise classifier gained from averaging three networks trained with different seeds
(one network alone: 0.954-0.969 depending on its seed). This checks the same for the mistake
GCN, on the folds of `evaluate --cv`: for each held-out subject and seed it trains the GCN (and
once per fold the judge) on the other subjects and keeps, for the held-out reps, the 20-class
probabilities, the judge's verdict on the correction and on the uncorrected rep, in
DIR/foldS_seedK.npz (an existing file is reused). It then prints, pooled over the folds found,
for each seed alone and for the members' average (probabilities averaged; corrections
averaged): movement accuracy, correct-vs-incorrect macro accuracy and 20-class macro accuracy,
each read two ways (the most likely of the 20 classes, or each question from its own marginal
as gcn.read_label does), and the share of incorrect reps whose correction the judge passes.
About 1.5 min per network and fold (36 min for 8 folds x 3 seeds); the report alone, from the
kept files: --report-only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from _folds import fold_args  # noqa: E402

from physio_core.ml import suite  # noqa: E402
from physio_core.ml.data import load_uiprmd  # noqa: E402
from physio_core.ml.gcn import GCNConfig, MistakeGCN, correction_targets, denormalise, label20, rep_input  # noqa: E402
from physio_core.ml.judge import CorrectnessJudge  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402


def run_folds(out: Path, held: list[int], seeds: list[int]) -> None:
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    targets = correction_targets(reps, [rep_input(r.joints) for r in reps])
    for s in held or sorted({r.subject for r in reps}):
        tr = [i for i, r in enumerate(reps) if r.subject != s]
        te = [r for r in reps if r.subject == s]
        joints = [r.joints for r in te]
        moves = [r.movement for r in te]
        judge = None
        for seed in seeds:
            path = out / f"fold{s}_seed{seed}.npz"
            if path.exists():
                continue
            if judge is None:
                judge = CorrectnessJudge().fit([reps[i] for i in tr])
            t0 = time.time()
            gcn = MistakeGCN(GCNConfig(seed=seed, members=1)).fit([reps[i] for i in tr], [targets[i] for i in tr])
            probs, norm = gcn.predict_raw(joints)
            fixed = [denormalise(o, j) for o, j in zip(norm, joints)]
            np.savez(path, probs=probs, norm=norm, jfix=judge.prob_correct(fixed, moves),
                     move=np.array(moves), correct=np.array([r.correct for r in te]),
                     label20=np.array([r.label20 for r in te]))
            print(f"fold s{s:02d} seed {seed} done in {time.time() - t0:.0f} s", flush=True)


def report(out: Path, seeds: list[int], held: list[int]) -> None:
    folds = sorted({int(p.name[4:].split("_")[0]) for p in out.glob("fold*_seed*.npz")})
    folds = [s for s in folds if all((out / f"fold{s}_seed{k}.npz").exists() for k in seeds)]
    if held:
        folds = [s for s in folds if s in held]
    print(f"folds {folds}, seeds {seeds}")
    reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
    models = [str(k) for k in seeds] + ["average"]
    probs = {m: [] for m in models}
    fixed_ok = {m: [] for m in models}
    label, fold_of = [], []
    for s in folds:
        d = {k: np.load(out / f"fold{s}_seed{k}.npz") for k in seeds}
        ok = d[seeds[0]]["correct"].astype(bool)
        label.append(d[seeds[0]]["label20"])
        fold_of.append(np.full(len(ok), s))
        for k in seeds:
            probs[str(k)].append(d[k]["probs"])
            fixed_ok[str(k)].append(d[k]["jfix"][~ok] >= 0.5)
        probs["average"].append(np.mean([d[k]["probs"] for k in seeds], 0))
        # the averaged correction, judged by this fold's judge
        te = [r for r in reps if r.subject == s]
        judge = CorrectnessJudge().fit([r for r in reps if r.subject != s])
        norm = np.mean([d[k]["norm"] for k in seeds], 0)
        fixed = [denormalise(o, r.joints) for o, r in zip(norm, te)]
        fixed_ok["average"].append(judge.prob_correct(fixed, [r.movement for r in te])[~ok] >= 0.5)
    label, fold_of = np.concatenate(label), np.concatenate(fold_of)

    def macro(true: np.ndarray, pred: np.ndarray) -> float:  # as evaluate computes it
        return suite._macro(true, pred, np.unique(true))[0]

    print("columns: most likely of the 20 classes / each question read from its own marginal "
          "(gcn.read_label)")
    print(f"{'model':<8} {'movement':>15} {'correct-vs-incorrect':>21} {'20-class macro':>15} {'corrected':>10}")
    for m in models:
        p = np.concatenate(probs[m])
        top, marg = p.argmax(1), label20(p)
        print(f"{m:<8} {np.mean(top // 2 == label // 2):7.4f}/{np.mean(marg // 2 == label // 2):.4f} "
              f"{macro(label % 2, top % 2):13.4f}/{macro(label % 2, marg % 2):.4f} "
              f"{macro(label, top):8.4f}/{macro(label, marg):.4f} "
              f"{np.mean(np.concatenate(fixed_ok[m])):10.4f}")
    print("correct-vs-incorrect per fold (marginal reading):")
    for s in folds:
        i = fold_of == s
        cells = " ".join(f"{m} {macro(label[i] % 2, label20(np.concatenate(probs[m])[i]) % 2):.3f}"
                         for m in models)
        print(f"  s{s:02d}: {cells}")


def main() -> None:
    def extra(ap) -> None:
        ap.add_argument("--seeds", type=int, nargs="+", default=[31, 32, 33])
        ap.add_argument("--report-only", action="store_true")

    args = fold_args(__doc__, "gcn_seeds", extra)
    if not args.report_only:
        run_folds(args.out, args.subjects, args.seeds)
    report(args.out, args.seeds, args.subjects)


if __name__ == "__main__":
    main()
