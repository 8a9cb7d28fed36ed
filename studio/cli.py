"""The `studio` command: validate and run recipes, follow runs, start the worker and the local stack.

The CLI talks to workers only through the DB and the Redis queue (it never imports `workers`).
Every command goes through `handle_errors`: one red line on stderr and a non-zero exit, no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from recipes.errors import RecipeError
from recipes.io import load_recipe
from store.tables import RunStatus
from studio import cli_annotate, cli_compare, cli_eval, cli_stack, cli_studio
from studio.cli_errors import handle_errors, print_problems
from studio.cli_render import result_json
from studio.cli_runs import runs_app
from studio.cli_wait import interrupted_while_waiting, submit, wait_for_run

app = typer.Typer(
    help="Alignment Studio: turn a YAML recipe into a trained LoRA adapter.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # users never see a traceback (see studio.cli_errors)
    add_completion=False,
)
app.add_typer(runs_app, name="runs")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

RECIPE_ARG = typer.Argument(..., help="Path to a recipe YAML file.", dir_okay=False)


@app.command()
@handle_errors
def validate(recipe: Path = RECIPE_ARG) -> None:
    """Check a recipe and list every problem at once (exit 1 if there is any)."""
    try:
        loaded = load_recipe(recipe)
    except RecipeError as exc:
        print_problems(exc)
        raise typer.Exit(1) from None
    console.print(f"ok: {loaded.name} (schema v{loaded.schema_version}, method {loaded.method.method})")


@app.command()
@handle_errors
def run(
    recipe: Path = RECIPE_ARG,
    wait: bool = typer.Option(False, "--wait", help="Follow the run with a progress bar until it ends."),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object (run_id, status, reason, metrics, artifacts) on stdout."
    ),
) -> None:
    """Validate a recipe, queue a training run and print its id (exit 0 only if --wait ends in success)."""
    loaded = load_recipe(recipe)  # problems → every one listed, exit 1, nothing queued
    queued = submit(loaded)
    if not wait:
        if as_json:
            typer.echo(json.dumps(result_json(queued)))
        else:
            typer.echo(queued.id)
            err_console.print(f"queued; follow it with `studio runs show {queued.id}`")
        return
    try:
        final = wait_for_run(queued.id, err_console if as_json else console)
    except KeyboardInterrupt:
        raise interrupted_while_waiting(queued.id) from None
    if as_json:
        typer.echo(json.dumps(result_json(final)))
    else:
        cli_stack.print_outcome(console, final)
    raise typer.Exit(0 if RunStatus(final.status) == RunStatus.SUCCEEDED else 1)


# Registered after validate/run so `studio --help` lists the everyday commands first.
app.command("worker")(cli_stack.worker)
app.command("up")(cli_stack.up)
app.command("demo")(cli_stack.demo)
app.command("compare")(cli_compare.compare)
app.command("eval")(cli_eval.eval_command)
app.command("app")(cli_studio.app_command)
app.command("generate")(cli_studio.generate)
app.add_typer(cli_studio.users_app, name="users")
app.add_typer(cli_annotate.annotate_app, name="annotate")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
