"""Data add-ons as code: maintenance windows and settings of Postgres and Redis (plan, apply, plan
again empty; read only when declared; drift; import; saved plans), plan changes Heroku cannot
make in place (refused, with the steps), and the official CLI against the same emulator."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import tomli
from e2e_helpers import (
    Cli,
    Heroku,
    assert_plan_empty,
    plan_requests,
    unique_name,
    write_stack,
)
from official_heroku import installed, run_heroku_batch

from herokustack.emulator import EmulatorServer
from herokustack.resources.data_services import IN_PLACE_NOTE

PG = "heroku-postgresql:standard-0"
REDIS = "heroku-redis:premium-0"


def doc(name: str, db: dict[str, Any] | None = None, redis: dict[str, Any] | None = None) -> Any:
    return {
        "app": {"name": name, "environment": "staging"},
        "addons": {
            "database": {"plan": PG, **(db or {})},
            "redis": {"plan": REDIS, **(redis or {})},
        },
    }


def data_reads(requests: list[str]) -> list[str]:
    prefixes = ("GET /data/", "GET /postgres/", "GET /redis/")
    return [f"GET /{r.split('/')[1]}" for r in requests if r.startswith(prefixes)]


def addon(heroku: Heroku, app: str, service: str) -> dict[str, Any]:
    return heroku.addons(app)[service]


def window(heroku: Heroku, addon_id: str) -> str:
    return str(heroku.get(f"/data/maintenances/v1/{addon_id}/window")["window"])


def setting(heroku: Heroku, api: str, addon_id: str, name: str) -> Any:
    return heroku.get(f"/{api}/databases/{addon_id}/config")[name]["value"]


def test_plan_apply_plan_again_empty_then_change_in_place(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("ds")
    db = {
        "maintenance_window": "Tuesdays 14:30",
        "settings": {"log_min_duration_statement": 500, "log_statement": "mod"},
    }
    redis = {"maintenance_window": "Sundays 03:00", "settings": {"maxmemory_policy": "allkeys-lru"}}
    path = write_stack(tmp_path, doc(name, db, redis))
    plan = cli("plan", str(path))
    assert plan.exit_code == 0, plan.output
    assert "  + data add-on database (DATABASE) maintenance_window: Tuesdays 14:30" in plan.output
    assert "  + data add-on database (DATABASE) settings.log_statement: mod" in plan.output
    assert "  + data add-on redis (REDIS) settings.maxmemory_policy: allkeys-lru" in plan.output
    writes: list[str] = []
    with emu.observing(lambda m, p, b: writes.append(f"{m} {p}") if m != "GET" else None):
        assert cli("apply", str(path), "--auto-approve").exit_code == 0
    data_writes = [w for w in writes if "/window" in w or w.endswith("/config")]
    assert len(data_writes) == 4  # 1 POST per window, 1 PATCH per add-on's settings
    pg, kv = addon(heroku, name, "heroku-postgresql"), addon(heroku, name, "heroku-redis")
    assert window(heroku, pg["id"]) == "Tuesdays 14:30 to 18:30 UTC"
    assert window(heroku, kv["id"]) == "Sundays 03:00 to 07:00 UTC"
    assert setting(heroku, "postgres/v0", pg["id"], "log_min_duration_statement") == 500
    assert setting(heroku, "redis/v0", kv["id"], "maxmemory_policy") == "allkeys-lru"
    assert_plan_empty(cli, path)

    db = {**db, "plan": "heroku-postgresql:standard-2", "maintenance_window": "Fridays 22:00"}
    path = write_stack(tmp_path, doc(name, db, redis))
    plan = cli("plan", str(path))
    assert "~ add-on database (DATABASE): heroku-postgresql:standard-0 → " in plan.output
    assert f"# {IN_PLACE_NOTE}" in plan.output
    assert "~ data add-on database (DATABASE) maintenance_window: Tuesdays 14:30 → Fridays" in (
        plan.output
    )
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert window(heroku, pg["id"]).startswith("Fridays 22:00")
    assert_plan_empty(cli, path)


def test_reads_only_what_a_file_declares(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dr")
    path = write_stack(tmp_path, doc(name))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert data_reads(plan_requests(cli, emu, path)) == []  # declares none: no request more
    path = write_stack(tmp_path, doc(name, {"maintenance_window": "Mondays 01:00"}))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    assert data_reads(plan_requests(cli, emu, path)) == ["GET /data"]
    redis = {"settings": {"timeout": 300}}  # Heroku's default: nothing to change
    path = write_stack(tmp_path, doc(name, {"maintenance_window": "Mondays 01:00"}, redis))
    assert sorted(data_reads(plan_requests(cli, emu, path))) == ["GET /data", "GET /redis"]
    seen: list[str] = []
    with emu.observing(lambda m, p, b: seen.append(f"{m} {p}")):
        assert cli("drift", str(path)).exit_code == 0
    # drift reads all: a window and settings of each (standard Postgres, premium Redis)
    assert sorted(data_reads(seen)) == sorted(
        ["GET /data", "GET /postgres", "GET /data", "GET /redis"]
    )


def test_drift_and_import_of_hand_made_changes(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dd")
    db = {"maintenance_window": "Wednesdays 05:00", "settings": {"log_lock_waits": False}}
    path = write_stack(tmp_path, doc(name, db, {"settings": {"timeout": 120}}))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    pg, kv = addon(heroku, name, "heroku-postgresql"), addon(heroku, name, "heroku-redis")
    body = {"day_of_week": "thursday", "time_of_day": "1:30PM"}
    heroku.post(f"/data/maintenances/v1/{pg['id']}/window", body)  # as data:maintenances:window
    heroku.patch(f"/postgres/v0/databases/{pg['id']}/config", {"log_lock_waits": True})
    heroku.patch(f"/redis/v0/databases/{kv['name']}/config", {"timeout": 0})
    drift = cli("drift", str(path), "--format", "json")
    assert drift.exit_code == 2, drift.output
    items = {
        (i["name"], i["field"], i["live"], i["declared"])
        for app in json.loads(drift.stdout)["apps"]
        for i in app["items"]
        if i["resource"] == "data_setting"
    }
    assert items == {
        ("database", "maintenance_window", "Thursdays 13:30", "Wednesdays 05:00"),
        ("database", "settings.log_lock_waits", True, False),
        ("redis", "settings.timeout", 0, 120),
    }

    imported = cli("import", name, "--out", "-")
    assert imported.exit_code == 0, imported.output
    table = tomli.loads(imported.stdout.split("✓")[0])["addons"]
    assert table["database"]["maintenance_window"] == "Thursdays 13:30"
    assert "settings" not in table["database"]  # every setting back at Heroku's default
    assert table["redis"]["settings"] == {"timeout": 0}
    # The window Heroku picked for the Redis is written too: the file then says what is live.
    assert re.fullmatch(r"[A-Z][a-z]+days [0-2][0-9]:[03]0", table["redis"]["maintenance_window"])
    out = tmp_path / "imported"
    out.mkdir()
    (out / f"{name}.toml").write_text(imported.stdout.split("✓")[0], encoding="utf-8")
    assert_plan_empty(cli, out / f"{name}.toml")


def test_tier_changes_heroku_cannot_make_are_refused_with_the_steps(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dt")
    base = {"app": {"name": name, "environment": "staging"}}
    essential = {**base, "addons": {"database": {"plan": "heroku-postgresql:essential-0"}}}
    path = write_stack(tmp_path, essential)
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    path = write_stack(tmp_path, doc(name) | {"addons": {"database": {"plan": PG}}})
    plan = cli("plan", str(path), "--format", "json")
    [change] = [
        c for c in json.loads(plan.stdout)["apps"][0]["changes"] if c["resource"] == "addon"
    ]
    assert change["action"] == "refused"
    assert "Heroku cannot change a database from the Essential tier in place" in change["note"]
    for step in (
        f"heroku addons:create {PG} --as DATABASE_NEW",
        "heroku pg:copy DATABASE_URL DATABASE_NEW_URL",
        "heroku pg:promote DATABASE_NEW",
    ):
        assert step in change["note"]
    applied = cli("apply", str(path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert (
        addon(heroku, name, "heroku-postgresql")["plan"]["name"] == "heroku-postgresql:essential-0"
    )
    # Within the Essential tier, addons:upgrade works: planned in place.
    within = {"addons": {"database": {"plan": "heroku-postgresql:essential-1"}}}
    path = write_stack(tmp_path, essential | within)
    plan = json.loads(cli("plan", str(path), "--format", "json").stdout)
    [change] = plan["apps"][0]["changes"]
    assert (change["action"], change["note"]) == ("update", IN_PLACE_NOTE)


def test_saved_plan_of_a_setting_refuses_a_hand_change_since(
    cli: Cli, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dp")
    path = write_stack(tmp_path, doc(name, {"settings": {"log_statement": "all"}}))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    path = write_stack(tmp_path, doc(name, {"settings": {"log_statement": "none"}}))
    saved = tmp_path / "plan.json"
    assert cli("plan", str(path), "--out", str(saved)).exit_code == 0
    pg = addon(heroku, name, "heroku-postgresql")
    heroku.patch(f"/postgres/v0/databases/{pg['id']}/config", {"log_statement": "mod"})
    stale = cli("apply", str(saved))
    assert stale.exit_code == 1
    assert "settings.log_statement of DATABASE changed since the plan was made" in stale.output
    assert setting(heroku, "postgres/v0", pg["id"], "log_statement") == "mod"


@pytest.mark.skipif(not installed(), reason="the official heroku CLI is not installed")
def test_the_official_cli_reads_and_writes_what_herokustack_manages(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path
) -> None:
    name = unique_name("dc")
    path = write_stack(tmp_path, doc(name, {"maintenance_window": "Tuesdays 14:30"}))
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    home = tmp_path / "home"
    home.mkdir()
    a = ("-a", name)
    results = run_heroku_batch(
        emu,
        [
            ["data:maintenances:window", "DATABASE", *a],
            ["data:maintenances:window:update", "DATABASE", "friday", "1:30PM", *a],
            ["data:maintenances", *a],
            ["data:maintenances:info", "DATABASE", *a],
            ["pg:settings", "DATABASE", *a],
            ["pg:settings:log-min-duration-statement", "DATABASE", "750", *a],
            ["pg:settings:log-statement", "DATABASE", "all", *a],
            ["pg:info", *a],
            ["redis:info", *a],
            ["redis:maxmemory", "--policy", "volatile-lru", *a],
            ["redis:timeout", "--seconds", "90", *a],
            ["redis:keyspace-notifications", "--config", "Ex", *a],
            ["addons:upgrade", "DATABASE", "heroku-postgresql:essential-0", *a],
        ],
        home,
    )
    for r in results[:-1]:
        assert r.returncode == 0, (r.args, r.stdout, r.stderr)
    assert "Tuesdays 14:30 to 18:30 UTC" in results[0].stdout
    assert "Fridays 13:30 to 17:30 UTC" in results[1].stdout  # "1:30PM" is 13:30 UTC
    assert "Fridays 13:30 to 17:30 UTC" in results[2].stdout  # the app's maintenances
    assert "none" in results[3].stdout  # no maintenance pending
    assert "log-min-duration-statement: 2000" in " ".join(results[4].stdout.split())
    assert "log-min-duration-statement has been set to 750" in results[5].stdout
    assert "All statements are logged" in results[6].stdout
    assert "Maintenance window" in results[7].stdout and "Fridays 13:30" in results[7].stdout
    assert "Premium 0" in results[8].stdout
    assert "set to volatile-lru" in results[9].stdout
    assert "set to 90 seconds" in results[10].stdout
    assert "set to 'Ex'" in results[11].stdout
    refused = results[-1]
    assert refused.returncode != 0
    said = " ".join(refused.stderr.replace("›", " ").split())
    assert "You can't change an Essential-tier database to a plan on another tier" in said

    # What the official CLI changed shows as drift, and a plan puts back what the file says.
    drift = cli("drift", str(path))
    assert drift.exit_code == 2
    assert "maintenance_window" in drift.output and "Fridays 13:30" in drift.output
    plan = cli("plan", str(path))
    assert (
        "~ data add-on database (DATABASE) maintenance_window: Fridays 13:30 → Tuesdays 14:30"
        in (plan.output)
    )
