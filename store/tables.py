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


class UserRole(enum.StrEnum):
    """What a studio user may do: viewers read, authors also edit and run, admins also manage users."""

    ADMIN = "admin"
    AUTHOR = "author"
    VIEWER = "viewer"


class User(SQLModel, table=True):
    """A studio login. Only a salted scrypt hash of the password is kept (see `store.users`)."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_type=sa.String(64), unique=True, index=True)
    role: str = Field(default=UserRole.VIEWER.value, sa_type=sa.String(16))
    password_hash: str = Field(sa_type=sa.String(255))
    created_at: datetime = _timestamp(nullable=False)
    last_login_at: datetime | None = _timestamp(nullable=True)


class AnnotationLink(SQLModel, table=True):
    """A recipe's Argilla dataset: where it is, how far annotation got, and the last sync's outcome.

    Written by the annotation tasks (`store.annotations`); read by the studio's Annotation tab.
    """

    __tablename__ = "annotation_links"
    __table_args__ = (sa.UniqueConstraint("workspace", "dataset", name="uq_annotation_links_dataset"),)

    id: int | None = Field(default=None, primary_key=True)
    recipe_name: str = Field(sa_type=sa.String(200), index=True)
    workspace: str = Field(sa_type=sa.String(100))
    dataset: str = Field(sa_type=sa.String(200))
    argilla_dataset_id: str | None = Field(default=None, sa_type=sa.String(36))
    url: str | None = Field(default=None, sa_type=sa.Text)
    status: str = Field(default="new", sa_type=sa.String(16))  # new | publishing | published | failed
    status_reason: str | None = Field(default=None, sa_type=sa.Text)
    published_records: int = 0
    completed_records: int = 0
    trained_at_completed: int = 0  # completed_records when the last webhook-triggered run started
    progress: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    agreement: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    webhook_secret: str | None = Field(default=None, sa_type=sa.Text)
    # The recipe's annotation block (AnnotationSpec as JSON) the dataset was published with: sync,
    # export and the gate read the responses through it, also when a webhook starts the sync.
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    last_sync_at: datetime | None = _timestamp(nullable=True)
    last_sync_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _timestamp(nullable=False)
    updated_at: datetime = _timestamp(nullable=False)


class AnnotationRecord(SQLModel, table=True):
    """One Argilla record as last synced: its fields (prompt, responses) and completion status."""

    __tablename__ = "annotation_records"
    __table_args__ = (sa.UniqueConstraint("link_id", "record_id", name="uq_annotation_records_record"),)

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="annotation_links.id", ondelete="CASCADE", index=True)
    record_id: str = Field(sa_type=sa.String(36))  # Argilla's record UUID
    external_id: str | None = Field(default=None, sa_type=sa.String(200))
    status: str = Field(default="pending", sa_type=sa.String(16))
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))


class AnnotationResponse(SQLModel, table=True):
    """One annotator's submitted response to one record; the sync's idempotency key: (link, record, user)."""

    __tablename__ = "annotation_responses"
    __table_args__ = (
        sa.UniqueConstraint("link_id", "record_id", "user_id", name="uq_annotation_responses_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="annotation_links.id", ondelete="CASCADE", index=True)
    record_id: str = Field(sa_type=sa.String(36))
    external_id: str | None = Field(default=None, sa_type=sa.String(200))
    user_id: str = Field(sa_type=sa.String(36))
    username: str = Field(sa_type=sa.String(100))
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    updated_at: datetime | None = _timestamp(nullable=True)  # Argilla's, to skip unchanged rows
