"""Live recordings on the server ("Record video": raw camera video under ``data_dir/videos``).

A recording belongs to its session: the session's row names it from the first stored chunk (or
from STOP, when the session is stored in one go), Session detail plays it, and deleting the
session or the athlete deletes it. A recording that no row names is an orphan: its session was
never stored (the tab was closed before STOP with no database or no athlete, or the server
stopped while the session waited for the database). Nobody can reach it, yet it is a patient's
video, so ``sweep_orphan_recordings`` deletes it once it is ``ORPHAN_AFTER_H`` hours old.
A recording whose session may still be stored (it has a database and an athlete, and runs or
waits for the database in this process) is held meanwhile and never swept.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from physio_core.config import Settings, get_settings
from physio_core.uploads import delete_files, files_older_than

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger("physiotrack.recordings")

# a recording is written to every second while its session runs, and a stopped session waiting
# for the database is held; a day leaves room for another server process on the same folder
ORPHAN_AFTER_H = 24.0
SWEEP_EVERY_S = 3600.0  # the sweep reads every session's recording: at most once an hour

_lock = threading.Lock()
_held: set[str] = set()  # file names of recordings whose session may still be stored
_last_sweep: dict[Path, float] = {}  # folder -> monotonic time of its last sweep


def recording_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "videos"


def hold(path: Path) -> None:
    """Keep ``path`` from the sweep while its session may still be stored."""
    with _lock:
        _held.add(path.name)


def release(path: Path) -> None:
    """The session is stored (its row names the file) or the file is gone."""
    with _lock:
        _held.discard(path.name)


def sweep_orphan_recordings(engine: Engine, settings: Settings | None = None, *, now: float | None = None,
                            every_s: float = 0.0) -> int:
    """Delete recordings that no session names, last written more than ``ORPHAN_AFTER_H`` hours
    ago; returns how many. With ``every_s``, does nothing if this folder was swept less than
    ``every_s`` seconds ago. While the database cannot be read nothing is deleted (which
    recordings are named is unknown), and the next call tries again."""
    from physio_core.store.db import StorageUnavailable
    from physio_core.store.repo import recording_names

    folder = recording_dir(settings)
    with _lock:
        last = _last_sweep.get(folder)
        if every_s and last is not None and time.monotonic() - last < every_s:
            return 0
    old = files_older_than(folder, (time.time() if now is None else now) - ORPHAN_AFTER_H * 3600)
    try:
        named = recording_names(engine) if old else set()
    except StorageUnavailable as exc:
        log.warning("recordings not swept, the database is away: %s", exc)
        return 0
    with _lock:
        _last_sweep[folder] = time.monotonic()
        orphans = [f for f in old if f.name not in named and f.name not in _held]
    removed = delete_files(orphans, "orphan recording")
    if removed:
        log.info("deleted %d recording(s) no session names, in %s", removed, folder)
    return removed
