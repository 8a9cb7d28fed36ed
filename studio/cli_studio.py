"""`studio app`, `studio generate` and `studio users`: the web app, the playground from the terminal, and
studio accounts. Generation runs on a worker (`studio.generate`), like the Playground tab."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from store import queue, users
from store.errors import StoreError
from store.tables import UserRole
from studio.cli_errors import CliError, handle_errors

console = Console(highlight=False, soft_wrap=True)
users_app = typer.Typer(help="Studio accounts (roles: admin, author, viewer).", no_args_is_help=True)


@handle_errors
def app_command(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Listen address; login is required beyond loopback."
    ),
    port: int = typer.Option(7860, "--port"),
    login: bool = typer.Option(False, "--login", help="Require login on loopback too."),
) -> None:
    """Serve the studio web app (it needs a worker and Redis: `studio up` starts all three)."""
    from studio.app import serve  # gradio is imported only by this command

    serve(host, port, login=login or None)


@handle_errors
def generate(
    run_id: str = typer.Argument(
        ..., help="A succeeded run whose adapter answers (a unique prefix is enough)."
    ),
    prompt: str = typer.Option(..., "--prompt", help="The prompt both models answer."),
    direction: float | None = typer.Option(
        None, "--direction", help="RPS runs: preference direction in degrees."
    ),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", min=1, max=1024),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait for a worker."),
    as_json: bool = typer.Option(False, "--json", help="Print the worker's JSON answer."),
) -> None:
    """Answer a prompt with the base model and with a run's adapter (on a worker), side by side."""
    from store import runs

    run = runs.get_run(run_id)
    vector = queue.direction_vector(direction) if direction is not None else None
    try:
        result = queue.generate(run.id, prompt, max_new_tokens, vector, timeout_s=timeout)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(result))
        return
    console.print(f"[bold]base[/]\n{result['base']}\n\n[bold]adapter of {run.id}[/]\n{result['adapter']}")
    for index, candidate in enumerate(result.get("candidates") or []):
        mark = "★" if index == result.get("selected") else " "
        console.print(
            f"{mark} {candidate['direction_deg']:+.0f}° score {candidate['score']:.3f}: {candidate['text']}"
        )


@users_app.command("add")
@handle_errors
def add_user(
    username: str = typer.Argument(...),
    role: str = typer.Option("viewer", "--role", help="admin, author or viewer."),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a studio account."""
    _user_call(users.create_user, username, password, role)
    console.print(f"created {username} ({role})")


@users_app.command("role")
@handle_errors
def set_role(
    username: str = typer.Argument(...), role: str = typer.Argument(..., help="admin, author, viewer")
):
    """Change an account's role."""
    _user_call(users.set_role, username, role)
    console.print(f"{username} is now {role}")


@users_app.command("password")
@handle_errors
def set_password(
    username: str = typer.Argument(...),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Set an account's password."""
    _user_call(users.set_password, username, password)
    console.print(f"password of {username} changed")


@users_app.command("list")
@handle_errors
def list_users() -> None:
    """Every account with its role."""
    for user in users.list_users():
        console.print(f"{user.username}\t{UserRole(user.role).value}")


def _user_call(function, *args):
    try:
        return function(*args)
    except users.UserError as exc:
        raise CliError(str(exc)) from None
