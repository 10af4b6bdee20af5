"""What the athlete's staff say of the athlete, the affected side, the condition and its day: set
by their staff and nobody else, kept by SQLite and PostgreSQL (the database refuses a side but
left and right), read by Progress, carried by the archive into another clinic."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from physio_core import imports, progress
from physio_core.archive import athlete_archive
from physio_core.store import AccessDenied, delete_athlete, downgrade, upgrade
from physio_core.store.access import (AthleteProfileOut, affected_side, athlete_profile, set_affected_side,
                                     set_condition)


def test_staff_set_the_side_and_the_athlete_reads_it(clinic_of_four):
    engine, ids = clinic_of_four
    assert affected_side(engine, ids["athlete"], viewer_id=ids["athlete"]) is None  # not said
    set_affected_side(engine, ids["trainer"], ids["athlete"], "left")
    assert affected_side(engine, ids["athlete"], viewer_id=ids["athlete"]) == "left"
    assert progress.load_progress(engine, ids["athlete"], viewer_id=ids["trainer"]).affected_side == "left"
    for who in ("athlete", "stranger", "other"):  # nobody but the athlete's staff sets it
        with pytest.raises(AccessDenied):
            set_affected_side(engine, ids[who], ids["athlete"], "right")
    for who in ("stranger", "other"):  # nor reads it
        with pytest.raises(AccessDenied):
            affected_side(engine, ids["athlete"], viewer_id=ids[who])
    with pytest.raises(ValueError, match="left or right"):
        set_affected_side(engine, ids["trainer"], ids["athlete"], "both")
    with pytest.raises(ValueError, match="expected athlete"):  # a side is an athlete's
        set_affected_side(engine, None, ids["trainer"], "left")
    set_affected_side(engine, ids["trainer"], ids["athlete"], None)  # taken back: not said
    assert affected_side(engine, ids["athlete"]) is None
    assert affected_side(engine, ids["other"]) is None


def test_the_database_itself_keeps_it_to_left_or_right_and_cascades(clinic_of_four):
    engine, ids = clinic_of_four
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO athlete_profiles (athlete_id, affected_side) VALUES (:a, 'both')"),
                     {"a": ids["athlete"]})
    assert affected_side(engine, ids["athlete"]) is None
    set_affected_side(engine, ids["trainer"], ids["athlete"], "left")
    assert delete_athlete(engine, ids["athlete"])  # deleted with the athlete
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM athlete_profiles")).scalar() == 0


def test_downgrade_drops_the_table_and_upgrade_brings_it_back(clinic_of_four):
    engine, ids = clinic_of_four
    set_affected_side(engine, ids["trainer"], ids["athlete"], "right")
    downgrade(engine, "0008")
    assert "athlete_profiles" not in sa.inspect(engine).get_table_names()
    upgrade(engine)
    assert affected_side(engine, ids["athlete"]) is None  # dropped with its values
    set_affected_side(engine, ids["trainer"], ids["athlete"], "right")
    assert affected_side(engine, ids["athlete"]) == "right"


def test_staff_say_the_condition_and_the_pages_count_the_weeks_since(clinic_of_four):
    engine, ids = clinic_of_four
    assert athlete_profile(engine, ids["athlete"]) == AthleteProfileOut() and not AthleteProfileOut().said
    set_condition(engine, ids["trainer"], ids["athlete"], "  ACL reconstruction,  left knee ", date(2026, 9, 14),
                  today=date(2026, 12, 6))
    set_affected_side(engine, ids["trainer"], ids["athlete"], "left")  # the side is kept with the condition
    profile = athlete_profile(engine, ids["athlete"], viewer_id=ids["athlete"])
    assert profile == AthleteProfileOut("left", "ACL reconstruction, left knee", date(2026, 9, 14)) and profile.said
    assert progress.load_progress(engine, ids["athlete"]).profile == profile
    # 83 days: 11 whole weeks
    assert progress.condition_words(profile, date(2026, 12, 6)) == \
        "ACL reconstruction, left knee, on 2026-09-14: 11 weeks ago."
    assert progress.session_since_words(profile, date(2026, 9, 20)) == \
        "6 days after ACL reconstruction, left knee (2026-09-14)"
    assert progress.session_since_words(profile, date(2026, 9, 1)) == \
        "13 days before ACL reconstruction, left knee (2026-09-14)"
    assert progress.session_since_words(profile, date(2027, 11, 1)) == \
        "14 months after ACL reconstruction, left knee (2026-09-14)"
    assert progress.condition_words(AthleteProfileOut(since=date(2026, 12, 6)), date(2026, 12, 6)) == \
        "Injury or operation, on 2026-12-06: today."
    assert progress.session_since_words(AthleteProfileOut(condition="Ankle sprain"), date(2026, 12, 6)) is None
    for who in ("athlete", "stranger", "other"):
        with pytest.raises(AccessDenied):
            set_condition(engine, ids[who], ids["athlete"], "anything", None)
    with pytest.raises(ValueError, match="still to come"):
        set_condition(engine, ids["trainer"], ids["athlete"], "ACL", date(2026, 12, 7), today=date(2026, 12, 6))
    with pytest.raises(ValueError, match="at most 200 characters"):
        set_condition(engine, ids["trainer"], ids["athlete"], "x" * 201, None)
    set_condition(engine, ids["trainer"], ids["athlete"], "", None)  # taken back
    assert athlete_profile(engine, ids["athlete"]) == AthleteProfileOut("left")


def test_the_archive_carries_the_profile_and_an_import_keeps_what_is_said_here(clinic_of_four):
    engine, ids = clinic_of_four
    set_affected_side(engine, ids["trainer"], ids["athlete"], "left")
    set_condition(engine, ids["trainer"], ids["athlete"], "Ankle sprain, left", date(2026, 11, 2))
    contents = imports.read_archive(athlete_archive(engine, ids["athlete"]))
    assert contents.profile == AthleteProfileOut("left", "Ankle sprain, left", date(2026, 11, 2))
    assert contents.sessions == []
    report = imports.import_sessions(engine, [], ids["other"], profile=contents.profile)
    assert athlete_profile(engine, ids["other"]) == contents.profile
    assert report.summary() == "the affected side (left) and the condition set."
    set_affected_side(engine, ids["trainer"], ids["athlete"], "right")  # said here already: left alone
    set_condition(engine, ids["trainer"], ids["athlete"], "Hamstring strain", None)
    report = imports.import_sessions(engine, [], ids["athlete"], profile=contents.profile)
    assert report.profile == [] and athlete_profile(engine, ids["athlete"]) == AthleteProfileOut(
        "right", "Hamstring strain", None)


@pytest.mark.parametrize("row, why", [("Ana,both,,", "the affected side is left, right or empty"),
                                      ("Ana,left,ACL,14/09/2026", "since is a day")])
def test_an_archive_whose_athlete_does_not_read_is_refused(row, why):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("sessions.csv", "id,started_at_utc\n")
        z.writestr("athlete.csv", f"name,affected_side,condition,since\n{row}\n")
    with pytest.raises(imports.ImportFormatError, match=f"athlete.csv: {why}"):
        imports.read_archive(buf.getvalue())


def test_a_sessions_printable_report_says_how_long_after_the_operation(clinic_of_four, make_uiprmd_session_result):
    """In the archive (as on the session's page): the session of 2026-11-02, 49 days after."""
    import io
    import zipfile

    from physio_core.store import save_session_result

    engine, ids = clinic_of_four
    sid = save_session_result(engine, make_uiprmd_session_result(), ids["athlete"])
    set_condition(engine, ids["trainer"], ids["athlete"], "ACL reconstruction, left knee", date(2026, 9, 14))
    with zipfile.ZipFile(io.BytesIO(athlete_archive(engine, ids["athlete"]))) as z:
        page = z.read(f"session_{sid}/{sid}_report.html").decode()
        assert "7 weeks after ACL reconstruction, left knee (2026-09-14)" in page
        assert "ACL reconstruction, left knee, on 2026-09-14:" in z.read("progress_report.html").decode()
        assert "limb symmetry" not in page  # no affected side said
    set_affected_side(engine, ids["trainer"], ids["athlete"], "left")
    with zipfile.ZipFile(io.BytesIO(athlete_archive(engine, ids["athlete"]))) as z:
        page = z.read(f"session_{sid}/{sid}_report.html").decode()
        assert "7 weeks after ACL reconstruction, left knee (2026-09-14) · limb symmetry " in page


def test_a_sensor_sets_report_says_how_long_after_the_operation(clinic_of_four):
    """A real MetaMotion deadlift set filmed on 2026-10-12, four weeks after: its printable report
    says it, in the archive and among the page's downloads."""
    import io
    import zipfile
    from datetime import UTC, datetime
    from pathlib import Path

    from physio_core import exports
    from physio_core.imu import list_sets, read_upload
    from physio_core.imu.analyze import analyze_imu
    from physio_core.store import get_session_detail, save_imu_session

    data = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "metamotion-imu"
    if not data.is_dir():
        pytest.skip(f"MetaMotion data set not found at {data}")
    engine, ids = clinic_of_four
    found = next(s for s in list_sets(data) if s.lift == "dead" and s.category == "heavy")
    series = read_upload([(f.name, f.read_bytes()) for f in (found.acc_path, found.gyr_path)])
    sid = save_imu_session(engine, series, analyze_imu(series), ids["athlete"], source=found.acc_path.name,
                           started_at=datetime(2026, 10, 12, 9, 30, tzinfo=UTC))
    set_condition(engine, ids["trainer"], ids["athlete"], "ACL reconstruction, left knee", date(2026, 9, 14))
    said = "4 weeks after ACL reconstruction, left knee (2026-09-14)"
    with zipfile.ZipFile(io.BytesIO(athlete_archive(engine, ids["athlete"]))) as z:
        assert said in z.read(f"session_{sid}/{sid}_report.html").decode()
    detail = get_session_detail(engine, sid)
    since = progress.session_since_words(athlete_profile(engine, ids["athlete"]), date(2026, 10, 12))
    (report,) = [e for e in exports.imu_session_exports(detail.imu_series, detail.imu_analysis, stem="s",
                                                        session=detail.session, about=since, include_plotlyjs=False)
                 if e.file_name.endswith(".html")]
    assert since == said and said in report.build().decode()
