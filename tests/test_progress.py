"""The progress bar of runs of many apps: on a terminal only, apps done of the total and
requests spent; nothing for a few apps or when not on a terminal."""

from __future__ import annotations

import io
import re

from rich.console import Console

from herokustack import progress


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=100), out


def test_a_bar_of_apps_and_requests_on_a_terminal() -> None:
    shown, out = console(True)
    spent = iter(range(0, 100, 7))
    with progress.bar("reading", 6, lambda: next(spent), shown) as done:
        for i in range(6):
            done(f"app{i}")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # colours and cursor moves
    assert "reading" in text and "6/6 apps, 42 requests" in text


def test_nothing_when_not_a_terminal_or_for_a_few_apps() -> None:
    for terminal, total in ((False, 50), (True, progress.MANY_APPS)):
        shown, out = console(terminal)
        with progress.bar("reading", total, lambda: 0, shown) as done:
            done("app0")
        assert out.getvalue() == ""
