"""Maintenance windows of data add-ons (`/data/maintenances/v1/...` on the data host).

What the official CLI 11's `data:maintenances*` commands call: the window of a Postgres (not
Essential) or Redis (not mini) add-on, set with `{"day_of_week", "time_of_day"}` (UTC), and
its maintenance (none is ever pending here). Heroku picks a window for every new production
database; the emulator picks one from the add-on's id, so it is stable. An add-on still
provisioning answers 404, as the data API does.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Sequence

from herokustack.emulator.family import Endpoint, Family
from herokustack.emulator.models.addons import AddonsState
from herokustack.emulator.models.db import Json, check_fields, invalid, not_found, want_str

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
WINDOW_HOURS = 4  # Heroku's windows last four hours

SCHEMA = """
CREATE TABLE IF NOT EXISTS data_windows (
  addon_id TEXT PRIMARY KEY, day TEXT NOT NULL, time TEXT NOT NULL);
"""

_TIME = re.compile(r"^([0-9]{1,2}):([0-5][0-9])\s*([AaPp][Mm])?$")


def has_window(plan: str) -> bool:
    """Postgres of the Standard tier and up, and Redis premium: Essential and mini have none."""
    service, short = plan.split(":", 1)
    if service == "heroku-postgresql":
        return not short.startswith(("essential", "mini", "basic", "hobby"))
    return service == "heroku-redis" and short != "mini"


def parse_day(value: str) -> str:
    key = value.strip().lower().removesuffix("s")
    day = next((d for d in DAYS if d.lower() == key), None)
    if day is None:
        raise invalid(f"Day of week must be one of {', '.join(DAYS)} (UTC).")
    return day


def parse_time(value: str) -> str:
    """A UTC time as the CLI passes it ("13:30", "1:30PM", "1:30 pm") -> "13:30"."""
    match = _TIME.match(value.strip())
    hour = int(match[1]) if match else 99
    if match and match[3]:
        hour = -1 if not 1 <= hour <= 12 else hour % 12 + (12 if match[3].lower() == "pm" else 0)
    if match is None or not 0 <= hour <= 23:
        raise invalid("Time of day must be a UTC time like 14:30 or 2:30PM.")
    return f"{hour:02d}:{match[2]}"


class MaintenancesState(AddonsState):
    def _data_addon(self, c: sqlite3.Connection, ident: str) -> sqlite3.Row:
        row = c.execute("SELECT * FROM addons WHERE id = ? OR name = ?", (ident, ident)).fetchone()
        if row is None or not row["plan"].startswith(("heroku-postgresql:", "heroku-redis:")):
            raise not_found("Couldn't find that data add-on.")
        if self._addon_state(row) != "provisioned":
            raise not_found(f"{row['name']} is not yet provisioned.")
        return row

    def window_of(self, c: sqlite3.Connection, row: sqlite3.Row) -> tuple[str, str]:
        """(day, "HH:MM") of the add-on's window: set, else the one Heroku picked."""
        found = c.execute("SELECT * FROM data_windows WHERE addon_id = ?", (row["id"],)).fetchone()
        if found is not None:
            return found["day"], found["time"]
        digest = hashlib.sha256(row["id"].encode()).digest()
        return DAYS[digest[0] % 7], f"{digest[1] % 24:02d}:{30 * (digest[2] % 2):02d}"

    @staticmethod
    def window_text(day: str, time: str) -> str:
        end = (int(time[:2]) + WINDOW_HOURS) % 24
        return f"{day}s {time} to {end:02d}:{time[3:]} UTC"

    def _window_json(self, c: sqlite3.Connection, row: sqlite3.Row) -> Json:
        if not has_window(row["plan"]):
            short = row["plan"].split(":", 1)[1]
            raise invalid(f"{short} add-ons have no maintenance window.")
        day, time = self.window_of(c, row)
        return {
            "addon": {"id": row["id"], "name": row["name"]},
            "day_of_week": day,
            "time_of_day": time,
            "window": self.window_text(day, time),
            "duration_seconds": WINDOW_HOURS * 3600,
        }

    def get_window(self, ident: str) -> Json:
        with self.read() as c:
            return self._window_json(c, self._data_addon(c, ident))

    def set_window(self, ident: str, body: Json) -> Json:
        check_fields(body, {"day_of_week", "time_of_day"})
        day = parse_day(want_str(body, "day_of_week", required=True) or "")
        time = parse_time(want_str(body, "time_of_day", required=True) or "")
        with self.tx() as c:
            row = self._data_addon(c, ident)
            self._window_json(c, row)  # refuses a plan without a window
            c.execute(
                "INSERT OR REPLACE INTO data_windows (addon_id, day, time) VALUES (?, ?, ?)",
                (row["id"], day, time),
            )
            return self._window_json(c, row)

    def _maintenance_json(self, c: sqlite3.Connection, row: sqlite3.Row) -> Json:
        app = c.execute("SELECT id, name FROM apps WHERE id = ?", (row["app_id"],)).fetchone()
        attachments = [
            r["name"]
            for r in c.execute(
                "SELECT name FROM attachments WHERE addon_id = ? ORDER BY seq", (row["id"],)
            )
        ]
        window = self.window_text(*self.window_of(c, row)) if has_window(row["plan"]) else None
        return {
            "addon": {
                "uuid": row["id"],
                "name": row["name"],
                "attachments": attachments,
                "kind": row["plan"].split(":", 1)[0],
                "plan": row["plan"].split(":", 1)[1],
                "window": window,
            },
            "app": {"uuid": app["id"], "name": app["name"]},
            "status": "none",
            "required_by": None,
            "scheduled_for": None,
            "reason": None,
            "duration_seconds": None,
        }

    def get_maintenance(self, ident: str) -> Json:
        with self.read() as c:
            return self._maintenance_json(c, self._data_addon(c, ident))

    def app_maintenances(self, app_ident: str) -> Json:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            rows = c.execute(
                "SELECT * FROM addons WHERE app_id = ? AND (plan LIKE 'heroku-postgresql:%'"
                " OR plan LIKE 'heroku-redis:%') ORDER BY created_at, name",
                (app["id"],),
            ).fetchall()
            ready = [r for r in rows if self._addon_state(r) == "provisioned"]
            return {"maintenances": [self._maintenance_json(c, r) for r in ready]}


def routes(b: MaintenancesState) -> Sequence[Endpoint]:
    base = "/data/maintenances/v1"
    return (
        Endpoint(f"{base}/apps/{{app}}", "GET", lambda c: b.app_maintenances(c.params["app"])),
        Endpoint(f"{base}/{{addon}}", "GET", lambda c: b.get_maintenance(c.params["addon"])),
        Endpoint(f"{base}/{{addon}}/window", "GET", lambda c: b.get_window(c.params["addon"])),
        Endpoint(
            f"{base}/{{addon}}/window", "POST", lambda c: b.set_window(c.params["addon"], c.body)
        ),
    )


FAMILY = Family("maintenances", SCHEMA, routes, addon_tables=("data_windows",))
