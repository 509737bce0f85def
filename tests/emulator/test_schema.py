"""Every Platform API route answers bodies that validate against Heroku's own hyper-schema.

The request bodies sent here are those herokustack sends; they are checked against the link's
request `schema` too. The data API (`/client/v11`) has no published schema: its answers are
checked against the fields the official CLI reads (shared/heroku-platform-api/cli-calls.md).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from emu_helpers import HerokuSchema, new_app
from tls_certs import make_cert

from herokustack.emulator import EmulatorServer

# The data host's APIs: no published schema (the fields the official CLI reads are checked).
DATA_API = ("/client/", "/data/", "/postgres/", "/redis/")


class Checked:
    """Sends requests, validates request and response bodies, remembers the routes covered."""

    def __init__(self, http: httpx.Client, schema: HerokuSchema, emu: EmulatorServer) -> None:
        self.http = http
        self.schema = schema
        self.covered: set[tuple[str, str]] = set()
        self.templates = [
            (method, route.path, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", route.path) + "$"))
            for route in emu.asgi.routes
            for method in (route.methods or set()) - {"HEAD"}
        ]

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        if body is not None and not path.startswith(DATA_API):
            self.schema.check_request(method, path, body)
        response = self.http.request(method, path, json=body, headers=headers)
        assert response.status_code in (200, 201, 202, 206), f"{method} {path}: {response.text}"
        if not path.startswith(DATA_API):
            self.schema.check_response(method, path, response.json())
        self._cover(method, path)
        return response.json()

    def error(self, method: str, path: str, status: int, error_id: str) -> None:
        """A route that answers only an error by design: Heroku's error shape, and covered."""
        response = self.http.request(method, path)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        assert set(response.json()) - {"resource"} == {"id", "message"}
        assert response.json()["id"] == error_id
        self._cover(method, path)

    def _cover(self, method: str, path: str) -> None:
        self.covered |= {(m, t) for m, t, rx in self.templates if m == method and rx.match(path)}


@pytest.fixture()
def call(http: httpx.Client, heroku_schema: HerokuSchema, emu: EmulatorServer) -> Checked:
    return Checked(http, heroku_schema, emu)


def test_every_route_answers_heroku_shaped_json(call: Checked, emu: EmulatorServer) -> None:
    call("GET", "/account")
    call("GET", "/account/rate-limits")
    call("GET", "/stacks")
    call("GET", "/regions/eu")
    call("GET", "/stacks/heroku-24")
    call("GET", "/regions")
    app = call("POST", "/apps", {"name": "schema-app", "region": "eu", "stack": "heroku-22"})
    call("GET", "/apps")
    call("GET", f"/apps/{app['id']}")
    call("PATCH", "/apps/schema-app", {"maintenance": True, "build_stack": "heroku-24"})
    call("PATCH", "/apps/schema-app", {"name": "schema-app-2"})
    call("GET", "/apps/schema-app-2")
    _collaborators(call)
    _pipelines(call)
    call.error("DELETE", "/account", 403, "forbidden")
    assert call("GET", "/apps/schema-app-2/log-drains") == []

    types = {"web": "gunicorn app:app", "worker": "celery -A app worker"}
    slug = call("POST", "/apps/schema-app-2/slugs", {"process_types": types, "commit": "abc123"})
    call("GET", f"/apps/schema-app-2/slugs/{slug['id']}")
    call("POST", "/apps/schema-app-2/releases", {"slug": slug["id"], "description": "Deploy"})
    call("GET", "/apps/schema-app-2/releases", Range="version ..; max=15, order=desc")
    call("GET", "/apps/schema-app-2/releases/2")
    call("GET", "/apps/schema-app-2/available-stacks")

    call("GET", "/apps/schema-app-2/formation")
    call("GET", "/apps/schema-app-2/formation/web")
    updates = [{"type": "web", "quantity": 2, "dyno_size": {"name": "standard-1x"}}]
    call("PATCH", "/apps/schema-app-2/formation", {"updates": updates})
    # On Standard-1X like web: Heroku refuses Basic and Standard-1X dynos in one app.
    worker = {"quantity": 1, "dyno_size": {"name": "standard-1x"}}
    call("PATCH", "/apps/schema-app-2/formation/worker", worker)
    call("GET", "/apps/schema-app-2/dynos")
    call("GET", "/apps/schema-app-2/dynos/web.1")
    call("DELETE", "/apps/schema-app-2/dynos/web.1")
    call("DELETE", "/apps/schema-app-2/formations/worker")
    call("DELETE", "/apps/schema-app-2/dynos")
    call("GET", "/users/~")
    assert "schema-app-2" in {a["name"] for a in call("GET", "/users/~/apps")}

    updates = [{"buildpack": "heroku/python"}, {"buildpack": "https://example.com/pack.tgz"}]
    call("PUT", "/apps/schema-app-2/buildpack-installations", {"updates": updates})
    listed = call("GET", "/apps/schema-app-2/buildpack-installations")
    assert [b["buildpack"]["name"] for b in listed] == [
        "heroku/python",
        "https://example.com/pack.tgz",
    ]
    # The buildpack registry (no published schema): public, and what the official CLI reads.
    entry = call.http.get("/buildpacks/heroku%2Fpython", headers={"Authorization": ""})
    assert entry.status_code == 200 and entry.json()["blob_url"] == "heroku/python"
    call.covered.add(("GET", "/buildpacks/{namespace}/{name}"))

    features = call("GET", "/apps/schema-app-2/features")
    assert "preboot" in {f["name"] for f in features}
    assert call("PATCH", "/apps/schema-app-2/features/preboot", {"enabled": True})["enabled"]
    assert call("GET", "/apps/schema-app-2/features/preboot")["enabled"] is True
    mine = {f["name"]: f["enabled"] for f in call("GET", "/account/features")}
    assert mine["dashboard-repositories-api"] is True  # so reviewapps:* use the Platform API
    flag = "/account/features/metrics-request-volume"
    assert call("PATCH", flag, {"enabled": True})["enabled"] is True
    assert call("GET", flag)["enabled"] is True
    call.error("GET", "/account/features/preboot", 404, "not_found")  # an app feature

    _domains(call)
    _teams(call)
    _webhooks(call)
    _data_services(call)

    call("PATCH", "/apps/schema-app-2/config-vars", {"FOO": "bar", "GONE": None})
    call("GET", "/apps/schema-app-2/config-vars")
    call("GET", "/apps/schema-app-2/releases/3/config-vars")
    call("POST", "/apps/schema-app-2/releases", {"release": _id(call, 2)})

    call("GET", "/addon-services")
    call("GET", "/addon-services/heroku-postgresql")
    call("GET", "/addon-services/heroku-postgresql/plans")
    call("GET", "/addon-services/heroku-postgresql/plans/essential-0")
    call("GET", "/plans/heroku-redis:mini")
    body = {
        "plan": "heroku-postgresql:essential-0",
        "attachment": {"name": "DATABASE"},
        "config": {},
    }
    addon = call("POST", "/apps/schema-app-2/addons", body)
    call("GET", "/addons")
    call("GET", f"/addons/{addon['name']}")
    call("GET", "/apps/schema-app-2/addons")
    call("GET", "/apps/schema-app-2/addons", **{"Accept-Expansion": "addon_service,plan"})
    call("GET", f"/apps/schema-app-2/addons/{addon['id']}")
    call(
        "PATCH",
        f"/apps/schema-app-2/addons/{addon['id']}",
        {"plan": "heroku-postgresql:essential-1"},
    )
    call("POST", "/actions/addons/resolve", {"addon": addon["name"], "app": "schema-app-2"})

    attachments = call("GET", "/addon-attachments")
    call("GET", f"/addon-attachments/{attachments[0]['id']}")
    call("GET", f"/addons/{addon['id']}/addon-attachments")
    call("GET", "/apps/schema-app-2/addon-attachments")
    call("GET", "/apps/schema-app-2/addon-attachments/DATABASE")
    call("POST", "/apps", {"name": "schema-other"})
    shared = call("POST", "/addon-attachments", {"addon": addon["id"], "app": "schema-other"})
    call("DELETE", f"/addon-attachments/{shared['id']}")
    resolve = {"addon_attachment": "DATABASE_URL", "app": "schema-app-2"}
    call("POST", "/actions/addon-attachments/resolve", resolve)

    database = call("GET", f"/client/v11/databases/{addon['id']}")
    assert {"addon_id", "name", "plan", "status", "info", "resource_url"} <= set(database)
    assert all(set(row) == {"name", "values"} for row in database["info"])
    schedule = _schedule(call, addon["id"])
    assert {"uuid", "name", "hour", "days", "timezone", "retain_weeks", "retain_months"} <= set(
        schedule
    )
    call("GET", f"/client/v11/databases/{addon['id']}/transfer-schedules")
    call("DELETE", f"/client/v11/databases/{addon['id']}/transfer-schedules/{schedule['uuid']}")
    call("GET", "/client/v11/apps/schema-app-2/transfers")

    deleted = call("DELETE", f"/apps/schema-app-2/addons/{addon['id']}")
    assert deleted["state"] == "deprovisioned"
    _drains(call)
    call("DELETE", "/apps/schema-app-2")

    every = {(m, t) for m, t, _ in call.templates}
    missing = sorted(every - call.covered)
    assert not missing, f"routes never exercised: {missing}"


def _domains(call: Checked) -> None:
    assert call("GET", "/apps/schema-app-2/sni-endpoints") == []
    body = {"hostname": "www.schema.example.com", "sni_endpoint": None}
    added = call("POST", "/apps/schema-app-2/domains", body)
    assert added["cname"].endswith(".herokudns.com") and added["kind"] == "custom"
    call(
        "POST",
        "/apps/schema-app-2/domains",
        {"hostname": "*.schema.example.com", "sni_endpoint": None},
    )
    assert call("POST", "/apps/schema-app-2/acm")["acm"] is True
    # Heroku's schema gives the refresh no request body; the official CLI sends acm_refresh.
    assert call("PATCH", "/apps/schema-app-2/acm")["acm"] is True
    listed = call("GET", "/apps/schema-app-2/domains")
    assert {d["kind"] for d in listed} == {"heroku", "custom"} and len(listed) == 3
    got = call("GET", "/apps/schema-app-2/domains/www.schema.example.com")
    assert got["acm_status"] == "cert issued"
    call("PATCH", f"/apps/schema-app-2/domains/{added['id']}", {"sni_endpoint": None})
    _sni_endpoints(call, added["id"])
    call("DELETE", "/apps/schema-app-2/domains/www.schema.example.com")
    assert call("DELETE", "/apps/schema-app-2/acm")["acm"] is False


def _sni_endpoints(call: Checked, domain_id: str) -> None:
    many = "/apps/schema-app-2/sni-endpoints"
    chain, key = make_cert(["www.schema.example.com"])
    made = call("POST", many, {"certificate_chain": chain, "private_key": key})
    bound = call("PATCH", f"/apps/schema-app-2/domains/{domain_id}", {"sni_endpoint": made["id"]})
    assert bound["sni_endpoint"] == {"id": made["id"], "name": made["name"]}
    assert [e["domains"] for e in call("GET", many)] == [[domain_id]]
    chain, key = make_cert(["www.schema.example.com"])
    call("PATCH", f"{many}/{made['name']}", {"certificate_chain": chain, "private_key": key})
    assert call("GET", f"{many}/{made['id']}")["certificate_chain"] == chain
    call("DELETE", f"{many}/{made['name']}")
    assert call("GET", many) == []


def _webhooks(call: Checked) -> None:
    path = "/apps/schema-app-2/webhooks"
    body = {"url": "https://hooks.example.com/h", "include": ["api:release"], "level": "notify"}
    created = call("POST", path, {**body, "secret": "s3cret", "authorization": "Bearer t0ken"})
    assert "secret" not in created and "authorization" not in created  # never answered
    assert [w["id"] for w in call("GET", path)] == [created["id"]]
    call("GET", f"{path}/{created['id']}")
    changed = call("PATCH", f"{path}/{created['id']}", {"include": ["api:build"], "level": "sync"})
    assert (changed["include"], changed["level"]) == (["api:build"], "sync")
    call("DELETE", f"{path}/{created['id']}")
    assert call("GET", "/apps/schema-app-2/webhook-events") == []
    assert call("GET", "/apps/schema-app-2/webhook-deliveries") == []


def _pipelines(call: Checked) -> None:
    """A team pipeline with the app in staging, moved to production; stage config; review apps."""
    team = call("GET", "/teams/acme")
    body = {"name": "schema-pipe", "owner": {"id": team["id"], "type": "team"}}
    pipe = call(
        "POST", "/pipelines", body, Accept="application/vnd.heroku+json; version=3.pipelines"
    )
    assert [p["name"] for p in call("GET", "/pipelines?eq[name]=schema-pipe")] == ["schema-pipe"]
    call("GET", "/pipelines/schema-pipe")
    assert len(call("GET", "/pipelines")) == 1
    call("PATCH", f"/pipelines/{pipe['id']}", {"name": "schema-pipe"})
    body = {"app": "schema-app-2", "pipeline": pipe["id"], "stage": "staging"}
    coupling = call("POST", "/pipeline-couplings", body)
    assert coupling["pipeline"]["name"] == "schema-pipe"
    call(
        "GET",
        "/apps/schema-app-2/pipeline-couplings",
        Accept="application/vnd.heroku+json; version=3.sdk",
    )
    call("PATCH", f"/pipeline-couplings/{coupling['id']}", {"stage": "production"})
    assert call("GET", f"/pipeline-couplings/{coupling['id']}")["stage"] == "production"
    assert len(call("GET", f"/pipelines/{pipe['id']}/pipeline-couplings")) == 1
    assert len(call("GET", "/pipeline-couplings")) == 1
    apps = call("POST", "/filters/apps", {"in": {"id": [coupling["app"]["id"]]}})
    assert [a["name"] for a in apps] == ["schema-app-2"]
    stage = f"/pipelines/{pipe['id']}/stage/review/config-vars"
    assert call("PATCH", stage, {"FOO": "bar", "GONE": None}) == {"FOO": "bar"}
    assert call("GET", stage) == {"FOO": "bar"}
    review = f"/pipelines/{pipe['id']}/review-app-config"
    settings = {"repo": "acme/web", "automatic_review_apps": True, "stale_days": 5,
                "destroy_stale_apps": True, "wait_for_ci": True, "base_name": "acme-pr",
                "deploy_target": {"id": "eu", "type": "region"}}  # fmt: skip
    assert call("POST", review, settings)["automatic_review_apps"] is True
    assert call("PATCH", review, {"stale_days": 7})["stale_days"] == 7
    call("GET", review)
    call("DELETE", review)
    # The connected repository (Heroku's repositories API, no published schema): the config
    # connected it; PUT (emulator-only) connects another.
    repo = call.http.get(f"/pipelines/{pipe['id']}/repo").json()
    assert repo["full_name"] == "acme/web"
    put = call.http.put(f"/pipelines/{pipe['id']}/repo", json={"full_name": "acme/api"})
    assert put.status_code == 200 and put.json()["full_name"] == "acme/api"
    bad = call.http.put(f"/pipelines/{pipe['id']}/repo", json={"full_name": "no slash"})
    assert bad.status_code == 422 and bad.json()["id"] == "invalid_params"
    call.covered |= {("GET", "/pipelines/{pipeline}/repo"), ("PUT", "/pipelines/{pipeline}/repo")}
    call("DELETE", f"/pipeline-couplings/{coupling['id']}")
    call.error("GET", "/apps/schema-app-2/pipeline-couplings", 404, "not_found")
    call("DELETE", f"/pipelines/{pipe['id']}")


def _collaborators(call: Checked) -> None:
    """Personal app (owner and a collaborator), then a team app's, with permissions."""
    base = "/apps/schema-app-2/collaborators"
    added = call("POST", base, {"user": "bob@example.com", "silent": True})
    assert added["role"] == "collaborator" and "permissions" not in added
    assert sorted(c["role"] for c in call("GET", base)) == ["collaborator", "owner"]
    call("GET", f"{base}/{added['id']}")
    call("DELETE", f"{base}/BOB@example.com")
    call("POST", "/teams/apps", {"name": "schema-access", "team": "acme"})
    team = "/teams/apps/schema-access/collaborators"
    body = {"user": "alice@acme.com", "permissions": ["deploy"], "silent": True}
    alice = call("POST", team, body)
    assert [p["name"] for p in alice["permissions"]] == ["deploy", "view"]
    call("PATCH", f"{team}/alice@acme.com", {"permissions": ["deploy", "manage"]})
    call("GET", f"{team}/alice@acme.com")
    people = {c["user"]["email"]: c for c in call("GET", team)}
    assert people["acme@herokumanager.com"]["role"] == "owner"
    assert [p["name"] for p in people["alice@acme.com"]["permissions"]] == [
        "deploy",
        "manage",
        "view",
    ]
    assert len(call("GET", "/apps/schema-access/collaborators")) == 2
    call("DELETE", f"{team}/alice@acme.com")
    call("DELETE", "/apps/schema-access")


def _teams(call: Checked) -> None:
    assert [t["name"] for t in call("GET", "/teams")] == ["acme"]
    team = call("POST", "/teams", {"name": "schema-team"})
    call("GET", f"/teams/{team['id']}")
    call("PATCH", "/teams/schema-team", {"default": True})
    member = {"email": "dev@example.com", "role": "member"}
    call("PUT", "/teams/schema-team/members", member)
    call("POST", "/teams/schema-team/members", {"email": "ops@example.com", "role": "member"})
    call("PATCH", "/teams/schema-team/members", {**member, "role": "admin"})
    assert len(call("GET", "/teams/schema-team/members")) == 3
    call("DELETE", "/teams/schema-team/members/ops@example.com")
    call("GET", "/teams/schema-team/features")
    call("GET", "/teams/permissions")
    app = call("POST", "/teams/apps", {"name": "schema-team-app", "locked": True})
    assert app["team"] == {"name": "schema-team"} and app["locked"] is True
    assert call("GET", "/apps/schema-team-app")["owner"]["email"] == "schema-team@herokumanager.com"
    call("GET", "/teams/apps/schema-team-app")
    call("PATCH", "/teams/apps/schema-team-app", {"locked": False})
    call("PATCH", "/teams/apps/schema-app-2", {"owner": "acme"})
    assert [a["name"] for a in call("GET", "/teams/acme/apps")] == ["schema-app-2"]
    call("PATCH", "/teams/apps/schema-app-2", {"owner": "you@herokustack.local"})
    call("DELETE", "/apps/schema-team-app")
    call("DELETE", "/teams/schema-team")


def _drains(call: Checked) -> None:
    url = "https://logs.example.com/ingest?source=schema"
    drain = call("POST", "/apps/schema-app-2/log-drains", {"url": url})
    assert drain["addon"] is None and drain["token"].startswith("d.")
    logs = call("POST", "/apps/schema-app-2/addons", {"plan": "papertrail:choklad"})
    assert call("GET", f"/apps/schema-app-2/log-drains/{drain['token']}")["url"] == url
    [made] = call("GET", f"/addons/{logs['name']}/log-drains")
    assert made["addon"]["name"] == logs["name"] and made["app"]["name"] == "schema-app-2"
    moved = {"url": "syslog+tls://logs2.papertrailapp.com:12345"}
    call("PUT", f"/addons/{logs['id']}/log-drains/{made['id']}", moved)
    assert len(call("GET", "/apps/schema-app-2/log-drains")) == 2
    call("DELETE", f"/apps/schema-app-2/log-drains/{quote(url, safe='')}")
    assert call("GET", f"/apps/schema-app-2/log-drains/{made['id']}")["url"] == moved["url"]
    call("DELETE", f"/apps/schema-app-2/addons/{logs['id']}")
    assert call("GET", "/apps/schema-app-2/log-drains") == []


def _data_services(call: Checked) -> None:
    """Windows and settings of data add-ons, the fields the official CLI 11 reads."""
    db = call("POST", "/apps/schema-app-2/addons", {"plan": "heroku-postgresql:standard-0"})
    redis = call("POST", "/apps/schema-app-2/addons", {"plan": "heroku-redis:premium-0"})
    window = call("GET", f"/data/maintenances/v1/{db['id']}/window")
    assert {"day_of_week", "time_of_day", "window"} <= set(window)
    body = {"day_of_week": "tuesday", "time_of_day": "14:30"}
    set_to = call("POST", f"/data/maintenances/v1/{redis['id']}/window", body)
    assert set_to["window"] == "Tuesdays 14:30 to 18:30 UTC"
    assert call("GET", f"/data/maintenances/v1/{db['id']}")["addon"]["name"] == db["name"]
    listed = call("GET", "/data/maintenances/v1/apps/schema-app-2")["maintenances"]
    assert {m["addon"]["name"] for m in listed} >= {db["name"], redis["name"]}
    pg = call("GET", f"/postgres/v0/databases/{db['id']}/config")
    assert pg["log_statement"]["values"][pg["log_statement"]["value"]]
    patched = call("PATCH", f"/postgres/v0/databases/{db['id']}/config", {"log_lock_waits": False})
    assert patched["log_lock_waits"]["value"] is False
    info = call("GET", f"/redis/v0/databases/{redis['name']}")
    assert all(set(row) == {"name", "values"} for row in info["info"])
    assert call("GET", f"/redis/v0/databases/{redis['id']}/config")["timeout"]["value"] == 300
    policy = {"maxmemory_policy": "allkeys-lru"}
    config = call("PATCH", f"/redis/v0/databases/{redis['name']}/config", policy)
    assert config["maxmemory_policy"]["values"]["allkeys-lru"]
    for addon in (db, redis):
        call("DELETE", f"/apps/schema-app-2/addons/{addon['id']}")


def _id(call: Checked, version: int) -> str:
    return str(call.http.get(f"/apps/schema-app-2/releases/{version}").json()["id"])


def _schedule(call: Checked, addon_id: str) -> Any:
    path = f"/client/v11/databases/{addon_id}/transfer-schedules"
    response = call.http.post(
        path, json={"hour": 2, "timezone": "UTC", "schedule_name": "DATABASE_URL"}
    )
    assert response.status_code == 201, response.text
    call.covered.add(("POST", "/client/v11/databases/{addon}/transfer-schedules"))
    return response.json()


def test_errors_are_heroku_shaped(http: httpx.Client) -> None:
    # A missing thing's 404 names its kind ("resource"), as Heroku's does; an unknown route not.
    for method, path, status, error_id, resource in [
        ("GET", "/apps/no-such-app", 404, "not_found", "app"),
        ("GET", "/apps/no-such-app/formation/web", 404, "not_found", "app"),
        ("DELETE", "/account", 403, "forbidden", None),
        ("GET", "/no/such/endpoint", 404, "not_found", None),
    ]:
        response = http.request(method, path)
        assert response.status_code == status
        assert response.json()["id"] == error_id
        assert response.json().get("resource") == resource
        assert set(response.json()) - {"resource"} == {"id", "message"}
        assert response.headers["Request-Id"]
    unknown = http.get("/no/such/endpoint").json()["message"]
    assert unknown.startswith("The requested API endpoint was not found. Are you using the right")


def test_included_attachment_embeds_plan_and_config_vars(http: httpx.Client) -> None:
    new_app(http, "schema-incl")
    http.post("/apps/schema-incl/addons", json={"plan": "heroku-postgresql:standard-0"})
    resolve = {"addon_attachment": "DATABASE_URL", "app": "schema-incl"}
    plain = http.post("/actions/addon-attachments/resolve", json=resolve).json()
    assert "plan" not in plain[0]["addon"] and "config_vars" not in plain[0]
    headers = {"Accept-Inclusion": "addon:plan,config_vars", "Accept": f"{ACCEPT_SDK}"}
    rich = http.post("/actions/addon-attachments/resolve", json=resolve, headers=headers).json()
    assert rich[0]["addon"]["plan"]["name"] == "heroku-postgresql:standard-0"
    assert rich[0]["config_vars"] == ["DATABASE_URL"]


ACCEPT_SDK = "application/vnd.heroku+json; version=3.sdk"
