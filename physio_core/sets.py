"""One recording of several sets -> one analysis per set.

A coach films a whole session: squats, a rest, shoulder abductions. Analysed as one, the
recording gets one exercise (the one most of it shows) and every rep is counted on that
exercise's angle, so the other exercise's reps are lost. Here the exercise classifier reads the
recording in 3 s windows, 1.5 s apart, as the session's timeline does (``assess.WINDOW_S``), and
a set is a run of windows of one movement the models know that lasts at least ``MIN_SET_S``.

A rest of ``REST_S`` or more between two stretches of one exercise makes them two sets. A rest
is time in which no joint moves ``STILL_M`` within a second, or no one is in view, or the
classifier reads no exercise. Standing still between two sets reads as their movement, so it is
stillness that says rest. Where two sets touch with no rest, they are cut at the stillest moment
between them, so that no rep is cut in two. The time between sets (rests, walking about) is in
no set.

Each set is then analysed on its own (``pipeline.finish_sequence`` on "auto": its exercise
recognised and its reps counted on its own angles; or as the exercise the user named), from the
recording's filtered pose. A set keeps the recording's times, so its frames are found in the
video by time.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from physio_core.filters import true_runs
from physio_core.results import SessionResult
from physio_core.skeleton import PoseSequence

# a run of one exercise at least this long is a set (the windows' span: four windows 1.5 s apart)
MIN_SET_S = 7.5
# a rest this long (still, no one in view, or no exercise read) between two stretches of one
# exercise makes them two sets; a shorter one is a pause within a set
REST_S = 20.0
# a frame is still when no joint moves this far (metres) within STILL_S around it
STILL_M = 0.08
STILL_S = 1.0
# each window's label is the most common of this many around it: a window or two read wrong
# inside a set do not cut it
SMOOTH_WINDOWS = 5


@dataclass(frozen=True)
class SetSpan:
    """A set found in a recording: its time span (the recording's seconds) and exercise."""

    start_s: float
    end_s: float
    exercise: str  # a movement the models know
    confidence: float  # the classifier's mean over the set's windows


def _window_labels(pose: PoseSequence, suite) -> tuple[list[PoseSequence], list[str | None], list[float]]:
    from physio_core.assess import _has_person, _windows
    from physio_core.ml.data import CLASS_NAMES, OTHER

    windows = _windows(pose, pose.fps)
    seen = [k for k, w in enumerate(windows) if _has_person(w)]
    labels: list[str | None] = [None] * len(windows)
    confidences = [0.0] * len(windows)
    for k, p in zip(seen, suite.classify_windows([windows[k] for k in seen])):
        labels[k] = p.label if p.label in CLASS_NAMES[:OTHER] else None
        confidences[k] = p.confidence
    return windows, labels, confidences


def smoothed(labels: list[str | None]) -> list[str | None]:
    """Each window's label the most common of the SMOOTH_WINDOWS around it (a tie keeps its own)."""
    half = SMOOTH_WINDOWS // 2
    out = []
    for i in range(len(labels)):
        around = Counter(labels[max(0, i - half): i + half + 1]).most_common()
        best = around[0][1]
        tied = [lab for lab, n in around if n == best]
        out.append(labels[i] if labels[i] in tied else tied[0])  # a tie keeps the window's own
    return out


def join_runs(runs: list[tuple[int, int, str]], start: list[float], end: list[float],
              rest_s: float) -> list[tuple[int, int, str]]:
    """Runs (``label_runs``) of one label less than ``rest_s`` apart (from the end of one's last
    window, ``end``, to the start of the next's first, ``start``) joined into one."""
    joined: list[tuple[int, int, str]] = []
    for run in runs:
        if joined and joined[-1][2] == run[2] and start[run[0]] - end[joined[-1][1]] < rest_s:
            joined[-1] = (joined[-1][0], run[1], run[2])
        else:
            joined.append(run)
    return joined


def label_runs(labels: list[str | None]) -> list[tuple[int, int, str]]:
    """(first window, last window, exercise) of each run of one exercise."""
    runs: list[tuple[int, int, str]] = []
    for i, lab in enumerate(labels):
        if lab is None:
            continue
        if runs and runs[-1][2] == lab and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i, lab)
        else:
            runs.append((i, i, lab))
    return runs


def _resting(pose: PoseSequence, labels: list[str | None], starts: list[float]) -> np.ndarray:
    """Per frame: still (no joint moves ``STILL_M`` within ``STILL_S``), no one in view, or in a
    window read as no exercise."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    k = max(3, int(round(STILL_S * pose.fps)) | 1)
    j = pose.joints.reshape(len(pose), -1)
    missing = ~np.isfinite(j)
    hi = maximum_filter1d(np.where(missing, -np.inf, j), k, axis=0)
    lo = minimum_filter1d(np.where(missing, np.inf, j), k, axis=0)
    spread = np.where(np.isfinite(hi - lo), hi - lo, 0.0).reshape(len(pose), -1, 3)
    still = np.linalg.norm(spread, axis=-1).max(axis=-1) < STILL_M
    # a frame's label: the window starting nearest before it (windows are WINDOW_STEP_S apart)
    at = np.clip(np.searchsorted(np.asarray(starts), pose.times, side="right") - 1, 0, len(labels) - 1)
    none = np.array([labels[i] is None for i in at])
    return still | ~pose.valid | none


def _stillest(pose: PoseSequence, start_s: float, end_s: float) -> float:
    """The time in [start_s, end_s] at which the body moves least (mean joint speed, 0.3 s
    smoothed): where one set gives way to the next with no rest between."""
    t = pose.times
    inside = np.flatnonzero((t >= start_s) & (t <= end_s))
    if len(inside) < 3:
        return (start_s + end_s) / 2
    j = pose.joints
    speed = np.nanmean(np.linalg.norm(np.diff(j, axis=0), axis=-1), axis=-1)
    speed = np.concatenate([speed[:1], speed])
    k = max(1, int(round(0.3 * pose.fps)))
    speed = np.convolve(np.nan_to_num(speed, nan=np.nanmax(speed) if np.isfinite(speed).any() else 0.0),
                        np.ones(k) / k, mode="same")
    return float(t[inside[int(np.argmin(speed[inside]))]])


def find_sets(pose: PoseSequence, exercise: str = "auto", models_dir: str | Path | None = None
              ) -> list[SetSpan]:
    """The sets of ``pose``, in time order: [] when the exercise classifier is not available or
    no run of a known exercise lasts ``MIN_SET_S``. One set means the recording is one set.
    ``exercise`` named (not "auto"): the user says the recording is of that one exercise, so
    only rests split it, and every set is of it."""
    from physio_core.assess import get_suite

    if len(pose) < 2:
        return []
    suite = get_suite(models_dir)
    if not suite.has("classifier"):
        return []
    windows, labels, confidences = _window_labels(pose, suite)
    if exercise not in ("", "auto"):
        labels = [None if lab is None else exercise for lab in labels]
    if not windows:
        return []
    start = [float(w.times[0]) for w in windows]
    end = [float(w.times[-1]) for w in windows]
    runs = [r for r in label_runs(smoothed(labels)) if end[r[1]] - start[r[0]] >= MIN_SET_S]
    # one exercise's runs with only a short pause (or a short misreading) between are one set
    joined = join_runs(runs, start, end, REST_S)
    resting = _resting(pose, labels, start)
    rests = [(pose.times[a], pose.times[b - 1]) for a, b in true_runs(resting)
             if pose.times[b - 1] - pose.times[a] >= REST_S]
    pieces: list[tuple[float, float, int, int, str]] = []  # start, end, first and last window, exercise
    for a, b, exercise in joined:
        # a rest is in no set: it ends a set, a new one starting after it, and a run read in it
        # (standing still read as a movement) is no set at all
        stretches = [(start[a], end[b])]
        for r0, r1 in rests:
            stretches = [piece for t0, t1 in stretches
                         for piece in ((t0, min(t1, r0)), (max(t0, r1), t1)) if piece[1] > piece[0]]
        for t0, t1 in stretches:
            inside = [i for i in range(a, b + 1) if start[i] < t1 and end[i] > t0]
            pieces.append((t0, t1, inside[0], inside[-1], exercise))
    pieces = [p for p in pieces if p[1] - p[0] >= MIN_SET_S]
    spans = []
    for t0, t1, a, b, exercise in pieces:
        mine = [confidences[i] for i in range(a, b + 1) if labels[i] == exercise]
        spans.append(SetSpan(t0, t1, exercise, float(np.mean(mine)) if mine else 0.0))
    # windows overlap, so two sets with no rest between share a stretch: cut it where the body
    # is stillest, between the middles of the last window of one and the first of the next
    for k in range(len(spans) - 1):
        this, after = spans[k], spans[k + 1]
        if after.start_s < this.end_s:
            a, b = pieces[k][3], pieces[k + 1][2]
            cut = _stillest(pose, (start[a] + end[a]) / 2, (start[b] + end[b]) / 2)
            spans[k], spans[k + 1] = replace(this, end_s=cut), replace(after, start_s=cut)
    return spans


def _part(pose: PoseSequence, span: SetSpan, *, open_end: bool = False) -> PoseSequence:
    """The frames of ``span``; ``open_end``: not its last instant (the next set's first frame)."""
    t = pose.times
    inside = np.flatnonzero((t >= span.start_s) & ((t < span.end_s) if open_end else (t <= span.end_s)))
    return pose.slice(int(inside[0]), int(inside[-1]) + 1)


def split_sets(result: SessionResult, spans: list[SetSpan] | None = None) -> list[SessionResult]:
    """``result`` (a recording analysed as one) as one analysis per set, or ``[result]`` when it
    holds fewer than two sets. Each set's ``source`` says which it is and where it lies in the
    recording; its start time is the recording's plus its offset. The recording's warnings are
    kept with every set (they say where in the recording they were seen)."""
    from physio_core.pipeline import finish_sequence

    named = result.exercise not in ("", "auto")
    spans = find_sets(result.pose, result.exercise) if spans is None else spans
    if len(spans) < 2:
        return [result]
    t0 = float(result.pose.times[0])
    out = []
    for k, span in enumerate(spans, 1):
        part = _part(result.pose, span, open_end=k < len(spans) and spans[k].start_s <= span.end_s)
        offset = timedelta(seconds=float(part.times[0]) - t0)
        started = None if result.started_at is None else result.started_at + offset
        source = set_source(result.source, k, len(spans), part.times[0], part.times[-1])
        out.append(finish_sequence(part, backend=result.backend, exercise=result.exercise if named else "auto",
                                   source=source, started_at=started, warnings=result.warnings, smooth=False))
    return out


def sets_or_whole(result: SessionResult) -> list[SessionResult]:
    """A recording counted but not yet assessed by the models (``pipeline.analyze_video(...,
    scored=False)``) as its sets, each assessed on its own (``split_sets``), or, when it holds
    fewer than two (or the search for them fails), as the whole recording, assessed (a copy). The
    models assess each set or the whole, never both: an assessment of the whole recording would be
    thrown away when it is split."""
    from physio_core.pipeline import add_assessment

    try:
        parts = split_sets(result)
    except Exception:  # the whole is still analysed
        logging.getLogger(__name__).exception("looking for the sets of %s failed", result.source)
        parts = [result]
    if len(parts) > 1:
        return parts
    whole = replace(result, metrics=dict(result.metrics), feedback=list(result.feedback),
                    analysis_warnings=list(result.analysis_warnings))
    if whole.frames_with_person >= 2:
        add_assessment(whole)
    return [whole]


def rests_before(spans: list[tuple[float, float]]) -> list[str | None]:
    """The rest before each set, "1:30" (None before the first): the time from the end of the set
    before it to its start. ``spans``: (start, end) s of the sets in the recording, in order: of
    their reps where they have some (the rest is then between the lifting), else of the sets."""
    if not spans:
        return []
    return [None] + [clock(max(0.0, a - prev_end)) for (_, prev_end), (a, _) in zip(spans, spans[1:])]


def overview(sets: list[SessionResult]) -> list[dict]:
    """A row per set of a recording: where it lies, the rest before it, its exercise, reps, the
    reps judged correct ("5 of 6"), its stability and injury risk (None where the models did not
    score them)."""
    from physio_core.names import pretty_exercise
    from physio_core.report import correct_reps

    rows = []
    rests = rests_before([(r.reps[0].start_s, r.reps[-1].end_s) if r.reps else
                          (float(r.pose.times[0]), float(r.pose.times[-1])) for r in sets])
    for k, (r, rest) in enumerate(zip(sets, rests), 1):
        rows.append({"set": k, "exercise": pretty_exercise(r.session_exercise, short=True),
                     "from": clock(r.pose.times[0]), "to": clock(r.pose.times[-1]), "rest before": rest,
                     "reps": r.rep_count,
                     "correct reps": correct_reps(r.rep_assessments), "stability": r.metrics.get("stability_score"),
                     "injury risk": r.metrics.get("injury_risk")})
    return rows


def set_source(recording: str, k: int, n: int, start_s: float, end_s: float) -> str:
    """"gym.mp4 · set 2 of 3 (0:31–0:58)": the source of set k of a recording split into n sets
    (``set_of`` reads it back)."""
    where = f"set {k} of {n} ({clock(start_s)}–{clock(end_s)})"
    return f"{recording} · {where}" if recording else where


def set_label(k: int, name: str, start_s: float, end_s: float, reps: int) -> str:
    """"2 · Sit to stand · 0:31–0:58 · 8 reps": set k of a recording, for a picker."""
    return f"{k} · {name} · {clock(start_s)}–{clock(end_s)} · {reps} rep{'s' * (reps != 1)}"


_SET_SOURCE = re.compile(r"^(?:(?P<recording>.*) · )?set (?P<k>\d+) of (?P<n>\d+) \(\d+:\d\d–\d+:\d\d\)$")


def set_of(source: str) -> tuple[str, int, int] | None:
    """("gym.mp4", 2, 3) of a set's source "gym.mp4 · set 2 of 3 (0:31–0:58)" (``split_sets``);
    None for a session that is no set of a split recording."""
    m = _SET_SOURCE.match(source or "")
    return None if m is None else (m["recording"] or "", int(m["k"]), int(m["n"]))


def other_sets(rows: list, this) -> list:
    """The other sets of the recording session ``this`` was split from, in their order: the
    athlete's sessions (``rows``: ``SessionRow``) of the same recording, numbered of as many sets,
    begun within a day of it."""
    mine = set_of(this.source)
    if mine is None:
        return []
    found = {}
    for r in rows:
        theirs = set_of(r.source)
        if (r.id != this.id and theirs is not None and theirs[0] == mine[0] and theirs[2] == mine[2]
                and theirs[1] != mine[1] and abs((r.started_at - this.started_at).total_seconds()) < 86400):
            found.setdefault(theirs[1], r)
    return [found[k] for k in sorted(found)]


def clock(seconds: float) -> str:
    """75.4 -> "1:15": where in the recording."""
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


# ------------------------------------------------------------------ how well it finds them

def two_set_recordings(singles: list, recordings: int, seed: int = 0):
    """``recordings`` recordings of two sets of one subject, drawn from ``singles`` (UI-PRMD sets,
    ``datasets.continuous.uiprmd_sets``): two movements with a pause of 1 or 5 s, or, one in
    three, one movement with a 30 s rest. Yields (the recording's pose, first set, second set)."""
    from physio_core.datasets.continuous import concatenate_reps

    rng = np.random.default_rng(seed)
    by_subject: dict[int, list] = {}
    for s in singles:
        by_subject.setdefault(s.subject, []).append(s)
    for k in range(recordings):
        pool = by_subject[sorted(by_subject)[int(rng.integers(len(by_subject)))]]
        a = pool[int(rng.integers(len(pool)))]
        if k % 3 == 0:  # one movement, a rest between its sets
            b = next((s for s in pool if s.movement == a.movement and s is not a), a)
            rest = 30.0
        else:
            b = pool[int(rng.integers(len(pool)))]
            while b.movement == a.movement:
                b = pool[int(rng.integers(len(pool)))]
            rest = float(rng.choice([1.0, 5.0]))
        pose, _ = concatenate_reps([a.pose, b.pose], pause_s=(rest, rest), rng=rng)
        yield pose, a, b


def evaluate(root: str | Path, recordings: int = 24, seed: int = 0, subjects: Sequence[int] | None = None) -> dict:
    """The set search with the weights of the settings' model folder (the installed ones unless
    PHYSIO_MODEL_DIR names others) on UI-PRMD joined as a camera sees it:
    every (movement, subject, correct/incorrect) set of one exercise must stay one set of it;
    ``recordings`` recordings of two sets of one subject (``two_set_recordings``) must give both
    sets, each of its exercise and counted within one rep. ``subjects``: those subjects' sets
    only (``scripts/experiments/sets_loso.py`` scores each on weights trained without it)."""
    from physio_core.datasets.continuous import uiprmd_sets
    from physio_core.pipeline import finish_sequence

    singles = [s for s in uiprmd_sets(root, correct=None, seed=seed) if not subjects or s.subject in subjects]
    if not singles:
        raise ValueError(f"no UI-PRMD set{f' of subjects {list(subjects)}' if subjects else ''} in {root}")
    kept = sum([sp.exercise for sp in find_sets(s.pose)] == [s.movement_name] for s in singles)
    found = counted = 0
    for pose, a, b in two_set_recordings(singles, recordings, seed):
        sets = split_sets(finish_sequence(pose, backend="uiprmd-kinect", smooth=False))
        right = len(sets) == 2 and [r.session_exercise for r in sets] == [a.movement_name, b.movement_name]
        found += right
        counted += right and all(abs(r.rep_count - s.n_reps) <= 1 for r, s in zip(sets, (a, b)))
    return {"single_sets": len(singles), "single_kept_one": kept / len(singles),
            "two_set_recordings": recordings, "two_sets_found": found / recordings,
            "two_sets_counted_within1": counted / recordings}

def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(prog="python -m physio_core.sets",
                                 description="How well the installed weights find the sets of a recording.")
    ap.add_argument("--ui-prmd", type=Path, required=True, help="folder laid out like ui-prmd")
    ap.add_argument("--recordings", type=int, default=24, help="two-set recordings to make (default 24)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--subjects", type=int, nargs="+", default=None, help="only these subjects' sets")
    args = ap.parse_args(argv)
    if not args.ui_prmd.is_dir():
        print(f"error: UI-PRMD folder not found: {args.ui_prmd}", file=sys.stderr)
        return 2
    try:
        figs = evaluate(args.ui_prmd, args.recordings, subjects=args.subjects)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from physio_core.config import SHIPPED_MODEL_DIR, get_settings

    model_dir = get_settings().model_dir
    if model_dir.resolve() == SHIPPED_MODEL_DIR.resolve():
        print("set search, installed weights, on UI-PRMD subjects they were trained on (not a generalisation figure)")
    else:
        print(f"set search, weights in {model_dir}")
    for key, value in figs.items():
        print(f"  {key:<28} {value:.3f}" if isinstance(value, float) else f"  {key:<28} {value}")
    if args.json is not None:
        args.json.write_text(json.dumps(figs, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
