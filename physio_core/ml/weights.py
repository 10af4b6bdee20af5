"""The shipped weight files of the UI-PRMD models, and which of them scored a session (and the
wrist-sensor lift classifier's, which recognised a set's lift).

Light on purpose (no torch, no scikit-learn): pages ask which weights are installed without
loading them.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

FILES = {
    "classifier": "exercise_classifier.pt",
    "rep": "rep_detector.pt",
    "stability": "stability.joblib",
    "gcn": "mistake_gcn.pt",
    "judge": "judge.joblib",
}
# the models that score a session (the judge only scores the corrections, in evaluate)
SCORING = ("classifier", "rep", "stability", "gcn")
IMU_LIFT_FILE = "imu_lift_classifier.joblib"  # physio_core.imu.classifier.MODEL_FILE


def weights_fingerprint(models_dir: str | Path, files: tuple[str, ...] | None = None) -> str | None:
    """Which weights score sessions from ``models_dir``: 12 hex digits of a SHA-256 over the
    SCORING models' files there (or ``files``: their names and bytes), None when there is none.
    Stored with each assessment, so that a session says which weights judged it, and printed by
    ``evaluate`` beside its figures. A file is read again only when its size or time changes."""
    d = Path(models_dir)
    stats = []
    for name in files if files is not None else tuple(FILES[k] for k in SCORING):
        try:
            st = (d / name).stat()
        except OSError:
            continue
        stats.append((name, st.st_size, st.st_mtime_ns))
    return _fingerprint(str(d.resolve()), tuple(stats))


@lru_cache(maxsize=8)
def _fingerprint(models_dir: str, stats: tuple[tuple[str, int, int], ...]) -> str | None:
    if not stats:
        return None
    h = hashlib.sha256()
    for name, _, _ in stats:
        h.update(name.encode() + b"\0")
        h.update(hashlib.sha256((Path(models_dir) / name).read_bytes()).digest())
    return h.hexdigest()[:12]


# sessions whose verdicts (or sensor sets whose recognised lift) were stored before their weights'
# fingerprint was (2026-12-05, for both): judged by weights nobody recorded
UNRECORDED = ""
RECORDED_SINCE = "2026-12-05"


# Rules written in code rather than learned (which differences injury risk names, how big they
# must be) shape a session's stored scores and reasons as much as the weights do. Bump
# SCORING_RULES when such a rule changes: a session stores its weights' fingerprint with the
# rules' version (``judged_by``), so that sessions scored before say so and are offered scoring
# again, as sessions that other weights judged are.
SCORING_RULES = 2
RULES_CHANGES = {
    2: "since 2026-12-05 injury risk names only differences of 5° or 2 cm and more",
}


def judged_by(fingerprint: str | None, rules: int = SCORING_RULES) -> str | None:
    """What a session stores as its ``models``: the weights' fingerprint, with "+r<rules>" after
    it from rules 2 on (a bare fingerprint is rules 1: everything stored before rules had a
    version). None when no weights judged it."""
    if not fingerprint:
        return None
    return fingerprint if rules == 1 else f"{fingerprint}+r{rules}"


def read_judged_by(models: str) -> tuple[str, int]:
    """(weights' fingerprint, rules' version) of a stored ``judged_by``."""
    weights, sep, rules = models.partition("+r")
    return weights, int(rules) if sep and rules.isdigit() else 1


def other_rules_only(models: str | None, installed: str | None) -> bool:
    """Whether ``models`` names the ``installed`` weights under other scoring rules."""
    if not models or not installed or models == installed:
        return False
    return read_judged_by(models)[0] == read_judged_by(installed)[0]


def rules_said(rules: int = SCORING_RULES) -> str:
    """The scoring rules' version in words, with its change."""
    change = RULES_CHANGES.get(rules)
    return f"scoring rules {rules}" + (f" ({change})" if change else "")


def older_rules_said(models: str, installed: str) -> str:
    """How ``models`` (``other_rules_only``) differs from ``installed``, in words: "the installed
    weights under older scoring rules 1 than this version's scoring rules 2 (since …)"."""
    return (f"the installed weights under older {rules_said(read_judged_by(models)[1])} than this "
            f"version's {rules_said(read_judged_by(installed)[1])}")


def installed_judged_by() -> str | None:
    """``judged_by`` of the weights installed here under the rules of this code: what a session
    scored now stores."""
    return judged_by(installed_fingerprint())


def installed_fingerprint() -> str | None:
    """The fingerprint of the weights that score sessions here (the settings' model_dir)."""
    from physio_core.config import get_settings

    return weights_fingerprint(get_settings().model_dir)


def installed_lift_fingerprint() -> str | None:
    """The fingerprint of the wrist-sensor lift classifier installed here (``weights_fingerprint``
    of its one file), which a sensor set's recognised lift stores."""
    from physio_core.config import get_settings

    return weights_fingerprint(get_settings().model_dir, (IMU_LIFT_FILE,))


def judging_weights(models: str | None, has_verdicts: bool) -> str | None:
    """Which weights judged a session: its stored fingerprint ``models``; UNRECORDED when it has
    verdicts but no fingerprint (stored before RECORDED_SINCE); None when nothing judged it."""
    if models:
        return models
    return UNRECORDED if has_verdicts else None
