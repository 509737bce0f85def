"""The emulator's family for the test-only labels kind (`labels_kind.py`): one table, two routes."""

from __future__ import annotations

from typing import Any

from herokustack.emulator import Call, Endpoint, Family
from herokustack.emulator.models import invalid


def _routes(backend: Any) -> list[Endpoint]:
    def labels(c: Any, app_id: str) -> dict[str, str]:
        rows = c.execute("SELECT key, value FROM labels WHERE app_id = ? ORDER BY key", (app_id,))
        return {r["key"]: r["value"] for r in rows}

    def get(call: Call) -> dict[str, str]:
        with backend.read() as c:
            return labels(c, backend.app_row(c, call.params["app"])["id"])

    def patch(call: Call) -> dict[str, str]:
        if not isinstance(call.body, dict):
            raise invalid("Labels are an object of strings (null removes one).")
        with backend.tx() as c:
            app_id = backend.app_row(c, call.params["app"])["id"]
            for key, value in call.body.items():
                if value is None:
                    c.execute("DELETE FROM labels WHERE app_id = ? AND key = ?", (app_id, key))
                else:
                    c.execute(
                        "INSERT OR REPLACE INTO labels VALUES (?, ?, ?)", (app_id, key, value)
                    )
            return labels(c, app_id)

    return [
        Endpoint("/apps/{app}/labels", "GET", get),
        Endpoint("/apps/{app}/labels", "PATCH", patch),
    ]


FAMILY = Family(
    "labels",
    "CREATE TABLE IF NOT EXISTS labels (app_id TEXT NOT NULL, key TEXT NOT NULL,"
    " value TEXT NOT NULL, PRIMARY KEY (app_id, key));",
    _routes,
    app_tables=("labels",),
)
