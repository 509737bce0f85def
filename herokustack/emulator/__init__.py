"""A local emulator of the Heroku Platform API and Postgres data API (README: Local emulator)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from herokustack.emulator.server import DEFAULT_API_KEY, EmulatorServer

__all__ = ["DEFAULT_API_KEY", "EmulatorServer"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `herokustack.cost` reads the plain data of `catalog` without
    # loading the server (uvicorn, starlette) into every CLI run.
    if name in __all__:
        from herokustack.emulator import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
