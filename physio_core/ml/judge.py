"""Independent correct-vs-incorrect classifier used only to judge corrected reps.

It shares no weights, architecture or training objective with the mistake GCN: one
regularised logistic regression per movement over interpretable rep features (stability.py)
and a coarse (8-step) trajectory of the joint angles and normalised positions.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np

from physio_core.features import FEATURE_VERSION
from physio_core.ml.common import ModelMissing
from physio_core.ml.data import RepRecord
from physio_core.ml.stability import fit_correctness_per_movement
from physio_core.ml.stability import shape_features as judge_features


class CorrectnessJudge:
    name = "judge"

    def __init__(self, C: float = 0.05, seed: int = 5):
        self.C = C
        self.seed = seed
        self.models: dict[int, object] = {}

    def fit(self, reps: list[RepRecord]) -> "CorrectnessJudge":
        self.models = fit_correctness_per_movement(reps, self.C, self.seed)
        return self

    def prob_correct(self, sequences: list[np.ndarray], movements: list[int]) -> np.ndarray:
        out = np.zeros(len(sequences))
        for i, (j, k) in enumerate(zip(sequences, movements)):
            if int(k) not in self.models:
                raise ModelMissing(f"the judge has no model for movement {k}")
            out[i] = self.models[int(k)].predict_proba(judge_features(j)[None])[0, 1]
        return out

    def predict(self, sequences: list[np.ndarray], movements: list[int]) -> np.ndarray:
        return (self.prob_correct(sequences, movements) >= 0.5).astype(int)

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"kind": self.name, "feature_version": FEATURE_VERSION, "C": self.C,
                     "models": self.models}, path, compress=3)

    @classmethod
    def load(cls, path: str | Path) -> "CorrectnessJudge":
        path = Path(path)
        if not path.exists():
            raise ModelMissing(f"{path} not found: train with `python -m physio_core.train`")
        d = joblib.load(path)
        if d.get("kind") != cls.name or d.get("feature_version") != FEATURE_VERSION:
            raise ValueError(f"{path}: not a judge for features {FEATURE_VERSION}")
        m = cls(d["C"])
        m.models = d["models"]
        return m
