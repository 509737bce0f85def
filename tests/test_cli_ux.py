"""What a user sees of the command line itself: help, --version, usage errors, colour and
shell completion."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from herokustack.cli import app

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
runner = CliRunner()


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "herokustack.cli", *args]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, cwd=ROOT, env=env or dict(os.environ)
    )


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_reads_well_at_80_columns(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert not re.findall(r"<[^>\s]+(?: range)?>", text), text  # <bool>, <str>, <list[Path]>
    assert "FMT" not in text and "╭" not in text
    assert all(len(line) <= 80 for line in text.splitlines()), text
    # An option's description starts at a readable column, not squeezed to the right.
    for line in text.splitlines():
        found = re.match(r"^  (-\S.*?|[A-Z]+)  +(\S.*)$", line)
        if found:
            assert found.start(2) <= 32, line


def test_option_spellings_are_shared() -> None:
    helps = {c: runner.invoke(app, [c, "--help"], env={"COLUMNS": "80"}).output for c in COMMANDS}
    for command, text in helps.items():
        if "--format" in text:
            assert "--format FORMAT" in text, command
        if "--api-url" in text:
            assert "--api-url URL" in text, command
        if "Arguments:" in text and command != "import":
            assert f"Usage: herokustack {command} [OPTIONS] [PATH]..." in text


def test_version_prints_the_installed_version() -> None:
    done = _cli("--version")
    assert done.returncode == 0
    assert done.stdout == f"herokustack {version('herokustack')}\n"
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--bogus"], "error: no such option: --bogus"),
        (["plan", "--parallelism", "0"], "error: invalid value for '--parallelism'"),
        (["emulator", "--port", "x"], "error: invalid value for '--port'"),
        (["cost", "--format"], "error: option '--format' requires an argument"),
        (["nope"], "error: no such command 'nope' (see herokustack --help)"),
        (["validate", "--format", "yaml"], "error: --format: unknown format 'yaml'"),
    ],
)
def test_usage_errors_are_one_plain_error_line_exit_1(args: list[str], message: str) -> None:
    done = _cli(*args)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(message), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Usage:" not in done.stderr and "╭" not in done.stderr


def test_an_unknown_option_names_the_help_to_read() -> None:
    result = runner.invoke(app, ["drift", "--bogus"])
    assert result.exit_code == 1
    assert result.stderr == ("error: no such option: --bogus (see herokustack drift --help)\n"), (
        result.stderr
    )


def test_bare_herokustack_prints_its_help() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: herokustack [OPTIONS] COMMAND [ARGS]...")


def _on_a_terminal(*args: str, cwd: Path, env: dict[str, str]) -> str:
    """What the command writes to a terminal (stdout and stderr both on one pty)."""
    import pty

    main, sub = pty.openpty()
    argv = [sys.executable, "-m", "herokustack.cli", *args]
    proc = subprocess.Popen(argv, stdin=sub, stdout=sub, stderr=sub, cwd=cwd, env=env)
    os.close(sub)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    proc.wait(timeout=60)
    return b"".join(chunks).decode()


COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7]|4[0-8])(?:;[0-9;]*)?m")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env |= {"TERM": "xterm-256color", "DJANGO_SECRET_KEY": "k" * 40}
    commands = [["plan", "--local"], ["check"], ["cost", "--format", "x"]]
    for command in commands:
        assert COLOUR.search(_on_a_terminal(*command, cwd=tmp_path, env=env)), command
    for command in commands:
        plain = _on_a_terminal("--no-color", *command, cwd=tmp_path, env=env)
        assert not COLOUR.search(plain), (command, plain)
        assert "acme-production" in plain or "error: --format" in plain
    for command in commands:
        plain = _on_a_terminal(*command, cwd=tmp_path, env=env | {"NO_COLOR": "1"})
        assert not COLOUR.search(plain), (command, plain)


def test_shell_completion_is_offered_and_completes_commands_and_options() -> None:
    shown = _cli("--show-completion", env=dict(os.environ, SHELL="/bin/bash"))
    assert shown.returncode == 0
    assert "_HEROKUSTACK_COMPLETE=complete_bash" in shown.stdout
    assert "--install-completion" in runner.invoke(app, ["--help"]).output

    def complete(words: str) -> list[str]:
        env = dict(os.environ, _HEROKUSTACK_COMPLETE="complete_bash", COMP_WORDS=words)
        env["COMP_CWORD"] = str(len(words.split()) - 1)
        argv = [sys.executable, "-m", "herokustack.cli"]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
        return done.stdout.split()

    assert complete("herokustack pl") == ["plan"]
    assert complete("herokustack plan --para") == ["--parallelism"]
