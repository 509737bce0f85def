"""Heroku's request budget: plan and apply estimate what they spend, refuse in one line when it
is more than remains, or wait for it (`--wait-for-rate-limit`), and never get a 429 — against
the emulator enforcing a rate limit (`--rate-limit`), over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import Cli, stack_doc, unique_name, write_stack

from herokustack.emulator import EmulatorServer


@pytest.fixture()
def limited() -> Iterator[EmulatorServer]:
    # A budget of 1000 that refills 1200 a minute (20 a second): waits are short.
    with EmulatorServer(rate_limit=1000, rate_per_minute=1200) as server:
        yield server


def stacks(tmp_path: Path, count: int) -> list[str]:
    return [str(write_stack(tmp_path, stack_doc(unique_name("rl")))) for _ in range(count)]


def counted(emu: EmulatorServer, seen: list[str]) -> list[str]:
    return [s for s in seen if s != "GET /account/rate-limits"]


def test_a_plan_over_the_budget_is_refused_in_one_line_and_sends_nothing(tmp_path: Path) -> None:
    with EmulatorServer(rate_limit=12, rate_per_minute=0) as limited:
        cli, paths = Cli(limited), stacks(tmp_path, 6)
        seen: list[str] = []
        with limited.observing(lambda method, path, body: seen.append(f"{method} {path}")):
            result = cli("plan", *paths)
        assert counted(limited, seen) == [] and limited.throttled_count() == 0
    assert result.exit_code == 1
    # 6 apps x (config, formation, 1 Postgres), a page of apps, one of add-ons and one of
    # attachments (for the whole account), and 3 add-on services in the catalog
    assert result.stderr.splitlines() == [
        "error: this plan needs about 24 requests; 12 remain, refilling at 75/min: about 1 min "
        "(--wait-for-rate-limit waits for them)"
    ]


def test_wait_for_rate_limit_paces_the_run_without_a_429(
    limited: EmulatorServer, tmp_path: Path
) -> None:
    cli, paths = Cli(limited), stacks(tmp_path, 4)
    assert cli("apply", *paths, "--auto-approve").exit_code == 0
    limited.set_rate_remaining(5)
    seen: list[str] = []
    with limited.observing(lambda method, path, body: seen.append(f"{method} {path}")):
        result = cli("plan", *paths, "--format", "json", "--wait-for-rate-limit")
    assert result.exit_code == 0, result.output
    assert "waiting for Heroku's rate limit: " in result.stderr
    assert limited.throttled_count() == 0
    figures = json.loads(result.stdout)["requests"]
    assert figures["spent"] == len(counted(limited, seen))
    assert figures["estimated"] >= figures["spent"]


def test_apply_checks_the_writes_too(tmp_path: Path) -> None:
    # Enough for the reads of three new apps (one each, and the catalog), not for the writes.
    with EmulatorServer(rate_limit=30, rate_per_minute=0) as limited:
        cli, paths = Cli(limited), stacks(tmp_path, 3)
        seen: list[str] = []
        with limited.observing(lambda method, path, body: seen.append(f"{method} {path}")):
            result = cli("apply", *paths, "--auto-approve")
        assert limited.throttled_count() == 0
    assert result.exit_code == 1
    assert "error: this apply needs about " in result.stderr
    assert not [s for s in seen if not s.startswith("GET ")]  # nothing written


def test_drift_checks_the_budget_of_reading_every_kind(
    limited: EmulatorServer, tmp_path: Path
) -> None:
    cli, paths = Cli(limited), stacks(tmp_path, 4)
    assert cli("apply", *paths, "--auto-approve").exit_code == 0
    limited.set_rate_remaining(20)  # enough to plan these apps, not to read every kind of them
    assert limited.throttled_count() == 0
    seen: list[str] = []
    with limited.observing(lambda method, path, body: seen.append(f"{method} {path}")):
        refused = cli("drift", *paths)
    assert refused.exit_code == 1 and counted(limited, seen) == []
    (line,) = refused.stderr.splitlines()
    assert line.startswith("error: this drift needs about ") and "20 remain" in line
    waited = cli("drift", *paths, "--wait-for-rate-limit")
    assert waited.exit_code == 0, waited.output
    assert "waiting for Heroku's rate limit: " in waited.stderr
    assert limited.throttled_count() == 0
