"""`--local`: run against the emulator started in this process, with state in a SQLite file.

The emulator pretends the app's code is deployed: every app the stack files declare gets a
release with the process types web and worker (and any other type its formation names), so
that formation changes apply locally. On real Heroku a process type exists only once code
declaring it has been deployed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from herokustack.client import HerokuClient
from herokustack.errors import HerokustackError
from herokustack.facts import LiveState
from herokustack.stackfile import Stack

DEFAULT_DATA_PATH = Path(".herokustack/local.sqlite")
BASE_PROCESS_TYPES = ("web", "worker")


def process_types(stack: Stack | None = None) -> dict[str, str]:
    """The process types the emulator releases for a stack (or any app), a stand-in command each."""
    declared = stack.spec.formation if stack else ()
    types = dict.fromkeys((*BASE_PROCESS_TYPES, *declared))
    return {ptype: f"echo 'herokustack local: {ptype}'" for ptype in types}


class LocalHeroku:
    """The in-process emulator, its client, and the hooks that "deploy" code to its apps."""

    def __init__(
        self,
        data_path: Path | None = DEFAULT_DATA_PATH,
        parallelism: int = 8,
        **emulator_options: Any,
    ) -> None:
        try:
            from herokustack.emulator import EmulatorServer
        except ImportError as exc:  # the emulator ships with herokustack; guard a broken install
            raise HerokustackError(
                f"--local: the local emulator is not available ({exc})"
            ) from None
        if data_path is not None:
            data_path.parent.mkdir(parents=True, exist_ok=True)
        path = None if data_path is None else str(data_path)
        self.key_path = None if data_path is None else data_path.with_name("plan-key")
        self.server = EmulatorServer(data_path=path, **emulator_options)
        self.parallelism = parallelism
        self.client: HerokuClient | None = None
        self.types: dict[str, dict[str, str]] = {}
        self._ephemeral = secrets.token_hex(32)  # without a state file: this run only

    def __enter__(self) -> LocalHeroku:
        self.server.start()
        self.client = HerokuClient(
            self.server.url, self.server.api_key, parallelism=self.parallelism
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.stop()

    def plan_secret(self) -> str:
        """The secret keying local plan files (the emulator's API key is public): random,
        kept beside the emulator's state (`.herokustack/plan-key`, mode 0600)."""
        if self.key_path is None:
            return self._ephemeral
        try:
            return self.key_path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            pass
        secret = secrets.token_hex(32)
        try:
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another run made it meanwhile
            return self.key_path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secret + "\n")
        return secret

    def know(self, stacks: Iterable[Stack]) -> None:
        self.types = {stack.name: process_types(stack) for stack in stacks}

    def released_for_new(self) -> dict[str, list[str]]:
        """Process types a new app will have: deploy happens right after it is created."""
        return {name: list(types) for name, types in self.types.items()}

    def deploy(self, app: str) -> None:
        self.server.deploy(app, self.types.get(app) or process_types())

    def ensure_released(self, lives: Mapping[str, LiveState]) -> list[str]:
        """Deploy to existing apps whose formation lacks a declared type; the apps deployed."""
        deployed = []
        for name, live in lives.items():
            wanted = self.types.get(name, {})
            if live.exists and not set(wanted) <= set(live.formation):
                self.deploy(name)
                deployed.append(name)
        return deployed
