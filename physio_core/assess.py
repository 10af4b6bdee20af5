"""Per-rep and per-session assessment of an analysed recording with the learned models.

    a = assess_session(pose, reps, fps, exercise="auto")
    a.exercise            -> "deep_squat" | ... | "other"
    a.reps                -> [{rep, exercise, stability_score, balance_score, injury_risk,
                              reason, mistake, mistake_confidence, correction,
                              correction_focus}, ...]
    a.corrected[rep_idx]  -> the rep's corrected pose (PoseSequence), when the GCN ran
    a.metrics             -> session stability_score / balance_score / injury_risk (means)

This is per-rep / per-session work done after the video is analysed; nothing per frame. The
models are loaded once per process (``get_suite``). A model whose weights are missing or do not
fit raises ``ModelUnavailable``: its part of the assessment is left out with a warning. The live
session calls ``assess_one_rep`` on each rep as it is counted, and ``assess_session`` on the
whole set when it ends.

Scores, mistakes and corrections are made only against a movement the models know: the one the
user named, else the one recognised. A rep or session recognised as "other" gets its label only.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from physio_core.ml.weights import judged_by
from physio_core.names import in_sentence
from physio_core.results import Rep
from physio_core.skeleton import PoseSequence

log = logging.getLogger(__name__)

# the exercise timeline when no rep was counted: windows of this length, this far apart
WINDOW_S = 3.0
WINDOW_STEP_S = 1.5
# a recording shorter than this is read as no exercise: the classifier's guess on a few frames (a
# 0.07 s clip read as "Shoulder scaption") filed the session under a movement nobody did
MIN_WINDOW_S = 1.0
MIN_REP_FRAMES = 8


@dataclass
class SessionAssessment:
    exercise: str  # the session's exercise label (a UI-PRMD movement or "other")
    exercise_confidence: float
    timeline: list[dict] = field(default_factory=list)  # [{start_s, end_s, exercise, confidence}]
    reps: list[dict] = field(default_factory=list)  # one dict per Rep, in order
    corrected: dict[int, PoseSequence] = field(default_factory=dict)  # rep index -> corrected
    metrics: dict[str, float] = field(default_factory=dict)
    feedback: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    models: str | None = None  # which weights, under which rules, assessed it (ml.weights.judged_by)


@lru_cache(maxsize=4)
def _suite_at(models_dir: str):
    from physio_core.libs import IMPORT_LOCK

    with IMPORT_LOCK:  # torch and scikit-learn, maybe while a page imports them on another thread
        from physio_core.ml.runtime import ModelSuite

        return ModelSuite.load(models_dir)


_load_lock = threading.Lock()  # one load at a time: a second caller waits for the first's suite
_warm_lock = threading.Lock()  # guards _warm_ups only, so warm_up never waits for a load
_warm_ups: dict[str, threading.Thread] = {}


def _resolved(models_dir: str | Path | None) -> str:
    from physio_core.config import get_settings

    d = Path(models_dir) if models_dir is not None else Path(get_settings().model_dir)
    return str(d.resolve())


def get_suite(models_dir: str | Path | None = None):
    """The ModelSuite of ``models_dir`` (settings' model_dir by default), loaded once."""
    key = _resolved(models_dir)
    with _load_lock:
        return _suite_at(key)


def warm_up(models_dir: str | Path | None = None) -> threading.Thread:
    """Start loading the models on a background thread (once per folder and process).

    The live page calls this before START: importing torch and loading the weights takes a few
    seconds and holds the GIL for up to a few hundred ms at a time, which must not happen while
    a WebRTC stream is being set up. Returns the loading thread; a failure is only logged here
    (the first rep that needs the models reports it)."""
    key = _resolved(models_dir)

    def load() -> None:
        try:
            get_suite(key)
        except Exception as exc:
            log.warning("models not loaded ahead of use: %s", exc)

    with _warm_lock:
        thread = _warm_ups.get(key)
        if thread is None:
            thread = threading.Thread(target=load, name="physio-model-warm-up", daemon=True)
            _warm_ups[key] = thread
            thread.start()
    return thread


def _rep_poses(pose: PoseSequence, reps: list[Rep]) -> list[tuple[Rep, PoseSequence]]:
    """The reps long enough and with the athlete in view to be read by the models, each with
    its slice of ``pose``."""
    sliced = [(r, pose.slice(r.start_frame, r.end_frame + 1)) for r in reps]
    return [(r, p) for r, p in sliced if len(p) >= MIN_REP_FRAMES and _has_person(p)]


def _has_person(pose: PoseSequence) -> bool:
    return len(pose) >= 2 and int(pose.valid.sum()) >= 2


def assess_rep(suite, rep_pose: PoseSequence, movement: str | None,
               baseline: list[PoseSequence] | None = None,
               recognised=None, usual: dict[str, float] | None = None) -> tuple[dict, PoseSequence | None]:
    """One rep: exercise label, scores with reason, mistake label; plus the corrected pose.
    Parts whose model is unavailable are left out of the dict. ``movement``: a UI-PRMD name, or
    None: the recognised one, and a rep recognised as "other" (or not recognised: no classifier)
    gets no scores, mistake or correction. ``recognised``: the classifier's prediction for this
    rep when the caller already has it; ``usual``: the baseline's features, when the caller has
    them (``suite.set_usuals``)."""
    from physio_core.ml.data import OTHER
    from physio_core.ml.runtime import ModelUnavailable

    out: dict = {}
    corrected = None
    if suite.has("classifier"):
        pred = recognised or suite.classify_window(rep_pose, rep_pose.fps)
        out["exercise"] = pred.label
        out["exercise_confidence"] = round(pred.confidence, 4)
        if movement is None and pred.index != OTHER:
            movement = pred.label
    if movement is None:
        return out, None
    label = None  # the GCN runs first: the stability score fuses its P(incorrect)
    try:
        label, corrected = suite.mistake_and_correction(rep_pose)
    except ModelUnavailable:
        pass
    try:
        s = suite.score_rep(rep_pose, movement, baseline, mistake=label, usual=usual)
        out.update({k: s[k] for k in ("stability_score", "balance_score", "injury_risk",
                                      "reason", "anomaly")})
    except ModelUnavailable:
        pass
    if label is not None:
        out["mistake"] = "correct" if label.correct else "incorrect"
        out["mistake_movement"] = label.movement
        out["mistake_confidence"] = round(label.confidence, 4)
        if not label.correct and corrected is not None:
            from physio_core.correction_cue import rep_correction, watched_joints

            if c := rep_correction(rep_pose.joints, corrected.joints, rep_pose.times,
                                   joints=watched_joints(movement)):
                out["correction"], out["correction_focus"] = c.text(), c.focus()
    return out, corrected


def assess_one_rep(rep_pose: PoseSequence, exercise: str = "auto",
                   baseline: list[PoseSequence] | None = None,
                   models_dir: str | Path | None = None) -> tuple[dict, PoseSequence | None] | None:
    """One rep on its own, as the live session counts it: ``assess_rep`` with the movement the
    user named (``exercise``), else the recognised one. None when the rep is too short, nobody is
    in it or no model can run. ``baseline``: the athlete's earlier reps of the set."""
    from physio_core.ml.data import CLASS_NAMES, OTHER

    if len(rep_pose) < MIN_REP_FRAMES or not _has_person(rep_pose):
        return None
    suite = get_suite(models_dir)
    if not any(suite.has(k) for k in ("classifier", "stability", "gcn")):
        return None
    given = exercise if exercise in CLASS_NAMES[:OTHER] else None
    return assess_rep(suite, rep_pose, given, baseline)


def count_set(pose: PoseSequence, angles, exercise: str | None = None,
              models_dir: str | Path | None = None, use_models: bool = True) -> list[Rep]:
    """The reps of a recorded set (``angles``: the 23 angles of ``pose``).

    The principal-angle counter (``reps.count_reps``) counts every set, less the reps that are
    not real movement (``reps.drop_non_reps``: no joint moves about 12 cm, as when standing
    still in view, or the body does not come back to where it began, as in a slow one-way move).
    A movement the models know (``exercise``, or on auto the one the exercise classifier calls
    most of the reps the angle counter finds, or most 3 s windows when it finds none) is also
    counted by the learned rep detector, and the larger count is kept (``reps.larger_count``:
    the angle counter's on a tie; none of the detector's reps within the principal angle's
    tracking-noise floor, nor any that is not real movement). On real sets both err by missing
    reps, in different places: the angle counter misses small-range reps below its 15 deg
    floor, the detector fast reps on camera. Keeping the larger count is what the app's rep figures in the
    rep detector's model card score, with its cost (more reps counted in sequences with no
    exercise in them). ValueError when the exercise's angles were never measured."""
    from physio_core.reps import (choose_principal_angle, count_reps, drop_non_reps, exercise_key,
                                  larger_count)

    principal = choose_principal_angle(angles, exercise=exercise)
    reps = drop_non_reps(count_reps(angles, angle=principal, fps=pose.fps, exercise=exercise),
                         pose.joints, pose.fps)
    if not use_models or (exercise is not None and exercise_key(exercise) is None):
        return reps
    try:
        suite = get_suite(models_dir)
        if not suite.has("rep"):
            return reps
        movement = exercise_key(exercise)
        if movement is None:
            movement = _most_recognised(suite, pose, reps)
            if movement is None:
                return reps
            principal = choose_principal_angle(angles, exercise=movement)
        found = suite.segment_reps(pose)
    except Exception:  # a model failure must not cost the user the angle counter's reps
        log.exception("the learned rep detector failed; keeping the angle counter's reps")
        return reps
    return larger_count(reps, found, angles, principal, pose.fps, joints=pose.joints)


def _most_recognised(suite, pose: PoseSequence, reps: list[Rep]) -> str | None:
    """The movement the classifier calls most of the reps (or 3 s windows), None if "other"."""
    from physio_core.ml.data import CLASS_NAMES, OTHER

    if not suite.has("classifier"):
        return None
    if reps:
        parts = [p for _, p in _rep_poses(pose, reps)]
    else:
        parts = [p for p in _windows(pose, pose.fps) if len(p) >= MIN_REP_FRAMES and _has_person(p)]
    labels = [suite.classify_window(p, pose.fps).label for p in parts]
    if not labels:
        return None
    label = Counter(labels).most_common(1)[0][0]
    return label if label in CLASS_NAMES[:OTHER] else None


# a live recognition below this confidence is shown as a guess ("Shoulder scaption? (29%)")
UNSURE_BELOW = 0.5


@dataclass(frozen=True)
class Recognition:
    """The exercise recognised in a stretch of a live stream."""

    exercise: str  # a UI-PRMD movement or "other" (no exercise the models know)
    confidence: float
    end_s: float  # the newest frame it saw

    @property
    def unsure(self) -> bool:
        """The classifier gives this exercise less than even odds (eleven classes: a guess)."""
        return self.confidence < UNSURE_BELOW


def recognise_window(pose: PoseSequence, models_dir: str | Path | None = None,
                     min_person_share: float = 0.5) -> Recognition | None:
    """The exercise in the last seconds of a live stream, as the upload timeline reads a
    window. None when the models have no classifier, or the athlete was in less than
    ``min_person_share`` of the frames (nothing to recognise)."""
    from physio_core.pipeline import smooth_sequence

    if len(pose) < MIN_REP_FRAMES or pose.valid.mean() < min_person_share:
        return None
    suite = get_suite(models_dir)
    if not suite.has("classifier"):
        return None
    p = suite.classify_window(smooth_sequence(pose), pose.fps)
    return Recognition(p.label, round(p.confidence, 4), float(pose.times[-1]))


def rep_feedback(row: dict) -> str | None:
    """One assessed rep (a ``SessionAssessment.reps`` row) as a line of text, None if unscored:
    "Rep 3: incorrect (92%); correction: left knee 9 cm outward (1.2 s into the rep); injury risk
    0.48: knees cave in at the bottom." """
    parts = []
    if "mistake" in row:
        parts.append(f"{row['mistake']} ({row.get('mistake_confidence', 0):.0%})")
    if "correction" in row:
        parts.append(f"correction: {row['correction']}")
    if "injury_risk" in row:
        parts.append(f"injury risk {row['injury_risk']:.2f}: {row.get('reason', '')}".rstrip(": "))
    if not parts:
        return None
    return f"Rep {row['rep']}: " + "; ".join(parts) + "."


def _windows(pose: PoseSequence, fps: float) -> list[PoseSequence]:
    """The WINDOW_S windows, WINDOW_STEP_S apart, that the exercise is read on without reps."""
    win, step = max(2, int(WINDOW_S * fps)), max(1, int(WINDOW_STEP_S * fps))
    return [pose.slice(a, min(len(pose), a + win))
            for a in range(0, max(1, len(pose) - win + 1), step)]


def _timeline(suite, pose: PoseSequence, fps: float) -> list[dict]:
    out = []
    for part in _windows(pose, fps):
        if not _has_person(part) or len(part) < MIN_WINDOW_S * fps - 0.5:
            continue
        p = suite.classify_window(part, fps)
        out.append({"start_s": round(float(part.times[0]), 3), "end_s": round(float(part.times[-1]), 3),
                    "exercise": p.label, "confidence": round(p.confidence, 4)})
    return out


def most_asked(rows: list[dict]) -> tuple[list[str], int, int] | None:
    """A set's one thing to work on: the corrections its reps judged incorrect asked most ("hips
    lower"; two when they tie), in how many reps each and in how many the other way ("hips
    higher"), which count against it (the mistake model's corrections can differ rep to rep).
    None unless one leads its other way by two reps or more."""
    from physio_core.correction_cue import opposite_focus

    asked = Counter(f for r in rows if r.get("mistake") == "incorrect" for f in r.get("correction_focus", ()))
    rank = {f: (n - asked.get(opposite_focus(f) or "", 0), n) for f, n in asked.items()}
    if not rank or max(rank.values())[0] < 2:
        return None
    best = max(rank.values())
    return [f for f in asked if rank[f] == best][:2], best[1], best[1] - best[0]  # in the order first asked


def looks_like_instead(exercise: str, timeline: list[dict]) -> str | None:
    """What most of a session's ``timeline`` (its reps', or windows', recognised exercise) was
    recognised as, when that is not ``exercise`` and holds more than half of it: the exercise
    named is most likely wrong ("other": no exercise the models know). None when they agree."""
    if not timeline:
        return None
    seen, n = Counter(t["exercise"] for t in timeline).most_common(1)[0]
    return seen if seen != exercise and n > len(timeline) / 2 else None


def assess_session(pose: PoseSequence, reps: list[Rep], fps: float, exercise: str = "auto",
                   models_dir: str | Path | None = None) -> SessionAssessment | None:
    """Assess every rep of a session; None (with a log line) when no model can run."""
    from physio_core.ml.data import CLASS_NAMES, OTHER

    suite = get_suite(models_dir)
    if not any(suite.has(k) for k in ("classifier", "stability", "gcn")):
        log.warning("no assessment model available: %s", suite.missing)
        return None
    warnings = [f"Model '{k}' unavailable: part of the assessment is missing."
                for k in ("classifier", "stability", "gcn") if not suite.has(k)]
    given = exercise if exercise in CLASS_NAMES[:OTHER] else None

    rep_poses = _rep_poses(pose, reps)

    # the session's exercise: the user's choice, else the majority of the reps' (or windows')
    timeline: list[dict] = []
    label, conf = given or "other", 1.0 if given else 0.0
    preds: list = []  # the classifier's, one per rep (assess_rep reuses them)
    if suite.has("classifier"):
        if rep_poses:
            preds = [suite.classify_window(p, fps) for _, p in rep_poses]
            timeline = [{"start_s": round(r.start_s, 3), "end_s": round(r.end_s, 3),
                         "exercise": q.label, "confidence": round(q.confidence, 4)}
                        for (r, _), q in zip(rep_poses, preds)]
        elif _has_person(pose):
            timeline = _timeline(suite, pose, fps)
        if timeline and given is None:
            label = Counter(t["exercise"] for t in timeline).most_common(1)[0][0]
            conf = float(np.mean([t["confidence"] for t in timeline if t["exercise"] == label]))
    movement = given or (label if label != "other" else None)

    rows: list[dict] = []
    corrected: dict[int, PoseSequence] = {}
    all_rep_poses = [p for _, p in rep_poses]
    if movement is not None:
        try:
            suite.prime_set(all_rep_poses, movement)
        except ValueError:  # a rep without enough measured joints: it says so below, on its own
            pass
    # the session's other reps are the athlete's "usual" for the reason text
    usuals = suite.set_usuals(all_rep_poses) if movement is not None and len(all_rep_poses) >= 3 else None
    for i, (rep, rp) in enumerate(rep_poses):
        if movement is None:
            # scores, mistakes and corrections are defined against a trained movement only:
            # scoring jumping jacks as the "nearest" rehab movement would alarm for nothing
            row = {"rep": rep.index}
            if i < len(timeline):
                row.update(exercise=timeline[i]["exercise"], exercise_confidence=timeline[i]["confidence"])
            rows.append(row)
            continue
        try:
            row, fixed = assess_rep(suite, rp, movement, recognised=preds[i] if preds else None,
                                    usual=usuals[i] if usuals else None)
        except ValueError as exc:  # e.g. a rep without enough measured joints
            warnings.append(f"Rep {rep.index} could not be assessed: {exc}")
            continue
        rows.append({"rep": rep.index, **row})
        if fixed is not None:
            corrected[rep.index] = fixed

    metrics: dict[str, float] = {}
    for k in ("stability_score", "balance_score", "injury_risk"):
        vals = [r[k] for r in rows if k in r]
        if vals:
            # the session is as risky as its riskiest rep; scores are the reps' mean
            metrics[k] = round(float(max(vals) if k == "injury_risk" else np.mean(vals)), 4)
    if rows and any("mistake" in r for r in rows):
        metrics["reps_incorrect"] = float(sum(r.get("mistake") == "incorrect" for r in rows))
        metrics["reps_judged"] = float(sum("mistake" in r for r in rows))
    if timeline:
        metrics["exercise_confidence"] = round(conf, 4)

    if rows and movement is None:
        warnings.append("No known exercise was recognised: stability, injury risk and mistakes are "
                        "scored only for the movements the models know. To score it, name the exercise "
                        "with Score again on the session's page (or in the Exercise box before the next "
                        "video or live set).")
    if given is not None and (instead := looks_like_instead(given, timeline)) is not None:
        what, named = in_sentence(instead), in_sentence(given)
        if rep_poses:
            warnings.append(f"Most reps look like {what}, not {named}: they were counted and scored as "
                            f"{named}. If that is not the exercise, score the session again as the right "
                            "one (or 'Detect automatically') with Score again on its page.")
        else:  # the reps were looked for on the named exercise's angles, and none was found there
            warnings.append(f"No rep of {named} was counted, and the movement looks like {what}. If that "
                            "is the exercise, score the session again as it (or 'Detect automatically') "
                            "with Score again on its page: its reps are then counted on its own angles.")
    feedback: list[str] = []
    if given:
        feedback.append(f"Exercise chosen: {in_sentence(given)}.")
    elif label != "other":
        feedback.append(f"Exercise recognised: {in_sentence(label)} ({conf:.0%}).")
    if "injury_risk" in metrics and rows:
        from physio_core.ml.stability import CLOSE_TO

        scored = [r for r in rows if "injury_risk" in r]
        worst = max(scored, key=lambda r: r["injury_risk"])
        if all(r["reason"].startswith(CLOSE_TO) for r in scored):
            feedback.append(f"No rep stands out: each is {worst['reason']} (injury risk "
                            f"{worst['injury_risk']:.2f} at most, on rep {worst['rep']}).")
        else:
            feedback.append(f"Highest injury risk on rep {worst['rep']} ({worst['injury_risk']:.2f}): "
                            f"{worst['reason']}")
    bad = [r["rep"] for r in rows if r.get("mistake") == "incorrect"]
    if bad:
        feedback.append("Reps judged incorrect: " + ", ".join(f"#{k}" for k in bad)
                        + " (see the corrected pose in the 3D view).")
        if (most := most_asked(rows)) is not None:
            focus, n, other = most
            said = f"Asked most: {' and '.join(focus)}, {'each ' * (len(focus) > 1)}in {n} of the {len(bad)} "
            feedback.append(said + "reps judged incorrect" + (f" (the other way in {other})." if other else "."))
    return SessionAssessment(label, conf, timeline, rows, corrected, metrics, feedback, warnings,
                             judged_by(suite.fingerprint))
