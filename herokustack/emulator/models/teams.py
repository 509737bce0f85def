"""Heroku Teams: teams, their members and roles, and which apps a team owns.

The emulated account administers one team from the start, `DEFAULT_TEAM` ("acme", the name the
example stacks use); `POST /teams` creates more (the caller becomes their admin) and
`PUT /teams/{team}/members` adds people by email, as on Heroku. Members are only emails: the
emulator has one account, the others are people it never authenticates.

A team app is an app row plus a `team_apps` row (team, locked, joined); the app's `owner` is
then the team's pseudo-user `<team>@herokumanager.com`, as Heroku answers. Rules:
- creating an app in a team (`POST /teams/apps`) and transferring an app into a team
  (`PATCH /teams/apps/{app}` with `owner`) need the caller to be an `admin` or `member` of it;
- `owner` = the account's email moves a team app back to the account;
- only team apps can be locked (`locked`: only team admins and people with `manage` join it).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

from herokustack.emulator import catalog
from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.account import ACCOUNT_EMAIL, ACCOUNT_ID, AccountState
from herokustack.emulator.models.db import (
    ApiError,
    Json,
    check_fields,
    invalid,
    not_found,
    want_bool,
    want_str,
)

DEFAULT_TEAM = "acme"
TEAM_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ROLES = ("admin", "member", "viewer")
TEAM_DOMAIN = "herokumanager.com"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS teams (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS team_members (
  team_id TEXT NOT NULL, email TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (team_id, email));
CREATE TABLE IF NOT EXISTS team_apps (
  app_id TEXT PRIMARY KEY, team_id TEXT NOT NULL, locked INTEGER NOT NULL DEFAULT 0,
  joined INTEGER NOT NULL DEFAULT 0);
INSERT OR IGNORE INTO teams (id, name, created_at, updated_at) VALUES
  ('{catalog.stable_id("team", DEFAULT_TEAM)}', '{DEFAULT_TEAM}', '{catalog.CATALOG_TIME}',
   '{catalog.CATALOG_TIME}');
INSERT OR IGNORE INTO team_members VALUES
  ('{catalog.stable_id("team", DEFAULT_TEAM)}', '{ACCOUNT_EMAIL}', '{ACCOUNT_ID}', 'admin',
   '{catalog.CATALOG_TIME}', '{catalog.CATALOG_TIME}');
"""


def user_id(email: str) -> str:
    """One id per person, the same every run (the account keeps its own)."""
    return ACCOUNT_ID if email == ACCOUNT_EMAIL else catalog.stable_id("user", email.lower())


def want_email(body: Json, key: str) -> str:
    email = want_str(body, key, required=True)
    assert email is not None
    if not EMAIL_RE.match(email):
        raise invalid(f"{email} is not a valid email address.")
    return email.lower()


class TeamsState(AccountState):
    # -- teams ----------------------------------------------------------------------------------

    def team_row(self, c: sqlite3.Connection, ident: str) -> sqlite3.Row:
        row = c.execute("SELECT * FROM teams WHERE name = ? OR id = ?", (ident, ident)).fetchone()
        if row is None:
            raise not_found("Couldn't find that team.", "team")
        return row

    def role_in(self, c: sqlite3.Connection, team_id: str, email: str) -> str | None:
        row = c.execute(
            "SELECT role FROM team_members WHERE team_id = ? AND email = ?", (team_id, email)
        ).fetchone()
        return str(row["role"]) if row else None

    def _team_json(self, c: sqlite3.Connection, row: sqlite3.Row) -> Json:
        return {
            "id": row["id"],
            "name": row["name"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "credit_card_collections": False,
            "default": bool(row["is_default"]),
            "enterprise_account": None,
            "identity_provider": None,
            "membership_limit": None,
            "provisioned_licenses": False,
            "role": self.role_in(c, row["id"], ACCOUNT_EMAIL),
            "type": "team",
        }

    def list_teams(self) -> list[Json]:
        with self.read() as c:
            rows = c.execute(
                "SELECT t.* FROM teams t JOIN team_members m ON m.team_id = t.id"
                " WHERE m.email = ? ORDER BY t.seq",
                (ACCOUNT_EMAIL,),
            ).fetchall()
            return [self._team_json(c, r) for r in rows]

    def get_team(self, ident: str) -> Json:
        with self.read() as c:
            return self._team_json(c, self._visible_team(c, ident))

    def _visible_team(self, c: sqlite3.Connection, ident: str) -> sqlite3.Row:
        row = self.team_row(c, ident)
        if self.role_in(c, row["id"], ACCOUNT_EMAIL) is None:
            raise not_found("Couldn't find that team.", "team")  # Heroku hides others' teams
        return row

    def create_team(self, body: Json) -> Json:
        name = want_str(body, "name", required=True)
        assert name is not None
        if not TEAM_NAME_RE.match(name):
            raise invalid("Name must be 3 to 30 lowercase letters, digits or dashes.")
        with self.tx() as c:
            if c.execute("SELECT 1 FROM teams WHERE name = ?", (name,)).fetchone():
                raise invalid("Name is already taken")
            now, team_id = self.now(), self.new_id()
            c.execute(
                "INSERT INTO teams (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (team_id, name, now, now),
            )
            self._put_member(c, team_id, ACCOUNT_EMAIL, "admin")
            return self._team_json(c, self.team_row(c, team_id))

    def update_team(self, ident: str, body: Json) -> Json:
        check_fields(body, {"default", "name"})
        default = want_bool(body, "default")
        with self.tx() as c:
            row = self._admin_team(c, ident)
            if default is not None:
                if default:
                    c.execute("UPDATE teams SET is_default = 0")
                c.execute("UPDATE teams SET is_default = ? WHERE id = ?", (int(default), row["id"]))
            return self._team_json(c, self.team_row(c, row["id"]))

    def delete_team(self, ident: str) -> Json:
        with self.tx() as c:
            row = self._admin_team(c, ident)
            answer = self._team_json(c, row)
            if c.execute("SELECT 1 FROM team_apps WHERE team_id = ?", (row["id"],)).fetchone():
                raise invalid("Team has apps: transfer or delete them first.")
            c.execute("DELETE FROM team_members WHERE team_id = ?", (row["id"],))
            c.execute("DELETE FROM teams WHERE id = ?", (row["id"],))
            return answer

    def _admin_team(self, c: sqlite3.Connection, ident: str) -> sqlite3.Row:
        row = self._visible_team(c, ident)
        if self.role_in(c, row["id"], ACCOUNT_EMAIL) != "admin":
            raise ApiError(403, "forbidden", "You must be a team admin to do that.")
        return row

    # -- members --------------------------------------------------------------------------------

    def _member_json(self, row: sqlite3.Row) -> Json:
        return {
            "created_at": row["created_at"],
            "email": row["email"],
            "federated": False,
            "id": row["user_id"],
            "identity_provider": None,
            "role": row["role"],
            "two_factor_authentication": False,
            "updated_at": row["updated_at"],
            "user": {"email": row["email"], "id": row["user_id"], "name": None},
        }

    def list_members(self, team: str) -> list[Json]:
        with self.read() as c:
            row = self._visible_team(c, team)
            members = c.execute(
                "SELECT * FROM team_members WHERE team_id = ? ORDER BY email", (row["id"],)
            ).fetchall()
            return [self._member_json(m) for m in members]

    def put_member(self, team: str, body: Json, *, new: bool = False) -> Json:
        check_fields(body, {"email", "federated", "role"})
        email = want_email(body, "email")
        role = want_str(body, "role", required=True)
        if role not in ROLES:
            raise invalid(f"Role must be one of: {', '.join(ROLES)}.")
        with self.tx() as c:
            row = self._admin_team(c, team)
            if new and self.role_in(c, row["id"], email) is not None:
                raise invalid(f"{email} is already a member of this team.")
            self._put_member(c, row["id"], email, role)
            self._keep_an_admin(c, row["id"])
            return self._member_json(self._member_row(c, row["id"], email))

    def _put_member(self, c: sqlite3.Connection, team_id: str, email: str, role: str) -> None:
        now = self.now()
        c.execute(
            "INSERT INTO team_members VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, email)"
            " DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at",
            (team_id, email, user_id(email), role, now, now),
        )

    @staticmethod
    def _member_row(c: sqlite3.Connection, team_id: str, ident: str) -> sqlite3.Row:
        row = c.execute(
            "SELECT * FROM team_members WHERE team_id = ? AND (email = ? OR user_id = ?)",
            (team_id, ident.lower(), ident),
        ).fetchone()
        if row is None:
            raise not_found("Couldn't find that member.", "team-member")
        return row

    def delete_member(self, team: str, ident: str) -> Json:
        with self.tx() as c:
            row = self._admin_team(c, team)
            member = self._member_row(c, row["id"], ident)
            c.execute(
                "DELETE FROM team_members WHERE team_id = ? AND email = ?",
                (row["id"], member["email"]),
            )
            self._keep_an_admin(c, row["id"])
            return self._member_json(member)

    @staticmethod
    def _keep_an_admin(c: sqlite3.Connection, team_id: str) -> None:
        admins = c.execute(
            "SELECT 1 FROM team_members WHERE team_id = ? AND role = 'admin'", (team_id,)
        ).fetchone()
        if admins is None:
            raise invalid("A team must have at least one admin.")

    # -- apps of teams ------------------------------------------------------------------------

    def team_of_app(self, c: sqlite3.Connection, app_id: str) -> sqlite3.Row | None:
        """The app's `team_apps` row joined with its team (`name`, `team_id`, `locked`), or None."""
        return c.execute(
            "SELECT a.*, t.name FROM team_apps a JOIN teams t ON t.id = a.team_id"
            " WHERE a.app_id = ?",
            (app_id,),
        ).fetchone()

    def owner_json(self, c: sqlite3.Connection, app_id: str) -> tuple[Json, Json | None]:
        """(owner, team) of an app as `GET /apps/{app}` answers them."""
        team = self.team_of_app(c, app_id)
        if team is None:
            return {"email": ACCOUNT_EMAIL, "id": ACCOUNT_ID}, None
        return (
            {"email": f"{team['name']}@{TEAM_DOMAIN}", "id": team["team_id"]},
            {"id": team["team_id"], "name": team["name"]},
        )

    def join_team(self, c: sqlite3.Connection, app_id: str, team_ident: str, locked: bool) -> None:
        """Make the app the team's (creation or transfer): the caller must be able to."""
        team = self._visible_team(c, team_ident)
        if self.role_in(c, team["id"], ACCOUNT_EMAIL) not in ("admin", "member"):
            raise ApiError(403, "forbidden", "You do not have permission to add apps to this team.")
        c.execute(
            "INSERT INTO team_apps (app_id, team_id, locked) VALUES (?, ?, ?) ON CONFLICT"
            " (app_id) DO UPDATE SET team_id = excluded.team_id",
            (app_id, team["id"], int(locked)),
        )

    def set_locked(self, c: sqlite3.Connection, app_id: str, locked: bool) -> None:
        team = self.team_of_app(c, app_id)
        if team is None:
            raise invalid("Only team apps can be locked.")
        if self.role_in(c, team["team_id"], ACCOUNT_EMAIL) != "admin":
            raise ApiError(403, "forbidden", "You must be a team admin to lock or unlock apps.")
        c.execute("UPDATE team_apps SET locked = ? WHERE app_id = ?", (int(locked), app_id))

    def leave_team(self, c: sqlite3.Connection, app_id: str, owner: str) -> None:
        if owner.lower() not in (ACCOUNT_EMAIL, ACCOUNT_ID):
            raise not_found("Couldn't find that user.", "user")
        c.execute("DELETE FROM team_apps WHERE app_id = ?", (app_id,))

    def team_features(self, team: str) -> list[Json]:
        with self.read() as c:
            row = self._visible_team(c, team)
        return [
            {
                "id": catalog.stable_id("team-feature", name),
                "name": name,
                "display_name": name,
                "description": description,
                "doc_url": "https://devcenter.heroku.com/articles/heroku-teams",
                "enabled": True,
                "state": "general",
                "feedback_email": "feedback@heroku.com",
                "created_at": row["created_at"],
                "updated_at": row["updated_at"],
            }
            for name, description in TEAM_FEATURES
        ]


TEAM_FEATURES = (("org-access-controls", "Fine-grained app permissions for team members"),)
PERMISSIONS = (
    ("view", "Can view the app's dashboard, logs and config."),
    ("deploy", "Can deploy the app, run one-off dynos and change its config vars."),
    ("operate", "Can scale and restart dynos, and manage add-ons and domains."),
    ("manage", "Can manage the app's access, settings and everything the others can do."),
)


def routes(b: TeamsState) -> Sequence[Endpoint]:
    team = "/teams/{team}"

    def put(c: Call) -> Json:
        return b.put_member(c.params["team"], c.body)

    def post(c: Call) -> Json:
        return b.put_member(c.params["team"], c.body, new=True)

    return (
        # Before /teams/{team}: "permissions" is no team.
        Endpoint(
            "/teams/permissions",
            "GET",
            lambda c: [{"name": n, "description": d} for n, d in PERMISSIONS],
            list_field="name",
        ),
        Endpoint("/teams", "GET", lambda c: b.list_teams(), list_field="id"),
        Endpoint("/teams", "POST", lambda c: b.create_team(c.body), status=201),
        Endpoint(team, "GET", lambda c: b.get_team(c.params["team"])),
        Endpoint(team, "PATCH", lambda c: b.update_team(c.params["team"], c.body)),
        Endpoint(team, "DELETE", lambda c: b.delete_team(c.params["team"])),
        Endpoint(
            f"{team}/members", "GET", lambda c: b.list_members(c.params["team"]), list_field="id"
        ),
        Endpoint(f"{team}/members", "PUT", put),
        Endpoint(f"{team}/members", "POST", post, status=201),
        Endpoint(f"{team}/members", "PATCH", put),
        Endpoint(
            f"{team}/members/{{member}}",
            "DELETE",
            lambda c: b.delete_member(c.params["team"], c.params["member"]),
        ),
        Endpoint(
            f"{team}/features", "GET", lambda c: b.team_features(c.params["team"]), list_field="id"
        ),
    )


FAMILY = Family("teams", SCHEMA, routes, app_tables=("team_apps",))
