"""A local emulator of the Heroku Platform API and Postgres data API (README: Local emulator)."""

from herokustack.emulator.server import DEFAULT_API_KEY, EmulatorServer

__all__ = ["DEFAULT_API_KEY", "EmulatorServer"]
