"""Stored sessions scored again from their stored skeleton by the installed models: the session
page's **Score again** (one session, maybe as another exercise) and Progress's (every session
that other weights judged)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine

from physio_core.store import NotFound, SessionRow, StorageUnavailable, access, get_session_detail


def score_again_stored(engine: Engine, viewer_id: int, session_id: int, exercise: str | None = None) -> SessionRow:
    """Session ``session_id`` scored again as ``exercise`` (None: the one it is filed under):
    its reps, the models' verdicts, scores and corrections from its stored skeleton, which is
    already filtered. Its angles, notes, trainer feedback and the recording's warnings stay.
    Staff only (``access.rescore_session_as``); ValueError when it has no skeleton to score."""
    from physio_core.pipeline import score_again

    detail = get_session_detail(engine, session_id, viewer_id=viewer_id)
    if detail is None:
        raise NotFound(f"no session #{session_id}")
    if not detail.scorable:
        raise ValueError(f"session #{session_id} has no skeleton to score (a wrist-sensor set, or nobody in view)")
    s = detail.session
    result = score_again(detail.pose.at_measured_rate(), exercise or s.exercise, backend=s.backend or "stored",
                         source=s.source, started_at=s.started_at, warnings=detail.to_result().warnings)
    return access.rescore_session_as(engine, viewer_id, session_id, result)


def score_all_again(engine: Engine, viewer_id: int, session_ids: Sequence[int],
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
