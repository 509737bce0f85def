"""The CI kit: the GitHub Actions workflows and the pre-commit hook run commands and options
that exist in this CLI, and the workflow does what the README promises."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import types
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
    # workflow_dispatch runs on any branch picked in the form: only main may be applied.
    assert doc["jobs"]["apply"]["if"] == (
        "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"
    )


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


# --- running the workflow's own step scripts, as the runner would ------------------------------

WORKFLOW = ROOT / "examples" / "github-actions" / "herokustack.yml"
# What the runner executes for `shell:` on Linux (GitHub's docs, "jobs.<id>.steps[*].shell").
SHELLS = {None: ["bash", "-e"], "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"]}
FAKE_GH = r'''#!/usr/bin/env python3
"""gh for tests: `api PATH --jq EXPR` answers from $FAKE_GH_DATA through jq; `run download`
writes the run's id into DIR/plan.json."""
import json, os, subprocess, sys
args = sys.argv[1:]
if args[:2] == ["run", "download"]:
    folder = args[args.index("--dir") + 1]
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, "plan.json"), "w").write(args[2])
    sys.exit(0)
assert args[0] == "api", args
body = json.load(open(os.environ["FAKE_GH_DATA"]))[args[1]]
jq = args[args.index("--jq") + 1]
sys.exit(subprocess.run(["jq", "-r", jq], input=json.dumps(body), text=True).returncode)
'''


def step(name: str) -> tuple[dict[str, Any], list[str]]:
    """A step of the apply job and the shell command the runner would run its script with."""
    doc = load(WORKFLOW)
    job = doc["jobs"]["apply"]
    [found] = [s for s in job["steps"] if s.get("name") == name]
    shell = found.get("shell") or job.get("defaults", {}).get("run", {}).get("shell")
    shell = shell or doc.get("defaults", {}).get("run", {}).get("shell")
    return found, SHELLS[shell]


def run_step(name: str, tmp_path: Path, env: dict[str, str], expressions: dict[str, str]):
    found, shell = step(name)
    script = re.sub(r"\$\{\{\s*(.+?)\s*\}\}", lambda m: expressions[m.group(1)], found["run"])
    (tmp_path / "step.sh").write_text(script)
    output = tmp_path / "output"
    output.write_text("")
    full_env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        **env,
    }
    proc = subprocess.run(
        [*shell, str(tmp_path / "step.sh")], cwd=tmp_path, env=full_env, capture_output=True
    )
    return proc, output.read_text()


def fake_command(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / "bin").mkdir(exist_ok=True)
    path = tmp_path / "bin" / name
    path.write_text(text)
    path.chmod(0o755)


needs_bash_and_jq = pytest.mark.skipif(
    not (shutil.which("bash") and shutil.which("jq")), reason="needs bash and jq"
)


@needs_bash_and_jq
def test_a_failed_apply_fails_its_step_despite_the_tee(tmp_path: Path):
    fake_command(tmp_path, "herokustack", "#!/bin/sh\necho 'plan.json is stale' >&2\nexit 1\n")
    plan = {"steps.saved.outputs.plan": "reviewed/plan.json"}
    proc, _ = run_step("Apply the reviewed plan", tmp_path, {}, plan)
    assert proc.returncode == 1, proc
    proc, _ = run_step(
        "No reviewed plan (a direct push, or run by hand) - plan and apply", tmp_path, {}, {}
    )
    assert proc.returncode == 1, proc


@needs_bash_and_jq
def test_apply_downloads_the_plan_of_the_merged_prs_last_commit(tmp_path: Path):
    repo = "acme/stacks"
    artifacts = [  # newest first, as GitHub lists them; the newest is of an older commit
        {
            "expired": False,
            "created_at": "2026-11-25T10:05:00Z",
            "workflow_run": {"id": 303, "head_sha": "old"},
        },
        {
            "expired": False,
            "created_at": "2026-11-25T10:00:00Z",
            "workflow_run": {"id": 202, "head_sha": "last"},
        },
        {
            "expired": False,
            "created_at": "2026-11-25T09:00:00Z",
            "workflow_run": {"id": 101, "head_sha": "old"},
        },
    ]
    data = {
        f"repos/{repo}/commits/merge123/pulls": [{"number": 7, "head": {"sha": "last"}}],
        f"repos/{repo}/pulls/7": {"number": 7, "head": {"sha": "last"}},
        f"repos/{repo}/actions/artifacts?name=herokustack-plan-7&per_page=100": {
            "artifacts": artifacts
        },
    }
    (tmp_path / "data.json").write_text(json.dumps(data))
    fake_command(tmp_path, "gh", FAKE_GH)
    env = {
        "GITHUB_REPOSITORY": repo,
        "GITHUB_SHA": "merge123",
        "FAKE_GH_DATA": str(tmp_path / "data.json"),
    }
    expressions = {"github.token": "t"}
    proc, output = run_step(
        "Find the plan reviewed in the merged pull request", tmp_path, env, expressions
    )
    assert proc.returncode == 0, proc
    assert output == "plan=reviewed/plan.json\n"
    assert (tmp_path / "reviewed" / "plan.json").read_text() == "202"

    # The PR's last commit was never planned (its plan job failed): no reviewed plan, a warning.
    artifacts[1]["workflow_run"]["head_sha"] = "older"
    (tmp_path / "data.json").write_text(json.dumps(data))
    (tmp_path / "reviewed" / "plan.json").unlink()
    proc, output = run_step(
        "Find the plan reviewed in the merged pull request", tmp_path, env, expressions
    )
    assert proc.returncode == 0 and output == ""
    assert b"::warning::no saved plan of pull request 7 at its last commit" in proc.stdout
    assert not (tmp_path / "reviewed" / "plan.json").exists()


def test_plan_artifact_is_uploaded_before_the_comment_and_re_runs_replace_it():
    steps = load(WORKFLOW)["jobs"]["plan"]["steps"]
    [upload] = [
        i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/upload-artifact")
    ]
    [comment] = [i for i, s in enumerate(steps) if "comment" in s.get("name", "")]
    assert upload < comment  # a comment that fails (a fork's read-only token) keeps the plan
    assert steps[upload]["with"]["overwrite"] is True


def evaluate(expression: str, event: str, ref: str) -> Any:
    """A GitHub expression of `==`, `!=`, `&&`, `||` and strings (Python's and/or match)."""
    inner = re.sub(r"^\$\{\{(.*)\}\}$", r"\1", expression.strip())
    code = inner.replace("&&", " and ").replace("||", " or ")
    github = types.SimpleNamespace(event_name=event, ref=ref)
    # Only the expressions of our own workflow file are evaluated.
    return eval(code, {"__builtins__": {}}, {"github": github})


@pytest.mark.parametrize(
    ("event", "ref", "group", "applies", "cancels"),
    [
        ("push", "refs/heads/main", "herokustack-apply", True, False),
        ("workflow_dispatch", "refs/heads/main", "herokustack-apply", True, False),
        ("workflow_dispatch", "refs/heads/try", "herokustack-refs/heads/try", False, False),
        ("pull_request", "refs/pull/7/merge", "herokustack-refs/pull/7/merge", False, True),
    ],
)
def test_only_main_is_applied_and_applies_share_one_group(event, ref, group, applies, cancels):
    doc = load(WORKFLOW)
    prefix, _, expression = doc["concurrency"]["group"].partition("$")
    assert prefix + evaluate("$" + expression, event, ref) == group
    assert evaluate(doc["concurrency"]["cancel-in-progress"], event, ref) is cancels
    assert evaluate(doc["jobs"]["apply"]["if"], event, ref) is applies
    assert evaluate(doc["jobs"]["plan"]["if"], event, ref) is (event == "pull_request")
