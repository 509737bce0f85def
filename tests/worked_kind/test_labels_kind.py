"""The worked example of docs/adding-a-resource.md: a kind registered by the test (labels),
declared in a stack file, planned and applied through the CLI against the emulator over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import labels_emulator
import labels_kind
import pytest
import requests
import tomli_w
from typer.testing import CliRunner

from herokustack import resources
from herokustack.cli import app as cli_app
from herokustack.emulator import EmulatorServer


@pytest.fixture()
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(families=[labels_emulator.FAMILY]) as server:
        yield server


@pytest.fixture()
def labels() -> Iterator[None]:
    remove = resources.register(labels_kind.KIND)
    yield
    remove()


def run(emu: EmulatorServer, *args: str) -> Any:
    env = {"HEROKU_API_KEY": emu.api_key, "NO_COLOR": "1", "HEROKU_API_URL": None}
    return CliRunner().invoke(cli_app, [*args, "--api-url", emu.url], env=env)


def stack(tmp_path: Path, name: str, **sections: Any) -> Path:
    doc = {"app": {"name": name, "environment": "staging"}, **sections}
    path = tmp_path / f"{name}.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


def live_labels(emu: EmulatorServer, app: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    return requests.get(f"{emu.url}/apps/{app}/labels", headers=headers, timeout=10).json()


def test_a_registered_kind_is_planned_and_applied_through_the_cli(
    emu: EmulatorServer, labels: None, tmp_path: Path
):
    name = f"l{uuid.uuid4().hex[:12]}"
    path = stack(tmp_path, name, labels={"team": "payments", "tier": "gold"})
    plan = run(emu, "plan", str(path))
    assert plan.exit_code == 0, plan.output
    assert "  + label team: payments\n" in plan.output
    applied = run(emu, "apply", str(path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert live_labels(emu, name) == {"team": "payments", "tier": "gold"}
    assert run(emu, "plan", str(path), "--detailed-exitcode").exit_code == 0

    path = stack(tmp_path, name, labels={"team": "search"})
    plan = run(emu, "plan", str(path))
    assert "  ~ label team: payments → search\n" in plan.output
    assert "  - label tier: gold\n" in plan.output
    applied = run(emu, "apply", str(path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert live_labels(emu, name) == {"team": "search"}


def test_plan_reads_the_kind_only_for_apps_that_declare_it(
    emu: EmulatorServer, labels: None, tmp_path: Path
):
    plain, labelled = f"p{uuid.uuid4().hex[:12]}", f"l{uuid.uuid4().hex[:12]}"
    paths = [stack(tmp_path, plain), stack(tmp_path, labelled, labels={"team": "x"})]
    assert run(emu, "apply", *map(str, paths), "--auto-approve").exit_code == 0
    seen: list[str] = []
    with emu.observing(lambda method, path, body: seen.append(f"{method} {path}")):
        assert run(emu, "plan", *map(str, paths), "--detailed-exitcode").exit_code == 0
    reads = [s for s in seen if s.endswith("/labels")]
    assert reads == [f"GET /apps/{labelled}/labels"]


def test_drift_reads_every_kind_and_shows_undeclared_labels(
    emu: EmulatorServer, labels: None, tmp_path: Path
):
    name = f"d{uuid.uuid4().hex[:12]}"
    path = stack(tmp_path, name)
    assert run(emu, "apply", str(path), "--auto-approve").exit_code == 0
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    url = f"{emu.url}/apps/{name}/labels"
    requests.patch(url, json={"owner": "ops"}, headers=headers, timeout=10).raise_for_status()
    drift = run(emu, "drift", str(path))
    assert "  + label owner: on Heroku (ops), not declared\n" in drift.output


def test_the_section_is_unknown_until_the_kind_is_registered(tmp_path: Path):
    path = stack(tmp_path, "unlabelled-app", labels={"team": "x"})
    result = CliRunner().invoke(cli_app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "labels: unknown key" in result.output
