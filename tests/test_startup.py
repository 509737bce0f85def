"""Start-up imports only what a command uses: `--help` and `validate` never load the HTTP
client, the emulator's web stack or the plan machinery (issue 14; timings: bench/startup.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STACKS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "stacks").glob("*.toml"))
NEVER = [
    "requests",
    "heroku3",
    "urllib3",
    "starlette",
    "uvicorn",
    "httpx",
    "deepdiff",
    "tomlkit",
    "jsonschema",
    "rich",
    "herokustack.client",
    "herokustack.planner",
]
# Runs the CLI's main() as the `herokustack` script does, then lists the modules it loaded.
RUN = """
import json, sys
report, *args = sys.argv[1:]
sys.argv = ["herokustack", *args]
from herokustack.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
with open(report, "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def loaded_by(tmp_path: Path, *args: str, cwd: Path = ROOT) -> tuple[int, set[str]]:
    report = tmp_path / "report.json"
    argv = [sys.executable, "-c", RUN, str(report), *args]
    subprocess.run(argv, cwd=cwd, check=True, timeout=60, capture_output=True)
    found = json.loads(report.read_text())
    return found["code"], set(found["modules"])


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["validate", *STACKS], ["validate", "--format", "json", "stacks"]],
    ids=["--help", "--version", "validate", "validate json"],
)
def test_help_and_validate_load_no_client_server_or_planner(tmp_path: Path, args: list[str]):
    code, modules = loaded_by(tmp_path, *args)
    assert code in (0, None)
    assert not [name for name in NEVER if name in modules]


def test_help_does_not_even_load_pydantic(tmp_path: Path) -> None:
    _, modules = loaded_by(tmp_path, "--help")
    assert "pydantic" not in modules and "herokustack.stackfile" not in modules


def test_the_check_is_not_blind(tmp_path: Path) -> None:
    """The same probe sees the client when a command needs it (cost --live)."""
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")  # --local keeps state in the cwd
    args = ["cost", "--live", "--local", "--format", "json", "stacks"]
    code, modules = loaded_by(tmp_path, *args, cwd=tmp_path)
    assert code in (0, None)
    assert "requests" in modules and "herokustack.client" in modules
