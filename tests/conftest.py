"""Shared fixtures, and the reliability suite's table at the end of a run."""

from __future__ import annotations

from typing import Any

import reliability_figures


def pytest_sessionstart(session: Any) -> None:
    if not hasattr(session.config, "workerinput"):  # the controlling process, not a worker
        reliability_figures.clear()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = reliability_figures.table()
    if lines:
        terminalreporter.section("reliability (tests/e2e/test_reliability.py)")
        for line in lines:
            terminalreporter.write_line(line)
