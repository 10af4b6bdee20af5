"""Live recordings no session names (their session was never stored) are deleted once a day old;
those a session names, or whose session may still be stored, stay. On SQLite and Postgres."""

from __future__ import annotations

import os
import time
from pathlib import Path

from physio_core import recordings
from physio_core.config import Settings
from physio_core.recordings import ORPHAN_AFTER_H, sweep_orphan_recordings
from physio_core.store import create_user, delete_session, save_session_result
from physio_core.store.codec import KIND_VIDEO


def _recording(folder: Path, name: str, age_h: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / name
    f.write_bytes(b"\0" * 1000)
    os.utime(f, (time.time() - age_h * 3600,) * 2)
    return f


def test_only_old_recordings_no_session_names_are_deleted(db_engine, uiprmd_session_result, tmp_path):
    settings = Settings(data_dir=tmp_path)
    folder = tmp_path / "videos"
    assert sweep_orphan_recordings(db_engine, settings) == 0  # no folder yet
    named = _recording(folder, "live_named.mp4", 3 * 24)
    orphan = _recording(folder, "live_orphan.mp4", 3 * 24)
    recent = _recording(folder, "live_recent.mp4", ORPHAN_AFTER_H - 1)
    held = _recording(folder, "live_held.mp4", 3 * 24)
    athlete = create_user(db_engine, None, "Recorded Athlete")
    # stored as a relative path (a relative PHYSIO_DATA_DIR): still recognised by its name
    sid = save_session_result(db_engine, uiprmd_session_result, athlete.id,
                              extra_data={KIND_VIDEO: {"path": ["data/videos/live_named.mp4"]}})
    recordings.hold(held)
    try:
        assert sweep_orphan_recordings(db_engine, settings) == 1
        assert not orphan.exists() and named.exists() and recent.exists() and held.exists()
    finally:
        recordings.release(held)

    # at most once an hour when asked so: a new orphan waits for the next hour's sweep
    sweep_orphan_recordings(db_engine, settings, every_s=3600)
    late = _recording(folder, "live_late.mp4", 3 * 24)
    assert sweep_orphan_recordings(db_engine, settings, every_s=3600) == 0 and late.exists()
    assert sweep_orphan_recordings(db_engine, settings) == 2  # released meanwhile: held goes too
    assert not late.exists() and not held.exists()

    # once its session is deleted nothing names it (the deletion itself looked for the file at
    # the relative path it stored, from this working directory): the sweep is the backstop
    assert delete_session(db_engine, sid) is True
    assert sweep_orphan_recordings(db_engine, settings, now=time.time()) == 1 and not named.exists()
    assert recent.exists()


def test_nothing_is_deleted_while_the_database_is_away(tmp_path):
    from physio_core.store import make_engine

    orphan = _recording(tmp_path / "videos", "live_orphan.mp4", 3 * 24)
    away = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")  # nothing listens on port 1
    assert sweep_orphan_recordings(away, Settings(data_dir=tmp_path)) == 0
    assert orphan.exists()  # unknown whether a session names it
