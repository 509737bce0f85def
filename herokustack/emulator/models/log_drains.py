"""Log drains, `/apps/{app}/log-drains`: where an app's logs are forwarded, and add-ons' drains.

A drain has an id, its URL (https://, http://, syslog+tls:// or syslog:// with a host: else
Heroku's 422), a token (`d.<uuid>`, in every drained log line) and, when an add-on made it,
that add-on (`addon`, else null). One URL at most once per app ("Url has already been
taken"). A drain is found by id, URL or token, as Heroku finds it (`heroku drains:remove` sends
the URL or the token). Provisioning a logging add-on of the catalog (`LOGGING`: papertrail)
adds its drain to the app, and removing the add-on removes it; such a drain cannot be removed
by itself, only updated through its add-on (`PUT /addons/{addon}/log-drains/{drain}`).
Drains go with their app and with their add-on (`app_tables`, `addon_tables`).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.addons import AddonsState
from herokustack.emulator.models.db import Json, check_fields, invalid, not_found, ref

SCHEMA = """
CREATE TABLE IF NOT EXISTS log_drains (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, app_id TEXT NOT NULL,
  addon_id TEXT, url TEXT NOT NULL, token TEXT UNIQUE NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (app_id, url));
"""
SCHEMES = ("https", "http", "syslog+tls", "syslog")
# Logging add-on services -> the drain URL their provisioning adds ({port}: the account's).
LOGGING = {"papertrail": "syslog+tls://logs.papertrailapp.com:{port}"}
TAKEN = "Url has already been taken"


def check_url(body: Json) -> str:
    check_fields(body, {"url"})
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise invalid("Missing required param: url.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if any(c.isspace() for c in url) or parts.scheme.lower() not in SCHEMES or not host:
        raise invalid("Url is invalid: expected https://, http://, syslog+tls:// or syslog://.")
    return url


class LogDrainsState(AddonsState):
    def list_drains(self, app_ident: str) -> list[Json]:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            rows = c.execute(
                "SELECT * FROM log_drains WHERE app_id = ? ORDER BY seq", (app["id"],)
            ).fetchall()
            return [self._drain_json(c, r) for r in rows]

    def add_drain(self, app_ident: str, body: Json) -> Json:
        url = check_url(body)
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            return self._drain_json(c, self._insert(c, app["id"], url, None))

    def get_drain(self, app_ident: str, ident: str) -> Json:
        with self.read() as c:
            return self._drain_json(c, self._drain_row(c, self.app_row(c, app_ident)["id"], ident))

    def remove_drain(self, app_ident: str, ident: str) -> Json:
        with self.tx() as c:
            row = self._drain_row(c, self.app_row(c, app_ident)["id"], ident)
            if row["addon_id"]:
                raise invalid(
                    "Log drains added by add-ons can only be removed by removing the add-on."
                )
            answer = self._drain_json(c, row)
            c.execute("DELETE FROM log_drains WHERE id = ?", (row["id"],))
            return answer

    def list_addon_drains(self, addon_ident: str) -> list[Json]:
        with self.read() as c:
            addon = self._addon_row(c, addon_ident)
            rows = c.execute(
                "SELECT * FROM log_drains WHERE addon_id = ? ORDER BY seq", (addon["id"],)
            ).fetchall()
            return [self._drain_json(c, r) for r in rows]

    def update_addon_drain(self, addon_ident: str, ident: str, body: Json) -> Json:
        url = check_url(body)
        with self.tx() as c:
            addon = self._addon_row(c, addon_ident)
            row = self._drain_row(c, addon["app_id"], ident, addon["id"])
            if url != row["url"]:
                self._check_free(c, row["app_id"], url)
            c.execute(
                "UPDATE log_drains SET url = ?, updated_at = ? WHERE id = ?",
                (url, self.now(), row["id"]),
            )
            return self._drain_json(c, self._drain_row(c, row["app_id"], row["id"]))

    def create_addon(
        self, app_ident: str, body: Json, *, expand: frozenset[str] = frozenset()
    ) -> Json:
        """An add-on; a logging one (`LOGGING`) adds its drain to the app, as on Heroku."""
        with self._lock:  # the add-on and its drain appear together
            answer = super().create_addon(app_ident, body, expand=expand)
            template = LOGGING.get(str(answer["plan"]["name"]).split(":")[0])
            if template:
                url = template.format(port=self._rng.randint(10000, 59999))
                with self.tx() as c:
                    self._insert(c, answer["app"]["id"], url, answer["id"])
            return answer

    # --- rows ---------------------------------------------------------------------------------

    def _insert(
        self, c: sqlite3.Connection, app_id: str, url: str, addon_id: str | None
    ) -> sqlite3.Row:
        self._check_free(c, app_id, url)
        drain_id, now = self.new_id(), self.now()
        c.execute(
            "INSERT INTO log_drains (id, app_id, addon_id, url, token, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (drain_id, app_id, addon_id, url, f"d.{uuid.uuid4()}", now, now),
        )
        return self._drain_row(c, app_id, drain_id)

    @staticmethod
    def _check_free(c: sqlite3.Connection, app_id: str, url: str) -> None:
        found = c.execute(
            "SELECT 1 FROM log_drains WHERE app_id = ? AND url = ?", (app_id, url)
        ).fetchone()
        if found:
            raise invalid(TAKEN)

    @staticmethod
    def _drain_row(
        c: sqlite3.Connection, app_id: str, ident: str, addon_id: str | None = None
    ) -> sqlite3.Row:
        sql = "SELECT * FROM log_drains WHERE app_id = ? AND (id = ? OR url = ? OR token = ?)"
        args: tuple[Any, ...] = (app_id, ident, ident, ident)
        if addon_id is not None:
            sql += " AND addon_id = ?"
            args += (addon_id,)
        row = c.execute(sql, args).fetchone()
        if row is None:
            raise not_found("Couldn't find that log drain.", "log-drain")
        return row

    @staticmethod
    def _drain_json(c: sqlite3.Connection, row: sqlite3.Row) -> Json:
        app = c.execute("SELECT id, name FROM apps WHERE id = ?", (row["app_id"],)).fetchone()
        addon: Json | None = None
        if row["addon_id"]:
            made_by = c.execute(
                "SELECT id, name, app_id FROM addons WHERE id = ?", (row["addon_id"],)
            ).fetchone()
            billed = c.execute(
                "SELECT id, name FROM apps WHERE id = ?", (made_by["app_id"],)
            ).fetchone()
            addon = {"id": made_by["id"], "name": made_by["name"], "app": ref(billed)}
        return {
            "addon": addon,
            "app": ref(app),
            "created_at": row["created_at"],
            "id": row["id"],
            "token": row["token"],
            "updated_at": row["updated_at"],
            "url": row["url"],
        }


def routes(b: LogDrainsState) -> Sequence[Endpoint]:
    # {drain:path}: the official CLI sends a drain's URL (slashes and all) as the identity.
    one = "/apps/{app}/log-drains/{drain:path}"

    def add(c: Call) -> Json:
        return b.add_drain(c.params["app"], c.body)

    def update(c: Call) -> Json:
        return b.update_addon_drain(c.params["addon"], c.params["drain"], c.body)

    return (
        Endpoint("/apps/{app}/log-drains", "GET", lambda c: b.list_drains(c.params["app"]),
                 list_field="id"),
        Endpoint("/apps/{app}/log-drains", "POST", add, status=201),
        Endpoint(one, "GET", lambda c: b.get_drain(c.params["app"], c.params["drain"])),
        Endpoint(one, "DELETE", lambda c: b.remove_drain(c.params["app"], c.params["drain"])),
        Endpoint("/addons/{addon}/log-drains", "GET",
                 lambda c: b.list_addon_drains(c.params["addon"]), list_field="id"),
        Endpoint("/addons/{addon}/log-drains/{drain:path}", "PUT", update),
    )  # fmt: skip


FAMILY = Family(
    "log-drains", SCHEMA, routes, app_tables=("log_drains",), addon_tables=("log_drains",)
)
