"""One runtime facade over the learned models for the pipeline and the live page.

    suite = ModelSuite.load(get_settings().model_dir)
    suite.classify_window(seq)             -> ExercisePrediction
    suite.rep_phase(seq) / count_reps(seq) -> phase signal / RepCount
    suite.segment_reps(seq)                -> [(start, peak, end) frame of each rep]
    suite.score_rep(rep_pose)              -> {stability_score, balance_score, injury_risk, reason}
    suite.mistake_and_correction(rep_pose) -> (MistakeLabel, corrected PoseSequence)

Each model loads on its own: missing or stale weights leave that model out and its methods
raise ``ModelUnavailable`` with the reason (``suite.missing`` lists them), the others work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physio_core.features import fill_gaps, impute_missing_toes
from physio_core.ml.common import ModelMissing, set_threads
from physio_core.ml.data import CLASS_NAMES, FPS, OTHER
from physio_core.ml.weights import FILES, weights_fingerprint
from physio_core.skeleton import N_JOINTS, J, PoseSequence


class ModelUnavailable(RuntimeError):
    """A model's weights are missing or do not fit this code."""


@dataclass
class ExercisePrediction:
    label: str  # one of CLASS_NAMES ("other" = no exercise)
    index: int
    confidence: float
    probabilities: dict[str, float]


@dataclass
class MistakeLabel:
    movement: str
    correct: bool
    confidence: float  # the probability of the verdict (correct or incorrect)
    p_incorrect: float  # summed over the ten movements; fused into the stability score

    def __str__(self) -> str:
        return f"{self.movement}: {'correct' if self.correct else 'incorrect'}"


def _joints(x: PoseSequence | np.ndarray, fill: bool = True) -> np.ndarray:
    """Checked (T, N_JOINTS, 3) joints; frames without a person are filled from their
    neighbours unless ``fill`` is False (the rep detector reads them as rest). Toes a source
    does not give are put where the training skeletons have them."""
    j = x.joints if isinstance(x, PoseSequence) else np.asarray(x, float)
    if j.ndim != 3 or j.shape[1:] != (N_JOINTS, 3):
        raise ValueError(f"expected (T, {N_JOINTS}, 3) joints, got {j.shape}")
    if len(j) < 2:
        raise ValueError("need at least 2 frames")
    if not np.isfinite(j[:, 0, 0]).any():
        raise ValueError("no frame with a person in it")
    return impute_missing_toes(fill_gaps(j) if fill else j)


def _prediction(p: np.ndarray) -> ExercisePrediction:
    """The classifier's probabilities of one window as its prediction."""
    k = int(p.argmax())
    return ExercisePrediction(CLASS_NAMES[k], k, float(p[k]), {n: float(v) for n, v in zip(CLASS_NAMES, p)})


def _fps(seq: PoseSequence | np.ndarray, fps: float | None) -> float:
    if fps is not None:
        return float(fps)
    return float(seq.fps) if isinstance(seq, PoseSequence) else FPS


class ModelSuite:
    def __init__(self, models_dir: Path, models: dict, missing: dict[str, str], fingerprint: str | None = None):
        self.models_dir = models_dir
        self._m = models
        self.missing = missing
        self.fingerprint = fingerprint  # weights.weights_fingerprint of the files loaded

    @classmethod
    def load(cls, models_dir: str | Path | None = None) -> "ModelSuite":
        from physio_core.config import get_settings
        from physio_core.ml.classifier import ExerciseClassifier
        from physio_core.ml.gcn import MistakeGCN
        from physio_core.ml.judge import CorrectnessJudge
        from physio_core.ml.repcount import RepDetector
        from physio_core.ml.stability import StabilityModel

        set_threads(1)
        d = Path(models_dir) if models_dir is not None else get_settings().model_dir
        kinds = {"classifier": ExerciseClassifier, "rep": RepDetector,
                 "stability": StabilityModel, "gcn": MistakeGCN, "judge": CorrectnessJudge}
        models, missing = {}, {}
        fingerprint = weights_fingerprint(d)
        for key, kind in kinds.items():
            try:
                models[key] = kind.load(d / FILES[key])
            except (ModelMissing, ValueError, KeyError, RuntimeError) as e:
                missing[key] = str(e)
        return cls(d, models, missing, fingerprint)

    def has(self, key: str) -> bool:
        return key in self._m

    def _need(self, key: str):
        if key not in self._m:
            raise ModelUnavailable(f"model '{key}' unavailable: {self.missing.get(key, 'not loaded')}")
        return self._m[key]

    # ---------------------------------------------------------------- exercise
    def classify_window(self, window: PoseSequence | np.ndarray, fps: float = 30.0,
                        seconds: float | None = None) -> ExercisePrediction:
        """Classify a whole rep or the last ``seconds`` of a stream (all frames if None)."""
        clf = self._need("classifier")
        j = _joints(window)
        if seconds is not None:
            j = j[-max(2, int(seconds * fps)) :]
        return _prediction(clf.predict_proba([j])[0])

    def classify_windows(self, windows: Sequence[PoseSequence | np.ndarray]) -> list[ExercisePrediction]:
        """``classify_window`` of each whole window, in one batch (a recording read window by
        window: ``physio_core.sets``)."""
        if not windows:
            return []
        return [_prediction(p) for p in self._need("classifier").predict_proba([_joints(w) for w in windows])]

    # ---------------------------------------------------------------- reps
    def rep_phase(self, seq: PoseSequence | np.ndarray, fps: float | None = None) -> np.ndarray:
        return self._need("rep").phase(_joints(seq, fill=False), _fps(seq, fps))

    def count_reps(self, seq: PoseSequence | np.ndarray, fps: float | None = None):
        """RepCount(count, peaks_frame, phase) of a continuous set."""
        return self._need("rep").count(_joints(seq, fill=False), _fps(seq, fps))

    def segment_reps(self, seq: PoseSequence | np.ndarray, fps: float | None = None
                     ) -> list[tuple[int, int, int]]:
        """(start, peak, end) frames of each rep the learned rep detector counts."""
        return self._need("rep").segment(_joints(seq, fill=False), _fps(seq, fps))

    # ---------------------------------------------------------------- stability
    def prime_set(self, rep_poses: list[PoseSequence | np.ndarray], movement: str) -> None:
        """Before ``score_rep`` on each rep of a set as ``movement``: the stability model scores
        their IsolationForest part in one call (``StabilityModel.prime``); the scores are the same."""
        if self.has("stability") and movement in CLASS_NAMES[:OTHER]:
            self._m["stability"].prime([_joints(p) for p in rep_poses], CLASS_NAMES.index(movement))

    @staticmethod
    def set_usuals(rep_poses: Sequence[PoseSequence | np.ndarray]) -> list[dict[str, float] | None]:
        """For each rep of a set, its set mates' usual features: what ``score_rep`` reads from a
        ``baseline`` of the other reps, worked out once for the whole set. A rep that cannot be
        read (too few measured joints) is left out of the others' usual."""
        from physio_core.ml.stability import rep_features, set_usuals

        def features(p: PoseSequence | np.ndarray) -> dict[str, float] | None:
            try:
                return rep_features(_joints(p))
            except ValueError:
                return None

        return set_usuals([features(p) for p in rep_poses])

    def _movement(self, j: np.ndarray, movement: int | str | None) -> int:
        if isinstance(movement, str):
            if movement not in CLASS_NAMES[:OTHER]:
                raise ValueError(f"unknown movement {movement!r}")
            return CLASS_NAMES.index(movement)
        if movement is not None:
            return int(movement)
        pred = self.classify_window(j)
        if pred.index == OTHER:
            p = np.array([pred.probabilities[n] for n in CLASS_NAMES[:OTHER]])
            return int(p.argmax())
        return pred.index

    def score_rep(self, rep_pose: PoseSequence | np.ndarray, movement: int | str | None = None,
                  baseline: list[PoseSequence] | None = None,
                  mistake: MistakeLabel | None = None, usual: dict[str, float] | None = None) -> dict:
        """{stability_score, balance_score, injury_risk, reason, movement, ...} for one rep.
        ``movement``: index or name (classified when None); ``baseline``: the athlete's own
        earlier reps of it, so the reason reads "than your usual"; ``mistake``: this rep's
        ``mistake_and_correction`` label when the caller has it (else the GCN runs here);
        ``usual``: the baseline's features, when the caller has them (``set_usuals``)."""
        model = self._need("stability")
        j = _joints(rep_pose)
        m = self._movement(j, movement)
        base = [_joints(b) for b in baseline] if baseline and usual is None else None
        p_bad = mistake.p_incorrect if mistake is not None else self.mistake_prob(j)
        out = model.score(j, m, base, p_bad, usual=usual).to_dict()
        out["movement"] = CLASS_NAMES[m]
        return out

    # ---------------------------------------------------------------- mistakes
    def mistake_prob(self, rep_pose: PoseSequence | np.ndarray) -> float | None:
        """The mistake GCN's P(incorrect) for one rep (None without the GCN)."""
        from physio_core.ml.gcn import prob_incorrect

        if not self.has("gcn"):
            return None
        return float(prob_incorrect(self._m["gcn"].predict_raw([_joints(rep_pose)])[0])[0])

    def mistake_and_correction(self, rep_pose: PoseSequence | np.ndarray
                               ) -> tuple[MistakeLabel, PoseSequence]:
        from physio_core.ml.gcn import prob_incorrect, read_label

        gcn = self._need("gcn")
        j = _joints(rep_pose)
        probs, fixed = gcn.correct([j])
        move, correct, confidence = read_label(probs)
        label = MistakeLabel(CLASS_NAMES[int(move[0])], bool(correct[0]), float(confidence[0]),
                             float(prob_incorrect(probs)[0]))
        src = rep_pose if isinstance(rep_pose, PoseSequence) else None
        given = rep_pose.joints if src is not None else np.asarray(rep_pose, float)
        for toe in (J.L_TOE, J.R_TOE):  # no correction of a toe nobody measured
            if not np.isfinite(given[:, toe]).any():
                fixed[0][:, toe] = np.nan
        t = len(fixed[0])
        fps = src.fps if src is not None else 30.0
        times = src.times if src is not None else np.arange(t) / fps
        root = src.root if src is not None else None
        corrected = PoseSequence(fixed[0], np.ones((t, N_JOINTS)), times, fps, root)
        return label, corrected

    def judge_correct(self, rep_pose: PoseSequence | np.ndarray, movement: int | str) -> float:
        """Probability that a rep is correct, from the independent judge."""
        judge = self._need("judge")
        j = _joints(rep_pose)
        return float(judge.prob_correct([j], [self._movement(j, movement)])[0])
