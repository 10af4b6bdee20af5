"""Mistake GCN variants on held-out subjects, judged by the independent judge.

    python scripts/experiments/correction_variants.py '{"dropout": 0.0, "epochs": 80}' 1 [2 ...]

Trains the GCN with the given GCNConfig overrides ('{}' = the shipped config with one
network, as when the card's figures were printed, not the ensemble of three) on all subjects
but each one given, and prints for the training (held-in) and the held-out reps: the
correct-vs-incorrect macro accuracy, the share of corrected incorrect reps the judge passes
with the correction scaled by 1, 1.5 and 2, and (held-in) how far the correction moves the
reps toward their targets (RMS, body-size units). About 5 minutes per subject.
Model card: models/mistake_gcn.md (2026-12-01 lines).
"""
from pathlib import Path
import sys, time, json
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from physio_core.ml.common import set_threads
from physio_core.ml.data import load_uiprmd
from physio_core.ml.gcn import (MistakeGCN, GCNConfig, correction_targets, rep_input,
                                prob_incorrect, denormalise)
from physio_core.ml.judge import CorrectnessJudge
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD

set_threads(1)
overrides = json.loads(sys.argv[1])
subjects = [int(a) for a in sys.argv[2:]]
reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
inputs = [rep_input(r.joints) for r in reps]
targets = correction_targets(reps, inputs)

def corrected(gcn, joints, alphas):
    """Class probabilities, each rep's correction scaled by each alpha (x + alpha * (out - x):
    linear, so the pelvis stays the hip midpoint at the origin, as predict_raw leaves it) in
    metres, the normalised inputs and the normalised corrections."""
    probs, out = gcn.predict_raw(joints)
    x = np.stack([rep_input(j) for j in joints])
    scaled = {a: [denormalise(xi + a * (oi - xi), j) for xi, oi, j in zip(x, out, joints)]
              for a in alphas}
    return probs, scaled, x, out


for s in subjects:
    t0 = time.time()
    tri = [i for i, r in enumerate(reps) if r.subject != s]
    tr = [reps[i] for i in tri]
    te = [r for r in reps if r.subject == s]
    gcn = MistakeGCN(GCNConfig(**{"members": 1, **overrides})).fit(tr, [targets[i] for i in tri])
    judge = CorrectnessJudge().fit(tr)
    for name, rs, ti in (("held-in", tr, tri), ("held-out", te, None)):
        probs, res, x, out = corrected(gcn, [r.joints for r in rs], (1.0, 1.5, 2.0))
        ok = np.array([r.correct for r in rs])
        bad = prob_incorrect(probs) >= 0.5
        macro = 0.5 * (np.mean(~bad[ok]) + np.mean(bad[~ok]))
        inc = np.where(~ok)[0]
        mv = [rs[i].movement for i in inc]
        s_ = " ".join(f"a{a}:{judge.predict([res[a][i] for i in inc], mv).mean():.3f}" for a in res)
        extra = ""
        if ti is not None:
            tg = np.stack([targets[i] for i in ti])[inc]
            d0 = np.sqrt(((x[inc] - tg) ** 2).mean()); d1 = np.sqrt(((out[inc] - tg) ** 2).mean())
            extra = f" rms to target {d0:.4f} -> {d1:.4f}"
        print(f"{overrides} s{s:02d} {name:8s} macro {macro:.3f} corrected {s_}{extra} ({time.time()-t0:.0f}s)", flush=True)
