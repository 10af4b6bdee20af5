"""Imports of files that are not quite as PhysioTrack wrote them (``physio_core.imports``): a real
athlete's archive (subject 5's assessed squats, a real MetaMotion deadlift set, a target, a
programme item, a morning's pain) whose tables a spreadsheet saved again, whose members are
damaged or locked, and a real session's JSON edited by hand. What reads as it was is imported as
it was; anything else is refused with one line naming the file, the line or frame, and the column."""

from __future__ import annotations

import csv
import io
import json
import struct
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import test_pages

from physio_core import exports
from physio_core.imports import ImportFormatError, import_sessions, read_archive, read_upload

app_env = test_pages.app_env  # the page tests' fixture: the app on an empty data folder
IMU_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "metamotion-imu"


@pytest.fixture(scope="module")
def archive(tmp_path_factory, assessed_squat_result):
    """(archive bytes, engine): the archive of an athlete with the squats, a deadlift set, a
    knee target, a programme item and a morning's pain, made on SQLite (reading it needs no
    database; the engine takes the imports)."""
    from physio_core.archive import athlete_archive
    from physio_core.imu import list_sets, read_upload as read_imu
    from physio_core.imu.analyze import analyze_imu
    from physio_core.store import (Role, create_user, dispose_engines, get_or_create_athlete, init_db,
                                   save_imu_session, save_session_result)
    from physio_core.store import access

    if not IMU_DATA.is_dir():
        pytest.skip(f"MetaMotion data set not found at {IMU_DATA}")
    url = f"sqlite:///{tmp_path_factory.mktemp('odd') / 'physiotrack.db'}"
    engine = init_db(url)
    trainer = create_user(engine, "coach@old.clinic", "Carla Coach", Role.TRAINER, "coach-password-1")
    athlete = get_or_create_athlete(engine, "Ana Lopez", trainer.id)
    save_session_result(engine, assessed_squat_result, athlete.id, trainer.id, notes="left knee sore")
    s = next(s for s in list_sets(IMU_DATA) if s.lift == "dead" and s.category == "heavy")
    series = read_imu([(s.acc_path.name, s.acc_path.read_bytes()), (s.gyr_path.name, s.gyr_path.read_bytes())])
    save_imu_session(engine, series, analyze_imu(series), athlete.id, source=s.acc_path.name)
    access.set_rom_target(engine, trainer.id, athlete.id, "knee_angle_r", 125.0, "deep_squat")
    access.set_programme_item(engine, trainer.id, athlete.id, "deep_squat", 3, 10, "slow, to the box",
                              started_at=datetime(2026, 11, 2, 8, 0, tzinfo=UTC), ended_at=None, days=(0, 2, 4))
    access.set_morning_pain(engine, trainer.id, athlete.id, date(2026, 11, 4), 3)
    yield athlete_archive(engine, athlete.id), engine
    dispose_engines(url)


def rewritten(data: bytes, changes: dict[str, object]) -> bytes:
    """The archive with some members changed: bytes, or a function of the old bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            new = changes.get(name, src.read(name))
            dst.writestr(name, new(src.read(name)) if callable(new) else new)
    return buf.getvalue()


def as_a_spreadsheet_saves_it(data: bytes) -> bytes:
    """A table as a European spreadsheet saves it again: a BOM, ';' between the cells, CRLF, the
    header in capitals with spaces, decimal commas."""
    lines = data.decode().splitlines()
    head = "; ".join(c.upper() for c in lines[0].split(","))
    rows = []
    for line in lines[1:]:
        cells = next(csv.reader([line]))
        rows.append(";".join(c.replace(".", ",") if c.replace(".", "").isdigit() else c for c in cells))
    return ("\ufeff" + "\r\n".join([head, *rows]) + "\r\n").encode()


def test_an_archive_a_spreadsheet_saved_again_reads_as_it_was(archive):
    data, _ = archive
    before = read_archive(data)
    tables = ("sessions.csv", "targets.csv", "programme.csv", "athlete.csv", "morning_pain.csv")
    after = read_archive(rewritten(data, {t: as_a_spreadsheet_saves_it for t in tables}))
    assert len(before.sessions) == 2 and before.targets and before.programme and before.morning
    assert [(s.label, s.started_at, s.source, s.notes) for s in after.sessions] == [
        (s.label, s.started_at, s.source, s.notes) for s in before.sessions]
    assert after.skipped == before.skipped == []
    assert after.targets == before.targets and after.programme == before.programme
    assert after.programme[0].days == (0, 2, 4) and after.programme[0].note == "slow, to the box"
    assert after.morning == before.morning and after.athlete == "Ana Lopez"


def test_a_programme_of_more_sessions_a_week_than_days_comes_in_as_seven(archive, tmp_path):
    """An archive made before 2026-12-07 may ask 10 sessions a week, which this version refuses to
    set (a session is a day): the item comes in as 7 a week, as its weeks were counted, not lost."""
    from physio_core.imports import import_sessions
    from physio_core.store import create_user, dispose_engines, init_db
    from physio_core.store.access import programme

    data, _ = archive
    old = rewritten(data, {"programme.csv": lambda d: d.replace(b",3,", b",10,", 1).replace(b"Mon Wed Fri", b"")})
    contents = read_archive(old)
    assert [i.sessions_per_week for i in contents.programme] == [10]
    url = f"sqlite:///{tmp_path / 'here.db'}"
    here = init_db(url)
    athlete = create_user(here, None, "Ana")
    report = import_sessions(here, [], athlete.id, programme=contents.programme)
    assert report.programme == 1 and not report.failed, report.failed
    assert [i.sessions_per_week for i in programme(here, athlete.id)] == [7]
    dispose_engines(url)


def _first_row_changed(member: str, column: str, value: str):
    def change(data: bytes) -> bytes:
        rows = list(csv.reader(io.StringIO(data.decode())))
        rows[1][rows[0].index(column)] = value
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue().encode()
    return {member: change}


@pytest.mark.parametrize("changes, said", [
    ({"targets.csv": lambda d: d.replace(b"deep_squat", "d\u00e9ep".encode("latin-1"))},
     r"^targets\.csv is not UTF-8 text \(byte 0xe9 on line 2\); save it as CSV UTF-8$"),
    ({"programme.csv": lambda d: d.replace(b"slow", "l\u00e9nt".encode("cp1252"))},
     r"^programme\.csv is not UTF-8 text \(byte 0xe9 on line 2\)"),
    ({"sessions.csv": lambda d: d.replace(b"id,", b"session,", 1)}, r"^sessions\.csv has no column id \(its columns: "
                                                                      r"session, started_at_utc, "),
    (_first_row_changed("sessions.csv", "started_at_utc", "03/11/2026 09:30"),
     r"^sessions\.csv, line 2: started_at_utc is not a time such as 2026-11-03T09:30:00\+00:00: '03/11/2026 09:30'$"),
    (_first_row_changed("targets.csv", "target_deg", "a lot"), r"^targets\.csv, line 2: target_deg is not a number: "
                                                               r"'a lot'$"),
    # a decimal comma in a table of commas, unquoted: 125,5 would have read as 125
    ({"targets.csv": lambda d: d.replace(b",125.0,", b",125,5,")}, r"^targets\.csv, line 2: 5 cells under 4 columns$"),
    # an end it cannot read would have made an ended item current again
    (_first_row_changed("programme.csv", "ended_at_utc", "last week"),
     r"^programme\.csv, line 2: ended_at_utc is not a time"),
    (_first_row_changed("programme.csv", "days", "Mon Funday"), r"^programme\.csv, line 2: days is not days of the "
                                                                r"week \(Mon Tue Wed Thu Fri Sat Sun\): 'Mon Funday'$"),
    (_first_row_changed("morning_pain.csv", "pain", ""), r"^morning_pain\.csv, line 2: pain is empty$"),
    ({"targets.csv": lambda d: d.replace(b"exercise,", b"Angle,", 1)}, r"^targets\.csv has the column angle twice$"),
])
def test_an_archive_table_that_does_not_read_is_refused_naming_its_line_and_column(archive, changes, said):
    with pytest.raises(ImportFormatError, match=said):
        read_archive(rewritten(archive[0], changes))


def _patched(data: bytes, member: str, field: str, value: int) -> bytes:
    """The archive with one member's flags or compression method set, in its local and central headers."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    local, central = {"flags": 6, "method": 8}[field], {"flags": 8, "method": 10}[field]
    out = bytearray(data)
    struct.pack_into("<H", out, info.header_offset + local, value)
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        size = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + size].decode() == member:
            struct.pack_into("<H", out, at + central, value)
            return bytes(out)
        at += 4


def _damaged(data: bytes, member: str) -> bytes:
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    out = bytearray(data)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    out[start + 5] ^= 0xFF  # a byte of its deflated data
    return bytes(out)


def test_a_damaged_or_locked_member_of_an_archive_is_refused_naming_it(archive):
    data, engine = archive
    with pytest.raises(ImportFormatError, match=r"^targets\.csv cannot be read from the archive \("):
        read_archive(_damaged(data, "targets.csv"))
    with pytest.raises(ImportFormatError, match=r"^sessions\.csv cannot be read from the archive \(File 'sessions\.csv"
                                                r"' is encrypted, password required"):
        read_archive(_patched(data, "sessions.csv", "flags", 1))
    with pytest.raises(ImportFormatError, match=r"^programme\.csv cannot be read from the archive \(That compression "
                                                r"method is not supported\)"):
        read_archive(_patched(data, "programme.csv", "method", 9))  # Deflate64
    # a session's JSON is read when it is imported: damaged, it fails alone, said by its label
    squats = next(n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.endswith(".json")
                  and not n.endswith("_imu.json"))
    contents = read_archive(_damaged(data, squats))
    from physio_core.store import get_or_create_athlete

    report = import_sessions(engine, contents.sessions, get_or_create_athlete(engine, "Ana (damaged)").id)
    assert len(report.imported) == 1 and len(report.failed) == 1
    assert report.failed[0].startswith("session #") and f"{squats} cannot be read from the archive" in report.failed[0]


def test_a_sensor_sets_analysis_that_is_not_an_object_is_refused(archive):
    data, _ = archive
    imu = next(n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.endswith("_imu.json"))
    with pytest.raises(ImportFormatError, match=r"^session #\d+ \(2019-01-15 \d\d:\d\d, deadlift\): its analysis "
                                                r"\(\d+_imu\.json\) is not a PhysioTrack sensor set's$"):
        read_archive(rewritten(data, {imu: b"[1, 2]"}))


@pytest.fixture(scope="module")
def session_doc(assessed_squat_result):
    return json.loads(exports.json_bytes(assessed_squat_result))


def _edited(doc: dict, **series) -> bytes:
    d = json.loads(json.dumps(doc))
    d["series"].update(series)
    return json.dumps(d).encode()


def test_a_session_json_with_odd_fields_is_refused_with_its_reason(session_doc):
    doc, times = session_doc, session_doc["series"]["pose_time_s"]
    for edit, said in (
        ({"session": "Ana"}, r"^squats\.json: its 'session' is not an object \(str\)$"),
        ({"started_at": 1762162200}, r"^squats\.json: started_at is not a time such as 2026-11-03T09:30:00\+00:00: "
                                     r"1762162200$"),
    ):
        with pytest.raises(ImportFormatError, match=said):
            read_upload(json.dumps({**doc, **edit}).encode(), "squats.json")
    # a warning with no text is no warning: the rest reads
    s = read_upload(json.dumps({**doc, "feedback_items": [{"kind": "warning"}]}).encode(), "squats.json").sessions[0]
    assert s.warnings == [] and len(s.pose) == len(times)

    gap = [*times[:100], None, *times[101:]]
    back = [*times[:300], *(t - 5 for t in times[300:])]
    for edited, said in (
        (gap, r"^squats\.json: pose_time_s\[100\] is not a time \(nan; 1 of the \d+ are not\)$"),
        (back, r"^squats\.json: pose_time_s goes back at \[300\] \(5(\.\d+)? s after 9\.\d+ s\); a session's "
               r"frame times increase$"),
        (times[::-1], r"^squats\.json: pose_time_s goes back at \[1\] "),
        ([0.0] * len(times), r"^squats\.json: pose_time_s does not increase \(every frame at 0 s\)$"),
    ):
        with pytest.raises(ImportFormatError, match=said):
            read_upload(_edited(doc, pose_time_s=edited), "squats.json")


def test_the_import_box_says_why_an_archive_does_not_read(app_env, archive):
    at = test_pages.new_app()
    at.switch_page("pages/sessions.py")
    at.run()
    bad = rewritten(archive[0], {"targets.csv": lambda d: d.replace(b"deep_squat", "d\u00e9ep".encode("latin-1"))})
    at.file_uploader(key="import_file").set_value([("ana.zip", bad, "application/zip")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [
        "ana.zip cannot be imported: targets.csv is not UTF-8 text (byte 0xe9 on line 2); save it as CSV UTF-8"]
