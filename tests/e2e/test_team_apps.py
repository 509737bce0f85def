"""Apps owned by a Heroku Team (`[app] team`, `[app] locked`): created in the team, a personal
app transferred into it, a move between teams refused unless --allow-transfer (also in a saved
plan), lock and unlock, import and drift, the requests each costs, a team the account cannot
see, validation, check HS018; and the official CLI sees what herokustack applied (and herokustack
sees what the CLI did)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import tomli
from e2e_helpers import Cli, Heroku, assert_plan_empty, plan_requests, unique_name, write_stack
from official_heroku import installed, run_heroku_batch

from herokustack.emulator import EmulatorServer
from herokustack.emulator.models.account import ACCOUNT_EMAIL

TEAM = "acme"  # the emulator's default team, administered by its account


def doc(name: str, environment: str = "staging", **app: Any) -> dict[str, Any]:
    return {"app": {"name": name, "environment": environment, **app}}


def team_app(heroku: Heroku, name: str) -> dict[str, Any]:
    info: dict[str, Any] = heroku.get(f"/teams/apps/{name}")
    return info


def owner(heroku: Heroku, name: str) -> tuple[str, str | None]:
    info = heroku.get(f"/apps/{name}")
    return info["owner"]["email"], (info["team"] or {}).get("name")


def new_team(heroku: Heroku) -> str:
    name = unique_name("tm")
    heroku.post("/teams", {"name": name})
    return name


def writes(emu: EmulatorServer, cli: Cli, *args: str) -> tuple[Any, list[str]]:
    """Run `herokustack ARGS`; its result and each write it sent (`METHOD /path {body}`)."""
    seen: list[str] = []

    def record(method: str, path: str, body: Any) -> None:
        if method != "GET":
            seen.append(f"{method} {path} {json.dumps(body, sort_keys=True)}")

    with emu.observing(record):
        result = cli(*args)
    return result, seen


def test_a_new_app_is_created_in_its_team_locked_as_declared(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("tc")
    path = write_stack(tmp_path, doc(name, team=TEAM, locked=True))
    plan = cli("plan", str(path))
    assert f"  + app {name}: region us, stack heroku-24, team acme, locked\n" in plan.output
    applied, sent = writes(emu, cli, "apply", str(path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    body = {"locked": True, "name": name, "region": "us", "stack": "heroku-24", "team": TEAM}
    assert sent[0] == f"POST /teams/apps {json.dumps(body, sort_keys=True)}"
    assert owner(heroku, name) == ("acme@herokumanager.com", TEAM)
    assert team_app(heroku, name)["locked"] is True
    assert_plan_empty(cli, path)


def test_a_personal_app_is_transferred_into_its_team_then_locked(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("tp")
    heroku.post("/apps", {"name": name})
    path = write_stack(tmp_path, doc(name, team=TEAM, locked=True))
    plan = cli("plan", str(path))
    assert f"  ~ app owner: {ACCOUNT_EMAIL} → team acme\n" in plan.output
    assert "  ~ app locked: off → on\n" in plan.output
    data = json.loads(cli("plan", str(path), "--format", "json").stdout)
    changes = [
        (c["resource"], c["field"], c["before"], c["after"]) for c in data["apps"][0]["changes"]
    ]
    assert changes == [("team", "owner", ACCOUNT_EMAIL, TEAM), ("locked", "locked", False, True)]
    markdown = cli("plan", str(path), "--format", "markdown").stdout
    assert f"~ app owner: {ACCOUNT_EMAIL} → team acme" in markdown

    applied, sent = writes(emu, cli, "apply", str(path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert sent == [  # the transfer first: only a team app can be locked
        f'PATCH /teams/apps/{name} {{"owner": "acme"}}',
        f'PATCH /teams/apps/{name} {{"locked": true}}',
    ]
    assert owner(heroku, name) == ("acme@herokumanager.com", TEAM)
    assert_plan_empty(cli, path)


def test_a_move_between_teams_is_refused_unless_allowed_also_in_a_saved_plan(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    other = new_team(heroku)
    name = unique_name("tt")
    heroku.post("/teams/apps", {"name": name, "team": TEAM})
    path = write_stack(tmp_path, doc(name, team=other))
    plan = cli("plan", str(path)).output
    assert f"  ! app owner: team acme → team {other}\n" in plan  # its note below it, wrapped
    note = " ".join(re.sub(r"\n +# ", " ", plan).split())
    assert (
        f"the app belongs to team acme; moving it changes who can reach it and who pays: "
        f"pass --allow-transfer {name}" in note
    )
    applied, sent = writes(emu, cli, "apply", str(path), "--auto-approve")
    assert sent == [] and owner(heroku, name)[1] == TEAM

    typo = cli("plan", str(path), "--allow-transfer", "nope")
    assert typo.exit_code == 1
    assert f"--allow-transfer nope: no planned app has this name (apps: {name})" in typo.output

    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--allow-transfer", name, "--out", str(saved)).exit_code == 0
    document = json.loads(saved.read_text())
    assert document["allow_transfer"] == [name]
    assert document["apps"][0]["changes"][0]["action"] == "update"
    extra = cli("apply", str(saved), "--allow-transfer", name)
    assert extra.exit_code == 1 and "--allow-transfer are options of plan" in extra.output
    applied, sent = writes(emu, cli, "apply", str(saved))
    assert applied.exit_code == 0, applied.output
    assert sent == [f'PATCH /teams/apps/{name} {{"owner": "{other}"}}']
    assert owner(heroku, name) == (f"{other}@herokumanager.com", other)
    assert_plan_empty(cli, path)

    # Without the option at plan time, the saved plan only holds the refusal: apply does nothing.
    back = write_stack(tmp_path, doc(name, team=TEAM))
    assert cli("plan", str(back), "--out", str(saved)).exit_code == 0
    applied, sent = writes(emu, cli, "apply", str(saved))
    assert applied.exit_code == 0 and sent == []
    applied = cli("apply", str(back), "--auto-approve", "--allow-transfer", name)
    assert applied.exit_code == 0 and owner(heroku, name)[1] == TEAM


def test_a_saved_transfer_is_stale_once_the_owner_changes_by_hand(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("ts")
    heroku.post("/apps", {"name": name})
    path = write_stack(tmp_path, doc(name, team=TEAM))
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved)).exit_code == 0
    heroku.patch(f"/teams/apps/{name}", {"owner": new_team(heroku)})
    result = cli("apply", str(saved))
    assert result.exit_code == 1
    assert f"{name}: the app's owner changed since the plan was made" in result.stderr


def test_lock_and_unlock_a_team_app(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("tl")
    heroku.post("/teams/apps", {"name": name, "team": TEAM})
    for locked, line in ((True, "off → on"), (False, "on → off")):
        path = write_stack(tmp_path, doc(name, team=TEAM, locked=locked))
        assert f"  ~ app locked: {line}\n" in cli("plan", str(path)).output
        applied, sent = writes(emu, cli, "apply", str(path), "--auto-approve")
        assert applied.exit_code == 0, applied.output
        assert sent == [f'PATCH /teams/apps/{name} {{"locked": {json.dumps(locked)}}}']
        assert team_app(heroku, name)["locked"] is locked
        assert_plan_empty(cli, path)


def test_plan_reads_the_lock_only_when_declared_and_the_teams_only_to_move_into_one(
    cli: Cli, heroku: Heroku, emu: EmulatorServer, tmp_path: Path
) -> None:
    personal, member, locked = unique_name("rp"), unique_name("rm"), unique_name("rl")
    heroku.post("/apps", {"name": personal})
    for name in (member, locked):
        heroku.post("/teams/apps", {"name": name, "team": TEAM})
    paths = [
        write_stack(tmp_path, doc(personal)),
        write_stack(tmp_path, doc(member, team=TEAM)),
        write_stack(tmp_path, doc(locked, team=TEAM, locked=False)),
    ]
    seen = plan_requests(cli, emu, *paths)
    assert [s for s in seen if "/teams" in s] == [f"GET /teams/apps/{locked}"]

    movers = [unique_name("ra"), unique_name("rb")]
    for name in movers:
        heroku.post("/apps", {"name": name})
    moving = [write_stack(tmp_path, doc(n, team=TEAM, locked=False)) for n in movers]
    seen = []
    with emu.observing(lambda method, path, body: seen.append(f"{method} {path}")):
        assert cli("plan", *map(str, moving)).exit_code == 0
    assert [s for s in seen if "/teams" in s] == ["GET /teams"]  # once; personal: never locked


def test_a_team_the_account_cannot_see_is_a_plan_error(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("tu")
    path = write_stack(tmp_path, doc(name, team="acmee"))
    result = cli("plan", str(path))
    assert result.exit_code == 1
    text = result.output.replace("\n", " ")
    assert (
        f"{path}: app.team: the account cannot see a Heroku Team 'acmee'; did you mean acme?"
        in text
    )
    assert "(its teams: acme" in text and "Traceback" not in text
    assert not heroku.exists(name)


def test_import_writes_team_and_lock_and_plans_empty(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    locked, unlocked = unique_name("il"), unique_name("iu")
    heroku.post("/teams/apps", {"name": locked, "team": TEAM, "locked": True})
    heroku.post("/teams/apps", {"name": unlocked, "team": TEAM})
    for name in (locked, unlocked):
        out = tmp_path / f"{name}.toml"
        result = cli("import", name, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert_plan_empty(cli, out)
        assert cli("drift", str(out)).exit_code == 0
    assert tomli.loads((tmp_path / f"{locked}.toml").read_text())["app"]["team"] == TEAM
    assert tomli.loads((tmp_path / f"{locked}.toml").read_text())["app"]["locked"] is True
    assert "locked" not in (tmp_path / f"{unlocked}.toml").read_text()


def test_drift_shows_owner_and_lock_changed_by_hand(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    declared, bare = unique_name("dd"), unique_name("db")
    paths = [
        write_stack(tmp_path, doc(declared, team=TEAM, locked=False)),
        write_stack(tmp_path, doc(bare)),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    assert cli("drift", *map(str, paths)).exit_code == 0
    heroku.patch(f"/teams/apps/{declared}", {"locked": True})
    heroku.patch(f"/teams/apps/{bare}", {"owner": TEAM})
    drift = cli("drift", *map(str, paths))
    assert drift.exit_code == 2, drift.output
    assert "  ~ app locked: live on → declared off\n" in drift.output
    assert "  + app owner: on Heroku (team acme), not declared  # apply leaves it\n" in drift.output
    heroku.patch(f"/teams/apps/{bare}", {"locked": True})
    heroku.patch(f"/teams/apps/{declared}", {"owner": ACCOUNT_EMAIL})
    drift = cli("drift", *map(str, paths)).output
    assert f"  ~ app owner: live {ACCOUNT_EMAIL} → declared team acme\n" in drift
    assert "  + app locked: on Heroku (on), not declared  # apply leaves it\n" in drift
    assert_plan_empty(cli, paths[1])  # an undeclared team and lock are not managed


@pytest.mark.parametrize(
    ("app", "message"),
    [
        ({"locked": True}, "app.locked: only a team app can be locked: set app.team too"),
        ({"team": "Acme"}, "app.team: must be a Heroku Team name: up to 30 lower-case letters"),
        ({"team": TEAM, "locked": "yes"}, "app.locked: must be true or false"),
    ],
)
def test_validate_explains_bad_team_keys(
    cli: Cli, tmp_path: Path, app: dict[str, Any], message: str
) -> None:
    path = write_stack(tmp_path, doc("bad-team", **app))
    result = cli("validate", str(path), api=False)
    assert result.exit_code == 1
    assert f"{path.name}" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_eco_dynos_are_refused_for_team_apps_by_validate_and_the_emulator(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("te")
    stack = {**doc(name, team=TEAM), "formation": {"web": {"quantity": 1, "size": "eco"}}}
    result = cli("validate", str(write_stack(tmp_path, stack)), api=False)
    assert result.exit_code == 1
    assert (
        "formation.web.size: eco dynos are not available to team apps (app.team)" in result.output
    )

    heroku.post("/teams/apps", {"name": name, "team": TEAM})
    emu.deploy(name, {"web": "gunicorn app:wsgi"})
    url = f"{emu.url}/apps/{name}/formation"
    eco = {"updates": [{"type": "web", "quantity": 1, "size": "eco"}]}
    refused = heroku.session.patch(url, json=eco, timeout=10)
    assert refused.status_code == 422
    assert "Eco dynos are not available" in refused.json()["message"]


def test_check_warns_of_a_production_app_outside_a_team(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    personal, team_owned = unique_name("hp"), unique_name("ht")
    heroku.post("/apps", {"name": personal})
    heroku.post("/teams/apps", {"name": team_owned, "team": TEAM})
    files = {n: write_stack(tmp_path, doc(n, "production")) for n in (personal, team_owned)}
    offline = cli("check", *map(str, files.values()), "--format", "json", api=False)
    hs018 = [f for f in json.loads(offline.stdout)["findings"] if f["rule_id"] == "HS018"]
    assert {f["app"] for f in hs018} == {personal, team_owned}
    assert hs018[0]["severity"] == "warning"

    live = cli("check", *map(str, files.values()), "--live", "--format", "json")
    hs018 = [f for f in json.loads(live.stdout)["findings"] if f["rule_id"] == "HS018"]
    assert [(f["app"], f["message"]) for f in hs018] == [
        (
            personal,
            f"production app is owned by the personal account {ACCOUNT_EMAIL}, not a Heroku Team",
        )
    ]
    declared = write_stack(tmp_path, doc(personal, "production", team=TEAM))
    quiet = cli("check", str(declared), "--format", "json", api=False)
    assert "HS018" not in quiet.stdout


@pytest.mark.skipif(not installed(), reason="the official heroku CLI is not installed (make node)")
def test_the_official_cli_sees_what_herokustack_applied_and_herokustack_sees_the_cli(
    cli: Cli, emu: EmulatorServer, tmp_path: Path
) -> None:
    locked, personal, created = unique_name("ol"), unique_name("op"), unique_name("oc")
    paths = [
        write_stack(tmp_path, doc(locked, team=TEAM, locked=True)),
        write_stack(tmp_path, doc(personal)),
    ]
    assert cli("apply", *map(str, paths), "--auto-approve").exit_code == 0
    home = tmp_path / "home"
    home.mkdir()
    create, listing, info, unlock, transfer = run_heroku_batch(
        emu,
        [
            ["apps:create", created, "--team", TEAM],
            ["apps", "--team", TEAM],
            ["apps:info", "-a", locked],
            ["apps:unlock", "-a", locked],
            ["apps:transfer", TEAM, "-a", personal],
        ],
        home,
    )
    for done in (create, listing, info, unlock, transfer):
        assert done.returncode == 0, (done.args, done.stderr)
    assert f"{locked} [locked]" in listing.stdout and created in listing.stdout
    assert "acme@herokumanager.com" in info.stdout

    imported = tmp_path / "imported.toml"
    assert cli("import", created, "--out", str(imported)).exit_code == 0
    assert tomli.loads(imported.read_text())["app"]["team"] == TEAM
    assert "  ~ app locked: off → on" in cli("plan", str(paths[0])).output
    drift = cli("drift", str(paths[1])).output
    assert "  + app owner: on Heroku (team acme), not declared" in drift
