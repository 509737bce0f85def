"""Shared fixtures, and the reliability suite's table at the end of a run."""

from __future__ import annotations

from typing import Any

import reliability_figures
from hypothesis import HealthCheck, settings

# Property tests judge results, never speed: CI's 2 cores run 4 workers, and a draw that takes
# 300 ms there is not a failure (timings live in bench/).
settings.register_profile(
    "herokustack", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("herokustack")


def pytest_sessionstart(session: Any) -> None:
    if not hasattr(session.config, "workerinput"):  # the controlling process, not a worker
        reliability_figures.clear()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = reliability_figures.table()
    if lines:
        terminalreporter.section("reliability (tests/e2e/test_reliability.py)")
        for line in lines:
            terminalreporter.write_line(line)
