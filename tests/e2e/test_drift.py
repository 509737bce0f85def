"""`herokustack drift` through the CLI against the emulator: hand-made changes are reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import (
    SECRET,
    Cli,
    Heroku,
    converge,
    official_cli,
    stack_doc,
    unique_name,
    write_stack,
)

from herokustack.cost import ADDON_CENTS, DYNO_CENTS, format_delta, format_monthly
from herokustack.emulator import EmulatorServer
from herokustack.emulator.models import ApiError

HAND_SECRET = "changed-By-hand-0000-secret-value-1234"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(provision_delay=0) as server:
        yield server


def applied(cli: Cli, emu: EmulatorServer, tmp_path: Path, **overrides: Any) -> tuple[str, Path]:
    """A fresh app created by apply from the typical stack file: no drift yet."""
    name = unique_name("dr")
    doc = stack_doc(name, **overrides)
    doc["config"]["DEBUG"] = "false"
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    return name, path


def drift_json(cli: Cli, path: Path, **env: str | None) -> tuple[int, dict[str, Any]]:
    result = cli("drift", str(path), "--format", "json", env=env)
    assert result.exit_code in (0, 2), result.output
    return result.exit_code, json.loads(result.stdout)


def items(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for app in doc["apps"] for item in app["items"]]


def catalog_cents(heroku: Heroku, plan: str) -> int:
    service = plan.split(":")[0]
    plans = heroku.get(f"/addon-services/{service}/plans")
    return next(p["price"]["cents"] for p in plans if p["name"] == plan)


def no_secret(cli: Cli) -> None:
    for output in cli.outputs:
        assert SECRET not in output and HAND_SECRET not in output


def test_no_drift_right_after_apply(cli: Cli, emu: EmulatorServer, tmp_path: Path):
    _name, path = applied(cli, emu, tmp_path)
    result = cli("drift", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("No drift: live state matches the stack files (1 app).\n")
    code, doc = drift_json(cli, path)
    assert code == 0 and doc["drift"] is False and items(doc) == []


@pytest.mark.cli
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            ["ps:scale", "web=3"],
            {"kind": "changed", "resource": "formation", "name": "web", "field": "quantity",
             "live": 3, "declared": 2, "monthly_cents": 3 * DYNO_CENTS["standard-1x"],
             "declared_cents": 2 * DYNO_CENTS["standard-1x"]},
        ),
        (
            ["config:set", "DEBUG=true"],
            {"kind": "changed", "resource": "config", "name": "DEBUG", "live": "true",
             "declared": "false", "sensitive": False},
        ),
        (
            ["config:set", f"SECRET_KEY={HAND_SECRET}"],
            {"kind": "changed", "resource": "config", "name": "SECRET_KEY", "live": None,
             "declared": None, "sensitive": True},
        ),
        (
            ["maintenance:on"],
            {"kind": "changed", "resource": "maintenance", "live": True, "declared": False},
        ),
    ],
    ids=["ps-scale", "config-set", "secret-set", "maintenance-on"],
)  # fmt: skip
def test_change_made_with_the_official_cli_is_exactly_the_drift(
    cli: Cli, emu: EmulatorServer, tmp_path: Path, command: list[str], expected: dict[str, Any]
):
    name, path = applied(cli, emu, tmp_path)
    official_cli(emu, *command, "-a", name)

    result = cli("drift", str(path))
    code, doc = drift_json(cli, path)

    assert result.exit_code == 2, result.output
    assert code == 2 and doc["drift"] is True
    [item] = items(doc)
    assert {k: item[k] for k in expected} == expected
    assert f"  ~ {item['text']}" in result.stdout.splitlines()
    scaled = doc["summary"]["scaled_delta_monthly_cents"]
    assert scaled == (DYNO_CENTS["standard-1x"] if command[0] == "ps:scale" else 0)
    against = f"; dynos scaled by hand cost {format_delta(scaled)}/mo against the stack files"
    summary = f"Drift in 1 of 1 app: 1 difference{against if scaled else ''}."
    assert summary in result.stdout.splitlines()
    no_secret(cli)


@pytest.mark.cli
def test_addon_created_by_hand_is_drift_with_its_monthly_price(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
):
    name, path = applied(cli, emu, tmp_path)
    official_cli(emu, "addons:create", "sentry:f1", "-a", name)
    body = {"plan": "heroku-redis:premium-0", "attachment": {"name": "CACHE"}}
    heroku.session.post(f"{emu.url}/apps/{name}/addons", json=body, timeout=10).raise_for_status()
    sentry = catalog_cents(heroku, "sentry:f1")
    redis = catalog_cents(heroku, "heroku-redis:premium-0")

    result = cli("drift", str(path))
    code, doc = drift_json(cli, path)

    assert code == 2
    found = {i["live"]: i for i in items(doc)}
    assert set(found) == {"SENTRY: sentry:f1", "CACHE: heroku-redis:premium-0"}
    assert found["SENTRY: sentry:f1"]["monthly_cents"] == sentry
    assert found["SENTRY: sentry:f1"]["note"] == "apply would destroy it"
    assert found["CACHE: heroku-redis:premium-0"]["monthly_cents"] == redis
    assert found["CACHE: heroku-redis:premium-0"]["note"] == "holds data: apply never destroys it"
    assert doc["summary"]["undeclared_monthly_cents"] == sentry + redis
    line = next(x for x in result.stdout.splitlines() if "heroku-redis:premium-0" in x)
    assert line.startswith("  + add-on ") and format_monthly(redis) in line
    assert f"undeclared resources cost {format_monthly(sentry + redis)}." in result.stdout


def test_dynos_scaled_by_hand_show_what_they_cost_against_the_file(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
):
    name, path = applied(cli, emu, tmp_path)
    heroku.patch(f"/apps/{name}/formation/web", {"quantity": 6, "size": "performance-l"})
    live = 6 * DYNO_CENTS["performance-l"]
    declared = 2 * DYNO_CENTS["standard-1x"]

    result = cli("drift", str(path))
    code, doc = drift_json(cli, path)

    assert code == 2
    quantity, size = items(doc)
    assert (quantity["field"], quantity["monthly_cents"], quantity["declared_cents"]) == (
        "quantity",
        live,
        declared,
    )
    assert size["field"] == "size" and size["monthly_cents"] is None  # the process counts once
    assert doc["summary"]["scaled_delta_monthly_cents"] == live - declared
    assert doc["summary"]["undeclared_monthly_cents"] == 0
    costs = f"web costs {format_monthly(live)} live, {format_monthly(declared)} declared"
    costs += f": {format_delta(live - declared)}"
    assert (
        f"  ~ formation web quantity: live 6 → declared 2 ({costs})" in result.stdout.splitlines()
    )
    assert (
        f"dynos scaled by hand cost {format_delta(live - declared)}/mo against the stack files."
        in result.stdout
    )


def test_unreadable_catalog_falls_back_to_built_in_prices_and_is_asked_once(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
):
    name, path = applied(cli, emu, tmp_path)
    for attachment in ("LOGS_A", "LOGS_B"):
        body = {"plan": "papertrail:fixa", "attachment": {"name": attachment}}
        heroku.session.post(f"{emu.url}/apps/{name}/addons", json=body, timeout=10)
    asked: list[str] = []

    def refuse_catalog(method: str, path: str, body: Any) -> None:
        if path.startswith("/addon-services/"):
            asked.append(path)
            raise ApiError(403, "forbidden", "You do not have access to the catalog.")

    with emu.observing(refuse_catalog):
        code, doc = drift_json(cli, path)
    assert code == 2
    prices = [i["monthly_cents"] for i in items(doc) if i["resource"] == "addon"]
    assert prices == [ADDON_CENTS["papertrail:fixa"]] * 2
    assert asked == ["/addon-services/papertrail/plans"]


def test_secrets_without_their_variable_are_checked_for_presence_only(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
):
    name, path = applied(cli, emu, tmp_path)
    heroku.patch(f"/apps/{name}/config-vars", {"SECRET_KEY": HAND_SECRET})

    unset = cli("drift", str(path), env={"APP_SECRET": None})
    assert unset.exit_code == 0, unset.output
    assert "note: not compared (environment variables not set): SECRET_KEY" in unset.stdout

    heroku.patch(f"/apps/{name}/config-vars", {"SECRET_KEY": None})
    code, doc = drift_json(cli, path, APP_SECRET=None)
    assert code == 2
    [item] = items(doc)
    assert (item["kind"], item["name"], item["sensitive"]) == ("missing", "SECRET_KEY", True)
    no_secret(cli)


def test_undeclared_config_and_running_process_types(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
):
    name, path = applied(cli, emu, tmp_path)
    heroku.patch(f"/apps/{name}/config-vars", {"ADDED_BY_HAND": HAND_SECRET})
    emu.deploy(name, {"web": "gunicorn", "worker": "celery", "clock": "python clock.py"})
    heroku.patch(f"/apps/{name}/formation", {"updates": [
        {"type": "clock", "quantity": 1, "size": "standard-1x"},
    ]})  # fmt: skip

    result = cli("drift", str(path))
    code, doc = drift_json(cli, path)

    assert code == 2
    by_name = {i["name"]: i for i in items(doc)}
    assert set(by_name) == {"ADDED_BY_HAND", "clock"}
    assert by_name["ADDED_BY_HAND"]["kind"] == "undeclared"
    assert by_name["ADDED_BY_HAND"]["sensitive"] is True
    assert by_name["clock"]["live"] == "1 × standard-1x"
    assert by_name["clock"]["monthly_cents"] > 0
    assert "  + config ADDED_BY_HAND: on Heroku, not declared" in result.stdout
    no_secret(cli)


def test_prune_config_reports_undeclared_vars_once(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
):
    name = unique_name("dr")
    doc = stack_doc(name)
    doc["app"]["prune_config"] = True
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    heroku.patch(f"/apps/{name}/config-vars", {"ADDED_BY_HAND": "1"})

    code, report = drift_json(cli, path)

    assert code == 2
    [item] = items(report)
    assert (item["kind"], item["name"]) == ("undeclared", "ADDED_BY_HAND")
    assert item["note"] == "apply unsets it (prune_config)"


def test_missing_app_markdown_and_bad_format(cli: Cli, tmp_path: Path):
    name = unique_name("dr")
    path = write_stack(tmp_path, stack_doc(name))

    result = cli("drift", str(path), "--format", "markdown")

    assert result.exit_code == 2, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "## herokustack drift: Drift detected"
    row = f"| {name} | `-` | app {name}: declared, missing on Heroku  # the app does not exist"
    assert f"{row} on Heroku |" in lines
    bad = cli("drift", str(path), "--format", "yaml")
    assert bad.exit_code == 1
    assert bad.stderr.strip() == "error: --format: unknown format 'yaml' (text, json or markdown)"
