"""What the injury-risk reasons name on real reps, with and without the cues' least spread.

    python scripts/experiments/reason_sizes.py

Every UI-PRMD rep (8 subjects, 10 movements, correct and incorrect) scored by the shipped
stability model against the subject's own first five correct reps of the movement (as the app
scores an athlete's rep against their earlier ones). Printed twice: with the reference spread
of each cue as trained (as before 2026-12-05) and with
``ml.stability.MIN_SPREAD`` / ``MIN_SPREAD_CM``: how many reasons name a difference under
5 degrees or 2 cm, how many correct reps are given a named problem, how many incorrect reps are
called "close to your usual", and injury risk's ROC AUC for incorrect vs correct reps. The
weights saw these subjects: the AUC is held-in, shown only to see that it does not move.
About 1.5 min.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sklearn.metrics import roc_auc_score  # noqa: E402

import physio_core.ml.stability as S  # noqa: E402
from physio_core.config import get_settings  # noqa: E402
from physio_core.ml.data import load_uiprmd  # noqa: E402
from physio_core.train import CACHE_DIR, DEFAULT_UIPRMD  # noqa: E402


def too_small(reason: str) -> bool:
    size = re.search(r"(\d+)(°| cm)", reason)
    return size is not None and int(size.group(1)) < (5 if size.group(2) == "°" else 2)


def run(model: S.StabilityModel, groups) -> dict[str, float]:
    risk, bad, small, alarmed, missed = [], [], 0, 0, 0
    for rs in groups.values():
        own = [r.joints for r in rs if r.correct][:5]
        for r in rs:
            out = model.score(r.joints, r.movement, own)
            risk.append(out.injury_risk)
            bad.append(not r.correct)
            small += too_small(out.reason)
            calm = out.reason.startswith("close to")
            alarmed += r.correct and not calm and not out.reason.startswith("shape")
            missed += (not r.correct) and calm
    n_ok = bad.count(False)
    return {"reps": len(bad), "reasons under 5° / 2 cm": small,
            "correct reps given a named problem": f"{alarmed} of {n_ok}",
            "incorrect reps called close to usual": f"{missed} of {len(bad) - n_ok}",
            "injury risk AUC (held-in)": round(roc_auc_score(bad, risk), 3)}


def main() -> None:
    model = S.StabilityModel.load(get_settings().model_dir / "stability.joblib")
    groups = defaultdict(list)
    for r in load_uiprmd(DEFAULT_UIPRMD, CACHE_DIR):
        groups[(r.subject, r.movement)].append(r)
    floors = (dict(S.MIN_SPREAD), dict(S.MIN_SPREAD_CM))
    S.MIN_SPREAD.clear(), S.MIN_SPREAD_CM.clear()
    before = run(model, groups)
    S.MIN_SPREAD.update(floors[0]), S.MIN_SPREAD_CM.update(floors[1])
    after = run(model, groups)
    print(f"{'':40s} {'no least spread':>18s} {'least spread':>14s}")
    for k in before:
        print(f"{k:40s} {before[k]!s:>18s} {after[k]!s:>14s}")


if __name__ == "__main__":
    main()
