"""The athlete's affected side: set by their staff and nobody else, kept by SQLite and
PostgreSQL (the database refuses anything but left and right), read by Progress, carried by the
archive into another clinic."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from physio_core import imports, progress
from physio_core.archive import athlete_archive
from physio_core.store import AccessDenied, delete_athlete, downgrade, upgrade
from physio_core.store.access import affected_side, set_affected_side


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


def test_the_archive_carries_the_side_and_an_import_keeps_one_said_here(clinic_of_four):
    engine, ids = clinic_of_four
    set_affected_side(engine, ids["trainer"], ids["athlete"], "left")
    contents = imports.read_archive(athlete_archive(engine, ids["athlete"]))
    assert contents.affected_side == "left" and contents.sessions == []
    report = imports.import_sessions(engine, [], ids["other"], affected_side=contents.affected_side)
    assert report.affected_side == "left" and affected_side(engine, ids["other"]) == "left"
    assert report.summary() == "the affected side (left) set."
    set_affected_side(engine, ids["trainer"], ids["athlete"], "right")  # said here already: left alone
    report = imports.import_sessions(engine, [], ids["athlete"], affected_side="left")
    assert report.affected_side is None and affected_side(engine, ids["athlete"]) == "right"


def test_an_archive_with_a_side_that_is_no_side_is_refused():
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("sessions.csv", "id,started_at_utc\n")
        z.writestr("athlete.csv", "name,affected_side\nAna,both\n")
    with pytest.raises(imports.ImportFormatError, match="athlete.csv: the affected side is left, right or empty"):
        imports.read_archive(buf.getvalue())
