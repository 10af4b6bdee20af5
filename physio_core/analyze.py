"""Analyse a recorded video from the command line.

    python -m physio_core.analyze VIDEO --out DIR [--exercise X] [--backend embedded|mmpose]
                                  [--save --athlete NAME] [--max-side 640] [--step N] [--annotated]

Writes DIR/summary.json (frames, fps, frames_with_person, rep_count, reps, backend, ...; with
the trained models also exercise_label and per rep exercise, stability_score, balance_score,
injury_risk, reason, mistake) and DIR/angles.csv (time_s + the 23 angles); with --annotated
also DIR/annotated.mp4 (the video with skeleton, angles, rep count and verdicts drawn). On bad
input (missing file, not a video, damaged, too large, no person, backend unavailable, database
away) it prints ONE line to stderr and exits non-zero: 2 input file, 3 no person, 4 pose
backend, 5 database, 1 anything else.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

EXIT_INPUT, EXIT_NO_PERSON, EXIT_BACKEND, EXIT_STORAGE = 2, 3, 4, 5


def one_line(exc: BaseException) -> str:
    """An error's text on one line (its type when it has none), for a command line's stderr."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


@contextlib.contextmanager
def quiet_native_stderr(enabled: bool = True) -> Iterator[None]:
    """Send what native libraries (MediaPipe / TFLite / glog) write on fd 2 to /dev/null, while
    Python's own sys.stderr keeps writing to the real stderr: errors stay one clean line."""
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreter): nothing to hide
        yield
        return
    py_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr.close()
        sys.stderr = py_stderr


def _positive_int(text: str) -> int:
    value = int(text) if text.strip().lstrip("+").isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m physio_core.analyze",
        description="Pose, joint angles and reps of one person in a recorded video.",
    )
    ap.add_argument("video", help="mp4 / mov / avi / webm file")
    ap.add_argument("--out", required=True, help="output folder (created if missing)")
    ap.add_argument("--exercise", default="auto",
                    help="exercise name (e.g. deep_squat, standing_shoulder_abduction) or auto")
    ap.add_argument("--backend", choices=["embedded", "mmpose"], default=None,
                    help="pose backend (default: PHYSIO_POSE_BACKEND, else embedded)")
    ap.add_argument("--max-side", type=int, default=640,
                    help="downscale frames so the longer side is at most this (0: keep)")
    ap.add_argument("--step", type=_positive_int, default=None,
                    help="analyse one frame in STEP (default: every frame up to 60 fps; 120 fps clips 2, 240 fps 4)")
    ap.add_argument("--annotated", action="store_true",
                    help="also write annotated.mp4: the video with skeleton, angles, rep count and verdicts drawn")
    ap.add_argument("--save", action="store_true", help="store the session in the database")
    ap.add_argument("--athlete", default="Unnamed athlete",
                    help="athlete name for --save (created if new)")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    ap.add_argument("--verbose", action="store_true",
                    help="let the pose libraries' own log lines through to stderr")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with quiet_native_stderr(not args.verbose):
        return _run(args)


def _run(args: argparse.Namespace) -> int:

    from physio_core.config import get_settings
    from physio_core.pipeline import NoPersonFound, analyze_video
    from physio_core.pose.base import PoseBackendUnavailable
    from physio_core.report import angles_csv, summary_json
    from physio_core.video import VideoError

    settings = get_settings()
    if args.backend:
        settings = settings.model_copy(update={"pose_backend": args.backend})
    video = Path(args.video)
    out = Path(args.out)

    def progress(frac: float) -> None:
        if not args.quiet and sys.stderr.isatty():
            print(f"\ranalysing {video.name}: {frac:4.0%}", end="", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    try:
        if video.is_dir():
            raise IsADirectoryError(f"{video} is a folder; give one video file (loop over a folder in the shell)")
        if not video.is_file():
            raise FileNotFoundError(f"no such file: {video}")
        result = analyze_video(
            video, exercise=args.exercise, settings=settings, progress=progress,
            max_side=args.max_side or None, step=args.step,
        )
    except (FileNotFoundError, IsADirectoryError, VideoError) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except NoPersonFound as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_NO_PERSON
    except PoseBackendUnavailable as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BACKEND
    finally:
        if not args.quiet and sys.stderr.isatty():
            print(file=sys.stderr)
    elapsed = time.perf_counter() - t0

    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_bytes(summary_json(result))
    (out / "angles.csv").write_bytes(angles_csv(result.angles))
    if args.annotated:
        from physio_core.annotate import write_annotated_video

        try:
            write_annotated_video(video, result, out / "annotated.mp4", max_side=args.max_side or None,
                                  step=args.step, settings=settings)
        except (OSError, VideoError) as exc:
            print(f"error: could not write annotated.mp4: {one_line(exc)}", file=sys.stderr)
            return EXIT_INPUT

    session_id = None
    if args.save:
        try:
            from physio_core.store import get_or_create_athlete, init_db, save_session_result

            engine = init_db()
            athlete = get_or_create_athlete(engine, args.athlete)
            session_id = save_session_result(engine, result, athlete_id=athlete.id,
                                             exercise=args.exercise)
        except Exception as exc:  # StorageUnavailable and driver errors alike: one line
            print(f"error: could not save the session: {one_line(exc)}", file=sys.stderr)
            return EXIT_STORAGE

    print(
        f"{video.name}: {result.frames} frames, person in {result.frames_with_person}, "
        f"{result.rep_count} reps, backend {result.backend}, "
        f"{result.frames / elapsed:.1f} frames/s -> {out}"
        + (f" (saved as session #{session_id})" if session_id is not None else "")
    )
    if result.exercise_label is not None:
        scores = ", ".join(f"{k} {result.metrics[k]:.2f}" for k in
                           ("stability_score", "balance_score", "injury_risk") if k in result.metrics)
        print(f"exercise: {result.exercise_label}" + (f" ({scores})" if scores else ""))
    for line in result.feedback:
        print(f"feedback: {line}")
    for w in result.warnings:
        print(f"warning: {w}")
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
