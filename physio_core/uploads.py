"""Uploaded videos on the server.

An upload is written in chunks under ``data_dir/uploads`` and kept only while a report may show
its frames: the session stores the skeleton, angles and reps, never the video. A newer upload in
the same browser replaces it (the page deletes the old file), and ``sweep_uploads`` deletes
whatever is older than ``Settings.upload_keep_hours`` (browsers closed on a report, analyses that
failed unexpectedly), so patients' videos neither pile up nor fill the disk.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from pathlib import Path
from typing import BinaryIO

from physio_core.config import Settings, get_settings

log = logging.getLogger("physiotrack.uploads")

CHUNK_BYTES = 8 * 2**20


def upload_dir(settings: Settings | None = None, *, create: bool = True) -> Path:
    d = (settings or get_settings()).data_dir / "uploads"
    if create:
        d.mkdir(parents=True, exist_ok=True)
    return d


def store_upload(data: BinaryIO, name: str, settings: Settings | None = None) -> Path:
    """Write ``data`` (read from its start) under a fresh name that keeps the file's stem and
    suffix; OSError (a full disk) leaves no partial file behind."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).stem)[:60] or "video"
    suffix = Path(name).suffix.lower() or ".mp4"
    dst = upload_dir(settings) / f"{uuid.uuid4().hex[:12]}_{stem}{suffix}"
    data.seek(0)
    try:
        with dst.open("wb") as out:
            while chunk := data.read(CHUNK_BYTES):
                out.write(chunk)
    except OSError:
        dst.unlink(missing_ok=True)
        raise
    return dst


def sweep_uploads(settings: Settings | None = None, *, now: float | None = None) -> int:
    """Delete uploads last written more than ``upload_keep_hours`` ago; returns how many."""
    settings = settings or get_settings()
    cutoff = (time.time() if now is None else now) - settings.upload_keep_hours * 3600
    return delete_files(files_older_than(upload_dir(settings, create=False), cutoff), "old upload")


def files_older_than(folder: Path, cutoff: float) -> list[Path]:
    """The files in ``folder`` last written before ``cutoff`` (a ``time.time()``); none when the
    folder is missing or cannot be listed (logged: the page still works, the sweep waits)."""
    if not folder.is_dir():
        return []
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        log.warning("could not list %s: %s", folder, exc)
        return []
    old = []
    for f in entries:
        try:
            if f.is_file() and f.stat().st_mtime < cutoff:
                old.append(f)
        except OSError:  # gone meanwhile (another server process)
            continue
    return old


def delete_files(files: list[Path], what: str) -> int:
    """Delete ``files``; returns how many went. One that cannot go (gone meanwhile, or not ours
    to delete) is logged as "the ``what``"."""
    removed = 0
    for f in files:
        try:
            f.unlink()
            removed += 1
        except OSError as exc:
            log.warning("could not delete the %s %s: %s", what, f.name, exc)
    return removed
