"""One wrist-sensor recording of a workout (several sets, rests between) -> one analysis per set.

    python -m physio_core.imu.workout [DIR] [--workouts N] [--seed S] [--cv] [--json FILE]

A lifter starts the sensor, does a set of squats, rests, two sets of bench press, and stops it.
Analysed as one set, the recording gets one lift and one count. Here the lift classifier reads
the recording in its 4 s windows, 1 s apart (a window in which the wrist is still, moving less
than ``reps.STILL_G``, is rest whatever the classifier reads: it never saw standing still, and
reads it as some lift); each window takes the most common label of the five
around it (``sets.smoothed``), and a set is a run of one lift whose windows span ``MIN_SET_S`` or
more. A rest of ``REST_S`` or more between two runs of one lift makes them two sets; a shorter
one is a pause inside the set, and so is a stretch between them read as another lift for less
than ``MIN_SET_S`` (from its first window's start to its last's: a misreading). Two sets whose windows overlap
meet halfway. Each set is then analysed on its own (``analyze_imu``: the set found in its
stretch, its lift recognised there, its reps counted, its stability), so a set's edges need not be
exact: the counter finds the set inside the stretch it is given.

Each set keeps the recording's times and says where it lies in it ("gym.csv · set 2 of 3
(1:05–1:41)", as a video's sets do, so that a set's page links to its recording's other sets).

``evaluate`` builds workouts from one participant's MetaMotion sets with rest recordings (moving
about) or standing still between them, joined by turns of the wrist, and scores the search.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physio_core.imu.analyze import ImuSetResult, analyze_imu
from physio_core.imu.classifier import LiftClassifier
from physio_core.imu.features import STEP_S, WINDOW_S, window_starts
from physio_core.imu.io import DEFAULT_RATE_HZ, ImuSeries
from physio_core.imu.reps import DEFAULT_PARAMS, STILL_G, rep_signal
from physio_core.imu.signal import uniform
from physio_core.sets import clock, join_runs, label_runs, rests_before, set_label, set_source, smoothed

MIN_SET_S = 8.0  # a run of one lift spanning less (its windows) is not a set; read for less, a misreading
REST_S = 10.0  # a rest this long between two runs of one lift makes them two sets


@dataclass(frozen=True)
class LiftSpan:
    """A set found in a recording: its time span (the recording's seconds) and lift."""

    start_s: float
    end_s: float
    lift: str
    confidence: float  # the classifier's mean over the set's windows


@dataclass
class WorkoutSet:
    index: int  # 1-based
    of: int  # how many sets the recording holds
    span: LiftSpan
    series: ImuSeries  # the set's stretch, in the recording's times
    result: ImuSetResult

    @property
    def label(self) -> str:
        """"2 · Deadlift · 1:05–1:41 · 10 reps": the set, for a picker."""
        from physio_core.report import lift_name

        return set_label(self.index, lift_name(self.result.lift, False), self.series.times[0],
                         self.series.times[-1], self.result.rep_count)

    def source(self, recording: str) -> str:
        """"monday · set 2 of 3 (1:05–1:41)", as a video's sets say it."""
        return set_source(recording, self.index, self.of, self.series.times[0], self.series.times[-1])


def find_lift_sets(series: ImuSeries, classifier: LiftClassifier | None = None,
                   lift: str | None = None) -> list[LiftSpan]:
    """The sets of a recording, in order (none when it holds no lift for ``MIN_SET_S``). ``lift``:
    every set is of this lift (named by the user), so only rests and stillness divide them."""
    clf = classifier or LiftClassifier.load()
    s = uniform(series, DEFAULT_RATE_HZ)
    if s.duration_s < WINDOW_S:
        return []
    labels, confidence = clf.predict_windows(s)
    at = window_starts(len(s), DEFAULT_RATE_HZ)
    starts = [float(s.times[a]) for a in at]
    ends = [min(t + WINDOW_S, float(s.times[-1])) for t in starts]
    # standing still reads as some lift to the classifier (it never saw it): stillness is rest
    moving = rep_signal(s, DEFAULT_PARAMS)
    w = int(WINDOW_S * DEFAULT_RATE_HZ)
    still = [moving[a:a + w].std() < STILL_G for a in at]
    read = smoothed([None if lab == "rest" or quiet else (lift or lab) for lab, quiet in zip(labels, still)])
    runs = label_runs(read)
    # a stretch read as another lift for less than MIN_SET_S (from its first window's start to
    # its last's) between two runs of one lift less than REST_S apart is a misreading in the set
    misread = [0 < i < len(runs) - 1 and starts[r[1]] - starts[r[0]] + STEP_S < MIN_SET_S
               and runs[i - 1][2] == runs[i + 1][2] != r[2] and starts[runs[i + 1][0]] - ends[runs[i - 1][1]] < REST_S
               for i, r in enumerate(runs)]
    merged = join_runs([r for r, bad in zip(runs, misread) if not bad], starts, ends, REST_S)
    merged = [m for m in merged if ends[m[1]] - starts[m[0]] >= MIN_SET_S]
    spans = [[starts[a], ends[b], lift_read, float(np.mean(confidence[a:b + 1]))] for a, b, lift_read in merged]
    for before, after in zip(spans, spans[1:]):  # overlapping windows: two sets meet halfway
        if before[1] > after[0]:
            before[1] = after[0] = (before[1] + after[0]) / 2
    return [LiftSpan(*sp) for sp in spans]


def _part(series: ImuSeries, span: LiftSpan) -> ImuSeries:
    s = uniform(series, DEFAULT_RATE_HZ)
    inside = (s.times >= span.start_s) & (s.times <= span.end_s)
    meta = dict(s.meta)
    if meta.get("start_epoch_s") is not None:  # the set began this much later than the recording
        meta["start_epoch_s"] = float(meta["start_epoch_s"]) + span.start_s - float(s.times[0])
    return ImuSeries(s.times[inside], s.acc[inside], None if s.gyr is None else s.gyr[inside], meta)


def split_workout(series: ImuSeries, classifier: LiftClassifier | None = None, *, lift: str | None = None,
                  spans: list[LiftSpan] | None = None) -> list[WorkoutSet]:
    """Each set of the recording analysed on its own (as ``lift`` when named, else recognised);
    [] when it holds fewer than two sets with reps (it is then one set, analysed as such)."""
    clf = classifier or LiftClassifier.load()
    spans = find_lift_sets(series, clf, lift) if spans is None else spans
    if len(spans) < 2:
        return []
    analysed = [(span, part, analyze_imu(part, lift=lift, classifier=clf))
                for span in spans for part in [_part(series, span)]]
    # a stretch read as a lift but with no rep in it (a turn of the wrist, standing about) is no set
    analysed = [a for a in analysed if a[2].rep_count > 0]
    if len(analysed) < 2:
        return []
    return [WorkoutSet(k, len(analysed), span, part, result) for k, (span, part, result) in enumerate(analysed, 1)]


def overview(sets: list[WorkoutSet]) -> list[dict]:
    """A row per set: its lift, where it lies, the rest before it (from the last rep of the set
    before to its first: every set of a split has reps), reps and stability."""
    from physio_core.report import lift_name

    rests = rests_before([(w.result.reps.reps[0].start_s, w.result.reps.reps[-1].end_s) for w in sets])
    return [{"set": w.index, "lift": lift_name(w.result.lift, False), "from": clock(w.series.times[0]),
             "to": clock(w.series.times[-1]), "rest before": rest, "reps": w.result.rep_count,
             "stability": w.result.stability.score}
            for w, rest in zip(sets, rests)]


# ------------------------------------------------------------------ how well it finds them

REST_RANGE_S = (15.0, 30.0)  # the rests of evaluate's workouts (a rest recording is 34-40 s long)


def evaluate(directory: str | Path, workouts: int = 30, seed: int = 0, sets_per_workout: int = 3,
             cv: bool = False) -> dict:
    """Workouts of one participant's sets (drawn at random, participants in turn) with a rest
    before, between and after them: 15-30 s of a rest recording (moving about), or as long held
    still in another posture, every part joined by a one-second turn of the wrist. Scored with
    the shipped classifier, which has seen these sets, so the figures are in-sample; with ``cv``,
    a participant's workouts are split by a classifier fitted on the other participants' sets
    (as ``evaluate_imu --cv``), the same workouts drawn."""
    from physio_core.imu.evaluate import held_out_classifiers, held_still, join, piece
    from physio_core.imu.io import list_sets

    sets = list_sets(directory)
    loaded = [(s, s.load()) for s in sets]
    rests = [x.resample(DEFAULT_RATE_HZ) for s, x in loaded if s.lift == "rest"]
    by_person: dict[str, list] = {}
    for s, x in loaded:
        if s.lift != "rest":
            by_person.setdefault(s.participant, []).append((s, x))
    people = sorted(p for p, xs in by_person.items() if len(xs) >= sets_per_workout)
    if not people or not rests:
        raise FileNotFoundError(f"no participant with {sets_per_workout} sets, or no rest recording, in {directory}")
    # the classifier each participant's workouts are split by
    classifiers = (held_out_classifiers(sets, [x for _, x in loaded]) if cv
                   else dict.fromkeys(people, LiftClassifier.load()))
    rng = np.random.default_rng(seed)
    found_all, lifts_right, within1, counted, rows = 0, 0, 0, 0, []
    for k in range(workouts):
        person = people[k % len(people)]
        picked = [by_person[person][i] for i in rng.choice(len(by_person[person]), sets_per_workout, replace=False)]
        parts = []
        for j in range(sets_per_workout + 1):
            secs = float(rng.uniform(REST_RANGE_S[0], REST_RANGE_S[1]))
            if k % 2 == 0:
                r = rests[int(rng.integers(len(rests)))]
                parts.append(piece(r, int(rng.integers(0, len(r) - int(secs * DEFAULT_RATE_HZ))), secs))
            else:
                parts.append(held_still(secs, rng.normal(size=3), rng))
            if j < sets_per_workout:
                parts.append(picked[j][1])
        found = split_workout(join(parts), classifiers[person])
        ok = len(found) == sets_per_workout
        found_all += ok
        if ok:
            lifts_right += all(w.result.lift == s.lift for w, (s, _) in zip(found, picked))
            for w, (s, _) in zip(found, picked):
                within1 += abs(w.result.rep_count - s.expected_reps) <= 1
                counted += 1
        rows.append({"workout": k + 1, "participant": person, "between": "moving" if k % 2 == 0 else "still",
                     "sets": [s.label for s, _ in picked],
                     "found": [(w.result.lift, w.result.rep_count) for w in found]})
    return {
        "data": Path(directory).name,
        "classifier": "leave-one-participant-out refits" if cv else "shipped (trained on these sets)",
        "workouts": workouts,
        "sets_per_workout": sets_per_workout,
        "workouts_split_right": round(found_all / workouts, 4),
        "lifts_right": round(lifts_right / max(found_all, 1), 4),
        "reps_within1": round(within1 / max(counted, 1), 4),
        "workouts_detail": rows,
    }


def main(argv: list[str] | None = None) -> int:
    from physio_core.imu.evaluate import DEFAULT_DIR

    ap = argparse.ArgumentParser(prog="python -m physio_core.imu.workout", description=__doc__.splitlines()[0])
    ap.add_argument("directory", nargs="?", default=str(DEFAULT_DIR), help="MetaMotion folder")
    ap.add_argument("--workouts", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures (and each workout) here")
    ap.add_argument("--cv", action="store_true",
                    help="split each participant's workouts with a classifier fitted on the other participants")
    args = ap.parse_args(argv)
    try:
        res = evaluate(args.directory, args.workouts, args.seed, cv=args.cv)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    print(json.dumps({k: v for k, v in res.items() if k != "workouts_detail"}, indent=2))
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
