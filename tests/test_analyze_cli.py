"""`python -m physio_core.analyze` as a user runs it: outputs, exit codes, one-line errors."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from physio_core.kinematics import ANGLE_NAMES

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "data" / "sports2d_demo.mp4"


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "physio_core.analyze", *args],
        capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=300,
    )


def assert_one_line_error(r: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    assert r.returncode == code, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ")
    for n in needles:
        assert n in lines[0]
    assert "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "out"
    db = out.parent / "cli.db"
    r = run_cli(str(CLIP), "--out", str(out), "--step", "2", "--save", "--athlete", "Jumper", "--annotated",
                "--exports", env={"DATABASE_URL": f"sqlite:///{db}"})
    return r, out, db


def test_summary_json_contract(analysed):
    r, out, _ = analysed
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "summary.json").read_text())
    for key in ("frames", "fps", "frames_with_person", "rep_count", "reps", "backend"):
        assert key in doc, key
    assert doc["frames"] == 115  # 230 frames, one in two
    assert doc["fps"] == pytest.approx(15.0)
    assert doc["backend"] == "mediapipe"
    assert 70 <= doc["frames_with_person"] <= 115
    assert doc["rep_count"] == len(doc["reps"]) >= 2
    for rep in doc["reps"]:
        assert {"start_s", "end_s", "rom_deg", "angle"} <= set(rep)
        assert rep["end_s"] > rep["start_s"] and rep["rom_deg"] > 15 and rep["angle"] in ANGLE_NAMES
    # the two jumping jacks come first, within the first 2.7 s
    assert doc["reps"][1]["end_s"] <= 2.7
    assert "sports2d_demo.mp4" in r.stdout and f"{doc['rep_count']} reps" in r.stdout


def test_angles_csv(analysed):
    _, out, _ = analysed
    with (out / "angles.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time_s", *ANGLE_NAMES]
    assert len(rows) == 1 + 115
    times = np.array([float(row[0]) for row in rows[1:]])
    np.testing.assert_allclose(np.diff(times), 2 / 30, atol=2e-3)
    knee = np.array([float(row[1 + ANGLE_NAMES.index("knee_angle_r")] or "nan") for row in rows[1:]])
    assert np.isfinite(knee).sum() >= 70
    assert np.nanmax(knee) < 165


def test_annotated_video(analysed):
    """--annotated: the frames the analysis kept (one in two here), at their times, each with the
    band of the rep counter darkened over the source picture, in the one corner where it covers
    the athlete least (the stored analysis says which)."""
    import av

    from physio_core.annotate import hud_corner
    from physio_core.overlay import HUD_CORNERS
    from physio_core.store import get_session_detail, init_db, list_sessions
    from physio_core.video import VideoReader

    _, out, db = analysed
    with av.open(str(out / "annotated.mp4")) as c:
        frames = [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(c.streams.video[0])]
    assert len(frames) == 115
    np.testing.assert_allclose(np.diff([t for t, _ in frames]), 2 / 30, atol=2e-3)
    raw = [f.rgb for f in VideoReader(CLIP, max_side=640, step=2, threaded=False)]
    patches = dict(zip(HUD_CORNERS, (np.s_[5:40, 5:60], np.s_[5:40, -60:-5], np.s_[-40:-5, 5:60],
                                     np.s_[-40:-5, -60:-5])))
    engine = init_db(f"sqlite:///{db}")
    stored = get_session_detail(engine, list_sessions(engine)[0].id).to_result()
    corner = hud_corner(stored, (640, 640))
    for (_, drawn), source in zip(frames[::20], raw[::20]):
        assert drawn.shape == source.shape == (640, 640, 3)
        dark = [k for k, p in patches.items() if drawn[p].mean() < 0.6 * source[p].mean()]
        assert dark == [corner]


def test_save_stores_the_session(analysed):
    r, out, db = analysed
    assert "saved as session #1" in r.stdout
    from physio_core.store import dispose_engines, get_session_detail, init_db

    url = f"sqlite:///{db}"
    try:
        detail = get_session_detail(init_db(url), 1)
        doc = json.loads((out / "summary.json").read_text())
        assert detail.session.athlete_name == "Jumper"
        assert detail.session.rep_count == doc["rep_count"]
        assert detail.session.frames == 115
        assert len(detail.pose) == 115
    finally:
        dispose_engines(url)


def test_exports_are_the_session_pages(analysed):
    """--exports: the session page's own five files (exports.session_exports), named after the video,
    for the saved session (its number, its athlete in the report's title)."""
    import pandas as pd

    from physio_core import exports

    r, out, _ = analysed
    assert r.returncode == 0, r.stderr
    names = {p.name for p in out.iterdir()} - {"summary.json", "angles.csv", "annotated.mp4"}
    assert names == {f"sports2d_demo{x}" for x in (".csv", ".json", ".mot", ".trc", "_report.html")}
    doc = json.loads((out / "summary.json").read_text())
    long = pd.read_csv(out / "sports2d_demo.csv")
    assert set(long["session"]) == {1} and long["frame"].nunique() == doc["frames_with_person"]
    header, mot = exports.read_mot((out / "sports2d_demo.mot").read_bytes())
    assert len(mot) == 115 and "knee_angle_r" in mot.columns
    _, _, joints = exports.read_trc((out / "sports2d_demo.trc").read_bytes())
    assert joints.shape[0] == 115
    full = json.loads((out / "sports2d_demo.json").read_text())
    assert full["session"]["id"] == 1 and full["rep_count"] == doc["rep_count"]
    page = (out / "sports2d_demo_report.html").read_text()
    assert "<title>Session #1 · Jumper</title>" in page and f"<h2>Repetitions ({doc['rep_count']})</h2>" in page


def test_missing_file(tmp_path):
    r = run_cli(str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o"))
    assert_one_line_error(r, 2, "nope.mp4")
    assert not (tmp_path / "o").exists()


def test_a_folder_is_not_a_video(tmp_path):
    r = run_cli(str(tmp_path), "--out", str(tmp_path / "o"))
    assert_one_line_error(r, 2, "is a folder")
    assert not (tmp_path / "o").exists()


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(50_000))
    r = run_cli(str(bad), "--out", str(tmp_path / "o"))
    assert_one_line_error(r, 2, "bad.mp4")


def test_an_unknown_exercise_is_refused_before_any_work(tmp_path):
    """A misspelt exercise was analysed as 'auto' without a word; now it is refused with the names
    it could have been."""
    r = run_cli(str(CLIP), "--out", str(tmp_path / "o"), "--exercise", "squatz")
    assert r.returncode == 2, r.stderr
    assert "unknown exercise 'squatz'" in r.stderr and "deep_squat" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_exercise_names_the_page_and_the_aliases_use_are_read_as_the_exercise():
    from physio_core.analyze import _exercise

    assert _exercise("Deep squat") == _exercise("squat") == _exercise("deep-squat") == "deep_squat"
    assert _exercise("scaption") == "standing_shoulder_scaption"
    assert _exercise("AUTO") == "auto"


def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    """--out naming a file, or a folder under a file, was found only when the first video's results
    were written: a traceback after the whole analysis."""
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    for out in (taken, taken / "sub"):
        r = run_cli(str(CLIP), "--out", str(out))
        assert_one_line_error(r, 2, "cannot write to the output folder", str(out))
        assert "analysing" not in r.stderr
    assert taken.read_text() == "mine"


def test_results_that_cannot_be_written_are_one_line_and_no_half_file(tmp_path):
    """A write that fails once the video is analysed (a full disk; here summary.json's name is
    taken by a folder) is one line, and leaves no part-written file."""
    out = tmp_path / "o"
    (out / "summary.json").mkdir(parents=True)
    r = run_cli(str(CLIP), "--out", str(out), "--step", "8", "--quiet")
    assert_one_line_error(r, 2, "could not write the results")
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_a_frame_side_too_small_to_find_anyone_in_is_refused_before_any_work(tmp_path):
    for side in ("-5", "8", "x"):
        r = run_cli(str(CLIP), "--out", str(tmp_path / "o"), "--max-side", side)
        assert r.returncode == 2 and "--max-side" in r.stderr and "128" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_no_two_videos_of_a_batch_share_a_folder(tmp_path):
    """The second squat.mp4 was put in squat-2/, where squat-2.mp4 then went too, and overwrote it;
    a video named batch.csv.mp4 would have written over batch.csv; "Squat" and "squat" are one
    folder on macOS and Windows."""
    from physio_core.analyze import _batch_folders

    videos = [Path(p) for p in ("a/squat.mp4", "b/squat.mp4", "c/squat-2.mp4", "d/Squat.MOV",
                                "e/batch.csv.mp4", "f/..mp4", "g/video.mp4")]
    names = [f.name for f in _batch_folders(videos, tmp_path)]
    assert names[:3] == ["squat", "squat-2", "squat-2-2"]
    assert len({n.casefold() for n in names}) == len(names) and "batch.csv" not in names
    assert all(f.parent == tmp_path for f in _batch_folders(videos, tmp_path))


def test_too_large_file(tmp_path):
    r = run_cli(str(CLIP), "--out", str(tmp_path / "o"), env={"PHYSIO_MAX_UPLOAD_MB": "0"})
    assert_one_line_error(r, 2, "limit is 0 MB")


def test_no_person(tmp_path, no_person_clip):
    r = run_cli(str(no_person_clip), "--out", str(tmp_path / "o"))
    assert_one_line_error(r, 3, "No person was found")


@pytest.mark.skipif(importlib.util.find_spec("mmcv") is not None, reason="MMPose is installed here")
def test_backend_unavailable(tmp_path):
    r = run_cli(str(CLIP), "--out", str(tmp_path / "o"), "--backend", "mmpose")
    assert_one_line_error(r, 4, "mmpose")


def test_a_batch_goes_on_past_a_bad_video(tmp_path):
    """Several videos: one process, a folder per video (a second one of the same name gets -2),
    batch.csv with a row per video in the order given, the bad one's line on stderr, and the
    first failure's exit code."""
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(50_000))
    again = tmp_path / "again"
    again.mkdir()
    (again / CLIP.name).symlink_to(CLIP)
    out = tmp_path / "o"
    db = tmp_path / "batch.db"
    r = run_cli(str(CLIP), str(bad), str(again / CLIP.name), "--out", str(out), "--step", "4", "--quiet",
                "--save", "--athlete", "Jumper", env={"DATABASE_URL": f"sqlite:///{db}"})
    assert r.returncode == 2, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: bad.mp4: "), r.stderr
    assert "Traceback" not in r.stderr
    assert "batch: 2 of 3 videos analysed" in r.stdout

    with (out / "batch.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [row["video"] for row in rows] == [str(CLIP), str(bad), str(again / CLIP.name)]
    assert [row["exit_code"] for row in rows] == ["0", "2", "0"]
    assert rows[1]["error"] and rows[1]["frames"] == "" and rows[0]["error"] == ""
    first, second = (json.loads((out / name / "summary.json").read_text())
                     for name in ("sports2d_demo", "sports2d_demo-2"))
    assert not (out / "bad").exists()
    for row, doc in zip((rows[0], rows[2]), (first, second)):
        assert int(row["frames"]) == doc["frames"] == 58  # 230 frames, one in four
        assert int(row["rep_count"]) == doc["rep_count"] == len(doc["reps"]) >= 2
        assert (Path(row["out"]) / "angles.csv").is_file()
    assert first["reps"] == second["reps"]  # the same video, the same analysis

    from physio_core.store import dispose_engines, init_db, list_sessions

    url = f"sqlite:///{db}"
    try:
        saved = list_sessions(init_db(url))
        assert sorted(s.id for s in saved) == sorted(int(rows[k]["session_id"]) for k in (0, 2))
        assert {s.athlete_name for s in saved} == {"Jumper"}
    finally:
        dispose_engines(url)


def test_sets_on_a_video_of_one_set(tmp_path):
    """--sets on the real clip (7.7 s: no set of an exercise the models know): the video is
    written and saved as without it, and says it holds no sets; batch.csv says 0."""
    out = tmp_path / "o"
    db = tmp_path / "sets.db"
    r = run_cli(str(CLIP), str(CLIP), "--out", str(out), "--step", "4", "--quiet", "--sets", "--save",
                "--athlete", "Jumper", env={"DATABASE_URL": f"sqlite:///{db}"})
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "sports2d_demo" / "summary.json").read_text())
    assert doc["sets"] == [] and doc["frames"] == 58 and doc["rep_count"] >= 2
    assert not (out / "sports2d_demo" / "set-1").exists()
    with (out / "batch.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [row["sets"] for row in rows] == ["0", "0"] and all(row["session_id"].isdigit() for row in rows)
    assert "set 1:" not in r.stdout
