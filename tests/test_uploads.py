"""Uploaded videos on the server: stored whole or not at all, and deleted once no report needs them."""

from __future__ import annotations

import io
import os
import time

import pytest

from physio_core.config import Settings
from physio_core.uploads import store_upload, sweep_uploads


def test_stored_under_a_safe_fresh_name(tmp_path):
    settings = Settings(data_dir=tmp_path)
    data = os.urandom(20 * 2**20 + 123)  # more than two chunks
    a = store_upload(io.BytesIO(data), "../Séance 1 – Ana.MOV", settings)
    b = store_upload(io.BytesIO(data), "../Séance 1 – Ana.MOV", settings)
    assert a.parent == b.parent == tmp_path / "uploads" and a != b
    assert a.suffix == ".mov" and "/" not in a.name[13:] and " " not in a.name
    assert a.read_bytes() == data


def test_a_write_that_fails_leaves_nothing(tmp_path):
    settings = Settings(data_dir=tmp_path)

    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise OSError(28, "No space left on device")
            return super().read(n)

    with pytest.raises(OSError):
        store_upload(Broken(os.urandom(10 * 2**20)), "clip.mp4", settings)
    assert not list((tmp_path / "uploads").iterdir())


def test_sweep_deletes_only_uploads_older_than_the_limit(tmp_path):
    settings = Settings(data_dir=tmp_path, upload_keep_hours=12)
    assert sweep_uploads(settings) == 0  # no uploads folder yet
    now = time.time()
    old, fresh = (store_upload(io.BytesIO(b"video"), n, settings) for n in ("old.mp4", "fresh.mp4"))
    os.utime(old, (now - 13 * 3600, now - 13 * 3600))
    os.utime(fresh, (now - 11 * 3600, now - 11 * 3600))
    (tmp_path / "uploads" / "a folder").mkdir()
    assert sweep_uploads(settings, now=now) == 1
    assert not old.exists() and fresh.exists() and (tmp_path / "uploads" / "a folder").is_dir()
    assert sweep_uploads(settings, now=now + 2 * 3600) == 1 and not fresh.exists()


def test_keep_hours_must_be_positive(monkeypatch):
    from physio_core.config import ConfigError, read_settings

    monkeypatch.setenv("PHYSIO_UPLOAD_KEEP_HOURS", "0")
    with pytest.raises(ConfigError, match="PHYSIO_UPLOAD_KEEP_HOURS"):
        read_settings(Settings)
