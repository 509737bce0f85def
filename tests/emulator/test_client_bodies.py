"""The request bodies herokustack's client sends validate against the links of Heroku's schema."""

from __future__ import annotations

from typing import Any

from emu_helpers import HerokuSchema

from herokustack.client import HerokuClient
from herokustack.emulator import EmulatorServer


def schema_view(path: str, body: Any) -> Any:
    """Formation updates may name the size as `size`: deprecated in the schema, yet what the
    official CLI sends and Heroku accepts; it is checked as the `dyno_size` it stands for."""
    if path.endswith("/formation") and isinstance(body.get("updates"), list):
        updates = []
        for update in body["updates"]:
            update = dict(update)
            if "size" in update:
                update["dyno_size"] = {"name": update.pop("size")}
            updates.append(update)
        return {**body, "updates": updates}
    return body


def test_client_write_bodies_match_the_schema(heroku_schema: HerokuSchema) -> None:
    sent: list[tuple[str, str, Any]] = []
    with EmulatorServer() as emu, emu.observing(lambda *call: sent.append(call)):
        client = HerokuClient(emu.url, emu.api_key)
        client.create_app("bodies-app", "eu", "heroku-24")
        client.update_app("bodies-app", maintenance=True)
        client.update_app("bodies-app", build_stack="heroku-22")
        emu.deploy("bodies-app", {"web": "gunicorn", "worker": "celery"})
        client.scale("bodies-app", [{"type": "web", "quantity": 2, "size": "standard-1x"}])
        client.update_config("bodies-app", {"FOO": "bar", "OLD": None})
        addon = client.create_addon("bodies-app", "heroku-postgresql:essential-0", "DATABASE", {})
        client.upgrade_addon("bodies-app", addon.id, "heroku-postgresql:essential-1")
        client.schedule_backups(addon.id, "DATABASE_URL", 2, "Europe/Paris")
        client.destroy_addon("bodies-app", addon.id)
    writes = [
        (m, p, b) for m, p, b in sent if m in ("POST", "PATCH") and not p.startswith("/client/")
    ]
    assert {(m, p) for m, p, _ in writes} >= {
        ("POST", "/apps"),
        ("PATCH", "/apps/bodies-app"),
        ("PATCH", "/apps/bodies-app/formation"),
        ("PATCH", "/apps/bodies-app/config-vars"),
        ("POST", "/apps/bodies-app/addons"),
    }
    for method, path, body in writes:
        heroku_schema.check_request(method, path, schema_view(path, body))
