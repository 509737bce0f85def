"""Config vars: the user's own, and the ones add-on attachments set (locked, shown once ready)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

from herokustack.emulator.family import Endpoint, Family
from herokustack.emulator.models.db import Json, invalid
from herokustack.emulator.models.releases import ReleasesState

CONFIG_KEY_RE = re.compile(r"^[A-Za-z0-9_]{1,256}$")
CONFIG_LIMIT_BYTES = 32 * 1024

# `addon_id` is set on the vars an attachment wrote (addons.py): they go with the add-on.
SCHEMA = """
CREATE TABLE IF NOT EXISTS config_vars (
  app_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, addon_id TEXT,
  PRIMARY KEY (app_id, key));
"""


class ConfigVarsState(ReleasesState):
    def get_config(self, app_ident: str) -> dict[str, str]:
        with self._lock:
            app = self.app_row(self._conn, app_ident)
            return self._config(self._conn, app["id"])

    def _config(self, c: sqlite3.Connection, app_id: str) -> dict[str, str]:
        """The app's config; an add-on's vars appear once it is provisioned, as on Heroku."""
        sql = (
            "SELECT key, value FROM config_vars"
            " LEFT JOIN addons ON addons.id = config_vars.addon_id"
            " WHERE config_vars.app_id = ?"
            " AND (config_vars.addon_id IS NULL OR addons.ready_at <= ?) ORDER BY key"
        )
        return {r["key"]: r["value"] for r in c.execute(sql, (app_id, self.clock()))}

    def update_config(self, app_ident: str, body: Json) -> dict[str, str]:
        """Set (string) or remove (null) keys; a change makes a release. Add-on vars are locked."""
        for key, value in body.items():
            if not CONFIG_KEY_RE.match(key):
                raise invalid(f"Invalid config var name: {key[:64]!r}.")
            if value is not None and not isinstance(value, str):
                raise invalid(f"Invalid type for config var {key}: expected a string or null.")
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            locked = {
                r["key"]
                for r in c.execute(
                    "SELECT key FROM config_vars WHERE app_id = ? AND addon_id IS NOT NULL",
                    (app["id"],),
                )
            }
            clash = sorted(locked & set(body))
            if clash:
                raise invalid(f"Cannot overwrite attachment values {', '.join(clash)}.")
            current = self._config(c, app["id"])
            set_keys = [k for k, v in body.items() if v is not None and current.get(k) != v]
            removed = [k for k, v in body.items() if v is None and k in current]
            merged = {**current, **{k: body[k] for k in set_keys}}
            for key in removed:
                merged.pop(key)
            if sum(len(k) + len(v) for k, v in merged.items()) > CONFIG_LIMIT_BYTES:
                raise invalid("Config vars are limited to 32kB per app.")
            for key in set_keys:
                c.execute(
                    "INSERT OR REPLACE INTO config_vars (app_id, key, value) VALUES (?, ?, ?)",
                    (app["id"], key, body[key]),
                )
            for key in removed:
                sql = "DELETE FROM config_vars WHERE app_id = ? AND key = ?"
                c.execute(sql, (app["id"], key))
            parts = []
            if set_keys:
                parts.append(f"Set {', '.join(set_keys)} config vars")
            if removed:
                parts.append(f"Remove {', '.join(removed)} config vars")
            if parts:
                self._add_release(c, app["id"], "; ".join(parts), None)
            return self._config(c, app["id"])


def routes(b: ConfigVarsState) -> Sequence[Endpoint]:
    return (
        Endpoint("/apps/{app}/config-vars", "GET", lambda c: b.get_config(c.params["app"])),
        Endpoint(
            "/apps/{app}/config-vars",
            "PATCH",
            lambda c: b.update_config(c.params["app"], c.body),
        ),
    )


FAMILY = Family(
    "config-vars", SCHEMA, routes, app_tables=("config_vars",), addon_tables=("config_vars",)
)
