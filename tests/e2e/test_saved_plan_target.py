"""A saved plan remembers where it was made (the local emulator or a Platform API URL) and
`apply FILE` goes there; a contradicting --local/--api-url, or an edited target, is refused
before anything is sent anywhere."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import ROOT, Cli, converge, stack_doc, unique_name, write_stack
from typer.testing import CliRunner

from herokustack.cli import app as cli_app

LOCAL_ENV: dict[str, str | None] = {
    "DJANGO_SECRET_KEY": "local-secret-value-31337",
    "NO_COLOR": "1",
    "HEROKU_API_KEY": None,
    "HEROKU_API_URL": None,
    "HEROKU_HOST": None,
    "HEROKUSTACK_PLAN_KEY": None,
}


@pytest.fixture()
def local_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return CliRunner().invoke(cli_app, list(args), env={**LOCAL_ENV, **(env or {})})


def test_a_local_plan_saved_then_applied_without_local(local_project: Path) -> None:
    planned = _run("plan", "--local", "--out", "plan.json")
    assert planned.exit_code == 0, planned.output
    saved = "saved plan to plan.json (apply it with: herokustack apply plan.json)\n"
    assert planned.stderr == saved
    assert json.loads((local_project / "plan.json").read_text())["target"] == "local"

    applied = _run("apply", "plan.json")  # no --local, no API key: the plan says where
    assert applied.exit_code == 0, applied.output
    assert "acme-production: applied 15 changes" in applied.stdout
    again = _run("plan", "--local", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_apply_refuses_a_place_other_than_where_the_plan_was_made(
    local_project: Path, cli: Cli, emu: Any, tmp_path: Path
) -> None:
    assert _run("plan", "--local", "--out", "local.json").exit_code == 0
    refused = _run("apply", "local.json", "--api-url", emu.url)
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: local.json: planned against the local emulator (plan --local): "
        "apply it without --api-url\n"
    )

    path = write_stack(tmp_path, stack_doc(unique_name()))
    remote = tmp_path / "remote.json"
    assert cli("plan", str(path), "--out", str(remote)).exit_code == 0
    assert json.loads(remote.read_text())["target"] == emu.url
    as_local = cli("apply", str(remote), "--local", api=False)
    assert as_local.exit_code == 1
    assert as_local.stderr == (
        f"error: {remote}: planned against {emu.url}, not the local emulator: "
        "apply it without --local\n"
    )
    elsewhere = cli("apply", str(remote), "--api-url", "https://api.example.com", api=False)
    assert elsewhere.exit_code == 1
    assert f"planned against {emu.url}, not https://api.example.com" in elsewhere.stderr
    applied = cli("apply", str(remote), api=False)  # no --api-url: where it was made
    assert applied.exit_code == 0, applied.output


def test_an_edited_target_is_refused_before_anything_is_sent(
    cli: Cli, emu: Any, tmp_path: Path
) -> None:
    name = unique_name()
    path = write_stack(tmp_path, stack_doc(name))
    converge(cli, emu, path)
    saved = tmp_path / "plan.json"
    keys = {"HEROKUSTACK_PLAN_KEY": "shared-plan-key"}  # so that only the target differs
    assert cli("plan", str(path), "--out", str(saved), env=keys).exit_code == 0
    with socket.socket() as listener:  # where the edited plan points: must hear nothing
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        doc = json.loads(saved.read_text())
        doc["target"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
        edited = tmp_path / "edited.json"
        edited.write_text(json.dumps(doc))
        refused = cli("apply", str(edited), env=keys, api=False)
        assert refused.exit_code == 1
        assert "or its salt or target was edited: nothing was changed" in refused.stderr
        with pytest.raises(BlockingIOError):
            listener.accept()
