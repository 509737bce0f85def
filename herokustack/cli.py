"""The `herokustack` command line: it only wires the other modules together.

Each command parses its options, calls the module that does the work, renders the
result and turns a `HerokustackError` into one clear message and exit code 1.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from herokustack.errors import HerokustackError

app = typer.Typer(
    name="herokustack",
    help="Manage Heroku apps as code: plan and apply TOML stack files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print a user-facing error on stderr and return the Exit(1) to raise."""
    err_console.print(f"[red]error:[/red] {message}", markup=True)
    return typer.Exit(1)


@app.callback()
def _root() -> None:
    """herokustack: plan and apply Heroku stack files."""


# --- commands are registered below, one small function each -------------------------------


def main() -> None:
    try:
        app()
    except HerokustackError as exc:
        err_console.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
