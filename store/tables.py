"""The store's tables. The Alembic migrations in `store/migrations` must create exactly this schema
(a test compares them on SQLite and PostgreSQL).

Run status is a plain VARCHAR holding `RunStatus` values, not a native PostgreSQL ENUM: adding a
status later is then a code change, not an `ALTER TYPE` migration.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from store.column_types import UtcDateTime, utcnow

RUN_ID_LENGTH = 32


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED_STATUSES


FINISHED_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})

_STATUS_TYPE = sa.Enum(
    RunStatus,
    name="run_status",
    native_enum=False,
    create_constraint=False,
    length=16,
    values_callable=lambda statuses: [status.value for status in statuses],
)


def _timestamp(nullable: bool) -> Any:
    if nullable:
        return Field(default=None, sa_type=UtcDateTime(), nullable=True)
    return Field(default_factory=utcnow, sa_type=UtcDateTime(), nullable=False)


def _run_foreign_key() -> Any:
    # Deleting a run deletes its events and artifact records with it.
    return Field(sa_type=sa.String(RUN_ID_LENGTH), foreign_key="runs.id", ondelete="CASCADE", index=True)


class RecipeRow(SQLModel, table=True):
    """A saved, editable recipe. Runs never point at its text: they freeze their own snapshot."""

    __tablename__ = "recipes"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.String(200), unique=True, index=True)
    schema_version: int = 1
    yaml: str = Field(sa_type=sa.Text)
    created_at: datetime = _timestamp(nullable=False)
    updated_at: datetime = _timestamp(nullable=False)


class Run(SQLModel, table=True):
    """One training run. Its status only ever changes through `store.runs`."""

    __tablename__ = "runs"

    id: str = Field(sa_type=sa.String(RUN_ID_LENGTH), primary_key=True)
    recipe_id: int | None = Field(default=None, foreign_key="recipes.id", ondelete="SET NULL")
    recipe_name: str = Field(sa_type=sa.String(200))
    recipe_yaml: str = Field(sa_type=sa.Text)  # the frozen snapshot the worker trains on
    recipe_hash: str = Field(sa_type=sa.String(64))
    schema_version: int = 1
    status: RunStatus = Field(default=RunStatus.QUEUED, sa_type=_STATUS_TYPE, index=True)
    status_reason: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _timestamp(nullable=False)
    started_at: datetime | None = _timestamp(nullable=True)
    finished_at: datetime | None = _timestamp(nullable=True)
    heartbeat_at: datetime | None = _timestamp(nullable=True)
    worker: str | None = Field(default=None, sa_type=sa.String(255))
    cancel_requested: bool = False
    progress_step: int | None = None
    progress_total: int | None = None
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    attempts: int = 0


class RunEvent(SQLModel, table=True):
    """One progress message from a worker: a logged step, or a line of text."""

    __tablename__ = "run_events"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = _run_foreign_key()
    step: int | None = None
    total: int | None = None
    loss: float | None = None
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    message: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _timestamp(nullable=False)


class Artifact(SQLModel, table=True):
    """A file or folder a run produced (adapter, report_json, report_md, log, ...)."""

    __tablename__ = "artifacts"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = _run_foreign_key()
    kind: str = Field(sa_type=sa.String(64))
    path: str = Field(sa_type=sa.Text)
    size_bytes: int | None = Field(default=None, sa_type=sa.BigInteger)
    created_at: datetime = _timestamp(nullable=False)
