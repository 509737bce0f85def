"""Apps: create, rename, maintenance, build stack, delete (with everything that hangs off them)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from herokustack.emulator import catalog
from herokustack.emulator.family import Endpoint, Family
from herokustack.emulator.models.account import ACCOUNT_ID
from herokustack.emulator.models.addons import AddonsState
from herokustack.emulator.models.db import (
    NAME_WORDS,
    Json,
    check_fields,
    invalid,
    want_bool,
    want_str,
)
from herokustack.emulator.models.domains import DomainsState
from herokustack.emulator.models.stacks import GENERATION
from herokustack.emulator.models.teams import TeamsState

APP_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
NAME_NOUNS = ("river", "forest", "meadow", "harbor", "canyon", "island", "summit", "valley")

SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL,
  region TEXT NOT NULL, stack TEXT NOT NULL, build_stack TEXT NOT NULL,
  maintenance INTEGER NOT NULL DEFAULT 0, web_host TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, released_at TEXT);
"""


class AppsState(TeamsState, AddonsState, DomainsState):
    """Deleting an app destroys its add-ons and its rows in every family's `app_tables`.

    Team apps (`/teams/apps`) are apps with a team (see `teams`): the same rows, answered with
    `locked` and `joined` and the team as owner.
    """

    def _app_json(self, row: sqlite3.Row) -> Json:
        region = next(r for r in catalog.REGIONS if r.name == row["region"])
        owner, team = self.owner_json(self._conn, row["id"])
        return {
            "acm": self.acm_enabled(self._conn, row["id"]),
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
            "owner": owner,
            "organization": team,
            "team": team,
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
        return self._create(body)

    def create_team_app(self, body: Json) -> Json:
        """`POST /teams/apps`: in `team` (else the default team), or the caller's if `personal`."""
        check_fields(body, {"name", "region", "stack", "team", "locked", "personal", "space",
                            "internal_routing"})  # fmt: skip
        if body.get("space") is not None:
            raise invalid("Private Spaces are not emulated.")
        team = want_str(body, "team")
        if want_bool(body, "personal"):
            return self._team_app_json(self._create(body))
        if team is None:
            team = self._default_team()
        return self._team_app_json(self._create(body, team, bool(want_bool(body, "locked"))))

    def _default_team(self) -> str:
        with self.read() as c:
            row = c.execute("SELECT name FROM teams WHERE is_default = 1").fetchone()
        if row is None:
            raise invalid("Missing required param: team (you have no default team).")
        return str(row["name"])

    def _create(self, body: Json, team: str | None = None, locked: bool = False) -> Json:
        name = want_str(body, "name")
        region_ident = want_str(body, "region") or "us"
        stack_ident = want_str(body, "stack") or want_str(body, "build_stack")
        region = next((r for r in catalog.REGIONS if region_ident in (r.name, r.id)), None)
        if region is None:
            raise invalid(f"Couldn't find that region: {region_ident}.")
        stack = self._usable_stack(stack_ident or catalog.DEFAULT_STACK)
        with self.tx() as c:
            if name is None:
                name = self._generated_app_name(c)
            self._check_app_name(c, name)
            now, app_id = self.now(), self.new_id()
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
            if team is not None:
                self.join_team(c, app_id, team, locked)
            self._add_release(c, app_id, "Initial release", None)
            return self._app_json(self.app_row(c, app_id))

    def get_app(self, ident: str) -> Json:
        with self._lock:
            return self._app_json(self.app_row(self._conn, ident))

    def list_apps(self) -> list[Json]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM apps ORDER BY seq").fetchall()
            return [self._app_json(r) for r in rows]

    def update_app(self, ident: str, body: Json) -> Json:
        check_fields(body, {"name", "maintenance", "build_stack"})
        name = want_str(body, "name")
        maintenance = want_bool(body, "maintenance")
        build_stack = want_str(body, "build_stack")
        with self.tx() as c:
            row = self.app_row(c, ident)
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
                sets["updated_at"] = self.now()
                assignments = ", ".join(f"{k} = ?" for k in sets)
                c.execute(
                    f"UPDATE apps SET {assignments} WHERE id = ?", (*sets.values(), row["id"])
                )
            return self._app_json(self.app_row(c, row["id"]))

    def _team_app_json(self, app: Json) -> Json:
        with self.read() as c:
            team = self.team_of_app(c, app["id"])
        answer = {k: v for k, v in app.items() if k not in ("acm", "generation", "organization")}
        answer["locked"] = bool(team["locked"]) if team else False
        answer["joined"] = bool(team["joined"]) if team else False
        answer["team"] = {"name": team["name"]} if team else None
        return answer

    def get_team_app(self, ident: str) -> Json:
        return self._team_app_json(self.get_app(ident))

    def update_team_app(self, ident: str, body: Json) -> Json:
        """`PATCH /teams/apps/{app}`: `locked`, or `owner` (a team: transfer into it; the
        account's email: back to the account)."""
        check_fields(body, {"locked", "owner"})
        if len(body) != 1:
            raise invalid("Send either locked or owner.")
        with self.tx() as c:
            app_id = self.app_row(c, ident)["id"]
            locked = want_bool(body, "locked")
            if locked is not None:
                self.set_locked(c, app_id, locked)
            else:
                owner = want_str(body, "owner", required=True)
                assert owner is not None
                if "@" in owner or owner == ACCOUNT_ID:
                    self.leave_team(c, app_id, owner)
                else:
                    self.join_team(c, app_id, owner, locked=False)
            c.execute("UPDATE apps SET updated_at = ? WHERE id = ?", (self.now(), app_id))
        return self.get_team_app(app_id)

    def list_team_apps(self, team: str) -> list[Json]:
        with self.read() as c:
            team_id = self._visible_team(c, team)["id"]
            rows = c.execute(
                "SELECT a.id FROM apps a JOIN team_apps t ON t.app_id = a.id"
                " WHERE t.team_id = ? ORDER BY a.seq",
                (team_id,),
            ).fetchall()
        return [self.get_team_app(r["id"]) for r in rows]

    def delete_app(self, ident: str) -> Json:
        with self.tx() as c:
            row = self.app_row(c, ident)
            answer = self._app_json(row)
            app_id = row["id"]
            for addon in c.execute("SELECT id FROM addons WHERE app_id = ?", (app_id,)).fetchall():
                self._drop_addon(c, addon["id"])
            self.delete_app_rows(c, app_id)
            c.execute("DELETE FROM apps WHERE id = ?", (app_id,))
            return answer

    def list_user_apps(self, ident: str) -> list[Json]:
        """Owned and collaborated apps: every app here is the one account's."""
        self.get_user(ident)
        return self.list_apps()

    def available_stacks(self, app_ident: str) -> list[Json]:
        self.get_app(app_ident)
        return [self._stack_json(s) for s in catalog.STACKS if s.state != "retired"]


def routes(b: AppsState) -> Sequence[Endpoint]:

    return (
        Endpoint(
            "/users/{account}/apps",
            "GET",
            lambda c: b.list_user_apps(c.params["account"]),
            list_field="id",
        ),
        Endpoint("/apps", "GET", lambda c: b.list_apps(), list_field="id"),
        Endpoint("/apps", "POST", lambda c: b.create_app(c.body), status=201),
        Endpoint("/apps/{app}", "GET", lambda c: b.get_app(c.params["app"])),
        Endpoint("/apps/{app}", "PATCH", lambda c: b.update_app(c.params["app"], c.body)),
        Endpoint("/apps/{app}", "DELETE", lambda c: b.delete_app(c.params["app"])),
        Endpoint("/teams/apps", "POST", lambda c: b.create_team_app(c.body), status=201),
        # Before /teams/{team}/apps: an app may be called "apps".
        Endpoint("/teams/apps/{app}", "GET", lambda c: b.get_team_app(c.params["app"])),
        Endpoint(
            "/teams/apps/{app}", "PATCH", lambda c: b.update_team_app(c.params["app"], c.body)
        ),
        Endpoint(
            "/teams/{team}/apps",
            "GET",
            lambda c: b.list_team_apps(c.params["team"]),
            list_field="id",
        ),
        Endpoint(
            "/apps/{app}/available-stacks",
            "GET",
            lambda c: b.available_stacks(c.params["app"]),
            list_field="id",
        ),
    )


FAMILY = Family("apps", SCHEMA, routes)
