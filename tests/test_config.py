"""Settings from the environment: a value the app cannot use is named, in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from physio_core.auth import auth_settings
from physio_core.config import ConfigError, get_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("var, value, says", [
    ("PHYSIO_MAX_UPLOAD_MB", "1 GB", "PHYSIO_MAX_UPLOAD_MB='1 GB': Input should be a valid integer"),
    ("PHYSIO_MAX_VIDEO_S", "half an hour", "PHYSIO_MAX_VIDEO_S='half an hour': Input should be a valid number"),
    ("PHYSIO_ICE_SERVERS", "stun:stun.example.org", "PHYSIO_ICE_SERVERS is not valid JSON"),
    ("PHYSIO_ICE_SERVERS", '{"urls": "stun:x"}', "PHYSIO_ICE_SERVERS={'urls': 'stun:x'}: Input should be a valid list"),
    ("PHYSIO_SESSION_TTL_HOURS", "12h", "PHYSIO_SESSION_TTL_HOURS='12h': Input should be a valid number"),
    ("PHYSIO_ALLOW_SIGNUP", "maybe", "PHYSIO_ALLOW_SIGNUP='maybe': Input should be a valid boolean"),
])
def test_a_bad_value_names_its_variable(fresh_settings, monkeypatch, var, value, says):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        get_settings(), auth_settings()
    assert says in str(info.value) and "\n" not in str(info.value)
    monkeypatch.delenv(var)
    assert get_settings().max_upload_mb > 0 and auth_settings().login_max_failures > 0  # not cached


def test_a_command_line_says_it_in_one_line(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "physio_core.analyze", str(ROOT / "tests" / "data" / "sports2d_demo.mp4"),
         "--out", str(tmp_path / "o")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PHYSIO_MAX_VIDEO_S": "30 min"},
    )
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "error: PHYSIO_MAX_VIDEO_S='30 min': Input should be a valid number, unable to parse string as a number"
    ]
    assert not (tmp_path / "o").exists()


IMU = ROOT.parent / "shared" / "datasets" / "metamotion-imu"


@pytest.mark.skipif(not IMU.is_dir(), reason=f"MetaMotion data set not found at {IMU}")
def test_a_reader_that_stops_reading_ends_the_command_quietly():
    """`python -m physio_core.imu.analyze SET.csv | head`: the reader closes the pipe before the JSON
    is written, and the command ends without a traceback (it printed a BrokenPipeError's)."""
    recording = sorted(IMU.glob("C-row-medium_*Accelerometer*.csv"))[0]
    p = subprocess.Popen([sys.executable, "-m", "physio_core.imu.analyze", str(recording)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdout.close()  # before the command has imported anything, let alone written
    err = p.stderr.read()
    assert p.wait(timeout=120) == 1 and err == "", err
