"""The official `heroku` CLI (npm, 11.x, installed by `make node`) pointed at an emulator.

Shared by the emulator tests and the end-to-end tests: one place knows where the CLI lives
and which environment keeps it local, quiet and quick.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

from herokustack.emulator import EmulatorServer

HEROKU_CLI = Path(__file__).resolve().parent / "heroku-cli" / "node_modules" / ".bin" / "heroku"
BATCH = Path(__file__).resolve().parent / "heroku-cli" / "batch.mjs"


def installed() -> bool:
    return HEROKU_CLI.exists() and shutil.which("node") is not None


def cli_env(emu: EmulatorServer, home: Path | None = None) -> dict[str, str]:
    """The environment that points the CLI at `emu`; `home` keeps its config out of the user's."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home) if home else os.environ.get("HOME", ""),
        **emu.env(),
        "HEROKU_SKIP_NEW_VERSION_CHECK": "1",
        # Offline, the CLI's analytics calls wait for a timeout; send them here instead (a 404).
        "DISABLE_TELEMETRY": "true",
        "HEROKU_ANALYTICS_URL": f"{emu.url}/analytics",
        # Each `GET /account` (whoami, apps) also asks particleboard.heroku.com about unpaid
        # bills, retrying for 6 s offline; the emulator answers it (with the account: none due).
        "HEROKU_PARTICLEBOARD_URL": emu.url,
        # buildpacks:add and :set look a registry name up there first (the emulator answers).
        "HEROKU_BUILDPACK_REGISTRY_URL": emu.url,
        "HEROKU_UPDATE_INSTRUCTIONS": "",
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
        "CI": "1",
    }


def run_heroku(
    emu: EmulatorServer, *args: str, home: Path | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """Run `heroku ARGS` against `emu`; `home` keeps its config and cache out of the user's."""
    argv = [str(HEROKU_CLI), *args]
    env = cli_env(emu, home)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


def run_heroku_batch(
    emu: EmulatorServer, commands: Sequence[Sequence[str]], home: Path, timeout: float = 120
) -> list[subprocess.CompletedProcess[str]]:
    """Run each `heroku ARGS` of `commands`, in order, in one Node process (heroku-cli/batch.mjs).

    The CLI starts once (about a second) instead of once per command. Each command still goes
    through oclif's whole run, and its exit code is the one the CLI would exit with. `home` is
    also the working directory, out of any git checkout (the CLI reads git remotes there).
    """
    results = home / f"batch-{uuid.uuid4().hex}.jsonl"
    argv = ["node", str(BATCH), json.dumps([list(c) for c in commands]), str(results)]
    done = subprocess.run(
        argv,
        env=cli_env(emu, home),
        cwd=home,
        stdin=subprocess.DEVNULL,  # oclif reads stdin for a missing argument
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = results.read_text().splitlines() if results.exists() else []
    if len(lines) != len(commands):
        raise AssertionError(
            f"the CLI batch stopped after {len(lines)} of {len(commands)} commands"
            f" (exit {done.returncode}): {done.stderr[-2000:]}"
        )
    return [
        subprocess.CompletedProcess(["heroku", *args], r["code"], r["stdout"], r["stderr"])
        for args, r in zip(commands, map(json.loads, lines), strict=True)
    ]
