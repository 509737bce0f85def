"""The official `heroku` CLI's everyday commands, run against one emulator, answer as on Heroku.

Each case is one command with the exit code and the output fragments Heroku's answer makes
the CLI print (the CLI's source under tests/heroku-cli/node_modules/heroku/dist/commands/
says what it prints), and for a command that changes something, the emulator state after it.
Prices, dates and sizes in the fragments are the ones Heroku's answers would carry.

Speed: every command runs once, in a module fixture. Commands that change something each get
their own app, so no command depends on another and all of them can run at once; they run in
two Node processes (heroku-cli/batch.mjs), each starting the CLI once for half the commands,
which saves the second of start-up per command. The module is one xdist group, so the
commands run once per test session however the cases are spread over workers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import httpx
import pytest
from emu_helpers import client_for
from official_heroku import installed, run_heroku, run_heroku_batch

from herokustack.emulator import EmulatorServer

pytestmark = [
    pytest.mark.cli,
    pytest.mark.xdist_group("cli-conformance"),
    pytest.mark.skipif(
        not installed(),
        reason="the official heroku CLI is not installed (run `make node`) or node is missing",
    ),
]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LANES = 2  # Node processes at once: this machine has 2 cores, and the emulator needs some
EMAIL = "you@herokustack.local"  # the emulated account
WHEN = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \+0000"  # how the CLI prints a Heroku timestamp

Check = Callable[[httpx.Client], Any]


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    expect: tuple[str | re.Pattern[str], ...]  # each in the output (a str literally)
    code: int = 0
    check: Check | None = None  # emulator state after the command: truthy, or it asserts


def case(
    id_: str,
    *args: str,
    expect: tuple[str | re.Pattern[str], ...] = (),
    code: int = 0,
    check: Check | None = None,
) -> Any:
    return pytest.param(Case(args, expect, code, check), id=id_)


def rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)


# --- the state the commands start from (built over HTTP before any command runs) ---------


def given(emu: EmulatorServer, http: httpx.Client) -> None:
    """Apps for the cases: `cc-info` only ever read, and one app per command that writes."""
    for name in [
        "cc-info",
        "cc-destroy",
        "cc-rename",
        "cc-maint-on",
        "cc-maint-off",
        "cc-config-set",
        "cc-config-unset",
        "cc-scale",
        "cc-mix",
        "cc-type",
        "cc-resize",
        "cc-restart",
        "cc-rollback",
        "cc-rollback-v2",
        "cc-addon-create",
        "cc-addon-named",
        "cc-addon-upgrade",
        "cc-addon-down",
        "cc-addon-destroy",
        "cc-attach-owner",
        "cc-attach",
        "cc-detach",
        "cc-addon-rename",
        "cc-stack",
        "cc-pg",
        "cc-pg-schedule",
        "cc-pg-unschedule",
    ]:
        _ok(http.post("/apps", json={"name": name}))
        emu.deploy(name, {"web": "gunicorn app:app", "worker": "celery -A app worker"})
    _ok(http.post("/apps", json={"name": "cc-eu", "region": "eu"}))

    info_db = _addon(http, "cc-info", "heroku-postgresql:essential-0", "cc-info-db")
    _ok(http.patch("/apps/cc-info/config-vars", json={"GREETING": "hello"}))
    _schedule(http, info_db)

    _ok(http.patch("/apps/cc-maint-off", json={"maintenance": True}))
    _ok(http.patch("/apps/cc-config-unset/config-vars", json={"OLD": "x", "KEEP": "y"}))
    for app in ("cc-scale", "cc-restart"):
        updates = [{"type": t, "size": "standard-1x"} for t in ("web", "worker")]
        _ok(http.patch(f"/apps/{app}/formation", json={"updates": updates}))
    for app in ("cc-rollback", "cc-rollback-v2"):  # v1 created, v2 deploy, v3 this
        _ok(http.patch(f"/apps/{app}/config-vars", json={"FOO": "bar"}))

    _addon(http, "cc-addon-upgrade", "heroku-postgresql:essential-0", "cc-upgrade-db")
    _addon(http, "cc-addon-down", "heroku-postgresql:essential-1", "cc-down-db")
    _addon(http, "cc-addon-destroy", "heroku-postgresql:essential-0", "cc-doomed-db")
    _addon(http, "cc-addon-rename", "heroku-postgresql:essential-0", "cc-rename-db")
    shared = _addon(http, "cc-attach-owner", "heroku-postgresql:essential-0", "cc-shared-db")
    body = {"addon": shared, "app": "cc-detach", "name": "OTHER_DB"}
    _ok(http.post("/addon-attachments", json=body))
    _addon(http, "cc-pg", "heroku-postgresql:standard-0", "cc-pg-main")
    _addon(http, "cc-pg", "heroku-postgresql:essential-0", "cc-pg-extra", as_="ANALYTICS")
    _addon(http, "cc-pg-schedule", "heroku-postgresql:essential-0", "cc-sched-db")
    _schedule(http, _addon(http, "cc-pg-unschedule", "heroku-postgresql:essential-0", "cc-un-db"))


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _addon(http: httpx.Client, app: str, plan: str, name: str, as_: str | None = None) -> str:
    body: dict[str, Any] = {"plan": plan, "name": name}
    if as_:
        body["attachment"] = {"name": as_}
    return str(_ok(http.post(f"/apps/{app}/addons", json=body))["id"])


def _schedule(http: httpx.Client, addon_id: str) -> None:
    body = {"hour": 2, "timezone": "UTC", "schedule_name": "DATABASE_URL"}
    _ok(http.post(f"/client/v11/databases/{addon_id}/transfer-schedules", json=body))


# --- state checks ------------------------------------------------------------------------


def app_of(http: httpx.Client, app: str) -> Any:
    return http.get(f"/apps/{app}").json()


def config_of(http: httpx.Client, app: str) -> dict[str, str]:
    return dict(http.get(f"/apps/{app}/config-vars").json())


def formation_of(http: httpx.Client, app: str) -> dict[str, tuple[int, str]]:
    return {
        f["type"]: (f["quantity"], f["size"]) for f in http.get(f"/apps/{app}/formation").json()
    }


def plans_of(http: httpx.Client, app: str) -> list[str]:
    return sorted(a["plan"]["name"] for a in http.get(f"/apps/{app}/addons").json())


def latest_release(http: httpx.Client, app: str) -> Any:
    headers = {"Range": "version ..; max=1, order=desc"}
    return http.get(f"/apps/{app}/releases", headers=headers).json()[0]


def schedules_of(http: httpx.Client, app: str) -> list[Any]:
    addon = http.get(f"/apps/{app}/addons").json()[0]
    return list(http.get(f"/client/v11/databases/{addon['id']}/transfer-schedules").json())


# --- the commands ------------------------------------------------------------------------

CASES = [
    # Account, catalog, regions: read only.
    case("auth:whoami", "auth:whoami", expect=(rx(f"^{EMAIL}$"),)),
    case("regions", "regions", expect=(rx(r"eu\s+Europe\s+Common Runtime"), "United States")),
    case("regions --json", "regions", "--json", expect=('"name": "eu"', '"locale": "Virginia"')),
    case(
        "addons:services",
        "addons:services",
        expect=(
            rx(r"heroku-postgresql\s+Heroku Postgres\s+ga"),
            rx(r"heroku-redis\s+Heroku Key-Value Store\s+ga"),
        ),
    ),
    case(
        "addons:plans heroku-postgresql",
        "addons:plans",
        "heroku-postgresql",
        expect=(
            rx(r"default\s+heroku-postgresql:essential-0\s+Essential 0\s+~\$0\.007/hour\s+\$5/mo"),
            rx(r"heroku-postgresql:standard-0\s+Standard 0\s+~\$0\.069/hour\s+\$50/month"),
        ),
    ),
    case(
        "addons:plans heroku-redis",
        "addons:plans",
        "heroku-redis",
        expect=(rx(r"heroku-redis:mini\s+Mini\s+~\$0\.004/hour\s+\$3/month"),),
    ),
    case(
        "apps",
        "apps",
        expect=(f"=== {EMAIL} Apps", rx("^cc-info$"), rx(r"^cc-eu \(eu\)$")),
    ),
    # One app, only read.
    case(
        "apps:info",
        "apps:info",
        "-a",
        "cc-info",
        expect=(
            "=== cc-info",
            rx(r"Addons:\s+heroku-postgresql:essential-0"),
            rx(r"Dynos:\s+web: 1"),
            rx(rf"Owner:\s+{EMAIL}"),
            rx(r"Region:\s+us"),
            rx(r"Stack:\s+heroku-24"),
            rx(r"Web URL:\s+https://cc-info-[0-9a-f]{12}\.herokuapp\.com/"),
        ),
    ),
    case(
        "apps:info --json",
        "apps:info",
        "-a",
        "cc-info",
        "--json",
        expect=('"name": "cc-info"', '"maintenance": false', '"name": "cc-info-db"'),
    ),
    case(
        "apps:info --shell",
        "apps:info",
        "-a",
        "cc-info",
        "--shell",
        expect=(rx("^region=us$"), rx("^stack=heroku-24$"), rx(f"^owner={EMAIL}$")),
    ),
    case("access", "access", "-a", "cc-info", expect=(rx(rf"{EMAIL}\s+owner"),)),
    case("maintenance", "maintenance", "-a", "cc-info", expect=(rx("^off$"),)),
    case("stack", "stack", "-a", "cc-info", expect=("=== cc-info Available Stacks", "* heroku-24")),
    case("apps:stacks", "apps:stacks", "-a", "cc-info", expect=(rx(r"^  heroku-22$"),)),
    case(
        "config",
        "config",
        "-a",
        "cc-info",
        expect=(
            "=== cc-info Config Vars",
            rx(r"^GREETING:\s+hello$"),
            rx(r"DATABASE_URL:\s+postgres://"),
        ),
    ),
    case("config --json", "config", "-a", "cc-info", "--json", expect=('"GREETING": "hello"',)),
    case("config --shell", "config", "-a", "cc-info", "--shell", expect=(rx("^GREETING=hello$"),)),
    case("config:get", "config:get", "GREETING", "-a", "cc-info", expect=(rx(r"\Ahello\n\Z"),)),
    case(
        "ps",
        "ps",
        "-a",
        "cc-info",
        expect=("=== web (Basic): gunicorn app:app (1)", rx(rf"^web\.1: up {WHEN} \(~ .+ ago\)$")),
    ),
    case(
        "ps --json",
        "ps",
        "-a",
        "cc-info",
        "--json",
        expect=('"name": "web.1"', '"size": "Basic"', '"state": "up"'),
    ),
    case(
        "ps:scale (show)", "ps:scale", "-a", "cc-info", expect=(rx("^web=1:Basic worker=0:Basic$"),)
    ),
    case(
        "ps:type (show)",
        "ps:type",
        "-a",
        "cc-info",
        expect=(
            rx(r"web\s+Basic\s+1\s+~\$0\.010\s+\$7\b"),
            rx(r"worker\s+Basic\s+0\s+~\$0\.010\s+\$0\b"),
        ),
    ),
    case(
        "releases",
        "releases",
        "-a",
        "cc-info",
        expect=(
            rx(r"^=== cc-info Releases - Current: v\d+$"),
            rx(rf"v2\s+Deploy\s+{EMAIL}\s+{WHEN}"),
            rx(r"v1\s+Initial release"),
        ),
    ),
    case(
        "releases --json",
        "releases",
        "-a",
        "cc-info",
        "--json",
        expect=('"description": "Deploy"', '"version": 1'),
    ),
    case(
        "releases:info 2",
        "releases:info",
        "2",
        "-a",
        "cc-info",
        expect=(
            "=== Release v2",
            rx(rf"By:\s+{EMAIL}"),
            rx(r"Change:\s+Deploy"),
            rx(r"When:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
        ),
    ),
    case(
        # Heroku's current release is eligible for rollback (`rollback` takes the next one).
        "releases:info (current)",
        "releases:info",
        "-a",
        "cc-info",
        expect=(rx(r"^=== Release v\d+$"), rx(r"Eligible for Rollback\?:\s+Yes")),
    ),
    case(
        "addons",
        "addons",
        "-a",
        "cc-info",
        expect=(
            rx(r"heroku-postgresql \(cc-info-db\)\s+essential-0\s+~\$0\.007/hour\s+\$5/month"),
            rx(r"\$5/month\s+created"),
            "└─ as DATABASE",
        ),
    ),
    case(
        "addons --json",
        "addons",
        "-a",
        "cc-info",
        "--json",
        expect=('"name": "cc-info-db"', '"name": "heroku-postgresql:essential-0"', '"cents": 500'),
    ),
    case(
        "addons:info",
        "addons:info",
        "cc-info-db",
        expect=(
            "=== cc-info-db",
            rx(r"Plan:\s+heroku-postgresql:essential-0"),
            rx(r"Price:\s+~\$0\.007/hour"),
            rx(r"Max Price:\s+\$5/month"),
            rx(r"Attachments:\s+cc-info::DATABASE"),
            rx(r"Owning app:\s+cc-info"),
            rx(r"State:\s+created"),
        ),
    ),
    case(
        "pg:info",
        "pg:info",
        "-a",
        "cc-info",
        expect=(
            "=== DATABASE_URL",
            rx(r"Plan:\s+Essential 0"),
            rx(r"Status:\s+Available"),
            rx(r"Backups:\s+Daily at 2:00 \(UTC\)"),
            rx(r"Add-on:\s+cc-info-db"),
        ),
    ),
    case(
        # Essential-0: 20 connections and 1 GB of storage (Dev Center, Heroku Postgres plans).
        "pg:info (essential limits)",
        "pg:info",
        "DATABASE",
        "-a",
        "cc-info",
        expect=(rx(r"Connections:\s+\d+/20$"), rx(r"Data Size:\s+.+ / 1 GB")),
    ),
    case(
        "pg:backups:schedules",
        "pg:backups:schedules",
        "-a",
        "cc-info",
        expect=("=== Backup Schedules", "DATABASE_URL: daily at 2:00 UTC"),
    ),
    case(
        "pg:backups",
        "pg:backups",
        "-a",
        "cc-info",
        expect=("=== Backups", "No backups. Capture one with heroku pg:backups:capture"),
    ),
    case("drains", "drains", "-a", "cc-info", expect=(rx(r"\A\s*\Z"),)),
    case("drains --json", "drains", "-a", "cc-info", "--json", expect=(rx(r"\A\[\]\n\Z"),)),
    # Nothing to wait for: the database is provisioned, every dyno runs the latest release.
    case("addons:wait", "addons:wait", "cc-info-db", expect=(rx(r"\A\s*\Z"),)),
    case("ps:wait", "ps:wait", "-a", "cc-info", expect=(rx(r"\A\s*\Z"),)),
    # Refusals, as Heroku refuses them (nothing changes).
    case(
        "apps:info (unknown app)",
        "apps:info",
        "-a",
        "cc-nowhere",
        code=2,
        expect=("Couldn't find that app.", "Error ID: not_found"),
    ),
    case(
        "ps:scale (basic above 1)",
        "ps:scale",
        "web=2",
        "-a",
        "cc-info",
        code=2,
        expect=("Cannot scale to more than 1 Basic size dynos per process type.",),
    ),
    case(
        "addons:create (unknown plan)",
        "addons:create",
        "heroku-postgresql:no-such-plan",
        "-a",
        "cc-info",
        code=2,
        expect=("Couldn't find either the add-on service or the add-on plan",),
    ),
    # Commands that change something, each on its own app.
    case(
        "apps:create",
        "apps:create",
        "cc-created",
        "--region",
        "eu",
        expect=(
            "Creating cc-created... done, region is eu",
            rx(r"^https://cc-created-[0-9a-f]{12}\.herokuapp\.com/ \| "),
        ),
        check=lambda http: app_of(http, "cc-created")["region"]["name"] == "eu",
    ),
    case(
        "apps:destroy",
        "apps:destroy",
        "-a",
        "cc-destroy",
        "--confirm",
        "cc-destroy",
        expect=("Destroying cc-destroy (including all add-ons)... done",),
        check=lambda http: http.get("/apps/cc-destroy").status_code == 404,
    ),
    case(
        "apps:rename",
        "apps:rename",
        "cc-renamed",
        "-a",
        "cc-rename",
        expect=(
            "Renaming cc-rename to cc-renamed... done",
            rx(r"^https://cc-renamed-[0-9a-f]{12}\.herokuapp\.com/ \| "),
        ),
        check=lambda http: app_of(http, "cc-renamed")["web_url"].startswith("https://cc-renamed-"),
    ),
    case(
        "maintenance:on",
        "maintenance:on",
        "-a",
        "cc-maint-on",
        expect=("Enabling maintenance mode for cc-maint-on... done",),
        check=lambda http: app_of(http, "cc-maint-on")["maintenance"] is True,
    ),
    case(
        "maintenance:off",
        "maintenance:off",
        "-a",
        "cc-maint-off",
        expect=("Disabling maintenance mode for cc-maint-off... done",),
        check=lambda http: app_of(http, "cc-maint-off")["maintenance"] is False,
    ),
    case(
        "config:set",
        "config:set",
        "COLOR=blue",
        "SIZE=xl",
        "-a",
        "cc-config-set",
        expect=(
            rx(r"Setting COLOR, SIZE and restarting cc-config-set\.\.\. done, v\d+"),
            rx(r"^COLOR: blue$"),
        ),
        check=lambda http: config_of(http, "cc-config-set") == {"COLOR": "blue", "SIZE": "xl"},
    ),
    case(
        "config:unset",
        "config:unset",
        "OLD",
        "-a",
        "cc-config-unset",
        expect=(rx(r"Unsetting OLD and restarting cc-config-unset\.\.\. done, v\d+"),),
        check=lambda http: config_of(http, "cc-config-unset") == {"KEEP": "y"},
    ),
    case(
        "ps:scale",
        "ps:scale",
        "web=3",
        "worker=2",
        "-a",
        "cc-scale",
        expect=(
            "Scaling dynos... done, now running",
            "web at 3:Standard-1X",
            "worker at 2:Standard-1X",
        ),
        check=lambda http: (
            formation_of(http, "cc-scale")
            == {"web": (3, "Standard-1X"), "worker": (2, "Standard-1X")}
        ),
    ),
    case(
        # Heroku refuses Basic beside Standard in one app; the formation stays as it was.
        "ps:scale (mixed tiers)",
        "ps:scale",
        "web=1:basic",
        "worker=1:standard-2x",
        "-a",
        "cc-mix",
        code=2,
        expect=("Scaling dynos... !",),
        check=lambda http: (
            formation_of(http, "cc-mix") == {"web": (1, "Basic"), "worker": (0, "Basic")}
        ),
    ),
    case(
        "ps:type",
        "ps:type",
        "standard-2x",
        "-a",
        "cc-type",
        expect=(
            "Scaling dynos on cc-type... done",
            rx(r"web\s+Standard-2X\s+1\s+~\$0\.069\s+\$50\b"),
        ),
        check=lambda http: (
            formation_of(http, "cc-type")
            == {"web": (1, "Standard-2X"), "worker": (0, "Standard-2X")}
        ),
    ),
    case(
        "ps:resize",
        "ps:resize",
        "web=performance-m",
        "-a",
        "cc-resize",
        expect=(rx(r"web\s+Performance-M\s+1\s+~\$0\.347\s+\$250\b"),),
        check=lambda http: formation_of(http, "cc-resize")["web"] == (1, "Performance-M"),
    ),
    case(
        "ps:restart",
        "ps:restart",
        "-a",
        "cc-restart",
        expect=("Restarting all dynos on cc-restart... done",),
    ),
    case(
        # No version: back to the release before the current one (v3 -> v2).
        "rollback",
        "rollback",
        "-a",
        "cc-rollback",
        expect=("Rolling back cc-rollback to v2... done, v4",),
        check=lambda http: "FOO" not in config_of(http, "cc-rollback"),
    ),
    case(
        "rollback v2",
        "rollback",
        "v2",
        "-a",
        "cc-rollback-v2",
        expect=(
            "Rolling back cc-rollback-v2 to v2... done, v4",
            "To undo, run: heroku rollback v3",
        ),
        check=lambda http: (
            latest_release(http, "cc-rollback-v2")["description"] == "Rollback to v2"
            and "FOO" not in config_of(http, "cc-rollback-v2")
        ),
    ),
    case(
        # The price line comes from the add-on answered with `Accept-Expansion: plan`.
        "addons:create",
        "addons:create",
        "heroku-redis:mini",
        "-a",
        "cc-addon-create",
        expect=("Creating heroku-redis:mini on cc-addon-create... ~$0.004/hour (max $3/month)",),
        check=lambda http: plans_of(http, "cc-addon-create") == ["heroku-redis:mini"],
    ),
    case(
        "addons:create --name",
        "addons:create",
        "heroku-postgresql:essential-0",
        "--name",
        "cc-named-db",
        "-a",
        "cc-addon-named",
        expect=(
            "Created cc-named-db as DATABASE_URL",
            "Run heroku addons:docs heroku-postgresql to view documentation.",
        ),
        check=lambda http: "DATABASE_URL" in config_of(http, "cc-addon-named"),
    ),
    case(
        "addons:upgrade",
        "addons:upgrade",
        "cc-upgrade-db",
        "essential-1",
        "-a",
        "cc-addon-upgrade",
        expect=(
            "Changing cc-upgrade-db on cc-addon-upgrade from heroku-postgresql:essential-0 to"
            " heroku-postgresql:essential-1... done, ~$0.013/hour (max $9/month)",
        ),
        check=lambda http: plans_of(http, "cc-addon-upgrade") == ["heroku-postgresql:essential-1"],
    ),
    case(
        "addons:downgrade",
        "addons:downgrade",
        "cc-down-db",
        "essential-0",
        "-a",
        "cc-addon-down",
        expect=(
            "Changing cc-down-db on cc-addon-down from heroku-postgresql:essential-1 to"
            " heroku-postgresql:essential-0... done",
        ),
        check=lambda http: plans_of(http, "cc-addon-down") == ["heroku-postgresql:essential-0"],
    ),
    case(
        "addons:destroy",
        "addons:destroy",
        "cc-doomed-db",
        "-a",
        "cc-addon-destroy",
        "--confirm",
        "cc-addon-destroy",
        expect=("Destroying cc-doomed-db on cc-addon-destroy... done",),
        check=lambda http: plans_of(http, "cc-addon-destroy") == [],
    ),
    case(
        "addons:attach",
        "addons:attach",
        "cc-shared-db",
        "-a",
        "cc-attach",
        "--as",
        "SHARED_DB",
        expect=(
            "Attaching cc-shared-db as SHARED_DB to cc-attach... done",
            rx(r"Setting SHARED_DB config vars and restarting cc-attach\.\.\. done, v\d+"),
        ),
        check=lambda http: (
            config_of(http, "cc-attach")["SHARED_DB_URL"]
            == config_of(http, "cc-attach-owner")["DATABASE_URL"]
        ),
    ),
    case(
        "addons:detach",
        "addons:detach",
        "OTHER_DB",
        "-a",
        "cc-detach",
        expect=(
            "Detaching OTHER_DB to cc-shared-db from cc-detach... done",
            rx(r"Unsetting OTHER_DB config vars and restarting cc-detach\.\.\. done, v\d+"),
        ),
        check=lambda http: "OTHER_DB_URL" not in config_of(http, "cc-detach"),
    ),
    case(
        "addons:rename",
        "addons:rename",
        "cc-rename-db",
        "cc-renamed-db",
        expect=("cc-rename-db successfully renamed to cc-renamed-db.",),
        check=lambda http: http.get("/addons/cc-renamed-db").status_code == 200,
    ),
    case(
        "stack:set",
        "stack:set",
        "heroku-22",
        "-a",
        "cc-stack",
        expect=(
            "Setting stack to heroku-22... done",
            "You will need to redeploy cc-stack for the change to take effect.",
        ),
        check=lambda http: app_of(http, "cc-stack")["build_stack"]["name"] == "heroku-22",
    ),
    case(
        "pg:info (two databases)",
        "pg:info",
        "-a",
        "cc-pg",
        expect=(
            rx(r"=== DATABASE_URL\n\nPlan:\s+Standard 0"),
            rx(r"=== ANALYTICS_URL\n\nPlan:\s+Essential 0"),
            rx(r"Fork/Follow:\s+Available"),
        ),
    ),
    case(
        "pg:info ANALYTICS",
        "pg:info",
        "ANALYTICS",
        "-a",
        "cc-pg",
        expect=(rx(r"^=== ANALYTICS_URL$"), rx(r"Add-on:\s+cc-pg-extra")),
    ),
    case(
        "pg:backups:schedule",
        "pg:backups:schedule",
        "DATABASE_URL",
        "--at",
        "04:00 Europe/Paris",
        "-a",
        "cc-pg-schedule",
        expect=("Scheduling automatic daily backups of cc-sched-db at 04:00 Europe/Paris... done",),
        check=lambda http: (
            [(s["hour"], s["timezone"]) for s in schedules_of(http, "cc-pg-schedule")]
            == [(4, "Europe/Paris")]
        ),
    ),
    case(
        "pg:backups:unschedule",
        "pg:backups:unschedule",
        "DATABASE_URL",
        "-a",
        "cc-pg-unschedule",
        expect=("Unscheduling DATABASE_URL daily backups... done",),
        check=lambda http: schedules_of(http, "cc-pg-unschedule") == [],
    ),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("heroku-home")


@pytest.fixture(scope="module")
def outputs(emu: EmulatorServer, home: Path) -> dict[str, CompletedProcess[str]]:
    """Every case's command, run once: all independent, in LANES Node processes at once."""
    with client_for(emu) as http:
        given(emu, http)
    commands = {p.id: p.values[0].args for p in CASES}
    lanes = [list(commands)[i::LANES] for i in range(LANES)]
    with ThreadPoolExecutor(max_workers=LANES) as pool:
        done = pool.map(lambda ids: run_heroku_batch(emu, [commands[i] for i in ids], home), lanes)
        pairs = zip(lanes, done, strict=True)
        return {i: r for ids, rs in pairs for i, r in zip(ids, rs, strict=True)}


def test_the_batch_answers_as_the_cli_does(
    emu: EmulatorServer, home: Path, outputs: dict[str, CompletedProcess[str]]
) -> None:
    """One Node process for many commands changes nothing a command prints or exits with."""
    ids = ["config", "apps:info (unknown app)"]
    commands = {p.id: p.values[0].args for p in CASES}
    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        alone = list(pool.map(lambda i: run_heroku(emu, *commands[i], home=home), ids))
    for i, done in zip(ids, alone, strict=True):
        batch = outputs[i]
        assert (batch.returncode, batch.stdout, batch.stderr) == (
            done.returncode,
            done.stdout,
            done.stderr,
        ), i


def test_there_are_enough_commands() -> None:
    assert len({p.values[0].args[0] for p in CASES}) >= 40
    assert len({p.id for p in CASES}) == len(CASES)


@pytest.mark.parametrize("case_", CASES)
def test_official_cli_command(
    case_: Case,
    request: pytest.FixtureRequest,
    outputs: dict[str, CompletedProcess[str]],
    http: httpx.Client,
) -> None:
    done = outputs[request.node.callspec.id]
    output = ANSI.sub("", done.stdout + done.stderr)
    shown = f"heroku {' '.join(case_.args)} (exit {done.returncode}):\n{output}"
    assert done.returncode == case_.code, shown
    for fragment in case_.expect:
        found = fragment in output if isinstance(fragment, str) else fragment.search(output)
        assert found, f"{fragment!r} not in the output of {shown}"
    if case_.check is not None:
        assert case_.check(http), f"emulator state after heroku {' '.join(case_.args)}"
