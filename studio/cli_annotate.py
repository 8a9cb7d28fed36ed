"""`studio annotate publish|sync|status`: a recipe's rubric in Argilla, and its responses back in the store.

Like the rest of the CLI it only talks to the store and the queue: publish and sync are Celery tasks on
the `annotation` queue (`studio up` runs a worker for it), and `--wait` follows the link's row in the
DB. Which dataset a recipe means: `data: {kind: argilla}` names it; otherwise `--dataset` or the
recipe's name, in workspace `studio`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from recipes.io import load_recipe
from recipes.recipe import Recipe
from store import annotations
from store.tables import AnnotationLink
from studio.cli_errors import CliError, handle_errors

DEFAULT_WORKSPACE = "studio"
WAIT_TIMEOUT_S = 600.0
NO_WORKER_HINT_AFTER_S = 20.0
POLL_S = 0.5
RETRY_MARK = " — retry "  # in a sync error while the task still retries (workers/annotation_tasks.py)

annotate_app = typer.Typer(
    help="Annotate in Argilla: publish a recipe's rubric, sync responses back, show progress and agreement.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

TARGET_ARG = typer.Argument(
    ..., help="A recipe YAML, a dataset name (or WORKSPACE/NAME), or the link number `status` shows."
)
WAIT_OPT = typer.Option(False, "--wait", help="Wait until the worker has finished (exit 1 if it failed).")
JSON_OPT = typer.Option(False, "--json", help="Print one JSON object (the dataset's status) on stdout.")
TIMEOUT_OPT = typer.Option(WAIT_TIMEOUT_S, "--timeout", min=1, help="Seconds --wait waits at most.")


@annotate_app.command("publish")
@handle_errors
def publish_command(
    recipe: Path = typer.Argument(..., help="A recipe YAML with an `annotation:` block.", dir_okay=False),
    dataset: str = typer.Option(None, "--dataset", help="Argilla dataset name (default: the recipe's)."),
    workspace: str = typer.Option(DEFAULT_WORKSPACE, "--workspace", help="Argilla workspace."),
    wait: bool = WAIT_OPT,
    as_json: bool = JSON_OPT,
    timeout: float = TIMEOUT_OPT,
) -> None:
    """Queue publishing the rubric and its items as an Argilla dataset (re-publishing updates it)."""
    loaded = load_recipe(recipe)
    if loaded.annotation is None:
        raise CliError(f"{recipe} has no `annotation:` block: add the rubric (criteria, overall, annotators)")
    if loaded.annotation.items is None:
        raise CliError(f"{recipe}: annotation.items is empty, so there is nothing to publish (add the file)")
    space, name = dataset_of(loaded, dataset, workspace)
    link = annotations.ensure_link(loaded.name, space, name, loaded.annotation.model_dump(mode="json"))
    # "queued" until a worker takes it, so --wait (and the studio) never mistake an old outcome for this one.
    annotations.update_link(link.id, status="queued", status_reason=None)
    annotations.enqueue_publish(link.id)
    say = err_console.print if as_json else console.print
    say(f"publishing {space}/{name} (link {link.id}) on the annotation queue")
    if wait:
        final = _wait(link.id, _published, timeout, "publishing", say)
        if final.status == "failed":
            _finish(final, as_json, ok=False, message=f"publishing failed: {final.status_reason}")
        say(f"published {final.published_records} records: {final.url}")
    _finish(annotations.get_link(link.id), as_json, ok=True)


@annotate_app.command("sync")
@handle_errors
def sync_command(
    target: str = TARGET_ARG, wait: bool = WAIT_OPT, as_json: bool = JSON_OPT, timeout: float = TIMEOUT_OPT
) -> None:
    """Queue a sync: submitted responses into the store, then progress and agreement (idempotent)."""
    link = resolve_link(target, create=True)
    say = err_console.print if as_json else console.print
    if wait:
        # Cleared first: a failure identical to the previous one must still be seen as this sync's.
        annotations.update_link(link.id, last_sync_error=None)
    annotations.enqueue_sync(link.id)
    say(f"sync of {link.workspace}/{link.dataset} (link {link.id}) queued")
    if wait:
        before = link.last_sync_at
        final = _wait(link.id, lambda row: _synced(row, before), timeout, "syncing", say)
        if final.last_sync_at == before:
            _finish(final, as_json, ok=False, message=f"sync failed: {final.last_sync_error}")
        say(f"synced: {_counts_line(final)}")
    _finish(annotations.get_link(link.id), as_json, ok=True)


@annotate_app.command("status")
@handle_errors
def status_command(
    target: str = typer.Argument(None, help="A recipe YAML, dataset name or link number; empty: all."),
    as_json: bool = JSON_OPT,
) -> None:
    """Progress per annotator, agreement per criterion, last sync and error, and the annotation URL."""
    links = [resolve_link(target)] if target else annotations.list_links()
    if as_json:
        overviews = [overview(link.id) for link in links]
        typer.echo(
            json.dumps(overviews[0] if target else {"argilla_url": argilla_url(), "datasets": overviews})
        )
        return
    console.print(f"Argilla: {argilla_url() or 'not running (start it with `studio up`)'}")
    if not links:
        console.print("no annotation datasets yet: `studio annotate publish RECIPE.yaml`")
    for link in links:
        print_link(overview(link.id))


# --- which dataset -------------------------------------------------------------------------------
def dataset_of(
    recipe: Recipe, dataset: str | None = None, workspace: str = DEFAULT_WORKSPACE
) -> tuple[str, str]:
    """(workspace, dataset) of a recipe: the one it trains from, else `--dataset`, else its name."""
    if recipe.data.kind == "argilla":
        if dataset and dataset != recipe.data.dataset:
            raise CliError(
                f"the recipe trains from Argilla dataset {recipe.data.dataset!r}; --dataset {dataset!r} would"
                " publish somewhere it never reads (drop --dataset, or change data.dataset)"
            )
        return recipe.data.workspace, recipe.data.dataset
    return workspace, dataset or recipe.name


def resolve_link(target: str, create: bool = False) -> AnnotationLink:
    """A recipe file (its link is created from its rubric when `create`), a link number, WORKSPACE/NAME
    or a dataset name unique across workspaces."""
    path = Path(target)
    if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
        return _link_of_recipe(path, create)
    if target.isdigit():
        try:
            return annotations.get_link(int(target))
        except LookupError:
            raise CliError(
                f"no annotation dataset with link number {target}: see `studio annotate status`"
            ) from None
    space, _, name = target.rpartition("/")
    found = [
        link for link in annotations.list_links() if link.dataset == name and space in ("", link.workspace)
    ]
    if len(found) > 1:
        choices = ", ".join(f"{link.workspace}/{link.dataset}" for link in found)
        raise CliError(f"{target!r} is in several workspaces ({choices}): name it as WORKSPACE/NAME")
    if not found:
        raise CliError(
            f"the studio knows no annotation dataset {target!r}: publish it with `studio annotate publish"
            " RECIPE.yaml`, or pass the recipe whose rubric reads it"
        )
    return found[0]


def _link_of_recipe(path: Path, create: bool) -> AnnotationLink:
    recipe = load_recipe(path)
    if recipe.annotation is None:
        raise CliError(f"{path} has no `annotation:` block, so it names no annotation dataset")
    space, name = dataset_of(recipe)
    link = annotations.find_link(space, name)
    if link is None and create:  # a dataset filled another way (imported responses): sync with its rubric
        link = annotations.ensure_link(recipe.name, space, name, recipe.annotation.model_dump(mode="json"))
    if link is None:
        raise CliError(f"{space}/{name} is not published yet: `studio annotate publish {path}`")
    return link


# --- waiting -------------------------------------------------------------------------------------
def _published(link: AnnotationLink) -> bool:
    return link.status in ("published", "failed")


def _synced(link: AnnotationLink, before: Any) -> bool:
    error = link.last_sync_error
    return link.last_sync_at != before or bool(error and RETRY_MARK not in error)


def _wait(
    link_id: int, done: Callable[[AnnotationLink], bool], timeout: float, doing: str, say: Callable
) -> AnnotationLink:
    """Poll the link until `done`; print each new retry note once; hint when no worker seems to run."""
    start, shown, hinted = time.monotonic(), set(), False
    while True:
        link = annotations.get_link(link_id)
        if done(link):
            return link
        for note in (link.status_reason, link.last_sync_error):
            if note and note not in shown:
                shown.add(note)
                say(f"  {escape(note)}")
        waited = time.monotonic() - start
        if not hinted and waited > NO_WORKER_HINT_AFTER_S and link.status == "queued":
            hinted = True
            say("  no annotation worker has taken it yet: is `studio up` running? (still waiting)")
        if waited > timeout:
            raise CliError(
                f"still {doing} after {timeout:.0f} s: follow it with `studio annotate status {link_id}`"
            )
        time.sleep(POLL_S)


def _finish(link: AnnotationLink, as_json: bool, ok: bool, message: str = "") -> None:
    if as_json:
        typer.echo(json.dumps(overview(link.id)))
    if not ok:
        raise CliError(message)


# --- showing -------------------------------------------------------------------------------------
def argilla_url() -> str | None:
    from annotation.connection import argilla_connection
    from annotation.errors import AnnotationError

    try:
        return argilla_connection()[0]
    except AnnotationError:
        return None


def overview(link_id: int) -> dict[str, Any]:
    return annotations.link_overview(link_id) | {"argilla_url": argilla_url()}


def _counts_line(link: AnnotationLink) -> str:
    submitted = sum(counts.get("submitted", 0) for counts in (link.progress or {}).values())
    done = f"{link.completed_records} of {link.published_records} records complete"
    return f"{submitted} submitted responses, {done}"


def print_link(view: dict[str, Any]) -> None:
    console.print(
        f"\n[bold]{escape(view['dataset'])}[/] (link {view['id']}, recipe {escape(view['recipe'])})"
    )
    console.print(f"  annotate at: {view['url'] or '- (not published yet)'}")
    reason = f" — {escape(view['status_reason'])}" if view["status_reason"] else ""
    console.print(f"  status: {view['status']}{reason}")
    console.print(f"  records: {view['published_records']} published, {view['completed_records']} complete")
    console.print(f"  last sync: {view['last_sync_at'] or 'never'}")
    if view["last_sync_error"]:
        console.print(f"  [red]last sync error:[/] {escape(view['last_sync_error'])}")
    if view["progress"]:
        console.print(_progress_table(view["progress"]))
    if view["agreement"]:
        console.print(_agreement_table(view["agreement"]))


def _progress_table(progress: dict[str, dict[str, int]]) -> Table:
    table = Table("annotator", "submitted", "draft", "discarded", title="progress per annotator")
    for name, counts in progress.items():
        table.add_row(name, *(str(counts.get(key, 0)) for key in ("submitted", "draft", "discarded")))
    return table


def _agreement_table(agreement: dict[str, dict[str, Any]]) -> Table:
    table = Table("criterion", "level", "Krippendorff's α", "items with ≥ 2 answers", title="agreement")
    for name, entry in agreement.items():
        alpha = entry.get("alpha")
        shown = f"{alpha:.3f}" if isinstance(alpha, int | float) else f"- ({entry.get('alpha_reason')})"
        table.add_row(name, str(entry.get("level")), shown, str(entry.get("n_pairable", 0)))
    return table
