"""What happens when the database is away: one clear error, and finished sessions kept until it is back."""

from __future__ import annotations

from pathlib import Path

import pytest

from physio_core.config import get_settings
from physio_core.store import (
    PendingWrites,
    StorageUnavailable,
    dispose_engines,
    get_or_create_athlete,
    get_session_detail,
    init_db,
    list_sessions,
    make_engine,
    save_session_result,
)

UNREACHABLE_PG = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens on port 1


def test_unreachable_url_raises_storage_unavailable(uiprmd_session_result):
    with pytest.raises(StorageUnavailable) as info:
        init_db(UNREACHABLE_PG)
    msg = str(info.value)
    assert "127.0.0.1:1" in msg and "cannot be reached" in msg and "DATABASE_URL" in msg
    assert "sqlalchemy" not in msg.lower()  # no library internals in what users read

    engine = make_engine(UNREACHABLE_PG)
    with pytest.raises(StorageUnavailable):
        list_sessions(engine)
    with pytest.raises(StorageUnavailable):  # after its brief retries
        save_session_result(engine, uiprmd_session_result, athlete_id=1)
    # a failed init is not cached: the next call tries again (and fails again here)
    with pytest.raises(StorageUnavailable):
        init_db(UNREACHABLE_PG)


def test_a_postgres_database_that_does_not_exist_is_named_with_how_to_create_it(pg_databases):
    name, url = pg_databases.reserve()  # a name on the running server, never created
    with pytest.raises(StorageUnavailable) as info:
        init_db(url)
    msg = str(info.value)
    assert f'database "{name}" does not exist' in msg and f"Create it (createdb {name}, as a user who may)" in msg
    assert "Check that it is running" not in msg  # it is running
    pg_databases.create(name)  # as the advice says
    assert get_or_create_athlete(init_db(url), "Ana").display_name == "Ana"


def test_sqlite_file_that_cannot_be_opened(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StorageUnavailable, match="SQLite file") as info:
        init_db(f"sqlite:///{blocker / 'physiotrack.db'}")
    assert "Check that its folder exists" in str(info.value)  # not "that it is running"


def test_a_sqlite_file_another_program_keeps_locked_says_so(tmp_path: Path):
    """SQLite's "database is locked" (after the engine's wait) names the cause, not a server."""
    import sqlite3

    from physio_core.store.db import unavailable

    path = tmp_path / "physiotrack.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError) as err:
            sqlite3.connect(path, timeout=0).execute("CREATE TABLE t (x)")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    msg = str(unavailable(f"sqlite:///{path}", err.value))
    assert msg == (f"The database (SQLite file {path}) cannot be reached: database is locked. "
                   "Another program has been writing to the file for a while: try again in a moment.")


@pytest.mark.parametrize("url, why", [
    ("mysql://clinic:s3cret@db.example.org/physio", "'mysql' is neither PostgreSQL nor SQLite"),
    ("postgresql+pg8000://clinic:s3cret@db.example.org/physio", "driver 'pg8000' is not installed"),
    ("postgresql://clinic:s3cret@db.example.org:54x2/physio", "not a database address"),
    ("db.example.org:5432/physio", "not a database address"),
])
@pytest.mark.parametrize("given", ["environment", "argument"])
def test_a_database_url_that_names_nothing_we_can_open(url, why, given, monkeypatch):
    if given == "environment":
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
    try:
        with pytest.raises(StorageUnavailable) as info:
            init_db(None if given == "environment" else url)
    finally:
        get_settings.cache_clear()
    msg = str(info.value)
    # names where the address came from: the variable, or the address handed over (admin --database-url)
    source = "DATABASE_URL" if given == "environment" else "The database address given"
    assert msg.startswith(f"{source} cannot be used") and why in msg
    assert "postgresql://USER:PASSWORD@HOST:5432/DATABASE" in msg  # how to write it instead
    assert "s3cret" not in msg and "sqlalchemy" not in msg.lower()


def test_postgres_scheme_of_hosting_providers_is_read_as_postgresql(pg_databases):
    url = pg_databases.new()  # postgresql+psycopg://...
    short = "postgres://" + url.split("://", 1)[1]
    engine = init_db(short)
    assert engine.dialect.name == "postgresql"
    athlete = get_or_create_athlete(engine, "Ana")
    assert get_or_create_athlete(init_db(url), "Ana").id == athlete.id  # the same database


@pytest.fixture(params=["sqlite", "postgres"])
def down_then_up(request, tmp_path):
    """(url, bring_back): a database that is unavailable until bring_back() is called."""
    if request.param == "sqlite":
        blocker = tmp_path / "data"
        blocker.write_text("blocks the data folder")
        url = f"sqlite:///{blocker / 'physiotrack.db'}"
        yield url, blocker.unlink
    else:
        dbs = request.getfixturevalue("pg_databases")
        name, url = dbs.reserve()  # database does not exist yet: connections are refused
        yield url, lambda: dbs.create(name)


def test_pending_writes_flush_when_database_is_back(down_then_up, make_uiprmd_session_result):
    url, bring_back = down_then_up
    first = make_uiprmd_session_result(episodes=(1, 2))
    second = make_uiprmd_session_result(episodes=(3,))
    down = make_engine(url)
    pending = PendingWrites()

    assert pending.save_or_keep(down, first, "Ana") is None
    with pytest.raises(StorageUnavailable):
        init_db(url)
    assert pending.save_or_keep(None, second, "Ana", exercise="deep_squat") is None
    with pytest.raises(StorageUnavailable):
        pending.flush(down)
    assert len(pending) == 2  # nothing lost
    down.dispose()

    bring_back()
    engine = init_db(url)
    ids = pending.flush(engine)
    assert len(ids) == 2 and len(pending) == 0
    ana = get_or_create_athlete(engine, "Ana")
    assert [r.id for r in list_sessions(engine, athlete_id=ana.id)] == ids[::-1]  # newest id first on a tie
    assert [get_session_detail(engine, i).session.rep_count for i in ids] == [2, 1]
    assert pending.flush(engine) == []
    # once back, save_or_keep saves immediately
    third = pending.save_or_keep(engine, first, ana.id)
    assert third is not None and len(pending) == 0


# ------------------------------------------------------------------ a schema this version cannot use


def _head() -> str:
    from alembic.script import ScriptDirectory

    from physio_core.store.db import _alembic_config

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _tables(url: str) -> set[str]:
    import sqlalchemy as sa

    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _sql(url: str, *statements: str) -> list:
    """Run ``statements`` on their own connection; the rows of the last one, if it returns any."""
    import sqlalchemy as sa

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for s in statements:
                out = conn.execute(sa.text(s))
            return out.all() if out.returns_rows else []
    finally:
        engine.dispose()


def test_a_database_a_newer_version_migrated_is_refused_untouched(db_url):
    """An older PhysioTrack started on the database a newer one migrated (a clinic rolled back)
    says so, changes nothing, and the database opens again under the version that knows it.
    Before, Alembic's "Can't locate revision" reached the page as a database that "cannot be
    reached" (on SQLite) or as library text."""
    from physio_core.store import SchemaMismatch

    engine = init_db(db_url)
    ana = get_or_create_athlete(engine, "Ana")
    dispose_engines(db_url)
    # what a newer version's migration would have done: a table of its own, and its revision
    _sql(db_url, "CREATE TABLE future_things (id INTEGER PRIMARY KEY)",
         "UPDATE alembic_version SET version_num = 'f00d0013'")
    for _ in range(2):  # refused each time (a refusal is not cached)
        with pytest.raises(SchemaMismatch) as info:
            init_db(db_url)
    msg = str(info.value)
    assert "newer version of PhysioTrack" in msg and "f00d0013" in msg and f"up to {_head()}" in msg
    assert "Nothing in it was changed" in msg and "cannot be reached" not in msg
    assert "alembic" not in msg.lower() and "sqlalchemy" not in msg.lower()
    assert isinstance(info.value, StorageUnavailable)  # every caller's "not saved, nothing lost" path
    assert _sql(db_url, "SELECT version_num FROM alembic_version") == [("f00d0013",)]
    assert "future_things" in _tables(db_url)
    assert _sql(db_url, f"SELECT display_name FROM users WHERE id = {ana.id}") == [("Ana",)]

    # the version that migrated it (here: its revision put back) opens it, data and all
    _sql(db_url, "DROP TABLE future_things", f"UPDATE alembic_version SET version_num = '{_head()}'")
    assert get_or_create_athlete(init_db(db_url), "Ana").id == ana.id


def test_another_programs_tables_are_refused_untouched(db_url):
    """A database that holds a table under one of PhysioTrack's names but no PhysioTrack
    revision (DATABASE_URL pointed at another program's database) is refused before the first
    migration writes anything. Before, SQLite's "table users already exists" read as a database
    that cannot be reached."""
    from physio_core.store import SchemaMismatch

    _sql(db_url, "CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT)", "INSERT INTO users VALUES (7, 'root')")
    with pytest.raises(SchemaMismatch) as info:
        init_db(db_url)
    msg = str(info.value)
    assert "(users)" in msg and "no record of a PhysioTrack schema" in msg and "cannot be reached" not in msg
    assert _tables(db_url) == {"users"}  # no version table, none of PhysioTrack's
    assert _sql(db_url, "SELECT id, login FROM users") == [(7, "root")]


def test_tables_of_other_names_share_the_database(db_url):
    """Tables under other names are no reason to refuse: PhysioTrack's tables go beside them
    (a hosted PostgreSQL database shared with another service)."""
    _sql(db_url, "CREATE TABLE inventory (id INTEGER PRIMARY KEY, item TEXT)",
         "INSERT INTO inventory VALUES (1, 'bar')")
    engine = init_db(db_url)
    assert get_or_create_athlete(engine, "Ana").id is not None
    assert {"inventory", "users", "alembic_version"} <= _tables(db_url)
    assert _sql(db_url, "SELECT item FROM inventory") == [("bar",)]


def test_the_admin_command_says_a_newer_version_migrated_the_database(tmp_path):
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'physiotrack.db'}"
    init_db(url)
    dispose_engines(url)
    _sql(url, "UPDATE alembic_version SET version_num = 'f00d0013'")
    r = subprocess.run([sys.executable, "-m", "physio_core.admin", "--database-url", url, "list-users"],
                       capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: The database (SQLite file") and "newer version of PhysioTrack" in r.stderr
    assert "Traceback" not in r.stderr


# ------------------------------------------------------------------ a database that will not serve


@pytest.fixture
def pg_user_without_rights(pg_server):
    """(admin URL, the same database as a new login role with no right beyond PUBLIC's) of a
    fresh PostgreSQL database: since PostgreSQL 15 such a user may not create tables in
    ``public``, as on many hosted servers. Both are dropped afterwards."""
    import uuid

    from sqlalchemy.engine import make_url

    from conftest import _pg_admin

    name = f"test_{uuid.uuid4().hex[:16]}"
    role = f"physio_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    _pg_admin(f"CREATE ROLE {role} LOGIN")
    admin = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    user = make_url(admin).set(username=role, password=None).render_as_string(hide_password=False)
    yield admin, user, role
    dispose_engines(admin)
    dispose_engines(user)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f"DROP ROLE IF EXISTS {role}")


def _advice(msg: str) -> list[str]:
    """The GRANT statements a refusal's message tells the database's owner to run."""
    inside = msg.split("PhysioTrack needs (", 1)[1].split("; or make", 1)[0]
    return [g.strip() for g in inside.split(";")]


def test_a_postgres_user_who_may_not_create_tables_is_told_the_grant(pg_user_without_rights):
    """Before: psycopg's "permission denied for schema public" with the CREATE TABLE statement
    under it, on the login page. Now the user, the reason and the owner's GRANT; running that
    GRANT is all it takes."""
    admin, user, role = pg_user_without_rights
    with pytest.raises(StorageUnavailable) as info:
        init_db(user)
    msg = str(info.value)
    assert f"refused the user {role}: permission denied for schema public" in msg and "Nothing was changed" in msg
    assert "CREATE TABLE" not in msg and "sqlalche" not in msg
    assert _tables(admin) == set()
    grants = _advice(msg)
    assert grants == [f"GRANT CREATE ON SCHEMA public TO {role}"]
    _sql(admin, *grants)
    assert get_or_create_athlete(init_db(user), "Ana").display_name == "Ana"


def _kept(engine, make_uiprmd_session_result) -> tuple[PendingWrites, str]:
    """A two-rep session saved on ``engine``, which refuses it: the session waits in the returned
    PendingWrites, and flushing it again raises StorageUnavailable, whose message is returned."""
    pending = PendingWrites()
    assert pending.save_or_keep(engine, make_uiprmd_session_result(episodes=(1, 2)), "Ana") is None
    assert len(pending) == 1
    with pytest.raises(StorageUnavailable) as info:
        pending.flush(engine)
    return pending, str(info.value)


def test_a_session_refused_for_want_of_rights_is_kept_and_saved_once_granted(pg_user_without_rights,
                                                                             make_uiprmd_session_result):
    """A database set up by its owner, used by a user who may only read PhysioTrack's schema
    version: saving a session is refused with the grants to run, the session waits in memory,
    and is saved after the owner runs them."""
    admin, user, role = pg_user_without_rights
    init_db(admin)
    dispose_engines(admin)
    _sql(admin, f"GRANT SELECT ON alembic_version TO {role}")
    engine = init_db(user)  # at head: nothing to migrate
    pending, msg = _kept(engine, make_uiprmd_session_result)
    assert f"refused the user {role}: permission denied for table users" in msg
    _sql(admin, *_advice(msg))
    [sid] = pending.flush(engine)
    assert len(pending) == 0
    dispose_engines(admin)
    assert get_session_detail(init_db(admin), sid).session.rep_count == 2


def test_a_file_that_is_not_a_sqlite_database_is_named_and_left_alone(tmp_path):
    path = tmp_path / "physiotrack.db"
    junk = bytes(range(256)) * 40  # what a half-copied or overwritten file might hold
    path.write_bytes(junk)
    with pytest.raises(StorageUnavailable) as info:
        init_db(f"sqlite:///{path}")
    assert str(info.value) == (
        f"The database (SQLite file {path}) cannot be read: file is not a database. It is not a SQLite "
        "database, or it is damaged; PhysioTrack left it as it is. Restore it from a backup, or set "
        "DATABASE_URL (or PHYSIO_DATA_DIR) to another file.")
    assert path.read_bytes() == junk


def test_a_full_disk_says_so_and_the_session_waits(tmp_path, make_uiprmd_session_result):
    """SQLite's own "database or disk is full" (the file held to its current size with
    ``max_page_count``, as a full disk holds it): free space, not the folder's rights, is the
    advice; the session waits in memory and is saved once there is room."""
    from sqlalchemy import event

    url = f"sqlite:///{tmp_path / 'physiotrack.db'}"
    engine = init_db(url)
    get_or_create_athlete(engine, "Ana")
    engine.dispose()
    room = {"pages": None}

    def cap(dbapi_conn, _):
        if room["pages"] is not None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {room['pages']}")

    event.listen(engine, "connect", cap)
    with engine.connect() as conn:
        room["pages"] = conn.exec_driver_sql("PRAGMA page_count").scalar()
    engine.dispose()  # every connection from now on is held to that size
    pending, msg = _kept(engine, make_uiprmd_session_result)
    assert "database or disk is full" in msg and "Free some space on its disk" in msg
    assert "Check that its folder exists" not in msg
    room["pages"] = None
    engine.dispose()
    [sid] = pending.flush(engine)
    assert get_session_detail(engine, sid).session.rep_count == 2


def test_a_read_only_postgres_database_keeps_the_session_until_it_writes_again(pg_databases,
                                                                               make_uiprmd_session_result):
    """A database that only reads (a standby server named by mistake, or one set read-only for
    maintenance: here ``default_transaction_read_only``) opens, since its schema is current,
    but refuses the first write. Before, psycopg's error and the INSERT statement reached the
    page; now what to do, and the session waits in memory until the database writes again."""
    from conftest import _pg_admin

    url = pg_databases.new()
    name = url.rsplit("/", 1)[1]
    init_db(url)
    dispose_engines(url)
    _pg_admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    engine = init_db(url)
    pending, msg = _kept(engine, make_uiprmd_session_result)
    assert "only reads: cannot execute INSERT in a read-only transaction" in msg and "primary server" in msg
    assert "[SQL:" not in msg and "psycopg" not in msg
    _pg_admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
    engine.dispose()  # the setting applies to new connections
    [sid] = pending.flush(engine)
    assert get_session_detail(engine, sid).session.rep_count == 2


# another program that migrates with Alembic: its revision in a version table named as PhysioTrack's
OTHER_PROGRAMS_RECORD = ("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
                         "INSERT INTO alembic_version VALUES ('9c1e0b7a4d2f')")


def test_another_programs_alembic_revision_is_not_taken_for_a_newer_physiotrack(db_url):
    """Another program that migrates with Alembic keeps its revision in a table of the same
    name: with none of PhysioTrack's tables beside it, the database is another program's, not
    one a newer PhysioTrack set up."""
    from physio_core.store import SchemaMismatch

    _sql(db_url, *OTHER_PROGRAMS_RECORD, "CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    with pytest.raises(SchemaMismatch) as info:
        init_db(db_url)
    msg = str(info.value)
    assert "another program's schema record (Alembic revision 9c1e0b7a4d2f)" in msg and "newer" not in msg
    assert _tables(db_url) == {"alembic_version", "orders"}
    assert _sql(db_url, "SELECT version_num FROM alembic_version") == [("9c1e0b7a4d2f",)]


def test_another_programs_users_table_is_not_taken_for_a_newer_physiotrack(db_url):
    """Another Alembic program with a table named as one of PhysioTrack's ("users", as most have):
    before, "set up by a newer version of PhysioTrack". On PostgreSQL the message says how the two
    can share the database (a schema of PhysioTrack's own: the test below does what it says)."""
    from physio_core.store import SchemaMismatch

    _sql(db_url, *OTHER_PROGRAMS_RECORD, "CREATE TABLE users (id INTEGER PRIMARY KEY)")
    with pytest.raises(SchemaMismatch) as info:
        init_db(db_url)
    msg = str(info.value)
    assert ("another program's schema record (Alembic revision 9c1e0b7a4d2f) and tables named as PhysioTrack's "
            "(users). Nothing in it was changed.") in msg and "newer" not in msg
    shared = "a schema of its own in this one (CREATE SCHEMA physiotrack, then add ?options=-csearch_path%3Dphysiotrack"
    assert (shared in msg) == db_url.startswith("postgresql")
    assert _tables(db_url) == {"alembic_version", "users"}


def _in_schema(url: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


def test_a_schema_of_its_own_shares_a_postgres_database_with_another_alembic_program(pg_databases):
    """What the refusal above says, done as it says on a URL that has a query already (as hosted
    servers' do): PhysioTrack's tables and revision in a schema of their own, the other program's
    in ``public``, each untouched by the other."""
    import re

    from physio_core.store import SchemaMismatch
    from physio_core.store.db import describe_url

    url = pg_databases.new()
    _sql(url, *OTHER_PROGRAMS_RECORD, "CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT)",
         "INSERT INTO users VALUES (7, 'root')")
    given = f"{url}?sslmode=disable"
    with pytest.raises(SchemaMismatch) as info:
        init_db(given)
    advice = re.search(r"\((CREATE SCHEMA \w+), then add (\S+) at the end of DATABASE_URL\)", str(info.value))
    create, step = advice.groups()
    assert step == "&options=-csearch_path%3Dphysiotrack"  # "?" would make the URL's sslmode read "disable?options=..."
    _sql(url, create)
    ours = given + step
    assert describe_url(ours) == f"{describe_url(url)}, schema physiotrack"
    ana = get_or_create_athlete(init_db(ours), "Ana")
    dispose_engines(ours)
    assert get_or_create_athlete(init_db(ours), "Ana").id == ana.id  # opened again: found, not refused
    assert _sql(url, "SELECT version_num FROM public.alembic_version") == [("9c1e0b7a4d2f",)]
    assert _sql(url, "SELECT id, login FROM public.users") == [(7, "root")]
    assert _sql(url, "SELECT version_num FROM physiotrack.alembic_version") == [(_head(),)]
    assert _sql(url, "SELECT display_name FROM physiotrack.users") == [("Ana",)]


def test_a_schema_that_is_not_there_or_not_usable_says_how_to_make_it_so(pg_user_without_rights):
    """A search_path naming a schema that does not exist, or one the user may not use: before,
    psycopg's "no schema has been selected to create in" with the CREATE TABLE statement under
    it. Each step the message names opens the way to the next, and then the database."""
    from physio_core.store.db import describe_url

    admin, user, role = pg_user_without_rights
    url = _in_schema(user, "clinic")
    with pytest.raises(StorageUnavailable) as info:
        init_db(url)
    msg = str(info.value)
    assert msg.startswith(f"The database ({describe_url(admin)}, schema clinic) has no schema clinic that {role} "
                          "may use for PhysioTrack's tables: no schema has been selected to create in. Nothing was "
                          "changed.")
    assert f"(CREATE SCHEMA clinic AUTHORIZATION {role}, as a user who may)" in msg
    assert f"(GRANT USAGE, CREATE ON SCHEMA clinic TO {role})" in msg and "CREATE TABLE" not in msg
    _sql(admin, "CREATE SCHEMA clinic")  # there, but owned by another: still not usable by the user
    with pytest.raises(StorageUnavailable) as info:
        init_db(url)
    assert "has no schema clinic that" in str(info.value)
    _sql(admin, f"GRANT USAGE ON SCHEMA clinic TO {role}")  # usable, but no tables may be made in it
    with pytest.raises(StorageUnavailable) as info:
        init_db(url)
    msg = str(info.value)
    assert f"refused the user {role}: permission denied for schema clinic" in msg
    assert _advice(msg) == [f"GRANT CREATE ON SCHEMA clinic TO {role}"]
    assert f"or make {role} the owner of the schema clinic" in msg
    _sql(admin, *_advice(msg))
    assert get_or_create_athlete(init_db(url), "Ana").display_name == "Ana"
    assert _sql(admin, "SELECT display_name FROM clinic.users") == [("Ana",)]
    dispose_engines(url)


def test_a_busy_pool_says_so_and_the_session_waits(tmp_path, make_uiprmd_session_result):
    """Every connection of the engine's pool in use while a save waits for one: SQLAlchemy's
    "QueuePool limit of size 1 overflow 0 reached ... (Background on this error at: https://sqlalche.me/...)"
    reached the page. Now the database is busy, in words, and the session waits for the next save."""
    url = f"sqlite:///{tmp_path / 'physiotrack.db'}"
    init_db(url)
    engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    held = engine.connect()  # a slow page, or a thread that keeps its connection
    try:
        with pytest.raises(StorageUnavailable) as info:
            list_sessions(engine)
        assert str(info.value) == (f"The database (SQLite file {tmp_path / 'physiotrack.db'}) is busy: every "
                                   "connection PhysioTrack keeps to it stayed in use while this waited for one. "
                                   "Try again in a moment.")
        pending, msg = _kept(engine, make_uiprmd_session_result)
        assert "is busy" in msg
    finally:
        held.close()
    [saved] = pending.flush(engine)  # a connection free again
    assert [r.id for r in list_sessions(engine)] == [saved]
    engine.dispose()


def test_the_schema_advice_keeps_the_options_a_url_sets(pg_databases):
    """A URL that sets options of its own, done as the refusal says: its settings still hold, and
    PhysioTrack's tables go in the schema."""
    from physio_core.store import SchemaMismatch

    url = pg_databases.new()
    _sql(url, *OTHER_PROGRAMS_RECORD, "CREATE TABLE users (id INTEGER PRIMARY KEY)", "CREATE SCHEMA physiotrack")
    given = f"{url}?options=-cstatement_timeout%3D4321"
    with pytest.raises(SchemaMismatch) as info:
        init_db(given)
    assert "then add %20-csearch_path%3Dphysiotrack to the options of DATABASE_URL" in str(info.value)
    ours = given + "%20-csearch_path%3Dphysiotrack"
    get_or_create_athlete(init_db(ours), "Ana")
    assert _sql(ours, "SHOW statement_timeout") == [("4321ms",)]
    assert _sql(url, "SELECT display_name FROM physiotrack.users") == [("Ana",)]


def test_a_server_that_does_not_answer_is_waited_for_once_a_save(make_uiprmd_session_result):
    """A server that takes the connection and never answers (a host gone, a hung server): each save
    waits out the connect timeout once and keeps the session. Before, it tried three times, so the
    live page's STOP spun for 15 s where 5 s told as much."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    taken: list[socket.socket] = []

    def take() -> None:  # and say nothing
        while True:
            try:
                taken.append(server.accept()[0])
            except OSError:  # closed at the end of the test
                return

    threading.Thread(target=take, daemon=True).start()
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{server.getsockname()[1]}/physio")
    try:
        pending, msg = _kept(engine, make_uiprmd_session_result)  # saved, then flushed: two saves
        assert "cannot be reached: connection timeout expired" in msg
        assert len(taken) == 2 and len(pending) == 1
    finally:
        engine.dispose()
        server.close()
        for conn in taken:
            conn.close()


def test_the_alembic_command_readme_gives_refuses_another_programs_tables_untouched(tmp_path):
    """README's ``alembic -c physio_core/store/alembic.ini upgrade head`` (run before starting the
    app on a database with many long sessions) checks the database as the app's start does. Before,
    another program's "users" table gave SQLAlchemy's "table users already exists", with the SQL
    and a traceback (the transaction rolled back)."""
    import subprocess
    import sys

    def upgrade(url: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "alembic", "-c", "physio_core/store/alembic.ini", "-x",
                               f"url={url}", "upgrade", "head"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[1], timeout=120)

    theirs = f"sqlite:///{tmp_path / 'theirs.db'}"
    _sql(theirs, "CREATE TABLE users (id INTEGER PRIMARY KEY)")
    r = upgrade(theirs)
    said = " ".join((r.stdout + r.stderr).split())  # its "FAILED" line on stdout, wrapped on a terminal
    assert r.returncode != 0 and "Traceback" not in said
    assert (f"FAILED: The database (SQLite file {tmp_path / 'theirs.db'}) already holds tables named as "
            "PhysioTrack's (users), but no record of a PhysioTrack schema") in said
    assert _tables(theirs) == {"users"}
    ours = f"sqlite:///{tmp_path / 'ours.db'}"
    r = upgrade(ours)  # a database of its own: migrated to the head the app expects
    assert r.returncode == 0, r.stderr
    assert _sql(ours, "SELECT version_num FROM alembic_version") == [(_head(),)]
