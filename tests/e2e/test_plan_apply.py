"""`herokustack plan` / `apply` through the CLI against the emulator over HTTP."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import (
    RELEASED,
    SECRET,
    Cli,
    Heroku,
    assert_plan_empty,
    converge,
    official_cli,
    plan_json,
    refusing_plan,
    stack_doc,
    unique_name,
    write_stack,
)


def no_secret_in(cli: Cli) -> None:
    for output in cli.outputs:
        assert SECRET not in output


def test_create_from_nothing_then_plan_is_empty(cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path):
    name = unique_name()
    path = write_stack(tmp_path, stack_doc(name))

    plan = cli("plan", str(path), "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    lines = plan.stdout.splitlines()
    assert f"  + app {name}: region us, stack heroku-24" in lines
    assert "  + add-on database (DATABASE): heroku-postgresql:essential-0" in lines
    assert "  + add-on logging (PAPERTRAIL): papertrail:choklad" in lines
    assert '  + config PYTHONUNBUFFERED = "1"' in lines
    assert "  + config SECRET_KEY = (sensitive)" in lines
    assert "  + backup database (DATABASE): daily at 02:00 UTC" in lines
    assert any(line.startswith("  > formation web: 2 × standard-1x") for line in lines)
    assert f"{name}: 7 to add, 0 to change, 0 to destroy, 2 deferred" in lines

    doc = plan_json(cli, path)
    app = doc["apps"][0]
    assert app["exists"] is False
    assert doc["changes_pending"] is True
    assert app["summary"] == {"add": 7, "change": 0, "destroy": 0, "refused": 0, "deferred": 2}
    secret = next(c for c in app["changes"] if c["name"] == "SECRET_KEY")
    assert secret["sensitive"] is True and secret["after"] is None

    applied = cli("apply", str(path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert f"{name}: applied 7 changes" in applied.stdout
    assert heroku.exists(name)
    addons = heroku.addons(name)
    assert {s: a["plan"]["name"] for s, a in addons.items()} == {
        "heroku-postgresql": "heroku-postgresql:essential-0",
        "heroku-redis": "heroku-redis:mini",
        "papertrail": "papertrail:choklad",
    }
    config = heroku.config(name)
    assert config["SECRET_KEY"] == SECRET and config["PYTHONUNBUFFERED"] == "1"
    [schedule] = heroku.schedules(addons["heroku-postgresql"]["id"])
    assert (schedule["hour"], schedule["timezone"], schedule["name"]) == (2, "UTC", "DATABASE_URL")

    # No code yet: formation stays deferred, which is not a pending change.
    again = cli("plan", str(path), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "deploy the app's code" in again.stdout

    emu.deploy(name, RELEASED)
    after_deploy = cli("plan", str(path))
    assert "  ~ formation web size: basic → standard-1x" in after_deploy.stdout
    assert "  ~ formation worker quantity: 0 → 1" in after_deploy.stdout
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert heroku.formation(name) == {"web": (2, "standard-1x"), "worker": (1, "standard-1x")}
    assert_plan_empty(cli, path)
    no_secret_in(cli)


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node.setdefault(key, {})
        if value is None:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return mutate


def _prune(doc: dict[str, Any]) -> None:
    doc["app"]["prune_config"] = True
    del doc["config"]["PYTHONUNBUFFERED"]


def _state_formation(name: str, heroku: Heroku) -> Any:
    return heroku.formation(name)


FIELD_CASES = [
    pytest.param(
        _set(("formation", "web", "quantity"), 3),
        {},
        "~ formation web quantity: 2 → 3",
        ("update", "formation", "quantity"),
        lambda n, h: h.formation(n)["web"] == (3, "standard-1x"),
        id="scale",
    ),
    pytest.param(
        _set(("formation", "worker", "size"), "standard-2x"),
        {},
        "~ formation worker size: standard-1x → standard-2x",
        ("update", "formation", "size"),
        lambda n, h: h.formation(n)["worker"] == (1, "standard-2x"),
        id="resize",
    ),
    pytest.param(
        _set(("addons", "redis", "plan"), "heroku-redis:premium-0"),
        {},
        "~ add-on redis (REDIS): heroku-redis:mini → heroku-redis:premium-0",
        ("update", "addon", "plan"),
        lambda n, h: h.addons(n)["heroku-redis"]["plan"]["name"] == "heroku-redis:premium-0",
        id="addon-plan",
    ),
    pytest.param(
        _set(("config", "FEATURE_X"), "on"),
        {},
        '+ config FEATURE_X = "on"',
        ("create", "config", None),
        lambda n, h: h.config(n)["FEATURE_X"] == "on",
        id="config-set",
    ),
    pytest.param(
        _set(("config", "PYTHONUNBUFFERED"), "0"),
        {},
        '~ config PYTHONUNBUFFERED: "1" → "0"',
        ("update", "config", None),
        lambda n, h: h.config(n)["PYTHONUNBUFFERED"] == "0",
        id="config-change",
    ),
    pytest.param(
        _prune,
        {},
        "- config PYTHONUNBUFFERED  # not in the stack file (prune_config)",
        ("destroy", "config", None),
        lambda n, h: "PYTHONUNBUFFERED" not in h.config(n) and "DATABASE_URL" in h.config(n),
        id="config-unset",
    ),
    pytest.param(
        lambda doc: None,
        {"APP_SECRET": "a-new-secret-value-0815"},
        "~ config SECRET_KEY (sensitive value changed)",
        ("update", "config", None),
        lambda n, h: h.config(n)["SECRET_KEY"] == "a-new-secret-value-0815",
        id="secret-change",
    ),
    pytest.param(
        _set(("addons", "database", "backups"), {"at": "05:00", "timezone": "Europe/Paris"}),
        {},
        "~ backup database (DATABASE) schedule: 02:00 UTC → 05:00 Europe/Paris",
        ("update", "backup", "schedule"),
        lambda n, h: (
            [
                (s["hour"], s["timezone"])
                for s in h.schedules(h.addons(n)["heroku-postgresql"]["id"])
            ]
            == [(5, "Europe/Paris")]
        ),
        id="backup-time",
    ),
    pytest.param(
        _set(("addons", "database", "backups"), None),
        {},
        "- backup database (DATABASE): daily at 02:00 UTC",
        ("destroy", "backup", "schedule"),
        lambda n, h: h.schedules(h.addons(n)["heroku-postgresql"]["id"]) == [],
        id="backup-remove",
    ),
    pytest.param(
        _set(("app", "maintenance"), True),
        {},
        "~ maintenance: off → on",
        ("update", "maintenance", "maintenance"),
        lambda n, h: h.get(f"/apps/{n}")["maintenance"] is True,
        id="maintenance",
    ),
    pytest.param(
        _set(("app", "stack"), "heroku-22"),
        {},
        "build_stack: heroku-24 → heroku-22  # takes effect at next deploy",
        ("update", "app", "build_stack"),
        lambda n, h: h.get(f"/apps/{n}")["build_stack"]["name"] == "heroku-22",
        id="stack",
    ),
]


@pytest.mark.parametrize(("mutate", "env", "line", "kind", "check"), FIELD_CASES)
def test_each_field_kind_plans_applies_and_converges(
    cli: Cli,
    emu: Any,
    heroku: Heroku,
    tmp_path: Path,
    mutate: Callable[[dict[str, Any]], None],
    env: dict[str, str],
    line: str,
    kind: tuple[str, str, str | None],
    check: Callable[[str, Heroku], bool],
):
    name = unique_name()
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)

    changed = copy.deepcopy(doc)
    mutate(changed)
    write_stack(tmp_path, changed)
    plan = cli("plan", str(path), "--detailed-exitcode", env=dict(env))
    assert plan.exit_code == 2, plan.output
    lines = [ln.strip() for ln in plan.stdout.splitlines() if ln.startswith("  ")]
    changes = [ln for ln in lines if not ln.startswith("#")]  # a long line's note: below it
    assert any(line in c for c in changes), plan.stdout
    assert len(changes) == 1, plan.stdout  # only the field that changed

    result = cli("plan", str(path), "--format", "json", env=dict(env))
    [change] = json.loads(result.stdout)["apps"][0]["changes"]
    assert (change["action"], change["resource"], change["field"]) == kind

    applied = cli("apply", str(path), "--auto-approve", env=dict(env))
    assert applied.exit_code == 0, applied.output
    assert check(name, heroku)
    final = cli("plan", str(path), "--detailed-exitcode", env=dict(env))
    assert final.exit_code == 0, final.output
    no_secret_in(cli)
    assert "a-new-secret-value-0815" not in "".join(cli.outputs)


def test_removing_the_database_never_destroys_it(
    cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path
):
    name = unique_name()
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    database = heroku.addons(name)["heroku-postgresql"]

    del doc["addons"]["database"]
    del doc["addons"]["logging"]
    write_stack(tmp_path, doc)
    plan = cli("plan", str(path), "--detailed-exitcode")
    assert plan.exit_code == 2
    lines = plan.stdout.splitlines()
    refused = f"  ! add-on {database['name']} (DATABASE): heroku-postgresql:essential-0"
    assert refused in lines, plan.stdout  # its long note wrapped on the lines below
    assert "never destroys" in lines[lines.index(refused) + 1]
    assert any(ln.startswith("  - add-on papertrail-") for ln in lines), plan.stdout
    assert f"{name}: 0 to add, 0 to change, 1 to destroy, 1 refused" in lines

    for extra in ([], ["--allow-destroy", database["name"]]):  # removed: never destroyed
        applied = cli("apply", str(path), "--auto-approve", *extra)
        assert applied.exit_code == 0, applied.output
        assert heroku.addons(name)["heroku-postgresql"]["id"] == database["id"]
    assert "papertrail" not in heroku.addons(name)
    refused = cli("plan", str(path), "--detailed-exitcode")
    assert refused.exit_code == 2 and "refused" in refused.stdout


def test_a_refused_replacement_names_only_the_missing_steps(
    cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path
):
    name = unique_name()
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    redis = heroku.addons(name)["heroku-redis"]
    doc["addons"]["redis"] = {"plan": "heroku-postgresql:essential-0", "as": "REDIS"}

    def refusal(*extra: str) -> str:
        write_stack(tmp_path, doc)
        plan = cli("plan", str(path), *extra)
        assert plan.exit_code == 0, plan.output
        lines = plan.stdout.splitlines()
        (line,) = [ln for ln in lines if ln.startswith("  ! add-on redis")]
        assert line.startswith("  ! add-on redis (REDIS): heroku-redis:mini → heroku-postgresql")
        if "  # " in line:  # short enough to keep its note
            assert len(line) <= 100, line
            return line.split("  # ", 1)[1]
        below = lines[lines.index(line) + 1 :]
        notes = list(itertools.takewhile(lambda ln: ln.startswith("      # "), below))
        assert notes and all(len(ln) <= 100 for ln in notes), plan.stdout
        return " ".join(ln.removeprefix("      # ") for ln in notes)

    start = "destroys its data: "
    assert refusal() == start + "set addons.redis.protect = false, pass --allow-destroy redis"
    assert refusal("--allow-destroy", "redis") == start + "set addons.redis.protect = false"
    doc["addons"]["redis"]["protect"] = False
    assert refusal() == start + "pass --allow-destroy redis"
    by_heroku_name = cli("plan", str(path), "--allow-destroy", redis["name"])
    assert f"{name}: 1 to add, 0 to change, 1 to destroy" in by_heroku_name.stdout

    applied = cli("apply", str(path), "--auto-approve", "--allow-destroy", "redis")
    assert applied.exit_code == 0, applied.output
    assert "heroku-redis" not in heroku.addons(name)


def test_an_unknown_allow_destroy_name_is_an_error_listing_the_names(
    cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path
):
    name = unique_name()
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    live_names = [a["name"] for a in heroku.get(f"/apps/{name}/addons")]
    doc["addons"]["redis"] = {"plan": "heroku-postgresql:essential-0", "as": "REDIS"}
    write_stack(tmp_path, doc)

    for command in (["plan"], ["apply", "--auto-approve"]):
        result = cli(*command, str(path), "--allow-destroy", "redis", "--allow-destroy", "nosuch")
        assert result.exit_code == 1
        (line,) = result.stderr.splitlines()
        assert line.startswith(
            "error: --allow-destroy nosuch: no add-on of the planned apps has this name "
            "(add-ons: database, redis, logging, "
        ), line
        assert all(n in line for n in live_names) and "Traceback" not in result.output
    assert "heroku-redis" in heroku.addons(name)  # apply wrote nothing
    new = write_stack(tmp_path, stack_doc(unique_name(), addons={}))
    nothing = cli("plan", str(new), "--allow-destroy", "database")
    assert nothing.exit_code == 1
    assert "has this name (add-ons: none)" in nothing.stderr


def test_backups_wait_for_a_database_still_provisioning(cli: Cli, heroku: Heroku, tmp_path: Path):
    name = unique_name()
    doc = stack_doc(name, addons={})
    path = write_stack(tmp_path, doc)
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    plan = "heroku-postgresql:essential-0"
    made = heroku.post(f"/apps/{name}/addons", {"plan": plan, "attachment": {"name": "DATABASE"}})
    assert made["state"] == "provisioning"
    doc["addons"] = {"database": {"plan": plan, "backups": {"at": "06:00"}}}
    write_stack(tmp_path, doc)
    applied = cli("apply", str(path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert [s["hour"] for s in heroku.schedules(made["id"])] == [6]


def test_region_cannot_change(cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path):
    name = unique_name()
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    doc["app"]["region"] = "eu"
    write_stack(tmp_path, doc)
    plan = cli("plan", str(path))
    assert f"  ! app {name} region: us → eu\n      # an app cannot move region" in plan.stdout
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert heroku.get(f"/apps/{name}")["region"]["name"] == "us"


def test_partial_failure_reports_per_app_and_converges_on_rerun(
    cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path
):
    good, bad = unique_name("g"), unique_name("b")
    good_path = write_stack(tmp_path, stack_doc(good))
    bad_doc = stack_doc(bad)
    bad_doc["addons"]["logging"]["plan"] = "papertrail:fixa"
    bad_path = write_stack(tmp_path, bad_doc)

    with refusing_plan(emu, bad, "papertrail:fixa"):
        applied = cli("apply", str(good_path), str(bad_path), "--auto-approve")
    assert applied.exit_code == 1
    out = applied.stdout
    assert f"{good}: applied 7 changes" in out
    assert f"{bad}: FAILED at add-ons: POST apps/{bad}/addons: HTTP 422" in out
    report = out[out.index(f"{bad}: FAILED") :]
    done = report[report.index("  done:") : report.index("  failed:")]
    failed = report[report.index("  failed:") : report.index("  not done:")]
    not_done = report[report.index("  not done:") :]
    assert f"+ app {bad}" in done and "add-on database" in done and "add-on redis" in done
    assert "add-on logging (PAPERTRAIL): papertrail:fixa" in failed
    assert "config PYTHONUNBUFFERED" in not_done and "backup database" in not_done
    assert "1 of 2 apps failed; run apply again" in out
    assert heroku.exists(bad) and "SECRET_KEY" not in heroku.config(bad)

    rerun = cli("apply", str(good_path), str(bad_path), "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert f"{bad}: applied 4 changes" in rerun.stdout  # only what was left
    assert "SECRET_KEY" in heroku.config(bad)
    no_secret_in(cli)


def test_apply_refuses_to_prompt_without_a_terminal(cli: Cli, heroku: Heroku, tmp_path: Path):
    name = unique_name()
    path = write_stack(tmp_path, stack_doc(name))
    result = cli("apply", str(path))
    assert result.exit_code == 1
    assert "no terminal to ask on" in result.stderr and "--auto-approve" in result.stderr
    assert "Traceback" not in result.output
    assert not heroku.exists(name)


def test_missing_secret_is_one_clear_line(cli: Cli, tmp_path: Path):
    path = write_stack(tmp_path, stack_doc(unique_name()))
    result = cli("plan", str(path), env={"APP_SECRET": None})
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: {path}: config.SECRET_KEY: environment variable APP_SECRET is not set"
    )


def test_app_option_limits_the_plan(cli: Cli, tmp_path: Path):
    one, two = unique_name(), unique_name()
    paths = [write_stack(tmp_path, stack_doc(n)) for n in (one, two)]
    result = cli("plan", *map(str, paths), "--app", two, "--format", "json")
    assert [a["app"] for a in json.loads(result.stdout)["apps"]] == [two]
    unknown = cli("plan", *map(str, paths), "--app", "nope-app")
    assert unknown.exit_code == 1
    assert "--app nope-app: no stack file declares this app" in unknown.stderr


def test_auth_errors_are_clear_and_never_show_the_key(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = write_stack(tmp_path, stack_doc(unique_name()))
    monkeypatch.setenv("HOME", str(tmp_path))
    missing = cli("plan", str(path), env={"HEROKU_API_KEY": None, "NETRC": None})
    assert missing.exit_code == 1
    assert "no Heroku API key: set HEROKU_API_KEY" in missing.stderr
    wrong_key = "wrong-key-1234567890abcdef"
    wrong = cli("plan", str(path), env={"HEROKU_API_KEY": wrong_key})
    assert wrong.exit_code == 1
    assert "HTTP 401" in wrong.stderr and wrong_key not in wrong.output


def test_netrc_entry_is_used(cli: Cli, emu: Any, tmp_path: Path):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine api.heroku.com\n  login me@example.com\n  password {emu.api_key}\n")
    netrc.chmod(0o600)
    path = write_stack(tmp_path, stack_doc(unique_name()))
    result = cli("plan", str(path), env={"HEROKU_API_KEY": None, "NETRC": str(netrc)})
    assert result.exit_code == 0, result.output


@pytest.mark.cli
def test_official_cli_reads_what_apply_did(cli: Cli, emu: Any, tmp_path: Path):
    name = unique_name()
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    doc["formation"]["web"] = {"quantity": 3, "size": "standard-2x"}
    doc["config"]["FEATURE_X"] = "on"
    doc["addons"]["database"]["backups"] = {"at": "04:00", "timezone": "Europe/Paris"}
    doc["app"]["maintenance"] = True
    doc["app"]["stack"] = "heroku-22"
    write_stack(tmp_path, doc)
    assert cli("apply", str(path), "--auto-approve").exit_code == 0

    ps = official_cli(emu, "ps", "-a", name)
    assert "=== web (Standard-2X)" in ps and ps.count("web.") == 3
    config = official_cli(emu, "config", "-a", name)
    assert "FEATURE_X:" in config and "on" in config
    schedules = official_cli(emu, "pg:backups:schedules", "-a", name)
    assert "DATABASE_URL: daily at 4:00 Europe/Paris" in schedules
    info = json.loads(official_cli(emu, "apps:info", "-a", name, "--json"))
    assert info["app"]["maintenance"] is True
    assert info["app"]["build_stack"]["name"] == "heroku-22"


def test_apply_json_reports_plan_and_result(cli: Cli, heroku: Heroku, tmp_path: Path):
    name = unique_name()
    path = write_stack(tmp_path, stack_doc(name, addons={}, formation={}))
    result = cli("apply", str(path), "--auto-approve", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["plan"]["summary"]["add"] == 3  # app, two config vars
    [outcome] = doc["result"]["apps"]
    assert outcome["ok"] and outcome["app"] == name and len(outcome["done"]) == 3
    assert outcome["not_done"] == [] and outcome["error"] is None
    assert SECRET not in result.stdout and heroku.config(name)["SECRET_KEY"] == SECRET
    nothing = cli("apply", str(path), "--auto-approve", "--format", "json")
    assert json.loads(nothing.stdout)["result"] is None


def test_a_live_value_that_looks_like_a_secret_is_never_shown(
    cli: Cli, emu: Any, heroku: Heroku, tmp_path: Path
):
    """A key the file now writes literally may still hold a real secret on Heroku."""
    name = unique_name()
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    live_token = "ghp_" + "Zx81Qa" * 6  # a GitHub token, set by hand
    heroku.patch(f"/apps/{name}/config-vars", {"DEPLOY_TOKEN": live_token, "TIER": "gold"})
    doc["config"].update({"DEPLOY_TOKEN": "rotate-me", "TIER": "silver"})
    write_stack(tmp_path, doc)
    for fmt in ("text", "json", "markdown"):
        plan = cli("plan", str(path), "--format", fmt, "--no-checks")
        assert plan.exit_code == 0, plan.output
        assert live_token not in plan.output
    text = cli("plan", str(path), "--no-checks").stdout
    assert '~ config DEPLOY_TOKEN: (hidden) → "rotate-me"' in text
    assert "live value hidden: it looks like a secret" in text
    assert '~ config TIER: "gold" → "silver"' in text
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert heroku.get(f"/apps/{name}/config-vars")["DEPLOY_TOKEN"] == "rotate-me"
