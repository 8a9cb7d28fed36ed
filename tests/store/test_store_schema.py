"""The Alembic migrations create exactly the schema the SQLModel tables describe."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import store.tables  # noqa: F401 - registers the tables
from store import runs
from store.db import alembic_config, ensure_schema, get_engine, migrate

REPO_ROOT = Path(__file__).resolve().parents[2]


def _schema_diffs(url: str, metadata: sa.MetaData) -> list:
    with get_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    migrate(database_url)
    assert _schema_diffs(database_url, SQLModel.metadata) == []


def test_the_schema_comparison_notices_a_difference(database_url: str) -> None:
    # Guards the test above: a model change without a migration must show up as a diff.
    migrate(database_url)
    changed = sa.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["runs"].append_column(sa.Column("gpu_count", sa.Integer()))
    diffs = _schema_diffs(database_url, changed)
    assert [diff[0] for diff in diffs] == ["add_column"]


def test_migrate_twice_is_harmless(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)
    with get_engine(database_url).connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_store_functions_create_the_schema_on_first_use(database_url: str) -> None:
    run = runs.create_run("name: x\n", "x", "0" * 64)
    assert runs.get_run(run.id).recipe_yaml == "name: x\n"


def test_sqlite_uses_wal_and_a_busy_timeout(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    ensure_schema(database_url)
    with get_engine(database_url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 5000


def test_naive_datetimes_are_refused(database_url: str) -> None:
    run = runs.create_run("name: x\n", "x", "0" * 64)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), get_engine().begin() as connection:
        connection.execute(sa.update(store.tables.Run).values(heartbeat_at=datetime(2026, 1, 1)))
    assert runs.get_run(run.id).heartbeat_at is None


def test_migrations_work_from_any_working_directory(tmp_path: Path) -> None:
    # No alembic.ini at the repo root: the config is built in code from the package's own folder,
    # which is what makes an installed wheel work.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "STUDIO_DATA_DIR": str(tmp_path / "d")}
    script = "from store import runs; print(runs.create_run('a: 1', 'a', 'h').status)"
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "queued"
