"""Everyday official-CLI commands behave as on Heroku (issue 12): output and emulator state.

Each CLI call costs over a second of Node start-up, so the commands run in parallel, each on
its own app, in two rounds (changes, then the reads that follow them), within one test; every
result is checked both as the CLI printed it and as the emulator then holds it.
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from emu_helpers import new_app
from official_heroku import installed, run_heroku

from herokustack.emulator import EmulatorServer
from herokustack.emulator.models import iso

pytestmark = [
    pytest.mark.cli,
    pytest.mark.skipif(
        not installed(),
        reason="the official heroku CLI is not installed (run `make node`) or node is missing",
    ),
]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WRAP = re.compile(r"\s*›\s*")  # the CLI wraps warnings and errors at 80 columns with " › "
RESTARTED = 1_900_000_000.0  # the emulator's clock while dynos restart: a known, later time


def run_all(
    emu: EmulatorServer, home: Path, commands: dict[str, list[str]]
) -> dict[str, tuple[int, str]]:
    """(exit code, stdout + stderr without colours) of each command, run three at a time."""

    def one(args: list[str]) -> tuple[int, str]:
        done: subprocess.CompletedProcess[str] = run_heroku(emu, *args, home=home)
        text = WRAP.sub(" ", ANSI.sub("", done.stdout + done.stderr))
        return done.returncode, " ".join(text.split())

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(commands, pool.map(one, commands.values()), strict=True))


def ok(results: dict[str, tuple[int, str]], name: str) -> str:
    code, output = results[name]
    assert code == 0, f"{name} failed: {output}"
    return output


def refused(results: dict[str, tuple[int, str]], name: str) -> str:
    code, output = results[name]
    assert code != 0, f"{name} should have failed: {output}"
    return output


def addon_of(http: httpx.Client, app: str, service: str) -> dict[str, Any]:
    addons = http.get(f"/apps/{app}/addons").json()
    return next(a for a in addons if a["addon_service"]["name"] == service)


def formation(http: httpx.Client, app: str) -> dict[str, tuple[int, str]]:
    return {
        f["type"]: (f["quantity"], f["size"]) for f in http.get(f"/apps/{app}/formation").json()
    }


def prepare(emu: EmulatorServer, http: httpx.Client) -> dict[str, Any]:
    """Apps in the states the commands start from."""
    code = {"web": "gunicorn app:app", "worker": "celery -A app worker"}
    for app in ("fid-rb", "fid-rb1", "fid-tiers", "fid-tiers2", "fid-mix", "fid-ps", "fid-old"):
        new_app(http, app)
        emu.deploy(app, code)  # v2 (v1 is "Initial release", before any code)
    http.patch("/apps/fid-rb/config-vars", json={"FOO": "bar"}).raise_for_status()  # v3
    emu.deploy("fid-rb", code)  # v4, current
    http.patch("/apps/fid-tiers/formation/worker", json={"quantity": 1}).raise_for_status()
    updates = [
        {"type": t, "quantity": n, "size": "standard-1x"} for t, n in [("web", 2), ("worker", 1)]
    ]
    http.patch("/apps/fid-ps/formation", json={"updates": updates}).raise_for_status()
    for app in ("fid-addons", "fid-upgrade", "fid-pg"):
        new_app(http, app)
    rename = http.post("/apps/fid-addons/addons", json={"plan": "sentry:f1"}).json()
    upgrade = http.post("/apps/fid-upgrade/addons", json={"plan": "heroku-postgresql"}).json()
    http.post("/apps/fid-pg/addons", json={"plan": "heroku-postgresql:standard-2"})
    http.post("/apps/fid-pg/addons", json={"plan": "heroku-postgresql:premium-0"})
    return {"rename": rename, "upgrade": upgrade}


def change_round(
    emu: EmulatorServer, home: Path, fidelity: dict[str, Any]
) -> dict[str, tuple[int, str]]:
    """Round one: the commands that change something, in parallel (distinct apps)."""
    real_clock = emu.backend.clock
    emu.backend.clock = lambda: RESTARTED  # restarts (and all else this round) happen then
    try:
        return run_all(
            emu,
            home,
            {
                "rollback": ["rollback", "-a", "fid-rb"],
                "rollback-v1": ["rollback", "v1", "-a", "fid-rb1"],
                "rename-addon": ["addons:rename", fidelity["rename"]["name"], "fid-errors"],
                "create-addon": ["addons:create", "heroku-redis:premium-0", "-a", "fid-addons"],
                "upgrade-addon": [
                    "addons:upgrade",
                    fidelity["upgrade"]["name"],
                    "essential-1",
                    "-a",
                    "fid-upgrade",
                ],
                "basic-with-standard": ["ps:scale", "web=1:standard-2x", "-a", "fid-tiers"],
                "eco-with-performance": [
                    "ps:scale",
                    "web=1:eco",
                    "worker=1:performance-m",
                    "-a",
                    "fid-tiers2",
                ],
                "standard-with-performance": [
                    "ps:scale",
                    "web=1:standard-2x",
                    "worker=1:performance-m",
                    "-a",
                    "fid-mix",
                ],
                "rename-app": ["apps:rename", "fid-new", "-a", "fid-old"],
                "restart-all": ["ps:restart", "-a", "fid-ps"],
            },
        )
    finally:
        emu.backend.clock = real_clock


def check_rollback_without_a_version_goes_back_one_release(
    http: httpx.Client, changes: dict[str, tuple[int, str]]
) -> None:
    assert "Rolling back fid-rb to v3... done, v5" in ok(changes, "rollback")
    releases = http.get("/apps/fid-rb/releases").json()
    assert [(r["version"], r["description"]) for r in releases][-1] == (5, "Rollback to v3")
    eligible = {r["version"]: r["eligible_for_rollback"] for r in releases}
    assert eligible == {1: False, 2: True, 3: True, 4: True, 5: True}  # the current one too
    assert releases[-1]["current"] and releases[-1]["slug"] == releases[2]["slug"]


def check_v1_before_any_code_is_not_eligible_and_not_rolled_back_to(
    http: httpx.Client, changes: dict[str, tuple[int, str]]
) -> None:
    assert "Cannot roll back to v1" in refused(changes, "rollback-v1")
    assert [r["version"] for r in http.get("/apps/fid-rb1/releases").json()] == [1, 2]


def check_addons_rename_sends_only_the_name(
    http: httpx.Client, fidelity: dict[str, Any], changes: dict[str, tuple[int, str]]
) -> None:
    old = fidelity["rename"]["name"]
    assert f"{old} successfully renamed to fid-errors." in ok(changes, "rename-addon")
    renamed = addon_of(http, "fid-addons", "sentry")
    assert renamed["name"] == "fid-errors" and renamed["plan"]["name"] == "sentry:f1"
    assert renamed["id"] == fidelity["rename"]["id"]


def check_addons_create_and_upgrade_print_the_price_line(
    http: httpx.Client, changes: dict[str, tuple[int, str]]
) -> None:
    created = ok(changes, "create-addon")
    assert "Creating heroku-redis:premium-0 on fid-addons... ~$0.021/hour (max $15/month)" in (
        created
    )
    assert addon_of(http, "fid-addons", "heroku-redis")["plan"]["name"] == "heroku-redis:premium-0"
    upgraded = ok(changes, "upgrade-addon")
    assert "to heroku-postgresql:essential-1... done," in upgraded
    assert "(max $9/month)" in upgraded
    plan = addon_of(http, "fid-upgrade", "heroku-postgresql")["plan"]["name"]
    assert plan == "heroku-postgresql:essential-1"


def check_ps_scale_refuses_to_mix_dyno_tiers_as_heroku(
    http: httpx.Client, changes: dict[str, tuple[int, str]]
) -> None:
    refusal = "Cannot use the following dyno types in the same app"
    assert f"{refusal}: Basic and Standard-2X." in refused(changes, "basic-with-standard")
    assert formation(http, "fid-tiers") == {"web": (1, "Basic"), "worker": (1, "Basic")}
    assert f"{refusal}: Eco and Performance-M." in refused(changes, "eco-with-performance")
    assert formation(http, "fid-tiers2") == {"web": (1, "Basic"), "worker": (0, "Basic")}
    # Standard and Performance sizes are one tier: they mix.
    assert "web at 1:Standard-2X, worker at 1:Performance-M" in ok(
        changes, "standard-with-performance"
    )
    expected = {"web": (1, "Standard-2X"), "worker": (1, "Performance-M")}
    assert formation(http, "fid-mix") == expected


def check_apps_rename_moves_the_web_url(
    http: httpx.Client, changes: dict[str, tuple[int, str]]
) -> None:
    app = http.get("/apps/fid-new").json()
    assert app["web_url"].startswith("https://fid-new-") and "fid-old" not in app["web_url"]
    printed = ok(changes, "rename-app")
    assert f"{app['web_url']} | " in printed and "Renaming fid-old to fid-new... done" in printed
    assert http.get("/apps/fid-old").status_code == 404


def check_ps_restart_restarts_every_dyno(
    http: httpx.Client, changes: dict[str, tuple[int, str]]
) -> None:
    assert "Restarting all dynos on fid-ps... done" in ok(changes, "restart-all")
    dynos = http.get("/apps/fid-ps/dynos").json()
    assert sorted(d["name"] for d in dynos) == ["web.1", "web.2", "worker.1"]
    assert {d["updated_at"] for d in dynos} == {iso(RESTARTED)}


def check_reads(emu: EmulatorServer, http: httpx.Client, tmp_path: Path) -> None:
    """Round two: `apps`, `pg:info` of one database by its config var, per-type restarts."""
    later = RESTARTED + 3600
    real_clock = emu.backend.clock
    emu.backend.clock = lambda: later
    try:
        reads = run_all(
            emu,
            tmp_path,
            {
                "apps": ["apps"],
                "pg-info": ["pg:info", "HEROKU_POSTGRESQL_AMBER", "-a", "fid-pg"],
                "pg-all": ["pg:info", "-a", "fid-pg"],
                "restart-type": ["ps:restart", "--process-type", "worker", "-a", "fid-ps"],
                "restart-dyno": ["ps:restart", "--dyno-name", "web.2", "-a", "fid-ps"],
            },
        )
    finally:
        emu.backend.clock = real_clock

    listed = ok(reads, "apps")
    assert "=== you@herokustack.local Apps" in listed
    names = {a["name"] for a in http.get("/users/~/apps").json()}
    assert {"fid-new", "fid-pg", "fid-rb"} <= names and "fid-old" not in names
    assert all(name in listed for name in names)

    one = ok(reads, "pg-info")
    assert one.startswith("=== HEROKU_POSTGRESQL_AMBER_URL")
    for fragment in ("Plan: Premium 0", "Connections: 0/120", "8.6 MB / 64 GB", "HA Status"):
        assert fragment in one
    every = ok(reads, "pg-all")
    assert "=== DATABASE_URL" in every and "Plan: Standard 2" in every
    assert "Connections: 0/400" in every and "8.6 MB / 256 GB" in every
    config = http.get("/apps/fid-pg/config-vars").json()
    urls = {
        a["config_vars"][0]: http.get(f"/client/v11/databases/{a['id']}").json()["resource_url"]
        for a in http.get("/apps/fid-pg/addons").json()
    }
    assert urls == {name: config[name] for name in urls}, (urls, sorted(config))
    assert set(urls) == {"DATABASE_URL", "HEROKU_POSTGRESQL_AMBER_URL"}

    assert "Restarting all worker dynos on fid-ps... done" in ok(reads, "restart-type")
    assert "Restarting dyno web.2 on fid-ps... done" in ok(reads, "restart-dyno")
    since = {d["name"]: d["updated_at"] for d in http.get("/apps/fid-ps/dynos").json()}
    assert since == {"web.1": iso(RESTARTED), "web.2": iso(later), "worker.1": iso(later)}


def test_everyday_commands_behave_as_on_heroku(
    emu: EmulatorServer, http: httpx.Client, tmp_path: Path
) -> None:
    """One test, so that each round of Node processes runs once (pytest-xdist would run a
    module fixture again in every worker that gets one of several tests)."""
    fidelity = prepare(emu, http)
    changes = change_round(emu, tmp_path, fidelity)
    check_rollback_without_a_version_goes_back_one_release(http, changes)
    check_v1_before_any_code_is_not_eligible_and_not_rolled_back_to(http, changes)
    check_addons_rename_sends_only_the_name(http, fidelity, changes)
    check_addons_create_and_upgrade_print_the_price_line(http, changes)
    check_ps_scale_refuses_to_mix_dyno_tiers_as_heroku(http, changes)
    check_apps_rename_moves_the_web_url(http, changes)
    check_ps_restart_restarts_every_dyno(http, changes)
    check_reads(emu, http, tmp_path)


def test_region_by_name_or_id(http: httpx.Client) -> None:
    eu = http.get("/regions/eu").json()
    assert (eu["name"], eu["country"]) == ("eu", "Ireland")
    assert http.get(f"/regions/{eu['id']}").json() == eu
    assert http.get("/regions/mars").json()["id"] == "not_found"
    assert http.get("/users/someone-else@example.com").status_code == 404
