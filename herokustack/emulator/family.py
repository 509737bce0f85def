"""What a resource family brings to the emulator: its tables, its routes, what goes with an app.

A family is plain data (no HTTP framework here): `models` builds the state of every family on
one SQLite connection, and `responses` turns each family's `Endpoint`s into routes that run
through the one request pipeline (auth, faults, body limits, pagination, error bodies).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """What a route handler needs from the request."""

    params: dict[str, str]
    body: Any
    include: frozenset[str]
    expand: frozenset[str]  # Accept-Expansion: the fields to answer as whole objects
    query: dict[str, str] = field(default_factory=dict)  # the query string (`eq[name]=...`)


Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class Reply:
    """An answer with headers of its own (`Heroku-Webhook-Secret`); a handler may return one."""

    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class Endpoint:
    """One route: `handler(call)` answers JSON, or raises `models.ApiError`.

    `list_field` makes the answer a list paginated by `Range` on that field (`id`, `version`);
    `public` serves it without credentials (the buildpack registry's lookup).
    """

    path: str
    method: str
    handler: Handler
    status: int = 200
    list_field: str = ""
    public: bool = False


def no_routes(backend: Any) -> Sequence[Endpoint]:
    return ()


@dataclass(frozen=True)
class Family:
    """A resource family of the emulated API.

    - `schema`: its `CREATE TABLE IF NOT EXISTS ...` statements, run on the backend's connection.
    - `routes(backend)`: its endpoints; handlers use the backend (`tx()`, `read()`, `app_row()`).
    - `app_tables`: its tables with an `app_id` column; their rows are deleted with the app.
    - `addon_tables`: its tables with an `addon_id` column; rows are deleted with the add-on.
    """

    name: str
    schema: str = ""
    routes: Callable[[Any], Sequence[Endpoint]] = no_routes
    app_tables: tuple[str, ...] = ()
    addon_tables: tuple[str, ...] = ()
