"""Heroku's business rules, as a client sees them over HTTP."""

from __future__ import annotations

import httpx
import pytest
from emu_helpers import new_app

from herokustack.emulator import EmulatorServer
from herokustack.emulator.models import Backend


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["id"], body["message"]


def test_app_lifecycle(http: httpx.Client) -> None:
    app = new_app(http, "rules-life", region="eu")
    assert app["region"]["name"] == "eu"
    assert app["stack"]["name"] == app["build_stack"]["name"] == "heroku-24"
    assert http.get(f"/apps/{app['id']}").json()["name"] == "rules-life"
    assert error(http.post("/apps", json={"name": "rules-life"})) == (
        422,
        "invalid_params",
        "Name is already taken",
    )
    renamed = http.patch("/apps/rules-life", json={"name": "rules-life-2", "maintenance": True})
    assert renamed.json()["maintenance"] is True and renamed.json()["name"] == "rules-life-2"
    assert http.delete("/apps/rules-life-2").status_code == 200
    assert error(http.get("/apps/rules-life-2")) == (404, "not_found", "Couldn't find that app.")


def test_generated_names_and_bad_names(http: httpx.Client) -> None:
    generated = http.post("/apps", json={}).json()["name"]
    assert http.get(f"/apps/{generated}").status_code == 200
    for bad in ("A-Caps", "x", "-dash-first", "ends-with-", "a" * 31, "ünïcode", "../etc"):
        status, error_id, _ = error(http.post("/apps", json={"name": bad}))
        assert (status, error_id) == (422, "invalid_params"), bad


def test_stacks_retired_one_refused_build_stack_applies_at_next_release(
    http: httpx.Client, emu: EmulatorServer
) -> None:
    stacks = {s["name"]: s for s in http.get("/stacks").json()}
    assert stacks["heroku-24"]["default"] and stacks["heroku-20"]["state"] == "retired"
    assert error(http.post("/apps", json={"name": "rules-old", "stack": "heroku-20"}))[0] == 422
    new_app(http, "rules-stack", stack="heroku-22")
    changed = http.patch("/apps/rules-stack", json={"build_stack": "heroku-24"}).json()
    assert (changed["stack"]["name"], changed["build_stack"]["name"]) == ("heroku-22", "heroku-24")
    emu.deploy("rules-stack", {"web": "gunicorn"})
    assert http.get("/apps/rules-stack").json()["stack"]["name"] == "heroku-24"
    assert error(http.patch("/apps/rules-stack", json={"build_stack": "heroku-20"}))[0] == 422


def test_formation_exists_only_after_a_release_declares_it(
    http: httpx.Client, emu: EmulatorServer
) -> None:
    new_app(http, "rules-ps")
    assert http.get("/apps/rules-ps/formation").json() == []
    update = {"updates": [{"type": "web", "quantity": 1}]}
    assert error(http.patch("/apps/rules-ps/formation", json=update)) == (
        404,
        "not_found",
        "Couldn't find that process type.",
    )
    emu.deploy("rules-ps", {"web": "gunicorn app:app", "worker": "celery"})
    formation = {f["type"]: f for f in http.get("/apps/rules-ps/formation").json()}
    assert (formation["web"]["quantity"], formation["worker"]["quantity"]) == (1, 0)
    assert formation["web"]["command"] == "gunicorn app:app"
    emu.deploy("rules-ps", {"web": "gunicorn app:app"})
    assert [f["type"] for f in http.get("/apps/rules-ps/formation").json()] == ["web"]


def test_sizes_case_insensitive_and_limits(http: httpx.Client, emu: EmulatorServer) -> None:
    new_app(http, "rules-size")
    emu.deploy("rules-size", {"web": "gunicorn", "worker": "celery"})
    # The official CLI sends quantities as strings and sizes in lower case.
    body = {"updates": [{"type": "web", "quantity": "3", "size": "standard-2x"}]}
    web = http.patch("/apps/rules-size/formation", json=body).json()[0]
    assert (web["quantity"], web["size"], web["dyno_size"]["name"]) == (
        3,
        "Standard-2X",
        "Standard-2X",
    )
    assert len([d for d in http.get("/apps/rules-size/dynos").json() if d["type"] == "web"]) == 3
    for bad in [
        {"quantity": 2, "size": "eco"},
        {"quantity": 2, "size": "Basic"},
        {"size": "huge-9x"},
        {"quantity": -1},
        {"quantity": 101},
        {"quantity": "two"},
        {"quantity": True},
    ]:
        response = http.patch("/apps/rules-size/formation/worker", json=bad)
        assert error(response)[:2] == (422, "invalid_params"), bad
    worker = http.get("/apps/rules-size/formation/worker").json()
    assert (worker["quantity"], worker["size"]) == (0, "Basic")


def test_batch_formation_update_is_all_or_nothing(http: httpx.Client, emu: EmulatorServer) -> None:
    new_app(http, "rules-batch")
    emu.deploy("rules-batch", {"web": "gunicorn"})
    web = {"type": "web", "quantity": 2, "size": "standard-1x"}
    body = {"updates": [web, {"type": "ghost", "quantity": 1}]}
    assert http.patch("/apps/rules-batch/formation", json=body).status_code == 404
    after = http.get("/apps/rules-batch/formation/web").json()
    assert (after["quantity"], after["size"]) == (1, "Basic")


def test_config_vars_and_releases(http: httpx.Client) -> None:
    new_app(http, "rules-config")
    assert http.patch("/apps/rules-config/config-vars", json={"A": "1", "B": "2"}).json() == {
        "A": "1",
        "B": "2",
    }
    assert http.patch("/apps/rules-config/config-vars", json={"A": None}).json() == {"B": "2"}
    assert http.patch("/apps/rules-config/config-vars", json={"B": "2"}).status_code == 200
    releases = http.get("/apps/rules-config/releases").json()
    assert [r["version"] for r in releases] == [1, 2, 3]
    assert releases[-1]["current"] and "Remove A" in releases[-1]["description"]
    for bad in [{"BAD-KEY": "x"}, {"N": 5}, {"N": ["x"]}, {"N": {"a": "b"}}, {"": "x"}]:
        assert error(http.patch("/apps/rules-config/config-vars", json=bad))[0] == 422
    assert (
        http.patch("/apps/rules-config/config-vars", json={"BIG": "x" * 40_000}).status_code == 422
    )


def test_addons_provision_attach_and_lock_their_config() -> None:
    now = [1000.0]
    backend = Backend(provision_delay=5.0, clock=lambda: now[0])
    backend.create_app({"name": "rules-addon"})
    pg = backend.create_addon("rules-addon", {"plan": {"name": "heroku-postgresql:standard-0"}})
    logs = backend.create_addon("rules-addon", {"plan": "papertrail:choklad"})
    assert (pg["state"], logs["state"]) == ("provisioning", "provisioned")
    config = backend.get_config("rules-addon")
    assert "PAPERTRAIL_API_TOKEN" in config and "DATABASE_URL" not in config  # not yet
    now[0] += 5.0
    assert backend.get_addon(pg["id"])["state"] == "provisioned"
    assert backend.get_config("rules-addon")["DATABASE_URL"].startswith("postgres://")
    second = backend.create_addon("rules-addon", {"plan": "heroku-postgresql:essential-0"})
    assert second["config_vars"][0].startswith("HEROKU_POSTGRESQL_")
    with pytest.raises(Exception, match="Cannot overwrite attachment values DATABASE_URL"):
        backend.update_config("rules-addon", {"DATABASE_URL": "mine"})
    deleted = backend.delete_addon("rules-addon", pg["name"])
    assert deleted["state"] == "deprovisioned"
    assert "DATABASE_URL" not in backend.get_config("rules-addon")


def test_addon_plan_changes_within_its_service_only(http: httpx.Client) -> None:
    new_app(http, "rules-plan")
    addon = http.post("/apps/rules-plan/addons", json={"plan": "heroku-redis:mini"}).json()
    path = f"/apps/rules-plan/addons/{addon['name']}"
    assert http.patch(path, json={"plan": "heroku-redis:premium-0"}).json()["plan"]["name"] == (
        "heroku-redis:premium-0"
    )
    assert error(http.patch(path, json={"plan": "heroku-postgresql:standard-0"}))[:2] == (
        422,
        "invalid_params",
    )
    assert error(http.post("/apps/rules-plan/addons", json={"plan": "nope:nope"}))[0] == 422
    taken = {"plan": "sentry", "attachment": {"name": "REDIS"}}
    assert error(http.post("/apps/rules-plan/addons", json=taken))[0] == 422
    named = {"plan": "sentry:f1", "name": "my-sentry", "attachment": {"name": "ERRORS"}}
    created = http.post("/apps/rules-plan/addons", json=named).json()
    assert created["name"] == "my-sentry" and created["config_vars"] == ["ERRORS_DSN"]
    assert error(http.post("/apps/rules-plan/addons", json=named))[:2] == (422, "invalid_params")


def test_one_dyno_tier_per_app_checked_on_the_whole_batch(
    http: httpx.Client, emu: EmulatorServer
) -> None:
    new_app(http, "rules-tier")
    emu.deploy("rules-tier", {"web": "gunicorn", "worker": "celery"})
    both = [{"type": t, "quantity": 1, "size": "standard-1x"} for t in ("web", "worker")]
    assert http.patch("/apps/rules-tier/formation", json={"updates": both}).status_code == 200
    back = {"updates": [{"type": "web", "size": "basic"}]}  # worker would stay Standard-1X
    assert error(http.patch("/apps/rules-tier/formation", json=back))[0] == 422
    assert {f["size"] for f in http.get("/apps/rules-tier/formation").json()} == {"Standard-1X"}
    # A process type the next release adds joins the app's tier, as on Heroku.
    emu.deploy("rules-tier", {"web": "gunicorn", "worker": "celery", "clock": "clock.py"})
    clock = http.get("/apps/rules-tier/formation/clock").json()
    assert (clock["quantity"], clock["size"]) == (0, "Standard-1X")


def test_catalog_prices_in_cents(http: httpx.Client) -> None:
    plans = {p["name"]: p for p in http.get("/addon-services/heroku-postgresql/plans").json()}
    tiers = {f"essential-{n}" for n in range(3)}
    tiers |= {f"{tier}-{n}" for tier in ("standard", "premium") for n in (0, *range(2, 10))}
    assert {n.split(":")[1] for n in plans} == tiers  # every plan Heroku sells in these tiers
    assert all(p["price"]["cents"] > 0 for p in plans.values())
    redis = {p["name"] for p in http.get("/addon-services/heroku-redis/plans").json()}
    assert {"heroku-redis:mini", "heroku-redis:premium-0", "heroku-redis:premium-14"} <= redis
    assert plans["heroku-postgresql:standard-0"]["price"] == {
        "cents": 5000,
        "contract": False,
        "unit": "month",
    }
    services = {s["name"] for s in http.get("/addon-services").json()}
    assert {"heroku-postgresql", "heroku-redis", "papertrail", "sentry", "scout"} <= services


def test_transfer_schedules(http: httpx.Client) -> None:
    new_app(http, "rules-backup")
    db = http.post("/apps/rules-backup/addons", json={"plan": "heroku-postgresql"}).json()
    path = f"/client/v11/databases/{db['id']}/transfer-schedules"
    body = {"hour": "02", "timezone": "America/New_York", "schedule_name": "DATABASE_URL"}
    first = http.post(path, json=body).json()
    second = http.post(path, json={**body, "hour": 5}).json()
    listed = http.get(path).json()
    assert [s["uuid"] for s in listed] == [second["uuid"]] != [first["uuid"]]
    assert (listed[0]["hour"], listed[0]["timezone"]) == (5, "America/New_York")
    for bad in [{"hour": 24}, {"hour": "x"}, {"hour": 1, "timezone": "Mars/Olympus"}, {}]:
        assert error(http.post(path, json=bad))[0] == 422, bad
    assert http.get("/client/v11/databases/00000000-0000-4000-8000-000000000000").status_code == 404
    redis = http.post("/apps/rules-backup/addons", json={"plan": "heroku-redis"}).json()
    assert http.get(f"/client/v11/databases/{redis['id']}/transfer-schedules").status_code == 404
    assert http.delete(f"{path}/{first['uuid']}").status_code == 404
    assert http.delete(f"{path}/{second['uuid']}").status_code == 200
    assert http.get(path).json() == []
    assert http.get("/client/v11/apps/rules-backup/transfers").json() == []


def test_data_api_waits_for_provisioning() -> None:
    with EmulatorServer(provision_delay=30) as emu:
        emu.backend.create_app({"name": "rules-wait"})
        db = emu.backend.create_addon("rules-wait", {"plan": "heroku-postgresql"})
        fast = emu.backend.create_addon("rules-wait", {"plan": "scout"})
        assert (db["state"], fast["state"]) == ("provisioning", "provisioned")
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        response = httpx.get(f"{emu.url}/client/v11/databases/{db['id']}", headers=headers)
        assert response.status_code == 404 and "not yet provisioned" in response.json()["message"]


def test_deleting_an_app_removes_its_addons_and_attachments(http: httpx.Client) -> None:
    new_app(http, "rules-cascade")
    addon = http.post("/apps/rules-cascade/addons", json={"plan": "heroku-postgresql"}).json()
    http.delete("/apps/rules-cascade")
    assert http.get(f"/addons/{addon['id']}").status_code == 404
    assert all(a["app"]["name"] != "rules-cascade" for a in http.get("/addon-attachments").json())


def test_shared_attachment_carries_the_same_url(http: httpx.Client) -> None:
    new_app(http, "rules-owner")
    new_app(http, "rules-reader")
    db = http.post("/apps/rules-owner/addons", json={"plan": "heroku-postgresql"}).json()
    body = {"addon": db["name"], "app": "rules-reader", "name": "SHARED_DB"}
    shared = http.post("/addon-attachments", json=body).json()
    owner_url = http.get("/apps/rules-owner/config-vars").json()["DATABASE_URL"]
    assert http.get("/apps/rules-reader/config-vars").json() == {"SHARED_DB_URL": owner_url}
    assert [a["id"] for a in http.get("/apps/rules-reader/addons").json()] == [db["id"]]
    assert http.post("/addon-attachments", json=body).status_code == 422  # name taken there
    owner_attachment = http.get("/apps/rules-owner/addon-attachments/DATABASE").json()
    assert error(http.delete(f"/addon-attachments/{owner_attachment['id']}"))[0] == 422
    assert http.delete(f"/addon-attachments/{shared['id']}").status_code == 200
    assert http.get("/apps/rules-reader/config-vars").json() == {}
    assert http.get("/apps/rules-owner/config-vars").json()["DATABASE_URL"] == owner_url


def test_a_shared_addon_leaves_every_app_when_destroyed_or_when_its_owner_goes(
    http: httpx.Client,
) -> None:
    for name in ("rules-host", "rules-guest", "rules-host2"):
        new_app(http, name)
    first = http.post("/apps/rules-host/addons", json={"plan": "heroku-redis:mini"}).json()
    second = http.post("/apps/rules-host2/addons", json={"plan": "heroku-postgresql"}).json()
    for addon, name in ((first, "CACHE"), (second, "SHARED_DB")):
        body = {"addon": addon["name"], "app": "rules-guest", "name": name}
        assert http.post("/addon-attachments", json=body).status_code == 201
    assert set(http.get("/apps/rules-guest/config-vars").json()) == {"CACHE_URL", "SHARED_DB_URL"}
    http.delete(f"/apps/rules-host/addons/{first['name']}").raise_for_status()
    assert set(http.get("/apps/rules-guest/config-vars").json()) == {"SHARED_DB_URL"}
    http.delete("/apps/rules-host2").raise_for_status()
    assert http.get("/apps/rules-guest/config-vars").json() == {}
    assert http.get("/apps/rules-guest/addon-attachments").json() == []


def test_rollback_restores_code_and_config(http: httpx.Client, emu: EmulatorServer) -> None:
    new_app(http, "rules-rollback")
    emu.deploy("rules-rollback", {"web": "v1-web", "worker": "v1-worker"})  # v2
    http.patch("/apps/rules-rollback/config-vars", json={"MODE": "old"})  # v3
    emu.deploy("rules-rollback", {"web": "v2-web"})  # v4
    http.patch("/apps/rules-rollback/config-vars", json={"MODE": "new", "EXTRA": "1"})  # v5
    assert http.get("/apps/rules-rollback/releases/3/config-vars").json() == {"MODE": "old"}
    target = http.get("/apps/rules-rollback/releases/3").json()["id"]
    rolled = http.post("/apps/rules-rollback/releases", json={"release": target}).json()
    assert (rolled["version"], rolled["description"]) == (6, "Rollback to v3")
    assert http.get("/apps/rules-rollback/config-vars").json() == {"MODE": "old"}
    commands = {f["type"]: f["command"] for f in http.get("/apps/rules-rollback/formation").json()}
    assert commands == {"web": "v1-web", "worker": "v1-worker"}
    assert error(http.post("/apps/rules-rollback/releases", json={"release": "1"}))[0] == 422


def test_user_config_var_is_never_replaced_by_an_addon(http: httpx.Client) -> None:
    new_app(http, "rules-mine")
    http.patch("/apps/rules-mine/config-vars", json={"DATABASE_URL": "postgres://mine"})
    addon = http.post("/apps/rules-mine/addons", json={"plan": "heroku-postgresql"}).json()
    assert addon["config_vars"][0].startswith("HEROKU_POSTGRESQL_")
    config = http.get("/apps/rules-mine/config-vars").json()
    assert config["DATABASE_URL"] == "postgres://mine"
    explicit = {"plan": "heroku-postgresql", "attachment": {"name": "DATABASE"}}
    assert error(http.post("/apps/rules-mine/addons", json=explicit))[0] == 422


def test_log_drains_of_an_app_without_drains(http: httpx.Client) -> None:
    new_app(http, "rules-drains")
    response = http.get("/apps/rules-drains/log-drains")
    assert (response.status_code, response.json()) == (200, [])
    assert error(http.get("/apps/rules-none/log-drains")) == (
        404,
        "not_found",
        "Couldn't find that app.",
    )
