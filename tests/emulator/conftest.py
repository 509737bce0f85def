"""Emulator test fixtures: one emulator per module, an HTTP client, Heroku's schema checker."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from emu_helpers import SCHEMA_PATH, HerokuSchema, client_for

from herokustack.emulator import EmulatorServer


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="module")
def http(emu: EmulatorServer) -> Iterator[httpx.Client]:
    with client_for(emu) as client:
        yield client


@pytest.fixture(scope="session")
def heroku_schema() -> HerokuSchema:
    if not SCHEMA_PATH.exists():
        pytest.fail(f"Heroku's schema is missing: {SCHEMA_PATH} (shared/ must sit beside the repo)")
    return HerokuSchema(SCHEMA_PATH)
