"""A live session's writer: chunks go to the database as they come, and stay in memory while it
cannot be reached, to be written, in order, as soon as it is back.

    writer = LiveSessionWriter(engine, athlete_id, viewer_id=me, exercise="deep_squat")
    writer.append(pose=chunk_pose, angles=chunk_angles)   # False: kept, show a banner
    ...
    writer.end(final_result)                               # None: kept until a later flush()

``LiveSession`` (physio_core.live) queues its chunks with ``add`` on the frame thread and flushes
them on a storage thread. Thread-safe. Errors other than StorageUnavailable (a refused access,
bad data) are raised as usual and nothing is queued twice. If the session's row is deleted while
it records (from the Sessions page, say), the writer opens a new row and goes on: the final
result still holds the whole session (``replaced_id`` names the deleted row).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from physio_core.results import AngleSeries, Rep, SessionResult
from physio_core.skeleton import PoseSequence
from physio_core.store import access, repo
from physio_core.store.db import StorageUnavailable, run_read
from physio_core.store.models import SessionRecord, utcnow
from physio_core.store.repo import NotFound, SessionRow


@dataclass
class _Chunk:
    pose: PoseSequence | None = None
    angles: AngleSeries | None = None
    reps: Sequence[Rep] | None = None
    series: Mapping[str, Mapping[str, list]] | None = None


@dataclass
class LiveSessionWriter:
    engine: Engine
    athlete_id: int
    viewer_id: int | None = None  # the logged-in user: role-checked; None = trusted caller
    exercise: str = "auto"
    source: str = "live"
    backend: str = ""
    fps: float | None = None
    started_at: datetime = field(default_factory=utcnow)  # kept even if the row is created late
    session_id: int | None = None
    last_error: str | None = None  # the last StorageUnavailable message, None once all is written
    replaced_id: int | None = None  # a row deleted while recording, replaced by session_id
    _queue: list[_Chunk] = field(default_factory=list, repr=False)
    _end: tuple[SessionResult | None, datetime, Mapping | None] | None = field(default=None, repr=False)
    _ended: SessionRow | None = field(default=None, repr=False)
    # _lock guards the queue and is held only briefly, so that queueing a chunk never waits for
    # the database; _io_lock makes the writes one at a time and in order
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _io_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def pending(self) -> int:
        """Chunks waiting in memory."""
        with self._lock:
            return len(self._queue)

    @property
    def synced(self) -> bool:
        with self._lock:
            return self.session_id is not None and not self._queue and (self._end is None or self._ended is not None)

    @property
    def ended(self) -> SessionRow | None:
        return self._ended

    def start(self) -> bool:
        """Create the session row now if possible (else on the first successful flush)."""
        return self.flush()

    def add(
        self,
        *,
        pose: PoseSequence | None = None,
        angles: AngleSeries | None = None,
        reps: Sequence[Rep] | None = None,
        series: Mapping[str, Mapping[str, list]] | None = None,
    ) -> None:
        """Queue a chunk without writing anything (a later ``flush`` writes it)."""
        with self._lock:
            if self._end is not None:
                raise ValueError("this live session has ended; nothing can be appended")
            self._queue.append(_Chunk(pose, angles, reps, series))

    def append(self, **chunk: Any) -> bool:
        """Queue a chunk and try to write everything queued; True when all is in the database."""
        self.add(**chunk)
        return self.flush()

    def end(self, result: SessionResult | None = None, *, ended_at: datetime | None = None,
            extra_data: Mapping[str, dict[str, Any]] | None = None) -> SessionRow | None:
        """End the session. With ``result`` the final analysis replaces the chunks, so chunks
        still waiting are dropped. Returns the ended row, or None when the database is away
        (call ``flush`` later; nothing is lost)."""
        with self._lock:
            if self._end is None:
                self._end = (result, ended_at or utcnow(), extra_data)
                if result is not None:
                    self._queue.clear()
        self.flush()
        return self._ended

    def flush(self) -> bool:
        """Write what waits, oldest first; stops at the first StorageUnavailable."""
        with self._io_lock:
            try:
                self._write_waiting()
            except NotFound:
                try:
                    gone = self.session_id is not None and self._row_gone()
                except StorageUnavailable as err:
                    self.last_error = str(err)
                    return False
                if not gone:  # e.g. the athlete is gone: no row can be opened
                    raise
                # the row was deleted while recording: open a new one for what is left
                self.replaced_id, self.session_id = self.session_id, None
                return self.flush()
            except StorageUnavailable as err:
                self.last_error = str(err)
                return False
            self.last_error = None
            return True

    def _write_waiting(self) -> None:
        if self.session_id is None:
            self.session_id = self._create()
        while True:
            with self._lock:
                c = self._queue[0] if self._queue else None
            if c is None:
                break
            if self.viewer_id is None:
                repo.append_live_data(self.engine, self.session_id, pose=c.pose, angles=c.angles,
                                      reps=c.reps, series=c.series)
            else:
                access.append_live_as(self.engine, self.viewer_id, self.session_id, pose=c.pose,
                                      angles=c.angles, reps=c.reps, series=c.series)
            with self._lock:
                if self._queue and self._queue[0] is c:  # end(result) may have dropped it
                    self._queue.pop(0)
        with self._lock:
            end = self._end if self._ended is None else None
        if end is not None:
            result, ended_at, extra = end
            if self.viewer_id is None:
                self._ended = repo.end_session(self.engine, self.session_id, result,
                                               ended_at=ended_at, extra_data=extra)
            else:
                self._ended = access.end_session_as(self.engine, self.viewer_id, self.session_id,
                                                    result, ended_at=ended_at, extra_data=extra)

    def _row_gone(self) -> bool:
        sid = self.session_id
        return run_read(self.engine, lambda s: s.get(SessionRecord, sid) is None)

    def _create(self) -> int:
        kwargs: dict[str, Any] = dict(source=self.source, backend=self.backend, fps=self.fps,
                                      started_at=self.started_at)
        if self.viewer_id is None:
            return repo.start_session(self.engine, self.athlete_id, None, self.exercise, **kwargs)
        return access.start_session_as(self.engine, self.viewer_id, self.athlete_id, self.exercise, **kwargs)
