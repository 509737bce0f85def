"""Slugs, releases (deploys, rollbacks, the config each release had) and the dynos they run."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Sequence

from herokustack.emulator.family import Endpoint, Family
from herokustack.emulator.models.account import ACCOUNT_EMAIL, ACCOUNT_ID
from herokustack.emulator.models.db import (
    Json,
    check_fields,
    identity_of,
    invalid,
    not_found,
    ref,
    want_str,
)
from herokustack.emulator.models.formation import FormationState
from herokustack.emulator.models.stacks import StacksState

PROCESS_TYPE_RE = re.compile(r"^[-\w]{1,128}$", re.ASCII)

SCHEMA = """
CREATE TABLE IF NOT EXISTS slugs (
  id TEXT PRIMARY KEY, app_id TEXT NOT NULL, process_types TEXT NOT NULL, stack TEXT NOT NULL,
  commit_sha TEXT, commit_description TEXT, buildpack_description TEXT, checksum TEXT,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS releases (
  id TEXT PRIMARY KEY, app_id TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,
  slug_id TEXT, addon_plan_names TEXT NOT NULL, created_at TEXT NOT NULL,
  UNIQUE (app_id, version));
CREATE TABLE IF NOT EXISTS release_config (
  release_id TEXT PRIMARY KEY, user_vars TEXT NOT NULL, addon_vars TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dyno_restarts (
  app_id TEXT NOT NULL, name TEXT NOT NULL, restarted_at TEXT NOT NULL,
  PRIMARY KEY (app_id, name));
"""


class ReleasesState(StacksState, FormationState):
    """Every change that makes a release (config, add-ons) goes through `_add_release`."""

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
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            stack = self._usable_stack(stack_ident or app["build_stack"])
            slug_id = self.new_id()
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
                    self.now(),
                ),
            )
            return self._slug_json(self._slug_row(c, app["id"], slug_id))

    def get_slug(self, app_ident: str, slug_id: str) -> Json:
        with self._lock:
            app = self.app_row(self._conn, app_ident)
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
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            slug = self._slug_row(c, app["id"], slug_id)
            self._sync_formation(c, app["id"], json.loads(slug["process_types"]))
            now = self.now()
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
            app = self.app_row(self._conn, app_ident)
            sql = "SELECT * FROM releases WHERE app_id = ? ORDER BY version"
            rows = self._conn.execute(sql, (app["id"],)).fetchall()
            return [self._release_json(self._conn, r) for r in rows]

    def get_release(self, app_ident: str, ident: str) -> Json:
        with self._lock:
            app = self.app_row(self._conn, app_ident)
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
        release_id = self.new_id()
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
                self.now(),
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
            release = self._release_row(c, self.app_row(c, app_ident)["id"], release_ident)
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
        with self.tx() as c:
            app = self.app_row(c, app_ident)
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

    # --- dynos --------------------------------------------------------------------------------

    def restart_dynos(
        self, app_ident: str, *, dyno: str | None = None, ptype: str | None = None
    ) -> Json:
        """`ps:restart`: all dynos, one dyno (name or id) or one process type's dynos."""
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            if ptype is not None:
                row = self._formation_row(c, app["id"], ptype)
                names = [f"{row['type']}.{n}" for n in range(1, row["quantity"] + 1)]
            else:
                dynos = self._dynos(c, app)
                names = [d["name"] for d in dynos if dyno is None or dyno in (d["id"], d["name"])]
                if dyno is not None and not names:
                    raise not_found("Couldn't find that dyno.")
            now = self.now()
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
            return self._dynos(self._conn, self.app_row(self._conn, app_ident))

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


def routes(b: ReleasesState) -> Sequence[Endpoint]:
    return (
        Endpoint(
            "/apps/{app}/dynos", "GET", lambda c: b.list_dynos(c.params["app"]), list_field="id"
        ),
        Endpoint(
            "/apps/{app}/dynos/{dyno}",
            "GET",
            lambda c: b.get_dyno(c.params["app"], c.params["dyno"]),
        ),
        Endpoint(
            "/apps/{app}/dynos",
            "DELETE",
            lambda c: b.restart_dynos(c.params["app"]),
            status=202,
        ),
        Endpoint(
            "/apps/{app}/dynos/{dyno}",
            "DELETE",
            lambda c: b.restart_dynos(c.params["app"], dyno=c.params["dyno"]),
            status=202,
        ),
        Endpoint(
            "/apps/{app}/formations/{type}",
            "DELETE",
            lambda c: b.restart_dynos(c.params["app"], ptype=c.params["type"]),
            status=202,
        ),
        Endpoint(
            "/apps/{app}/releases",
            "GET",
            lambda c: b.list_releases(c.params["app"]),
            list_field="version",
        ),
        Endpoint(
            "/apps/{app}/releases",
            "POST",
            lambda c: b.create_release(c.params["app"], c.body),
            status=201,
        ),
        Endpoint(
            "/apps/{app}/releases/{release}",
            "GET",
            lambda c: b.get_release(c.params["app"], c.params["release"]),
        ),
        Endpoint(
            "/apps/{app}/releases/{release}/config-vars",
            "GET",
            lambda c: b.release_config(c.params["app"], c.params["release"]),
        ),
        Endpoint(
            "/apps/{app}/slugs",
            "POST",
            lambda c: b.create_slug(c.params["app"], c.body),
            status=201,
        ),
        Endpoint(
            "/apps/{app}/slugs/{slug}",
            "GET",
            lambda c: b.get_slug(c.params["app"], c.params["slug"]),
        ),
    )


FAMILY = Family("releases", SCHEMA, routes, app_tables=("slugs", "releases", "dyno_restarts"))
