"""Would an ensemble of mistake GCNs (different seeds) judge correct vs incorrect better?

    python scripts/experiments/gcn_seeds.py [--out DIR] [--seeds 31 32 33] [SUBJECT ...]

The exercise classifier gained from averaging three networks trained with different seeds
(one network alone: 0.954-0.969 depending on its seed). This checks the same for the mistake
GCN, on the folds of `evaluate --cv`: for each held-out subject and seed it trains the GCN (and
once per fold the judge) on the other subjects and keeps, for the held-out reps, the 20-class
probabilities, the judge's verdict on the correction and on the uncorrected rep, in
DIR/foldS_seedK.npz (an existing file is reused). It then prints, pooled over the folds found,
correct-vs-incorrect macro accuracy and corrected-rep success for each seed alone and for the
members' average (probabilities averaged; corrections averaged).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from physio_core.ml.common import set_threads  # noqa: E402
from physio_core.ml.data import load_uiprmd  # noqa: E402
from physio_core.ml.gcn import GCNConfig, MistakeGCN, correction_targets, denormalise, prob_incorrect, rep_input  # noqa: E402
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
    reps = None
    folds = sorted({int(p.name[4:].split("_")[0]) for p in out.glob("fold*_seed*.npz")})
    folds = [s for s in folds if all((out / f"fold{s}_seed{k}.npz").exists() for k in seeds)]
    if held:
        folds = [s for s in folds if s in held]
    print(f"folds {folds}, seeds {seeds}")

    def macro(bad: np.ndarray, ok: np.ndarray) -> float:
        return 0.5 * (np.mean(bad[ok] < 0.5) + np.mean(bad[~ok] >= 0.5))

    per_seed = {k: [] for k in seeds}
    ens_bad, ens_ok, ens_fix, seed_fix = [], [], [], {k: [] for k in seeds}
    judge = {}
    for s in folds:
        d = {k: np.load(out / f"fold{s}_seed{k}.npz") for k in seeds}
        ok = d[seeds[0]]["correct"].astype(bool)
        for k in seeds:
            per_seed[k].append((prob_incorrect(d[k]["probs"]), ok))
            seed_fix[k].append(d[k]["jfix"][~ok])
        ens_bad.append(np.mean([prob_incorrect(d[k]["probs"]) for k in seeds], 0))
        ens_ok.append(ok)
        # the averaged correction, judged by this fold's judge
        if reps is None:
            reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
        tr = [r for r in reps if r.subject != s]
        te = [r for r in reps if r.subject == s]
        judge[s] = CorrectnessJudge().fit(tr)
        norm = np.mean([d[k]["norm"] for k in seeds], 0)
        fixed = [denormalise(o, r.joints) for o, r in zip(norm, te)]
        jp = judge[s].prob_correct(fixed, [r.movement for r in te])
        ens_fix.append(jp[~ok])
    for k in seeds:
        bad = np.concatenate([b for b, _ in per_seed[k]])
        ok = np.concatenate([o for _, o in per_seed[k]])
        print(f"seed {k:<4} correct-vs-incorrect macro {macro(bad, ok):.4f}   "
              f"corrected {np.mean(np.concatenate(seed_fix[k]) >= 0.5):.4f}")
    bad, ok = np.concatenate(ens_bad), np.concatenate(ens_ok)
    print(f"average  correct-vs-incorrect macro {macro(bad, ok):.4f}   "
          f"corrected {np.mean(np.concatenate(ens_fix) >= 0.5):.4f}")
    for s, b, o in zip(folds, ens_bad, ens_ok):
        singles = " ".join(f"{macro(pb, po):.3f}" for pb, po in
                           (per_seed[k][folds.index(s)] for k in seeds))
        print(f"  fold s{s:02d}: seeds {singles}  average {macro(b, o):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=CACHE_DIR / "gcn_seeds")
    ap.add_argument("--seeds", type=int, nargs="+", default=[31, 32, 33])
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("subjects", nargs="*", type=int)
    args = ap.parse_args()
    set_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        run_folds(args.out, args.subjects, args.seeds)
    report(args.out, args.seeds, args.subjects)


if __name__ == "__main__":
    main()
