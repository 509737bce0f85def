"""Audit of issue 4, through the CLI against the emulator: bad API URLs, a server that is not
Heroku, the partial-failure report, the order of writes and parallel add-on creation."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import (
    HEROKU_CLI,
    ROOT,
    SECRET,
    Cli,
    Heroku,
    converge,
    refusing_plan,
    stack_doc,
    unique_name,
    write_stack,
)

from herokustack.emulator import EmulatorServer


@pytest.mark.parametrize(
    ("option", "env", "message"),
    [
        ("http://[::1", {}, "error: --api-url: not an http(s) URL: 'http://[::1'"),
        ("http://127.0.0.1:99999", {}, "error: --api-url: not an http(s) URL: 'http://127.0.0.1:99999'"),
        (None, {"HEROKU_API_URL": "https://h:port"}, "error: HEROKU_API_URL: not an http(s) URL: 'https://h:port'"),
    ],
)  # fmt: skip
def test_bad_api_url_is_one_clear_line(
    cli: Cli, tmp_path: Path, option: str | None, env: dict[str, str], message: str
):
    path = write_stack(tmp_path, stack_doc(unique_name()))
    args = ["plan", str(path)] + (["--api-url", option] if option else [])
    result = cli(*args, env=env, api=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == message


@pytest.mark.parametrize("key", ["key-\U0001f600-4711", "key\x01-4711", "key 4711"])
def test_an_unusable_api_key_is_one_clear_line(cli: Cli, tmp_path: Path, key: str):
    path = write_stack(tmp_path, stack_doc(unique_name()))
    result = cli("plan", str(path), env={"HEROKU_API_KEY": key})
    assert result.exit_code == 1
    assert result.stderr == (
        "error: HEROKU_API_KEY is not an API key: "
        "it holds spaces, control or non-ASCII characters\n"
    )
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.heroku.com\n  login me@example.com\n  password key-\u00e9-4711\n")
    netrc.chmod(0o600)
    from_netrc = cli("plan", str(path), env={"HEROKU_API_KEY": None, "NETRC": str(netrc)})
    assert from_netrc.exit_code == 1
    assert f"the api.heroku.com password in {netrc} is not an API key" in from_netrc.stderr
    assert "4711" not in from_netrc.output


class _NotHeroku(http.server.BaseHTTPRequestHandler):
    """Any web server that answers 404 with an empty body (a wrong --api-url)."""

    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def not_heroku() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotHeroku)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_a_404_from_a_server_that_is_not_heroku_is_not_a_missing_app(
    cli: Cli, tmp_path: Path, not_heroku: str
):
    name = unique_name()
    path = write_stack(tmp_path, stack_doc(name))
    result = cli("plan", str(path), "--api-url", f"http://{not_heroku}", api=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: GET http://{not_heroku}/apps/{name}: HTTP 404 (not a Heroku error answer): "
        f"is http://{not_heroku} the Heroku Platform API? (check --api-url)"
    )
    assert "new app" not in result.stdout


def test_unreachable_host_names_it(cli: Cli, tmp_path: Path):
    path = write_stack(tmp_path, stack_doc(unique_name()))
    result = cli("plan", str(path), "--api-url", "http://user:pw@127.0.0.1:1", api=False)
    assert result.exit_code == 1
    assert "no answer from 127.0.0.1:1 (" in result.stderr
    assert "pw" not in result.stderr and "Traceback" not in result.output


def test_failure_report_names_the_app_and_lists_each_change_once(
    cli: Cli, emu: Any, tmp_path: Path
):
    name = unique_name()
    doc = stack_doc(name)
    doc["config"]["APP_NAME"] = name  # a plain value that is also part of every request path
    path = write_stack(tmp_path, doc)
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    doc["addons"]["logging"]["plan"] = "papertrail:fixa"
    doc["config"]["PYTHONUNBUFFERED"] = "0"
    write_stack(tmp_path, doc)

    with refusing_plan(emu, name, "papertrail:fixa"):
        applied = cli("apply", str(path), "--auto-approve")
    assert applied.exit_code == 1
    out = applied.stdout
    assert f"{name}: FAILED at add-ons: PATCH apps/{name}/addons/" in out
    report = out[out.index(f"{name}: FAILED") :]
    failed = report[report.index("  failed:") : report.index("  not done:")]
    not_done = report[report.index("  not done:") :]
    assert "add-on logging (PAPERTRAIL)" in failed
    assert "add-on logging" not in not_done  # failed, so not also "not done"
    assert 'config PYTHONUNBUFFERED: "1" → "0"' in not_done


@contextmanager
def _record_writes(emu: Any, app: str) -> Iterator[list[tuple[str, str, Any, float]]]:
    """The writes the emulator receives for `app`: (method, path, body, arrival time)."""
    writes: list[tuple[str, str, Any, float]] = []

    def observe(method: str, path: str, body: Any) -> None:
        if method != "GET" and app in path:
            writes.append((method, path, body, time.monotonic()))

    with emu.observing(observe):
        yield writes


def test_maintenance_on_is_the_first_write_and_off_the_last(cli: Cli, emu: Any, tmp_path: Path):
    name = unique_name()
    doc = stack_doc(name)
    path = write_stack(tmp_path, doc)
    converge(cli, emu, path)
    with _record_writes(emu, name) as writes:
        doc["app"]["maintenance"] = True
        doc["formation"]["web"]["quantity"] = 3
        doc["config"]["PYTHONUNBUFFERED"] = "0"
        doc["addons"]["redis"]["plan"] = "heroku-redis:premium-0"
        write_stack(tmp_path, doc)
        assert cli("apply", str(path), "--auto-approve").exit_code == 0
        on = [(m, p, b) for m, p, b, _ in writes]
        assert on[0] == ("PATCH", f"/apps/{name}", {"maintenance": True}), on
        assert len(on) == 4  # then add-on, config vars, formation: one request each

        writes.clear()
        doc["app"]["maintenance"] = False
        doc["formation"]["web"]["quantity"] = 2
        doc["config"]["PYTHONUNBUFFERED"] = "1"
        write_stack(tmp_path, doc)
        assert cli("apply", str(path), "--auto-approve").exit_code == 0
        off = [(m, p, b) for m, p, b, _ in writes]
        assert off[-1] == ("PATCH", f"/apps/{name}", {"maintenance": False}), off
        assert len(off) == 3


LATENCY_MS = 300


@pytest.fixture(scope="module")
def slow_emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(latency_ms=LATENCY_MS) as server:
        yield server


def test_addons_are_created_in_parallel(slow_emu: EmulatorServer, tmp_path: Path):
    name = unique_name()
    path = write_stack(tmp_path, stack_doc(name))
    with _record_writes(slow_emu, name) as writes:
        assert Cli(slow_emu)("apply", str(path), "--auto-approve").exit_code == 0
    posts = [t for m, p, _, t in writes if m == "POST" and p == f"/apps/{name}/addons"]
    assert len(posts) == 3
    # One after the other, they would arrive at least one latency apart.
    assert max(posts) - min(posts) < 0.8 * LATENCY_MS / 1000


@pytest.mark.cli
def test_make_demo_script_converges_and_the_official_cli_reads_it(tmp_path: Path):
    """scripts/demo.sh (what `make demo` runs after installing), in a copy of the project."""
    if not (Path(sys.prefix) / "bin" / "herokustack").exists():
        pytest.skip("needs herokustack installed in a virtual environment (make install)")
    for part in ("stacks", "scripts"):
        shutil.copytree(ROOT / part, tmp_path / part)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    if HEROKU_CLI.exists():
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "heroku-cli").symlink_to(HEROKU_CLI.parents[2])
    mine = tmp_path / ".herokustack" / "local.sqlite"  # the user's own --local state
    mine.parent.mkdir()
    mine.write_bytes(b"the user's own state")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEROKU", "DJANGO"))}
    proc = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "demo.sh")],
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Plan: 28 to add, 1 to change, 0 to destroy" in out
    assert "acme-production: applied 15 changes" in out
    assert "No changes: live state matches the stack files." in out
    assert "exit code: 0" in out
    if HEROKU_CLI.exists():
        dynos = re.search(r"^Dynos: +(.*)$", out, re.MULTILINE)
        assert dynos and sorted(dynos[1].split(", ")) == ["web: 2", "worker: 2"], out
        assert "DATABASE_URL: daily at 2:00 UTC" in out
        assert re.search(r"^log-min-duration-statement: +500$", out, re.MULTILINE), out
    assert "dev-only-secret" not in proc.stdout + proc.stderr  # the demo's secret value
    assert mine.read_bytes() == b"the user's own state"  # neither deleted nor changed
    assert sorted(p.name for p in mine.parent.iterdir()) == ["local.sqlite"]
    assert "Traceback" not in proc.stderr


def test_ctrl_c_stops_each_app_before_its_next_step_with_a_report(tmp_path: Path):
    name = unique_name()
    path = write_stack(tmp_path, stack_doc(name))
    with EmulatorServer(latency_ms=250) as emu:
        env = {**os.environ, "HEROKU_API_KEY": emu.api_key, "HEROKU_API_URL": emu.url}
        env.update({"APP_SECRET": SECRET, "NO_COLOR": "1"})
        proc = subprocess.Popen(
            [sys.executable, "-m", "herokustack.cli", "apply", str(path), "--auto-approve"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Python only turns SIGINT into KeyboardInterrupt when it was not ignored at start.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.strip() == f"{name}: add-ons":
                break
        proc.send_signal(signal.SIGINT)  # while the add-ons are being created
        out, err = proc.communicate(timeout=120)
        config = Heroku(emu).config(name)
    assert proc.returncode == 1, out + err
    assert f"{name}: FAILED at config vars: interrupted (Ctrl-C) before this step" in out
    done = out[out.index("  done:") : out.index("  failed:")]
    not_done = out[out.index("  not done:") :]
    assert "add-on database" in done and "add-on logging" in done
    assert "config SECRET_KEY = (sensitive)" in not_done and "backup database" in not_done
    assert "SECRET_KEY" not in config
    assert SECRET not in out + err and "Traceback" not in err
