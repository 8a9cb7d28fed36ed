"""Alembic environment for the store.

`store.db.migrate` passes an open connection in `config.attributes["connection"]`, so migrations run
on the same engine settings (SQLite WAL, busy timeout) and inside the caller's lock. Without one
(e.g. `alembic -x url=... upgrade head` by hand) it connects to `database_url()`.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import store.tables  # noqa: F401 - registers the tables on SQLModel.metadata
from store.db import get_engine

target_metadata = SQLModel.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    with get_engine(url).begin() as own_connection:
        _run(own_connection)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; pass a database instead")
run_migrations_online()
