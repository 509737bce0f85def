"""The emulator's state (SQLite) and every business rule of the emulated Heroku API.

Moto-style: the HTTP layer (`responses.py`) parses requests and calls one `Backend` method per
route; methods validate their input, change state inside one transaction and return the JSON
object Heroku would answer. Rule violations raise `ApiError`, which carries Heroku's error id.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import sqlite3
import threading
import time
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from herokustack.emulator import catalog
from herokustack.emulator.catalog import Plan, Service

Json = dict[str, Any]

ACCOUNT_EMAIL = "you@herokustack.local"
ACCOUNT_ID = catalog.stable_id("account", ACCOUNT_EMAIL)
GENERATION = {"id": catalog.stable_id("generation", "cedar"), "name": "cedar"}
APP_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
ADDON_NAME_RE = re.compile(r"^[a-zA-Z][A-Za-z0-9_-]{1,255}$")
ATTACHMENT_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
CONFIG_KEY_RE = re.compile(r"^[A-Za-z0-9_]{1,256}$")
PROCESS_TYPE_RE = re.compile(r"^[-\w]{1,128}$", re.ASCII)
CONFIG_LIMIT_BYTES = 32 * 1024
COLORS = ("AMBER", "BLUE", "BRONZE", "COBALT", "CRIMSON", "GOLD", "GRAY", "GREEN", "OLIVE", "ONYX")
NAME_WORDS = ("calm", "brave", "quiet", "rapid", "sunny", "misty", "lively", "silent", "polar")
NAME_NOUNS = ("river", "forest", "meadow", "harbor", "canyon", "island", "summit", "valley")
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL,
  region TEXT NOT NULL, stack TEXT NOT NULL, build_stack TEXT NOT NULL,
  maintenance INTEGER NOT NULL DEFAULT 0, web_host TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, released_at TEXT);
CREATE TABLE IF NOT EXISTS slugs (
  id TEXT PRIMARY KEY, app_id TEXT NOT NULL, process_types TEXT NOT NULL, stack TEXT NOT NULL,
  commit_sha TEXT, commit_description TEXT, buildpack_description TEXT, checksum TEXT,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS releases (
  id TEXT PRIMARY KEY, app_id TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,
  slug_id TEXT, addon_plan_names TEXT NOT NULL, created_at TEXT NOT NULL,
  UNIQUE (app_id, version));
CREATE TABLE IF NOT EXISTS formation (
  id TEXT PRIMARY KEY, app_id TEXT NOT NULL, type TEXT NOT NULL, command TEXT NOT NULL,
  quantity INTEGER NOT NULL, size TEXT NOT NULL, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, UNIQUE (app_id, type));
CREATE TABLE IF NOT EXISTS config_vars (
  app_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, addon_id TEXT,
  PRIMARY KEY (app_id, key));
CREATE TABLE IF NOT EXISTS addons (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL,
  app_id TEXT NOT NULL, plan TEXT NOT NULL, config TEXT NOT NULL, provider_id TEXT NOT NULL,
  ready_at REAL NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attachments (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, addon_id TEXT NOT NULL,
  app_id TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (app_id, name));
CREATE TABLE IF NOT EXISTS release_config (
  release_id TEXT PRIMARY KEY, user_vars TEXT NOT NULL, addon_vars TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dyno_restarts (
  app_id TEXT NOT NULL, name TEXT NOT NULL, restarted_at TEXT NOT NULL,
  PRIMARY KEY (app_id, name));
CREATE TABLE IF NOT EXISTS transfer_schedules (
  uuid TEXT PRIMARY KEY, addon_id TEXT UNIQUE NOT NULL, name TEXT NOT NULL, hour INTEGER NOT NULL,
  days TEXT NOT NULL, timezone TEXT NOT NULL, retain_weeks INTEGER NOT NULL,
  retain_months INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
"""


class ApiError(Exception):
    """A Heroku-style error answer: HTTP status, error id and message."""

    def __init__(self, status: int, error_id: str, message: str, resource: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.resource = resource  # Heroku names the kind of thing a 404 did not find


def not_found(message: str, resource: str = "") -> ApiError:
    return ApiError(404, "not_found", message, resource)


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_params", message)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ref(row: sqlite3.Row | Json) -> Json:
    return {"id": row["id"], "name": row["name"]}


# --- input checks shared by the routes -------------------------------------------------------


def check_fields(body: Json, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(f"Unknown field: {unknown[0]}.")


def want_str(body: Json, key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise invalid(f"Missing required param: {key}.")
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid type for {key}: expected a string.")
    return value


def want_bool(body: Json, key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if value in (0, 1) and not isinstance(value, float):  # heroku3 turns maintenance off with 0
        return bool(value)
    raise invalid(f"Invalid type for {key}: expected a boolean.")


def want_int(value: Any, key: str) -> int:
    """Integers, or strings of digits: the official CLI sends quantities and hours as strings."""
    if isinstance(value, bool):
        raise invalid(f"Invalid type for {key}: expected an integer.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        return int(value)
    raise invalid(f"Invalid type for {key}: expected an integer.")


TIER_DEFAULT_SIZE = {"eco": "Eco", "basic": "Basic", "professional": "Standard-1X"}


def dyno_tier(size: str) -> str:
    """eco, basic, or professional (every standard and performance size)."""
    key = size.lower()
    return key if key in ("eco", "basic") else "professional"


def service_prefix(service: str) -> str:
    """A LIKE pattern for the plans of a service, with the user's text escaped."""
    escaped = service.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}:%"


def identity_of(value: Any, key: str) -> str:
    """A reference given as "name" or {"name": ...} / {"id": ...} (the CLI sends objects)."""
    if isinstance(value, dict):
        check_fields(value, {"id", "name"})
        value = value.get("name", value.get("id"))
    if not isinstance(value, str) or not value:
        raise invalid(f"Invalid type for {key}: expected a name or id.")
    return value


class Backend:
    """All state of one emulator. Thread-safe: one connection, one lock, a transaction per call."""

    def __init__(
        self,
        data_path: str | None = None,
        provision_delay: float = 0.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.provision_delay = provision_delay
        self.data_path = data_path
        self.clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            data_path or ":memory:", check_same_thread=False, isolation_level=None, timeout=30
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; any error rolls every change back (state stays unchanged)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _now(self) -> str:
        return iso(self.clock())

    @staticmethod
    def _new_id() -> str:
        # Always random, even with a seed: a restart on the same data file must not reuse ids.
        return str(uuid.uuid4())

    @staticmethod
    def _hex(n: int) -> str:
        return secrets.token_hex(n)[:n]

    # --- account ------------------------------------------------------------------------------

    def account(self) -> Json:
        return {
            "allow_tracking": True,
            "beta": False,
            "created_at": catalog.CATALOG_TIME,
            "country_of_residence": None,
            "default_organization": None,
            "default_team": None,
            "delinquent_at": None,
            "email": ACCOUNT_EMAIL,
            "federated": False,
            "id": ACCOUNT_ID,
            "identity_provider": None,
            "last_login": catalog.CATALOG_TIME,
            "name": "Herokustack Local",
            "sms_number": None,
            "suspended_at": None,
            "two_factor_authentication": False,
            "updated_at": catalog.CATALOG_TIME,
            "verified": True,
        }

    def get_user(self, ident: str) -> Json:
        """`/users/{account}`: `~` (the caller), or the account's email or id."""
        if ident not in ("~", ACCOUNT_EMAIL, ACCOUNT_ID):
            raise not_found("Couldn't find that user.")
        return self.account()

    def list_user_apps(self, ident: str) -> list[Json]:
        """Owned and collaborated apps: every app here is the one account's."""
        self.get_user(ident)
        return self.list_apps()

    # --- catalog ------------------------------------------------------------------------------

    def list_stacks(self) -> list[Json]:
        return [self._stack_json(s) for s in catalog.STACKS]

    def get_stack(self, ident: str) -> Json:
        return self._stack_json(self._find_stack(ident))

    def _find_stack(self, ident: str) -> catalog.Stack:
        stack = next((s for s in catalog.STACKS if ident in (s.name, s.id)), None)
        if stack is None:
            raise not_found("Couldn't find that stack.")
        return stack

    def _usable_stack(self, ident: str) -> catalog.Stack:
        stack = next((s for s in catalog.STACKS if ident in (s.name, s.id)), None)
        if stack is None:
            raise invalid(f"Stack {ident} is not available.")
        if stack.state == "retired":
            raise invalid(
                f"Stack {stack.name} is retired; choose a supported stack such as heroku-24."
            )
        return stack

    @staticmethod
    def _stack_json(stack: catalog.Stack) -> Json:
        return {
            "created_at": catalog.CATALOG_TIME,
            "default": stack.default,
            "id": stack.id,
            "name": stack.name,
            "state": stack.state,
            "updated_at": catalog.CATALOG_TIME,
        }

    @staticmethod
    def _stack_ref(name: str) -> Json:
        return {"id": catalog.stable_id("stack", name), "name": name}

    def available_stacks(self, app_ident: str) -> list[Json]:
        self.get_app(app_ident)
        return [self._stack_json(s) for s in catalog.STACKS if s.state != "retired"]

    def list_regions(self) -> list[Json]:
        return [self._region_json(r) for r in catalog.REGIONS]

    def get_region(self, ident: str) -> Json:
        region = next((r for r in catalog.REGIONS if ident in (r.name, r.id)), None)
        if region is None:
            raise not_found("Couldn't find that region.")
        return self._region_json(region)

    @staticmethod
    def _region_json(region: catalog.Region) -> Json:
        return {
            "country": region.country,
            "created_at": catalog.CATALOG_TIME,
            "description": region.description,
            "id": region.id,
            "locale": region.locale,
            "name": region.name,
            "private_capable": False,
            "updated_at": catalog.CATALOG_TIME,
        }

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

    # --- apps ---------------------------------------------------------------------------------

    def _app_row(self, c: sqlite3.Connection, ident: str) -> sqlite3.Row:
        row = c.execute("SELECT * FROM apps WHERE name = ? OR id = ?", (ident, ident)).fetchone()
        if row is None:
            raise not_found("Couldn't find that app.", "app")
        return row

    def _app_json(self, row: sqlite3.Row) -> Json:
        region = next(r for r in catalog.REGIONS if r.name == row["region"])
        return {
            "acm": False,
            "archived_at": None,
            "buildpack_provided_description": None,
            "build_stack": self._stack_ref(row["build_stack"]),
            "created_at": row["created_at"],
            "generation": GENERATION,
            "git_url": f"https://git.heroku.com/{row['name']}.git",
            "id": row["id"],
            "internal_routing": None,
            "maintenance": bool(row["maintenance"]),
            "name": row["name"],
            "owner": {"email": ACCOUNT_EMAIL, "id": ACCOUNT_ID},
            "organization": None,
            "team": None,
            "region": {"id": region.id, "name": region.name},
            "released_at": row["released_at"],
            "repo_size": None,
            "slug_size": None,
            "space": None,
            "stack": self._stack_ref(row["stack"]),
            "updated_at": row["updated_at"],
            "web_url": f"https://{row['web_host']}.herokuapp.com/",
        }

    def _check_app_name(self, c: sqlite3.Connection, name: str, app_id: str | None = None) -> None:
        if not APP_NAME_RE.match(name):
            raise invalid(
                "Name must start with a letter, end with a letter or digit and can only "
                "contain lowercase letters, digits, and dashes."
            )
        row = c.execute("SELECT id FROM apps WHERE name = ?", (name,)).fetchone()
        if row is not None and row["id"] != app_id:
            # api.heroku.com answers 422 here, not 409: heroku3 only sees this message on a 422.
            raise invalid("Name is already taken")

    def _generated_app_name(self, c: sqlite3.Connection) -> str:
        while True:
            words = f"{self._rng.choice(NAME_WORDS)}-{self._rng.choice(NAME_NOUNS)}"
            name = f"{words}-{self._rng.randrange(10000, 99999)}"
            if c.execute("SELECT 1 FROM apps WHERE name = ?", (name,)).fetchone() is None:
                return name

    def create_app(self, body: Json) -> Json:
        check_fields(body, {"name", "region", "stack", "feature_flags", "build_stack"})
        name = want_str(body, "name")
        region_ident = want_str(body, "region") or "us"
        stack_ident = want_str(body, "stack") or want_str(body, "build_stack")
        region = next((r for r in catalog.REGIONS if region_ident in (r.name, r.id)), None)
        if region is None:
            raise invalid(f"Couldn't find that region: {region_ident}.")
        stack = self._usable_stack(stack_ident or catalog.DEFAULT_STACK)
        with self._tx() as c:
            if name is None:
                name = self._generated_app_name(c)
            self._check_app_name(c, name)
            now, app_id = self._now(), self._new_id()
            c.execute(
                "INSERT INTO apps (id, name, region, stack, build_stack, web_host, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    app_id,
                    name,
                    region.name,
                    stack.name,
                    stack.name,
                    f"{name}-{self._hex(12)}",
                    now,
                    now,
                ),
            )
            self._add_release(c, app_id, "Initial release", None)
            return self._app_json(self._app_row(c, app_id))

    def get_app(self, ident: str) -> Json:
        with self._lock:
            return self._app_json(self._app_row(self._conn, ident))

    def list_apps(self) -> list[Json]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM apps ORDER BY seq").fetchall()
            return [self._app_json(r) for r in rows]

    def update_app(self, ident: str, body: Json) -> Json:
        check_fields(body, {"name", "maintenance", "build_stack"})
        name = want_str(body, "name")
        maintenance = want_bool(body, "maintenance")
        build_stack = want_str(body, "build_stack")
        with self._tx() as c:
            row = self._app_row(c, ident)
            sets: dict[str, Any] = {}
            if name is not None and name != row["name"]:
                self._check_app_name(c, name, row["id"])
                sets["name"] = name
                # Heroku gives a renamed app a new herokuapp.com host: NAME-<same suffix>.
                sets["web_host"] = name + row["web_host"][len(row["name"]) :]
            if maintenance is not None:
                sets["maintenance"] = int(maintenance)
            if build_stack is not None:
                # The running stack changes at the next release, as on Heroku.
                sets["build_stack"] = self._usable_stack(build_stack).name
            if sets:
                sets["updated_at"] = self._now()
                assignments = ", ".join(f"{k} = ?" for k in sets)
                c.execute(
                    f"UPDATE apps SET {assignments} WHERE id = ?", (*sets.values(), row["id"])
                )
            return self._app_json(self._app_row(c, row["id"]))

    def delete_app(self, ident: str) -> Json:
        with self._tx() as c:
            row = self._app_row(c, ident)
            answer = self._app_json(row)
            app_id = row["id"]
            for addon in c.execute("SELECT id FROM addons WHERE app_id = ?", (app_id,)).fetchall():
                self._drop_addon(c, addon["id"])
            tables = (
                "slugs",
                "releases",
                "formation",
                "config_vars",
                "attachments",
                "dyno_restarts",
            )
            for table in tables:
                c.execute(f"DELETE FROM {table} WHERE app_id = ?", (app_id,))
            c.execute("DELETE FROM apps WHERE id = ?", (app_id,))
            return answer

    # --- slugs and releases -------------------------------------------------------------------

    def create_slug(self, app_ident: str, body: Json) -> Json:
        allowed = {
            "process_types",
            "commit",
            "commit_description",
            "buildpack_provided_description",
        }
        check_fields(body, allowed | {"checksum", "stack"})
        process_types = body.get("process_types")
        if not isinstance(process_types, dict):
            raise invalid("Missing required param: process_types (an object of type: command).")
        for ptype, command in process_types.items():
            if not PROCESS_TYPE_RE.match(ptype) or not isinstance(command, str) or not command:
                raise invalid(f"Invalid process type {ptype!r}: a name and a command are required.")
        texts = {k: want_str(body, k) for k in (*allowed - {"process_types"}, "checksum")}
        stack_ident = want_str(body, "stack")
        with self._tx() as c:
            app = self._app_row(c, app_ident)
            stack = self._usable_stack(stack_ident or app["build_stack"])
            slug_id = self._new_id()
            c.execute(
                "INSERT INTO slugs (id, app_id, process_types, stack, commit_sha,"
                " commit_description, buildpack_description, checksum, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    slug_id,
                    app["id"],
                    json.dumps(process_types),
                    stack.name,
                    texts["commit"],
                    texts["commit_description"],
                    texts["buildpack_provided_description"],
                    texts["checksum"],
                    self._now(),
                ),
            )
            return self._slug_json(self._slug_row(c, app["id"], slug_id))

    def get_slug(self, app_ident: str, slug_id: str) -> Json:
        with self._lock:
            app = self._app_row(self._conn, app_ident)
            return self._slug_json(self._slug_row(self._conn, app["id"], slug_id))

    @staticmethod
    def _slug_row(c: sqlite3.Connection, app_id: str, slug_id: str) -> sqlite3.Row:
        sql = "SELECT * FROM slugs WHERE id = ? AND app_id = ?"
        row = c.execute(sql, (slug_id, app_id)).fetchone()
        if row is None:
            raise not_found("Couldn't find that slug.")
        return row

    def _slug_json(self, row: sqlite3.Row) -> Json:
        return {
            "blob": {"method": "GET", "url": f"https://slugs.herokustack.local/{row['id']}.tgz"},
            "buildpack_provided_description": row["buildpack_description"],
            "checksum": row["checksum"],
            "commit": row["commit_sha"],
            "commit_description": row["commit_description"],
            "created_at": row["created_at"],
            "id": row["id"],
            "process_types": json.loads(row["process_types"]),
            "size": None,
            "stack": self._stack_ref(row["stack"]),
            "updated_at": row["created_at"],
        }

    def create_release(self, app_ident: str, body: Json) -> Json:
        check_fields(body, {"slug", "description", "oci_image", "release"})
        if body.get("release") is not None:
            check_fields(body, {"release"})
            return self._rollback(app_ident, identity_of(body["release"], "release"))
        if body.get("oci_image") is not None:
            raise invalid("OCI images are not supported by this emulator; release a slug.")
        slug_id = identity_of(body.get("slug"), "slug")
        description = want_str(body, "description")
        with self._tx() as c:
            app = self._app_row(c, app_ident)
            slug = self._slug_row(c, app["id"], slug_id)
            self._sync_formation(c, app["id"], json.loads(slug["process_types"]))
            now = self._now()
            c.execute(
                "UPDATE apps SET stack = ?, released_at = ?, updated_at = ? WHERE id = ?",
                (slug["stack"], now, now, app["id"]),
            )
            commit = slug["commit_sha"]
            text = description or (f"Deploy {commit[:8]}" if commit else "Deploy")
            release_id = self._add_release(c, app["id"], text, slug["id"])
            return self._release_json(c, self._release_row(c, app["id"], release_id))

    def deploy(self, app_ident: str, process_types: dict[str, str]) -> Json:
        """Create a slug with these process types and release it, as a build would."""
        slug = self.create_slug(app_ident, {"process_types": dict(process_types)})
        return self.create_release(app_ident, {"slug": slug["id"]})

    def list_releases(self, app_ident: str) -> list[Json]:
        with self._lock:
            app = self._app_row(self._conn, app_ident)
            sql = "SELECT * FROM releases WHERE app_id = ? ORDER BY version"
            rows = self._conn.execute(sql, (app["id"],)).fetchall()
            return [self._release_json(self._conn, r) for r in rows]

    def get_release(self, app_ident: str, ident: str) -> Json:
        with self._lock:
            app = self._app_row(self._conn, app_ident)
            return self._release_json(self._conn, self._release_row(self._conn, app["id"], ident))

    @staticmethod
    def _release_row(c: sqlite3.Connection, app_id: str, ident: str) -> sqlite3.Row:
        version = int(ident) if ident.isdigit() and len(ident) < 10 else -1
        sql = "SELECT * FROM releases WHERE app_id = ? AND (id = ? OR version = ?)"
        row = c.execute(sql, (app_id, ident, version)).fetchone()
        if row is None:
            raise not_found("Couldn't find that release.")
        return row

    def _add_release(
        self, c: sqlite3.Connection, app_id: str, description: str, slug_id: str | None
    ) -> str:
        last = c.execute(
            "SELECT * FROM releases WHERE app_id = ? ORDER BY version DESC LIMIT 1", (app_id,)
        )
        previous = last.fetchone()
        if slug_id is None and previous is not None:
            slug_id = previous["slug_id"]  # config and add-on changes keep the running code
        plans = c.execute(
            "SELECT plan FROM addons WHERE app_id = ? ORDER BY seq", (app_id,)
        ).fetchall()
        release_id = self._new_id()
        c.execute(
            "INSERT INTO releases (id, app_id, version, description, slug_id, addon_plan_names,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                release_id,
                app_id,
                (previous["version"] + 1) if previous else 1,
                description,
                slug_id,
                json.dumps([p["plan"] for p in plans]),
                self._now(),
            ),
        )
        rows = c.execute("SELECT * FROM config_vars WHERE app_id = ?", (app_id,)).fetchall()
        user = {r["key"]: r["value"] for r in rows if r["addon_id"] is None}
        addon = {r["key"]: r["value"] for r in rows if r["addon_id"] is not None}
        c.execute(
            "INSERT INTO release_config (release_id, user_vars, addon_vars) VALUES (?, ?, ?)",
            (release_id, json.dumps(user), json.dumps(addon)),
        )
        return release_id

    def release_config(self, app_ident: str, release_ident: str) -> dict[str, str]:
        """The config an app had at a release."""
        with self._lock:
            c = self._conn
            release = self._release_row(c, self._app_row(c, app_ident)["id"], release_ident)
            user, addon = self._release_snapshot(c, release)
            return dict(sorted({**user, **addon}.items()))

    @staticmethod
    def _release_snapshot(
        c: sqlite3.Connection, release: sqlite3.Row
    ) -> tuple[dict[str, str], dict[str, str]]:
        sql = "SELECT * FROM release_config WHERE release_id = ?"
        row = c.execute(sql, (release["id"],)).fetchone()
        if row is None:
            return {}, {}
        return json.loads(row["user_vars"]), json.loads(row["addon_vars"])

    def _rollback(self, app_ident: str, release_ident: str) -> Json:
        """A new release running an earlier one's code with its config (add-on vars stay)."""
        with self._tx() as c:
            app = self._app_row(c, app_ident)
            target = self._release_row(c, app["id"], release_ident)
            if target["slug_id"] is None:
                raise invalid(f"Cannot roll back to v{target['version']}: it has no slug.")
            user, _ = self._release_snapshot(c, target)
            c.execute("DELETE FROM config_vars WHERE app_id = ? AND addon_id IS NULL", (app["id"],))
            for key, value in user.items():
                c.execute(
                    "INSERT OR IGNORE INTO config_vars (app_id, key, value) VALUES (?, ?, ?)",
                    (app["id"], key, value),
                )
            slug = self._slug_row(c, app["id"], target["slug_id"])
            self._sync_formation(c, app["id"], json.loads(slug["process_types"]))
            text = f"Rollback to v{target['version']}"
            release_id = self._add_release(c, app["id"], text, slug["id"])
            return self._release_json(c, self._release_row(c, app["id"], release_id))

    def _release_json(self, c: sqlite3.Connection, row: sqlite3.Row) -> Json:
        app = c.execute("SELECT id, name FROM apps WHERE id = ?", (row["app_id"],)).fetchone()
        latest = c.execute(
            "SELECT MAX(version) AS v FROM releases WHERE app_id = ?", (row["app_id"],)
        ).fetchone()["v"]
        slug_id = row["slug_id"]
        return {
            "addon_plan_names": json.loads(row["addon_plan_names"]),
            "artifacts": [{"type": "slug", "id": slug_id}] if slug_id else [],
            "app": ref(app),
            "created_at": row["created_at"],
            "description": row["description"],
            "id": row["id"],
            "updated_at": row["created_at"],
            "slug": {"id": slug_id} if slug_id else None,
            "status": "succeeded",
            "user": {"id": ACCOUNT_ID, "email": ACCOUNT_EMAIL},
            "version": row["version"],
            "current": row["version"] == latest,
            "output_stream_url": None,
            # As on Heroku: every release that ran code can be rolled back to, the current one
            # too (`heroku rollback` takes the second eligible one, the previous release). A
            # release before the first deploy (v1 "Initial release") has no code to go back to.
            "eligible_for_rollback": slug_id is not None,
        }

    # --- formation and dynos ------------------------------------------------------------------

    def _sync_formation(
        self, c: sqlite3.Connection, app_id: str, process_types: dict[str, str]
    ) -> None:
        """A release declares the process types: new ones appear (web at 1), gone ones go."""
        now = self._now()
        existing = {
            r["type"]: r for r in c.execute("SELECT * FROM formation WHERE app_id = ?", (app_id,))
        }
        size = catalog.DEFAULT_DYNO_SIZE
        if existing:  # a new process type joins the app's tier: Heroku does not mix tiers
            size = TIER_DEFAULT_SIZE[dyno_tier(next(iter(existing.values()))["size"])]
        for ptype, command in process_types.items():
            if ptype in existing:
                c.execute(
                    "UPDATE formation SET command = ?, updated_at = ? WHERE id = ?",
                    (command, now, existing[ptype]["id"]),
                )
                continue
            c.execute(
                "INSERT INTO formation (id, app_id, type, command, quantity, size, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._new_id(),
                    app_id,
                    ptype,
                    command,
                    1 if ptype == "web" else 0,
                    size,
                    now,
                    now,
                ),
            )
        for ptype, row in existing.items():
            if ptype not in process_types:
                c.execute("DELETE FROM formation WHERE id = ?", (row["id"],))

    def list_formation(self, app_ident: str) -> list[Json]:
        with self._lock:
            app = self._app_row(self._conn, app_ident)
            return [
                self._formation_json(app, r) for r in self._formation_rows(self._conn, app["id"])
            ]

    def get_formation(self, app_ident: str, ident: str) -> Json:
        with self._lock:
            app = self._app_row(self._conn, app_ident)
            return self._formation_json(app, self._formation_row(self._conn, app["id"], ident))

    @staticmethod
    def _formation_rows(c: sqlite3.Connection, app_id: str) -> list[sqlite3.Row]:
        sql = "SELECT * FROM formation WHERE app_id = ? ORDER BY type"
        return c.execute(sql, (app_id,)).fetchall()

    @staticmethod
    def _formation_row(c: sqlite3.Connection, app_id: str, ident: str) -> sqlite3.Row:
        sql = "SELECT * FROM formation WHERE app_id = ? AND (type = ? OR id = ?)"
        row = c.execute(sql, (app_id, ident, ident)).fetchone()
        if row is None:
            raise not_found("Couldn't find that process type.")
        return row

    @staticmethod
    def _formation_json(app: sqlite3.Row, row: sqlite3.Row) -> Json:
        size = catalog.find_dyno_size(row["size"])
        assert size is not None
        return {
            "app": ref(app),
            "command": row["command"],
            "created_at": row["created_at"],
            "dyno_size": {"id": size.id, "name": size.name},
            "id": row["id"],
            "quantity": row["quantity"],
            "size": size.name,
            "type": row["type"],
            "updated_at": row["updated_at"],
        }

    def update_formation(self, app_ident: str, body: Json) -> list[Json]:
        check_fields(body, {"updates"})
        updates = body.get("updates")
        if not isinstance(updates, list) or not updates:
            raise invalid("Missing required param: updates (a non-empty list).")
        if not all(isinstance(u, dict) for u in updates):
            raise invalid("Invalid type for updates: expected a list of objects.")
        with self._tx() as c:
            app = self._app_row(c, app_ident)
            for update in updates:
                check_fields(update, {"type", "quantity", "size", "dyno_size"})
                ptype = want_str(update, "type", required=True)
                assert ptype is not None
                self._apply_formation_update(c, app["id"], ptype, update)
            self._check_tiers(c, app["id"])
            return [self._formation_json(app, r) for r in self._formation_rows(c, app["id"])]

    def update_process(self, app_ident: str, ident: str, body: Json) -> Json:
        check_fields(body, {"quantity", "size", "dyno_size"})
        with self._tx() as c:
            app = self._app_row(c, app_ident)
            row = self._apply_formation_update(c, app["id"], ident, body)
            self._check_tiers(c, app["id"])
            return self._formation_json(app, row)

    def _apply_formation_update(
        self, c: sqlite3.Connection, app_id: str, ident: str, update: Json
    ) -> sqlite3.Row:
        row = self._formation_row(c, app_id, ident)
        quantity = row["quantity"]
        if update.get("quantity") is not None:
            quantity = want_int(update["quantity"], "quantity")
        size = catalog.find_dyno_size(row["size"])
        size_ident = update.get("size")
        if update.get("dyno_size") is not None:
            size_ident = identity_of(update["dyno_size"], "dyno_size")
        if size_ident is not None:
            if not isinstance(size_ident, str):
                raise invalid("Invalid type for size: expected a string.")
            size = catalog.find_dyno_size(size_ident)
            if size is None:
                raise invalid(f"Unknown dyno size: {size_ident}.")
        assert size is not None
        if quantity < 0:
            raise invalid("Quantity must be zero or more.")
        if quantity > size.max_quantity:
            raise invalid(
                f"Cannot scale to more than {size.max_quantity} {size.name} size dynos"
                " per process type."
            )
        c.execute(
            "UPDATE formation SET quantity = ?, size = ?, updated_at = ? WHERE id = ?",
            (quantity, size.name, self._now(), row["id"]),
        )
        return self._formation_row(c, app_id, row["id"])

    def _check_tiers(self, c: sqlite3.Connection, app_id: str) -> None:
        """Refuse a formation that mixes dyno tiers (the transaction then changes nothing).

        Heroku's rule (Dev Center, "Dyno Types", section "Mixing dyno types",
        https://devcenter.heroku.com/articles/dyno-types, and "Dyno Tiers",
        https://devcenter.heroku.com/articles/dyno-tiers): an app on eco dynos uses eco for
        all its process types, an app on basic dynos basic for all; standard and performance
        sizes (the professional tiers) mix freely. Only process types that run dynos
        (quantity above 0) use a tier: a worker scaled to 0 on Basic does not stop web from
        moving to Standard-1X. The stack-file rule (`herokustack/stackfile.py`) is the same.
        """
        rows = self._formation_rows(c, app_id)
        tiers = {dyno_tier(r["size"]): r["size"] for r in rows if r["quantity"] > 0}
        if len(tiers) > 1:
            # Heroku's own wording (quoted in heroku/legacy-cli#1676 and by users since).
            first, second = sorted(tiers.values())[:2]
            raise invalid(
                f"Cannot use the following dyno types in the same app: {first} and {second}."
            )

    def restart_dynos(
        self, app_ident: str, *, dyno: str | None = None, ptype: str | None = None
    ) -> Json:
        """`ps:restart`: all dynos, one dyno (name or id) or one process type's dynos."""
        with self._tx() as c:
            app = self._app_row(c, app_ident)
            if ptype is not None:
                row = self._formation_row(c, app["id"], ptype)
                names = [f"{row['type']}.{n}" for n in range(1, row["quantity"] + 1)]
            else:
                dynos = self._dynos(c, app)
                names = [d["name"] for d in dynos if dyno is None or dyno in (d["id"], d["name"])]
                if dyno is not None and not names:
                    raise not_found("Couldn't find that dyno.")
            now = self._now()
            for name in names:
                c.execute(
                    "INSERT OR REPLACE INTO dyno_restarts (app_id, name, restarted_at)"
                    " VALUES (?, ?, ?)",
                    (app["id"], name, now),
                )
            return {}

    def list_dynos(self, app_ident: str) -> list[Json]:
        """One running dyno per unit of quantity (web.1, web.2, ...): what `heroku ps` shows."""
        with self._lock:
            return self._dynos(self._conn, self._app_row(self._conn, app_ident))

    def _dynos(self, c: sqlite3.Connection, app: sqlite3.Row) -> list[Json]:
        release = c.execute(
            "SELECT id, version FROM releases WHERE app_id = ? ORDER BY version DESC LIMIT 1",
            (app["id"],),
        ).fetchone()
        sql = "SELECT name, restarted_at FROM dyno_restarts WHERE app_id = ?"
        restarts = {r["name"]: r["restarted_at"] for r in c.execute(sql, (app["id"],))}
        dynos = []
        for row in self._formation_rows(c, app["id"]):
            for n in range(1, row["quantity"] + 1):
                dyno = self._dyno_json(app, row, n, release)
                # A restarted dyno is a new one: `ps` shows it up since the restart.
                since = max(row["updated_at"], restarts.get(dyno["name"], ""))
                dynos.append({**dyno, "created_at": since, "updated_at": since})
        return dynos

    def get_dyno(self, app_ident: str, ident: str) -> Json:
        match = next((d for d in self.list_dynos(app_ident) if ident in (d["id"], d["name"])), None)
        if match is None:
            raise not_found("Couldn't find that dyno.")
        return match

    @staticmethod
    def _dyno_json(app: sqlite3.Row, row: sqlite3.Row, n: int, release: sqlite3.Row) -> Json:
        return {
            "attach_url": None,
            "command": row["command"],
            "created_at": row["updated_at"],
            "id": str(uuid.uuid5(uuid.UUID(row["id"]), str(n))),
            "name": f"{row['type']}.{n}",
            "release": {"id": release["id"], "version": release["version"]},
            "app": ref(app),
            "size": row["size"],
            "state": "up",
            "type": row["type"],
            "updated_at": row["updated_at"],
        }

    # --- config vars --------------------------------------------------------------------------

    def get_config(self, app_ident: str) -> dict[str, str]:
        with self._lock:
            app = self._app_row(self._conn, app_ident)
            return self._config(self._conn, app["id"])

    def _config(self, c: sqlite3.Connection, app_id: str) -> dict[str, str]:
        """The app's config; an add-on's vars appear once it is provisioned, as on Heroku."""
        sql = (
            "SELECT key, value FROM config_vars"
            " LEFT JOIN addons ON addons.id = config_vars.addon_id"
            " WHERE config_vars.app_id = ?"
            " AND (config_vars.addon_id IS NULL OR addons.ready_at <= ?) ORDER BY key"
        )
        return {r["key"]: r["value"] for r in c.execute(sql, (app_id, self.clock()))}

    def update_config(self, app_ident: str, body: Json) -> dict[str, str]:
        """Set (string) or remove (null) keys; a change makes a release. Add-on vars are locked."""
        for key, value in body.items():
            if not CONFIG_KEY_RE.match(key):
                raise invalid(f"Invalid config var name: {key[:64]!r}.")
            if value is not None and not isinstance(value, str):
                raise invalid(f"Invalid type for config var {key}: expected a string or null.")
        with self._tx() as c:
            app = self._app_row(c, app_ident)
            locked = {
                r["key"]
                for r in c.execute(
                    "SELECT key FROM config_vars WHERE app_id = ? AND addon_id IS NOT NULL",
                    (app["id"],),
                )
            }
            clash = sorted(locked & set(body))
            if clash:
                raise invalid(f"Cannot overwrite attachment values {', '.join(clash)}.")
            current = self._config(c, app["id"])
            set_keys = [k for k, v in body.items() if v is not None and current.get(k) != v]
            removed = [k for k, v in body.items() if v is None and k in current]
            merged = {**current, **{k: body[k] for k in set_keys}}
            for key in removed:
                merged.pop(key)
            if sum(len(k) + len(v) for k, v in merged.items()) > CONFIG_LIMIT_BYTES:
                raise invalid("Config vars are limited to 32kB per app.")
            for key in set_keys:
                c.execute(
                    "INSERT OR REPLACE INTO config_vars (app_id, key, value) VALUES (?, ?, ?)",
                    (app["id"], key, body[key]),
                )
            for key in removed:
                sql = "DELETE FROM config_vars WHERE app_id = ? AND key = ?"
                c.execute(sql, (app["id"], key))
            parts = []
            if set_keys:
                parts.append(f"Set {', '.join(set_keys)} config vars")
            if removed:
                parts.append(f"Remove {', '.join(removed)} config vars")
            if parts:
                self._add_release(c, app["id"], "; ".join(parts), None)
            return self._config(c, app["id"])

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
        self, c: sqlite3.Connection, row: sqlite3.Row, *, expand: frozenset[str] = frozenset()
    ) -> Json:
        plan = catalog.find_plan(row["plan"])
        assert plan is not None
        service = catalog.service_of(plan)
        app = c.execute("SELECT id, name FROM apps WHERE id = ?", (row["app_id"],)).fetchone()
        attachment = c.execute(
            "SELECT name FROM attachments WHERE addon_id = ? AND app_id = ? ORDER BY seq LIMIT 1",
            (row["id"], row["app_id"]),
        ).fetchone()
        prefix = attachment["name"] if attachment else service.attachment_name
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
        with self._tx() as c:
            app = self._app_row(c, app_ident)
            if name is None:
                name = self._generated_addon_name(c, service)
            elif c.execute("SELECT 1 FROM addons WHERE name = ?", (name,)).fetchone():
                raise invalid("Name is already taken")
            attach_as = self._attachment_name(c, app["id"], service, wanted_attachment)
            now, addon_id = self._now(), self._new_id()
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
        now = self._now()
        c.execute(
            "INSERT INTO attachments (id, addon_id, app_id, name, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (self._new_id(), addon_id, app_id, name, now, now),
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
        with self._tx() as c:
            app = self._app_row(c, app_ident)
            addon = self._addon_row(c, addon_ident)
            service = self._service_of_addon(c, addon["id"])
            name = self._attachment_name(c, app["id"], service, wanted)
            self._attach(c, addon["id"], app["id"], name, service)
            sql = "SELECT * FROM attachments WHERE app_id = ? AND name = ?"
            return self._attachment_json(c, c.execute(sql, (app["id"], name)).fetchone(), set())

    def delete_attachment(self, ident: str) -> Json:
        """Detach; the owning app keeps at least one attachment (destroy the add-on instead)."""
        with self._tx() as c:
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
                app = self._app_row(c, app_ident)
                rows = c.execute(
                    "SELECT * FROM addons WHERE app_id = ? OR id IN"
                    " (SELECT addon_id FROM attachments WHERE app_id = ?) ORDER BY seq",
                    (app["id"], app["id"]),
                ).fetchall()
            return [self._addon_json(c, r, expand=expand) for r in rows]

    def get_addon(
        self, ident: str, app_ident: str | None = None, *, expand: frozenset[str] = frozenset()
    ) -> Json:
        with self._lock:
            c = self._conn
            app_id = self._app_row(c, app_ident)["id"] if app_ident is not None else None
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
        with self._tx() as c:
            app = self._app_row(c, app_ident)
            row = self._addon_row(c, ident, app["id"])
            if plan is None:
                plan = self._resolve_plan(row["plan"])
            if not row["plan"].startswith(f"{plan.service}:"):
                raise invalid(
                    f"Add-on plan {plan.name} belongs to another add-on service than "
                    f"{row['plan'].split(':')[0]}; a plan can only change within its service."
                )
            if name is not None and name != row["name"]:
                if c.execute("SELECT 1 FROM addons WHERE name = ?", (name,)).fetchone():
                    raise invalid("Name is already taken")
                c.execute(
                    "UPDATE addons SET name = ?, updated_at = ? WHERE id = ?",
                    (name, self._now(), row["id"]),
                )
            if plan.name != row["plan"]:
                c.execute(
                    "UPDATE addons SET plan = ?, updated_at = ? WHERE id = ?",
                    (plan.name, self._now(), row["id"]),
                )
                self._add_release(c, app["id"], f"Upgrade {row['name']} to {plan.name}", None)
            return self._addon_json(c, self._addon_row(c, row["id"]), expand=expand)

    def delete_addon(
        self, app_ident: str, ident: str, *, expand: frozenset[str] = frozenset()
    ) -> Json:
        with self._tx() as c:
            app = self._app_row(c, app_ident)
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

    @staticmethod
    def _drop_addon(c: sqlite3.Connection, addon_id: str) -> None:
        for sql in (
            "DELETE FROM config_vars WHERE addon_id = ?",
            "DELETE FROM attachments WHERE addon_id = ?",
            "DELETE FROM transfer_schedules WHERE addon_id = ?",
            "DELETE FROM addons WHERE id = ?",
        ):
            c.execute(sql, (addon_id,))

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
                app = self._app_row(c, app_ident)
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

    def _attachment_json(self, c: sqlite3.Connection, row: sqlite3.Row, include: set[str]) -> Json:
        addon = c.execute("SELECT * FROM addons WHERE id = ?", (row["addon_id"],)).fetchone()
        owner = c.execute("SELECT id, name FROM apps WHERE id = ?", (addon["app_id"],)).fetchone()
        app = c.execute("SELECT id, name FROM apps WHERE id = ?", (row["app_id"],)).fetchone()
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
                sql, args = sql + " WHERE app_id = ?", (self._app_row(c, app_ident)["id"],)
            elif addon_ident is not None:
                sql, args = sql + " WHERE addon_id = ?", (self._addon_row(c, addon_ident)["id"],)
            rows = c.execute(sql + " ORDER BY seq", args).fetchall()
            return [self._attachment_json(c, r, set(include)) for r in rows]

    def get_attachment(
        self, ident: str, app_ident: str | None = None, include: frozenset[str] = frozenset()
    ) -> Json:
        with self._lock:
            c = self._conn
            if app_ident is not None:
                app_id = self._app_row(c, app_ident)["id"]
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
                args += (self._app_row(c, app_ident)["id"],)
            if service is not None:
                sql += " AND addons.plan LIKE ? ESCAPE '\\'"
                args += (service_prefix(service),)
            rows = c.execute(sql + " ORDER BY attachments.seq", args).fetchall()
            if not rows:
                raise not_found("Couldn't find that add-on attachment.", "add_on_attachment")
            return [self._attachment_json(c, r, set(include)) for r in rows]

    # --- Postgres data API --------------------------------------------------------------------

    def _database_row(self, c: sqlite3.Connection, addon_id: str) -> sqlite3.Row:
        row = c.execute(
            "SELECT * FROM addons WHERE id = ? OR name = ?", (addon_id, addon_id)
        ).fetchone()
        if row is None or not row["plan"].startswith("heroku-postgresql:"):
            raise not_found("Couldn't find that database.")
        return row

    def _ready_database(self, c: sqlite3.Connection, addon_id: str) -> sqlite3.Row:
        row = self._database_row(c, addon_id)
        if self._addon_state(row) != "provisioned":
            raise not_found(f"Database {row['name']} is not yet provisioned.")
        return row

    def database(self, addon_id: str) -> Json:
        with self._lock:
            row = self._ready_database(self._conn, addon_id)
            plan = catalog.find_plan(row["plan"])
            assert plan is not None
            schedules = self._schedules(self._conn, row["id"])
            backups = (
                f"Daily at {schedules[0]['hour']}:00 ({schedules[0]['timezone']})"
                if schedules
                else "None scheduled"
            )
            info = self._database_info(plan, row["created_at"], backups)
            url = self._shared_value(self._conn, row["id"], "URL")
            return {
                "addon_id": row["id"],
                "name": row["name"],
                "plan": plan.short,
                "status": "Available",
                "info": [{"name": k, "values": [v]} for k, v in info],
                # The attachment's DATABASE_URL value: `pg:info` names the config vars by it.
                "resource_url": url,
                "waiting?": False,
                "num_connections": 0,
                "num_bytes": 9_000_000,
                "postgres_version": "16.4",
                "following": None,
                "leader": None,
                "is_in_recovery?": False,
            }

    @staticmethod
    def _database_info(plan: Plan, created: str, backups: str) -> list[tuple[str, str]]:
        """What `pg:info` lists, with the plan's own limits (essential tier: fewer features)."""
        essential = plan.short.startswith("essential")
        info = [
            ("Plan", plan.human_name),
            ("Status", "Available"),
            ("Connections", f"0/{plan.connections}"),
            ("PG Version", "16.4"),
            ("Created", created),
            ("Data Size", f"8.6 MB / {plan.storage} (In compliance)"),
            ("Tables", "0/4000 (In compliance)" if essential else "0"),
            ("Fork/Follow", "Unsupported" if essential else "Available"),
            ("Rollback", "Unsupported" if essential else f"earliest from {created}"),
            ("Continuous Protection", "Off" if essential else "On"),
        ]
        if plan.short.startswith("premium"):
            info.append(("HA Status", "Available"))
        return [*info, ("Backups", backups)]

    def list_schedules(self, addon_id: str) -> list[Json]:
        with self._lock:
            row = self._database_row(self._conn, addon_id)
            return self._schedules(self._conn, row["id"])

    @staticmethod
    def _schedules(c: sqlite3.Connection, addon_id: str) -> list[Json]:
        sql = "SELECT * FROM transfer_schedules WHERE addon_id = ?"
        return [
            {
                "uuid": r["uuid"],
                "name": r["name"],
                "hour": r["hour"],
                "days": json.loads(r["days"]),
                "timezone": r["timezone"],
                "retain_weeks": r["retain_weeks"],
                "retain_months": r["retain_months"],
                "created_at": r["created_at"],
                "updated_at": r["updated_at"],
            }
            for r in c.execute(sql, (addon_id,))
        ]

    def create_schedule(self, addon_id: str, body: Json) -> Json:
        """One schedule per database: a new one replaces the old."""
        check_fields(
            body,
            {"hour", "timezone", "schedule_name", "name", "days", "retain_weeks", "retain_months"},
        )
        if body.get("hour") is None:
            raise invalid("Missing required param: hour.")
        hour = want_int(body["hour"], "hour")
        if not 0 <= hour <= 23:
            raise invalid("Hour must be between 0 and 23.")
        timezone = want_str(body, "timezone") or "UTC"
        if timezone not in _timezones():
            raise invalid(f"Unknown time zone: {timezone[:64]}.")
        name = want_str(body, "schedule_name") or want_str(body, "name") or "DATABASE_URL"
        days = body.get("days", DAYS)
        if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
            raise invalid(f"Days must be a non-empty list of {', '.join(DAYS)}.")
        retain = {
            k: want_int(body.get(k, default), k)
            for k, default in (("retain_weeks", 5), ("retain_months", 12))
        }
        if not all(0 <= v <= 520 for v in retain.values()):
            raise invalid("Retention must be between 0 and 520.")
        with self._tx() as c:
            row = self._ready_database(c, addon_id)
            c.execute("DELETE FROM transfer_schedules WHERE addon_id = ?", (row["id"],))
            now = self._now()
            c.execute(
                "INSERT INTO transfer_schedules (uuid, addon_id, name, hour, days, timezone,"
                " retain_weeks, retain_months, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._new_id(),
                    row["id"],
                    name,
                    hour,
                    json.dumps(days),
                    timezone,
                    retain["retain_weeks"],
                    retain["retain_months"],
                    now,
                    now,
                ),
            )
            return self._schedules(c, row["id"])[0]

    def delete_schedule(self, addon_id: str, schedule_id: str) -> Json:
        with self._tx() as c:
            row = self._database_row(c, addon_id)
            match = next(
                (s for s in self._schedules(c, row["id"]) if s["uuid"] == schedule_id), None
            )
            if match is None:
                raise not_found("Couldn't find that transfer schedule.")
            c.execute("DELETE FROM transfer_schedules WHERE uuid = ?", (schedule_id,))
            return match

    def list_transfers(self, app_ident: str) -> list[Json]:
        with self._lock:
            self._app_row(self._conn, app_ident)
            return []


_TZ_CACHE: set[str] = set()


def _timezones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(zoneinfo.available_timezones() | {"UTC"})
    return _TZ_CACHE
