"""Engines, Alembic migrations, retries, and the one error type callers see when the database is away.

``init_db()`` is the only way the schema comes to exist: it runs ``alembic upgrade head`` on the
database named by ``DATABASE_URL`` (or the SQLite file under ``settings.data_dir``) and returns a
cached engine for that URL. Repository functions take that engine as their first argument.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from physio_core.config import get_settings

log = logging.getLogger(__name__)

STORE_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = STORE_DIR / "alembic.ini"
MIGRATIONS_DIR = STORE_DIR / "migrations"

# errors that mean "the server/file cannot be used right now" rather than "your data is wrong"
_CONNECTION_ERRORS = (exc.OperationalError, exc.InterfaceError)

T = TypeVar("T")


class StorageUnavailable(RuntimeError):
    """The database cannot be reached or opened; ``str(err)`` is fit to show a user."""

    def __init__(self, message: str, where: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.where = where
        self.reason = reason


class SchemaMismatch(StorageUnavailable):
    """The database holds a schema this version cannot use: one a newer version of PhysioTrack
    migrated, or tables of another program under PhysioTrack's names. Nothing in it was changed,
    and trying again will not help: another version, or another database, will."""


def describe_url(url: str | sa.URL) -> str:
    """A short, password-free description of where the data lives."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return f"SQLite file {u.database}" if u.database not in (None, "", ":memory:") else "SQLite in memory"
    backend = {"postgresql": "PostgreSQL", "mysql": "MySQL"}.get(u.get_backend_name(), u.get_backend_name())
    if _misread_at(u):  # its "host" and "database" hold pieces of the password
        return backend
    port = f":{u.port}" if u.port else ""
    schema = pg_schema(u) if backend == "PostgreSQL" else "public"
    in_schema = f", schema {schema}" if schema != "public" else ""
    return f"{backend} at {u.host or 'localhost'}{port}/{u.database or ''}{in_schema}"


def _misread_at(u: sa.URL) -> bool:
    """Whether a server address was cut at an @ of its password (or user name) written as is:
    "postgresql://clinic:p@ss@db/physio" reads as the password "p" on the host "ss@db"."""
    return u.get_backend_name() != "sqlite" and "@" in f"{u.host or ''}{u.database or ''}"


_LIBPQ_PREFIX = re.compile(r'^connection failed: connection to server at "[^"]*", port \d+ failed: (FATAL:\s+)?')


def _reason(err: BaseException) -> str:
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip().splitlines()
    line = text[0] if text else type(orig).__name__
    # libpq: 'connection failed: connection to server at "HOST", port N failed: [FATAL:  ]WHY': WHY alone
    return _LIBPQ_PREFIX.sub("", line)


def _pg_advice(u: sa.URL, reason: str) -> tuple[str, str]:
    """(what the PostgreSQL server did, what to do) for ``unavailable``, from libpq's reason."""
    user = u.username or "USER"
    turned_away = "refused the connection"
    if f'database "{u.database}" does not exist' in reason:
        return turned_away, (f"Create it (createdb {u.database}, as a user who may) or set DATABASE_URL to a "
                             "database that exists, then try again.")
    if "password authentication failed" in reason or "no password supplied" in reason:
        return turned_away, ("Check the user name and password in DATABASE_URL (written there, an @ in the "
                             "password is %40 and a % is %25), then try again.")
    if m := re.search(r'role "(.+)" does not exist', reason):  # no user in the URL: the system's user name
        return turned_away, (f"Create the user (createuser {m[1]}, as a user who may) or set DATABASE_URL to a "
                             "user that exists, then try again.")
    if "is not permitted to log in" in reason:
        return turned_away, (f"The server's administrator can allow it (ALTER ROLE {user} LOGIN), or set "
                             "DATABASE_URL to another user, then try again.")
    if "too many clients" in reason or "too many connections" in reason or "slots are reserved" in reason:
        return turned_away, ("All the connections it allows are in use (by other programs, or other PhysioTrack "
                             "servers): try again in a moment. If it keeps happening, its administrator can "
                             f"raise its max_connections (or the CONNECTION LIMIT of {user} or of the database).")
    if "no pg_hba.conf entry" in reason:
        return turned_away, ("The server does not let this machine in as this user to this database: its "
                             "administrator can add a line for them to the server's pg_hba.conf and reload it, "
                             "then try again.")
    if "is not currently accepting connections" in reason:
        return turned_away, (f"It has been closed to new connections (its owner opens it again with ALTER DATABASE "
                             f"{u.database} ALLOW_CONNECTIONS true): try again once it is open.")
    # PostgreSQL's words for each state in which the server turns every connection away
    if "database system is not accepting connections" in reason:  # a standby with hot_standby off ("not yet": starting)
        return turned_away, ("It is a standby server (a copy kept up to date from another) that takes no "
                             "connections: set DATABASE_URL to the primary server, then try again.")
    if any(f"database system is {state}" in reason
           for state in ("starting up", "shutting down", "in recovery", "not yet accepting connections")):
        return "cannot be reached", "The server is starting or stopping: try again in a moment."
    if "resolve host" in reason or "translate host name" in reason:
        return "cannot be reached", "Check the host name in DATABASE_URL (and this machine's network), then try again."
    return "cannot be reached", "Check that it is running and that DATABASE_URL is right, then try again."


def unavailable(url: str | sa.URL, err: BaseException) -> StorageUnavailable:
    where, reason = describe_url(url), _reason(err)
    u = make_url(url)
    what = "cannot be reached"
    if u.get_backend_name() != "sqlite":
        what, advice = _pg_advice(u, reason)
    elif getattr(getattr(err, "orig", None), "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        advice = "Free some space on its disk (or set DATABASE_URL to a file on another disk), then try again."
    elif "locked" in reason:  # after waiting _SQLITE_BUSY_S for another process's write
        advice = "Another program has been writing to the file for a while: try again in a moment."
    else:
        advice = ("Check that its folder exists and that this user may write there (or set "
                  "DATABASE_URL), then try again.")
    return StorageUnavailable(f"The database ({where}) {what}: {reason}. {advice}", where=where, reason=reason)


def busy(url: str | sa.URL) -> StorageUnavailable:
    """Every connection this process keeps to the database (its engine's pool) stayed in use
    while a page or a save waited for one: SQLAlchemy's "QueuePool limit ... reached"."""
    where = describe_url(url)
    return StorageUnavailable(
        f"The database ({where}) is busy: every connection PhysioTrack keeps to it stayed in use while this "
        "waited for one. Try again in a moment.", where=where, reason="every pooled connection in use")


# PostgreSQL's "insufficient privilege" (the user may not create tables in the schema, or use a table)
_PG_NO_PRIVILEGE = "42501"
_PG_READ_ONLY = "25006"  # a write on a replica, or in a database set to default_transaction_read_only
_PG_NO_SCHEMA = "3F000"  # "no schema has been selected to create in": none in the search_path is there and usable
_SQLITE_DAMAGED = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


def pg_schema(url: str | sa.URL) -> str:
    """The PostgreSQL schema PhysioTrack's tables go in: the first one of the search_path the URL
    sets (``?options=-csearch_path%3Dphysio``, to share a database with another program), else
    ``public``."""
    options = make_url(url).query.get("options", "")
    for opts in [options] if isinstance(options, str) else options:
        if m := re.search(r"-c\s*search_path\s*=\s*([^\s,]+)", opts):
            return m[1].strip('"')
    return "public"


def own_schema_step(url: str | sa.URL, schema: str = "physiotrack") -> str:
    """What to write in DATABASE_URL to keep PhysioTrack's tables in ``schema``. The URL may end in
    a query already (``?sslmode=require``, as hosted servers write it): a second "?" would go into
    its last value. Or it may set options of its own: PostgreSQL refuses a second "options"
    ("invalid command-line argument"), and applies each of the settings one holds, parted by %20."""
    query = make_url(url).query
    if "options" in query:
        return f"add %20-csearch_path%3D{schema} to the options of DATABASE_URL, in place of any search_path there"
    return f"add {'&' if query else '?'}options=-csearch_path%3D{schema} at the end of DATABASE_URL"


def refused(url: str | sa.URL, err: exc.DBAPIError) -> StorageUnavailable | None:
    """The database answered but will not serve PhysioTrack, as a StorageUnavailable that says
    what to do (None for any other error): a PostgreSQL user without the right to create or use
    its tables (since PostgreSQL 15 a new database's users may not create tables in ``public``
    until its owner grants it), a PostgreSQL schema (``pg_schema``) that is not there or that the
    user may not use, a PostgreSQL database that only reads (a standby), or a SQLite file that is
    not a database or is damaged. The database is left as it is; a session kept for later
    (``PendingWrites``) is saved once it is put right."""
    u, orig = make_url(url), getattr(err, "orig", None)
    where, reason = describe_url(u), _reason(err)
    schema, user = pg_schema(u), u.username or "USER"
    if getattr(orig, "sqlstate", None) == _PG_NO_PRIVILEGE:
        grant = (f"GRANT CREATE ON SCHEMA {schema} TO {user}" if "schema" in reason else
                 f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {user}; "
                 f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {user}")
        owner = "the database's owner" if schema == "public" else f"the owner of the schema {schema}"
        return StorageUnavailable(
            f"The database ({where}) refused the user {user}: {reason}. Nothing was changed. Its owner can "
            f"grant what PhysioTrack needs ({grant}; or make {user} {owner}), or set DATABASE_URL "
            "to a user who has it.", where=where, reason=reason)
    if getattr(orig, "sqlstate", None) == _PG_NO_SCHEMA:
        # the search_path passes over a schema the user may not use (USAGE) as over one that is not there
        return StorageUnavailable(
            f"The database ({where}) has no schema {schema} that {user} may use for PhysioTrack's tables: {reason}. "
            f"Nothing was changed. Create it (CREATE SCHEMA {schema} AUTHORIZATION {user}, as a user who may) or, "
            f"if it exists, have its owner grant its use (GRANT USAGE, CREATE ON SCHEMA {schema} TO {user}); or set "
            "the search_path in DATABASE_URL to another schema. Then try again.", where=where, reason=reason)
    if getattr(orig, "sqlstate", None) == _PG_READ_ONLY:
        return StorageUnavailable(
            f"The database ({where}) only reads: {reason}. Nothing was changed. DATABASE_URL may name a "
            "read-only copy (a standby server): set it to the primary server, or have the database made "
            "writable again, then try again.", where=where, reason=reason)
    if getattr(orig, "sqlite_errorcode", None) in _SQLITE_DAMAGED:
        return StorageUnavailable(
            f"The database ({where}) cannot be read: {reason}. It is not a SQLite database, or it is damaged; "
            "PhysioTrack left it as it is. Restore it from a backup, or set DATABASE_URL (or PHYSIO_DATA_DIR) "
            "to another file.", where=where, reason=reason)
    return None


def _storage_error(url: str | sa.URL, err: BaseException) -> tuple[StorageUnavailable | None, bool]:
    """What ``err`` from the database means for the user, and whether trying again at once may
    help: a connection lost or not made (yes; not after waiting out the connect timeout), a pool
    that stayed busy (no: it waited already), a database that refuses to serve (``refused``: no).
    (None, False) for every other error."""
    if isinstance(err, exc.TimeoutError):
        return busy(url), False
    if isinstance(err, _CONNECTION_ERRORS) or (isinstance(err, exc.DBAPIError) and err.connection_invalidated):
        return unavailable(url, err), not _timed_out(err)
    if isinstance(err, exc.DBAPIError):
        return refused(url, err), False
    return None, False


def _timed_out(err: BaseException) -> bool:
    """A connection not made within the connect timeout (a server that does not answer): trying
    again at once would wait as long again, where a refused or dropped connection is told at once."""
    try:
        from psycopg.errors import ConnectionTimeout
    except ImportError:  # no PostgreSQL driver: no PostgreSQL connection either
        return False
    return isinstance(getattr(err, "orig", None), ConnectionTimeout)


@contextmanager
def translate_errors(url: str | sa.URL) -> Iterator[None]:
    """Turn connection-level failures, a busy pool and a database that refuses to serve into
    StorageUnavailable (``_storage_error``); let everything else through."""
    try:
        yield
    except (exc.TimeoutError, exc.DBAPIError) as err:
        why, _ = _storage_error(url, err)
        if why is None:
            raise
        raise why from err


def _dumps(obj: object) -> str:
    # compact, and refuse NaN/inf: Postgres rejects them and they are not JSON
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


_SQLITE_BUSY_S = 15.0  # how long a connection waits for another process's write lock


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")  # off by default in SQLite; cascades depend on it
    # WAL: readers (history pages) do not block the live writer. A new file is switched to WAL
    # once, which needs the file to itself, and SQLite does not wait for that as it waits for
    # a write lock: a second process opening the new file at the same moment is told "database
    # is locked". It tries again shortly and then finds the file already in WAL.
    deadline = time.monotonic() + _SQLITE_BUSY_S
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    cur.close()


def resolve_url(url: str | None = None) -> str:
    """``url``, else the settings' address. ``postgres://``, as hosting providers write it, is
    read as ``postgresql://`` (SQLAlchemy no longer accepts the short name)."""
    url = url or get_settings().resolved_database_url
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    return url


def bad_url(what: str, source: str = "DATABASE_URL") -> StorageUnavailable:
    """The address (from ``source``) names nothing we can open; ``what`` says why, without the
    address (it may hold a password)."""
    return StorageUnavailable(
        f"{source} cannot be used: {what}. Write it as "
        "postgresql://USER:PASSWORD@HOST:5432/DATABASE or sqlite:///PATH/TO/FILE.db.",
        where=source, reason=what,
    )


def _source(url: str | None) -> str:
    """Where the address comes from, for messages: the settings, or the caller (admin --database-url)."""
    return "DATABASE_URL" if url is None else "The database address given"


def make_engine(url: str | None = None, *, source: str | None = None, **pool: Any) -> Engine:
    """An engine for ``url`` (default: settings); connects lazily, so it fails here only on an
    address that names no database we can open (StorageUnavailable, naming ``source``).
    ``pool``: ``create_engine``'s pool options (pool_size, max_overflow, pool_timeout) over
    SQLAlchemy's defaults."""
    source = source or _source(url)
    url = resolve_url(url)
    try:
        u = make_url(url)
        u.port  # read lazily: a port that is not a number fails only here
    except (sa.exc.ArgumentError, ValueError) as err:
        raise bad_url("it is not a database address (check its host, port and slashes)", source) from err
    if u.get_backend_name() not in ("sqlite", "postgresql"):
        raise bad_url(f"'{u.get_backend_name()}' is neither PostgreSQL nor SQLite", source)
    if _misread_at(u):  # refused before connecting: a lookup of the "host" would send a piece of the password
        raise bad_url("its password (or user name) holds an @ as it is, where it must be written %40 "
                      "(and a % as %25)", source)
    kwargs: dict = {"json_serializer": _dumps, "pool_pre_ping": True}
    if u.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": _SQLITE_BUSY_S}
        if u.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool  # one shared connection, else every checkout is a new empty DB
    elif u.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = sa.create_engine(url, **kwargs | pool)
    except (sa.exc.ArgumentError, ImportError) as err:
        raise bad_url(f"its driver '{u.get_driver_name()}' is not installed here", source) from err
    if u.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config() -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _run_alembic(engine: Engine, fn: Callable[[Config], None]) -> None:
    u = engine.url
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        try:
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise unavailable(u, err) from err
    cfg = _alembic_config()
    with translate_errors(u), migration_connection(engine) as conn:
        cfg.attributes["connection"] = conn  # env.py runs on this connection, not a new engine
        fn(cfg)


# the PostgreSQL advisory lock that migrations hold ("PhysioTrack migrations"; any fixed number)
_MIGRATION_LOCK_KEY = 0x5054_4D49_4752


@contextmanager
def migration_connection(engine: Engine) -> Iterator[sa.Connection]:
    """A connection inside one transaction, committed at the end, for running migrations.

    The transaction first takes the database's write lock (SQLite) or a lock of its own
    (PostgreSQL), so that processes starting together (the app and a command-line run, two app
    instances) migrate one after the other: the later one finds the database at head.

    On SQLite two things change for its duration, as SQLite's own guide to rebuilding a table
    says: foreign keys are off, since dropping the old copy of a rebuilt table would otherwise
    delete its children (ON DELETE CASCADE), and are checked before the commit instead; and the
    driver's implicit transactions are replaced by one explicit BEGIN, so that DDL rolls back
    with the rest when a migration fails. Both are restored before the connection goes back
    to the pool.
    """
    if engine.url.get_backend_name() != "sqlite":
        with engine.begin() as conn:
            # held until the commit; the version table is read after it, so a waiting process
            # sees what the one before it migrated
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
            yield conn
        return
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        isolation = raw.isolation_level
        try:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
            conn.commit()
            raw.isolation_level = None  # no implicit BEGIN: the one below covers everything
            with conn.begin():
                # IMMEDIATE: the write lock now, waiting (the busy timeout) for another migrating
                # process, rather than reading first and failing on a stale snapshot when writing
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration left rows whose parent is gone: {broken[:5]}")
        finally:
            try:
                raw.isolation_level = isolation
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
            except Exception:
                conn.invalidate()  # never hand the pool a connection without its cascades
                raise


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision``; SchemaMismatch, before any change, when the database's schema is
    not one of ours (``refuse_foreign_schema``)."""

    def run(cfg: Config) -> None:
        refuse_foreign_schema(cfg.attributes["connection"], cfg, describe_url(engine.url))
        command.upgrade(cfg, revision)

    _run_alembic(engine, run)


def refuse_foreign_schema(conn: sa.Connection, cfg: Config, where: str) -> None:
    """SchemaMismatch when migrating would fail half-way, or write into another program's tables:
    the database is at a revision these migrations do not know (a newer PhysioTrack migrated it,
    and this older one was started on it; or, with few or none of PhysioTrack's tables, another
    program's Alembic keeps its revision there), or it has no PhysioTrack revision but already
    holds tables under PhysioTrack's names. Alembic would say "Can't locate revision" or "table
    users already exists", which the pages used to show as a database that cannot be reached."""
    from physio_core.store.models import SQLModel  # the metadata with PhysioTrack's tables on it

    def taken() -> list[str]:  # read only when the revision is not one of ours: not at every start
        return sorted(set(SQLModel.metadata.tables) & set(sa.inspect(conn).get_table_names()))

    def own() -> str:  # PostgreSQL: the other program may keep its tables, PhysioTrack a schema beside them
        if conn.dialect.name != "postgresql":
            return "Set DATABASE_URL to a database of PhysioTrack's own"
        return ("Give PhysioTrack a database of its own, or a schema of its own in this one (CREATE SCHEMA "
                f"physiotrack, then {own_schema_step(conn.engine.url)})")

    script = ScriptDirectory.from_config(cfg)
    current = MigrationContext.configure(conn).get_current_heads()
    known = {s.revision for s in script.walk_revisions()}
    if unknown := [r for r in current if r not in known]:
        theirs = taken()
        # a newer PhysioTrack keeps (nearly) all of these tables; another program's "users" is no sign of one
        if len(theirs) * 2 <= len(SQLModel.metadata.tables):
            beside = (f"tables named as PhysioTrack's ({', '.join(theirs)})" if theirs
                      else "none of PhysioTrack's tables")
            raise SchemaMismatch(
                f"The database ({where}) holds another program's schema record (Alembic revision "
                f"{', '.join(unknown)}) and {beside}. Nothing in it was changed. {own()}.",
                where=where, reason=f"another program's schema revision {', '.join(unknown)}")
        raise SchemaMismatch(
            f"The database ({where}) was set up by a newer version of PhysioTrack: its schema is at "
            f"revision {', '.join(unknown)}, and this version knows revisions up to {script.get_current_head()}. "
            "Nothing in it was changed. Run the newer version on it, or set DATABASE_URL to another database.",
            where=where, reason=f"unknown schema revision {', '.join(unknown)}")
    if not current and (theirs := taken()):
        raise SchemaMismatch(
            f"The database ({where}) already holds tables named as PhysioTrack's ({', '.join(theirs)}), "
            "but no record of a PhysioTrack schema: another program's data, most likely. Nothing in it "
            f"was changed. {own()}.",
            where=where, reason=f"tables of another program: {', '.join(theirs)}")


def downgrade(engine: Engine, revision: str = "base") -> None:
    _run_alembic(engine, lambda cfg: command.downgrade(cfg, revision))


def current_revision(engine: Engine) -> str | None:
    with translate_errors(engine.url), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def init_db(url: str | None = None) -> Engine:
    """Migrate the database at ``url`` (default: settings) to head and return its engine.

    Cached per URL, so pages may call it on every rerun. Raises StorageUnavailable when the
    database cannot be reached (nothing is cached then, so a later call tries again).
    """
    source = _source(url)
    url = resolve_url(url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        engine = make_engine(url, source=source)
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        _engines[url] = engine
        log.info("database ready: %s", describe_url(url))
        return engine


def dispose_engines(url: str | None = None) -> None:
    """Close pooled connections of cached engines (all, or the one for ``url``)."""
    with _engines_lock:
        for key in [url] if url else list(_engines):
            engine = _engines.pop(key, None) if key else None
            if engine is not None:
                engine.dispose()


def run_read(engine: Engine, fn: Callable[[Session], T]) -> T:
    """Run ``fn`` in a read session; connection failures become StorageUnavailable."""
    with translate_errors(engine.url), Session(engine) as session:
        return fn(session)


def run_write(
    engine: Engine, fn: Callable[[Session], T], *, attempts: int = 3, backoff_s: float = 0.2
) -> T:
    """Run ``fn`` in one transaction and commit; retry briefly on connection failures.

    ``fn`` is re-run from scratch on each attempt (its transaction was rolled back), so it must
    only touch the session. Other errors (integrity, programming) are not retried.
    """
    for attempt in range(attempts):
        try:
            with Session(engine, expire_on_commit=False) as session:
                out = fn(session)
                session.commit()
                return out
        except (exc.TimeoutError, exc.DBAPIError) as err:
            why, again = _storage_error(engine.url, err)
            if why is None:
                raise
            if not again or attempt + 1 == attempts:
                raise why from err
            log.warning("database write failed (%s), retrying", _reason(err))
            time.sleep(backoff_s * (2**attempt))
    raise ValueError(f"attempts must be at least 1, not {attempts}")  # each attempt returns or raises
