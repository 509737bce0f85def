"""Monthly cost under `plan`, through the CLI against the emulator: the exact delta of a scale and
an add-on upgrade in text, JSON and Markdown, priced from the live catalog (read once per run)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import Cli, Heroku, converge, stack_doc, unique_name, write_stack

from herokustack import cost
from herokustack.cost import DYNO_CENTS
from herokustack.emulator import EmulatorServer
from herokustack.emulator.models import ApiError


@pytest.fixture()
def catalog_requests(emu: EmulatorServer) -> Iterator[list[str]]:
    """Paths of the add-on catalog requests the emulator answers during the test."""
    seen: list[str] = []

    def observe(method: str, path: str, body: Any) -> None:
        if path.startswith("/addon-services/"):
            seen.append(path)

    with emu.observing(observe):
        yield seen


def live_price(heroku: Heroku, plan: str) -> int:
    service = plan.split(":")[0]
    plans = heroku.session.get(f"{heroku.emu.url}/addon-services/{service}/plans").json()
    return next(p["price"]["cents"] for p in plans if p["name"] == plan)


def test_scale_and_addon_upgrade_show_the_exact_delta_everywhere(
    cli: Cli,
    emu: EmulatorServer,
    heroku: Heroku,
    tmp_path: Path,
    catalog_requests: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = unique_name("c")
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    # A stale built-in table: the plan must price add-ons from the live catalog instead.
    monkeypatch.setitem(cost.ADDON_CENTS, "heroku-redis:mini", 1)
    monkeypatch.setitem(cost.ADDON_CENTS, "heroku-redis:premium-0", 2)
    doc["formation"]["web"] = {"quantity": 6, "size": "performance-l"}
    doc["addons"]["redis"]["plan"] = "heroku-redis:premium-0"
    write_stack(tmp_path, doc)

    mini, premium = (
        live_price(heroku, "heroku-redis:mini"),
        live_price(heroku, "heroku-redis:premium-0"),
    )
    before = (
        3 * DYNO_CENTS["standard-1x"]  # web 2 + worker 1
        + live_price(heroku, "heroku-postgresql:essential-0")
        + mini
        + live_price(heroku, "papertrail:choklad")
    )
    delta = 6 * DYNO_CENTS["performance-l"] - 2 * DYNO_CENTS["standard-1x"] + premium - mini
    after = before + delta
    catalog_requests.clear()

    text = cli("plan", str(path))
    assert text.exit_code == 0, text.output
    change = cost.format_change(before, after)
    assert f"{name}: cost: {change}\n" in text.stdout
    assert f"total: {change}\n" in text.stdout
    # Three services (Postgres, Redis, Papertrail), each asked once.
    assert sorted(catalog_requests) == sorted(
        f"/addon-services/{s}/plans" for s in ("heroku-postgresql", "heroku-redis", "papertrail")
    )

    data = json.loads(cli("plan", str(path), "--format", "json").stdout)
    assert (data["apps"][0]["cost_before_cents"], data["apps"][0]["cost_after_cents"]) == (
        before,
        after,
    )
    summary = data["summary"]
    assert (summary["cost_before_cents"], summary["cost_after_cents"]) == (before, after)

    warn = str(delta // 100 - 1)  # in dollars, just under the delta: the delta is bold
    md = cli("plan", str(path), "--format", "markdown", "--cost-warn-above", warn).stdout
    cell = f"{cost.format_usd(after)} (**{cost.format_delta(delta)}**)"
    assert f"| `{name}` | 0 | 3 | 0 | 0 | {cell} |" in md
    quiet = cli("plan", str(path), "--format", "markdown", "--cost-warn-above", str(delta)).stdout
    assert (
        f"| `{name}` | 0 | 3 | 0 | 0 | {cost.format_usd(after)} ({cost.format_delta(delta)}) |"
        in quiet
    )


def test_catalog_is_read_once_per_run_whatever_the_number_of_apps(
    cli: Cli, emu: EmulatorServer, tmp_path: Path, catalog_requests: list[str]
) -> None:
    paths = [write_stack(tmp_path, stack_doc(unique_name("n"))) for _ in range(5)]
    result = cli("plan", *map(str, paths), "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(catalog_requests) == len(set(catalog_requests)) == 3
    assert cli("plan", *map(str, paths), "--no-cost").exit_code == 0
    # --no-cost: the catalog is still read, once per service, to check the add-on plans
    assert len(catalog_requests) == 6 and set(catalog_requests) == set(catalog_requests[:3])


def test_markdown_total_counts_the_eco_plan_once_like_text_and_json(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    docs = [stack_doc(unique_name("e"), addons={}) for _ in range(2)]
    paths = []
    for doc in docs:
        doc["formation"] = {"web": {"quantity": 1, "size": "eco"}}
        paths.append(write_stack(tmp_path, doc))
        converge(cli, emu, paths[-1])
        doc["config"]["FEATURE_X"] = "on"  # a change that costs nothing
        write_stack(tmp_path, doc)
    eco = cost.ECO_PLAN_CENTS  # one subscription for the account, whatever the eco dynos

    data = json.loads(cli("plan", *map(str, paths), "--format", "json").stdout)
    assert (data["summary"]["cost_before_cents"], data["summary"]["cost_after_cents"]) == (eco, eco)
    assert f"total: {cost.format_change(eco, eco)}\n" in cli("plan", *map(str, paths)).stdout
    md = cli("plan", *map(str, paths), "--format", "markdown").stdout
    assert f"| **Total** | 2 | 0 | 0 | 0 | {cost.format_usd(eco)} ($0.00) |" in md


def test_unreadable_catalog_is_a_note_and_the_built_in_table_prices_the_plan(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    path = write_stack(tmp_path, stack_doc(unique_name("u")))

    def refuse(method: str, path: str, body: Any) -> None:
        if path.startswith("/addon-services/"):
            raise ApiError(403, "forbidden", "You do not have access to the add-on catalog.")

    with emu.observing(refuse):
        result = cli("plan", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    [note] = result.stderr.splitlines()
    assert note.startswith("note: add-on catalog: ") and "built-in table" in note
    assert emu.api_key not in result.stderr
    plans = ("heroku-postgresql:essential-0", "heroku-redis:mini", "papertrail:choklad")
    after = sum(cost.ADDON_CENTS[p] for p in plans)  # a new app: its add-ons, no dynos yet
    assert json.loads(result.stdout)["summary"]["cost_after_cents"] == after
