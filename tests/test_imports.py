"""Sessions brought in from another PhysioTrack (``physio_core.imports``), on SQLite and
PostgreSQL: an athlete's archive made by ``archive.athlete_archive`` from real sessions (subject
5's assessed squats, a real MetaMotion deadlift set) is imported for another athlete, analysed
again by the installed models, and compared with the sessions it came from."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from physio_core.archive import athlete_archive
from physio_core.imports import ImportFormatError, import_sessions, read_archive, read_upload
from physio_core.store import (FeedbackKind, Role, add_feedback, create_user, get_or_create_athlete,
                               get_session_detail, list_sessions, save_session_result, start_session)
from physio_core.store import access

IMU_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "metamotion-imu"


@pytest.fixture
def clinic(db_engine, assessed_squat_result):
    """A clinic's athlete with the squats (notes, a warning about the recording, a trainer's
    line on a rep), a deadlift set and a session created but never recorded."""
    from dataclasses import replace

    from physio_core.imu import list_sets, read_upload as read_imu
    from physio_core.imu.analyze import analyze_imu
    from physio_core.store import save_imu_session

    if not IMU_DATA.is_dir():
        pytest.skip(f"MetaMotion data set not found at {IMU_DATA}")
    trainer = create_user(db_engine, "coach@old.clinic", "Carla Coach", Role.TRAINER, "coach-password-1")
    athlete = get_or_create_athlete(db_engine, "Ana Lopez", trainer.id)
    squats = replace(assessed_squat_result, warnings=["Another person was detected at 5.6–6.7 s."])
    sid = save_session_result(db_engine, squats, athlete.id, trainer.id, notes="left knee sore")
    add_feedback(db_engine, sid, "Slower on the way down.", author_id=trainer.id, rep_index=2)
    s = next(s for s in list_sets(IMU_DATA) if s.lift == "dead" and s.category == "heavy")
    series = read_imu([(s.acc_path.name, s.acc_path.read_bytes()), (s.gyr_path.name, s.gyr_path.read_bytes())])
    imu = save_imu_session(db_engine, series, analyze_imu(series), athlete.id, source=s.acc_path.name)
    add_feedback(db_engine, imu, "Bar drifts forward on rep 3.", author_id=trainer.id)
    empty = start_session(db_engine, athlete.id, trainer.id, "deep_squat", source="manual")
    access.set_rom_target(db_engine, trainer.id, athlete.id, "knee_angle_r", 125.0, "deep_squat")
    admin = create_user(db_engine, "admin@new.clinic", "Admin", Role.ADMIN, "admin-password-1")
    return {"squats": sid, "imu": imu, "empty": empty, "athlete": athlete.id, "admin": admin.id,
            "archive": athlete_archive(db_engine, athlete.id)}


def test_an_archive_comes_back_as_the_sessions_it_holds(db_engine, clinic):
    contents = read_archive(clinic["archive"])
    assert contents.athlete == "Ana Lopez"
    assert len(contents.sessions) == 2
    assert contents.skipped == [next(s for s in contents.skipped if f"#{clinic['empty']} " in s)]
    assert "never recorded" in contents.skipped[0]

    moved = access.add_athlete_as(db_engine, clinic["admin"], "Ana Lopez (moved)")
    report = import_sessions(db_engine, contents.sessions, moved.id, viewer_id=clinic["admin"],
                             targets=contents.targets)
    assert not report.failed and not report.already and len(report.imported) == 2
    assert report.summary() == "2 sessions imported; 1 range-of-motion target set."
    assert [(t.angle, t.exercise, t.target_deg) for t in access.rom_targets(db_engine, moved.id)] == [
        ("knee_angle_r", "deep_squat", 125.0)]
    assert {r.id for r in list_sessions(db_engine, athlete_id=moved.id)} == set(report.imported)
    # the list marks them (the Sessions table says "imported"), not the sessions recorded there
    assert {r.id: r.from_import for r in list_sessions(db_engine)} == {
        **{i: True for i in report.imported}, clinic["squats"]: False, clinic["imu"]: False, clinic["empty"]: False}

    came = {get_session_detail(db_engine, i).session.source: i for i in report.imported}
    old = get_session_detail(db_engine, clinic["squats"])
    new = get_session_detail(db_engine, came[old.session.source])
    # the squats: the same session, analysed again from its skeleton by the same weights
    assert new.session.started_at == old.session.started_at and new.session.source == old.session.source
    assert new.session.exercise == old.session.exercise == "deep_squat" and new.session.notes == "left knee sore"
    assert [(r.start_frame, r.end_frame) for r in new.reps] == [(r.start_frame, r.end_frame) for r in old.reps]
    assert [a["mistake"] for a in new.rep_assessments] == [a["mistake"] for a in old.rep_assessments]
    assert new.models == old.models is not None
    np.testing.assert_allclose(new.pose.joints, old.pose.joints, atol=1e-9, equal_nan=True)
    # its angles are those Score again makes from the stored skeleton (kept to the millimetre, so
    # a few degrees of a rotation near its singular pose differ from the first analysis')
    from physio_core.pipeline import score_again

    again = score_again(old.pose.at_measured_rate(), "deep_squat", backend=old.session.backend)
    np.testing.assert_allclose(new.angles.values, again.angles.values, atol=0.006, equal_nan=True)
    kinds = {(f.kind, f.text, f.rep_index) for f in new.feedback}
    assert (FeedbackKind.WARNING, "Another person was detected at 5.6–6.7 s.", None) in kinds
    written = next(f for f in old.feedback if f.kind == FeedbackKind.TRAINER).created_at
    assert (FeedbackKind.TRAINER, f"(imported; written {written:%Y-%m-%d}) Slower on the way down.", 2) in kinds

    # the deadlift set: its raw series and its lift, counted again
    old = get_session_detail(db_engine, clinic["imu"])
    new = get_session_detail(db_engine, came[old.session.source])
    assert new.imu_analysis["lift"] == old.imu_analysis["lift"] == "dead"
    assert new.session.rep_count == old.session.rep_count > 0
    np.testing.assert_allclose(new.imu_series.acc, old.imu_series.acc, atol=1e-4)
    assert new.session.started_at == old.session.started_at
    written = next(f for f in old.feedback if f.kind == FeedbackKind.TRAINER).created_at
    assert [f.text for f in new.feedback if f.kind == FeedbackKind.TRAINER] == [
        f"(imported; written {written:%Y-%m-%d}) Bar drifts forward on rep 3."]

    # each says where it came from, kept when scored again, in its exports and its report
    for sid, old_id in ((came[get_session_detail(db_engine, clinic["squats"]).session.source], clinic["squats"]),
                        (came[old.session.source], clinic["imu"])):
        record = get_session_detail(db_engine, sid).session.imported
        assert {k: record[k] for k in ("file", "session_id", "athlete", "by", "earlier")} == {
            "file": "archive.zip", "session_id": old_id, "athlete": "Ana Lopez", "by": "Admin", "earlier": None}
        assert datetime.fromisoformat(record["imported_at"]) > datetime.now(UTC) - timedelta(minutes=10)
    squats = get_session_detail(db_engine, came[get_session_detail(db_engine, clinic["squats"]).session.source])
    assert squats.session.imported["judged_by"] == squats.models is not None
    from physio_core.imports import origin_sentence

    said = origin_sentence(squats.session.imported, when=lambda t: f"{t:%Y-%m-%d}")
    assert said.startswith(f"Imported on {datetime.now(UTC):%Y-%m-%d} by Admin from archive.zip "
                           f"(session #{clinic['squats']} of Ana Lopez there). Its reps, verdicts")
    assert f"there, weights {squats.models} had judged it." in said
    assert "raw sensor series" in origin_sentence(new.session.imported, sensor_set=True)
    from physio_core.pipeline import score_again as again_
    from physio_core.store.repo import rescore_session

    rescore_session(db_engine, squats.session.id, again_(squats.pose.at_measured_rate(), "auto", backend="x"))
    assert get_session_detail(db_engine, squats.session.id).session.imported == squats.session.imported
    assert get_session_detail(db_engine, squats.session.id).data.keys() == squats.data.keys()
    from physio_core import exports

    (doc,) = [e.build() for e in exports.session_exports(squats.to_result(), session_id=squats.session.id,
                                                         session=squats.session) if e.file_name.endswith(".json")]
    report_html = next(e.build() for e in exports.session_exports(
        squats.to_result(), session_id=squats.session.id, session=squats.session) if e.file_name.endswith(".html"))
    assert b"from archive.zip (session #" in report_html
    # exported again and imported at a third clinic, it keeps where it had come from before
    third = read_upload(doc, "ana_squats.json").sessions[0]
    report3 = import_sessions(db_engine, [third], get_or_create_athlete(db_engine, "Ana (third)").id)
    record = get_session_detail(db_engine, report3.imported[0]).session.imported
    assert record["file"] == "ana_squats.json" and record["session_id"] == squats.session.id
    assert record["by"] is None and record["earlier"] == squats.session.imported
    assert "It had come there from another PhysioTrack too on " in origin_sentence(record)
    assert get_session_detail(db_engine, clinic["squats"]).session.imported is None  # recorded here

    # run again (an import that stopped half-way): nothing is stored twice
    contents = read_archive(clinic["archive"])
    again = import_sessions(db_engine, contents.sessions, moved.id, viewer_id=clinic["admin"],
                            targets=contents.targets)
    assert again.imported == [] and len(again.already) == 2 and again.targets == 0
    assert again.summary() == "0 sessions imported; 2 already there, left alone."


def test_one_sessions_json_comes_back_too(db_engine, clinic):
    name = f"session_{clinic['squats']}/{clinic['squats']}.json"
    data = zipfile.ZipFile(io.BytesIO(clinic["archive"])).read(name)
    contents = read_upload(data, "squats.json")
    assert contents.athlete == "Ana Lopez" and len(contents.sessions) == 1
    report = import_sessions(db_engine, contents.sessions, get_or_create_athlete(db_engine, "Solo").id)
    assert len(report.imported) == 1
    assert get_session_detail(db_engine, report.imported[0]).session.rep_count == \
        get_session_detail(db_engine, clinic["squats"]).session.rep_count


def test_what_is_not_an_export_is_refused_with_its_reason(db_engine, clinic):
    z = zipfile.ZipFile(io.BytesIO(clinic["archive"]))
    name = f"session_{clinic['squats']}/{clinic['squats']}.json"
    doc = json.loads(z.read(name))
    with pytest.raises(ImportFormatError, match="not a ZIP archive"):
        read_upload(b"PK but not really", "archive.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as other:
        other.writestr("photos/1.jpg", b"\xff\xd8")
    with pytest.raises(ImportFormatError, match="no sessions.csv"):
        read_archive(buf.getvalue())
    with pytest.raises(ImportFormatError, match="is not JSON"):
        read_upload(z.read(name)[:5000], "cut.json")
    with pytest.raises(ImportFormatError, match="not a PhysioTrack session"):
        read_upload(json.dumps({"frames": 3}).encode(), "summary.json")
    with pytest.raises(ImportFormatError, match="holds no series"):
        read_upload(json.dumps({k: v for k, v in doc.items() if k != "series"}).encode(), "summary.json")
    doc["series"]["confidence"] = doc["series"]["confidence"][:-1]
    with pytest.raises(ImportFormatError, match="do not fit together"):
        read_upload(json.dumps(doc).encode(), "edited.json")
    # in an archive, a damaged session fails alone, said by its label; the others come in
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as cut:
        for n in z.namelist():
            cut.writestr(n, z.read(n)[:5000] if n == name else z.read(n))
    report = import_sessions(db_engine, read_archive(buf.getvalue()).sessions,
                             get_or_create_athlete(db_engine, "Cut").id)
    assert len(report.imported) == 1 and len(report.failed) == 1
    assert report.failed[0].startswith(f"session #{clinic['squats']} (") and "is not JSON" in report.failed[0]
    # a skeleton with nobody in it reads, and fails alone at its analysis, said by its label
    doc["series"]["confidence"] = [[0.0] * len(row) for row in doc["series"]["joints_m"]]
    doc["series"]["joints_m"] = [[[None] * 3 for _ in row] for row in doc["series"]["joints_m"]]
    nobody = read_upload(json.dumps(doc).encode(), "nobody.json").sessions
    report = import_sessions(db_engine, nobody, get_or_create_athlete(db_engine, "Nobody").id)
    assert report.imported == [] and len(report.failed) == 1 and report.failed[0].startswith("session #")


def test_the_command_line_imports_archives(tmp_path, clinic, db_url):
    """``python -m physio_core.imports``: the archive's athlete found or made by name, a second
    run stores nothing twice, a file that is not an export stops everything with exit 2."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    archive = tmp_path / "ana.zip"
    archive.write_bytes(clinic["archive"])

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "physio_core.imports", *map(str, args)], capture_output=True,
                              text=True, cwd=root, env={**os.environ, "DATABASE_URL": db_url}, timeout=600)

    r = cli(archive, "--athlete", "Ana (moved)")
    assert r.returncode == 0, r.stderr
    assert "Ana (moved) (#" in r.stdout and "2 sessions imported; 1 range-of-motion target set." in r.stdout
    assert f"not imported: session #{clinic['empty']} " in r.stdout
    r = cli(archive, "--athlete", "Ana (moved)")
    assert r.returncode == 0 and "0 sessions imported; 2 already there, left alone." in r.stdout
    bad = tmp_path / "notes.json"
    bad.write_text('{"frames": 3}')
    r = cli(archive, bad)
    assert r.returncode == 2 and "notes.json is not a PhysioTrack session" in r.stderr and r.stdout == ""
