"""Engines, sessions and schema migration.

Several processes write the same SQLite file at once (the CLI, a worker's heartbeat thread, its
progress callback), so SQLite connections use WAL (readers never block the writer), a busy timeout
(writers wait for each other instead of failing with "database is locked"), and `BEGIN IMMEDIATE`
(see `_begin_immediate`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from store.locks import file_lock
from store.settings import database_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Any constant works; it only has to be the same in every process that migrates this database.
_PG_MIGRATION_LOCK_KEY = 0x5354_5544_494F  # "STUDIO"

_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_registry_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process (default: `database_url()`, read now)."""
    url = url or database_url()
    with _registry_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create_engine(url)
            _engines[url] = engine
        return engine


def dispose_engine(url: str | None = None) -> None:
    """Close and forget the engine for `url` (tests, or a CLI switching databases)."""
    url = url or database_url()
    with _registry_lock:
        engine = _engines.pop(url, None)
        _migrated.discard(url)
    if engine is not None:
        engine.dispose()


def _create_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        # pre_ping: a long-lived worker must survive a PostgreSQL restart between two runs.
        return sa.create_engine(url, pool_pre_ping=True)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False})
    sa.event.listen(engine, "connect", _configure_sqlite_connection)
    sa.event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy: pysqlite's own implicit BEGIN would otherwise start
    # transactions late and DEFERRED (see _begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    # NORMAL is durable across application crashes in WAL mode and skips an fsync per commit.
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _begin_immediate(connection: sa.Connection) -> None:
    # A DEFERRED transaction that reads and then writes must upgrade its lock; if another process
    # wrote in between, SQLite fails at once with SQLITE_BUSY and ignores busy_timeout. Taking the
    # write lock up front makes writers queue politely; WAL readers are not blocked by it.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _dispose_engines_after_fork() -> None:
    # A forked child (Celery prefork, multiprocessing) must not reuse the parent's pooled
    # connections; close=False leaves the parent's connections alone.
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_dispose_engines_after_fork)


def alembic_config() -> Config:
    """An Alembic config built in code: works from a checkout and from an installed wheel."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(url: str | None = None) -> None:
    """Upgrade the database to the newest schema (`alembic upgrade head`); safe to race."""
    url = url or database_url()
    engine = get_engine(url)
    with _migration_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Transaction-scoped, so it is released by the commit even if this process dies.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY})
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    # Two processes creating a fresh SQLite file at once would both run CREATE TABLE; serialize
    # them with a lock file beside the database. PostgreSQL uses an advisory lock instead.
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with file_lock(Path(database).expanduser().with_suffix(".migrate.lock")):
            yield
    else:
        yield


def ensure_schema(url: str | None = None) -> None:
    """Migrate once per process per URL, so nobody ever has to run migrations by hand."""
    url = url or database_url()
    if url in _migrated:
        return
    migrate(url)
    _migrated.add(url)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error.

    `expire_on_commit=False`: objects returned from the store stay readable after the session
    closes, with no lazy load hitting a closed session.
    """
    url = url or database_url()
    ensure_schema(url)
    with Session(get_engine(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
