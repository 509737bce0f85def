"""`herokustack validate` and `herokustack schema`, driven like a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from herokustack.cli import app

ROOT = Path(__file__).resolve().parents[1]
INVALID = Path(__file__).resolve().parent / "fixtures" / "invalid"
runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example stacks, as the current directory."""
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validate_defaults_to_the_stack_files_and_ticks_each(project: Path) -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "✓ stacks/production.toml (acme-production)",
        "✓ stacks/staging.toml (acme-staging)",
        "2 files valid",
    ]


def test_validate_a_broken_file_prints_each_problem_and_exits_1(project: Path) -> None:
    path = project / "stacks" / "production.toml"
    path.write_text(path.read_text().replace("quantity = 2", 'quantity = "two"', 1))
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "✗ stacks/production.toml",
        "  stacks/production.toml:12: formation.web.quantity: must be an integer between 0 and "
        '100, got "two"',
        "✓ stacks/staging.toml (acme-staging)",
        "1 of 2 files invalid, 1 problem",
    ]
    assert "Traceback" not in result.output


def test_validate_json_lists_files_and_problems_with_lines(project: Path) -> None:
    (project / "stacks" / "review.toml").write_text(
        '[app]\nname = "acme-review"\nenvironment = "review"\n\n[formation.web]\nquanity = 1\n'
    )
    result = runner.invoke(app, ["validate", "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] is False
    by_path = {f["path"]: f for f in report["files"]}
    assert by_path["stacks/production.toml"]["valid"] is True
    assert by_path["stacks/production.toml"]["app"] == "acme-production"
    problems = by_path["stacks/review.toml"]["problems"]
    assert [(p["key"], p["line"], p["message"]) for p in problems] == [
        ("formation.web.quantity", 5, "is required"),
        ("formation.web.quanity", 6, "unknown key; did you mean `quantity`?"),
    ]


def test_validate_explicit_paths_and_a_partial(project: Path) -> None:
    result = runner.invoke(app, ["validate", "stacks/_base.toml", "stacks/staging.toml"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "✓ stacks/_base.toml (partial)"


def test_validate_reports_a_syntax_error_with_its_line(project: Path) -> None:
    (project / "broken.toml").write_text('[app]\nname = "acme-x"\nenvironment = staging\n')
    result = runner.invoke(app, ["validate", "broken.toml"])
    assert result.exit_code == 1
    assert "  broken.toml:3:15: invalid TOML: invalid value" in result.output


def test_validate_a_missing_file_and_no_files(project: Path) -> None:
    result = runner.invoke(app, ["validate", "nope.toml"])
    assert result.exit_code == 1
    assert "  nope.toml: file not found" in result.output
    shutil.rmtree(project / "stacks")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1
    assert "no stack files found" in result.output


def test_validate_a_directory_means_its_toml_files_partials_included(project: Path) -> None:
    (project / "stacks" / "notes.txt").write_text("not a stack file\n")
    result = runner.invoke(app, ["validate", "stacks/"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "✓ stacks/_base.toml (partial)",
        "✓ stacks/production.toml (acme-production)",
        "✓ stacks/staging.toml (acme-staging)",
        "3 files valid",
    ]


def test_a_directory_without_stack_files_is_one_error(project: Path) -> None:
    (project / "empty").mkdir()
    result = runner.invoke(app, ["validate", "empty"])
    assert result.exit_code == 1
    assert result.output == "error: empty: directory has no *.toml\n"


def test_check_and_cost_take_a_directory_of_stack_files(project: Path) -> None:
    by_dir = runner.invoke(app, ["cost", "--format", "json", "stacks"])
    by_files = runner.invoke(
        app, ["cost", "--format", "json", "stacks/production.toml", "stacks/staging.toml"]
    )
    assert by_dir.exit_code == 0, by_dir.output
    assert by_dir.output == by_files.output
    checked = runner.invoke(app, ["check", "--format", "json", "stacks"])
    assert checked.exit_code == 0, checked.output
    assert checked.output == runner.invoke(app, ["check", "--format", "json"]).output
    (project / "only-partials").mkdir()
    shutil.copy(project / "stacks" / "_base.toml", project / "only-partials")
    refused = runner.invoke(app, ["cost", "only-partials"])
    assert refused.exit_code == 1
    assert "only-partials: directory has no *.toml stack files (partials _*.toml aside)" in (
        refused.output
    )


def test_validate_refuses_an_unknown_format(project: Path) -> None:
    result = runner.invoke(app, ["validate", "--format", "yaml"])
    assert result.exit_code == 1
    assert "unknown format 'yaml'" in result.output


def test_validate_never_reads_a_secret(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    assert runner.invoke(app, ["validate"]).exit_code == 0  # from_env is resolved at plan time


def test_validate_the_whole_invalid_corpus_in_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    names = sorted(p.name for p in INVALID.glob("[!_]*.toml"))
    result = runner.invoke(app, ["validate", "--format", "json", *names])
    assert result.exit_code == 1
    files = json.loads(result.output)["files"]
    # Every file but the one whose problem is a missing environment variable (plan time).
    assert [f["path"] for f in files if f["valid"]] == ["missing_env_var.toml"]


def test_schema_prints_the_committed_schema() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.output == (ROOT / "herokustack" / "stack.schema.json").read_text()
    assert json.loads(result.output)["title"] == "herokustack stack file"


def test_validate_in_a_real_process_garbage_gives_one_line_and_exit_1(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.toml"
    garbage.write_bytes(b"\x00\xff[[[ =\n")
    proc = subprocess.run(
        [sys.executable, "-m", "herokustack.cli", "validate", str(garbage)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        f"✗ {garbage}",
        f"  {garbage}:1:2: invalid TOML: the file is not UTF-8 text",
        "1 of 1 file invalid, 1 problem",
    ]
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("command", ["validate", "cost", "check", "plan", "drift"])
@pytest.mark.parametrize("value", ["[/bold]", "[red]x"])
def test_a_bad_format_that_looks_like_markup_is_quoted_not_interpreted(
    project: Path, command: str, value: str
) -> None:
    result = runner.invoke(app, [command, "--format", value])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"--format: unknown format {value!r}" in result.output


# --- inputs that crashed or hung: refused in one line, exit 1 (issue 11) ---------------------


def _in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """A real `herokustack` process: a hang fails the test at the timeout instead of blocking."""
    return subprocess.run(
        [sys.executable, "-m", "herokustack.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_line_each(output: str) -> None:
    assert "Traceback" not in output
    assert all(len(line) < 160 for line in output.splitlines()), output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_among_the_stack_files_is_refused_without_blocking(project: Path) -> None:
    os.mkfifo(project / "stacks" / "f.toml")
    proc = _in_process("validate")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "✗ stacks/f.toml",
        "  stacks/f.toml: is not a regular file (a FIFO, socket or device), not a stack file",
        "✓ stacks/production.toml (acme-production)",
        "✓ stacks/staging.toml (acme-staging)",
        "1 of 3 files invalid, 1 problem",
    ]
    planned = _in_process("plan", "stacks/f.toml")  # plan loads stack files the same way
    assert planned.returncode == 1
    assert planned.stderr.splitlines() == [
        "error: stacks/f.toml: is not a regular file (a FIFO, socket or device), not a stack file"
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_extends_naming_a_fifo_is_refused_without_blocking(project: Path) -> None:
    os.mkfifo(project / "stacks" / "_fifo.toml")
    path = project / "stacks" / "staging.toml"
    path.write_text(path.read_text().replace('"_base.toml"', '"_fifo.toml"'))
    proc = _in_process("validate", "stacks/staging.toml")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[1] == (
        "  stacks/staging.toml:3: extends: extends stacks/_fifo.toml, which is not a regular file "
        "(a FIFO, socket or device)"
    )
    _one_line_each(proc.stdout + proc.stderr)


def test_symbolic_link_loops_are_one_line_each(project: Path) -> None:
    stacks = project / "stacks"
    (stacks / "_a.toml").symlink_to("_b.toml")
    (stacks / "_b.toml").symlink_to("_a.toml")
    (stacks / "self.toml").symlink_to("self.toml")
    path = stacks / "staging.toml"
    path.write_text(path.read_text().replace('"_base.toml"', '"_a.toml"'))
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert problems == [
        "  stacks/self.toml: is a loop of symbolic links",
        "  stacks/staging.toml:3: extends: extends stacks/_a.toml, which is a loop of symbolic "
        "links",
    ]


def test_a_10_mb_file_is_refused_before_it_is_parsed(project: Path) -> None:
    path = project / "stacks" / "big.toml"
    path.write_text('[app]\nname = "acme-big"\n[config]\nX = "' + "x" * 10_000_000 + '"\n')
    result = runner.invoke(app, ["validate", "stacks/big.toml"])
    assert result.exit_code == 1
    assert result.output.splitlines()[1] == (
        "  stacks/big.toml: is 10,000,040 bytes: a stack file may hold at most 1,000,000 bytes"
    )


def test_a_5000_digit_quantity_fails_validate_and_plan_in_one_line(project: Path) -> None:
    path = project / "stacks" / "staging.toml"
    path.write_text(path.read_text() + "\n[formation.clock]\nquantity = " + "7" * 5000 + "\n")
    expected = "stacks/staging.toml: formation.clock.quantity: is an integer beyond the 64 bits"
    validated = runner.invoke(app, ["validate", "stacks/staging.toml"])
    assert validated.exit_code == 1
    located = expected.replace("staging.toml:", "staging.toml:17:", 1)
    assert validated.output.splitlines()[1] == f"  {located} of TOML integers"
    planned = runner.invoke(app, ["plan", "stacks/staging.toml"])
    assert planned.exit_code == 1
    assert planned.output.splitlines() == [f"error: {expected} of TOML integers"]


SECRET_LINE = 'name = "root:x:0:0:a-value-outside-the-tree"'


@pytest.mark.parametrize("how", ["relative", "symlink", "absolute"])
def test_extends_never_reads_or_echoes_a_file_outside_the_stack_directory(
    project: Path, how: str
) -> None:
    outside = project / "private" / "_creds.toml"
    outside.parent.mkdir()
    outside.write_text(f"[app]\n{SECRET_LINE}\nregion = 1\n")
    value = {"relative": "../private/_creds.toml", "absolute": str(outside)}.get(how)
    if value is None:
        (project / "stacks" / "_creds.toml").symlink_to(outside)
        value = "_creds.toml"
    path = project / "stacks" / "staging.toml"
    path.write_text(path.read_text().replace('"_base.toml"', json.dumps(value)))
    result = runner.invoke(app, ["validate", "--format", "json", "stacks/staging.toml"])
    assert result.exit_code == 1
    (problem,) = json.loads(result.output)["files"][0]["problems"]
    assert (problem["file"], problem["key"], problem["line"]) == (
        "stacks/staging.toml",
        "extends",
        3,
    )
    assert "root:x" not in result.output and "a-value-outside" not in result.output


def test_extends_may_go_down_and_back_up_within_the_tree(project: Path) -> None:
    shared = project / "stacks" / "shared"
    shared.mkdir()
    (shared / "_web.toml").write_text('extends = "../_base.toml"\n[app]\nregion = "eu"\n')
    path = project / "stacks" / "staging.toml"
    path.write_text(path.read_text().replace('"_base.toml"', '"shared/_web.toml"'))
    result = runner.invoke(app, ["validate", "stacks/staging.toml"])
    assert result.exit_code == 0, result.output
