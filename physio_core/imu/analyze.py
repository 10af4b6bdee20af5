"""One wrist-IMU set in, lift + reps + stability out: the one function pages and CLIs call.

    python -m physio_core.imu.analyze SET.csv [--gyr GYRO.csv] [--lift squat] [--sets] [--save --athlete NAME]

SET.csv is a generic IMU CSV (time_s, acc_x, acc_y, acc_z[, gyr_x, gyr_y, gyr_z]) or a MetaMotion
accelerometer export, then optionally paired with its gyroscope file via --gyr. Prints the
analysis as JSON (with ``session_id`` when --save stored it). With --sets the file is a workout
(``imu.workout``): it prints ``{"sets": [{"set", "start_s", "end_s", "source", ...analysis,
"session_id"}]}``, one item per set (one for a recording of one set), and --save stores each set
as a session. Exit 2: the file cannot be read; 5: the database could not store the set (the
analysis is printed all the same, ``session_id`` where a set was stored before the failure).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from physio_core.analyze import EXIT_INPUT, EXIT_STORAGE, one_line
from physio_core.imu.classifier import LiftClassifier, LiftPrediction
from physio_core.imu.io import LABELS, ImuFormatError, ImuSeries, read_imu_csv, read_metamotion
from physio_core.imu.reps import RepCount, count_reps, set_stretch
from physio_core.imu.stability import Stability, stability


# a stored IMU session's exercise (sessions list, progress): the lift as a coach names it
EXERCISE_OF_LIFT = {"bench": "bench_press", "squat": "barbell_squat", "dead": "deadlift",
                    "ohp": "overhead_press", "row": "barbell_row", "rest": "rest"}


@dataclass
class ImuSetResult:
    lift: str  # the lift the reps were counted as (given, or predicted)
    prediction: LiftPrediction | None  # None when the lift was given
    reps: RepCount
    stability: Stability
    duration_s: float

    @property
    def rep_count(self) -> int:
        return self.reps.count

    @property
    def exercise(self) -> str:
        return EXERCISE_OF_LIFT[self.lift]

    def to_dict(self) -> dict:
        return {
            "lift": self.lift,
            "lift_prediction": None if self.prediction is None else self.prediction.to_dict(),
            "rep_count": self.rep_count,
            "reps": self.reps.to_dict(),
            "stability": self.stability.to_dict(),
            "duration_s": round(self.duration_s, 3),
        }


# below this confidence the page says the lift is uncertain and how to name it
UNSURE_LIFT_BELOW = 0.5


def analyze_imu(
    series: ImuSeries, *, lift: str | None = None, classifier: LiftClassifier | None = None
) -> ImuSetResult:
    """Recognise the lift (unless ``lift`` is given), count its reps and score stability.

    The lift is recognised on the set itself (``set_stretch``), not on the standing about or
    walking before and after it. ``classifier`` defaults to the shipped model
    (models/imu_lift_classifier.joblib).
    """
    prediction = None
    if lift is None:
        prediction = (classifier or LiftClassifier.load()).predict_set(set_stretch(series))
        lift = prediction.label
    reps = count_reps(series, lift)
    return ImuSetResult(lift, prediction, reps, stability(series, reps), series.duration_s)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m physio_core.imu.analyze", description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--gyr", default=None, help="MetaMotion gyroscope file paired with CSV")
    ap.add_argument("--lift", choices=LABELS, default=None, help="skip recognition, count as this lift")
    ap.add_argument("--save", action="store_true", help="store the set as a session in the database")
    ap.add_argument("--athlete", default="Unnamed athlete", help="athlete name for --save (created if new)")
    ap.add_argument("--sets", action="store_true", help="a workout: find its sets and analyse each")
    args = ap.parse_args(argv)
    try:
        series = read_metamotion(args.csv, args.gyr) if args.gyr else read_imu_csv(args.csv)
        parts = _sets(series, args.csv, args.lift) if args.sets else [(series, analyze_imu(series, lift=args.lift), "")]
    except FileNotFoundError as exc:
        print(f"error: no such file: {exc.filename}", file=sys.stderr)
        return EXIT_INPUT
    except (ImuFormatError, OSError) as exc:  # OSError: a folder, no permission
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    outs = [{**({"set": k, "start_s": round(float(part.times[0]), 3), "end_s": round(float(part.times[-1]), 3),
                 "source": source} if args.sets else {}), **result.to_dict()}
            for k, (part, result, source) in enumerate(parts, 1)]
    code = 0
    if args.save:
        for out in outs:
            out["session_id"] = None
        try:
            from physio_core.store import get_or_create_athlete, init_db, save_imu_session

            engine = init_db()
            athlete = get_or_create_athlete(engine, args.athlete)
            for out, (part, result, source) in zip(outs, parts):
                out["session_id"] = save_imu_session(engine, part, result, athlete.id, source=source)
        except Exception as exc:  # StorageUnavailable and driver errors alike: one line
            print(f"error: could not save the set: {one_line(exc)}", file=sys.stderr)
            code = EXIT_STORAGE  # the analysis is still printed: nothing of it is lost
    print(json.dumps({"sets": outs} if args.sets else outs[0], indent=2))
    return code


def _sets(series: ImuSeries, path: str, lift: str | None) -> list[tuple[ImuSeries, ImuSetResult, str]]:
    """(stretch, analysis, source) of each set of a workout recording; the whole recording when it
    holds one set."""
    from physio_core.imu.io import recording_name
    from physio_core.imu.workout import split_workout

    name = recording_name(path)
    found = split_workout(series, lift=lift)
    if not found:
        return [(series, analyze_imu(series, lift=lift), name)]
    return [(w.series, w.result, w.source(name)) for w in found]


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
