"""`herokustack check --live` against the emulator over real HTTP: hand-made add-ons, stacks."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from e2e_helpers import Cli, unique_name

from herokustack.checks import read_live_state
from herokustack.client import HerokuClient
from herokustack.emulator import EmulatorServer
from herokustack.stackfile import load_stacks

STACK = """\
[app]
name = "{name}"
environment = "production"

[formation.web]
quantity = 2

[addons.logs]
plan = "papertrail:choklad"

[addons.apm]
plan = "scout:chair"
"""


def post(emu: EmulatorServer, path: str, body: dict[str, str]) -> None:
    resp = requests.post(
        f"{emu.url}/{path}",
        json=body,
        headers={
            "Authorization": f"Bearer {emu.api_key}",
            "Accept": "application/vnd.heroku+json; version=3",
        },
        timeout=10,
    )
    resp.raise_for_status()


def live_app(emu: EmulatorServer, tmp_path: Path) -> tuple[str, Path]:
    """An app whose live add-ons are the declared ones plus a Sentry added by hand."""
    name = unique_name("chk")
    path = tmp_path / f"{name}.toml"
    path.write_text(STACK.format(name=name), encoding="utf-8")
    post(emu, "apps", {"name": name, "region": "us", "stack": "heroku-24"})
    for plan in ("papertrail:choklad", "scout:chair", "sentry:f1"):
        post(emu, f"apps/{name}/addons", {"plan": plan})
    return name, path


def test_live_check_reports_an_addon_added_by_hand(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    name, path = live_app(emu, tmp_path)
    offline = cli("check", "--format", "json", str(path), api=False)
    offline_ids = {f["rule_id"] for f in json.loads(offline.stdout)["findings"]}
    assert "HS008" in offline_ids and "HS014" not in offline_ids

    result = cli("check", "--live", "--format", "json", str(path))
    findings = json.loads(result.stdout)["findings"]
    (hs014,) = [f for f in findings if f["rule_id"] == "HS014"]
    assert hs014["app"] == name and "(sentry) is not declared" in hs014["message"]
    assert "HS008" not in {f["rule_id"] for f in findings}  # the live Sentry counts
    assert result.exit_code == 0  # a warning
    assert cli("check", "--live", "--strict", str(path)).exit_code == 1


def test_live_state_reads_stack_states_from_the_api(emu: EmulatorServer, tmp_path: Path) -> None:
    name, path = live_app(emu, tmp_path)
    client = HerokuClient(emu.url, emu.api_key)
    state = read_live_state(client, load_stacks([path]))
    assert state.stack_states == {
        "heroku-20": "retired",
        "heroku-22": "public",
        "heroku-24": "public",
    }
    assert state.default_stack == "heroku-24"
    assert {a.service for a in state.apps[name].addons} == {"papertrail", "scout", "sentry"}
    assert state.apps[name].log_drains == 1  # the drain papertrail adds


def test_live_check_of_an_app_not_created_yet_is_the_offline_check(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "new.toml"
    path.write_text(STACK.format(name=unique_name("new")), encoding="utf-8")
    live = cli("check", "--live", "--format", "json", str(path))
    offline = cli("check", "--format", "json", str(path), api=False)
    assert live.exit_code == offline.exit_code == 0
    assert json.loads(live.stdout) == json.loads(offline.stdout)


def test_live_check_with_a_wrong_key_is_one_clear_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(STACK.format(name=unique_name("key")), encoding="utf-8")
    result = cli("check", "--live", str(path), env={"HEROKU_API_KEY": "wrong-key-123"})
    assert result.exit_code == 1
    assert "wrong-key-123" not in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
