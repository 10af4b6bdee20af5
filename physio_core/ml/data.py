"""UI-PRMD repetitions as arrays, augmentation, continuous sets and "no exercise" samples."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physio_core.features import fill_gaps, mirror_joints, resample
from physio_core.skeleton import N_JOINTS, PARENTS, J, PoseSequence

N_MOVEMENTS = 10
OTHER = N_MOVEMENTS  # class index of "no exercise / other"
CLASS_NAMES: tuple[str, ...] = (
    "deep_squat",
    "hurdle_step",
    "inline_lunge",
    "side_lunge",
    "sit_to_stand",
    "standing_active_straight_leg_raise",
    "standing_shoulder_abduction",
    "standing_shoulder_extension",
    "standing_shoulder_internal_external_rotation",
    "standing_shoulder_scaption",
    "other",
)
FPS = 30.0


@dataclass
class RepRecord:
    """One UI-PRMD repetition: joints (T, N_JOINTS, 3) pelvis-centred, root (T, 3) metres."""

    joints: np.ndarray
    root: np.ndarray
    movement: int  # 0-based
    subject: int
    episode: int
    correct: bool

    @property
    def label20(self) -> int:
        """Movement × correctness class used by the mistake model: 2m (correct), 2m+1 (not)."""
        return 2 * self.movement + (0 if self.correct else 1)

    def pose(self) -> PoseSequence:
        t = len(self.joints)
        return PoseSequence(
            self.joints, np.ones((t, N_JOINTS)), np.arange(t) / FPS, FPS, self.root
        )


def load_uiprmd(root: str | Path, cache_dir: str | Path | None = None) -> list[RepRecord]:
    """All repetitions under a UI-PRMD-like folder (cached as one .npz keyed on the file list)."""
    from physio_core.datasets.uiprmd import list_reps

    reps = list_reps(root)
    key = hashlib.sha1(
        "|".join(f"{r.positions_path}:{r.positions_path.stat().st_size}" for r in reps).encode()
    ).hexdigest()[:16]
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"uiprmd_{key}.npz"
        if cache.exists():
            return _from_npz(cache)
    out = []
    for r in reps:
        seq = r.load()
        out.append(
            RepRecord(fill_gaps(seq.joints), seq.root, r.movement - 1, r.subject, r.episode, r.correct)
        )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        _to_npz(cache, out)
    return out


def _to_npz(path: Path, reps: list[RepRecord]) -> None:
    lengths = np.array([len(r.joints) for r in reps])
    meta = np.array([[r.movement, r.subject, r.episode, int(r.correct)] for r in reps])
    # a name of this process's own: two runs filling the cache at once must not share it
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez_compressed(
        tmp,
        joints=np.concatenate([r.joints for r in reps]),
        root=np.concatenate([r.root for r in reps]),
        lengths=lengths,
        meta=meta,
    )
    tmp.replace(path)


def _from_npz(path: Path) -> list[RepRecord]:
    with np.load(path) as z:
        joints, root, lengths, meta = z["joints"], z["root"], z["lengths"], z["meta"]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [
        RepRecord(joints[a:b].copy(), root[a:b].copy(), int(m[0]), int(m[1]), int(m[2]), bool(m[3]))
        for a, b, m in zip(bounds[:-1], bounds[1:], meta)
    ]


# ---------------------------------------------------------------- augmentation


@dataclass
class Augment:
    """Random transforms that make Kinect skeletons look like other sources (MediaPipe)."""

    noise_m: float = 0.015  # per-joint white noise, metres
    drift_m: float = 0.01  # temporally smooth per-joint offset, metres
    bone_scale: float = 0.08  # ± relative bone length change
    tilt_deg: float = 6.0  # camera pitch/roll
    yaw_deg: float = 30.0
    speed: tuple[float, float] = (0.75, 1.35)
    mirror_p: float = 0.5

    def __call__(self, joints: np.ndarray, rng: np.random.Generator, mirror: bool | None = None,
                 time_warp: bool = True) -> np.ndarray:
        j = joints.copy()
        if mirror if mirror is not None else rng.random() < self.mirror_p:
            j = mirror_joints(j)
        j = scale_bones(j, 1.0 + rng.uniform(-self.bone_scale, self.bone_scale, N_JOINTS))
        j = rotate(j, rng.uniform(-self.yaw_deg, self.yaw_deg),
                   rng.uniform(-self.tilt_deg, self.tilt_deg), rng.uniform(-self.tilt_deg, self.tilt_deg))
        if time_warp:
            j = warp_time(j, rng, self.speed)
        t = len(j)
        drift = smooth_noise(rng, t, (N_JOINTS, 3), self.drift_m)
        j = j + drift + rng.normal(0.0, self.noise_m * rng.uniform(0.3, 1.0), j.shape)
        return j - j[:, J.PELVIS : J.PELVIS + 1]


def scale_bones(joints: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Scale every bone (parent->child vector) by factor[child], keeping the chain connected."""
    bones = np.zeros_like(joints)
    for c, p in enumerate(PARENTS):
        if p >= 0:
            bones[:, c] = (joints[:, c] - joints[:, p]) * factor[c]
    out = np.zeros_like(joints)
    out[:, 0] = joints[:, 0]
    for c, p in enumerate(PARENTS):  # parents come before children in PARENTS
        if p >= 0:
            out[:, c] = out[:, p] + bones[:, c]
    return out


def rotate(joints: np.ndarray, yaw: float, pitch: float, roll: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    r = Rotation.from_euler("yxz", [yaw, pitch, roll], degrees=True).as_matrix()
    return joints @ r.T


def smooth_noise(rng: np.random.Generator, t: int, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    knots = max(2, t // 15 + 2)
    k = rng.normal(0.0, sigma, (knots,) + shape)
    return resample(k, t)


def warp_time(x: np.ndarray, rng: np.random.Generator, speed: tuple[float, float]) -> np.ndarray:
    """Resample with a random overall speed and a smooth, monotone speed profile."""
    t = len(x)
    new_t = max(8, int(round(t / rng.uniform(*speed))))
    rate = np.exp(resample(rng.normal(0.0, 0.25, 4), new_t))
    pos = np.concatenate([[0.0], np.cumsum(rate[:-1])])
    pos = pos / pos[-1] * (t - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo).reshape((-1,) + (1,) * (x.ndim - 1))
    return (1 - w) * x[lo] + w * x[hi]


# ---------------------------------------------------------------- continuous sets


def concatenate_joints(
    reps: list[np.ndarray], rng: np.random.Generator, pause_s: tuple[float, float] = (0.3, 2.0),
    fps: float = FPS,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Chain reps (T_i, N_JOINTS, 3) into one set with still pauses between and around them.

    A pause holds the previous pose with a little sway; a short blend joins the end pose of one
    rep to the start pose of the next (real people do not teleport). Returns the joints and
    each rep's (start, stop) frame span in the set.
    """
    parts: list[np.ndarray] = []
    spans: list[tuple[int, int]] = []
    n = 0

    def hold(pose: np.ndarray, frames: int) -> None:
        nonlocal n
        if frames <= 0:
            return
        parts.append(pose[None] + smooth_noise(rng, frames, pose.shape, 0.006))
        n += frames

    def blend(a: np.ndarray, b: np.ndarray, frames: int) -> None:
        nonlocal n
        if frames <= 0:
            return
        w = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, frames + 2)[1:-1])
        parts.append((1 - w)[:, None, None] * a[None] + w[:, None, None] * b[None])
        n += frames

    hold(reps[0][0], int(rng.uniform(*pause_s) * fps))
    for i, r in enumerate(reps):
        if i > 0:
            prev = reps[i - 1][-1]
            hold(prev, int(rng.uniform(*pause_s) * fps))
            blend(prev, r[0], int(np.clip(np.linalg.norm(prev - r[0], axis=-1).max() * 40, 0, 12)))
        spans.append((n, n + len(r)))
        parts.append(r)
        n += len(r)
    hold(reps[-1][-1], int(rng.uniform(*pause_s) * fps))
    joints = np.concatenate(parts)
    return joints - joints[:, J.PELVIS : J.PELVIS + 1], spans


def phase_target(length: int, spans: list[tuple[int, int]]) -> np.ndarray:
    """Rep-phase signal: 0 outside reps, rising to 1 at mid-rep and back to 0 at its end."""
    y = np.zeros(length, np.float32)
    for a, b in spans:
        ph = (np.arange(a, b) - a + 0.5) / (b - a)
        y[a:b] = 0.5 - 0.5 * np.cos(2 * np.pi * ph)
    return y


# ---------------------------------------------------------------- "no exercise / other"


def too_few_movements(reps: list) -> str | None:
    """Why these reps cannot train or score the exercise classifier, or None: its 'no exercise'
    samples (``other_samples``) blend two movements."""
    if len({r.movement for r in reps}) < 2:
        return ("reps of one movement only; at least two movements are needed (the 'no exercise' "
                "samples blend two)")
    return None


def other_samples(reps: list[RepRecord], rng: np.random.Generator, n: int, length: int = 90
                  ) -> list[np.ndarray]:
    """Synthetic sequences that are none of the ten movements (documented in the model card).

    Kinds, in turn: (a) standing still: a rep's rest pose held with sway and tracking noise;
    (b) fidgeting: a rest pose with slow random joint wander of a few cm; (c) transitions:
    a slow blend between poses taken from two different movements; (d) partial motion: a
    short, low-amplitude piece of a rep (less than a quarter of its range) with long holds.
    """
    if (why := too_few_movements(reps)) is not None:  # else a transition's second movement is looked for forever
        raise ValueError(why)
    out = []
    for i in range(n):
        kind = i % 4
        r = reps[rng.integers(len(reps))]
        t = int(length * rng.uniform(0.6, 1.4))
        if kind == 0:
            pose = r.joints[0 if rng.random() < 0.5 else -1]
            j = pose[None] + smooth_noise(rng, t, pose.shape, 0.01)
        elif kind == 1:
            pose = r.joints[0]
            j = pose[None] + smooth_noise(rng, t, pose.shape, 0.04)
        elif kind == 2:
            r2 = reps[rng.integers(len(reps))]
            while r2.movement == r.movement:
                r2 = reps[rng.integers(len(reps))]
            a = r.joints[rng.integers(len(r.joints))]
            b = r2.joints[rng.integers(len(r2.joints))]
            w = np.linspace(0, 1, t)[:, None, None]
            j = (1 - w) * a[None] + w * b[None] + smooth_noise(rng, t, a.shape, 0.01)
        else:
            rest = r.joints[0]
            k = int(rng.integers(4, max(5, len(r.joints) // 4)))
            piece = r.joints[:k]
            amp = rng.uniform(0.1, 0.25)
            piece = rest[None] + amp * (piece - rest[None])
            j = np.concatenate([np.repeat(rest[None], t // 2, 0), piece,
                                np.repeat(piece[-1:], t // 2, 0)])
            j = j + smooth_noise(rng, len(j), rest.shape, 0.01)
        out.append(j - j[:, J.PELVIS : J.PELVIS + 1])
    return out
