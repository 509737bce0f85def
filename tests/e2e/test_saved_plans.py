"""Saved plans through the CLI against the emulator: apply exactly what was reviewed, refuse
a stale plan, never store a secret, and stop a second apply running at the same time."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
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

from herokustack import planfile, session
from herokustack.client import HerokuClient

NEW_SECRET = "n3w-Secret-Value-never-printed-0815"
SCHEMA = json.loads(planfile.SCHEMA_PATH.read_text(encoding="utf-8"))


def converged_app(cli: Cli, emu: Any, tmp_path: Path) -> tuple[str, dict[str, Any], Path]:
    name = unique_name()
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    return name, doc, path


def change_file(tmp_path: Path, doc: dict[str, Any]) -> None:
    doc["formation"]["web"]["quantity"] = 3
    doc["config"]["FEATURE_X"] = "on"
    write_stack(tmp_path, doc)


def no_secret_anywhere(cli: Cli, *files: Path) -> None:
    """Neither secret, nor an unsalted hash of it (reversible by a lookup table)."""
    for output in cli.outputs:
        assert SECRET not in output and NEW_SECRET not in output
    unsalted = [hashlib.sha256(s.encode()).hexdigest().encode() for s in (SECRET, NEW_SECRET)]
    for file in files:
        data = file.read_bytes()
        assert SECRET.encode() not in data and NEW_SECRET.encode() not in data
        assert not any(digest in data.lower() for digest in unsalted)


def test_saved_plan_is_applied_exactly_then_plan_is_empty(
    cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path
):
    name, doc, path = converged_app(cli, emu, tmp_path)
    change_file(tmp_path, doc)
    saved = tmp_path / "plan.json"
    env = {"APP_SECRET": NEW_SECRET}

    planned = cli("plan", str(path), "--out", str(saved), "--detailed-exitcode", env=env)
    assert planned.exit_code == 2, planned.output
    assert "~ config SECRET_KEY (sensitive value changed)" in planned.stdout
    document = json.loads(saved.read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["exit_code"] == 2
    assert document["secrets"] == [{"app": name, "key": "SECRET_KEY", "env": "APP_SECRET"}]
    # Only what apply compares (FEATURE_X, new, is compared as absent): no hash of the config
    # vars it leaves alone (DATABASE_URL, ...).
    [live] = document["live"]
    assert set(live["parts"]) == {"app", "config.SECRET_KEY", "formation.web"}

    # No terminal under CliRunner: a saved plan is applied without asking.
    applied = cli("apply", str(saved), "--format", "markdown", env=env)
    assert applied.exit_code == 0, applied.output
    assert "### herokustack apply: 1 of 1 app applied" in applied.stdout
    assert f"| `{name}` | applied | 3 | 0 | 0 |" in applied.stdout
    assert heroku.formation(name)["web"] == (3, "standard-1x")
    assert heroku.config(name)["FEATURE_X"] == "on"
    assert heroku.config(name)["SECRET_KEY"] == NEW_SECRET

    again = cli("plan", str(path), "--detailed-exitcode", env=env)
    assert again.exit_code == 0 and "No changes" in again.stdout
    # Applying the same plan twice: the first run changed what it touches.
    twice = cli("apply", "--plan", str(saved), env=env)
    assert twice.exit_code == 1
    assert "is stale: nothing was changed" in twice.stderr
    assert f"{name}: config FEATURE_X, config SECRET_KEY, formation web changed" in twice.stderr
    no_secret_anywhere(cli, saved)


@pytest.mark.cli
def test_stale_saved_plan_refuses_and_changes_nothing(
    cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path
):
    name, doc, path = converged_app(cli, emu, tmp_path)
    change_file(tmp_path, doc)
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved)).exit_code == 0

    official_cli(emu, "ps:scale", "web=5", "-a", name)
    official_cli(emu, "config:set", "FEATURE_X=off", "-a", name)
    before = (heroku.formation(name), heroku.config(name))

    result = cli("apply", str(saved), "--format", "json")
    assert result.exit_code == 1
    assert f"{name}: config FEATURE_X, formation web changed since the plan was made" in (
        result.stderr
    )
    assert (heroku.formation(name), heroku.config(name)) == before
    assert heroku.formation(name)["web"][0] == 5
    no_secret_anywhere(cli, saved)


def test_secret_missing_or_changed_at_apply_changes_nothing(
    cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path
):
    name, doc, path = converged_app(cli, emu, tmp_path)
    change_file(tmp_path, doc)
    saved = tmp_path / "plan.json"
    assert (
        cli("plan", str(path), "--out", str(saved), env={"APP_SECRET": NEW_SECRET}).exit_code == 0
    )

    missing = cli("apply", str(saved), env={"APP_SECRET": None})
    assert missing.exit_code == 1
    assert f"{name}: config.SECRET_KEY: environment variable APP_SECRET is not set" in (
        missing.stderr
    )
    other = cli("apply", str(saved), env={"APP_SECRET": "something-else"})
    assert other.exit_code == 1
    assert "APP_SECRET holds another value than when the plan was made" in other.stderr
    assert heroku.config(name)["SECRET_KEY"] == SECRET
    assert heroku.formation(name)["web"][0] == 2
    no_secret_anywhere(cli, saved)


def test_changed_stack_file_or_newer_format_is_refused(cli: Cli, emu: Any, tmp_path: Path):
    _, doc, path = converged_app(cli, emu, tmp_path)
    change_file(tmp_path, doc)
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved)).exit_code == 0

    document = json.loads(saved.read_text())
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**document, "format_version": 99}))
    result = cli("apply", str(newer))
    assert result.exit_code == 1
    assert f"{newer}: plan format version 99 is newer than this herokustack reads (2)" in (
        result.stderr
    )
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    assert "not a herokustack plan file" in cli("apply", str(junk)).stderr

    doc["formation"]["web"]["quantity"] = 4
    write_stack(tmp_path, doc)
    stale = cli("apply", str(saved))
    assert stale.exit_code == 1
    assert f"{path.as_posix()}: changed since the plan was made" in stale.stderr


def test_second_apply_running_at_once_is_stopped(emu: Any, heroku: Heroku, cli: Cli, tmp_path):
    """Run A plans, then run B (another apply) scales by hand while A is between batches."""
    name, doc, path = converged_app(cli, emu, tmp_path)
    change_file(tmp_path, doc)
    stacks = session.select_stacks([path], None)
    configs = session.resolve_configs(stacks, {"APP_SECRET": SECRET})
    client = HerokuClient(emu.url, emu.api_key)
    target = session.Target(client)
    plan, lives = session.plan_with_lives(target, stacks, configs)

    def other_apply(app: str, step: str) -> None:
        if step == "formation":  # announced right before the formation batch is written
            heroku.patch(f"/apps/{app}/formation", {"updates": [{"type": "web", "quantity": 7}]})

    guard = planfile.LiveGuard.from_lives(client, plan.hash_key, lives)
    result = session.run_apply(target, plan, configs, 60, other_apply, guard)
    [outcome] = result.apps
    assert not outcome.ok
    assert outcome.error is not None and outcome.error.startswith(
        f"formation: {name}: formation web changed since the plan was made: another apply"
    )
    assert [c.name for c in outcome.done] == ["FEATURE_X"]
    assert [c.name for c in outcome.failed] == ["web"]
    assert heroku.formation(name)["web"][0] == 7  # B's write stands; A wrote nothing over it


def test_two_app_plan_as_json_and_markdown(cli: Cli, emu: Any, tmp_path: Path):
    first, doc, path = converged_app(cli, emu, tmp_path)
    change_file(tmp_path, doc)
    second = write_stack(tmp_path, stack_doc(unique_name()))

    as_json = cli("plan", str(path), str(second), "--format", "json", "--detailed-exitcode")
    assert as_json.exit_code == 2
    document = json.loads(as_json.stdout)
    jsonschema.validate(document, SCHEMA)
    assert [a["app"] for a in document["apps"]] == [first, second.stem]
    assert document["summary"]["change"] == 1 and document["summary"]["add"] == 8

    as_md = cli("plan", str(path), str(second), "--format", "markdown")
    assert as_md.exit_code == 0
    lines = as_md.stdout.splitlines()
    assert lines[0] == "<!-- herokustack-plan -->"
    assert any(ln.startswith(f"| `{first}` | 1 | 1 | 0 | 0 | $") for ln in lines)
    assert any(ln.startswith(f"| `{second.stem}` | 7 | 0 | 0 | 0 | $") for ln in lines)
    assert any(ln.startswith("| **Total** | 8 | 1 | 0 | 0 | $") for ln in lines)
    assert as_md.stdout.count("<details>") == 4  # 2 apps, the checks and their fixes
    no_secret_anywhere(cli)


def test_plan_shows_checks_of_changing_apps_and_cost(cli: Cli, emu: Any, tmp_path: Path):
    name, doc, path = converged_app(cli, emu, tmp_path)
    steady = write_stack(tmp_path, stack_doc(unique_name("s")))
    assert cli("apply", str(steady), "--auto-approve").exit_code == 0
    change_file(tmp_path, doc)  # web 2 -> 3 standard-1x: +$25.00 a month

    text = cli("plan", str(path), "--cost-warn-above", "10")
    assert text.exit_code == 0, text.output
    assert "Checks of the apps that change (fixes: herokustack check)" in text.stdout
    assert f"error   HS004 {name}: Postgres `database` is on heroku-postgresql:essential-0" in (
        text.stdout
    )
    assert f"{name}: cost: " in text.stdout and "(+$25.00)" in text.stdout
    assert "warning: the monthly cost grows by +$25.00, more than --cost-warn-above $10.00" in (
        text.stderr
    )
    doc_json = json.loads(cli("plan", str(path), str(steady), "--format", "json").stdout)
    jsonschema.validate(doc_json, SCHEMA)
    first = doc_json["apps"][0]
    assert first["cost_after_cents"] - first["cost_before_cents"] == 2500
    total = doc_json["summary"]["cost_after_cents"] - doc_json["summary"]["cost_before_cents"]
    assert total == sum(a["cost_after_cents"] - a["cost_before_cents"] for a in doc_json["apps"])
    # Only the app that changes is checked; the steady one (deferred formation only) is not.
    assert doc_json["apps"][1]["summary"]["add"] == doc_json["apps"][1]["summary"]["change"] == 0
    assert {f["app"] for f in doc_json["checks"]["findings"]} == {name}

    quiet = cli("plan", str(path), "--no-checks", "--no-cost")
    assert "Cost per month" not in quiet.stdout and "Checks of" not in quiet.stdout
    bad = cli("plan", str(path), "--cost-warn-above", "lots")
    assert bad.exit_code == 1
    assert bad.stderr.strip().splitlines() == [
        "error: --cost-warn-above: 'lots': expected an amount in US dollars, e.g. 100 or 99.50"
    ]


def test_a_destroy_allowed_at_plan_time_is_reviewed_then_applied(
    cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path
):
    """The reviewed plan carries --allow-destroy: apply of the saved plan takes no options."""
    name, doc, path = converged_app(cli, emu, tmp_path)
    replacing = {"plan": "heroku-postgresql:essential-0", "as": "REDIS", "protect": False}
    doc["addons"]["redis"] = replacing
    write_stack(tmp_path, doc)
    saved = tmp_path / "plan.json"

    refused = cli("plan", str(path), "--out", str(saved), "--format", "json")
    assert refused.exit_code == 0, refused.output
    assert json.loads(refused.stdout)["summary"]["refused"] == 1
    planned = cli("plan", str(path), "--allow-destroy", "redis", "--out", str(saved))
    assert planned.exit_code == 0, planned.output
    assert "1 to add, 0 to change, 1 to destroy" in planned.stdout
    options = cli("apply", str(saved), "--allow-destroy", "redis")
    assert options.exit_code == 1 and "options of plan, not of applying" in options.stderr

    applied = cli("apply", str(saved))
    assert applied.exit_code == 0, applied.output
    assert "heroku-redis" not in heroku.addons(name)
    assert cli("plan", str(path), "--detailed-exitcode").exit_code == 0
