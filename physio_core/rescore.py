"""Stored sessions scored again from their stored skeleton by the installed models: the session
page's **Score again** (one session, maybe as another exercise) and Progress's (every session
that other weights judged); and a stored session split into its sets (**Split into sets**).

From the command line, after the weights changed (the database of DATABASE_URL, else the app's
SQLite file):

    python -m physio_core.rescore ATHLETE [ATHLETE ...]    # an id or a name each
    python -m physio_core.rescore --all                    # every athlete
        [--every]   every ended video session (also those these weights judged, or without verdicts)

scores again, as each is filed, the ended video sessions that other weights judged (or that do
not say which did: judged before 2026-12-05). Exit 2 for an athlete not found (or a name two
share), 5 when the database cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine

from physio_core.store import NotFound, SessionRow, StorageUnavailable, access, get_session_detail


def score_again_stored(engine: Engine, viewer_id: int | None, session_id: int,
                       exercise: str | None = None) -> SessionRow:
    """Session ``session_id`` scored again as ``exercise`` (None: the one it is filed under):
    its reps, the models' verdicts, scores and corrections from its stored skeleton, which is
    already filtered. Its angles, notes, trainer feedback and the recording's warnings stay.
    Staff only (``access.rescore_session_as``; ``viewer_id=None``: a trusted caller, the
    command line); ValueError when it has no skeleton to score."""
    from physio_core.pipeline import score_again

    detail = get_session_detail(engine, session_id, viewer_id=viewer_id)
    if detail is None:
        raise NotFound(f"no session #{session_id}")
    if not detail.scorable:
        raise ValueError(f"session #{session_id} has no skeleton to score (a wrist-sensor set, or nobody in view)")
    s = detail.session
    result = score_again(detail.pose.at_measured_rate(), exercise or s.exercise, backend=s.backend or "stored",
                         source=s.source, started_at=s.started_at, warnings=detail.to_result().warnings)
    if viewer_id is None:
        from physio_core.store import repo

        return repo.rescore_session(engine, session_id, result)
    return access.rescore_session_as(engine, viewer_id, session_id, result)


def _stored_whole(engine: Engine, viewer_id: int | None, session_id: int):
    """A stored session's analysis as a recording of no exercise named, for ``physio_core.sets``."""
    from dataclasses import replace

    detail = get_session_detail(engine, session_id, viewer_id=viewer_id)
    if detail is None:
        raise NotFound(f"no session #{session_id}")
    if not detail.scorable:
        raise ValueError(f"session #{session_id} has no skeleton to split (a wrist-sensor set, or nobody in view)")
    whole = detail.to_result()
    pose = whole.pose.at_measured_rate()
    return replace(whole, pose=pose, fps=pose.fps, exercise="auto")


def sets_of_stored(engine: Engine, viewer_id: int | None, session_id: int):
    """The sets (``physio_core.sets.find_sets``, exercise recognised) in a stored session: the
    session page shows them before **Split into sets**."""
    from physio_core.sets import find_sets

    return find_sets(_stored_whole(engine, viewer_id, session_id).pose)


def split_stored(engine: Engine, viewer_id: int | None, session_id: int, spans=None) -> list[int]:
    """Session ``session_id`` split into its sets (``spans``, else found again), each analysed on
    its own (``store.repo.split_session``; staff only, ``viewer_id=None``: a trusted caller).
    Returns the sets' session ids, the first being ``session_id``. ValueError when it holds
    fewer than two sets."""
    from physio_core.sets import split_sets

    whole = _stored_whole(engine, viewer_id, session_id)
    if spans is not None:
        # spans found before the session changed (split since, from another page): beyond its skeleton now
        t, frame = whole.pose.times, 1.0 / whole.pose.fps
        if any(sp.start_s < t[0] - frame or sp.end_s > t[-1] + frame for sp in spans):
            raise ValueError(f"session #{session_id} has changed since its sets were looked for "
                             "(split already?): look for its sets again")
    parts = split_sets(whole, spans)
    if len(parts) < 2:
        raise ValueError(f"session #{session_id} holds one set: there is nothing to split")
    if viewer_id is None:
        from physio_core.store import repo

        return repo.split_session(engine, session_id, parts)
    return access.split_session_as(engine, viewer_id, session_id, parts)


def score_all_again(engine: Engine, viewer_id: int | None, session_ids: Sequence[int],
                    progress: Callable[[int, int], None] | None = None) -> tuple[list[int], list[str]]:
    """``score_again_stored`` on each session, as it is filed; returns (the ids scored, "#id:
    reason" of those that could not be). A database that goes away stops it: the sessions
    scored so far stay scored."""
    done, failed = [], []
    for k, sid in enumerate(session_ids):
        if progress is not None:
            progress(k, len(session_ids))
        try:
            score_again_stored(engine, viewer_id, sid)
        except StorageUnavailable:
            raise
        except (ValueError, LookupError, RuntimeError) as exc:
            failed.append(f"#{sid}: {exc}")
        else:
            done.append(sid)
    return done, failed


EXIT_ATHLETE, EXIT_STORAGE = 2, 5


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m physio_core.rescore",
                                 description="Score stored sessions again with the installed model weights.")
    ap.add_argument("athlete", nargs="*", help="an athlete's id or name")
    ap.add_argument("--all", action="store_true", help="every athlete")
    ap.add_argument("--every", action="store_true",
                    help="every ended video session, not only those that other weights judged")
    args = ap.parse_args(argv)
    if bool(args.athlete) == args.all:
        ap.error("give athletes, or --all")
    from sqlalchemy.exc import SQLAlchemyError

    from physio_core import progress
    from physio_core.archive import athletes_named
    from physio_core.ml.weights import installed_judged_by
    from physio_core.store import init_db, progress_for_athlete

    installed = installed_judged_by()
    try:
        engine = init_db()
        athletes = athletes_named(engine, args.athlete, args.all)
        for a in athletes:
            rows = [r for r in progress_for_athlete(engine, a.id) if not r.sensor_set]
            ids = ([r.session_id for r in rows] if args.every
                   else progress.judged_by_other_weights(rows, installed))
            done, failed = score_all_again(engine, None, ids)
            print(f"{a.display_name} (#{a.id}): {len(done)} session{'s' * (len(done) != 1)} scored again "
                  f"with weights {installed}" + (f"; {len(failed)} not" if failed else ""))
            for line in failed:
                print(f"  not scored again: {line}")
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ATHLETE
    except (StorageUnavailable, SQLAlchemyError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_STORAGE
    return 0


if __name__ == "__main__":
    from physio_core.config import run_cli

    raise SystemExit(run_cli(main))
