"""Annotation: Argilla dataset links, synced records and submitted responses.

Revision ID: 0003_annotation
Revises: 0002_users
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.column_types import UtcDateTime

revision = "0003_annotation"
down_revision = "0002_users"
branch_labels = None
depends_on = None


def _link_fk() -> sa.Column:
    return sa.Column(
        "link_id", sa.Integer(), sa.ForeignKey("annotation_links.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "annotation_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("recipe_name", sa.String(200), nullable=False),
        sa.Column("workspace", sa.String(100), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("argilla_dataset_id", sa.String(36), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("published_records", sa.Integer(), nullable=False),
        sa.Column("completed_records", sa.Integer(), nullable=False),
        sa.Column("trained_at_completed", sa.Integer(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("agreement", sa.JSON(), nullable=False),
        sa.Column("webhook_secret", sa.Text(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("last_sync_at", UtcDateTime(), nullable=True),
        sa.Column("last_sync_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("workspace", "dataset", name="uq_annotation_links_dataset"),
    )
    op.create_index("ix_annotation_links_recipe_name", "annotation_links", ["recipe_name"])
    op.create_table(
        "annotation_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        _link_fk(),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.UniqueConstraint("link_id", "record_id", name="uq_annotation_records_record"),
    )
    op.create_index("ix_annotation_records_link_id", "annotation_records", ["link_id"])
    op.create_table(
        "annotation_responses",
        sa.Column("id", sa.Integer(), primary_key=True),
        _link_fk(),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("link_id", "record_id", "user_id", name="uq_annotation_responses_key"),
    )
    op.create_index("ix_annotation_responses_link_id", "annotation_responses", ["link_id"])


def downgrade() -> None:
    op.drop_table("annotation_responses")
    op.drop_table("annotation_records")
    op.drop_table("annotation_links")
