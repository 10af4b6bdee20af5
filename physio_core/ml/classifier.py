"""Exercise classifier: an LSTM over a window of per-frame skeleton features.

A window (a whole rep, or the last few seconds of a live stream) is resampled to ``STEPS`` time
steps, so the model sees the shape of the motion whatever its speed. Classes: the ten UI-PRMD
movements plus "other" (no exercise: standing, fidgeting, transitions; see ``data.other_samples``).

The input of a step is the shared per-frame features plus the limb segments' directions in the
trunk and pelvis frames (``features.segment_directions``). The model is an ensemble of
``members`` small networks trained alike from different seeds; their probabilities are averaged
(one network's accuracy on an unseen subject swings by about a point from seed to seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from physio_core.features import N_FEATURES, N_SEGMENT_DIRS, joint_features, resample, segment_directions
from physio_core.ml.common import (
    load_checkpoint, save_checkpoint, seed_everything, set_threads, to_tensor, train_loop,
)
from physio_core.ml.data import (
    CLASS_NAMES, OTHER, Augment, RepRecord, concatenate_joints, other_samples,
)

STEPS = 32
N_INPUT = N_FEATURES + N_SEGMENT_DIRS
INPUT_VERSION = "features+segdirs30/v1"
LIVE_WINDOW_S = 3.0


class _Net(nn.Module):
    def __init__(self, n_in: int, hidden: int, n_out: int):
        super().__init__()
        self.inp = nn.Sequential(nn.Linear(n_in, hidden), nn.GELU(), nn.Dropout(0.1))
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(4 * hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(self.inp(x))
        return self.head(torch.cat([h.mean(1), h.max(1).values], dim=1))


@dataclass
class ClassifierConfig:
    hidden: int = 64
    epochs: int = 8
    lr: float = 3e-3
    batch_size: int = 64
    aug_copies: int = 1
    seed: int = 7
    members: int = 3  # member k is trained from seed + k


def window_input(joints: np.ndarray) -> np.ndarray:
    """(T, N_JOINTS, 3) -> (STEPS, N_INPUT) model input."""
    joints = np.asarray(joints, dtype=np.float64)
    return resample(np.concatenate([joint_features(joints), segment_directions(joints)], 1), STEPS)


class ExerciseClassifier:
    name = "exercise_classifier"

    def __init__(self, config: ClassifierConfig | None = None):
        self.config = config or ClassifierConfig()
        k = self.config.members
        self.nets = nn.ModuleList(_Net(N_INPUT, self.config.hidden, len(CLASS_NAMES)) for _ in range(k))
        self.mean = np.zeros((k, N_INPUT), np.float32)  # input scaling of each member
        self.std = np.ones((k, N_INPUT), np.float32)

    # ---------------------------------------------------------------- training
    def _samples(self, reps: list[RepRecord], rng: np.random.Generator):
        aug = Augment()
        xs, ys = [], []
        for r in reps:
            xs.append(window_input(r.joints))
            ys.append(r.movement)
            for _ in range(self.config.aug_copies):
                xs.append(window_input(aug(r.joints, rng)))
                ys.append(r.movement)
        # windows cut from continuous sets: part of a rep, a rep and a half, pauses
        groups: dict[tuple, list[RepRecord]] = {}
        for r in reps:
            groups.setdefault((r.subject, r.movement, r.correct), []).append(r)
        for g in groups.values():
            for _ in range(1):
                chosen = [g[i] for i in rng.permutation(len(g))[: rng.integers(3, 7)]]
                mirror = rng.random() < 0.5
                joints, spans = concatenate_joints(
                    [aug(r.joints, rng, mirror=mirror) for r in chosen], rng, (0.2, 2.5)
                )
                inside = np.zeros(len(joints), bool)
                for a, b in spans:
                    inside[a:b] = True
                for _ in range(5):
                    w = int(rng.uniform(1.5, 4.0) * 30)
                    if len(joints) <= w:
                        continue
                    s = int(rng.integers(0, len(joints) - w))
                    frac = inside[s : s + w].mean()
                    if frac >= 0.5:
                        label = chosen[0].movement
                    elif frac == 0.0:
                        label = OTHER
                    else:
                        continue
                    xs.append(window_input(joints[s : s + w]))
                    ys.append(label)
        n_other = max(50, len(xs) // 10)
        for j in other_samples(reps, rng, n_other):
            xs.append(window_input(aug(j, rng, time_warp=False)))
            ys.append(OTHER)
        return np.stack(xs).astype(np.float32), np.array(ys)

    def fit(self, reps: list[RepRecord]) -> "ExerciseClassifier":
        set_threads()
        c = self.config
        self.history = []
        for k in range(c.members):
            # each member draws its own augmented samples as well as its own initial weights
            rng = seed_everything(c.seed + k)
            x, y = self._samples(reps, rng)
            self.mean[k] = x.reshape(-1, N_INPUT).mean(0)
            self.std[k] = x.reshape(-1, N_INPUT).std(0) + 1e-3
            xt = to_tensor((x - self.mean[k]) / self.std[k])
            yt = torch.from_numpy(y).long()
            counts = np.bincount(y, minlength=len(CLASS_NAMES)).astype(np.float32)
            weight = to_tensor(counts.sum() / np.maximum(counts, 1) / len(counts))
            lossf = nn.CrossEntropyLoss(weight=weight, label_smoothing=0.05)
            net = self.nets[k] = _Net(N_INPUT, c.hidden, len(CLASS_NAMES))

            def batch_loss(idx: np.ndarray, net=net, xt=xt, yt=yt, lossf=lossf) -> torch.Tensor:
                return lossf(net(xt[idx]), yt[idx])

            self.history.append(train_loop(net, len(x), batch_loss, c.epochs, c.lr, c.batch_size, rng))
        return self

    # ---------------------------------------------------------------- inference
    @torch.no_grad()
    def predict_proba_inputs(self, x: np.ndarray) -> np.ndarray:
        """(N, STEPS, N_INPUT) -> (N, n_classes) probabilities, the mean over the members."""
        self.nets.eval()
        probs = [torch.softmax(net(to_tensor((x - m) / s)), dim=1).numpy()
                 for net, m, s in zip(self.nets, self.mean, self.std)]
        return np.mean(probs, axis=0)

    def predict_proba(self, sequences: list[np.ndarray]) -> np.ndarray:
        """List of (T, N_JOINTS, 3) joint arrays -> (N, n_classes)."""
        if not sequences:
            return np.zeros((0, len(CLASS_NAMES)), np.float32)
        return self.predict_proba_inputs(np.stack([window_input(j) for j in sequences]))

    def predict(self, sequences: list[np.ndarray]) -> np.ndarray:
        return self.predict_proba(sequences).argmax(1)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> None:
        save_checkpoint(
            path, self.name, self.config.__dict__, self.nets.state_dict(),
            {"mean": torch.from_numpy(self.mean), "std": torch.from_numpy(self.std),
             "classes": list(CLASS_NAMES), "steps": STEPS, "input_version": INPUT_VERSION},
        )

    @classmethod
    def load(cls, path: str | Path) -> "ExerciseClassifier":
        ck = load_checkpoint(path, cls.name)
        if ck["extra"].get("input_version") != INPUT_VERSION:
            raise ValueError(
                f"{path} was trained on inputs {ck['extra'].get('input_version')!r}, this code "
                f"computes {INPUT_VERSION!r}: retrain with `python -m physio_core.train --only classifier`"
            )
        m = cls(ClassifierConfig(**ck["config"]))
        m.nets.load_state_dict(ck["state"])
        m.nets.eval()
        m.mean = ck["extra"]["mean"].numpy()
        m.std = ck["extra"]["std"].numpy()
        return m
