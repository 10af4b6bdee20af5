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
    from physio_core.store.db import make_engine, migration_connection

    url = context.get_x_argument(as_dictionary=True).get("url")  # -x url=... ; else settings
    engine = make_engine(url)
    try:
        with migration_connection(engine) as conn:
            _configure_and_run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported; run against a database")
run()
