"""The CLI's single error boundary: every failure becomes one red line on stderr and an exit code.

Users never see a traceback. `STUDIO_DEBUG=1` re-raises unexpected errors for developers.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape

from recipes.errors import RecipeError
from store.errors import StoreError

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class CliError(Exception):
    """A failure with a message for the user: what is wrong and what to do."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def print_error(message: str) -> None:
    err_console.print(f"[red]error:[/red] {escape(message)}")


def print_problems(exc: RecipeError) -> None:
    """All problems at once, one per line, so the user can fix the recipe in one go."""
    count = len(exc.problems)
    err_console.print(f"[red]error:[/red] the recipe has {count} problem{'s' if count != 1 else ''}:")
    for problem in exc.problems:
        err_console.print(f"  {escape(problem.path or '<root>')}: {escape(problem.message)}")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("…" if len(text) > 300 else "")


def describe(exc: Exception) -> str:
    """Map a known infrastructure failure to a line that says what to do; otherwise a generic line."""
    name = type(exc).__name__
    module = type(exc).__module__
    if module.startswith("sqlalchemy"):
        return f"database error: {name}: {_one_line(exc)} — check STUDIO_DATABASE_URL / STUDIO_DATA_DIR"
    if module.startswith(("redis", "kombu")) or isinstance(exc, ConnectionRefusedError):
        return f"cannot reach Redis: {_one_line(exc)} — start it with `studio up`, or fix STUDIO_REDIS_URL"
    return f"internal error: {name}: {_one_line(exc)} (set STUDIO_DEBUG=1 to see the traceback)"


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate every command: known errors → one line + exit code, Ctrl-C → exit 130."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, click.ClickException):
            raise  # click prints usage errors itself and exits 2
        except CliError as exc:
            print_error(exc.message)
            raise typer.Exit(exc.exit_code) from None
        except RecipeError as exc:
            print_problems(exc)
            raise typer.Exit(1) from None
        except StoreError as exc:  # the store's messages are already one actionable line
            print_error(str(exc))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            if os.environ.get("STUDIO_DEBUG"):
                raise
            print_error(describe(exc))
            raise typer.Exit(1) from None

    return wrapper
