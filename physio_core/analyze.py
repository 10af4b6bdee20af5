"""Analyse recorded videos from the command line.

    python -m physio_core.analyze VIDEO [VIDEO ...] --out DIR [--exercise X] [--backend embedded|mmpose]
                                  [--save --athlete NAME] [--max-side 640] [--step N] [--annotated] [--exports]
                                  [--sets]

For one video it writes DIR/summary.json (frames, fps, frames_with_person, rep_count, reps, backend, ...; with
the trained models also exercise_label and per rep exercise, stability_score, balance_score,
injury_risk, reason, mistake) and DIR/angles.csv (time_s + the 23 angles); with --annotated
also DIR/annotated.mp4 (the video with skeleton, angles, rep count and verdicts drawn); with
--exports also the session page's five export files, named after the video (NAME.csv long
format, NAME.json, NAME.mot and NAME.trc for OpenSim, NAME_report.html to print). On bad
input (missing file, not a video, damaged, too large, no person, backend unavailable, database
away, an output folder that cannot be written) it prints ONE line to stderr and exits non-zero: 2
input file or output folder, 3 no person, 4 pose backend, 5 database, 1 anything else. The output
folder is checked before any video is analysed.

With --sets, a video of several sets (physio_core.sets: several exercises, or rests of 20 s or
more between sets of one) is also analysed set by set: DIR/set-1/, DIR/set-2/, ... each get the
files above for that set alone (and --save stores each set as a session of its own, not the
whole video), and DIR/summary.json, of the whole video, gets "sets": [{set, start_s, end_s,
exercise, rep_count, out, session_id}]. A video of one set is written as without --sets, with
"sets": [].

Several videos are a batch, analysed one after the other in this one process (the modules and
models load once). Each video's files go to DIR/<its name without extension>/ (DIR/<name>-2/ for
a second video of the same name, or one whose name another video's folder took), and
DIR/batch.csv gets one row per video, in the order given: its figures, or what went wrong with it.
A video that fails is its line on stderr and its row; the batch goes on. The exit status is 0 when
every video was analysed, else the first failed video's code.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
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


MIN_SIDE = 128  # a smaller frame holds too few pixels for a person to be found in it


def _max_side(text: str) -> int:
    value = int(text) if text.strip().lstrip("+").isdigit() else -1
    if value != 0 and value < MIN_SIDE:
        raise argparse.ArgumentTypeError(f"expected 0 (keep the size) or a side of {MIN_SIDE} pixels or more, "
                                         f"got {text!r}")
    return value


def _exercise(text: str) -> str:
    """``auto``, or the exercise's own name for a name or alias ``reps.exercise_key`` knows: a
    misspelt name is an error, not a silent ``auto``."""
    from physio_core.reps import EXERCISE_ALIASES, EXERCISES, exercise_key

    if text.strip().lower() == "auto":
        return "auto"
    key = exercise_key(text)
    if key is None:
        raise argparse.ArgumentTypeError(
            f"unknown exercise {text!r}; known: auto, {', '.join(EXERCISES)} "
            f"(or {', '.join(EXERCISE_ALIASES)})")
    return key


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m physio_core.analyze",
        description="Pose, joint angles and reps of one person in each recorded video.",
    )
    ap.add_argument("video", nargs="+",
                    help="mp4 / mov / avi / webm file; several (e.g. FOLDER/*.mp4) make a batch")
    ap.add_argument("--out", required=True,
                    help="output folder (created if missing); a batch writes a folder per video in it")
    ap.add_argument("--exercise", type=_exercise, default="auto",
                    help="exercise name (e.g. deep_squat, standing_shoulder_abduction, or short: squat, "
                         "scaption) or auto")
    ap.add_argument("--backend", choices=["embedded", "mmpose"], default=None,
                    help="pose backend (default: PHYSIO_POSE_BACKEND, else embedded)")
    ap.add_argument("--max-side", type=_max_side, default=640,
                    help=f"downscale frames so the longer side is at most this, {MIN_SIDE} or more (0: keep)")
    ap.add_argument("--step", type=_positive_int, default=None,
                    help="analyse one frame in STEP (default: every frame up to 60 fps; 120 fps clips 2, 240 fps 4)")
    ap.add_argument("--annotated", action="store_true",
                    help="also write annotated.mp4: the video with skeleton, angles, rep count and verdicts drawn")
    ap.add_argument("--exports", action="store_true",
                    help="also write the session page's exports, named after the video: NAME.csv (long "
                         "format), NAME.json, NAME.mot and NAME.trc (OpenSim), NAME_report.html (printable)")
    ap.add_argument("--sets", action="store_true",
                    help="also analyse each set of a video of several (several exercises, or rests of 20 s "
                         "or more) on its own, in DIR/set-1/, DIR/set-2/, ...; --save then stores the sets")
    ap.add_argument("--save", action="store_true", help="store the session in the database")
    ap.add_argument("--athlete", default="Unnamed athlete",
                    help="athlete name for --save (created if new)")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    ap.add_argument("--verbose", action="store_true",
                    help="let the pose libraries' own log lines through to stderr")
    return ap


# batch.csv: one row per video; figures empty where the video failed or the models did not run
BATCH_COLUMNS = ("video", "out", "exit_code", "error", "frames", "fps", "frames_with_person", "rep_count",
                 "exercise_label", "stability_score", "balance_score", "injury_risk", "session_id",
                 "seconds", "sets")


@dataclass
class Outcome:
    """What became of one video: its exit code (0: analysed) and its batch.csv row."""

    code: int
    row: dict[str, object] = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    from physio_core.config import get_settings

    args = build_parser().parse_args(argv)
    get_settings()  # a bad setting is its one line before any folder is made
    if (problem := _unwritable(Path(args.out))) is not None:
        print(f"error: cannot write to the output folder {args.out}: {problem}", file=sys.stderr)
        return EXIT_INPUT
    with quiet_native_stderr(not args.verbose):
        if len(args.video) == 1:
            return _run(Path(args.video[0]), Path(args.out), args).code
        return _run_batch(args)


def _unwritable(out: Path) -> str | None:
    """Why no file can be written in ``out``, or None: found before any video is analysed, not
    after the first. A folder still to be made is tried in the nearest one there is, and made only
    once there are results to put in it."""
    import tempfile

    there = out
    while not there.exists() and there != there.parent:
        there = there.parent
    if not there.is_dir():
        return f"{there} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=there):
            pass
    except OSError as exc:
        return one_line(exc)
    return None


def _batch_folders(videos: list[Path], out: Path) -> list[Path]:
    """DIR/<stem> for each video; a name taken before (by an earlier video's folder, ``batch.csv``,
    or the same name in other case, one folder on macOS and Windows) gets -2, -3, ..."""
    taken = {"batch.csv"}
    folders = []
    for v in videos:
        stem = v.stem if v.stem not in ("", ".", "..") else "video"
        name, k = stem, 1
        while name.casefold() in taken:
            k += 1
            name = f"{stem}-{k}"
        taken.add(name.casefold())
        folders.append(out / name)
    return folders


def _run_batch(args: argparse.Namespace) -> int:
    videos = [Path(v) for v in args.video]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    outcomes = []
    with (out / "batch.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=BATCH_COLUMNS)
        writer.writeheader()
        for k, (video, folder) in enumerate(zip(videos, _batch_folders(videos, out)), start=1):
            if not args.quiet:
                print(f"[{k}/{len(videos)}] {video}", file=sys.stderr, flush=True)
            try:
                outcome = _run(video, folder, args, batch=True)
            except Exception as exc:  # a bug met on one video must not lose the others
                outcome = _fail(1, f"{type(exc).__name__}: {one_line(exc)}", video, True,
                                {"video": str(video), "out": str(folder)})
            writer.writerow({c: outcome.row.get(c, "") for c in BATCH_COLUMNS})
            f.flush()  # a long batch stopped half-way keeps the rows of the videos done
            outcomes.append(outcome)
    failed = [o for o in outcomes if o.code]
    print(f"batch: {len(outcomes) - len(failed)} of {len(outcomes)} videos analysed -> {out / 'batch.csv'}")
    return failed[0].code if failed else 0


def _fail(code: int, message: str, video: Path, batch: bool, row: dict[str, object]) -> Outcome:
    print(f"error: {video.name}: {message}" if batch else f"error: {message}", file=sys.stderr)
    return Outcome(code, {**row, "exit_code": code, "error": message})


def _write_exports(result, out: Path, video: Path, session_id: int | None) -> None:
    """The session page's export files; a saved session's carry its number, row and feedback."""
    import re

    from physio_core import exports

    session, feedback = None, ()
    if session_id is not None:
        from physio_core.store import get_session_detail, init_db

        detail = get_session_detail(init_db(), session_id)
        session, feedback = detail.session, detail.feedback
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", video.stem)[:80] or "video"
    for e in exports.session_exports(result, session_id=session_id if session_id is not None else stem,
                                     session=session, feedback=feedback, stem=stem):
        (out / e.file_name).write_bytes(e.build())


def _run(video: Path, out: Path, args: argparse.Namespace, *, batch: bool = False) -> Outcome:

    from physio_core.config import get_settings
    from physio_core.pipeline import NoPersonFound, analyze_video
    from physio_core.pose.base import PoseBackendUnavailable
    from physio_core.video import VideoError

    settings = get_settings()
    if args.backend:
        settings = settings.model_copy(update={"pose_backend": args.backend})
    row: dict[str, object] = {"video": str(video), "out": str(out)}

    def progress(frac: float) -> None:
        if not args.quiet and sys.stderr.isatty():
            print(f"\ranalysing {video.name}: {frac:4.0%}", end="", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    try:
        if video.is_dir():
            raise IsADirectoryError(f"{video} is a folder; give video files (e.g. {video}/*.mp4)")
        if not video.is_file():
            raise FileNotFoundError(f"no such file: {video}")
        result = analyze_video(
            video, exercise=args.exercise, settings=settings, progress=progress,
            max_side=args.max_side or None, step=args.step,
        )
    except (FileNotFoundError, IsADirectoryError, VideoError) as exc:
        return _fail(EXIT_INPUT, one_line(exc), video, batch, row)
    except NoPersonFound as exc:
        return _fail(EXIT_NO_PERSON, one_line(exc), video, batch, row)
    except PoseBackendUnavailable as exc:
        return _fail(EXIT_BACKEND, one_line(exc), video, batch, row)
    finally:
        if not args.quiet and sys.stderr.isatty():
            print(file=sys.stderr)
    elapsed = time.perf_counter() - t0
    row.update(frames=result.frames, fps=round(result.fps, 3), frames_with_person=result.frames_with_person,
               rep_count=result.rep_count, exercise_label=result.exercise_label or "")
    row.update({k: round(result.metrics[k], 4) for k in ("stability_score", "balance_score", "injury_risk")
                if result.metrics.get(k) is not None})

    parts = []
    if args.sets:
        from physio_core.sets import split_sets

        parts = split_sets(result)
        parts = parts if len(parts) > 1 else []
    ids = []
    for k, part in enumerate(parts, 1):
        written = _write(part, out / f"set-{k}", video, args, settings, batch, row)
        if isinstance(written, Outcome):
            return written
        ids.append(written)
    sets = [{"set": k, "start_s": round(float(p.pose.times[0]), 3), "end_s": round(float(p.pose.times[-1]), 3),
             "exercise": p.session_exercise, "rep_count": p.rep_count, "out": f"set-{k}", "session_id": i}
            for k, (p, i) in enumerate(zip(parts, ids), 1)]
    written = _write(result, out, video, args, settings, batch, row, save=not parts,
                     extra={"sets": sets} if args.sets else None)
    if isinstance(written, Outcome):
        return written
    session_id = written
    saved = [str(i) for i in ([session_id] if session_id is not None else ids) if i is not None]
    row.update(exit_code=0, session_id=" ".join(saved), seconds=round(time.perf_counter() - t0, 2),
               sets=len(parts) if args.sets else "")

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
    for w in result.all_warnings:
        print(f"warning: {w}")
    for one in sets:
        print(f"set {one['set']}: {one['exercise']}, {one['rep_count']} reps, {one['start_s']:.1f}–"
              f"{one['end_s']:.1f} s -> {out / one['out']}"
              + (f" (saved as session #{one['session_id']})" if one["session_id"] is not None else ""))
    return Outcome(0, row)


def _write_whole(path: Path, data: bytes) -> None:
    """``data`` into ``path`` whole or not at all: a full disk leaves no half file to be read as done."""
    part = path.with_name(path.name + ".part")
    try:
        part.write_bytes(data)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def _write(result, out: Path, video: Path, args: argparse.Namespace, settings, batch: bool, row: dict,
           *, save: bool = True, extra: dict | None = None) -> int | None | Outcome:
    """One analysis's files in ``out`` (and its session, with --save and ``save``): the saved
    session's id (None unsaved), or the failure's Outcome."""
    from physio_core.report import angles_csv, summary_json
    from physio_core.video import VideoError

    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_whole(out / "summary.json", summary_json(result, extra=extra))
        _write_whole(out / "angles.csv", angles_csv(result.angles))
    except OSError as exc:  # a full disk, a folder made read-only meanwhile
        return _fail(EXIT_INPUT, f"could not write the results in {out}: {one_line(exc)}", video, batch, row)
    if args.annotated:
        from physio_core.annotate import write_annotated_video

        try:
            write_annotated_video(video, result, out / "annotated.mp4", max_side=args.max_side or None,
                                  step=args.step, settings=settings)
        except (OSError, VideoError) as exc:
            return _fail(EXIT_INPUT, f"could not write annotated.mp4: {one_line(exc)}", video, batch, row)

    session_id = None
    if args.save and save:
        try:
            from physio_core.store import get_or_create_athlete, init_db, save_session_result

            engine = init_db()
            athlete = get_or_create_athlete(engine, args.athlete)
            session_id = save_session_result(engine, result, athlete_id=athlete.id,
                                             exercise=args.exercise)
        except Exception as exc:  # StorageUnavailable and driver errors alike: one line
            return _fail(EXIT_STORAGE, f"could not save the session: {one_line(exc)}", video, batch, row)
    if args.exports:
        try:
            _write_exports(result, out, video, session_id)
        except OSError as exc:
            return _fail(EXIT_INPUT, f"could not write the exports: {one_line(exc)}", video, batch, row)
    return session_id


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
