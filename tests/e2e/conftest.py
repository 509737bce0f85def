"""End-to-end fixtures: one emulator per test module, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e_helpers import Cli, Heroku

from herokustack.emulator import EmulatorServer


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(provision_delay=0.3) as server:
        yield server


@pytest.fixture()
def cli(emu: EmulatorServer) -> Cli:
    return Cli(emu)


@pytest.fixture()
def heroku(emu: EmulatorServer) -> Heroku:
    return Heroku(emu)
