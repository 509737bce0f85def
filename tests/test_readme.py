"""The README's marked examples, run as a newcomer would paste them.

A fenced block right after `<!-- readme-test: walkthrough -->` is shell: each line is one
command, run in order in one temporary directory holding a copy of `stacks/`, with `herokustack`
on PATH, no Heroku key and an empty HOME. A line `#> text` says the command above it prints
`text`; a trailing `# exit N` says it exits N (else 0). `export NAME=VALUE` lines carry over.
A block after `<!-- readme-test: python -->` is run as a Python script.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARK = re.compile(r"<!-- readme-test: (\w+) -->\n```\w*\n(.*?)\n```", re.S)
EXIT = re.compile(r"#\s*exit (\d+)\b")


@dataclass
class Step:
    command: str
    exit_code: int = 0
    expect: list[str] = field(default_factory=list)


def blocks(kind: str) -> list[str]:
    return [body for k, body in MARK.findall(README.read_text()) if k == kind]


def steps(block: str) -> list[Step]:
    result: list[Step] = []
    for line in block.splitlines():
        text = line.strip()
        if text.startswith("#>"):
            result[-1].expect.append(text[2:].strip())
        elif text and not text.startswith("#"):
            code = EXIT.search(text)
            result.append(Step(text, int(code.group(1)) if code else 0))
    return result


def newcomer_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEROKU", "HEROKUSTACK"))}
    bin_dir = str(Path(sys.executable).parent)
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    env.update(NO_COLOR="1", COLUMNS="100", NETRC=str(home / "no-netrc"))
    return env


def run_step(step: Step, cwd: Path, env: dict[str, str]) -> None:
    if step.command.startswith("export "):
        for assignment in shlex.split(step.command, comments=True)[1:]:
            name, _, value = assignment.partition("=")
            env[name] = value
        return
    done = subprocess.run(
        ["bash", "-c", step.command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    output = done.stdout + done.stderr
    assert done.returncode == step.exit_code, f"{step.command}: exit {done.returncode}\n{output}"
    for text in step.expect:
        assert text in output, f"{step.command}: {text!r} not in its output\n{output}"


def test_the_readme_has_a_walkthrough() -> None:
    commands = [s.command for b in blocks("walkthrough") for s in steps(b)]
    assert any(c.startswith("herokustack plan --local") for c in commands)
    assert any(c.startswith("herokustack apply") for c in commands)


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(ROOT / "stacks", work / "stacks")
    (tmp_path / "home").mkdir()
    env = newcomer_env(tmp_path / "home")
    for block in blocks("walkthrough"):
        for step in steps(block):
            run_step(step, work, env)


@pytest.mark.parametrize("number", range(len(blocks("python"))))
def test_the_python_examples_run(number: int, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(blocks("python")[number])
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
