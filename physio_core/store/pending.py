"""Finished sessions kept in memory while the database is away, written when it is back."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from physio_core.results import SessionResult
from physio_core.store.db import StorageUnavailable
from physio_core.store.repo import get_or_create_athlete, save_session_result


@dataclass
class PendingSession:
    result: SessionResult
    athlete: int | str  # id, or a name to find/create when the database is back
    trainer_id: int | None = None
    exercise: str | None = None
    notes: str = ""
    extra_data: Mapping[str, dict[str, Any]] | None = None


@dataclass
class PendingWrites:
    """A thread-safe queue of sessions to save. Typical use on a page::

        sid = pending.save_or_keep(engine, result, athlete_id)  # None: kept, show a warning
        ...
        pending.flush(engine)  # on a later rerun / "retry" button
    """

    _items: list[PendingSession] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> list[PendingSession]:
        with self._lock:
            return list(self._items)

    def add(self, result: SessionResult, athlete: int | str, trainer_id: int | None = None,
            exercise: str | None = None, *, notes: str = "",
            extra_data: Mapping[str, dict[str, Any]] | None = None) -> None:
        with self._lock:
            self._items.append(PendingSession(result, athlete, trainer_id, exercise, notes, extra_data))

    def save_or_keep(self, engine: Engine | None, result: SessionResult, athlete: int | str,
                     trainer_id: int | None = None, exercise: str | None = None, *, notes: str = "",
                     extra_data: Mapping[str, dict[str, Any]] | None = None) -> int | None:
        """Save now (after anything already waiting, to keep their order) and return the id;
        if the database is unavailable (or ``engine`` is None) keep it and return None."""
        self.add(result, athlete, trainer_id, exercise, notes=notes, extra_data=extra_data)
        if engine is None:
            return None
        try:
            return self.flush(engine)[-1]
        except StorageUnavailable:
            return None

    def flush(self, engine: Engine) -> list[int]:
        """Save waiting sessions in order and return their new ids. Stops at the first
        StorageUnavailable, which is re-raised; what was not saved stays queued."""
        saved: list[int] = []
        with self._lock:
            while self._items:
                item = self._items[0]
                athlete_id = item.athlete
                if isinstance(athlete_id, str):
                    athlete_id = get_or_create_athlete(engine, athlete_id, item.trainer_id).id
                    item.athlete = athlete_id  # do not look it up again if the save fails
                saved.append(save_session_result(
                    engine, item.result, athlete_id, item.trainer_id, item.exercise,
                    notes=item.notes, extra_data=item.extra_data,
                ))
                self._items.pop(0)
        return saved
