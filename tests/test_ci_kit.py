"""The CI kit: the GitHub Actions workflows and the pre-commit hook run commands and options
that exist in this CLI, and the workflow does what the README promises."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from herokustack.cli import app

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / "examples" / "github-actions").glob("*.yml"))
COMMANDS: Any = typer.main.get_command(app)


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(doc: dict[str, Any]) -> dict[str, Any]:
    return doc.get("on") or doc[True]  # YAML 1.1 reads a bare `on` as true


def herokustack_calls(script: str) -> list[list[str]]:
    """Every `herokustack ...` command of a shell script (continuations joined, no redirects)."""
    calls: list[list[str]] = []
    for line in re.sub(r"\\\n\s*", " ", script).splitlines():
        if not re.match(r"\s*herokustack\s", line):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
        ends = [i for i, w in enumerate(words) if set(w) <= set("|&;<>()")]
        calls.append(words[: ends[0]] if ends else words)
    return calls


def check_call(words: list[str]) -> None:
    assert len(words) > 1, words
    command = COMMANDS.commands.get(words[1])
    assert command is not None, f"no such command: {' '.join(words)}"
    known = {
        opt
        for param in command.params
        for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
    }
    for word in words[2:]:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"{words[1]} has no option {word}"


def runs(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {
        name: [step.get("run", "") for step in job.get("steps", [])]
        for name, job in doc["jobs"].items()
    }


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_commands_exist_in_the_cli(path: Path):
    calls = [
        c for scripts in runs(load(path)).values() for s in scripts for c in herokustack_calls(s)
    ]
    assert calls, f"{path.name} runs no herokustack command"
    for call in calls:
        check_call(call)


def test_pull_requests_plan_and_main_applies_the_reviewed_plan():
    doc = load(ROOT / "examples" / "github-actions" / "herokustack.yml")
    assert {"pull_request", "push"} <= set(triggers(doc))
    assert triggers(doc)["push"]["branches"] == ["main"]
    assert doc["env"]["HEROKU_API_KEY"] == "${{ secrets.HEROKU_API_KEY }}"
    assert "apply" in doc["concurrency"]["group"]
    calls = {
        job: [c for s in scripts for c in herokustack_calls(s)]
        for job, scripts in runs(doc).items()
    }
    plan_calls = {c[1]: c for c in calls["plan"]}
    assert "validate" in plan_calls
    assert {"--detailed-exitcode", "--out", "--changed-since"} <= set(plan_calls["plan"])
    assert plan_calls["plan"][plan_calls["plan"].index("--format") + 1] == "markdown"
    assert doc["jobs"]["plan"]["permissions"]["pull-requests"] == "write"
    plan_script = "\n".join(runs(doc)["plan"])
    assert "<!-- herokustack-plan -->" in plan_script  # the marker plan_markdown writes first
    applies = [c for c in calls["apply"] if c[1] == "apply"]
    assert any(c[2].endswith("plan }}") for c in applies)  # the saved plan artifact
    assert ["herokustack", "apply", "--auto-approve", "--format", "markdown"] in applies
    assert calls["apply"][-1][:3] == ["herokustack", "plan", "--detailed-exitcode"]
    assert doc["jobs"]["apply"]["if"] == "github.event_name != 'pull_request'"


def test_pre_commit_hook_validates_the_stack_files(monkeypatch: pytest.MonkeyPatch):
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "herokustack-validate"
    assert re.search(hook["files"], "stacks/production.toml")
    words = shlex.split(hook["entry"])
    check_call(words)
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, words[1:])
    assert result.exit_code == 0, result.output
    assert "✓ stacks/production.toml (acme-production)" in result.output
