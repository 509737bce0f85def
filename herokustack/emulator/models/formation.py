"""Formation: the process types a release declares, their dyno size and quantity (`ps:scale`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from herokustack.emulator import catalog
from herokustack.emulator.family import Endpoint, Family
from herokustack.emulator.models.db import (
    Json,
    Store,
    check_fields,
    identity_of,
    invalid,
    not_found,
    ref,
    want_int,
    want_str,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS formation (
  id TEXT PRIMARY KEY, app_id TEXT NOT NULL, type TEXT NOT NULL, command TEXT NOT NULL,
  quantity INTEGER NOT NULL, size TEXT NOT NULL, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, UNIQUE (app_id, type));
"""

TIER_DEFAULT_SIZE = {"eco": "Eco", "basic": "Basic", "professional": "Standard-1X"}


def dyno_tier(size: str) -> str:
    """eco, basic, or professional (every standard and performance size)."""
    key = size.lower()
    return key if key in ("eco", "basic") else "professional"


class FormationState(Store):
    def _sync_formation(
        self, c: sqlite3.Connection, app_id: str, process_types: dict[str, str]
    ) -> None:
        """A release declares the process types: new ones appear (web at 1), gone ones go."""
        now = self.now()
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
                    self.new_id(),
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
            app = self.app_row(self._conn, app_ident)
            return [
                self._formation_json(app, r) for r in self._formation_rows(self._conn, app["id"])
            ]

    def get_formation(self, app_ident: str, ident: str) -> Json:
        with self._lock:
            app = self.app_row(self._conn, app_ident)
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
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            for update in updates:
                check_fields(update, {"type", "quantity", "size", "dyno_size"})
                ptype = want_str(update, "type", required=True)
                assert ptype is not None
                self._apply_formation_update(c, app["id"], ptype, update)
            self._check_tiers(c, app["id"])
            return [self._formation_json(app, r) for r in self._formation_rows(c, app["id"])]

    def update_process(self, app_ident: str, ident: str, body: Json) -> Json:
        check_fields(body, {"quantity", "size", "dyno_size"})
        with self.tx() as c:
            app = self.app_row(c, app_ident)
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
            (quantity, size.name, self.now(), row["id"]),
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
        # Dev Center, "Heroku Teams": eco dynos are for personal apps, not a team's.
        if (
            "eco" in tiers
            and c.execute("SELECT 1 FROM team_apps WHERE app_id = ?", (app_id,)).fetchone()
        ):
            raise invalid("Eco dynos are not available to apps owned by a team.")
        if len(tiers) > 1:
            # Heroku's own wording (quoted in heroku/legacy-cli#1676 and by users since).
            first, second = sorted(tiers.values())[:2]
            raise invalid(
                f"Cannot use the following dyno types in the same app: {first} and {second}."
            )


def routes(b: FormationState) -> Sequence[Endpoint]:
    return (
        Endpoint(
            "/apps/{app}/formation",
            "GET",
            lambda c: b.list_formation(c.params["app"]),
            list_field="id",
        ),
        Endpoint(
            "/apps/{app}/formation",
            "PATCH",
            lambda c: b.update_formation(c.params["app"], c.body),
        ),
        Endpoint(
            "/apps/{app}/formation/{type}",
            "GET",
            lambda c: b.get_formation(c.params["app"], c.params["type"]),
        ),
        Endpoint(
            "/apps/{app}/formation/{type}",
            "PATCH",
            lambda c: b.update_process(c.params["app"], c.params["type"], c.body),
        ),
    )


FAMILY = Family("formation", SCHEMA, routes, app_tables=("formation",))
