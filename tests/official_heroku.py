"""The official `heroku` CLI (npm, 11.x, installed by `make node`) pointed at an emulator.

Shared by the emulator tests and the end-to-end tests: one place knows where the CLI lives
and which environment keeps it local, quiet and quick.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from herokustack.emulator import EmulatorServer

HEROKU_CLI = Path(__file__).resolve().parent / "heroku-cli" / "node_modules" / ".bin" / "heroku"


def installed() -> bool:
    return HEROKU_CLI.exists() and shutil.which("node") is not None


def run_heroku(
    emu: EmulatorServer, *args: str, home: Path | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """Run `heroku ARGS` against `emu`; `home` keeps its config and cache out of the user's."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home) if home else os.environ.get("HOME", ""),
        **emu.env(),
        "HEROKU_SKIP_NEW_VERSION_CHECK": "1",
        # Offline, the CLI's analytics calls wait for a timeout; send them here instead (a 404).
        "DISABLE_TELEMETRY": "true",
        "HEROKU_ANALYTICS_URL": f"{emu.url}/analytics",
        "HEROKU_UPDATE_INSTRUCTIONS": "",
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
        "CI": "1",
    }
    argv = [str(HEROKU_CLI), *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
