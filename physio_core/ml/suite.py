"""Training and scoring of all UI-PRMD models together (used by train.py and evaluate.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from physio_core.ml.classifier import ExerciseClassifier
from physio_core.ml.data import CLASS_NAMES, FPS, N_MOVEMENTS, OTHER, Augment, RepRecord, other_samples
from physio_core.ml.gcn import MistakeGCN, label20, nearest_correct, prob_incorrect, rep_input
from physio_core.ml.judge import CorrectnessJudge
from physio_core.ml.repcount import RepDetector, build_sets, speed_up
from physio_core.ml.stability import StabilityModel
from physio_core.ml.weights import FILES

SCORE_SEED = 2024
FAST_TEMPOS = (2.0, 3.0)  # rep counting is also scored on the sets played this much faster
ANOMALY_PARTS = ("ae", "iforest", "ocsvm", "supervised", "mistake")


@dataclass
class Models:
    classifier: ExerciseClassifier | None = None
    rep: RepDetector | None = None
    stability: StabilityModel | None = None
    gcn: MistakeGCN | None = None
    judge: CorrectnessJudge | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def save(self, out_dir: str | Path) -> None:
        out = Path(out_dir)
        for key, fname in FILES.items():
            m = getattr(self, key)
            if m is not None:
                m.save(out / fname)

    @classmethod
    def load(cls, models_dir: str | Path) -> "Models":
        d = Path(models_dir)
        return cls(
            ExerciseClassifier.load(d / FILES["classifier"]),
            RepDetector.load(d / FILES["rep"]),
            StabilityModel.load(d / FILES["stability"]),
            MistakeGCN.load(d / FILES["gcn"]),
            CorrectnessJudge.load(d / FILES["judge"]),
        )


def train_all(reps: list[RepRecord], gcn_targets: list[np.ndarray] | None = None,
              only: set[str] | None = None, log=print, save_to: str | Path | None = None) -> Models:
    m = Models()
    steps = (
        ("classifier", lambda: ExerciseClassifier().fit(reps)),
        ("rep", lambda: RepDetector().fit(reps)),
        ("stability", lambda: StabilityModel().fit(reps)),
        ("gcn", lambda: MistakeGCN().fit(reps, gcn_targets)),
        ("judge", lambda: CorrectnessJudge().fit(reps)),
    )
    for key, fit in steps:
        if only is not None and key not in only:
            continue
        t = time.perf_counter()
        setattr(m, key, fit())
        m.seconds[key] = time.perf_counter() - t
        log(f"  trained {key:<10} in {m.seconds[key]:6.1f} s")
        if save_to is not None:
            getattr(m, key).save(Path(save_to) / FILES[key])
    return m


@dataclass
class Raw:
    """Per-item outcomes, pooled over folds before computing the figures."""

    movement_true: list[int] = field(default_factory=list)
    movement_pred: list[int] = field(default_factory=list)
    other_pred: list[int] = field(default_factory=list)
    mistake_true: list[int] = field(default_factory=list)  # label20
    mistake_pred: list[int] = field(default_factory=list)
    anomaly: list[float] = field(default_factory=list)
    anomaly_parts: list[list[float]] = field(default_factory=list)
    anomaly_correct: list[int] = field(default_factory=list)
    anomaly_movement: list[int] = field(default_factory=list)
    judge_true: list[int] = field(default_factory=list)
    judge_pred: list[int] = field(default_factory=list)
    corrected_ok: list[int] = field(default_factory=list)
    reference_ok: list[int] = field(default_factory=list)
    reps_true: list[int] = field(default_factory=list)
    reps_pred: list[int] = field(default_factory=list)
    reps_angle_pred: list[int] = field(default_factory=list)  # the principal-angle counter's
    reps_app_pred: list[int] = field(default_factory=list)  # as the app counts (larger_count)
    rep_bound_err_s: list[float] = field(default_factory=list)  # |start| and |end| errors, exact sets
    # the same sets played faster: [speed, true, detector's, angle counter's, app's count] each
    reps_fast: list[list[float]] = field(default_factory=list)

    def extend(self, other: "Raw") -> None:
        for k in self.__dataclass_fields__:
            getattr(self, k).extend(getattr(other, k))


def score_all(models: Models, reps: list[RepRecord], seed: int = SCORE_SEED) -> Raw:
    """Run every model on ``reps`` (subjects the models may or may not have seen)."""
    rng = np.random.default_rng(seed)
    raw = Raw()
    joints = [r.joints for r in reps]
    moves = [r.movement for r in reps]
    if models.classifier is not None:
        raw.movement_true = moves
        raw.movement_pred = models.classifier.predict(joints).tolist()
        aug = Augment()
        others = [aug(j, rng, time_warp=False) for j in other_samples(reps, rng, 40)]
        raw.other_pred = models.classifier.predict(others).tolist()
    if models.gcn is not None:
        raw.mistake_true = [r.label20 for r in reps]
        gcn_probs, fixed = models.gcn.correct(joints)
        raw.mistake_pred = label20(gcn_probs).tolist()  # as the app reads it
        if models.judge is not None:
            inc = [i for i, r in enumerate(reps) if not r.correct]
            ok = models.judge.predict([fixed[i] for i in inc], [moves[i] for i in inc])
            raw.corrected_ok = ok.tolist()
            # what a perfect correction toward the training target would score: the subject's
            # own nearest correct rep in place of each incorrect one
            near = nearest_correct(reps, [rep_input(j) for j in joints])
            has = [i for i in inc if near[i] is not None]
            ref = models.judge.predict([joints[near[i]] for i in has], [moves[i] for i in has])
            raw.reference_ok = ref.tolist()
    if models.judge is not None:
        raw.judge_true = [int(r.correct) for r in reps]
        raw.judge_pred = models.judge.predict(joints, moves).tolist()
    if models.stability is not None:
        mistake = prob_incorrect(gcn_probs) if models.gcn is not None else [None] * len(reps)
        for r, p_bad in zip(reps, mistake):
            c = models.stability.anomaly_components(r.joints, r.movement, p_bad)
            raw.anomaly.append(c["anomaly"])
            raw.anomaly_parts.append([c.get(f"anomaly_{name}", np.nan) for name in ANOMALY_PARTS])
            raw.anomaly_correct.append(int(r.correct))
            raw.anomaly_movement.append(r.movement)
    if models.rep is not None:
        for j, spans, k, movement in build_sets(reps, rng, per_group=2, augment=False):
            raw.reps_true.append(k)
            found, n_angle, n_app = rep_counts(models.rep, j, movement)
            if len(found) == k:
                for (s, _, e), (a, b) in zip(found, spans):
                    raw.rep_bound_err_s += [abs(s - a) / FPS, abs(e - (b - 1)) / FPS]
            raw.reps_pred.append(len(found))
            raw.reps_angle_pred.append(n_angle)
            raw.reps_app_pred.append(n_app)
            for speed in FAST_TEMPOS:
                fast, _ = speed_up(j, spans, speed)
                found, n_angle, n_app = rep_counts(models.rep, fast, movement)
                raw.reps_fast.append([speed, k, len(found), n_angle, n_app])
    return raw


def rep_counts(detector: RepDetector, joints: np.ndarray, movement: int
               ) -> tuple[list[tuple[int, int, int]], int, int]:
    """One set (at ``FPS``) counted three ways: the detector's reps, the principal-angle
    counter's count (told the movement; it learns nothing) and the app's count
    (``reps.larger_count``, as ``assess.count_set`` counts uploads)."""
    from physio_core.kinematics import ANGLE_NAMES, angles_from_joints
    from physio_core.reps import choose_principal_angle, count_reps, larger_count
    from physio_core.results import AngleSeries

    angles = AngleSeries(ANGLE_NAMES, angles_from_joints(joints), np.arange(len(joints)) / FPS)
    principal = choose_principal_angle(angles, exercise=CLASS_NAMES[movement])
    by_angle = count_reps(angles, angle=principal, fps=FPS, exercise=CLASS_NAMES[movement])
    found = detector.segment(joints, FPS)
    app = larger_count(by_angle, found, angles, principal, FPS, joints=joints)
    return found, len(by_angle), len(app)


def _macro(true: np.ndarray, pred: np.ndarray, classes) -> tuple[float, dict]:
    per = {c: float((pred[true == c] == c).mean()) for c in classes if (true == c).any()}
    return (float(np.mean(list(per.values()))) if per else float("nan")), per


def figures(raw: Raw) -> dict:
    """The contract figures (fractions in [0, 1]) plus details for the table."""
    f: dict = {}
    if raw.movement_true:
        t, p = np.array(raw.movement_true), np.array(raw.movement_pred)
        f["movement_accuracy"] = float((t == p).mean())
        f["movement_macro_accuracy"], per = _macro(t, p, range(N_MOVEMENTS))
        f["movement_per_class"] = {CLASS_NAMES[k]: v for k, v in per.items()}
        f["other_accuracy"] = float((np.array(raw.other_pred) == OTHER).mean())
    if raw.mistake_true:
        t, p = np.array(raw.mistake_true), np.array(raw.mistake_pred)
        bt, bp = t % 2, p % 2  # 0 correct, 1 incorrect
        f["mistake_macro_accuracy"], per = _macro(bt, bp, (0, 1))
        f["mistake_per_class"] = {("correct", "incorrect")[k]: v for k, v in per.items()}
        f["mistake_20class_macro_accuracy"], _ = _macro(t, p, range(2 * N_MOVEMENTS))
        f["mistake_movement_accuracy"] = float((t // 2 == p // 2).mean())
    if raw.corrected_ok:
        f["corrected_success"] = float(np.mean(raw.corrected_ok))
    if raw.reference_ok:
        f["corrected_reference"] = float(np.mean(raw.reference_ok))
    if raw.judge_true:
        t, p = np.array(raw.judge_true), np.array(raw.judge_pred)
        f["judge_macro_accuracy"], _ = _macro(t, p, (0, 1))
        f["judge_incorrect_passed_uncorrected"] = float(p[t == 0].mean())
    if raw.anomaly:
        a, c, m = np.array(raw.anomaly), np.array(raw.anomaly_correct), np.array(raw.anomaly_movement)
        parts = np.array(raw.anomaly_parts)
        aucs = [roc_auc_score(1 - c[m == k], a[m == k]) for k in sorted(set(m))
                if len(set(c[m == k])) == 2]
        f["anomaly_auc"] = float(np.mean(aucs))
        f["anomaly_auc_per_movement"] = {CLASS_NAMES[k]: float(v) for k, v in zip(sorted(set(m)), aucs)}
        f["anomaly_auc_pooled"] = float(roc_auc_score(1 - c, a))
        for i, name in enumerate(ANOMALY_PARTS):
            if np.isnan(parts[:, i]).any():
                continue
            f[f"anomaly_auc_{name}"] = float(np.mean([
                roc_auc_score(1 - c[m == k], parts[m == k, i]) for k in sorted(set(m))
                if len(set(c[m == k])) == 2
            ]))
    if raw.reps_true:
        t, p = np.array(raw.reps_true, float), np.array(raw.reps_pred, float)
        f["rep_count_mae"] = float(np.mean(np.abs(p - t) / t))
        f["rep_count_obo"] = float(np.mean(np.abs(p - t) <= 1))
        f["rep_count_exact"] = float(np.mean(p == t))
        f["rep_count_sets"] = len(t)
        f["rep_boundary_error_s"] = float(np.mean(raw.rep_bound_err_s)) if raw.rep_bound_err_s else float("nan")
        a, app = np.array(raw.reps_angle_pred, float), np.array(raw.reps_app_pred, float)
        for tag, c in (("_angle", a), ("_app", app)):
            f[f"rep_count{tag}_mae"] = float(np.mean(np.abs(c - t) / t))
            f[f"rep_count{tag}_obo"] = float(np.mean(np.abs(c - t) <= 1))
            f[f"rep_count{tag}_exact"] = float(np.mean(c == t))
        fast = np.array(raw.reps_fast, float).reshape(-1, 5)
        for speed in FAST_TEMPOS:
            _, t, p, a, app = fast[fast[:, 0] == speed].T
            for tag, c in (("", p), ("_angle", a), ("_app", app)):
                f[f"rep_count{tag}_obo_{speed:g}x"] = float(np.mean(np.abs(c - t) <= 1))
    return f
