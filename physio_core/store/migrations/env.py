"""Alembic environment: runs on the connection init_db() hands over, or on its own engine (CLI)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from physio_core.store import models  # noqa: F401  (registers the tables on the metadata)
from sqlmodel import SQLModel

config = context.config
target_metadata = SQLModel.metadata


def _configure_and_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # called from physio_core.store.db: keep the app's logging as is
        _configure_and_run(connection)
        return

    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    from alembic.util import CommandError

    from physio_core.store.db import (StorageUnavailable, describe_url, make_engine, migration_connection,
                                      refuse_foreign_schema, translate_errors)

    url = context.get_x_argument(as_dictionary=True).get("url")  # -x url=... ; else settings
    engine = make_engine(url)
    # alembic's command line: (function, its arguments); the upgrade is the one README tells to run
    command = getattr(config.cmd_opts, "cmd", None)
    try:
        with translate_errors(engine.url), migration_connection(engine) as conn:
            if command and command[0].__name__ == "upgrade":  # as the app's own upgrade does
                refuse_foreign_schema(conn, config, describe_url(engine.url))
            _configure_and_run(conn)
    except StorageUnavailable as exc:  # what is wrong and what to do, as alembic's own errors are told
        raise CommandError(str(exc)) from None
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported; run against a database")
run()
