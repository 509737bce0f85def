"""The official `heroku` CLI (npm, 11.x) works against the emulator and shows what it holds.

Each CLI call costs over a second of Node start-up, so independent commands run in parallel,
in three rounds: changes, then reads, then undoing some changes.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from official_heroku import installed, run_heroku, run_heroku_batch
from typer.testing import CliRunner

from herokustack.cli import app as herokustack_app
from herokustack.emulator import EmulatorServer

pytestmark = [
    pytest.mark.cli,
    pytest.mark.skipif(
        not installed(),
        reason="the official heroku CLI is not installed (run `make node`) or node is missing",
    ),
]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def heroku(emu: EmulatorServer, home: Path, *args: str) -> str:
    done = run_heroku(emu, *args, home=home)
    output = ANSI.sub("", done.stdout + done.stderr)
    assert done.returncode == 0, f"heroku {' '.join(args)} failed:\n{output}"
    return output


def run_all(emu: EmulatorServer, home: Path, commands: list[list[str]]) -> list[str]:
    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(lambda args: heroku(emu, home, *args), commands))


def test_official_cli_commands(emu: EmulatorServer, http: httpx.Client, tmp_path: Path) -> None:
    http.post("/apps", json={"name": "cli-main"}).raise_for_status()
    emu.deploy("cli-main", {"web": "gunicorn app:app", "worker": "celery -A app worker"})
    resize = [{"type": "web", "size": "standard-1x"}, {"type": "worker", "size": "standard-1x"}]
    http.patch("/apps/cli-main/formation", json={"updates": resize}).raise_for_status()
    http.post("/apps/cli-main/addons", json={"plan": "heroku-postgresql:essential-0"})

    run_all(
        emu,
        tmp_path,
        [
            ["apps:create", "cli-new", "--region", "eu"],
            ["ps:scale", "web=2", "worker=1", "-a", "cli-main"],
            ["config:set", "FOO=bar", "-a", "cli-main"],
            ["addons:create", "heroku-redis:mini", "-a", "cli-main"],
            ["maintenance:on", "-a", "cli-main"],
            ["stack:set", "heroku-22", "-a", "cli-main"],
            [
                "pg:backups:schedule",
                "DATABASE_URL",
                "--at",
                "02:00 America/New_York",
                "-a",
                "cli-main",
            ],
        ],
    )
    assert http.get("/apps/cli-new").json()["region"]["name"] == "eu"
    app = http.get("/apps/cli-main").json()
    assert app["maintenance"] is True and app["build_stack"]["name"] == "heroku-22"
    assert {f["type"]: f["quantity"] for f in http.get("/apps/cli-main/formation").json()} == {
        "web": 2,
        "worker": 1,
    }
    assert http.get("/apps/cli-main/config-vars").json()["FOO"] == "bar"

    info, ps, config, addons, schedules, types, releases, pg_info, drains = run_all(
        emu,
        tmp_path,
        [
            ["apps:info", "-a", "cli-main", "--json"],
            ["ps", "-a", "cli-main"],
            ["config", "-a", "cli-main"],
            ["addons", "-a", "cli-main"],
            ["pg:backups:schedules", "-a", "cli-main"],
            ["ps:type", "-a", "cli-main"],
            ["releases", "-a", "cli-main"],
            ["pg:info", "-a", "cli-main"],
            ["drains", "-a", "cli-main", "--json"],
        ],
    )
    assert '"name": "cli-main"' in info and '"maintenance": true' in info
    assert "web.1: up" in ps and "web.2: up" in ps and "worker.1: up" in ps
    assert "Standard-1X" in ps
    assert re.search(r"FOO:\s+bar", config) and "REDIS_URL" in config
    assert "heroku-postgresql" in addons and "heroku-redis" in addons and "mini" in addons
    assert "DATABASE_URL: daily at 2:00 America/New_York" in schedules
    assert re.search(r"web\s+Standard-1X\s+2", types) and "$25" in types
    assert "Set FOO config vars" in releases and "Deploy" in releases
    assert re.search(r"Plan:\s+Essential 0", pg_info) and "Daily at 2:00" in pg_info
    assert drains.strip() == "[]"

    redis = next(
        a for a in http.get("/apps/cli-main/addons").json() if "redis" in a["plan"]["name"]
    )
    run_all(
        emu,
        tmp_path,
        [
            ["maintenance:off", "-a", "cli-main"],
            ["pg:backups:unschedule", "DATABASE_URL", "-a", "cli-main"],
            ["addons:destroy", redis["name"], "-a", "cli-main", "--confirm", "cli-main"],
        ],
    )
    assert http.get("/apps/cli-main").json()["maintenance"] is False
    db = next(
        a for a in http.get("/apps/cli-main/addons").json() if "postgres" in a["plan"]["name"]
    )
    assert http.get(f"/client/v11/databases/{db['id']}/transfer-schedules").json() == []
    assert [a["plan"]["name"] for a in http.get("/apps/cli-main/addons").json()] == [
        "heroku-postgresql:essential-0"
    ]


ACCESS_STACKS = {
    "cli-team": '"alice@acme.com" = ["deploy"]\n"carol@acme.com" = ["manage"]\n',
    "cli-solo": '"bob@example.com" = []\n',
}


def herokustack(emu: EmulatorServer, *args: str) -> str:
    env = {"HEROKU_API_KEY": emu.api_key, "NO_COLOR": "1", "HEROKU_API_URL": None}
    result = CliRunner().invoke(herokustack_app, [*args, "--api-url", emu.url], env=env)
    assert result.exit_code in (0, 2), result.output
    return str(result.output)


def test_official_cli_access_sees_and_changes_what_herokustack_applied(
    emu: EmulatorServer, http: httpx.Client, tmp_path: Path
) -> None:
    http.post("/teams/apps", json={"name": "cli-team", "team": "acme"}).raise_for_status()
    http.post("/apps", json={"name": "cli-solo"}).raise_for_status()
    paths = []
    for name, people in ACCESS_STACKS.items():
        path = tmp_path / f"{name}.toml"
        app = f'[app]\nname = "{name}"\nenvironment = "staging"\n'
        path.write_text(f"{app}\n[access]\n{people}")
        paths.append(str(path))
    herokustack(emu, "apply", *paths, "--auto-approve")

    done = run_heroku_batch(
        emu,
        [
            ["access", "-a", "cli-team"],
            ["access", "-a", "cli-solo"],
            ["access:add", "dave@acme.com", "--permissions", "deploy", "-a", "cli-team"],
            [
                "access:update",
                "alice@acme.com",
                "--permissions",
                "deploy,operate",
                "-a",
                "cli-team",
            ],
            ["access:remove", "carol@acme.com", "-a", "cli-team"],
            ["access:add", "eve@example.com", "-a", "cli-solo"],
            ["access:remove", "bob@example.com", "-a", "cli-solo"],
        ],
        tmp_path,
    )
    team, solo, *changes = (ANSI.sub("", d.stdout + d.stderr) for d in done)
    assert all(d.returncode == 0 for d in done), [team, solo, *changes]
    # What herokustack applied; team admins (the account) come from the team's members.
    assert re.search(r"alice@acme\.com\s+collaborator\s+deploy, view", team), team
    assert re.search(r"carol@acme\.com\s+collaborator\s+manage, view", team), team
    assert re.search(r"you@herokustack\.local\s+admin\s+deploy, manage, operate, view", team)
    assert "herokumanager.com" not in team
    assert re.search(r"bob@example\.com\s+collaborator", solo), solo
    assert re.search(r"you@herokustack\.local\s+owner", solo), solo

    # What the CLI did, as herokustack's plan sees it (the reverse of it).
    plan = herokustack(emu, "plan", *paths)
    assert "~ access alice@acme.com: deploy, operate, view → deploy, view" in plan
    assert "+ access carol@acme.com: manage, view" in plan
    assert "+ access bob@example.com\n" in plan
    assert "dave@acme.com" not in plan and "eve@example.com" not in plan  # not pruned
    listed = {c["user"]["email"]: c for c in http.get("/apps/cli-team/collaborators").json()}
    assert [p["name"] for p in listed["dave@acme.com"]["permissions"]] == ["deploy", "view"]
