"""Audit findings of issue 4, through the CLI: bad API URLs, a server that is not Heroku, and
the exact wording of a partial-failure report."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import Cli, stack_doc, unique_name, write_stack


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
        f"error: GET apps/{name}: HTTP 404 without Heroku's error body: "
        f"is {not_heroku} the Heroku Platform API? (check --api-url)"
    )
    assert "new app" not in result.stdout


def test_unreachable_host_names_it(cli: Cli, tmp_path: Path):
    path = write_stack(tmp_path, stack_doc(unique_name()))
    result = cli("plan", str(path), "--api-url", "http://user:pw@127.0.0.1:1", api=False)
    assert result.exit_code == 1
    assert "no answer from 127.0.0.1:1 (" in result.stderr
    assert "pw" not in result.stderr and "Traceback" not in result.output


def test_failure_report_names_the_app_and_lists_each_change_once(cli: Cli, tmp_path: Path):
    name = unique_name()
    doc = stack_doc(name)
    doc["config"]["APP_NAME"] = name  # a plain value that is also part of every request path
    path = write_stack(tmp_path, doc)
    assert cli("apply", str(path), "--auto-approve").exit_code == 0
    doc["addons"]["logging"]["plan"] = "papertrail:no-such-plan"  # Heroku answers 422
    doc["config"]["PYTHONUNBUFFERED"] = "0"
    write_stack(tmp_path, doc)

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
