"""The nightly drift job of examples/github-actions/drift.yml (through the action's drift step)
runs a command that works."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from e2e_helpers import ROOT, Cli, Heroku, converge, stack_doc, unique_name, write_stack

from herokustack.emulator import EmulatorServer

WORKFLOW = ROOT / "examples" / "github-actions" / "drift.yml"
ACTION = ROOT / "action.yml"


def action_step(name: str) -> dict:
    [step] = [
        s for s in yaml.safe_load(ACTION.read_text())["runs"]["steps"] if s.get("name") == name
    ]
    return step


def workflow_command() -> list[str]:
    """The action's drift command, without its (here empty) $STACKS and $ARGS."""
    text = action_step("herokustack drift")["run"]
    [line] = [x.strip() for x in text.splitlines() if x.strip().startswith("herokustack drift")]
    return [w for w in shlex.split(line.split(">", 1)[0])[1:] if not w.startswith("$")]


def test_workflow_runs_nightly_and_acts_on_exit_two():
    text = WORKFLOW.read_text()
    assert re.search(r'cron: "\d+ \d+ \* \* \*"', text)
    assert "command: drift" in text
    assert "heroku-api-key: ${{ secrets.HEROKU_API_KEY }}" in text
    issue = action_step("Open or update the drift issue")
    assert "steps.drift.outputs.exit-code == '2'" in issue["if"]
    assert "steps.drift.outputs.exit-code != '0'" in action_step("Fail on drift or error")["if"]


def test_workflow_command_reports_drift_in_markdown(
    cli: Cli, emu: EmulatorServer, heroku: Heroku, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stacks").mkdir()
    name = unique_name("wf")
    path = write_stack(tmp_path / "stacks", stack_doc(name))
    converge(cli, emu, path)
    command = workflow_command()

    clean = cli(*command)
    assert clean.exit_code == 0, clean.output
    assert clean.stdout.startswith("## herokustack drift: No drift\n")

    heroku.patch(f"/apps/{name}/config-vars", {"PYTHONUNBUFFERED": "0"})
    drifted = cli(*command)
    assert drifted.exit_code == 2, drifted.output
    assert f'| {name} | `~` | config PYTHONUNBUFFERED: live "0" → declared "1" |' in drifted.stdout
