"""The live add-on catalog fetcher over real HTTP, against a tiny local server.

The emulator tests (tests/test_cost_live.py) cover the happy path end to end; this server covers
what the emulator does not do on purpose: paging, server errors, junk answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from herokustack.client import HerokuClient
from herokustack.cost import PriceBook, catalog_fetch, cost_of_state
from herokustack.errors import HerokustackError

PG = [
    {"name": "heroku-postgresql:essential-0", "price": {"cents": 700, "unit": "month"}},
    {"name": "heroku-postgresql:standard-0", "price": {"cents": 5100, "unit": "month"}},
]


class Catalog(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        self.requests.append((self.path, dict(self.headers)))
        if self.path == "/addon-services/heroku-postgresql/plans":
            # Two pages, the way Heroku pages lists (206 + Next-Range).
            if self.headers.get("Range") == "name ]heroku-postgresql:essential-0..":
                self.answer(200, PG[1:])
            else:
                self.answer(206, PG[:1], {"Next-Range": "name ]heroku-postgresql:essential-0.."})
        elif self.path == "/addon-services/broken/plans":
            self.answer(500, {"id": "internal_error", "message": "Internal server error."})
        elif self.path == "/addon-services/junk/plans":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>")
        else:
            self.answer(404, {"id": "not_found", "message": "Couldn't find that add-on service."})

    def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Catalog)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def catalog(url: str, key: str = "secret-token") -> Any:
    return catalog_fetch(HerokuClient(url, key, retries=0))


def test_fetch_follows_pages_and_sends_the_key(server_url: str) -> None:
    Catalog.requests.clear()
    plans = catalog(server_url + "/")("heroku-postgresql")
    assert [p["name"] for p in plans] == [p["name"] for p in PG]
    assert len(Catalog.requests) == 2
    assert all("Authorization" in headers for _, headers in Catalog.requests)


def test_live_prices_win_and_unknown_service_falls_back(server_url: str) -> None:
    Catalog.requests.clear()
    prices = PriceBook.builtin().with_catalog(catalog(server_url))
    addons = {"db": "heroku-postgresql:standard-0", "cache": "heroku-redis:mini"}
    cost = cost_of_state("app", [], addons, prices)
    assert cost.cents == 5100 + 300  # live standard-0, built-in mini (redis unknown here)
    paths = sorted(path for path, _ in Catalog.requests)
    assert paths == [
        "/addon-services/heroku-postgresql/plans",
        "/addon-services/heroku-postgresql/plans",  # second page
        "/addon-services/heroku-redis/plans",
    ]


@pytest.mark.parametrize(
    ("service", "message"),
    [("broken", "HTTP 500: Internal server error."), ("junk", "answer is not JSON")],
)
def test_catalog_failures_are_one_line_without_the_key(
    server_url: str, service: str, message: str
) -> None:
    with pytest.raises(HerokustackError) as info:
        catalog(server_url)(service)
    text = str(info.value)
    assert message in text and f"addon-services/{service}/plans" in text
    assert "secret-token" not in text and "\n" not in text


def test_unreachable_catalog_is_one_line() -> None:
    # A port that was just free: nothing listens there.
    probe = ThreadingHTTPServer(("127.0.0.1", 0), Catalog)
    port = probe.server_address[1]
    probe.server_close()
    with pytest.raises(HerokustackError, match=r"addon-services/heroku-redis/plans: no answer"):
        catalog(f"http://127.0.0.1:{port}")("heroku-redis")
