"""A local emulator of the Heroku Platform API and Postgres data API (README: Local emulator).

Layout: `models/` holds one module per resource family (its tables, rules and routes; `db.py`
the one SQLite connection and `tx()`), `responses.py` the request pipeline (auth, faults, body
limits, `Range` pagination, rate-limit headers, error bodies), `server.py` the uvicorn server.

Adding a resource family, to one emulator instance (nothing global changes):

    from herokustack.emulator import Call, Endpoint, EmulatorServer, Family

    def notes_routes(backend):                  # backend: models.Backend of this emulator
        def put(call: Call):
            with backend.tx() as c:             # the emulator's one SQLite connection
                app = backend.app_row(c, call.params["app"])   # Heroku's 404 if missing
                c.execute("INSERT OR REPLACE INTO notes VALUES (?, ?)",
                          (app["id"], call.body["text"]))
                return {"text": call.body["text"]}
        return [Endpoint("/apps/{app}/notes", "PUT", put)]

    notes = Family("notes", "CREATE TABLE IF NOT EXISTS notes (app_id TEXT PRIMARY KEY,"
                   " text TEXT)", notes_routes, app_tables=("notes",))
    with EmulatorServer(families=[notes]) as emu: ...

A handler raises `models.ApiError` (or `models.not_found` / `models.invalid`) for Heroku's
error body (`{"id": ..., "message": ...}`); `app_tables` rows go when their app is deleted.
A built-in family is the same: a module in `models/` with a `FAMILY`, one line in
`models.BUILTIN_FAMILIES`, and its mixin in `models.Backend`'s bases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from herokustack.emulator.family import Call, Endpoint, Family
    from herokustack.emulator.server import DEFAULT_API_KEY, EmulatorServer

__all__ = ["DEFAULT_API_KEY", "Call", "EmulatorServer", "Endpoint", "Family"]
_FAMILY_NAMES = ("Call", "Endpoint", "Family")


def __getattr__(name: str) -> Any:
    # Imported on first use: `herokustack.cost` reads the plain data of `catalog` without
    # loading the server (uvicorn, starlette) into every CLI run.
    if name in _FAMILY_NAMES:
        from herokustack.emulator import family

        return getattr(family, name)
    if name in __all__:
        from herokustack.emulator import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
