"""The terminal side of `apply`: show the plan, ask for approval, show progress and results."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from herokustack import progress as bars
from herokustack import render
from herokustack.applier import ApplyResult, StepHook
from herokustack.errors import HerokustackError
from herokustack.planner import Plan

NO_TTY = (
    "apply asks for confirmation, but there is no terminal to ask on: "
    "review the plan with `herokustack plan`, then run apply with --auto-approve"
)


def show_plan(plan: Plan, output: str) -> None:
    if output == "text":
        typer.echo(render.plan_text(plan, color=render.use_color()), nl=False)


def approved(plan: Plan, auto_approve: bool) -> bool:
    """Whether to go on: something to do, and --auto-approve or a "yes" on a terminal."""
    if not plan.has_work:
        typer.echo("Nothing to apply.", err=True)
        return False
    if auto_approve:
        return True
    if not sys.stdin.isatty():
        raise HerokustackError(NO_TTY)
    if typer.confirm("Apply these changes?", default=False, err=True):
        return True
    typer.echo("Apply cancelled: nothing changed.", err=True)
    return False


@contextmanager
def progress(total: int = 0, spent: Callable[[], int] = lambda: 0) -> Iterator[StepHook]:
    """A spinner line per app on a terminal (stderr), or for more than a few of the `total`
    apps one bar (apps done, `spent()` requests); else one plain line per step."""
    console = Console(stderr=True, highlight=False)
    if not console.is_terminal:
        yield _plain_steps(console)
        return
    if total > bars.MANY_APPS:
        with bars.bar("applying", total, spent, console) as done:

            def on_app_step(app: str, text: str) -> None:
                if text == "done" or text.startswith("stopped at"):
                    done(app)

            yield on_app_step
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}
        lock = threading.Lock()

        def on_step(app: str, text: str) -> None:
            with lock:
                if app not in tasks:
                    tasks[app] = bar.add_task(app)
                bar.update(tasks[app], description=f"{app}: {text}")

        yield on_step


def _plain_steps(console: Console) -> StepHook:
    lock = threading.Lock()
    waiting: set[str] = set()

    def on_step(app: str, text: str) -> None:
        with lock:
            if text.startswith("waiting for add-ons"):
                if app in waiting:
                    return
                waiting.add(app)
            console.print(f"{app}: {text}", markup=False, soft_wrap=True)

    return on_step


def show_result(plan: Plan, result: ApplyResult | None, output: str) -> None:
    if output == "json":
        doc = {
            "plan": render.plan_data(plan),
            "result": render.apply_data(result) if result else None,
        }
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    elif result is not None:
        typer.echo(render.apply_text(result, color=render.use_color()), nl=False)
