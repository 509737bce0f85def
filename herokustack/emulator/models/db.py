"""What every resource family shares: one SQLite connection, transactions, errors, input checks.

`Store` owns the connection and its lock; each family module adds its tables (its `FAMILY`'s
schema) and its rules as a mixin of `Store`, and `models.Backend` combines them (moto's split
of a big backend into one module per resource). Rule violations raise `ApiError`, which
carries Heroku's error id; the HTTP layer turns it into Heroku's error body.
"""

from __future__ import annotations

import random
import re
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from herokustack.emulator.family import Family

Json = dict[str, Any]

NAME_WORDS = ("calm", "brave", "quiet", "rapid", "sunny", "misty", "lively", "silent", "polar")


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


def identity_of(value: Any, key: str) -> str:
    """A reference given as "name" or {"name": ...} / {"id": ...} (the CLI sends objects)."""
    if isinstance(value, dict):
        check_fields(value, {"id", "name"})
        value = value.get("name", value.get("id"))
    if not isinstance(value, str) or not value:
        raise invalid(f"Invalid type for {key}: expected a name or id.")
    return value


class Store:
    """The state of one emulator. Thread-safe: one connection, one lock, a transaction per call.

    Each family's schema runs on the connection at start (`CREATE TABLE IF NOT EXISTS`, so a
    data file from an earlier run keeps its rows).
    """

    def __init__(
        self,
        data_path: str | None,
        provision_delay: float,
        seed: int | None,
        clock: Callable[[], float],
        families: Sequence[Family],
    ) -> None:
        names = [f.name for f in families]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"resource family registered twice: {', '.join(twice)}")
        self.families = tuple(families)
        self.provision_delay = provision_delay
        self.data_path = data_path
        self.clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            data_path or ":memory:", check_same_thread=False, isolation_level=None, timeout=30
        )
        self._conn.row_factory = sqlite3.Row
        for family in self.families:
            if family.schema:
                self._conn.executescript(family.schema)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; any error rolls every change back (state stays unchanged)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads: no other request changes state in the meantime."""
        with self._lock:
            yield self._conn

    def now(self) -> str:
        return iso(self.clock())

    @staticmethod
    def new_id() -> str:
        # Always random, even with a seed: a restart on the same data file must not reuse ids.
        return str(uuid.uuid4())

    @staticmethod
    def _hex(n: int) -> str:
        return secrets.token_hex(n)[:n]

    @staticmethod
    def app_row(c: sqlite3.Connection, ident: str) -> sqlite3.Row:
        """The app (by name or id) that a resource hangs off, or Heroku's 404 for an app.

        Here, not in `apps`, because every family looks its app up; `apps` owns the table.
        """
        row = c.execute("SELECT * FROM apps WHERE name = ? OR id = ?", (ident, ident)).fetchone()
        if row is None:
            raise not_found("Couldn't find that app.", "app")
        return row

    def delete_app_rows(self, c: sqlite3.Connection, app_id: str) -> None:
        """Delete the app's rows in every family's `app_tables` (the app row is `apps`' own)."""
        for family in self.families:
            for table in family.app_tables:
                c.execute(f"DELETE FROM {table} WHERE app_id = ?", (app_id,))

    def delete_addon_rows(self, c: sqlite3.Connection, addon_id: str) -> None:
        """Delete the add-on's rows in every family's `addon_tables`, on every app."""
        for family in self.families:
            for table in family.addon_tables:
                c.execute(f"DELETE FROM {table} WHERE addon_id = ?", (addon_id,))
