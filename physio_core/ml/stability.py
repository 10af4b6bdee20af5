"""Stability / anomaly scoring of one rep against correct reps of the same movement.

Three detectors, all trained on CORRECT reps only:
- an LSTM autoencoder over the rep's feature sequence (conditioned on the movement):
  reconstruction error;
- IsolationForest and One-Class SVM (per movement) on interpretable rep features, min-max scaled.
Each raw score is turned into a robust z-score against the training reps of that movement and
squashed. A supervised calibration, trained on correct AND incorrect reps (one L2-regularised
logistic regression per movement over ``shape_features``), gives the probability that the rep is
one of the incorrect kind. The fused ``anomaly`` is the mean of: the three detectors' mean, the
calibration, and (when the caller passes it) the mistake GCN's P(incorrect). The detectors say
"unlike the correct reps", the two supervised parts say "like the known mistakes".
``stability_score = 1 - anomaly``.
``balance_score`` rates centre-of-mass sway over the base of support and left/right asymmetry;
``injury_risk`` mixes the anomaly with the worst risk cue (knee valgus, trunk lean, asymmetry,
sway), and ``reason`` names that cue in plain words.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.ensemble import IsolationForest
from sklearn.feature_selection import VarianceThreshold
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import OneClassSVM
from torch import nn

from physio_core.features import (
    N_FEATURES, N_POS, OWN_ANGLES, body_scale, joint_features, resample, yaw_align,
)
from physio_core.features import own_angles as _own_angles
from physio_core.ml.common import (
    BoundedMemo, ModelMissing, seed_everything, set_threads, to_tensor, train_loop,
)
from physio_core.ml.data import CLASS_NAMES, N_MOVEMENTS, Augment, RepRecord
from physio_core.skeleton import J

STEPS = 32
# The least spread a cue's reference is given (degrees; a ratio; centimetres for the sway, in
# body units when used). The cue is named from half of it: differences smaller than that are
# within what video measures of a joint angle (about 5 degrees) or of the body's sway (about
# 2 cm), yet the correct reps of a movement that hardly moves a joint (the knees in a shoulder
# abduction, q90 - q10 about 2 degrees) made a 1-degree knee asymmetry the reason for a high
# injury risk.
MIN_SPREAD = {"knee_asymmetry": 10.0, "hip_asymmetry": 10.0, "trunk_lean_max": 10.0,
              "knee_main_range": 10.0, "shoulder_main_max": 10.0, "knee_ankle_ratio": 0.2}
MIN_SPREAD_CM = {"com_sway": 4.0, "com_offset_max": 6.0}
PAIRS = (("knee_flexion", "knee"), ("hip_flexion", "hip"), ("shoulder_elevation", "shoulder"),
         ("elbow_flexion", "elbow"))


def _arm_moves(movement: int) -> str:
    """How the arm's elevation grows in ``movement``: the angle between upper arm and trunk is
    unsigned, so in a shoulder extension it grows as the arm goes back, not up."""
    return "arm goes back" if CLASS_NAMES[movement] == "standing_shoulder_extension" else "arm rises"


# ---------------------------------------------------------------- rep features


# the features of the reps seen last, by their content: scoring a set's rep reads the features of
# each of the set's other reps (its "usual"), so without this a set of n reps computed n * n of them
# (a 100-rep set took three times as long to assess); a live set's every rep reads its earlier reps'
_MEMO_SIZE = 2048
_MEMO: BoundedMemo[bytes, dict[str, float]] = BoundedMemo(_MEMO_SIZE)


def rep_features(joints: np.ndarray, fps: float = 30.0) -> dict[str, float]:
    """Interpretable features of one rep (T, N_JOINTS, 3), mirror-invariant (side with more motion
    first), sizes in body-size units, angles in degrees."""
    x = np.ascontiguousarray(joints)
    key = hashlib.blake2b(x.tobytes(), digest_size=20).digest() + repr((x.shape, x.dtype.str, float(fps))).encode()
    if (seen := _MEMO.get(key)) is not None:
        return dict(seen)
    f = _rep_features(joints, fps)
    _MEMO.put(key, f)
    return dict(f)


def _rep_features(joints: np.ndarray, fps: float) -> dict[str, float]:
    j = joints - joints[:, J.PELVIS : J.PELVIS + 1]
    j = yaw_align(j)
    scale = float(np.nanmedian(body_scale(j)))
    ang = dict(zip(OWN_ANGLES, _own_angles(j).T))
    f: dict[str, float] = {}
    for base, short in PAIRS:
        r, l = ang[f"{base}_r"], ang[f"{base}_l"]
        main, other = (r, l) if np.ptp(r) >= np.ptp(l) else (l, r)
        for tag, a in (("main", main), ("other", other)):
            f[f"{short}_{tag}_min"] = float(a.min())
            f[f"{short}_{tag}_max"] = float(a.max())
            f[f"{short}_{tag}_range"] = float(np.ptp(a))
            f[f"{short}_{tag}_mean"] = float(a.mean())
        f[f"{short}_asymmetry"] = float(np.mean(np.abs(r - l)))
    for name in ("trunk_lean", "hip_abduction"):
        a = ang[name]
        f[f"{name}_max"] = float(a.max())
        f[f"{name}_mean"] = float(a.mean())
        f[f"{name}_range"] = float(np.ptp(a))
    # knee valgus: knee gap over ankle gap, smallest over the frames with the most knee bend
    knee_gap = np.abs(j[:, J.L_KNEE, 0] - j[:, J.R_KNEE, 0])
    ankle_gap = np.abs(j[:, J.L_ANKLE, 0] - j[:, J.R_ANKLE, 0])
    bend = np.maximum(ang["knee_flexion_r"], ang["knee_flexion_l"])
    deep = bend >= np.percentile(bend, 80)
    f["knee_ankle_ratio"] = float(np.median(knee_gap[deep] / np.maximum(ankle_gap[deep], 0.02)))
    # centre of mass (joint mean) over the base of support (between the ankles), horizontal
    com = j.mean(axis=1)
    bos = 0.5 * (j[:, J.L_ANKLE] + j[:, J.R_ANKLE])
    rel = (com - bos)[:, [0, 2]] / scale
    f["com_sway"] = float(np.linalg.norm(rel - rel.mean(0), axis=1).mean())
    f["com_offset_max"] = float(np.linalg.norm(rel, axis=1).max())
    n = j / scale
    vel = np.diff(n, axis=0) * fps
    f["speed_mean"] = float(np.linalg.norm(vel, axis=2).mean()) if len(vel) else 0.0
    acc = np.diff(vel, 2, axis=0) * fps * fps if len(vel) > 2 else np.zeros((1,) + n.shape[1:])
    f["jerk_log"] = float(np.log1p(np.linalg.norm(acc, axis=2).mean()))
    f["duration_s"] = len(j) / fps
    f["body_scale_m"] = scale
    return f


FEATURE_KEYS: tuple[str, ...] = tuple(rep_features(np.random.default_rng(0).normal(size=(10, 19, 3))))
MODEL_KEYS = tuple(k for k in FEATURE_KEYS if k != "body_scale_m")


def usual_features(features: list[dict[str, float]]) -> dict[str, float]:
    """An athlete's usual rep: the median of each feature over their reps (``rep_features``)."""
    return {k: float(np.median([f[k] for f in features])) for k in FEATURE_KEYS}


def set_usuals(features: list[dict[str, float] | None]) -> list[dict[str, float] | None]:
    """``usual_features`` of each rep's set mates: for each rep, the median over the others, None
    where fewer than two others have features (None: a rep that could not be read). One array for
    the whole set, where a rep's own call would gather its n - 1 mates again."""
    read = np.array([f is not None for f in features], dtype=bool)
    f = np.array([[x[k] for k in FEATURE_KEYS] if x is not None else [np.nan] * len(FEATURE_KEYS)
                  for x in features], dtype=float).reshape(len(features), len(FEATURE_KEYS))
    mates = read[None, :] & ~np.eye(len(f), dtype=bool)
    return [dict(zip(FEATURE_KEYS, map(float, np.median(f[m], axis=0)))) if m.sum() >= 2 else None
            for m in mates]


def feature_vector(f: dict[str, float]) -> np.ndarray:
    return np.array([f[k] for k in MODEL_KEYS], np.float64)


SHAPE_STEPS = 8
_N_SHAPE_TRAJ = N_POS + len(OWN_ANGLES)
# jerk measures the tracker's noise more than the movement; leave it out
_SHAPE_KEEP = np.array([k != "jerk_log" for k in MODEL_KEYS])


def shape_features(joints: np.ndarray) -> np.ndarray:
    """Rep features (without jerk) + an 8-step trajectory of normalised positions and unsigned
    angles: what a linear correct-vs-incorrect model reads. The signed kinematic angles are left
    out: they flip between a value and "undefined" (0) on tiny changes, which a linear model
    reads as huge differences."""
    traj = resample(joint_features(joints)[:, :_N_SHAPE_TRAJ], SHAPE_STEPS).ravel()
    return np.concatenate([feature_vector(rep_features(joints))[_SHAPE_KEEP], traj])


def fit_correctness_per_movement(reps: list[RepRecord], C: float, seed: int) -> dict[int, object]:
    """Per movement with both kinds of rep: a pipeline whose ``predict_proba[:, 1]`` is
    P(correct) from ``shape_features`` (the stability calibration and the judge both use it)."""
    x = np.stack([shape_features(r.joints) for r in reps])
    ok = np.array([int(r.correct) for r in reps])
    moves = np.array([r.movement for r in reps])
    out = {}
    for m in sorted(set(moves.tolist())):
        sel = moves == m
        if len(set(ok[sel].tolist())) == 2:
            out[int(m)] = make_pipeline(
                VarianceThreshold(1e-8),  # e.g. the pelvis, always at the origin
                StandardScaler(),
                LogisticRegression(C=C, max_iter=3000, random_state=seed),
            ).fit(x[sel], ok[sel])
    return out


# ---------------------------------------------------------------- LSTM autoencoder


class _AE(nn.Module):
    def __init__(self, n_in: int, hidden: int, latent: int, n_cond: int):
        super().__init__()
        self.enc = nn.LSTM(n_in + n_cond, hidden, batch_first=True)
        self.to_z = nn.Linear(hidden, latent)
        self.dec = nn.LSTM(latent + n_cond, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_in)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        c = cond[:, None, :].expand(-1, x.shape[1], -1)
        _, (h, _) = self.enc(torch.cat([x, c], dim=2))
        z = torch.tanh(self.to_z(h[-1]))
        zz = z[:, None, :].expand(-1, x.shape[1], -1)
        y, _ = self.dec(torch.cat([zz, c], dim=2))
        return self.out(y)


@dataclass
class StabilityConfig:
    hidden: int = 64
    latent: int = 12
    epochs: int = 15
    lr: float = 3e-3
    batch_size: int = 32
    aug_copies: int = 1
    if_trees: int = 200
    ocsvm_nu: float = 0.1
    supervised_C: float = 0.05
    seed: int = 23


# a rep's reason when nothing in it stands out: "close to your usual", "close to correct reps"
CLOSE_TO = "close to "


@dataclass
class StabilityResult:
    stability_score: float
    balance_score: float
    injury_risk: float
    reason: str
    anomaly: float
    components: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "stability_score": round(self.stability_score, 4),
            "balance_score": round(self.balance_score, 4),
            "injury_risk": round(self.injury_risk, 4),
            "reason": self.reason,
            "anomaly": round(self.anomaly, 4),
            **{k: round(v, 4) for k, v in self.components.items()},
        }


def _squash(z: float) -> float:
    """Robust z-score -> [0, 1]; 0.5 at z = 1.5 (just past the usual spread)."""
    return float(1.0 / (1.0 + np.exp(-(z - 1.5) * 1.5)))


class StabilityModel:
    name = "stability"

    def __init__(self, config: StabilityConfig | None = None):
        self.config = config or StabilityConfig()
        self.ae = _AE(N_FEATURES, self.config.hidden, self.config.latent, N_MOVEMENTS)
        self.mean = np.zeros(N_FEATURES, np.float32)
        self.std = np.ones(N_FEATURES, np.float32)
        self.per_movement: dict[int, dict] = {}
        # IsolationForest scores of reps ``prime`` scored together, by (movement, scaled features)
        self._iso_seen: BoundedMemo[bytes, float] = BoundedMemo(_MEMO_SIZE)

    # ---------------------------------------------------------------- training
    def fit(self, reps: list[RepRecord]) -> "StabilityModel":
        set_threads()
        c = self.config
        rng = seed_everything(c.seed)
        good = [r for r in reps if r.correct]
        aug = Augment(noise_m=0.008, bone_scale=0.05, yaw_deg=15.0)
        xs, ms = [], []
        for r in good:
            xs.append(resample(joint_features(r.joints), STEPS))
            ms.append(r.movement)
            for _ in range(c.aug_copies):
                xs.append(resample(joint_features(aug(r.joints, rng)), STEPS))
                ms.append(r.movement)
        x = np.stack(xs)
        self.mean = x.reshape(-1, N_FEATURES).mean(0)
        self.std = x.reshape(-1, N_FEATURES).std(0) + 1e-2
        xt = to_tensor((x - self.mean) / self.std)
        ct = to_tensor(np.eye(N_MOVEMENTS)[ms])
        self.ae = _AE(N_FEATURES, c.hidden, c.latent, N_MOVEMENTS)

        def batch_loss(idx: np.ndarray) -> torch.Tensor:
            return nn.functional.mse_loss(self.ae(xt[idx], ct[idx]), xt[idx])

        self.history = train_loop(self.ae, len(x), batch_loss, c.epochs, c.lr, c.batch_size, rng)

        supervised = fit_correctness_per_movement(reps, c.supervised_C, c.seed)
        feats = {id(r): rep_features(r.joints) for r in good}
        self.per_movement = {}
        for m in sorted({r.movement for r in good}):
            mine = [r for r in good if r.movement == m]
            fv = np.stack([feature_vector(feats[id(r)]) for r in mine])
            scaler = MinMaxScaler().fit(fv)
            fs = scaler.transform(fv)
            iso = IsolationForest(n_estimators=c.if_trees, random_state=c.seed).fit(fs)
            svm = OneClassSVM(nu=c.ocsvm_nu, gamma="scale").fit(fs)
            raw = np.stack([
                self._ae_error([r.joints for r in mine], m),
                -iso.score_samples(fs),
                -svm.decision_function(fs),
            ], axis=1)
            med = np.median(raw, axis=0)
            iqr = np.subtract(*np.percentile(raw, [75, 25], axis=0)) + 1e-6
            ref = {k: np.array([feats[id(r)][k] for r in mine]) for k in FEATURE_KEYS}
            self.per_movement[m] = {
                "scaler": scaler, "iso": iso, "svm": svm, "med": med, "iqr": iqr,
                "supervised": supervised.get(m),
                "ref_median": {k: float(np.median(v)) for k, v in ref.items()},
                "ref_q90": {k: float(np.percentile(v, 90)) for k, v in ref.items()},
                "ref_q10": {k: float(np.percentile(v, 10)) for k, v in ref.items()},
            }
        return self

    @torch.no_grad()
    def _ae_error(self, sequences: list[np.ndarray], movement: int) -> np.ndarray:
        x = np.stack([resample(joint_features(j), STEPS) for j in sequences])
        xt = to_tensor((x - self.mean) / self.std)
        ct = to_tensor(np.repeat(np.eye(N_MOVEMENTS)[[movement]], len(x), 0))
        self.ae.eval()
        return ((self.ae(xt, ct) - xt) ** 2).mean(dim=(1, 2)).numpy()

    # ---------------------------------------------------------------- scoring
    def _scaled(self, joints: np.ndarray, movement: int) -> np.ndarray:
        return self.per_movement[movement]["scaler"].transform(feature_vector(rep_features(joints))[None])

    @staticmethod
    def _iso_key(movement: int, fs: np.ndarray) -> bytes:
        return bytes([movement]) + np.ascontiguousarray(fs, np.float64).tobytes()

    def prime(self, reps: list[np.ndarray], movement: int) -> None:
        """Score a set's reps on the IsolationForest in one call, for ``anomaly_components`` to
        read: it walks its trees in Python at every call, so one call per rep was most of a
        rep's assessment. Each rep's score is the one it gets on its own."""
        if movement not in self.per_movement or not reps:
            return
        fs = np.concatenate([self._scaled(j, movement) for j in reps])
        scores = self.per_movement[movement]["iso"].score_samples(fs)
        self._iso_seen.update((self._iso_key(movement, row), float(v)) for row, v in zip(fs, scores))

    def _iso_score(self, pm: dict, movement: int, fs: np.ndarray) -> float:
        seen = self._iso_seen.get(self._iso_key(movement, fs[0]))
        return seen if seen is not None else float(pm["iso"].score_samples(fs)[0])

    def anomaly_components(self, joints: np.ndarray, movement: int,
                           mistake_prob: float | None = None) -> dict[str, float]:
        """The detectors' squashed scores, the supervised parts and their fusion ``anomaly``;
        ``mistake_prob``: the mistake GCN's P(incorrect) for this rep, when it ran."""
        pm = self.per_movement[movement]
        fs = self._scaled(joints, movement)
        raw = np.array([
            self._ae_error([joints], movement)[0],
            -self._iso_score(pm, movement, fs),
            -pm["svm"].decision_function(fs)[0],
        ])
        z = (raw - pm["med"]) / pm["iqr"]
        comps = {"anomaly_ae": _squash(z[0]), "anomaly_iforest": _squash(z[1]),
                 "anomaly_ocsvm": _squash(z[2])}
        parts = [float(np.mean(list(comps.values())))]
        sup = pm.get("supervised")
        if sup is not None:
            p_correct = sup.predict_proba(shape_features(joints)[None])[0, 1]
            comps["anomaly_supervised"] = float(1.0 - p_correct)
            parts.append(comps["anomaly_supervised"])
        if mistake_prob is not None:
            comps["anomaly_mistake"] = float(mistake_prob)
            parts.append(comps["anomaly_mistake"])
        comps["anomaly"] = float(np.mean(parts))
        return comps

    def anomaly(self, joints: np.ndarray, movement: int, mistake_prob: float | None = None) -> float:
        return self.anomaly_components(joints, movement, mistake_prob)["anomaly"]

    def score(self, joints: np.ndarray, movement: int,
              baseline: list[np.ndarray] | None = None,
              mistake_prob: float | None = None,
              usual: dict[str, float] | None = None) -> StabilityResult:
        """Score one rep; ``baseline``: the athlete's own earlier reps of this movement, if any
        (the reason then compares with "your usual", else with the correct reference);
        ``mistake_prob``: the mistake GCN's P(incorrect), fused into the anomaly; ``usual``: the
        baseline's ``usual_features`` when the caller has them (``baseline`` is then not read)."""
        if movement not in self.per_movement:
            raise ModelMissing(f"no stability model for movement {movement}")
        comps = self.anomaly_components(joints, movement, mistake_prob)
        anomaly = comps.pop("anomaly")
        pm = self.per_movement[movement]
        f = rep_features(joints)
        if usual is None and baseline:
            usual = usual_features([rep_features(b) for b in baseline])
        if usual is not None:
            who = "your usual"
        else:
            usual = pm["ref_median"]
            who = "correct reps"
        least = {**MIN_SPREAD, **{k: cm / 100.0 / max(f["body_scale_m"], 1e-6) for k, cm in MIN_SPREAD_CM.items()}}
        spread = {k: max(pm["ref_q90"][k] - pm["ref_q10"][k], least.get(k, 1e-6)) for k in FEATURE_KEYS}

        def excess(key: str, higher_is_bad: bool = True) -> float:
            d = (f[key] - usual[key]) if higher_is_bad else (usual[key] - f[key])
            return float(np.clip(d / spread[key], 0.0, None))

        scale_cm = f["body_scale_m"] * 100.0
        cues = {
            "knees cave in at the bottom": excess("knee_ankle_ratio", higher_is_bad=False)
            if pm["ref_median"]["knee_main_range"] > 30 else 0.0,
            f"trunk leans {f['trunk_lean_max'] - usual['trunk_lean_max']:.0f}° more than {who}":
                excess("trunk_lean_max"),
            f"knee asymmetry {f['knee_asymmetry'] - usual['knee_asymmetry']:.0f}° above {who}":
                excess("knee_asymmetry"),
            f"body sways {(f['com_sway'] - usual['com_sway']) * scale_cm:.0f} cm more than {who}":
                excess("com_sway"),
            f"knee range {usual['knee_main_range'] - f['knee_main_range']:.0f}° smaller than {who}":
                excess("knee_main_range", higher_is_bad=False)
            if pm["ref_median"]["knee_main_range"] > 30 else 0.0,
            f"{_arm_moves(movement)} {usual['shoulder_main_max'] - f['shoulder_main_max']:.0f}° less than {who}":
                excess("shoulder_main_max", higher_is_bad=False)
            if pm["ref_median"]["shoulder_main_range"] > 30 else 0.0,
        }
        worst, worst_v = max(cues.items(), key=lambda kv: kv[1])
        sway_bad = excess("com_sway") + excess("com_offset_max")
        asym_bad = excess("knee_asymmetry") + excess("hip_asymmetry")
        balance = float(np.clip(np.exp(-0.5 * sway_bad - 0.25 * asym_bad), 0.0, 1.0))
        risk_cue = float(1.0 - np.exp(-0.7 * worst_v))
        injury = float(np.clip(0.5 * anomaly + 0.5 * risk_cue, 0.0, 1.0))
        if worst_v >= 0.5:
            reason = worst
        elif anomaly >= 0.5:
            reason = f"shape or timing unlike {who}"
        else:
            reason = CLOSE_TO + who
        return StabilityResult(1.0 - anomaly, balance, injury, reason, anomaly, comps)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        from physio_core.features import FEATURE_VERSION

        joblib.dump(
            {"kind": self.name, "feature_version": FEATURE_VERSION, "config": self.config,
             "ae_state": {k: v.numpy() for k, v in self.ae.state_dict().items()},
             "mean": self.mean, "std": self.std, "per_movement": self.per_movement},
            path, compress=3,
        )

    @classmethod
    def load(cls, path: str | Path) -> "StabilityModel":
        from physio_core.features import FEATURE_VERSION

        path = Path(path)
        if not path.exists():
            raise ModelMissing(f"{path} not found: train with `python -m physio_core.train`")
        d = joblib.load(path)
        if d.get("kind") != cls.name or d.get("feature_version") != FEATURE_VERSION:
            raise ValueError(f"{path}: not a stability model for features {FEATURE_VERSION}")
        m = cls(d["config"])
        m.ae.load_state_dict({k: torch.from_numpy(v) for k, v in d["ae_state"].items()})
        m.ae.eval()
        m.mean, m.std, m.per_movement = d["mean"], d["std"], d["per_movement"]
        return m

    def predict(self, sequences: list[np.ndarray], movements: list[int]) -> np.ndarray:
        """Anomaly in [0, 1] of each rep (higher = further from correct reps)."""
        return np.array([self.anomaly(j, m) for j, m in zip(sequences, movements)])
