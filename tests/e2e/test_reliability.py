"""The reliability suite: apply under injected faults, killed with SIGKILL mid-apply, two
applies at once, and a fuzzed stack-file corpus. Every trial must end with no traceback, no
duplicated add-on, no lost config var, and a re-run that converges (plan empty). Each trial's
figures are recorded and printed at the end of the run (`reliability_figures`); the README
quotes them. The tampered-plan corpus is in test_plan_tampering.py and records here too."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e_helpers import RELEASED, ROOT, SECRET, Cli, stack_doc, unique_name, write_stack
from reliability_figures import record
from typer.testing import CliRunner

from herokustack.cli import app as cli_app
from herokustack.emulator import EmulatorServer

DECLARED = ("PYTHONUNBUFFERED", "SECRET_KEY")


@pytest.fixture(scope="module")
def faulty() -> Iterator[EmulatorServer]:
    with EmulatorServer(fail_rate=0.25, latency_ms=5, provision_delay=0.1, seed=7) as server:
        yield server


@pytest.fixture(scope="module")
def slow() -> Iterator[EmulatorServer]:
    with EmulatorServer(latency_ms=60, provision_delay=0.2) as server:
        yield server


def _get(emu: EmulatorServer, path: str) -> Any:
    """A read that rides out the emulator's injected faults (it is the test's, not apply's)."""
    headers = {
        "Authorization": f"Bearer {emu.api_key}",
        "Accept": "application/vnd.heroku+json; version=3",
    }
    for _ in range(40):
        resp = requests.get(f"{emu.url}{path}", headers=headers, timeout=10)
        if resp.status_code < 500 and resp.status_code != 429:
            resp.raise_for_status()
            return resp.json()
        time.sleep(0.02)
    raise AssertionError(f"GET {path} kept failing")


def inventory(emu: EmulatorServer, name: str) -> tuple[int, int]:
    """(duplicated add-ons, declared config vars missing or wrong) of a converged app."""
    attachments = Counter(a["name"] for a in _get(emu, f"/apps/{name}/addon-attachments"))
    config = _get(emu, f"/apps/{name}/config-vars")
    lost = sum(1 for key in DECLARED if key not in config)
    lost += int(config.get("SECRET_KEY", SECRET) != SECRET)
    return sum(n - 1 for n in attachments.values()), lost


def until_ok(cli: Cli, *args: str, attempts: int = 10) -> int:
    """Runs until exit 0 (plan: 0 means empty); the number of runs it took."""
    for run in range(1, attempts + 1):
        if cli(*args).exit_code == 0:
            return run
    return 0


def converge_and_record(suite: str, cli: Cli, emu: EmulatorServer, name: str, path: Path) -> None:
    applied = until_ok(cli, "apply", str(path), "--auto-approve")
    emu.deploy(name, RELEASED)
    applied = applied and until_ok(cli, "apply", str(path), "--auto-approve")
    empty = applied and until_ok(cli, "plan", str(path), "--detailed-exitcode")
    duplicates, lost = inventory(emu, name)
    tracebacks = sum("Traceback" in out for out in cli.outputs)
    leaked = sum(SECRET in out for out in cli.outputs)
    record(suite, tracebacks=tracebacks + leaked, duplicates=duplicates, lost=lost,
           converged=int(bool(empty)))  # fmt: skip
    assert (tracebacks, leaked, duplicates, lost) == (0, 0, 0, 0)
    assert empty, cli.outputs[-1]


@pytest.mark.parametrize("trial", range(4))
def test_apply_under_faults_converges(trial: int, faulty: EmulatorServer, tmp_path: Path):
    """A quarter of all requests answered 503 or 429 (with Retry-After)."""
    cli = Cli(faulty)
    name = unique_name(f"rf{trial}")
    converge_and_record(
        "apply under 25% faults", cli, faulty, name, write_stack(tmp_path, stack_doc(name))
    )


def _apply_process(emu: EmulatorServer, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "HEROKU_API_KEY": emu.api_key, "HEROKU_API_URL": emu.url}
    env.update({"APP_SECRET": SECRET, "NO_COLOR": "1"})
    return subprocess.Popen(
        [sys.executable, "-m", "herokustack.cli", "apply", str(path), "--auto-approve"],
        env=env,
        cwd=path.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("step", ["add-ons", "config vars", "backup schedules"])
def test_kill_9_mid_apply_then_apply_again_converges(
    step: str, slow: EmulatorServer, tmp_path: Path
):
    name = unique_name("rk")
    path = write_stack(tmp_path, stack_doc(name))
    proc = _apply_process(slow, path)
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.strip() == f"{name}: {step}":
            break
    proc.send_signal(signal.SIGKILL)  # no chance to report: the next apply must pick it up
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    converge_and_record("kill -9 mid-apply, then apply", Cli(slow), slow, name, path)


@pytest.mark.parametrize("trial", range(2))
def test_two_applies_at_once_then_apply_again_converges(
    trial: int, slow: EmulatorServer, tmp_path: Path
):
    name = unique_name(f"rc{trial}")
    path = write_stack(tmp_path, stack_doc(name))
    first, second = _apply_process(slow, path), _apply_process(slow, path)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    assert codes in ([0, 0], [0, 1], [1, 1]), outputs
    for (out, err), proc in zip(outputs, (first, second), strict=True):
        assert "Traceback" not in err and SECRET not in out + err
        if proc.returncode == 1:  # the loser says what it did and did not do
            assert "FAILED at" in out or "stale" in err or "changed since" in out + err, out + err
    converge_and_record("two applies at once, then apply", Cli(slow), slow, name, path)


HOSTILE_LINES = [
    'extends = "/etc/passwd"',
    'extends = "../../x.toml"',
    'extends = "a\\u0000b"',
    "[" * 200,
    'a = "' + "s" * 2_000_000 + '"',
]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    pick = rng.randrange(len(lines))
    kind = rng.randrange(7)
    if kind == 0:
        del lines[pick]
    elif kind == 1:
        lines.insert(pick, lines[rng.randrange(len(lines))])
    elif kind == 2:
        value = rng.choice(["==", "= [", "= {", "", "= 9" + "9" * 5000])
        lines[pick] = lines[pick].replace("=", value, 1)
    elif kind == 3:
        spot = rng.randrange(len(lines[pick]) + 1)
        junk = rng.choice(['"', "[", "]]", "\0", "\\u0000", "x" * 300, "é", "{", "-1", "1e999"])
        lines[pick] = lines[pick][:spot] + junk + lines[pick][spot:]
    elif kind == 4:
        lines.insert(pick, rng.choice(HOSTILE_LINES))
    elif kind == 5:
        lines[pick] = lines[pick].upper()
    else:
        rng.shuffle(lines)
    return "\n".join(lines) + "\n"


def test_fuzzed_stack_files_never_crash_or_hang(tmp_path: Path):
    """300 seeded mutations of the example stacks: validate answers each with exit 0 or 1."""
    rng = random.Random(20261202)
    (tmp_path / "_base.toml").write_text((ROOT / "stacks" / "_base.toml").read_text())
    source = (ROOT / "stacks" / "production.toml").read_text()
    runner = CliRunner()
    slowest = 0.0
    for index in range(300):
        path = tmp_path / f"f{index}.toml"
        text = source
        for _ in range(rng.randrange(1, 4)):
            text = _mutate(text, rng)
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        start = time.monotonic()
        result = runner.invoke(cli_app, ["validate", str(path)], env={"DJANGO_SECRET_KEY": "x"})
        slowest = max(slowest, time.monotonic() - start)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        record("fuzzed stack files (validate)", tracebacks=int(crashed),
               refused=int(result.exit_code == 1))  # fmt: skip
        assert not crashed, (text[:2000], result.exception)
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output
