"""Lift recognition (bench, squat, dead, ohp, row, rest) from wrist-IMU windows.

Each set is cut into 4 s windows (1 s step); a standardised logistic regression gives each
window class probabilities and the set's answer is the mean over its windows. Two models are
kept in one file: one on accelerometer + gyroscope features, one on accelerometer features only
(for CSVs without gyroscope columns). In leave-one-participant-out tests on the MetaMotion sets
the logistic regression did as well as or better than random forests, extra trees and gradient
boosting (see models/imu.md), and it is tiny.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physio_core.libs import IMPORT_LOCK

with IMPORT_LOCK:  # the live page may be loading the models (and scikit-learn) on another thread
    import joblib
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

from physio_core.config import get_settings
from physio_core.imu.features import STEP_S, WINDOW_S, series_windows
from physio_core.imu.io import ImuSeries
from physio_core.ml.weights import IMU_LIFT_FILE, weights_fingerprint

MODEL_FILE = IMU_LIFT_FILE
FORMAT_VERSION = 1


def default_model_path() -> Path:
    return get_settings().model_dir / MODEL_FILE


@dataclass
class LiftPrediction:
    label: str
    probabilities: dict[str, float]  # mean window probability per label
    n_windows: int
    used_gyroscope: bool
    weights: str | None = None  # the fingerprint of the classifier's file (ml.weights), when loaded from one

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "n_windows": self.n_windows,
            "used_gyroscope": self.used_gyroscope,
            "weights": self.weights,
        }


def _make_model(c: float, seed: int) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000, random_state=seed))


@dataclass
class SetFeatures:
    """Window features of one set, computed once and reused across folds."""

    full: np.ndarray | None  # (W, F) acc + gyr, None without gyroscope
    acc_only: np.ndarray  # (W, F')

    @classmethod
    def of(cls, series: ImuSeries, window_s: float = WINDOW_S, step_s: float = STEP_S) -> SetFeatures:
        full = None
        if series.gyr is not None:
            full = series_windows(series, use_gyr=True, window_s=window_s, step_s=step_s)[1]
        return cls(full, series_windows(series, use_gyr=False, window_s=window_s, step_s=step_s)[1])


class LiftClassifier:
    """fit / predict / save / load, scikit-learn underneath."""

    def __init__(self, c: float = 0.3, seed: int = 0, window_s: float = WINDOW_S, step_s: float = STEP_S):
        self.c = c
        self.seed = seed
        self.window_s = window_s
        self.step_s = step_s
        self.full: Pipeline | None = None
        self.acc_only: Pipeline | None = None
        self.fingerprint: str | None = None  # of the file it was loaded from (ml.weights); None when fitted here

    @property
    def labels(self) -> list[str]:
        if self.acc_only is None:
            raise RuntimeError("LiftClassifier is not fitted")
        return [str(c) for c in self.acc_only.classes_]

    def featurize(self, series: ImuSeries) -> SetFeatures:
        return SetFeatures.of(series, self.window_s, self.step_s)

    def fit(self, series: Sequence[ImuSeries | SetFeatures], labels: Sequence[str]) -> LiftClassifier:
        feats = [s if isinstance(s, SetFeatures) else self.featurize(s) for s in series]
        if len(feats) != len(labels) or not feats:
            raise ValueError("need one label per set and at least one set")
        y_acc = np.concatenate([[lab] * len(f.acc_only) for f, lab in zip(feats, labels)])
        self.acc_only = _make_model(self.c, self.seed).fit(np.vstack([f.acc_only for f in feats]), y_acc)
        with_gyr = [(f.full, lab) for f, lab in zip(feats, labels) if f.full is not None]
        self.full = None
        self.fingerprint = None
        if with_gyr:
            y = np.concatenate([[lab] * len(x) for x, lab in with_gyr])
            self.full = _make_model(self.c, self.seed).fit(np.vstack([x for x, _ in with_gyr]), y)
        return self

    def _model_for(self, f: SetFeatures) -> tuple[Pipeline, np.ndarray, bool]:
        """(model, its window features, with the gyroscope?): acc + gyr where both have it."""
        if self.acc_only is None:
            raise RuntimeError("LiftClassifier is not fitted")
        use_gyr = f.full is not None and self.full is not None
        return (self.full, f.full, True) if use_gyr else (self.acc_only, f.acc_only, False)

    def predict_set(self, series: ImuSeries | SetFeatures) -> LiftPrediction:
        model, x, use_gyr = self._model_for(series if isinstance(series, SetFeatures) else self.featurize(series))
        proba = model.predict_proba(x).mean(axis=0)
        probs = {str(c): float(p) for c, p in zip(model.classes_, proba)}
        return LiftPrediction(max(probs, key=probs.get), probs, len(x), use_gyr, self.fingerprint)

    def predict_windows(self, series: ImuSeries) -> tuple[list[str], list[float]]:
        """Each window's lift and its probability (windows of ``window_s``, ``step_s`` apart, from
        the start of the series on its uniform grid, as ``features.window_starts`` lays them)."""
        model, x, _ = self._model_for(self.featurize(series))
        proba = model.predict_proba(x)
        best = proba.argmax(axis=1)
        return [str(model.classes_[k]) for k in best], [float(p[k]) for p, k in zip(proba, best)]

    def predict(self, series: ImuSeries | SetFeatures) -> str:
        return self.predict_set(series).label

    def save(self, path: str | Path | None = None) -> Path:
        path = Path(path) if path else default_model_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(
            {
                "format_version": FORMAT_VERSION,
                "sklearn_version": sklearn.__version__,
                "params": {"c": self.c, "seed": self.seed, "window_s": self.window_s, "step_s": self.step_s},
                "full": self.full,
                "acc_only": self.acc_only,
            },
            path,
            compress=3,
        )
        return path

    @classmethod
    def load(cls, path: str | Path | None = None) -> LiftClassifier:
        path = Path(path) if path else default_model_path()
        if not path.exists():
            raise FileNotFoundError(
                f"IMU lift model not found at {path}; run `python -m physio_core.imu.train`"
            )
        blob = joblib.load(path)
        if blob.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unknown IMU model format {blob.get('format_version')!r}")
        model = cls(**blob["params"])
        model.full, model.acc_only = blob["full"], blob["acc_only"]
        model.fingerprint = weights_fingerprint(path.parent, (path.name,))
        return model
