"""Would an LSTM judge be a better independent judge than the logistic one?

    [EPOCHS=15 COPIES=2 MEMBERS=1] python scripts/experiments/lstm_judge.py 1 [2 ...]

For each held-out subject: trains the mistake GCN (its corrections are cached in
.cache/experiments), the shipped logistic judge and a bidirectional LSTM over the classifier's
per-frame inputs (20 classes, read for the given movement), and prints each judge's macro
accuracy, the share of the subject's correct / incorrect reps it passes, the share of the GCN's
corrections it passes and the share of the subject's own nearest correct reps it passes.
About 7 minutes per subject. Model card: models/mistake_gcn.md (2026-12-01 lines).
"""
from pathlib import Path
import sys, time, pickle, os
import numpy as np, torch
from torch import nn
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from physio_core.ml.common import set_threads, seed_everything, to_tensor, train_loop
from physio_core.ml.data import load_uiprmd, Augment
from physio_core.ml.gcn import GCNConfig, MistakeGCN, correction_targets, nearest_correct, rep_input
from physio_core.ml.judge import CorrectnessJudge
from physio_core.ml.classifier import window_input, _Net, N_INPUT
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD

set_threads(1)
EPOCHS = int(os.environ.get("EPOCHS", 15)); COPIES = int(os.environ.get("COPIES", 2)); MEMBERS = int(os.environ.get("MEMBERS", 1))
subjects = [int(a) for a in sys.argv[1:]]
reps = load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR)
inputs = [rep_input(r.joints) for r in reps]
targets = None

class LSTMJudge:
    def fit(self, rs):
        self.nets, self.ms, self.ss = [], [], []
        for k in range(MEMBERS):
            rng = seed_everything(11 + k); aug = Augment()
            xs, ys = [], []
            for r in rs:
                xs.append(window_input(r.joints)); ys.append(r.label20)
                for _ in range(COPIES):
                    xs.append(window_input(aug(r.joints, rng))); ys.append(r.label20)
            x = np.stack(xs).astype(np.float32); y = np.array(ys)
            m = x.reshape(-1, N_INPUT).mean(0); s = x.reshape(-1, N_INPUT).std(0) + 1e-3
            xt = to_tensor((x - m) / s); yt = torch.from_numpy(y).long()
            net = _Net(N_INPUT, 64, 20); lf = nn.CrossEntropyLoss(label_smoothing=0.05)
            train_loop(net, len(x), lambda idx: lf(net(xt[idx]), yt[idx]), EPOCHS, 3e-3, 64, rng)
            self.nets.append(net); self.ms.append(m); self.ss.append(s)
        return self
    @torch.no_grad()
    def prob_correct(self, joints, moves):
        x = np.stack([window_input(j) for j in joints]).astype(np.float32)
        p = np.mean([torch.softmax(n.eval()(to_tensor((x - m) / s)), 1).numpy() for n, m, s in zip(self.nets, self.ms, self.ss)], 0)
        mv = np.array(moves)
        pc, pi = p[np.arange(len(p)), 2 * mv], p[np.arange(len(p)), 2 * mv + 1]
        return pc / (pc + pi)

for s in subjects:
    t0 = time.time()
    tr = [r for r in reps if r.subject != s]
    te = [r for r in reps if r.subject == s]
    cache = CACHE_DIR / "experiments" / f"gcnfix_s{s}.pkl"
    cache.parent.mkdir(parents=True, exist_ok=True)
    if os.path.exists(cache):
        fixed = pickle.load(open(cache, "rb"))
    else:
        if targets is None:
            targets = correction_targets(reps, inputs)
        tri = [i for i, r in enumerate(reps) if r.subject != s]
        gcn = MistakeGCN(GCNConfig(members=1)).fit(  # as when the card's figures were printed
            tr, [targets[i] for i in tri])
        fixed = gcn.correct([r.joints for r in te])[1]
        pickle.dump(fixed, open(cache, "wb"))
    ok = np.array([r.correct for r in te]); mv = [r.movement for r in te]
    inc = np.where(~ok)[0]
    near = nearest_correct(te, [inputs[i] for i, r in enumerate(reps) if r.subject == s])
    own = [te[near[i]].joints for i in inc]
    for name, J in (("logistic", CorrectnessJudge().fit(tr)), (f"lstm e{EPOCHS} c{COPIES} m{MEMBERS}", LSTMJudge().fit(tr))):
        p = J.prob_correct([r.joints for r in te], mv) >= 0.5
        macro = 0.5 * (p[ok].mean() + (~p[~ok]).mean())
        fx = (J.prob_correct([fixed[i] for i in inc], [mv[i] for i in inc]) >= 0.5).mean()
        ceil = (J.prob_correct(own, [mv[i] for i in inc]) >= 0.5).mean()
        print(f"s{s:02d} {name:18s} macro {macro:.3f} correct-passed {p[ok].mean():.3f} incorrect-passed {p[~ok].mean():.3f} "
              f"| GCN-corrected passed {fx:.3f} | own nearest correct passed {ceil:.3f} ({time.time()-t0:.0f}s)", flush=True)
