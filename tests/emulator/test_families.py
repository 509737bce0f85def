"""A resource family registered from a test: its tables, routes and errors in one emulator only.

"notes" (one note per app, `GET`/`PUT /apps/{app}/notes`) exists only in this file. It is
served over real HTTP through the emulator's own pipeline, keeps its rows in the emulator's
SQLite file beside the apps, and answers errors in Heroku's body.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from emu_helpers import client_for, new_app

from herokustack.emulator import Call, EmulatorServer, Endpoint, Family
from herokustack.emulator.models import (
    BUILTIN_FAMILIES,
    Backend,
    Json,
    check_fields,
    not_found,
    ref,
    want_str,
)
from herokustack.emulator.responses import UNKNOWN_ROUTE

NOTES_SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
  app_id TEXT PRIMARY KEY, text TEXT NOT NULL, updated_at TEXT NOT NULL);
"""


def notes_routes(backend: Backend) -> Sequence[Endpoint]:
    def note_json(app: sqlite3.Row, row: sqlite3.Row) -> Json:
        return {"app": ref(app), "text": row["text"], "updated_at": row["updated_at"]}

    def get_note(call: Call) -> Json:
        with backend.read() as c:
            app = backend.app_row(c, call.params["app"])
            row = c.execute("SELECT * FROM notes WHERE app_id = ?", (app["id"],)).fetchone()
            if row is None:
                raise not_found("Couldn't find that note.", "note")
            return note_json(app, row)

    def put_note(call: Call) -> Json:
        check_fields(call.body, {"text"})
        text = want_str(call.body, "text", required=True)
        with backend.tx() as c:
            app = backend.app_row(c, call.params["app"])
            c.execute(
                "INSERT OR REPLACE INTO notes (app_id, text, updated_at) VALUES (?, ?, ?)",
                (app["id"], text, backend.now()),
            )
            row = c.execute("SELECT * FROM notes WHERE app_id = ?", (app["id"],)).fetchone()
            return note_json(app, row)

    return (
        Endpoint("/apps/{app}/notes", "GET", get_note),
        Endpoint("/apps/{app}/notes", "PUT", put_note),
    )


NOTES = Family("notes", NOTES_SCHEMA, notes_routes, app_tables=("notes",))


def error(response: httpx.Response) -> tuple[int, dict[str, Any]]:
    return response.status_code, response.json()


def notes_rows(data: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(data) as db:
        sql = "SELECT apps.name, apps.id, notes.text FROM notes JOIN apps ON apps.id = notes.app_id"
        return db.execute(sql).fetchall()


def test_a_registered_family_is_served_over_http_and_keeps_state_in_the_same_file(
    tmp_path: Path,
) -> None:
    data = tmp_path / "state.sqlite"
    with EmulatorServer(data_path=str(data), families=[NOTES]) as emu, client_for(emu) as http:
        app = new_app(http, "notes-app")
        put = http.put("/apps/notes-app/notes", json={"text": "deploy on Fridays"})
        assert put.status_code == 200, put.text
        assert put.json()["app"] == {"id": app["id"], "name": "notes-app"}
        assert http.get(f"/apps/{app['id']}/notes").json()["text"] == "deploy on Fridays"
        # The family's rows sit in the emulator's SQLite file, beside (and joined to) its apps.
        assert notes_rows(data) == [("notes-app", app["id"], "deploy on Fridays")]
    with EmulatorServer(data_path=str(data), families=[NOTES]) as emu, client_for(emu) as http:
        assert http.get("/apps/notes-app/notes").json()["text"] == "deploy on Fridays"


def test_a_registered_family_answers_errors_in_herokus_body() -> None:
    with EmulatorServer(families=[NOTES]) as emu, client_for(emu) as http:
        new_app(http, "notes-errors")
        assert error(http.get("/apps/notes-errors/notes")) == (
            404,
            {"id": "not_found", "message": "Couldn't find that note.", "resource": "note"},
        )
        assert error(http.put("/apps/no-such-app/notes", json={"text": "x"})) == (
            404,
            {"id": "not_found", "message": "Couldn't find that app.", "resource": "app"},
        )
        assert error(http.put("/apps/notes-errors/notes", json={"text": 7})) == (
            422,
            {"id": "invalid_params", "message": "Invalid type for text: expected a string."},
        )
        assert error(http.put("/apps/notes-errors/notes", json={"txt": "x"})) == (
            422,
            {"id": "invalid_params", "message": "Unknown field: txt."},
        )
        # The pipeline runs for the family's routes too: API key, body parsing.
        unauthenticated = http.get("/apps/notes-errors/notes", headers={"Authorization": ""})
        assert error(unauthenticated)[0] == 401
        not_json = http.put("/apps/notes-errors/notes", content=b"{text")
        assert error(not_json) == (
            400,
            {"id": "bad_request", "message": "Request body is not valid JSON."},
        )
        assert http.get("/apps/notes-errors/notes").status_code == 404  # nothing was written


def test_deleting_an_app_deletes_its_rows_in_a_registered_family(tmp_path: Path) -> None:
    data = tmp_path / "state.sqlite"
    with EmulatorServer(data_path=str(data), families=[NOTES]) as emu, client_for(emu) as http:
        for name in ("notes-keep", "notes-gone"):
            new_app(http, name)
            http.put(f"/apps/{name}/notes", json={"text": name}).raise_for_status()
        assert http.delete("/apps/notes-gone").status_code == 200
        with sqlite3.connect(data) as db:
            texts = [row[0] for row in db.execute("SELECT text FROM notes")]
        assert texts == ["notes-keep"]


def test_a_family_is_registered_on_one_emulator_only(tmp_path: Path) -> None:
    data = tmp_path / "state.sqlite"
    with EmulatorServer(families=[NOTES]) as with_notes, client_for(with_notes) as http:
        new_app(http, "notes-here")
        assert http.put("/apps/notes-here/notes", json={"text": "x"}).status_code == 200
        with EmulatorServer(data_path=str(data)) as plain, client_for(plain) as other:
            new_app(other, "notes-here")
            # Heroku's answer to an endpoint it does not have (no "resource": not a missing app).
            assert error(other.get("/apps/notes-here/notes")) == (
                404,
                {"id": "not_found", "message": UNKNOWN_ROUTE},
            )
    with sqlite3.connect(data) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "apps" in tables and "notes" not in tables
    assert "notes" not in {f.name for f in BUILTIN_FAMILIES}


def test_a_family_cannot_take_a_built_in_name_or_route() -> None:
    with pytest.raises(ValueError, match="registered twice: apps"):
        Backend(families=[Family("apps")])
    clash = Family("clash", routes=lambda b: [Endpoint("/apps", "GET", lambda c: [])])
    with pytest.raises(ValueError, match="two routes for GET /apps"):
        EmulatorServer(families=[clash])
