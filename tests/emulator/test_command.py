"""`herokustack emulator`: prints where it listens and what to export, serves, stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from herokustack.emulator import EmulatorServer
from herokustack.emulator.server import serve


@contextmanager
def running(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, list[str]]]:
    """Start the command, yield its URL and banner lines, then Ctrl-C it and check the exit."""
    argv = [sys.executable, "-m", "herokustack.cli", "emulator", "--port", "0", *args]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if "Ctrl-C" in line:
                break
        match = re.search(r"listening on (http://\S+)", "\n".join(lines))
        assert match, "\n".join(lines)
        yield match.group(1), lines
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    assert "Stopping" in out


def test_prints_env_and_serves_with_the_demo_key() -> None:
    with running() as (url, lines):
        exports = dict(
            line.strip().removeprefix("export ").split("=", 1)
            for line in lines
            if "export " in line
        )
        assert exports == {
            "HEROKU_API_URL": url,
            "HEROKU_HOST": url,
            "HEROKU_DATA_HOST": "127.0.0.1",
            "HEROKU_API_KEY": "herokustack-local",
        }
        response = httpx.get(
            f"{url}/account", headers={"Authorization": "Bearer herokustack-local"}
        )
        assert response.status_code == 200


def test_keys_from_option_or_env_are_never_printed() -> None:
    env = {"HEROKUSTACK_EMULATOR_API_KEYS": "env-key-1, env-key-2"}
    with running(env=env) as (url, lines):
        assert not any("env-key" in line for line in lines)
        for key, status in [("env-key-2", 200), ("herokustack-local", 401)]:
            auth = {"Authorization": f"Bearer {key}"}
            assert httpx.get(f"{url}/account", headers=auth).status_code == status
    with running("--api-key", "option-key", env=env) as (url, lines):
        assert not any("option-key" in line for line in lines)
        for key, status in [("option-key", 200), ("env-key-1", 401)]:
            auth = {"Authorization": f"Bearer {key}"}
            assert httpx.get(f"{url}/account", headers=auth).status_code == status


def test_data_file_survives_a_restart_of_the_command(tmp_path: Path) -> None:
    data = str(tmp_path / "emu.sqlite")
    auth = {"Authorization": "Bearer herokustack-local"}
    with running("--data", data) as (url, lines):
        assert any(data in line for line in lines)
        httpx.post(f"{url}/apps", json={"name": "kept-app"}, headers=auth).raise_for_status()
    with running("--data", data) as (url, _):
        assert httpx.get(f"{url}/apps/kept-app", headers=auth).status_code == 200


def test_sigterm_stops_it_cleanly_too() -> None:
    argv = [sys.executable, "-m", "herokustack.cli", "emulator", "--port", "0"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Ctrl-C" in line:
            break
    proc.terminate()
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0 and "Stopping" in out and "Traceback" not in err


def run_once(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "herokustack.cli", "emulator", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_busy_port_and_bad_state_file_are_one_line_errors(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        done = run_once("--port", str(busy.getsockname()[1]))
    assert done.returncode == 1
    assert "cannot listen on 127.0.0.1" in done.stderr and "Traceback" not in done.stderr
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not a database\n" * 100)
    done = run_once("--port", "0", "--data", str(junk))
    assert done.returncode == 1
    assert "junk.sqlite" in done.stderr and "Traceback" not in done.stderr
    done = run_once("--fail-rate", "2")
    assert done.returncode == 1
    assert done.stderr == (
        "error: invalid value for '--fail-rate': Input should be less than or equal to 1 "
        "(see herokustack emulator --help)\n"
    )


class TooEarly(Exception):
    """Raised by the test's own SIGTERM handler if the emulator had not installed its own."""


def _too_early(signum: int, frame: object) -> None:
    raise TooEarly


def test_a_signal_while_the_banner_prints_still_stops_cleanly() -> None:
    lines: list[str] = []

    def echo(line: str) -> None:
        lines.append(line)
        if len(lines) == 1:  # a script kills it as soon as the URL shows
            os.kill(os.getpid(), signal.SIGTERM)

    emu = EmulatorServer()
    previous = signal.signal(signal.SIGTERM, _too_early)
    try:
        serve(emu, echo)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert lines[-1] == "Stopping the emulator." and not emu.running
