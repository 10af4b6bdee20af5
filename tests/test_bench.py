"""Smoke test of the benchmark command (``python -m physio_core.bench --quick``).

It checks that every stage runs end to end on the real test clip and that the JSON contract
holds (keys and types). Speeds are never asserted: the figures depend on the machine.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from physio_core.bench import JSON_KEYS, Figure, headline, letterbox_frames, TEST_CLIP

ROOT = Path(__file__).resolve().parents[1]


def test_letterboxed_frames_keep_the_picture_and_pad_with_black():
    frames = letterbox_frames(TEST_CLIP, limit=2)
    assert len(frames) == 2
    f = frames[0]
    assert f.shape == (480, 640, 3) and f.dtype.name == "uint8"
    # the 720x720 clip becomes 480x480 centred: 80 px black bars left and right
    assert f[:, :80].max() == 0 and f[:, -80:].max() == 0
    assert f[:, 80:560].std() > 10  # real picture in the middle


def test_headline_takes_medians_and_leaves_unmeasured_figures_empty():
    figs = [Figure("pose", "fps", [10.0, 30.0, 20.0], key="pose_fps"),
            Figure("db", "sessions/s", [], key="db_sessions_per_s", na_reason="unreachable")]
    out = headline(figs)
    assert list(out) == list(JSON_KEYS)
    assert out["pose_fps"] == 20.0
    assert out["db_sessions_per_s"] is None and out["live_fps"] is None


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "physio_core.bench", "--quick", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, json.loads(out.read_text())


def test_quick_run_writes_every_contract_key_with_a_number(quick_run):
    _, doc = quick_run
    for key in JSON_KEYS:
        assert key in doc, key
    # every stage that runs here gives a positive finite figure (its size is not checked)
    for key in ("pose_fps", "core_ms_median", "upload_realtime_factor", "live_fps", "peak_rss_mb"):
        assert isinstance(doc[key], float) and math.isfinite(doc[key]) and doc[key] > 0, key
    db = doc["db_sessions_per_s"]
    pg = next(f for f in doc["figures"] if f["key"] == "db_sessions_per_s")
    if db is None:  # Postgres unreachable: the reason is given instead
        assert pg["na_reason"]
    else:
        assert isinstance(db, float) and db > 0
    # the roster of the seeded athletes was read on SQLite (always) and Postgres (when reachable)
    roster = {f["name"]: f for f in doc["figures"] if f["name"].startswith("roster, ")}
    assert roster["roster, SQLite (file)"]["median"] > 0
    assert roster["roster, Postgres"]["na_reason"] if db is None else roster["roster, Postgres"]["median"] > 0
    # a stored 20 s session read back, its charts, downloads and exports built (quick: 600 frames)
    report = {f["name"]: f for f in doc["figures"] if f["name"].startswith("session report: ")}
    assert set(report) == {"session report: read back (SQLite)", "session report: charts",
                           "session report: downloads", "session report: exports"}
    assert all(f["median"] > 0 for f in report.values())
    assert "600 frames" in report["session report: read back (SQLite)"]["note"]
    # and the athlete's whole archive: larger than plotly.min.js alone (1.5 MB zipped)
    archive = {f["name"]: f for f in doc["figures"] if f["name"].startswith("athlete archive")}
    assert archive["athlete archive (ZIP)"]["median"] > 0 and archive["athlete archive size"]["median"] > 1.4
    # the next video of a batch, on the kept pose processes
    again = next(f for f in doc["figures"] if f["name"] == "upload analysis speed, next video")
    assert again["median"] > 0
    # the quick clip is too short for a rep: the replay row says so
    replay = next(f for f in doc["figures"] if f["name"] == "report: one rep replayed against its correction")
    assert replay["na_reason"] == "no rep counted in the clip"
    assert doc["quick"] is True
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["mediapipe"]
    # the upload child analysed real frames with a person in them
    assert doc["detail"]["upload"]["frames_with_person"] > 0


def test_quick_run_prints_the_machine_and_one_table(quick_run):
    stdout, doc = quick_run
    lines = stdout.splitlines()
    assert lines[0].startswith("$ python -m physio_core.bench --quick")
    assert lines[1].startswith("machine: ") and "load average at start" in lines[1]
    for fig in doc["figures"]:
        assert any(line.startswith(fig["name"]) for line in lines), fig["name"]


def test_pose_only_times_the_pose_backends_and_nothing_else(tmp_path):
    """``--pose-only`` (for a GPU host's MMPose) stops after the pose rows; MMPose, absent or
    without checkpoints here, gets a reason instead of a figure."""
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "physio_core.bench", "--quick", "--pose-only",
         "--mmpose-device", "cpu", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PHYSIO_MMPOSE_ALLOW_RANDOM_WEIGHTS": "0"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert [f["name"] for f in doc["figures"]] == [
        "pose fps, embedded (MediaPipe, complexity 1)", "pose fps, MMPose (cpu)"]
    assert doc["pose_fps"] > 0
    assert doc["figures"][1]["median"] is None and doc["figures"][1]["na_reason"]
    assert all(doc[k] is None for k in JSON_KEYS if k != "pose_fps")


def test_models_rows_time_real_recognitions_and_rep_assessments():
    """The second thread's calls, timed on a real set (Kinect squats in place of the clip), and
    the replay of each assessed rep against its correction."""
    from conftest import subject5_squats
    from physio_core.bench import bench_models
    from physio_core.skeleton import PoseFrame

    if not (ROOT / "models" / "stability.joblib").is_file():
        pytest.skip("trained weights not in models/")
    seq, bounds, _ = subject5_squats("cc")
    poses = [PoseFrame(seq.joints[i], seq.confidence[i], seq.root[i]) for i in range(len(seq))]
    rec, rep, replay = bench_models(poses, repeat=1)
    for fig in (rec, rep, replay):
        assert fig.na_reason is None, fig.na_reason
        assert len(fig.runs) == 1 and math.isfinite(fig.runs[0]) and fig.runs[0] > 0
    assert "classifier" in rec.note

    short = bench_models(poses[:30], repeat=1)  # under one 3 s window, no rep
    assert [f.na_reason for f in short] == ["the clip is shorter than one window", "no rep counted in the clip",
                                            "no rep counted in the clip"]
