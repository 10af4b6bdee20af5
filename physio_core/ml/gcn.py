"""Mistake identification and correction after Zhao et al., "3D Pose Based Feedback for Physical
Exercises" (ACCV 2022).

A rep is time-normalised to ``STEPS`` frames of normalised joint positions (features.py) and
each joint coordinate's trajectory is coded by its first ``N_DCT`` DCT coefficients: a graph of
57 nodes (19 joints × xyz) with the coefficients as node features, joined by a learnt adjacency
(as in Mao et al.'s trajectory GCN that the paper builds on).
- Classification branch: GCN -> 20 classes (10 movements × correct / incorrect).
- Correction branch: GCN over the DCT code plus the classification branch's softmax (the paper's
  feedback module: the predicted label conditions the correction) -> a change of the DCT code;
  its inverse DCT (a smooth, low-frequency correction) is added to the input sequence, so what
  the correction does not touch keeps the input's own detail.
Loss: cross-entropy + L2 to the nearest correct rep of the same subject and movement, aligned to
the input's timing by DTW (a correct rep's target is itself) + a smoothness term (second
differences) on the correction.
Three such networks, trained alike from seeds 31, 32 and 33, are averaged (their class
probabilities and their corrections): on unseen subjects the average judges correct vs incorrect
better than any one of them (scripts/experiments/gcn_seeds.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.fft import dct
from torch import nn

from physio_core.features import mirror_joints, normalised_positions, resample, yaw_align
from physio_core.ml.common import (
    load_checkpoint, save_checkpoint, seed_everything, set_threads, to_tensor, train_loop,
)
from physio_core.ml.data import N_MOVEMENTS, RepRecord
from physio_core.skeleton import N_JOINTS, J

STEPS = 48
N_DCT = 20
N_NODES = N_JOINTS * 3
N_CLASSES = 2 * N_MOVEMENTS


def dct_matrix(n: int, k: int) -> np.ndarray:
    """(k, n) orthonormal DCT-II basis: code = D @ x, x ≈ D.T @ code."""
    return dct(np.eye(n), norm="ortho", axis=0)[:k]


class _GraphConv(nn.Module):
    def __init__(self, f_in: int, f_out: int, n: int = N_NODES):
        super().__init__()
        self.adj = nn.Parameter(torch.eye(n) + 0.01 * torch.randn(n, n))
        self.weight = nn.Linear(f_in, f_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N, F)
        return self.adj @ self.weight(x)


class _GCBlock(nn.Module):
    def __init__(self, f: int, dropout: float):
        super().__init__()
        self.gc1, self.gc2 = _GraphConv(f, f), _GraphConv(f, f)
        self.ln1, self.ln2 = nn.LayerNorm(f), nn.LayerNorm(f)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop(torch.tanh(self.ln1(self.gc1(x))))
        y = self.drop(torch.tanh(self.ln2(self.gc2(y))))
        return x + y


class _GCN(nn.Module):
    def __init__(self, hidden: int, blocks: int, dropout: float):
        super().__init__()
        self.cls_in = _GraphConv(N_DCT, hidden)
        self.cls_blocks = nn.Sequential(*[_GCBlock(hidden, dropout) for _ in range(blocks)])
        self.cls_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(N_NODES * hidden, N_CLASSES))
        self.cor_in = _GraphConv(N_DCT + N_CLASSES, hidden)
        self.cor_blocks = nn.Sequential(*[_GCBlock(hidden, dropout) for _ in range(blocks)])
        self.cor_out = _GraphConv(hidden, N_DCT)

    def forward(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.cls_blocks(torch.tanh(self.cls_in(code)))
        logits = self.cls_head(h.flatten(1))
        label = torch.softmax(logits, dim=1)[:, None, :].expand(-1, N_NODES, -1)
        g = self.cor_blocks(torch.tanh(self.cor_in(torch.cat([code, label], dim=2))))
        return logits, code + self.cor_out(g)


@dataclass
class GCNConfig:
    hidden: int = 48
    blocks: int = 2
    dropout: float = 0.1
    epochs: int = 40
    lr: float = 2e-3
    batch_size: int = 32
    w_correction: float = 2000.0  # 300 left the correction timid: half the distance to its target
    w_smooth: float = 100.0
    input_noise: float = 0.01
    seed: int = 31
    members: int = 3  # member k is trained from seed + k; probabilities and corrections averaged


def rep_input(joints: np.ndarray) -> np.ndarray:
    """(T, N_JOINTS, 3) -> (STEPS, N_JOINTS, 3) normalised positions."""
    return resample(normalised_positions(joints), STEPS)


def dtw_path(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
    """Classic DTW between (Ta, D) and (Tb, D) with Euclidean frame cost."""
    cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2).tolist()
    ta, tb = len(cost), len(cost[0])
    inf = float("inf")
    acc = [[inf] * (tb + 1) for _ in range(ta + 1)]
    acc[0][0] = 0.0
    for i in range(1, ta + 1):
        prev, cur, ci = acc[i - 1], acc[i], cost[i - 1]
        for j in range(1, tb + 1):
            cur[j] = ci[j - 1] + min(prev[j], cur[j - 1], prev[j - 1])
    i, j, path = ta, tb, []
    while i > 0 and j > 0:
        path.append((i - 1, j - 1))
        d, u, l = acc[i - 1][j - 1], acc[i - 1][j], acc[i][j - 1]
        if d <= u and d <= l:
            i, j = i - 1, j - 1
        elif u <= l:
            i -= 1
        else:
            j -= 1
    return path[::-1]


def dtw_distance(a: np.ndarray, b: np.ndarray) -> float:
    p = dtw_path(a, b)
    return float(np.mean([np.linalg.norm(a[i] - b[j]) for i, j in p]))


def align_to(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Warp ``ref`` (T, ...) onto the timing of ``src`` (T, ...) along their DTW path."""
    path = dtw_path(src.reshape(len(src), -1), ref.reshape(len(ref), -1))
    out = np.zeros_like(src)
    cnt = np.zeros(len(src))
    for i, j in path:
        out[i] += ref[j]
        cnt[i] += 1
    return out / cnt.reshape((-1,) + (1,) * (src.ndim - 1))


def nearest_correct(reps: list[RepRecord], inputs: list[np.ndarray]) -> list[int | None]:
    """For each incorrect rep the index of the DTW-nearest correct rep of the same subject and
    movement (any subject's if that one has none); None for a correct rep or when the movement
    has no correct rep at all."""
    correct: dict[tuple[int, int], list[int]] = {}
    for i, r in enumerate(reps):
        if r.correct:
            correct.setdefault((r.subject, r.movement), []).append(i)
    out: list[int | None] = []
    for i, r in enumerate(reps):
        if r.correct:
            out.append(None)
            continue
        cands = correct.get((r.subject, r.movement)) or [
            k for k, q in enumerate(reps) if q.correct and q.movement == r.movement
        ]
        if not cands:
            out.append(None)
            continue
        a = inputs[i].reshape(STEPS, -1)
        out.append(min(cands, key=lambda k: dtw_distance(a[::2], inputs[k].reshape(STEPS, -1)[::2])))
    return out


def correction_targets(reps: list[RepRecord], inputs: list[np.ndarray]) -> list[np.ndarray]:
    """For each rep its target: itself if correct, else its ``nearest_correct`` rep aligned to
    its timing."""
    return [inputs[i] if k is None else align_to(inputs[i], inputs[k])
            for i, k in enumerate(nearest_correct(reps, inputs))]


class MistakeGCN:
    name = "mistake_gcn"

    def __init__(self, config: GCNConfig | None = None):
        self.config = config or GCNConfig()
        c = self.config
        self.nets = nn.ModuleList(_GCN(c.hidden, c.blocks, c.dropout) for _ in range(c.members))
        self.D = dct_matrix(STEPS, N_DCT)

    def _code(self, seqs: np.ndarray) -> np.ndarray:
        """(B, STEPS, N_JOINTS, 3) -> (B, N_NODES, N_DCT)."""
        x = seqs.reshape(len(seqs), STEPS, N_NODES)
        return np.einsum("kt,btn->bnk", self.D, x)

    def _decode(self, code: torch.Tensor) -> torch.Tensor:
        """(B, N_NODES, N_DCT) -> (B, STEPS, N_NODES)."""
        return torch.einsum("kt,bnk->btn", to_tensor(self.D), code)

    def fit(self, reps: list[RepRecord], targets: list[np.ndarray] | None = None) -> "MistakeGCN":
        """``targets``: precomputed ``correction_targets`` of these reps (they depend only on
        each subject's own reps, so cross-validation computes them once)."""
        set_threads()
        c = self.config
        inputs = [rep_input(r.joints) for r in reps]
        if targets is None:
            targets = correction_targets(reps, inputs)
        # mirrored copies (s07 does m07 with the left arm): same labels, mirrored targets
        x = np.stack(inputs + [mirror_joints(v) for v in inputs])
        y = np.stack(targets + [mirror_joints(v) for v in targets])
        labels = np.array([r.label20 for r in reps] * 2)
        xt = to_tensor(x.reshape(len(x), STEPS, N_NODES))
        yt = to_tensor(y.reshape(len(y), STEPS, N_NODES))
        lt = torch.from_numpy(labels).long()
        d = to_tensor(self.D)
        ce = nn.CrossEntropyLoss(label_smoothing=0.05)
        self.history = []
        for k in range(c.members):
            rng = seed_everything(c.seed + k)
            net = self.nets[k] = _GCN(c.hidden, c.blocks, c.dropout)

            def batch_loss(idx: np.ndarray, net=net) -> torch.Tensor:
                inp = xt[idx] + c.input_noise * torch.randn_like(xt[idx])
                code = torch.einsum("kt,btn->bnk", d, inp)
                logits, out_code = net(code)
                fix = torch.einsum("kt,bnk->btn", d, out_code - code)
                out = xt[idx] + fix
                rec = ((out - yt[idx]) ** 2).mean()
                smooth = ((fix[:, 2:] - 2 * fix[:, 1:-1] + fix[:, :-2]) ** 2).mean()
                return ce(logits, lt[idx]) + c.w_correction * rec + c.w_smooth * smooth

            self.history.append(train_loop(net, len(x), batch_loss, c.epochs, c.lr, c.batch_size, rng))
        return self

    @torch.no_grad()
    def predict_raw(self, sequences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """List of (T, N_JOINTS, 3) -> (probs (B, 20), corrected normalised (B, STEPS, N_JOINTS, 3)),
        each the mean over the members."""
        x = np.stack([rep_input(j) for j in sequences])
        self.nets.eval()
        code = to_tensor(self._code(x))
        probs, fixes = [], []
        for net in self.nets:
            logits, out_code = net(code)
            probs.append(torch.softmax(logits, 1).numpy())
            fixes.append(self._decode(out_code - code).numpy())
        out = x + np.mean(fixes, 0).reshape(len(x), STEPS, N_JOINTS, 3)
        # the canonical pelvis is the hip midpoint, at the origin
        out[:, :, J.PELVIS] = 0.5 * (out[:, :, J.R_HIP] + out[:, :, J.L_HIP])
        out = out - out[:, :, J.PELVIS : J.PELVIS + 1]
        return np.mean(probs, 0), out

    def predict(self, sequences: list[np.ndarray]) -> np.ndarray:
        """(B,) 20-class labels (2 × movement + incorrect), read as ``read_label`` reads them."""
        return label20(self.predict_raw(sequences)[0])

    def correct(self, sequences: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Class probabilities (B, 20) and each rep's corrected joints at its own length, in
        metres."""
        probs, out = self.predict_raw(sequences)
        fixed = [denormalise(o, j) for o, j in zip(out, sequences)]
        return probs, fixed

    def save(self, path: str | Path) -> None:
        save_checkpoint(path, self.name, self.config.__dict__, self.nets.state_dict(),
                        {"steps": STEPS, "n_dct": N_DCT})

    @classmethod
    def load(cls, path: str | Path) -> "MistakeGCN":
        ck = load_checkpoint(path, cls.name)
        if "members" not in ck["config"]:
            raise ValueError(f"{path} holds one network from before the ensemble: retrain with "
                             "`python -m physio_core.train --only gcn`")
        m = cls(GCNConfig(**ck["config"]))
        m.nets.load_state_dict(ck["state"])
        m.nets.eval()
        return m


def prob_incorrect(probs: np.ndarray) -> np.ndarray:
    """(B, 20) class probabilities -> (B,) total probability of the ten "incorrect" classes."""
    return probs[:, 1::2].sum(1)


def read_label(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B, 20) class probabilities -> the movement (B,), correct? (B,) and the probability of
    that verdict (B,), each read from its own marginal rather than from the single most likely
    of the 20 classes: a rep may be most likely "incorrect" summed over the movements while its
    most likely class is a correct one. On unseen subjects this reading scored higher on both
    questions (scripts/experiments/gcn_seeds.py)."""
    p_bad = prob_incorrect(probs)
    movement = probs.reshape(len(probs), -1, 2).sum(2).argmax(1)
    return movement, p_bad < 0.5, np.maximum(p_bad, 1 - p_bad)


def label20(probs: np.ndarray) -> np.ndarray:
    """(B, 20) -> (B,) the ``read_label`` verdict as a 20-class label (2 × movement + incorrect)."""
    movement, correct, _ = read_label(probs)
    return 2 * movement + (~correct).astype(int)


def denormalise(norm: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Corrected (STEPS, N_JOINTS, 3) in body-size units -> (T, N_JOINTS, 3) metres in the
    original rep's heading and size, at its own length."""
    from physio_core.features import body_scale

    orig = original - original[:, J.PELVIS : J.PELVIS + 1]
    scale = float(np.nanmedian(body_scale(yaw_align(orig))))
    hip = orig[:, J.L_HIP] - orig[:, J.R_HIP]
    yaw = float(np.median(np.arctan2(hip[:, 2], hip[:, 0])))
    x = resample(norm, len(original)) * scale
    c, s = np.cos(yaw), np.sin(yaw)
    out = x.copy()
    out[..., 0] = c * x[..., 0] - s * x[..., 2]
    out[..., 2] = s * x[..., 0] + c * x[..., 2]
    return out
