"""A progress bar for runs of many apps: apps done of the total and requests spent, on stderr,
on a terminal only (rich); nothing at all otherwise, or for a few apps."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

MANY_APPS = 5  # more than this many apps get a bar

Done = Callable[[str], None]  # told the name of each app done


@contextmanager
def bar(title: str, total: int, spent: Callable[[], int], console: Any = None) -> Iterator[Done]:
    """`title` (reading, applying) with a bar of `total` apps and `spent()` requests."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = console or Console(stderr=True, highlight=False)
    if total <= MANY_APPS or not console.is_terminal:
        yield lambda app: None
        return
    columns = (
        TextColumn(title),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("apps, {task.fields[requests]} requests"),
    )
    lock = threading.Lock()
    with Progress(*columns, console=console, transient=True) as shown:
        task = shown.add_task(title, total=total, requests=spent())

        def done(app: str) -> None:
            with lock:
                shown.update(task, advance=1, requests=f"{spent():,}")

        yield done
