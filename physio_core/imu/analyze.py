"""One wrist-IMU set in, lift + reps + stability out: the one function pages and CLIs call.

    python -m physio_core.imu.analyze SET.csv [--gyr GYRO.csv] [--lift squat] [--save --athlete NAME]

SET.csv is a generic IMU CSV (time_s, acc_x, acc_y, acc_z[, gyr_x, gyr_y, gyr_z]) or a MetaMotion
accelerometer export, then optionally paired with its gyroscope file via --gyr. Prints the
analysis as JSON (with ``session_id`` when --save stored it). Exit 2: the file cannot be read;
5: the database could not store the set.
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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--gyr", default=None, help="MetaMotion gyroscope file paired with CSV")
    ap.add_argument("--lift", choices=LABELS, default=None, help="skip recognition, count as this lift")
    ap.add_argument("--save", action="store_true", help="store the set as a session in the database")
    ap.add_argument("--athlete", default="Unnamed athlete", help="athlete name for --save (created if new)")
    args = ap.parse_args(argv)
    try:
        series = read_metamotion(args.csv, args.gyr) if args.gyr else read_imu_csv(args.csv)
        result = analyze_imu(series, lift=args.lift)
    except (ImuFormatError, OSError) as exc:  # OSError: missing file, a folder, no permission
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    out = result.to_dict()
    if args.save:
        try:
            from physio_core.store import get_or_create_athlete, init_db, save_imu_session

            engine = init_db()
            athlete = get_or_create_athlete(engine, args.athlete)
            out["session_id"] = save_imu_session(engine, series, result, athlete.id)
        except Exception as exc:  # StorageUnavailable and driver errors alike: one line
            print(f"error: could not save the set: {one_line(exc)}", file=sys.stderr)
            return EXIT_STORAGE
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
