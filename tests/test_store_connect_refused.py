"""A PostgreSQL server that answers but turns PhysioTrack's connection away says why, and what to do.

The test server trusts every local user, so the cases that need passwords, a full server or a
pg_hba.conf without a line for us run on a server of this module's own (PostgreSQL's initdb and
pg_ctl, on a free port), which asks for passwords and allows four connections."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from physio_core.store import StorageUnavailable, dispose_engines, get_or_create_athlete, init_db

PASSWORD = "s3c:r@t/p%w"  # every character a URL must write otherwise but the colon's


@dataclass
class OwnServer:
    """A PostgreSQL server of the test's own: superuser ``owner`` with ``PASSWORD``, passwords
    asked of every connection (scram-sha-256), at most ``MAX_CONNECTIONS`` at once."""

    MAX_CONNECTIONS = 4

    bindir: Path
    data: Path
    port: int
    as_postgres: list[str]  # the prefix that runs a command as the server's user

    def url(self, database: str = "postgres", user: str = "owner", password: str | None = PASSWORD,
            encode: bool = True) -> str:
        secret = "" if password is None else ":" + (quote(password, safe="") if encode else password)
        return f"postgresql+psycopg://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg

        return _once_a_slot_is_free(lambda: psycopg.connect(
            host="127.0.0.1", port=self.port, user="owner", password=PASSWORD, dbname=database,
            autocommit=True, connect_timeout=5))

    def sql(self, statement: str) -> None:
        with self.connect() as conn:
            conn.execute(statement)

    def pg_ctl(self, *args: str, check: bool = True) -> int:
        return subprocess.run([*self.as_postgres, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", *args],
                              check=check, capture_output=True, timeout=60).returncode

    def wait_stopped(self, limit_s: float = 60.0) -> None:
        """Wait for a shutdown under way to end (``pg_ctl stop`` would fail had it ended already)."""
        end = time.monotonic() + limit_s
        while self.pg_ctl("status", check=False) != 3:  # 3: not running
            assert time.monotonic() < end, "the server did not stop"
            time.sleep(0.1)

    def start(self, *settings: str) -> None:
        """Start it (stopped), with ``settings`` ("-c name=value") besides its own."""
        self.pg_ctl("-l", str(self.data.parent / "log"), "-o",
                    f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 "
                    f"-c max_connections={self.MAX_CONNECTIONS} -c superuser_reserved_connections=0 "
                    + " ".join(settings), "start")

    def allow(self, database: str) -> None:
        """What the refusal tells the administrator: a pg_hba.conf line for ``database``, and a reload."""
        with (self.data / "pg_hba.conf").open("a") as f:
            f.write(f"host {database} all 127.0.0.1/32 scram-sha-256\n")
        self.pg_ctl("reload")


def _once_a_slot_is_free(connect, limit_s: float = 10.0):
    """``connect()``, tried again while the server is full: a closed connection's server process
    gives its slot back a moment after the client has closed it."""
    end = time.monotonic() + limit_s
    while True:
        try:
            return connect()
        except Exception as exc:
            if "too many clients" not in str(exc) or time.monotonic() > end:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="module")
def own_server() -> Iterator[OwnServer]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL's initdb is not installed (Debian's postgresql package has it)")
    bindir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="physio-own-pg-"))
    (root / "pw").write_text(PASSWORD + "\n")
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb will not run as root: as the server's own user, in a folder it owns
        import pwd

        pg = pwd.getpwnam("postgres")
        for path in (root, root / "pw"):
            os.chown(path, pg.pw_uid, pg.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "owner", "-A", "scram-sha-256",
                    "--pwfile", str(root / "pw")], check=True, capture_output=True, timeout=120)
    # only the postgres database may be reached from outside at first (OwnServer.allow adds others)
    (data / "pg_hba.conf").write_text("host postgres all 127.0.0.1/32 scram-sha-256\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = OwnServer(bindir, data, port, as_postgres)
    server.start()
    try:
        yield server
    finally:
        server.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _refusal(url: str) -> str:
    with pytest.raises(StorageUnavailable) as info:
        init_db(url)
    msg = str(info.value)
    assert "sqlalche" not in msg.lower() and "connection to server at" not in msg  # the server's reason alone
    return msg


def test_a_wrong_password_says_to_check_it_and_how_to_write_one(own_server):
    """Before: "cannot be reached ... Check that it is running": it is running, and said why not."""
    port = own_server.port
    msg = _refusal(own_server.url(password="not-it"))
    assert msg.startswith(f"The database (PostgreSQL at 127.0.0.1:{port}/postgres) refused the connection: "
                          'password authentication failed for user "owner". Check the user name and password in '
                          "DATABASE_URL (written there, an @ in the password is %40 and a % is %25)")
    assert "not-it" not in msg and "cannot be reached" not in msg and "running" not in msg
    assert 'no password supplied. Check the user name and password' in _refusal(own_server.url(password=None))
    # written as the message says, the password opens the database
    url = own_server.url()
    assert "%40" in url and "%25" in url
    try:
        assert get_or_create_athlete(init_db(url), "Ana").display_name == "Ana"
    finally:
        dispose_engines(url)


def test_a_password_with_an_at_written_as_is_is_refused_before_connecting(own_server):
    """"postgresql://owner:s3c:r@t/p%w@HOST/..." reads as the password "s3c:r" at the host "t":
    the message said "PostgreSQL at t/p%w@127.0.0.1..." (a piece of the password, to whoever
    reads the page) after asking the name server for "t"."""
    raw = own_server.url(encode=False)
    assert "r@t/p%w@" in raw
    msg = _refusal(raw)
    assert msg.startswith("The database address given cannot be used: its password (or user name) holds an @ "
                          "as it is, where it must be written %40 (and a % as %25).")
    for piece in ("s3c", "r@t", "p%w", "t/"):
        assert piece not in msg
    from physio_core.store.db import describe_url

    assert describe_url(raw) == "PostgreSQL"  # never a piece of the password as the place


def test_a_full_server_says_to_try_again_in_a_moment(own_server):
    held = [own_server.connect() for _ in range(OwnServer.MAX_CONNECTIONS)]  # other programs take every slot
    try:
        msg = _refusal(own_server.url())
        assert ("refused the connection: sorry, too many clients already. "
                "All the connections it allows are in use") in msg
        assert "try again in a moment" in msg and "raise its max_connections" in msg
        held.pop().close()
        url = own_server.url()
        engine = _once_a_slot_is_free(lambda: init_db(url))
        assert get_or_create_athlete(engine, "Ana").display_name == "Ana"  # a slot free again
    finally:
        dispose_engines(own_server.url())
        for conn in held:
            conn.close()


def test_a_server_that_does_not_let_this_machine_in_says_whom_to_ask(own_server):
    own_server.sql("CREATE DATABASE clinic")
    url = own_server.url("clinic")
    msg = _refusal(url)
    assert 'refused the connection: no pg_hba.conf entry for host "127.0.0.1", user "owner", database "clinic"' in msg
    assert "add a line for them to the server's pg_hba.conf and reload it" in msg
    own_server.allow("clinic")  # as the message says
    try:
        assert get_or_create_athlete(init_db(url), "Ana").display_name == "Ana"
    finally:
        dispose_engines(url)


def test_a_server_shutting_down_says_to_try_again_in_a_moment(own_server):
    """A smart shutdown waits for the connections open to end and turns new ones away meanwhile."""
    held = own_server.connect()
    try:
        own_server.pg_ctl("-m", "smart", "-W", "stop")  # -W: without waiting for it to end
        msg = _refusal(own_server.url())
        assert msg.endswith("cannot be reached: the database system is shutting down. The server is starting or "
                            "stopping: try again in a moment.")
    finally:
        held.close()  # the shutdown ends; a restart, and the moment has passed
    own_server.wait_stopped()
    own_server.start()
    url = own_server.url()
    try:
        assert get_or_create_athlete(init_db(url), "Ana").display_name == "Ana"
    finally:
        dispose_engines(url)


def test_a_standby_that_takes_no_connections_says_to_use_the_primary(own_server):
    """A standby server with hot_standby off: before, "cannot be reached ... Check that it is
    running", of a server that answered."""
    own_server.pg_ctl("stop")
    signal = own_server.data / "standby.signal"
    signal.touch()
    if own_server.as_postgres:
        shutil.chown(signal, "postgres", "postgres")
    own_server.start("-c hot_standby=off")
    url = own_server.url()
    try:
        msg = _refusal(url)
        assert msg.endswith("refused the connection: the database system is not accepting connections. It is a "
                            "standby server (a copy kept up to date from another) that takes no connections: set "
                            "DATABASE_URL to the primary server, then try again.")
        own_server.pg_ctl("promote")  # this standby made the primary: the URL now names one
        assert get_or_create_athlete(init_db(url), "Ana").display_name == "Ana"
    finally:
        dispose_engines(url)
        own_server.pg_ctl("stop")
        signal.unlink(missing_ok=True)
        own_server.start()


# on the test server (trust: no password asked)


@pytest.fixture
def new_role(pg_server) -> Iterator[tuple[str, str]]:
    """(a role name not on the test server, the URL of a database of that name as that role); both
    are dropped afterwards, whichever the test created."""
    from sqlalchemy.engine import make_url

    from conftest import _pg_admin

    name = f"physio_{uuid.uuid4().hex[:8]}"
    url = make_url(pg_server).set(username=name, password=None, database=name).render_as_string(hide_password=False)
    yield name, url
    dispose_engines(url)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f"DROP ROLE IF EXISTS {name}")


def test_a_user_the_server_does_not_know_is_named_with_how_to_create_it(new_role):
    from conftest import _pg_admin

    name, url = new_role
    msg = _refusal(url)
    assert msg.endswith(f'refused the connection: role "{name}" does not exist. Create the user (createuser {name}, '
                        "as a user who may) or set DATABASE_URL to a user that exists, then try again.")
    _pg_admin(f"CREATE ROLE {name} LOGIN")  # createuser, and a database of its own
    _pg_admin(f'CREATE DATABASE "{name}" OWNER {name}')
    assert get_or_create_athlete(init_db(url), "Ana").display_name == "Ana"


def test_a_user_who_may_not_log_in_is_told_how_to_allow_it(new_role):
    from conftest import _pg_admin

    name, url = new_role
    _pg_admin(f"CREATE ROLE {name} NOLOGIN")
    _pg_admin(f'CREATE DATABASE "{name}" OWNER {name}')
    msg = _refusal(url)
    assert f'role "{name}" is not permitted to log in. The server\'s administrator can allow it (ALTER ROLE {name} ' \
           "LOGIN)" in msg
    _pg_admin(f"ALTER ROLE {name} LOGIN")
    assert get_or_create_athlete(init_db(url), "Ana").display_name == "Ana"


def test_a_host_name_not_known_here_says_to_check_it():
    msg = _refusal("postgresql+psycopg://clinic@no-such-host.invalid:5432/physio")
    assert msg.startswith("The database (PostgreSQL at no-such-host.invalid:5432/physio) cannot be reached: ")
    assert msg.endswith("Check the host name in DATABASE_URL (and this machine's network), then try again.")


def test_a_database_closed_to_new_connections_says_how_it_opens_again(pg_databases):
    """ALTER DATABASE ... ALLOW_CONNECTIONS false, as before a restore: "Check that it is running"
    said of a server that answered."""
    from conftest import _pg_admin

    name, url = pg_databases.reserve()
    pg_databases.create(name)
    _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    msg = _refusal(url)
    assert msg.endswith(f'refused the connection: database "{name}" is not currently accepting connections. '
                        f"It has been closed to new connections (its owner opens it again with ALTER DATABASE {name} "
                        "ALLOW_CONNECTIONS true): try again once it is open.")
    _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert get_or_create_athlete(init_db(url), "Ana").display_name == "Ana"
