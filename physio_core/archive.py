"""Everything stored about one athlete as one ZIP file: their copy of their own data, or a
clinic's copy to take elsewhere. It holds what the pages show and export, session by session:

    README.txt                   what is where
    sessions.csv                 one row per session (UTC times)
    targets.csv                  the trainers' range-of-motion targets
    athlete.csv                  the athlete's name, affected side and condition
    programme.csv                the athlete's programme, current and ended items
    progress_report.html         the progress page, printable
    plotly.min.js                the charts' script, once for every report (they work offline)
    session_<id>/                a video session: its page's own five downloads (long CSV,
                                 full JSON, OpenSim .mot and .trc, printable report)
    session_<id>/                a wrist-sensor set: its raw series (CSV), analysis (JSON) and
                                 printable report

A session without stored data (created, never recorded) has its row in sessions.csv only.
Recorded live videos are not included: they are played and downloaded on their session's page.

From the command line (the database of DATABASE_URL, else the app's SQLite file):

    python -m physio_core.archive ATHLETE [ATHLETE ...] --out DIR    # an id or a name each
    python -m physio_core.archive --all --out DIR                    # every athlete

writes DIR/<id>_<name>.zip for each. Exit 2 for an athlete not found (or a name that two share:
their ids are listed), 5 when the database cannot be reached.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import zipfile
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import Engine

from physio_core import exports, handout
from physio_core.programme import DAY_NAMES
from physio_core.results import on_clock

SESSION_COLUMNS = ("id", "started_at_utc", "exercise", "source", "status", "rep_count", "frames",
                   "frames_with_person", "fps", "backend", "stability_score", "reps_judged", "reps_correct",
                   "notes", "pain", "effort")
TARGET_COLUMNS = ("angle", "exercise", "target_deg", "updated_at_utc")
ATHLETE_COLUMNS = ("name", "affected_side", "condition", "since")
PROGRAMME_COLUMNS = ("exercise", "sessions_per_week", "reps_per_set", "note", "started_at_utc", "ended_at_utc",
                     "sets_per_session", "days")
_PLOTLY_JS = "plotly.min.js"

_README = """PhysioTrack: everything stored about {athlete}, as of {made} (UTC).

sessions.csv           one row per session; times in UTC; pain and effort 0-10 as the athlete
                       said them (empty: not asked)
targets.csv            the range-of-motion targets: angle, exercise (empty: any), degrees
programme.csv          the programme: exercise, sessions a week (days), reps a set (empty: not
                       said), the note, from and until when (until empty: in the programme now),
                       sets a session (empty: not said), the days of the week it is planned on
                       (Mon Wed Fri; empty: any)
athlete.csv            the athlete: name, affected side (left, right; empty: not said), the
                       condition in words and the day of the injury or operation (since)
progress_report.html   the progress page, printable (open it in a browser)
home_programme.html    the programme now, a sheet to print for home (when there is one)
morning_pain.csv       the pain the athlete felt the morning after training: day, pain (0-10)
plotly.min.js          the script that draws the reports' charts; keep it beside them
session_<id>/          each session's files:
  video sessions       <id>.csv (every measured value, long format), <id>.json (the whole
                       analysis with its series), <id>.mot / <id>.trc (OpenSim angles and 3D
                       joints), <id>_report.html (printable)
  wrist-sensor sets    <id>_imu.csv (the raw sensor series), <id>_imu.json (the analysis, with
                       the session and its feedback), <id>_report.html (printable)
The reports tell times on the clock of {zone}.
Sessions without stored data have their row in sessions.csv only. Recorded live videos are not
included: they are on their session's page.
To bring it into another PhysioTrack: its Sessions page, "Import sessions from another
PhysioTrack" (staff), or python -m physio_core.imports THIS.zip
"""


def file_name(athlete_id: int) -> str:
    """The name the pages download an athlete's archive under: whose, and of which day."""
    return f"physiotrack_{athlete_id}_{datetime.now(UTC):%Y%m%d}.zip"


def athlete_archive(engine: Engine, athlete_id: int, *, viewer_id: int | None = None, tz: tzinfo = UTC) -> bytes:
    """The ZIP file of everything about ``athlete_id`` that ``viewer_id`` may see (all of it for
    a trusted caller, ``viewer_id=None``); raises ``AccessDenied`` where the viewer may not see
    the athlete."""
    buf = io.BytesIO()
    write_athlete_archive(engine, athlete_id, buf, viewer_id=viewer_id, tz=tz)
    return buf.getvalue()


def write_athlete_archive(engine: Engine, athlete_id: int, file: BinaryIO, *, viewer_id: int | None = None,
                          tz: tzinfo = UTC) -> int:
    """``athlete_archive`` written into ``file`` as it is made, one session at a time (a clinic's
    archive on disk never needs to fit in memory); returns the number of sessions in it."""
    import plotly.offline

    from physio_core import progress
    from physio_core.store import (AccessDenied, can_view_athlete, count_sessions, get_session_detail,
                                   get_user, list_sessions)

    if viewer_id is not None and not can_view_athlete(engine, viewer_id, athlete_id):
        raise AccessDenied("You may not see this athlete's data.")
    athlete = get_user(engine, athlete_id)
    name = athlete.display_name if athlete is not None else f"athlete {athlete_id}"
    n = count_sessions(engine, athlete_id=athlete_id, viewer_id=viewer_id)
    rows = list_sessions(engine, athlete_id=athlete_id, viewer_id=viewer_id, limit=max(1, n))[::-1]

    # deflate's fastest level: for a 10-min session 0.6 s and 17 MB, where the default level 6
    # took 2.9 s (most of the whole archive's time) for 12 MB
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("README.txt", _README.format(athlete=name, made=f"{datetime.now(UTC):%Y-%m-%d %H:%M}", zone=tz))
        z.writestr(_PLOTLY_JS, plotly.offline.get_plotlyjs())
        z.writestr("sessions.csv", _sessions_csv(rows))
        shown = progress.load_progress(engine, athlete_id, viewer_id=viewer_id, tz=tz)
        z.writestr("targets.csv", _targets_csv(shown.targets))
        z.writestr("programme.csv", _programme_csv(shown.programme))
        z.writestr("athlete.csv", _athlete_csv(name, shown.profile))
        z.writestr("morning_pain.csv", "day,pain\n" + "".join(f"{m.day:%Y-%m-%d},{m.pain}\n" for m in shown.morning))
        if any(it.ended_at is None for it in shown.programme):
            z.writestr("home_programme.html", exports.handout_html(handout.build_handout(
                engine, athlete_id, viewer_id=viewer_id, today=datetime.now(tz).date(), tz=tz, athlete=name,
                data=shown)))
        if shown.rows:
            # as the page opens: its main exercise's range of motion, on its default angles
            angle_rows = [r for r in shown.rows if r.rom_deg]
            main = progress.main_exercise(angle_rows)
            z.writestr("progress_report.html", exports.progress_report_html(
                shown.rows, athlete=name, targets=shown.targets, rom_exercise=main,
                angles=progress.default_rom_angles(angle_rows, shown.targets, main) if main else (),
                include_plotlyjs=_PLOTLY_JS, programme=shown.programme, affected_side=shown.affected_side,
                morning=shown.morning, first_and_latest=progress.first_and_latest(
                    engine, [r for r in angle_rows if r.exercise == main], viewer_id=viewer_id) if main else None,
                condition=progress.condition_words(shown.profile, datetime.now(tz).date())))
        script = f"../{_PLOTLY_JS}"
        ended = {r.session_id: r for r in shown.rows}
        for row in rows:
            detail = get_session_detail(engine, row.id, viewer_id=viewer_id)
            folder = f"session_{row.id}/"
            about = progress.session_about(shown.profile, on_clock(row.started_at, tz).date(),
                                           ended.get(row.id), shown.morning)
            if detail is not None and detail.pose is not None:
                for e in exports.session_exports(detail.to_result(), session_id=row.id, session=detail.session,
                                                 feedback=detail.feedback, stem=str(row.id), tz=tz,
                                                 include_plotlyjs=script, about=about):
                    z.writestr(folder + e.file_name, e.build())
            elif detail is not None and (series := detail.imu_series) is not None:
                for e in exports.imu_session_exports(series, detail.imu_analysis, stem=str(row.id),
                                                     session=detail.session, feedback=detail.feedback,
                                                     tz=tz, include_plotlyjs=script, about=about):
                    z.writestr(folder + e.file_name, e.build())
    return len(rows)


def _sessions_csv(rows) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(SESSION_COLUMNS)
    for r in rows:
        w.writerow([r.id, on_clock(r.started_at, UTC).isoformat(timespec="seconds"), r.exercise, r.source,
                    getattr(r.status, "value", r.status), r.rep_count, r.frames, r.frames_with_person,
                    "" if r.fps is None else round(r.fps, 3), r.backend,
                    "" if r.stability_score is None else round(r.stability_score, 4),
                    "" if r.reps_judged is None else r.reps_judged,
                    "" if r.reps_correct is None else r.reps_correct, r.notes,
                    "" if r.pain is None else r.pain, "" if r.effort is None else r.effort])
    return out.getvalue()


def _targets_csv(targets) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(TARGET_COLUMNS)
    for t in sorted(targets, key=lambda t: (t.exercise, t.angle)):
        w.writerow([t.angle, t.exercise, round(t.target_deg, 3), on_clock(t.updated_at, UTC).isoformat(timespec="seconds")])
    return out.getvalue()


def _athlete_csv(name: str, profile) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(ATHLETE_COLUMNS)
    w.writerow([name, profile.affected_side or "", profile.condition,
                "" if profile.since is None else f"{profile.since:%Y-%m-%d}"])
    return out.getvalue()


def _programme_csv(items) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(PROGRAMME_COLUMNS)

    def utc(t: datetime | None) -> str:
        return "" if t is None else on_clock(t, UTC).isoformat(timespec="seconds")

    for it in items:
        w.writerow([it.exercise, it.sessions_per_week, "" if it.reps_per_set is None else it.reps_per_set,
                    it.note, utc(it.started_at), utc(it.ended_at),
                    "" if it.sets_per_session is None else it.sets_per_session,
                    " ".join(DAY_NAMES[d] for d in it.days)])
    return out.getvalue()


EXIT_ATHLETE, EXIT_STORAGE = 2, 5


def athletes_named(engine: Engine, wanted: list[str], every: bool) -> list:
    """The athletes named (by id or name) on a command line, or every one; LookupError for one
    not found or a name two share."""
    from physio_core.store import Role, list_users

    athletes = list_users(engine, Role.ATHLETE, include_inactive=True)
    if every:
        return athletes
    picked = []
    for w in wanted:
        found = ([a for a in athletes if a.id == int(w)] if w.isdigit()
                 else [a for a in athletes if a.display_name.casefold() == " ".join(w.split()).casefold()])
        if not found:
            raise LookupError(f"no athlete {w!r}")
        if len(found) > 1:
            raise LookupError(f"{len(found)} athletes are called {w!r}: give one's id "
                              f"({', '.join(str(a.id) for a in found)})")
        picked.append(found[0])
    return picked


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m physio_core.archive",
                                 description="Everything stored about athletes, one ZIP file each.")
    ap.add_argument("athlete", nargs="*", help="an athlete's id or name")
    ap.add_argument("--all", action="store_true", help="every athlete")
    ap.add_argument("--out", required=True, help="folder for the ZIP files (created if missing)")
    args = ap.parse_args(argv)
    if bool(args.athlete) == args.all:
        ap.error("give athletes, or --all")
    from physio_core.store import init_db

    try:
        engine = init_db()
        athletes = athletes_named(engine, args.athlete, args.all)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ATHLETE
    except Exception as exc:  # StorageUnavailable and driver errors alike: one line
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_STORAGE
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for a in athletes:
        path = out / f"{a.id}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', a.display_name)[:60]}.zip"
        part = path.with_name(path.name + ".part")  # a run cut short leaves no ZIP that looks whole
        try:
            with part.open("wb") as f:
                n = write_athlete_archive(engine, a.id, f)
            part.replace(path)
        finally:
            part.unlink(missing_ok=True)
        print(f"{a.display_name} (#{a.id}): {n} session{'s' * (n != 1)} -> {path} "
              f"({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
