"""`annotation.retrain_after`: a new training run once enough newly completed records were synced.

The run repeats the newest run of the link's recipe that trains from this very dataset (its frozen
recipe snapshot), so a webhook-driven retrain never invents a recipe: train once by hand (`studio
run`), and later runs follow the annotators. The claim is one conditional UPDATE, so two syncs that
finish together cannot both start a run.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import yaml
from sqlmodel import select

from store import queue, runs
from store.db import session_scope
from store.tables import AnnotationLink, Run, RunStatus

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass(frozen=True)
class Retrain:
    run_id: str | None
    message: str


def newly_completed(link: AnnotationLink) -> int:
    return link.completed_records - link.trained_at_completed


def template_run(link: AnnotationLink) -> Run | None:
    """The newest run of the link's recipe whose data is this Argilla dataset."""
    with session_scope() as session:
        query = select(Run).where(Run.recipe_name == link.recipe_name).order_by(Run.created_at.desc())
        for run in session.exec(query.limit(50)):
            if _reads_dataset(run.recipe_yaml, link):
                return run
    return None


def _reads_dataset(recipe_yaml: str, link: AnnotationLink) -> bool:
    try:
        data = (yaml.safe_load(recipe_yaml) or {}).get("data") or {}
    except yaml.YAMLError:
        return False
    return (
        data.get("kind") == "argilla"
        and data.get("dataset") == link.dataset
        and data.get("workspace", "studio") == link.workspace
    )


def _active_run(recipe_name: str) -> str | None:
    with session_scope() as session:
        query = select(Run.id).where(Run.recipe_name == recipe_name, Run.status.in_(ACTIVE))
        return session.exec(query).first()


def _claim(link_id: int, every: int) -> bool:
    """Move `trained_at_completed` up to `completed_records` if at least `every` records are new."""
    table = AnnotationLink.__table__
    statement = (
        sa.update(table)
        .where(table.c.id == link_id, table.c.completed_records - table.c.trained_at_completed >= every)
        .values(trained_at_completed=table.c.completed_records)
    )
    with session_scope() as session:
        return session.execute(statement).rowcount == 1


def maybe_retrain(link: AnnotationLink, every: int) -> Retrain:
    """Start a run if `every` or more records were completed since the last one (see module doc)."""
    new = newly_completed(link)
    if new < every:
        return Retrain(None, f"{new} of {every} newly completed records before the next run")
    active = _active_run(link.recipe_name)
    if active:
        return Retrain(None, f"run {active} of {link.recipe_name} is still queued or running")
    template = template_run(link)
    if template is None:
        return Retrain(
            None,
            f"retrain_after: no earlier run of recipe {link.recipe_name!r} trains from"
            f" {link.workspace}/{link.dataset}; start the first one with `studio run RECIPE.yaml`",
        )
    if not _claim(link.id, every):
        return Retrain(None, "another sync started the run")
    run = runs.create_run(
        template.recipe_yaml, template.recipe_name, template.recipe_hash, template.schema_version
    )
    try:
        queue.enqueue_train(run.id)
    except Exception as error:  # without a queue message no worker takes it: do not leave it queued
        runs.mark_failed(run.id, f"could not enqueue: {type(error).__name__}: {error}")
        raise
    return Retrain(run.id, f"run {run.id} started after {new} newly completed records")
