"""Add-ons: the service and plan catalog, add-ons (provisioned after a delay), attachments.

An attachment sets the add-on's config vars on its app (`DATABASE_URL`); every attachment of
one add-on carries the same values. A slow service's add-on is `provisioning` until
`provision_delay` seconds have passed, and its config vars appear only then.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from herokustack.emulator import catalog
from herokustack.emulator.catalog import Plan, Service
from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.db import (
    NAME_WORDS,
    Json,
    check_fields,
    identity_of,
    invalid,
    not_found,
    ref,
    want_str,
)
from herokustack.emulator.models.releases import ReleasesState
from herokustack.emulator.models.stacks import GENERATION

ADDON_NAME_RE = re.compile(r"^[a-zA-Z][A-Za-z0-9_-]{1,255}$")
ATTACHMENT_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
COLORS = ("AMBER", "BLUE", "BRONZE", "COBALT", "CRIMSON", "GOLD", "GRAY", "GREEN", "OLIVE", "ONYX")

SCHEMA = """
CREATE TABLE IF NOT EXISTS addons (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL,
  app_id TEXT NOT NULL, plan TEXT NOT NULL, config TEXT NOT NULL, provider_id TEXT NOT NULL,
  ready_at REAL NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attachments (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, addon_id TEXT NOT NULL,
  app_id TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (app_id, name));
"""


def service_prefix(service: str) -> str:
    """A LIKE pattern for the plans of a service, with the user's text escaped."""
    escaped = service.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}:%"


class Lookups:
    """The rows an answer refers to by id. One object (`get_addon`) reads them one at a time;
    a whole account's list reads each table once (`everything`): paging 3,000 add-ons would
    otherwise be 6,000 queries a page."""

    def __init__(self, c: sqlite3.Connection, everything: bool = False) -> None:
        self.c = c
        self.apps: dict[str, sqlite3.Row] = {}
        self.addons: dict[str, sqlite3.Row] = {}
        self.first_attachment: dict[tuple[str, str], str] | None = None
        if everything:
            self.apps = {r["id"]: r for r in c.execute("SELECT id, name FROM apps")}
            self.addons = {r["id"]: r for r in c.execute("SELECT * FROM addons")}
            self.first_attachment = {}
            for r in c.execute("SELECT addon_id, app_id, name FROM attachments ORDER BY seq"):
                self.first_attachment.setdefault((r["addon_id"], r["app_id"]), r["name"])

    def app(self, app_id: str) -> sqlite3.Row:
        if app_id not in self.apps:
            sql = "SELECT id, name FROM apps WHERE id = ?"
            self.apps[app_id] = self.c.execute(sql, (app_id,)).fetchone()
        return self.apps[app_id]

    def addon(self, addon_id: str) -> sqlite3.Row:
        if addon_id not in self.addons:
            sql = "SELECT * FROM addons WHERE id = ?"
            self.addons[addon_id] = self.c.execute(sql, (addon_id,)).fetchone()
        return self.addons[addon_id]

    def attachment_name(self, addon_id: str, app_id: str) -> str | None:
        if self.first_attachment is not None:
            return self.first_attachment.get((addon_id, app_id))
        row = self.c.execute(
            "SELECT name FROM attachments WHERE addon_id = ? AND app_id = ? ORDER BY seq LIMIT 1",
            (addon_id, app_id),
        ).fetchone()
        return row["name"] if row else None


class AddonsState(ReleasesState):
    # --- catalog ------------------------------------------------------------------------------

    def list_services(self) -> list[Json]:
        return [self._service_json(s) for s in catalog.SERVICES]

    def get_service(self, ident: str) -> Json:
        return self._service_json(self._find_service(ident))

    def list_plans(self, service_ident: str) -> list[Json]:
        return [self._plan_json(p) for p in self._find_service(service_ident).plans]

    def get_plan(self, ident: str, service_ident: str | None = None) -> Json:
        if service_ident is not None:
            service = self._find_service(service_ident)
            plan = next((p for p in service.plans if ident in (p.id, p.name, p.short)), None)
        else:
            plan = catalog.find_plan(ident) if ":" in ident or len(ident) == 36 else None
        if plan is None:
            raise not_found("Couldn't find that plan.")
        return self._plan_json(plan)

    @staticmethod
    def _find_service(ident: str) -> Service:
        service = catalog.find_service(ident)
        if service is None:
            raise not_found("Couldn't find that add-on service.")
        return service

    @staticmethod
    def _service_json(service: Service) -> Json:
        return {
            "cli_plugin_name": None,
            "created_at": catalog.CATALOG_TIME,
            "human_name": service.human_name,
            "id": service.id,
            "name": service.name,
            "state": "ga",
            "supports_multiple_installations": True,
            "supports_sharing": True,
            "updated_at": catalog.CATALOG_TIME,
            "supported_generations": [GENERATION],
        }

    @staticmethod
    def _plan_json(plan: Plan) -> Json:
        service = catalog.service_of(plan)
        return {
            "addon_service": {"id": service.id, "name": service.name},
            "compliance": None,
            "created_at": catalog.CATALOG_TIME,
            "default": plan.default,
            "description": f"{service.human_name} {plan.human_name}",
            "human_name": plan.human_name,
            "id": plan.id,
            "installable_inside_private_network": False,
            "installable_outside_private_network": True,
            "name": plan.name,
            "price": {"cents": plan.cents, "contract": False, "unit": "month"},
            "space_default": False,
            "state": "public",
            "updated_at": catalog.CATALOG_TIME,
            "visible": True,
        }

    # --- add-ons ------------------------------------------------------------------------------

    def _addon_row(
        self, c: sqlite3.Connection, ident: str, app_id: str | None = None
    ) -> sqlite3.Row:
        sql = "SELECT * FROM addons WHERE (id = ? OR name = ?)"
        args: tuple[str, ...] = (ident, ident)
        if app_id is not None:
            sql += " AND app_id = ?"
            args += (app_id,)
        row = c.execute(sql, args).fetchone()
        if row is None:
            raise not_found("Couldn't find that add-on.", "add_on")
        return row

    def _addon_state(self, row: sqlite3.Row) -> str:
        return "provisioned" if self.clock() >= row["ready_at"] else "provisioning"

    def _addon_json(
        self,
        c: sqlite3.Connection,
        row: sqlite3.Row,
        *,
        expand: frozenset[str] = frozenset(),
        rows: Lookups | None = None,
    ) -> Json:
        plan = catalog.find_plan(row["plan"])
        assert plan is not None
        service = catalog.service_of(plan)
        rows = rows or Lookups(c)
        app = rows.app(row["app_id"])
        prefix = rows.attachment_name(row["id"], row["app_id"]) or service.attachment_name
        service_ref: Json = {"id": service.id, "name": service.name}
        plan_ref: Json = {"id": plan.id, "name": plan.name}
        # Accept-Expansion: addon_service,plan — whole objects (the CLI prints the plan's price).
        if "addon_service" in expand:
            service_ref = self._service_json(service)
        if "plan" in expand:
            plan_ref = self._plan_json(plan)
        return {
            "actions": [],
            "addon_service": service_ref,
            "billing_entity": {"id": app["id"], "name": app["name"], "type": "app"},
            "app": ref(app),
            "billed_price": {"cents": plan.cents, "contract": False, "unit": "month"},
            "config_vars": [f"{prefix}_{s}" for s in service.config_suffixes],
            "created_at": row["created_at"],
            "id": row["id"],
            "name": row["name"],
            "plan": plan_ref,
            "provider_id": row["provider_id"],
            "state": self._addon_state(row),
            "updated_at": row["updated_at"],
            "web_url": f"https://addons-sso.herokustack.local/apps/{app['id']}/addons/{row['id']}",
        }

    def _resolve_plan(self, value: Any) -> Plan:
        ident = identity_of(value, "plan")
        plan = catalog.find_plan(ident)
        if plan is None:
            raise invalid(
                f"Couldn't find either the add-on service or the add-on plan of {ident!r}."
            )
        return plan

    def _generated_addon_name(self, c: sqlite3.Connection, service: Service) -> str:
        base = service.name.removeprefix("heroku-")
        while True:
            name = f"{base}-{self._rng.choice(NAME_WORDS)}-{self._rng.randrange(10000, 99999)}"
            if c.execute("SELECT 1 FROM addons WHERE name = ?", (name,)).fetchone() is None:
                return name

    def _attachment_name(
        self, c: sqlite3.Connection, app_id: str, service: Service, wanted: str | None
    ) -> str:
        taken = {
            r["name"] for r in c.execute("SELECT name FROM attachments WHERE app_id = ?", (app_id,))
        }
        # A name whose config vars the user already set is taken too: Heroku leaves them alone.
        keys = {
            r["key"] for r in c.execute("SELECT key FROM config_vars WHERE app_id = ?", (app_id,))
        }
        taken |= {
            name
            for name in {service.attachment_name, wanted or ""}
            if any(f"{name}_{suffix}" in keys for suffix in service.config_suffixes)
        }
        if wanted is not None:
            if not ATTACHMENT_NAME_RE.match(wanted):
                raise invalid(
                    "Attachment name must start with a letter and can only contain uppercase "
                    "letters, numbers, and underscores."
                )
            if wanted in taken:
                raise invalid(f"Attachment name {wanted} is already taken on this app.")
            return wanted
        if service.attachment_name not in taken:
            return service.attachment_name
        stem = service.name.upper().replace("-", "_")
        free = (f"{stem}_{color}" for color in COLORS if f"{stem}_{color}" not in taken)
        name = next(free, None)
        if name is None:
            raise invalid(f"Too many {service.name} add-ons on this app.")
        return name

    def _config_value(self, service: Service, suffix: str) -> str:
        if service.name == "heroku-postgresql":
            user, password, db = f"u{self._hex(12)}", self._hex(40), f"d{self._hex(12)}"
            return f"postgres://{user}:{password}@db.herokustack.local:5432/{db}"
        if service.name == "heroku-redis":
            return f"rediss://:{self._hex(32)}@redis.herokustack.local:6380"
        return self._hex(32)

    def create_addon(
        self, app_ident: str, body: Json, *, expand: frozenset[str] = frozenset()
    ) -> Json:
        check_fields(body, {"plan", "name", "attachment", "config", "confirm"})
        plan = self._resolve_plan(body.get("plan"))
        service = catalog.service_of(plan)
        name = want_str(body, "name")
        if name is not None and not ADDON_NAME_RE.match(name):
            raise invalid(
                "Add-on name must start with a letter and contain only letters, digits, - and _."
            )
        attachment = body.get("attachment") or {}
        if not isinstance(attachment, dict):
            raise invalid("Invalid type for attachment: expected an object.")
        check_fields(attachment, {"name"})
        wanted_attachment = want_str(attachment, "name")
        config = body.get("config") or {}
        if not isinstance(config, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in config.items()
        ):
            raise invalid("Invalid type for config: expected an object of strings.")
        want_str(body, "confirm")
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            if name is None:
                name = self._generated_addon_name(c, service)
            elif c.execute("SELECT 1 FROM addons WHERE name = ?", (name,)).fetchone():
                raise invalid("Name is already taken")
            attach_as = self._attachment_name(c, app["id"], service, wanted_attachment)
            now, addon_id = self.now(), self.new_id()
            delay = self.provision_delay if service.slow_to_provision else 0.0
            c.execute(
                "INSERT INTO addons (id, name, app_id, plan, config, provider_id, ready_at,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    addon_id,
                    name,
                    app["id"],
                    plan.name,
                    json.dumps(config),
                    f"resource-{self._hex(16)}",
                    self.clock() + delay,
                    now,
                    now,
                ),
            )
            self._attach(c, addon_id, app["id"], attach_as, service)
            return self._addon_json(c, self._addon_row(c, addon_id), expand=expand)

    def _attach(
        self, c: sqlite3.Connection, addon_id: str, app_id: str, name: str, service: Service
    ) -> None:
        now = self.now()
        c.execute(
            "INSERT INTO attachments (id, addon_id, app_id, name, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (self.new_id(), addon_id, app_id, name, now, now),
        )
        for suffix in service.config_suffixes:
            c.execute(
                "INSERT OR REPLACE INTO config_vars (app_id, key, value, addon_id)"
                " VALUES (?, ?, ?, ?)",
                (app_id, f"{name}_{suffix}", self._shared_value(c, addon_id, suffix), addon_id),
            )
        addon_name = c.execute("SELECT name FROM addons WHERE id = ?", (addon_id,)).fetchone()[
            "name"
        ]
        self._add_release(c, app_id, f"Attach {name} (@ref:{addon_name})", None)

    def _shared_value(self, c: sqlite3.Connection, addon_id: str, suffix: str) -> str:
        """Every attachment of one add-on carries the same URL or token; the first one makes it."""
        for att in c.execute(
            "SELECT app_id, name FROM attachments WHERE addon_id = ? ORDER BY seq", (addon_id,)
        ).fetchall():
            row = c.execute(
                "SELECT value FROM config_vars WHERE app_id = ? AND key = ? AND addon_id = ?",
                (att["app_id"], f"{att['name']}_{suffix}", addon_id),
            ).fetchone()
            if row is not None:
                return str(row["value"])
        return self._config_value(self._service_of_addon(c, addon_id), suffix)

    @staticmethod
    def _service_of_addon(c: sqlite3.Connection, addon_id: str) -> Service:
        plan = catalog.find_plan(
            c.execute("SELECT plan FROM addons WHERE id = ?", (addon_id,)).fetchone()["plan"]
        )
        assert plan is not None
        return catalog.service_of(plan)

    def create_attachment(self, body: Json) -> Json:
        """Attach an existing add-on to an app (shared databases): same config vars there."""
        check_fields(body, {"addon", "app", "name", "namespace", "confirm"})
        addon_ident = identity_of(body.get("addon"), "addon")
        app_ident = identity_of(body.get("app"), "app")
        wanted = want_str(body, "name")
        want_str(body, "confirm")
        if body.get("namespace") is not None:
            raise invalid("Attachment namespaces are not supported by this emulator.")
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            addon = self._addon_row(c, addon_ident)
            service = self._service_of_addon(c, addon["id"])
            name = self._attachment_name(c, app["id"], service, wanted)
            self._attach(c, addon["id"], app["id"], name, service)
            sql = "SELECT * FROM attachments WHERE app_id = ? AND name = ?"
            return self._attachment_json(c, c.execute(sql, (app["id"], name)).fetchone(), set())

    def delete_attachment(self, ident: str) -> Json:
        """Detach; the owning app keeps at least one attachment (destroy the add-on instead)."""
        with self.tx() as c:
            row = c.execute("SELECT * FROM attachments WHERE id = ?", (ident,)).fetchone()
            if row is None:
                raise not_found("Couldn't find that add-on attachment.", "add_on_attachment")
            addon = c.execute("SELECT * FROM addons WHERE id = ?", (row["addon_id"],)).fetchone()
            on_owner = c.execute(
                "SELECT COUNT(*) AS n FROM attachments WHERE addon_id = ? AND app_id = ?",
                (addon["id"], addon["app_id"]),
            ).fetchone()["n"]
            if row["app_id"] == addon["app_id"] and on_owner == 1:
                raise invalid(
                    f"{row['name']} is the last attachment of {addon['name']} to its billing app;"
                    " destroy the add-on instead."
                )
            answer = self._attachment_json(c, row, set())
            for suffix in self._service_of_addon(c, addon["id"]).config_suffixes:
                c.execute(
                    "DELETE FROM config_vars WHERE app_id = ? AND key = ? AND addon_id = ?",
                    (row["app_id"], f"{row['name']}_{suffix}", addon["id"]),
                )
            c.execute("DELETE FROM attachments WHERE id = ?", (row["id"],))
            self._add_release(
                c, row["app_id"], f"Detach {row['name']} (@ref:{addon['name']})", None
            )
            return answer

    def list_addons(
        self, app_ident: str | None = None, *, expand: frozenset[str] = frozenset()
    ) -> list[Json]:
        with self._lock:
            c = self._conn
            if app_ident is None:
                rows = c.execute("SELECT * FROM addons ORDER BY seq").fetchall()
            else:
                app = self.app_row(c, app_ident)
                rows = c.execute(
                    "SELECT * FROM addons WHERE app_id = ? OR id IN"
                    " (SELECT addon_id FROM attachments WHERE app_id = ?) ORDER BY seq",
                    (app["id"], app["id"]),
                ).fetchall()
            found = Lookups(c, everything=app_ident is None)
            return [self._addon_json(c, r, expand=expand, rows=found) for r in rows]

    def get_addon(
        self, ident: str, app_ident: str | None = None, *, expand: frozenset[str] = frozenset()
    ) -> Json:
        with self._lock:
            c = self._conn
            app_id = self.app_row(c, app_ident)["id"] if app_ident is not None else None
            return self._addon_json(c, self._addon_row(c, ident, app_id), expand=expand)

    def update_addon(
        self, app_ident: str, ident: str, body: Json, *, expand: frozenset[str] = frozenset()
    ) -> Json:
        """Change the plan, rename, or both (`addons:rename` sends only the name)."""
        check_fields(body, {"plan", "name"})
        if body.get("plan") is None and body.get("name") is None:
            raise invalid("Missing required param: plan.")
        plan = self._resolve_plan(body["plan"]) if body.get("plan") is not None else None
        name = want_str(body, "name")
        if name is not None and not ADDON_NAME_RE.match(name):
            raise invalid(
                "Add-on name must start with a letter and contain only letters, digits, - and _."
            )
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            row = self._addon_row(c, ident, app["id"])
            if plan is None:
                plan = self._resolve_plan(row["plan"])
            if not row["plan"].startswith(f"{plan.service}:"):
                raise invalid(
                    f"Add-on plan {plan.name} belongs to another add-on service than "
                    f"{row['plan'].split(':')[0]}; a plan can only change within its service."
                )
            _check_tier_change(row["plan"], plan.name)
            if name is not None and name != row["name"]:
                if c.execute("SELECT 1 FROM addons WHERE name = ?", (name,)).fetchone():
                    raise invalid("Name is already taken")
                c.execute(
                    "UPDATE addons SET name = ?, updated_at = ? WHERE id = ?",
                    (name, self.now(), row["id"]),
                )
            if plan.name != row["plan"]:
                c.execute(
                    "UPDATE addons SET plan = ?, updated_at = ? WHERE id = ?",
                    (plan.name, self.now(), row["id"]),
                )
                self._add_release(c, app["id"], f"Upgrade {row['name']} to {plan.name}", None)
            return self._addon_json(c, self._addon_row(c, row["id"]), expand=expand)

    def delete_addon(
        self, app_ident: str, ident: str, *, expand: frozenset[str] = frozenset()
    ) -> Json:
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            row = self._addon_row(c, ident, app["id"])
            answer = self._addon_json(c, row, expand=expand)
            answer["state"] = "deprovisioned"
            names = [
                r["name"]
                for r in c.execute("SELECT name FROM attachments WHERE addon_id = ?", (row["id"],))
            ]
            self._drop_addon(c, row["id"])
            for name in names:
                self._add_release(c, app["id"], f"Detach {name} (@ref:{row['name']})", None)
            return answer

    def _drop_addon(self, c: sqlite3.Connection, addon_id: str) -> None:
        """The add-on and its rows in every family (attachments, their config vars, schedules)."""
        self.delete_addon_rows(c, addon_id)
        c.execute("DELETE FROM addons WHERE id = ?", (addon_id,))

    def resolve_addons(self, body: Json, *, expand: frozenset[str] = frozenset()) -> list[Json]:
        """Match an add-on's id or name, an attachment name or config var, or a service or plan."""
        check_fields(body, {"addon", "app", "addon_service"})
        ident = want_str(body, "addon", required=True)
        app_ident = want_str(body, "app")
        service = want_str(body, "addon_service")
        assert ident is not None
        with self._lock:
            c = self._conn
            rows = c.execute(
                "SELECT DISTINCT addons.* FROM addons LEFT JOIN attachments"
                " ON attachments.addon_id = addons.id WHERE addons.id = ? OR addons.name = ?"
                " OR attachments.name = ? OR addons.plan = ? OR addons.plan LIKE ? ESCAPE '\\'"
                " ORDER BY addons.seq",
                (ident, ident, ident.removesuffix("_URL"), ident, service_prefix(ident)),
            ).fetchall()
            if app_ident is not None:
                app = self.app_row(c, app_ident)
                rows = [r for r in rows if self._addon_on_app(c, r["id"], app["id"])]
            if service is not None:
                rows = [r for r in rows if r["plan"].split(":")[0] == service]
            if not rows:
                raise not_found("Couldn't find that add-on.", "add_on")
            return [self._addon_json(c, r, expand=expand) for r in rows]

    @staticmethod
    def _addon_on_app(c: sqlite3.Connection, addon_id: str, app_id: str) -> bool:
        sql = "SELECT 1 FROM attachments WHERE addon_id = ? AND app_id = ?"
        return c.execute(sql, (addon_id, app_id)).fetchone() is not None

    # --- attachments --------------------------------------------------------------------------

    def _attachment_json(
        self,
        c: sqlite3.Connection,
        row: sqlite3.Row,
        include: set[str],
        rows: Lookups | None = None,
    ) -> Json:
        rows = rows or Lookups(c)
        addon = rows.addon(row["addon_id"])
        owner, app = rows.app(addon["app_id"]), rows.app(row["app_id"])
        addon_ref: Json = {"id": addon["id"], "name": addon["name"], "app": ref(owner)}
        answer: Json = {
            "addon": addon_ref,
            "app": ref(app),
            "created_at": row["created_at"],
            "id": row["id"],
            "name": row["name"],
            "namespace": None,
            "updated_at": row["updated_at"],
            "web_url": f"https://addons-sso.herokustack.local/apps/{app['id']}/addons/{addon['id']}",
            "log_input_url": None,
        }
        # Accept-Inclusion: addon:plan,config_vars (the CLI's database resolver reads both).
        plan = catalog.find_plan(addon["plan"])
        assert plan is not None
        if "addon:plan" in include:
            addon_ref["plan"] = {"id": plan.id, "name": plan.name}
        if "config_vars" in include:
            suffixes = catalog.service_of(plan).config_suffixes
            answer["config_vars"] = [f"{row['name']}_{s}" for s in suffixes]
        return answer

    def list_attachments(
        self,
        app_ident: str | None = None,
        addon_ident: str | None = None,
        include: frozenset[str] = frozenset(),
    ) -> list[Json]:
        with self._lock:
            c = self._conn
            sql, args = "SELECT * FROM attachments", tuple[str, ...]()
            if app_ident is not None:
                sql, args = sql + " WHERE app_id = ?", (self.app_row(c, app_ident)["id"],)
            elif addon_ident is not None:
                sql, args = sql + " WHERE addon_id = ?", (self._addon_row(c, addon_ident)["id"],)
            rows = c.execute(sql + " ORDER BY seq", args).fetchall()
            found = Lookups(c, everything=app_ident is None and addon_ident is None)
            return [self._attachment_json(c, r, set(include), found) for r in rows]

    def get_attachment(
        self, ident: str, app_ident: str | None = None, include: frozenset[str] = frozenset()
    ) -> Json:
        with self._lock:
            c = self._conn
            if app_ident is not None:
                app_id = self.app_row(c, app_ident)["id"]
                sql = "SELECT * FROM attachments WHERE app_id = ? AND (id = ? OR name = ?)"
                row = c.execute(sql, (app_id, ident, ident)).fetchone()
            else:
                row = c.execute("SELECT * FROM attachments WHERE id = ?", (ident,)).fetchone()
            if row is None:
                raise not_found("Couldn't find that add-on attachment.", "add_on_attachment")
            return self._attachment_json(c, row, set(include))

    def resolve_attachments(self, body: Json, include: frozenset[str] = frozenset()) -> list[Json]:
        """Match an attachment name, its config var (DATABASE_URL) or its add-on's name or id."""
        check_fields(body, {"addon_attachment", "app", "addon_service"})
        ident = want_str(body, "addon_attachment", required=True)
        app_ident = want_str(body, "app")
        service = want_str(body, "addon_service")
        assert ident is not None
        with self._lock:
            c = self._conn
            sql = (
                "SELECT attachments.* FROM attachments"
                " JOIN addons ON addons.id = attachments.addon_id"
                " WHERE (attachments.id = ? OR attachments.name = ? OR attachments.name = ?"
                " OR addons.name = ? OR addons.id = ?)"
            )
            args: tuple[str, ...] = (ident, ident, ident.removesuffix("_URL"), ident, ident)
            if app_ident is not None:
                sql += " AND attachments.app_id = ?"
                args += (self.app_row(c, app_ident)["id"],)
            if service is not None:
                sql += " AND addons.plan LIKE ? ESCAPE '\\'"
                args += (service_prefix(service),)
            rows = c.execute(sql + " ORDER BY attachments.seq", args).fetchall()
            if not rows:
                raise not_found("Couldn't find that add-on attachment.", "add_on_attachment")
            return [self._attachment_json(c, r, set(include)) for r in rows]


def routes(b: AddonsState) -> Sequence[Endpoint]:
    def delete_addon(call: Call) -> Json:
        # The CLI sends {"force": false}; nothing else belongs in this body.
        check_fields(call.body, {"force"})
        return b.delete_addon(call.params["app"], call.params["addon"], expand=call.expand)

    return (
        Endpoint("/addon-services", "GET", lambda c: b.list_services(), list_field="id"),
        Endpoint("/addon-services/{service}", "GET", lambda c: b.get_service(c.params["service"])),
        Endpoint(
            "/addon-services/{service}/plans",
            "GET",
            lambda c: b.list_plans(c.params["service"]),
            list_field="id",
        ),
        Endpoint(
            "/addon-services/{service}/plans/{plan}",
            "GET",
            lambda c: b.get_plan(c.params["plan"], c.params["service"]),
        ),
        Endpoint("/plans/{plan}", "GET", lambda c: b.get_plan(c.params["plan"])),
        Endpoint("/addons", "GET", lambda c: b.list_addons(expand=c.expand), list_field="id"),
        Endpoint(
            "/addons/{addon}", "GET", lambda c: b.get_addon(c.params["addon"], expand=c.expand)
        ),
        Endpoint(
            "/apps/{app}/addons",
            "GET",
            lambda c: b.list_addons(c.params["app"], expand=c.expand),
            list_field="id",
        ),
        Endpoint(
            "/apps/{app}/addons",
            "POST",
            lambda c: b.create_addon(c.params["app"], c.body, expand=c.expand),
            status=201,
        ),
        Endpoint(
            "/apps/{app}/addons/{addon}",
            "GET",
            lambda c: b.get_addon(c.params["addon"], c.params["app"], expand=c.expand),
        ),
        Endpoint(
            "/apps/{app}/addons/{addon}",
            "PATCH",
            lambda c: b.update_addon(c.params["app"], c.params["addon"], c.body, expand=c.expand),
        ),
        Endpoint("/apps/{app}/addons/{addon}", "DELETE", delete_addon),
        Endpoint(
            "/actions/addons/resolve",
            "POST",
            lambda c: b.resolve_addons(c.body, expand=c.expand),
        ),
        Endpoint(
            "/addon-attachments",
            "GET",
            lambda c: b.list_attachments(include=c.include),
            list_field="id",
        ),
        Endpoint("/addon-attachments", "POST", lambda c: b.create_attachment(c.body), status=201),
        Endpoint(
            "/addon-attachments/{attachment}",
            "DELETE",
            lambda c: b.delete_attachment(c.params["attachment"]),
        ),
        Endpoint(
            "/addon-attachments/{attachment}",
            "GET",
            lambda c: b.get_attachment(c.params["attachment"], include=c.include),
        ),
        Endpoint(
            "/addons/{addon}/addon-attachments",
            "GET",
            lambda c: b.list_attachments(addon_ident=c.params["addon"], include=c.include),
            list_field="id",
        ),
        Endpoint(
            "/apps/{app}/addon-attachments",
            "GET",
            lambda c: b.list_attachments(c.params["app"], include=c.include),
            list_field="id",
        ),
        Endpoint(
            "/apps/{app}/addon-attachments/{attachment}",
            "GET",
            lambda c: b.get_attachment(c.params["attachment"], c.params["app"], c.include),
        ),
        Endpoint(
            "/actions/addon-attachments/resolve",
            "POST",
            lambda c: b.resolve_attachments(c.body, c.include),
        ),
    )


FAMILY = Family(
    "addons", SCHEMA, routes, app_tables=("attachments",), addon_tables=("attachments",)
)


def _essential(plan: str) -> bool:
    return plan.split(":", 1)[1].startswith(("essential", "mini", "basic", "hobby"))


def _check_tier_change(before: str, after: str) -> None:
    """Heroku changes a Postgres plan in place within the Essential tier, or among the other
    tiers, never between the two: that takes pg:copy into a new database (Dev Center, "Changing
    the Plan or Infrastructure of a Heroku Postgres Database")."""
    if not before.startswith("heroku-postgresql:") or _essential(before) == _essential(after):
        return
    raise invalid(
        "You can't change an Essential-tier database to a plan on another tier, or the other way "
        "around, with addons:upgrade. Create a database on the new plan and use pg:copy instead: "
        "https://devcenter.heroku.com/articles/updating-heroku-postgres-databases"
    )
