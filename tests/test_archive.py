"""An athlete's data as one ZIP (``physio_core.archive``) on SQLite and PostgreSQL: six weeks of
real UI-PRMD sessions, subject 5's assessed squats and a real MetaMotion deadlift set, read back
from the file as a user would open it."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from conftest import seed_progress_world
from physio_core import exports
from physio_core.archive import SESSION_COLUMNS, athlete_archive
from physio_core.store import AccessDenied, get_session_detail, list_sessions, save_session_result

ROOT = Path(__file__).resolve().parents[1]
IMU_DATA = ROOT.parent / "shared" / "datasets" / "metamotion-imu"


def test_an_athletes_archive_holds_every_session_as_its_page_exports_it(db_engine, assessed_squat_result):
    from physio_core.imu import list_sets, read_upload
    from physio_core.imu.analyze import analyze_imu
    from physio_core.store import save_imu_session

    if not IMU_DATA.is_dir():
        pytest.skip(f"MetaMotion data set not found at {IMU_DATA}")
    ids = seed_progress_world(db_engine)
    squats = save_session_result(db_engine, assessed_squat_result, ids["athlete"], ids["trainer"])
    s = next(s for s in list_sets(IMU_DATA) if s.lift == "dead" and s.category == "heavy")
    series = read_upload([(s.acc_path.name, s.acc_path.read_bytes()), (s.gyr_path.name, s.gyr_path.read_bytes())])
    imu = save_imu_session(db_engine, series, analyze_imu(series), ids["athlete"], source=s.acc_path.name)
    sessions = list_sessions(db_engine, athlete_id=ids["athlete"])

    z = zipfile.ZipFile(io.BytesIO(athlete_archive(db_engine, ids["athlete"], viewer_id=ids["trainer"],
                                                   tz=ZoneInfo("Asia/Tokyo"))))
    names = set(z.namelist())
    table = list(csv.DictReader(io.StringIO(z.read("sessions.csv").decode())))
    assert list(table[0]) == list(SESSION_COLUMNS)
    # oldest first, every session of the athlete, and only theirs
    assert [int(r["id"]) for r in table] == [r.id for r in sessions][::-1]
    assert {"README.txt", "plotly.min.js", "progress_report.html", "targets.csv"} <= names
    from physio_core.archive import TARGET_COLUMNS
    from physio_core.store.access import rom_targets

    targets = list(csv.DictReader(io.StringIO(z.read("targets.csv").decode())))
    assert list(targets[0]) == list(TARGET_COLUMNS)
    assert sorted((t["angle"], t["exercise"], float(t["target_deg"])) for t in targets) == sorted(
        (t.angle, t.exercise, t.target_deg) for t in rom_targets(db_engine, ids["athlete"])) != []

    for row in sessions:
        folder = f"session_{row.id}/"
        if row.id == imu:
            assert {n for n in names if n.startswith(folder)} == {
                folder + f"{imu}{x}" for x in ("_imu.csv", "_imu.json", "_report.html")}
            back = read_upload([("set.csv", z.read(f"{folder}{imu}_imu.csv"))])
            assert back.acc.shape == series.acc.shape
            assert json.loads(z.read(f"{folder}{imu}_imu.json"))["rep_count"] == row.rep_count
            continue
        assert {n for n in names if n.startswith(folder)} == {
            folder + f"{row.id}{x}" for x in (".csv", ".json", ".mot", ".trc", "_report.html")}
        doc = json.loads(z.read(f"{folder}{row.id}.json"))
        assert doc["session"]["id"] == row.id and doc["rep_count"] == row.rep_count
        long = pd.read_csv(io.BytesIO(z.read(f"{folder}{row.id}.csv")))
        assert set(long["session"]) == {row.id}
        detail = get_session_detail(db_engine, row.id)
        _, _, joints = exports.read_trc(z.read(f"{folder}{row.id}.trc"))
        assert joints.shape[0] == len(detail.pose)

    # the reports draw with the one script beside them, offline, on the viewer's clock
    squat_report = z.read(f"session_{squats}/{squats}_report.html").decode()
    assert '<script charset="utf-8" src="../plotly.min.js">' in squat_report and "* plotly.js v" not in squat_report
    assert z.read("plotly.min.js").decode().startswith("/**\n* plotly.js v")
    assert "2026-11-03 18:30 (Asia/Tokyo)" in squat_report
    assert "Corrections" in squat_report
    progress_page = z.read("progress_report.html").decode()
    assert 'src="plotly.min.js"' in progress_page and "Range of motion vs target · Deep squat" in progress_page
    assert f"Sessions ({len(sessions)})" in progress_page


def test_only_those_who_may_see_an_athlete_get_their_archive(db_engine):
    ids = seed_progress_world(db_engine)
    with pytest.raises(AccessDenied):
        athlete_archive(db_engine, ids["athlete"], viewer_id=ids["other_trainer"])
    # the athlete gets their own; the other trainer's athlete has none of it
    own = zipfile.ZipFile(io.BytesIO(athlete_archive(db_engine, ids["athlete"], viewer_id=ids["athlete"])))
    assert len(list(csv.DictReader(io.StringIO(own.read("sessions.csv").decode())))) == 9
    with pytest.raises(AccessDenied):
        athlete_archive(db_engine, ids["other_athlete"], viewer_id=ids["athlete"])


def _cli(*args: str, url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "physio_core.archive", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, timeout=300)


def test_the_command_line_writes_one_zip_per_athlete(tmp_path):
    from physio_core.store import Role, create_user, dispose_engines, init_db

    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    engine = init_db(url)
    ids = seed_progress_world(engine)
    twin = create_user(engine, None, "Ben Other", Role.ATHLETE).id  # another trainer's Ben has a namesake
    dispose_engines(url)

    r = _cli("ana lopez", str(twin), "--out", str(tmp_path / "out"), url=url)
    assert r.returncode == 0, r.stderr
    ana = tmp_path / "out" / f"{ids['athlete']}_Ana_Lopez.zip"
    assert f"Ana Lopez (#{ids['athlete']}): 9 sessions -> {ana}" in r.stdout
    with zipfile.ZipFile(ana) as z:
        assert len(z.read("sessions.csv").decode().splitlines()) == 1 + 9
    with zipfile.ZipFile(tmp_path / "out" / f"{twin}_Ben_Other.zip") as z:
        assert z.read("sessions.csv").decode().splitlines() == [",".join(SESSION_COLUMNS)]
        assert "progress_report.html" not in z.namelist()  # no session, no progress

    r = _cli("--all", "--out", str(tmp_path / "all"), url=url)
    assert r.returncode == 0 and len(list((tmp_path / "all").glob("*.zip"))) == 3  # Ana and two Bens
    assert sorted(p.suffix for p in (tmp_path / "all").iterdir()) == [".zip"] * 3  # no ".part" left
    # written as it is made, the same archive as the pages' bytes
    with zipfile.ZipFile(tmp_path / "all" / ana.name) as z, \
            zipfile.ZipFile(io.BytesIO(athlete_archive(engine, ids["athlete"]))) as page:
        assert z.namelist() == page.namelist()
        # (the HTML reports differ only in Plotly's random div ids, README.txt in its minute)
        same = [n for n in z.namelist() if not n.endswith((".html", ".txt"))]
        assert len(same) > 9 and all(z.read(n) == page.read(n) for n in same)

    # a name two athletes share, and one nobody has: one line each, nothing written
    for who, needle in (("Ben Other", f"2 athletes are called 'Ben Other': give one's id ({ids['other_athlete']}, {twin})"),
                        ("Nobody", "no athlete 'Nobody'")):
        r = _cli(who, "--out", str(tmp_path / "none"), url=url)
        assert r.returncode == 2 and r.stderr.strip() == f"error: {needle}" and not (tmp_path / "none").exists()
    r = _cli("--all", "--out", str(tmp_path / "none"), url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert r.returncode == 5 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
