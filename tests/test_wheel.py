"""herokustack installed like a tool: the wheel (built from the sdist, as from PyPI) in a fresh
virtual environment gives a `herokustack` that works outside the repository, with its schemas
and the embedded emulator.

uv builds and installs (seconds, from its cache once warm); the fresh environment gets the
dependencies the wheel declares and nothing else, so a missing one fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).with_name("uv")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
SKIP_WHEN_COPYING = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "__pycache__", "*.egg-info", "build", "dist", ".*_cache",
    ".herokustack", ".hypothesis",
)  # fmt: skip

# One worker builds and installs once for every test of this file (see addopts: loadgroup).
pytestmark = pytest.mark.xdist_group("wheel")


def run(argv: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def clean_env(bin_dir: Path | None = None) -> dict[str, str]:
    """The environment of a user's shell: nothing that points Python at this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(UV_PYTHON_DOWNLOADS="never", NO_COLOR="1", COLUMNS="100")
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh virtual environment holding only the built wheel."""
    if not UV.exists():
        pytest.skip("needs uv in the virtual environment (make install)")
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy: building writes egg-info, and must not touch the checkout
    shutil.copytree(ROOT, source, ignore=SKIP_WHEN_COPYING)
    env = clean_env()
    steps = [
        [UV, "build", "--quiet", "--out-dir", work / "dist", source],  # sdist, then its wheel
        [UV, "venv", "--quiet", "--python", sys.executable, work / "venv"],
        [UV, "pip", "install", "--quiet", "--python", work / "venv" / "bin" / "python"],
    ]
    for argv in steps[:2]:
        done = run(argv, work, env)
        assert done.returncode == 0, done.stderr
    [wheel] = (work / "dist").glob("herokustack-*.whl")
    done = run([*steps[2], wheel], work, env)
    assert done.returncode == 0, done.stderr
    return work / "venv" / "bin"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory outside the repository holding copies of the example stacks."""
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    return tmp_path


def herokustack(venv_bin: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = clean_env(venv_bin)
    env["DJANGO_SECRET_KEY"] = "from-the-environment"  # the example stacks' from_env
    env.pop("HEROKU_API_KEY", None)
    return run([venv_bin / "herokustack", *args], cwd, env)


def test_the_installed_command_runs_from_the_virtual_environment(venv_bin: Path, project: Path):
    done = herokustack(venv_bin, project, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage: herokustack" in done.stdout
    for command in ("validate", "plan", "apply", "drift", "emulator"):
        assert command in done.stdout
    done = herokustack(venv_bin, project, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"herokustack {PROJECT['version']}\n"
    where = run(
        [venv_bin / "python", "-c", "import herokustack; print(herokustack.__file__)"],
        project,
        clean_env(venv_bin),
    )
    assert Path(where.stdout.strip()).is_relative_to(venv_bin.parent), where


def test_the_wheel_ships_the_json_schemas(venv_bin: Path):
    [package] = venv_bin.parent.glob("lib/python*/site-packages/herokustack")
    for name in ("stack.schema.json", "plan.schema.json"):
        shipped = json.loads((package / name).read_text(encoding="utf-8"))
        assert shipped == json.loads((ROOT / "herokustack" / name).read_text(encoding="utf-8"))


def test_the_installed_tool_validates_the_example_stacks(venv_bin: Path, project: Path):
    files = sorted(str(p.relative_to(project)) for p in (project / "stacks").glob("*.toml"))
    done = herokustack(venv_bin, project, "validate", *files)
    assert done.returncode == 0, done.stderr
    assert "✓ stacks/production.toml (acme-production)" in done.stdout
    assert "3 files valid" in done.stdout

    (project / "stacks" / "staging.toml").write_text('[app]\nname = "Not_A_Name"\n')
    done = herokustack(venv_bin, project, "validate")
    assert done.returncode == 1
    assert "stacks/staging.toml" in done.stdout
    assert "app.name: must be a Heroku app name" in done.stdout


def test_the_installed_tool_plans_and_applies_on_its_embedded_emulator(
    venv_bin: Path, project: Path
):
    done = herokustack(
        venv_bin, project, "plan", "--local", "--detailed-exitcode", "--out", "plan.json"
    )
    assert done.returncode == 2, done.stderr  # 2: changes
    assert "+ app acme-production: region us, stack heroku-24" in done.stdout
    assert "+ formation web: 2 × standard-1x" in done.stdout
    assert "from-the-environment" not in done.stdout  # a secret is never shown

    done = herokustack(venv_bin, project, "apply", "plan.json", "--local")
    assert done.returncode == 0, done.stderr

    done = herokustack(venv_bin, project, "plan", "--local", "--detailed-exitcode")
    assert done.returncode == 0, done.stdout + done.stderr  # 0: Heroku matches the stacks
    assert (project / ".herokustack" / "local.sqlite").exists()
