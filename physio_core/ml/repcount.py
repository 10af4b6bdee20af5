"""Learned rep counter: a temporal convolution network gives a rep-phase signal, peaks count reps.

The network sees a continuous set (features at 15 fps) and outputs, per frame, a phase signal
that is 0 at rest and between reps and rises to 1 half-way through each rep; ``count_reps``
finds its peaks with ``scipy.signal.find_peaks``. Training sets are real UI-PRMD reps of one
subject and one movement chained with still pauses (``data.concatenate_joints``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.signal import find_peaks
from torch import nn

from physio_core.features import N_FEATURES, fill_gaps, joint_features, resample
from physio_core.ml.common import (
    load_checkpoint, save_checkpoint, seed_everything, set_threads, to_tensor, train_loop,
)
from physio_core.datasets.continuous import concatenate_reps
from physio_core.ml.data import FPS, Augment, RepRecord, concatenate_joints, phase_target
from physio_core.skeleton import J

STRIDE = 2  # the network runs at FPS / STRIDE (FPS: UI-PRMD's Kinect rate, which it was trained on)


class _TCN(nn.Module):
    def __init__(self, n_in: int, ch: int, dilations: tuple[int, ...]):
        super().__init__()
        self.inp = nn.Conv1d(n_in, ch, 1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv1d(ch, ch, 5, padding=2 * d, dilation=d), nn.GroupNorm(4, ch),
                          nn.GELU(), nn.Dropout(0.1))
            for d in dilations
        )
        self.out = nn.Conv1d(ch, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, T)
        h = self.inp(x.transpose(1, 2))
        for b in self.blocks:
            h = h + b(h)
        return torch.sigmoid(self.out(h)).squeeze(1)


@dataclass
class RepConfig:
    channels: int = 48
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)
    epochs: int = 8
    lr: float = 3e-3
    batch_size: int = 16
    crop: int = 192  # training crop, in network steps
    sets_per_group: int = 12
    min_height: float = 0.5
    min_prominence: float = 0.35
    min_distance_s: float = 0.35
    # each training set is sped up as a whole (reps and pauses) by a factor drawn
    # log-uniformly from this range: UI-PRMD's reps take 1.7-3.9 s, athletes are often faster
    tempo: tuple[float, float] = (1.0, 3.0)
    seed: int = 11


@dataclass
class RepCount:
    count: int
    peaks_frame: list[int]  # frame index (input rate) of each rep's mid-point
    phase: np.ndarray  # (T,) phase signal at the input rate


def build_sets(reps: list[RepRecord], rng: np.random.Generator, per_group: int, augment: bool,
               sizes: tuple[int, int] = (3, 10)):
    """Continuous sets of one subject's reps of one movement: (joints, spans, n_reps, movement)
    each; spans are (first frame, last frame + 1).

    Training sets (``augment``) use augmented reps and this package's builder (pauses 0-2 s);
    scoring sets use the real reps and ``physio_core.datasets.continuous.concatenate_reps``."""
    aug = Augment()
    groups: dict[tuple, list[RepRecord]] = {}
    for r in reps:
        groups.setdefault((r.subject, r.movement, r.correct), []).append(r)
    out = []
    for key in sorted(groups):
        g = groups[key]
        for _ in range(per_group):
            k = int(rng.integers(sizes[0], min(sizes[1], len(g)) + 1))
            chosen = [g[i] for i in rng.permutation(len(g))[:k]]
            mirror = bool(rng.random() < 0.5)
            if augment:
                seqs = [aug(r.joints, rng, mirror=mirror) for r in chosen]
                joints, spans = concatenate_joints(seqs, rng, (0.0, 2.0))
            else:
                # scoring sets come from the shared builder, not the one the model trained on
                seq, bounds = concatenate_reps([r.pose() for r in chosen], pause_s=(0.3, 2.0), rng=rng)
                joints, spans = seq.joints, [(a, b + 1) for a, b in bounds]
            out.append((joints, spans, k, key[1]))
    return out


def speed_up(joints: np.ndarray, spans: list[tuple[int, int]], factor: float):
    """A set played ``factor`` times faster: resampled joints and rep spans."""
    n = max(2, int(round(len(joints) / factor)))
    scale = (n - 1) / max(1, len(joints) - 1)
    return resample(joints, n), [(int(round(a * scale)), int(round(b * scale))) for a, b in spans]


class RepDetector:
    name = "rep_detector"

    def __init__(self, config: RepConfig | None = None):
        self.config = config or RepConfig()
        self.net = _TCN(N_FEATURES, self.config.channels, tuple(self.config.dilations))
        self.mean = np.zeros(N_FEATURES, np.float32)
        self.std = np.ones(N_FEATURES, np.float32)

    def fit(self, reps: list[RepRecord]) -> "RepDetector":
        set_threads()
        c = self.config
        rng = seed_everything(c.seed)
        sets = build_sets(reps, rng, c.sets_per_group, augment=True)
        xs, ys = [], []
        for joints, spans, _, _ in sets:
            if c.tempo[1] > c.tempo[0]:
                joints, spans = speed_up(joints, spans, float(np.exp(rng.uniform(*np.log(c.tempo)))))
            xs.append(joint_features(joints)[::STRIDE])
            ys.append(phase_target(len(joints), spans)[::STRIDE])
        allx = np.concatenate(xs)
        self.mean, self.std = allx.mean(0), allx.std(0) + 1e-3
        xs = [(x - self.mean) / self.std for x in xs]
        self.net = _TCN(N_FEATURES, c.channels, tuple(c.dilations))

        def batch_loss(idx: np.ndarray) -> torch.Tensor:
            bx, by = [], []
            for i in idx:
                x, y = xs[i], ys[i]
                if len(x) > c.crop:
                    s = int(rng.integers(0, len(x) - c.crop))
                    x, y = x[s : s + c.crop], y[s : s + c.crop]
                pad = c.crop - len(x)
                bx.append(np.pad(x, ((0, pad), (0, 0)), mode="edge"))
                by.append(np.pad(y, (0, pad)))
            pred = self.net(to_tensor(np.stack(bx)))
            return nn.functional.mse_loss(pred, to_tensor(np.stack(by)))

        self.history = train_loop(self.net, len(xs), batch_loss, c.epochs, c.lr, c.batch_size, rng)
        return self

    @torch.no_grad()
    def phase(self, joints: np.ndarray, fps: float = FPS) -> np.ndarray:
        """(T, N_JOINTS, 3) at ``fps`` -> (T,) rep-phase signal in [0, 1]; other frame rates
        are resampled to the training rate and back. Frames without a person (NaN pelvis) read
        0: no rep is counted where nobody is seen (the gaps are bridged for the network)."""
        t = len(joints)
        seen = np.isfinite(joints[:, J.PELVIS, 0])
        if seen.any() and not seen.all():
            joints = fill_gaps(joints)
        if t > 1 and abs(fps - FPS) > 0.5:
            n = max(2, int(round((t - 1) * FPS / fps)) + 1)
            ph = resample(self.phase_from_features(joint_features(resample(joints, n))), t)
        else:
            ph = self.phase_from_features(joint_features(joints))
        return np.where(seen, ph, 0.0).astype(np.float32)

    @torch.no_grad()
    def phase_from_features(self, feats: np.ndarray) -> np.ndarray:
        t = len(feats)
        if t == 0:
            return np.zeros(0, np.float32)
        x = (feats[::STRIDE] - self.mean) / self.std
        self.net.eval()
        y = self.net(to_tensor(x[None]))[0].numpy()
        return resample(y, t) if len(y) > 1 else np.repeat(y, t)

    def count(self, joints: np.ndarray, fps: float = FPS) -> RepCount:
        ph = self.phase(joints, fps)
        return self.count_from_phase(ph, fps)

    def segment(self, joints: np.ndarray, fps: float = FPS, rest: float = 0.1
                ) -> list[tuple[int, int, int]]:
        """Each counted rep as (start, peak, end) frames.

        The phase was trained as 0.5 - 0.5 cos(2 pi phi) over a rep, so it is ``rest`` (0.1) at
        phi = 0.1 and 0.9: the frames around each peak where it last / first is at most
        ``rest`` (the lowest frame between two peaks when it does not fall that far), widened
        by 1/8 of that span on each side, never into a neighbouring rep."""
        rc = self.count(joints, fps)
        ph, peaks = rc.phase, rc.peaks_frame
        inner = []
        for k, p in enumerate(peaks):
            lo = peaks[k - 1] if k else 0
            hi = peaks[k + 1] if k + 1 < len(peaks) else len(ph) - 1
            left, right = ph[lo : p + 1], ph[p : hi + 1]
            below = np.flatnonzero(left <= rest)
            s = lo + int(below[-1] if below.size else np.argmin(left))
            below = np.flatnonzero(right <= rest)
            e = p + int(below[0] if below.size else np.argmin(right))
            inner.append((s, p, e))
        out = []
        for k, (s, p, e) in enumerate(inner):
            pad = (e - s) / 8.0
            floor = out[-1][2] + 1 if out else 0
            ceil = inner[k + 1][0] - 1 if k + 1 < len(inner) else len(ph) - 1
            s2 = min(p, max(floor, int(round(s - pad))))
            out.append((s2, p, max(p, min(ceil, int(round(e + pad))))))
        return out

    def count_from_phase(self, ph: np.ndarray, fps: float = FPS) -> RepCount:
        c = self.config
        peaks, _ = find_peaks(
            ph, height=c.min_height, prominence=c.min_prominence,
            distance=max(1, int(c.min_distance_s * fps)),
        )
        return RepCount(len(peaks), [int(p) for p in peaks], ph)

    def predict(self, sequences: list[np.ndarray]) -> np.ndarray:
        return np.array([self.count(j).count for j in sequences])

    def save(self, path: str | Path) -> None:
        cfg = dict(self.config.__dict__)
        cfg["dilations"] = list(cfg["dilations"])
        cfg["tempo"] = list(cfg["tempo"])
        save_checkpoint(path, self.name, cfg, self.net.state_dict(),
                        {"mean": torch.from_numpy(self.mean), "std": torch.from_numpy(self.std)})

    @classmethod
    def load(cls, path: str | Path) -> "RepDetector":
        ck = load_checkpoint(path, cls.name)
        cfg = dict(ck["config"])
        cfg["dilations"] = tuple(cfg["dilations"])
        cfg["tempo"] = tuple(cfg.get("tempo", (1.0, 1.0)))
        m = cls(RepConfig(**cfg))
        m.net.load_state_dict(ck["state"])
        m.net.eval()
        m.mean = ck["extra"]["mean"].numpy()
        m.std = ck["extra"]["std"].numpy()
        return m
