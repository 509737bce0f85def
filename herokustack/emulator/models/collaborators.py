"""Who may work on an app: collaborators of personal apps, and of team apps with permissions.

A personal app lists its owner (the account, role `owner`) and its collaborators (role
`collaborator`), without permissions: on Heroku a collaborator of a personal app can do all
but delete or transfer it. A team app lists its owner, the team's pseudo-user
`<team>@herokumanager.com` (role `owner`, `permissions` empty, as Heroku answers), and its
collaborators with their permissions (view, deploy, operate, manage; `view` always, as Heroku
adds it); the role is the person's in the team: `admin` for a team admin, `member` for any
other member (a `viewer` too: Heroku's collaborator roles are admin/collaborator/member/owner),
`collaborator` for someone outside the team. Team admins have access to every team app through
the team; they are listed only once added as collaborators, as on Heroku.

`/apps/{app}/collaborators` works on both kinds of app (a team app's new collaborator gets
`view`); `/teams/apps/{app}/collaborators` only on team apps, and takes `permissions`. A
collaborator is named by email (any case) or id. Rules: the owner cannot be added or removed
(422), nor can an existing collaborator be added again (422, Heroku's "User is already a
collaborator on app."); an unknown permission is a 422. Rows go with the app (`app_tables`).
The emails are people the emulator never authenticates, as team members are.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from herokustack.emulator import catalog
from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.account import ACCOUNT_EMAIL, ACCOUNT_ID
from herokustack.emulator.models.db import (
    Json,
    check_fields,
    invalid,
    not_found,
    want_bool,
)
from herokustack.emulator.models.teams import (
    PERMISSIONS,
    TEAM_DOMAIN,
    TeamsState,
    user_id,
    want_email,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS collaborators (
  app_id TEXT NOT NULL, email TEXT NOT NULL, id TEXT UNIQUE NOT NULL, permissions TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (app_id, email));
"""
DESCRIPTIONS = dict(PERMISSIONS)
NAMES = sorted(DESCRIPTIONS)  # deploy, manage, operate, view
ALREADY = "User is already a collaborator on app."
NOT_A_TEAM_APP = "This app is not owned by a team: use /apps/{app}/collaborators."
MISSING = "Couldn't find that user."
ROLES = {"admin": "admin", "member": "member", "viewer": "member"}  # team role -> app role


def permissions_of(body: Json, *, required: bool) -> list[str]:
    """The permissions of a request, sorted, with `view` (Heroku adds it to any set)."""
    value = body.get("permissions")
    if value is None:
        if required:
            raise invalid("Missing required param: permissions.")
        return ["view"]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise invalid("Invalid type for permissions: expected an array of permission names.")
    unknown = sorted(set(value) - set(NAMES))
    if unknown:
        raise invalid(
            f"Invalid permissions: {', '.join(unknown)}. Permissions must be one of: "
            f"{', '.join(NAMES)}."
        )
    return sorted({*value, "view"})


def user_email(body: Json) -> str:
    """`user` as an email: an email, or the account (`~`, its id)."""
    if body.get("user") in ("~", ACCOUNT_ID):
        return ACCOUNT_EMAIL
    return want_email(body, "user")


class CollaboratorsState(TeamsState):
    def list_collaborators(self, app_ident: str, *, team_route: bool = False) -> list[Json]:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            team = self._team(c, app, team_route)
            rows = c.execute(
                "SELECT * FROM collaborators WHERE app_id = ? ORDER BY email", (app["id"],)
            ).fetchall()
            return [self._owner(app, team), *(self._json(c, app, team, r) for r in rows)]

    def get_collaborator(self, app_ident: str, ident: str, *, team_route: bool = False) -> Json:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            team = self._team(c, app, team_route)
            owner = self._owner(app, team)
            if ident.lower() in (owner["user"]["email"], owner["id"], owner["user"]["id"]):
                return owner
            return self._json(c, app, team, self._row(c, app, ident))

    def add_collaborator(self, app_ident: str, body: Json, *, team_route: bool = False) -> Json:
        check_fields(body, {"user", "silent", "permissions"} if team_route else {"user", "silent"})
        want_bool(body, "silent")  # no invitation e-mail is ever sent here
        email = user_email(body)
        permissions = permissions_of(body, required=False)
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            team = self._team(c, app, team_route)
            owner = self._owner(app, team)["user"]["email"]
            exists = c.execute(
                "SELECT 1 FROM collaborators WHERE app_id = ? AND email = ?", (app["id"], email)
            ).fetchone()
            if email == owner or exists:
                raise invalid(ALREADY)
            now, new_id = self.now(), self.new_id()
            c.execute(
                "INSERT INTO collaborators VALUES (?, ?, ?, ?, ?, ?)",
                (app["id"], email, new_id, ",".join(permissions), now, now),
            )
            return self._json(c, app, team, self._row(c, app, email))

    def update_collaborator(self, app_ident: str, ident: str, body: Json) -> Json:
        check_fields(body, {"permissions"})
        permissions = permissions_of(body, required=True)
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            team = self._team(c, app, True)
            if ident.lower() == self._owner(app, team)["user"]["email"]:
                raise invalid("The app owner's permissions cannot be changed.")
            row = self._row(c, app, ident)
            c.execute(
                "UPDATE collaborators SET permissions = ?, updated_at = ? WHERE id = ?",
                (",".join(permissions), self.now(), row["id"]),
            )
            return self._json(c, app, team, self._row(c, app, row["email"]))

    def remove_collaborator(self, app_ident: str, ident: str, *, team_route: bool = False) -> Json:
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            team = self._team(c, app, team_route)
            owner = self._owner(app, team)
            if ident.lower() in (owner["user"]["email"], owner["id"], owner["user"]["id"]):
                raise invalid("The app owner cannot be removed.")
            row = self._row(c, app, ident)
            answer = self._json(c, app, team, row)
            c.execute("DELETE FROM collaborators WHERE id = ?", (row["id"],))
            return answer

    # -- helpers --------------------------------------------------------------------------------

    def _team(
        self, c: sqlite3.Connection, app: sqlite3.Row, team_route: bool
    ) -> sqlite3.Row | None:
        team = self.team_of_app(c, app["id"])
        if team_route and team is None:
            raise invalid(NOT_A_TEAM_APP)
        return team

    @staticmethod
    def _row(c: sqlite3.Connection, app: sqlite3.Row, ident: str) -> sqlite3.Row:
        """A collaborator by email (any case), collaborator id or user id."""
        rows = c.execute("SELECT * FROM collaborators WHERE app_id = ?", (app["id"],)).fetchall()
        for row in rows:
            if ident.lower() == row["email"] or ident in (row["id"], user_id(row["email"])):
                return row
        raise not_found(MISSING, "user")

    @staticmethod
    def _owner(app: sqlite3.Row, team: sqlite3.Row | None) -> Json:
        email = f"{team['name']}@{TEAM_DOMAIN}" if team else ACCOUNT_EMAIL
        answer: Json = {
            "app": {"id": app["id"], "name": app["name"]},
            "created_at": app["created_at"],
            "id": catalog.stable_id("collaborator", f"{app['id']}:{email}"),
            "role": "owner",
            "updated_at": app["created_at"],
            "user": {
                "email": email,
                "federated": False,
                "id": team["team_id"] if team else ACCOUNT_ID,
            },
        }
        if team is not None:
            answer["permissions"] = []
        return answer

    def _json(
        self, c: sqlite3.Connection, app: sqlite3.Row, team: sqlite3.Row | None, row: sqlite3.Row
    ) -> Json:
        answer: Json = {
            "app": {"id": app["id"], "name": app["name"]},
            "created_at": row["created_at"],
            "id": row["id"],
            "role": "collaborator",
            "updated_at": row["updated_at"],
            "user": {"email": row["email"], "federated": False, "id": user_id(row["email"])},
        }
        if team is not None:
            role = self.role_in(c, team["team_id"], row["email"])
            answer["role"] = ROLES.get(role or "", "collaborator")
            names = sorted({*row["permissions"].split(","), "view"} - {""})
            answer["permissions"] = [{"name": n, "description": DESCRIPTIONS[n]} for n in names]
        return answer


def routes(b: CollaboratorsState) -> Sequence[Endpoint]:
    mine, team = "/apps/{app}/collaborators", "/teams/apps/{app}/collaborators"

    def one(c: Call) -> tuple[str, str]:
        return c.params["app"], c.params["collaborator"]

    def post(team_route: bool) -> Endpoint:
        def handler(c: Call) -> Json:
            return b.add_collaborator(c.params["app"], c.body, team_route=team_route)

        return Endpoint(team if team_route else mine, "POST", handler, status=201)

    return (
        Endpoint(mine, "GET", lambda c: b.list_collaborators(c.params["app"]), list_field="id"),
        post(False),
        Endpoint(f"{mine}/{{collaborator}}", "GET", lambda c: b.get_collaborator(*one(c))),
        Endpoint(f"{mine}/{{collaborator}}", "DELETE", lambda c: b.remove_collaborator(*one(c))),
        Endpoint(
            team,
            "GET",
            lambda c: b.list_collaborators(c.params["app"], team_route=True),
            list_field="id",
        ),
        post(True),
        Endpoint(
            f"{team}/{{collaborator}}",
            "GET",
            lambda c: b.get_collaborator(*one(c), team_route=True),
        ),
        Endpoint(
            f"{team}/{{collaborator}}",
            "PATCH",
            lambda c: b.update_collaborator(*one(c), c.body),
        ),
        Endpoint(
            f"{team}/{{collaborator}}",
            "DELETE",
            lambda c: b.remove_collaborator(*one(c), team_route=True),
        ),
    )


FAMILY = Family("collaborators", SCHEMA, routes, app_tables=("collaborators",))
