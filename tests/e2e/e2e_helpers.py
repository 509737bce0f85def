"""End-to-end helpers: stack files in tmp dirs, the CLI driven with typer's CliRunner (or the
official CLI as a subprocess), direct reads of the emulator's API to check what apply did."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import tomli_w
from official_heroku import HEROKU_CLI, run_heroku
from typer.testing import CliRunner

from herokustack import resources
from herokustack.cli import app as cli_app
from herokustack.emulator import EmulatorServer, models
from herokustack.resources.base import Kind

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-Value-that-must-never-be-printed-4711"
RELEASED = {"web": "gunicorn app:wsgi", "worker": "celery worker"}


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def stack_doc(name: str, **overrides: Any) -> dict[str, Any]:
    """A typical stack file as a dict: web+worker, Postgres with backups, Redis, a secret."""
    doc: dict[str, Any] = {
        "app": {"name": name, "environment": "production", "region": "us", "stack": "heroku-24"},
        "formation": {
            "web": {"quantity": 2, "size": "standard-1x"},
            "worker": {"quantity": 1, "size": "standard-1x"},
        },
        "addons": {
            "database": {
                "plan": "heroku-postgresql:essential-0",
                "backups": {"at": "02:00", "timezone": "UTC"},
            },
            "redis": {"plan": "heroku-redis:mini"},
            "logging": {"plan": "papertrail:choklad"},
        },
        "config": {
            "PYTHONUNBUFFERED": "1",
            "SECRET_KEY": {"from_env": "APP_SECRET"},
        },
    }
    for key, value in overrides.items():
        doc[key] = value
    return doc


def write_stack(directory: Path, doc: dict[str, Any]) -> Path:
    path = directory / f"{doc['app']['name']}.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


class Cli:
    """Runs `herokustack` in-process against one emulator; every output is kept for checks."""

    def __init__(self, emu: EmulatorServer) -> None:
        self.emu = emu
        self.runner = CliRunner()
        self.outputs: list[str] = []

    def __call__(
        self, *args: str, env: dict[str, str | None] | None = None, api: bool = True
    ) -> Any:
        full_env: dict[str, str | None] = {
            "HEROKU_API_KEY": self.emu.api_key,
            "APP_SECRET": SECRET,
            "NO_COLOR": "1",
            "HEROKU_API_URL": None,
            "HEROKU_HOST": None,
            "HEROKU_DATA_HOST": None,
        }
        full_env.update(env or {})
        argv = [*args, "--api-url", self.emu.url] if api else list(args)
        result = self.runner.invoke(cli_app, argv, env=full_env, catch_exceptions=False)
        self.outputs.append(result.stdout + result.stderr)
        return result


class Heroku:
    """Direct reads of the emulator's API, to check what apply did (not through herokustack)."""

    def __init__(self, emu: EmulatorServer) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {emu.api_key}"
        self.session.headers["Accept"] = "application/vnd.heroku+json; version=3"

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.emu.url}/{path.lstrip('/')}"
        resp = self.session.request(method, url, json=body, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def exists(self, app: str) -> bool:
        return self.session.get(f"{self.emu.url}/apps/{app}", timeout=10).status_code == 200

    def formation(self, app: str) -> dict[str, tuple[int, str]]:
        return {
            p["type"]: (p["quantity"], p["size"].lower())
            for p in self.get(f"/apps/{app}/formation")
        }

    def addons(self, app: str) -> dict[str, dict[str, Any]]:
        return {a["plan"]["name"].split(":")[0]: a for a in self.get(f"/apps/{app}/addons")}

    def config(self, app: str) -> dict[str, str]:
        return self.get(f"/apps/{app}/config-vars")

    def schedules(self, addon_id: str) -> list[dict[str, Any]]:
        return self.get(f"/client/v11/databases/{addon_id}/transfer-schedules")

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, body)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, body)


def converge(cli: Cli, emu: EmulatorServer, path: Path) -> None:
    """Create the app, 'deploy' its code (web and worker), apply again: plan is then empty."""
    first = cli("apply", str(path), "--auto-approve")
    assert first.exit_code == 0, first.output
    app = path.stem
    emu.deploy(app, RELEASED)
    second = cli("apply", str(path), "--auto-approve")
    assert second.exit_code == 0, second.output
    assert_plan_empty(cli, path)


def assert_plan_empty(cli: Cli, path: Path) -> None:
    result = cli("plan", str(path), "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.stdout


def plan_json(cli: Cli, *paths: Path) -> dict[str, Any]:
    result = cli("plan", *map(str, paths), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def plan_requests(cli: Cli, emu: EmulatorServer, *paths: Path) -> list[str]:
    """`METHOD /path` of each request a `plan` of these files (with nothing to change) sends."""
    seen: list[str] = []
    with emu.observing(lambda method, path, body: seen.append(f"{method} {path}")):
        assert cli("plan", *map(str, paths), "--detailed-exitcode").exit_code == 0
    return seen


@contextmanager
def kind_unregistered(kind: Kind) -> Iterator[None]:
    """The registry as it was before `kind` existed, during the block (then `kind` is back in
    its place, so plan order is unchanged for the tests that follow)."""
    at = resources.KINDS.index(kind)
    resources.unregister(kind)
    try:
        yield
    finally:
        resources.KINDS.insert(at, kind)


def assert_costs_nothing_undeclared(
    cli: Cli, emu: EmulatorServer, path: Path, *kinds: Kind
) -> None:
    """A plan of `path`, whose file declares none of `kinds`, sends the same requests as before
    those kinds existed (with them unregistered)."""
    with_kinds = sorted(plan_requests(cli, emu, path))
    with contextlib.ExitStack() as stack:
        for kind in kinds:
            stack.enter_context(kind_unregistered(kind))
        without_kinds = sorted(plan_requests(cli, emu, path))
    assert with_kinds == without_kinds
    return with_kinds


def official_cli(emu: EmulatorServer, *args: str) -> str:
    if not HEROKU_CLI.exists():
        pytest.skip("the official heroku CLI is not installed (make node)")
    proc = run_heroku(emu, *args, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@contextmanager
def refusing_plan(emu: EmulatorServer, app: str, plan: str) -> Iterator[None]:
    """Heroku refuses (422) to provision `plan` on `app` during the block, as a provider does
    when it is out of capacity: the catalog still lists the plan, so only apply can fail."""

    def refuse(method: str, path: str, body: Any) -> None:
        wanted = isinstance(body, dict) and body.get("plan") == plan
        if method in ("POST", "PATCH") and f"/apps/{app}/addons" in path and wanted:
            raise models.ApiError(422, "invalid_params", f"{plan} is not available now.")

    with emu.observing(refuse):
        yield
