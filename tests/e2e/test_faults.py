"""Faults: an emulator answering 20% of requests with 503 or 429, with latency. Apply either
converges through retries or stops with an exact per-app report, and converges on re-run; no
secret ever shows up in any output."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from e2e_helpers import RELEASED, SECRET, Cli, stack_doc, unique_name, write_stack

from herokustack.client import ApiError, HerokuClient
from herokustack.emulator import EmulatorServer


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(fail_rate=0.2, latency_ms=20, provision_delay=0.2, seed=11) as server:
        yield server


def run_until_ok(cli: Cli, *args: str, attempts: int = 6) -> list[Any]:
    results = []
    for _ in range(attempts):
        result = cli(*args)
        results.append(result)
        if result.exit_code in (0, 2):
            return results
    raise AssertionError(f"{args} did not succeed in {attempts} runs:\n{results[-1].output}")


def test_apply_converges_under_faults(cli: Cli, emu: EmulatorServer, tmp_path: Path):
    names = [unique_name("f") for _ in range(3)]
    paths = [str(write_stack(tmp_path, stack_doc(n))) for n in names]

    runs = run_until_ok(cli, "apply", *paths, "--auto-approve")
    for name in names:
        emu.deploy(name, RELEASED)
    runs += run_until_ok(cli, "apply", *paths, "--auto-approve")
    for failed in (r for r in runs if r.exit_code != 0):
        # A run that stops says exactly, per app, what was done and what was not.
        assert failed.exit_code == 1
        assert "FAILED at" in failed.stdout and "  not done:" in failed.stdout
        assert "run apply again" in failed.stdout
    final = run_until_ok(cli, "plan", *paths, "--detailed-exitcode")[-1]
    assert final.exit_code == 0, final.output
    assert "No changes" in final.stdout
    assert emu.request_count() > 0
    for output in cli.outputs:
        assert SECRET not in output
        assert "Traceback" not in output


class _FlakyCreate(http.server.BaseHTTPRequestHandler):
    """POST /apps creates the app but answers 503, as when a proxy times out after the work."""

    posts: ClassVar[int] = 0
    apps: ClassVar[dict[str, dict[str, Any]]] = {}

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        type(self).posts += 1
        self.apps[body["name"]] = {
            "id": "0e9a5a32-1f9c-4f51-8a55-2c1a4e0e5b11",
            "name": body["name"],
            "region": {"name": body["region"]},
            "stack": {"name": body["stack"]},
            "build_stack": {"name": body["stack"]},
            "maintenance": False,
        }
        self._send(503, {"id": "unavailable", "message": "try again"})

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        if name in self.apps:
            self._send(200, self.apps[name])
        else:
            self._send(404, {"id": "not_found", "message": "Couldn't find that app."})

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_ambiguous_post_is_not_repeated_when_it_happened():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FlakyCreate)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        client = HerokuClient(url, "secret-api-key-0000", retries=1, backoff=0)
        app = client.create_app("flaky-app", "eu", "heroku-24")
        assert app.name == "flaky-app" and app.region == "eu"
        assert _FlakyCreate.posts == 1  # re-read found it: no second POST
        with pytest.raises(ApiError) as caught:
            client.get("apps/other")
        assert caught.value.status == 404
        assert "secret-api-key-0000" not in str(caught.value)
    finally:
        server.shutdown()
