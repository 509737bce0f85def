"""Domains, `/apps/{app}/domains`, and Automated Certificate Management, `/apps/{app}/acm`.

Every app lists its Heroku domain (kind `heroku`, `<web_host>.herokuapp.com`, derived from the
app's row: a rename moves it) before its custom domains (kind `custom`, one row each). A custom
domain gets a DNS target `<adjective>-<noun>-<hex>.herokudns.com`; a host name belongs to one
app at a time: another app's is Heroku's 422 "... is currently in use by another app.", the
app's own again "Domain already added to this app.". A domain's `sni_endpoint` is the custom
certificate it is bound to (`sni_endpoints`: given at creation or by `PATCH`), else null.

ACM is a row of `app_acm` (the app JSON's `acm` reads it, see `apps`). With ACM on, each custom
domain's `acm_status` is "cert issued" at once (no DNS to wait for here); off, it is null.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Sequence

from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.db import (
    NAME_WORDS,
    Json,
    Store,
    check_fields,
    invalid,
    not_found,
    want_str,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS domains (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, app_id TEXT NOT NULL,
  hostname TEXT UNIQUE NOT NULL, cname TEXT NOT NULL, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS app_acm (app_id TEXT PRIMARY KEY, updated_at TEXT NOT NULL);
"""
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOSTNAME_RE = re.compile(rf"^(?:\*\.)?(?:{LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?$")
TARGET_NOUNS = ("crab", "otter", "heron", "maple", "comet", "pebble", "lantern", "falcon")
HEROKU_ZONE = "herokuapp.com"


class DomainsState(Store):
    def acm_enabled(self, c: sqlite3.Connection, app_id: str) -> bool:
        return c.execute("SELECT 1 FROM app_acm WHERE app_id = ?", (app_id,)).fetchone() is not None

    def list_domains(self, app_ident: str) -> list[Json]:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            rows = c.execute(
                "SELECT * FROM domains WHERE app_id = ? ORDER BY seq", (app["id"],)
            ).fetchall()
            return [self._heroku_domain(c, app), *(self._domain(c, app, r) for r in rows)]

    def get_domain(self, app_ident: str, ident: str) -> Json:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            heroku = self._heroku_domain(c, app)
            if ident in (heroku["id"], heroku["hostname"]):
                return heroku
            return self._domain(c, app, self._domain_row(c, app, ident))

    def add_domain(self, app_ident: str, body: Json) -> Json:
        check_fields(body, {"hostname", "sni_endpoint"})
        hostname = (want_str(body, "hostname", required=True) or "").strip().lower()
        if not HOSTNAME_RE.match(hostname) or len(hostname) > 253:
            raise invalid(f"{hostname or 'hostname'} is not a valid domain name.")
        if hostname == HEROKU_ZONE or hostname.endswith(f".{HEROKU_ZONE}"):
            raise invalid(f"{hostname} is a Heroku domain: it cannot be added as a custom domain.")
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            taken = c.execute("SELECT app_id FROM domains WHERE hostname = ?", (hostname,))
            owner = taken.fetchone()
            if owner is not None:
                if owner["app_id"] == app["id"]:
                    raise invalid("Domain already added to this app.")
                raise invalid(f"{hostname} is currently in use by another app.")
            now, ident = self.now(), self.new_id()
            c.execute(
                "INSERT INTO domains (id, app_id, hostname, cname, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (ident, app["id"], hostname, self._target(c), now, now),
            )
            self.bind_sni(c, app, ident, body.get("sni_endpoint"))
            return self._domain(c, app, self._domain_row(c, app, hostname))

    def update_domain(self, app_ident: str, ident: str, body: Json) -> Json:
        check_fields(body, {"sni_endpoint"})
        if "sni_endpoint" not in body:
            raise invalid("Missing required param: sni_endpoint.")
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            row = self._domain_row(c, app, ident)
            self.bind_sni(c, app, row["id"], body["sni_endpoint"])
            c.execute("UPDATE domains SET updated_at = ? WHERE id = ?", (self.now(), row["id"]))
            return self._domain(c, app, self._domain_row(c, app, row["id"]))

    def remove_domain(self, app_ident: str, ident: str) -> Json:
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            if ident in (self._heroku_host(app), _heroku_id(app["id"])):
                raise invalid("The app's Heroku domain cannot be removed.")
            row = self._domain_row(c, app, ident)
            answer = self._domain(c, app, row)
            self.unbind_domain(c, row["id"])
            c.execute("DELETE FROM domains WHERE id = ?", (row["id"],))
            return answer

    def set_acm(self, app_ident: str, enabled: bool, body: Json) -> Json:
        check_fields(body, set())
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            if enabled:
                c.execute("INSERT OR REPLACE INTO app_acm VALUES (?, ?)", (app["id"], self.now()))
            else:
                c.execute("DELETE FROM app_acm WHERE app_id = ?", (app["id"],))
            c.execute("UPDATE apps SET updated_at = ? WHERE id = ?", (self.now(), app["id"]))
        return self.get_app(app["id"])

    def refresh_acm(self, app_ident: str, body: Json) -> Json:
        check_fields(body, {"acm_refresh"})
        with self.read() as c:
            app = self.app_row(c, app_ident)
            if not self.acm_enabled(c, app["id"]):
                raise invalid("Automated Certificate Management is not enabled for this app.")
        return self.get_app(app["id"])

    def get_app(self, ident: str) -> Json:
        raise NotImplementedError  # `apps.AppsState` answers it (a base of every Backend)

    # `sni_endpoints.SniEndpointsState` (a base of every Backend) owns the bindings.
    def sni_ref(self, c: sqlite3.Connection, domain_id: str) -> Json | None:
        raise NotImplementedError

    def bind_sni(
        self, c: sqlite3.Connection, app: sqlite3.Row, domain_id: str, ident: object
    ) -> None:
        raise NotImplementedError

    def unbind_domain(self, c: sqlite3.Connection, domain_id: str) -> None:
        raise NotImplementedError

    # -- rows and answers ----------------------------------------------------------------------

    @staticmethod
    def _domain_row(c: sqlite3.Connection, app: sqlite3.Row, ident: str) -> sqlite3.Row:
        row = c.execute(
            "SELECT * FROM domains WHERE app_id = ? AND (id = ? OR hostname = ?)",
            (app["id"], ident, ident.lower()),
        ).fetchone()
        if row is None:
            raise not_found("Couldn't find that domain.", "domain")
        return row

    def _target(self, c: sqlite3.Connection) -> str:
        while True:
            words = f"{self._rng.choice(NAME_WORDS)}-{self._rng.choice(TARGET_NOUNS)}"
            cname = f"{words}-{self._hex(14)}.herokudns.com"
            if c.execute("SELECT 1 FROM domains WHERE cname = ?", (cname,)).fetchone() is None:
                return cname

    @staticmethod
    def _heroku_host(app: sqlite3.Row) -> str:
        return f"{app['web_host']}.{HEROKU_ZONE}"

    def _heroku_domain(self, c: sqlite3.Connection, app: sqlite3.Row) -> Json:
        return {
            **self._common(app, app["created_at"], app["updated_at"]),
            "id": _heroku_id(app["id"]),
            "hostname": self._heroku_host(app),
            "kind": "heroku",
            "cname": None,
            "status": "none",
            "acm_status": None,
            "acm_status_reason": None,
        }

    def _domain(self, c: sqlite3.Connection, app: sqlite3.Row, row: sqlite3.Row) -> Json:
        acm = self.acm_enabled(c, app["id"])
        return {
            **self._common(app, row["created_at"], row["updated_at"]),
            "sni_endpoint": self.sni_ref(c, row["id"]),
            "id": row["id"],
            "hostname": row["hostname"],
            "kind": "custom",
            "cname": row["cname"],
            "status": "succeeded",
            "acm_status": "cert issued" if acm else None,
            "acm_status_reason": None,
        }

    @staticmethod
    def _common(app: sqlite3.Row, created: str, updated: str) -> Json:
        return {
            "app": {"id": app["id"], "name": app["name"]},
            "sni_endpoint": None,
            "created_at": created,
            "updated_at": updated,
        }


def _heroku_id(app_id: str) -> str:
    """The Heroku domain's id: one per app, the same on every read."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"heroku-domain:{app_id}"))


def routes(b: DomainsState) -> Sequence[Endpoint]:
    many, one, acm = "/apps/{app}/domains", "/apps/{app}/domains/{domain}", "/apps/{app}/acm"

    def app_of(c: Call) -> str:
        return c.params["app"]

    return (
        Endpoint(many, "GET", lambda c: b.list_domains(app_of(c)), list_field="id"),
        Endpoint(many, "POST", lambda c: b.add_domain(app_of(c), c.body), status=201),
        Endpoint(one, "GET", lambda c: b.get_domain(app_of(c), c.params["domain"])),
        Endpoint(one, "PATCH", lambda c: b.update_domain(app_of(c), c.params["domain"], c.body)),
        Endpoint(one, "DELETE", lambda c: b.remove_domain(app_of(c), c.params["domain"])),
        Endpoint(acm, "POST", lambda c: b.set_acm(app_of(c), True, c.body)),
        Endpoint(acm, "DELETE", lambda c: b.set_acm(app_of(c), False, c.body)),
        Endpoint(acm, "PATCH", lambda c: b.refresh_acm(app_of(c), c.body)),
    )


FAMILY = Family("domains", SCHEMA, routes, app_tables=("domains", "app_acm"))
