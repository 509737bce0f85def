"""The Postgres data API (`/client/v11/...`): database info, backup schedules, transfers; and
the settings of `pg:settings:*` (`/postgres/v0/databases/{id}/config`, not on Essential)."""

from __future__ import annotations

import json
import sqlite3
import zoneinfo
from collections.abc import Sequence

from herokustack.emulator import catalog
from herokustack.emulator.catalog import Plan
from herokustack.emulator.family import Endpoint, Family
from herokustack.emulator.models import data_config
from herokustack.emulator.models.data_config import Spec
from herokustack.emulator.models.db import (
    ApiError,
    Json,
    check_fields,
    invalid,
    not_found,
    want_int,
    want_str,
)
from herokustack.emulator.models.maintenances import MaintenancesState, has_window

DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS transfer_schedules (
  uuid TEXT PRIMARY KEY, addon_id TEXT UNIQUE NOT NULL, name TEXT NOT NULL, hour INTEGER NOT NULL,
  days TEXT NOT NULL, timezone TEXT NOT NULL, retain_weeks INTEGER NOT NULL,
  retain_months INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
"""


PG_CONFIG = {
    "auto_explain": Spec("bool", False, "Log the plans of slow statements"),
    "auto_explain.log_analyze": Spec("bool", False, "EXPLAIN ANALYZE in auto_explain output"),
    "auto_explain.log_buffers": Spec("bool", False, "Buffer usage in auto_explain output"),
    "auto_explain.log_format": Spec(
        "enum",
        "text",
        "Format of auto_explain output",
        {"text": "Text", "json": "JSON", "yaml": "YAML", "xml": "XML"},
    ),
    "auto_explain.log_min_duration": Spec(
        "int", -1, "Milliseconds before a plan is logged (-1: never)", minimum=-1
    ),
    "auto_explain.log_nested_statements": Spec("bool", False, "Log nested statements too"),
    "auto_explain.log_triggers": Spec("bool", False, "Trigger statistics in the output"),
    "auto_explain.log_verbose": Spec("bool", False, "EXPLAIN VERBOSE in the output"),
    "data_connector_details_logs": Spec("bool", False, "Detailed logs of data connectors"),
    "log_connections": Spec("bool", True, "Log each successful connection"),
    "log_lock_waits": Spec("bool", True, "Log when a session waits longer than deadlock_timeout"),
    "log_min_duration_statement": Spec(
        "int", 2000, "Milliseconds before a statement's duration is logged (-1: never)", minimum=-1
    ),
    "log_min_error_statement": Spec(
        "enum",
        "error",
        "Statements causing an error at this level or above are logged",
        {
            "error": "ERROR and more severe messages are logged",
            "log": "LOG and more severe messages are logged",
            "fatal": "FATAL and PANIC messages are logged",
            "panic": "PANIC messages are logged",
        },
    ),
    "log_statement": Spec(
        "enum",
        "ddl",
        "Which SQL statements are logged",
        {
            "none": "No statements are logged.",
            "ddl": "All data definition statements, such as CREATE, ALTER and DROP will be logged.",
            "mod": "Includes all statements from ddl as well as data-modifying statements such as "
            "INSERT, UPDATE, DELETE, TRUNCATE, COPY.",
            "all": "All statements are logged.",
        },
    ),
    "track_functions": Spec(
        "enum",
        "none",
        "Tracking of function calls",
        {
            "none": "No functions are tracked.",
            "pl": "Only procedural language functions are tracked.",
            "all": "All functions, including SQL and C language functions, are tracked.",
        },
    ),
}
ESSENTIAL_SETTINGS = "You can't perform this operation on Essential-tier databases."


def is_essential(plan: str) -> bool:
    return plan.split(":", 1)[1].startswith(("essential", "mini", "basic", "hobby"))


class PostgresState(MaintenancesState):
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
            if has_window(row["plan"]):
                window = self.window_text(*self.window_of(self._conn, row))
                info.insert(-1, ("Maintenance window", window))
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
        with self.tx() as c:
            row = self._ready_database(c, addon_id)
            c.execute("DELETE FROM transfer_schedules WHERE addon_id = ?", (row["id"],))
            now = self.now()
            c.execute(
                "INSERT INTO transfer_schedules (uuid, addon_id, name, hour, days, timezone,"
                " retain_weeks, retain_months, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.new_id(),
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
        with self.tx() as c:
            row = self._database_row(c, addon_id)
            match = next(
                (s for s in self._schedules(c, row["id"]) if s["uuid"] == schedule_id), None
            )
            if match is None:
                raise not_found("Couldn't find that transfer schedule.")
            c.execute("DELETE FROM transfer_schedules WHERE uuid = ?", (schedule_id,))
            return match

    def _settings_database(self, c: sqlite3.Connection, addon_id: str) -> sqlite3.Row:
        row = self._ready_database(c, addon_id)
        if is_essential(row["plan"]):
            raise ApiError(422, "invalid_params", ESSENTIAL_SETTINGS)
        return row

    def pg_config(self, addon_id: str) -> Json:
        with self.read() as c:
            row = self._settings_database(c, addon_id)
            return data_config.answer(PG_CONFIG, data_config.overrides(c, row["id"]))

    def update_pg_config(self, addon_id: str, body: Json) -> Json:
        with self.tx() as c:
            row = self._settings_database(c, addon_id)
            return data_config.update(c, row["id"], PG_CONFIG, body)

    def list_transfers(self, app_ident: str) -> list[Json]:
        with self._lock:
            self.app_row(self._conn, app_ident)
            return []


def routes(b: PostgresState) -> Sequence[Endpoint]:
    return (
        Endpoint("/client/v11/databases/{addon}", "GET", lambda c: b.database(c.params["addon"])),
        Endpoint(
            "/client/v11/databases/{addon}/transfer-schedules",
            "GET",
            lambda c: b.list_schedules(c.params["addon"]),
        ),
        Endpoint(
            "/client/v11/databases/{addon}/transfer-schedules",
            "POST",
            lambda c: b.create_schedule(c.params["addon"], c.body),
            status=201,
        ),
        Endpoint(
            "/client/v11/databases/{addon}/transfer-schedules/{schedule}",
            "DELETE",
            lambda c: b.delete_schedule(c.params["addon"], c.params["schedule"]),
        ),
        Endpoint(
            "/postgres/v0/databases/{addon}/config",
            "GET",
            lambda c: b.pg_config(c.params["addon"]),
        ),
        Endpoint(
            "/postgres/v0/databases/{addon}/config",
            "PATCH",
            lambda c: b.update_pg_config(c.params["addon"], c.body),
        ),
        Endpoint(
            "/client/v11/apps/{app}/transfers",
            "GET",
            lambda c: b.list_transfers(c.params["app"]),
        ),
    )


FAMILY = Family("postgres", SCHEMA, routes, addon_tables=("transfer_schedules",))


_TZ_CACHE: set[str] = set()


def _timezones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(zoneinfo.available_timezones() | {"UTC"})
    return _TZ_CACHE
