"""A small HTTP proxy in front of the emulator that spoils chosen answers, for what the emulator
does not do on purpose: a body cut short, a page that is not JSON, a long Retry-After.

`FaultProxy(emu.url, spoil)` forwards every request; `spoil(method, path)` may return a `Spoil`
for that one request (e.g. `once(...)`, which spoils only the first match).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import requests

FORWARDED_HEADERS = ("Authorization", "Accept", "Content-Type", "Range", "User-Agent")
ANSWER_HEADERS = ("Content-Type", "Next-Range", "Retry-After", "Request-Id")


@dataclass(frozen=True)
class Spoil:
    """How to spoil one answer: replace it (`status`), or forward and replace or cut its body."""

    status: int | None = None  # answer this without forwarding; None: forward the request
    body: bytes | None = None  # the body to send instead of the emulator's
    headers: dict[str, str] = field(default_factory=dict)
    cut: bool = False  # send half the body (Content-Length of the whole), then hang up


Spoiler = Callable[[str, str], Spoil | None]


def once(method: str, path: str, spoil: Spoil) -> Spoiler:
    """Spoil the first request of `method` to exactly `path`; forward every other."""
    lock, done = threading.Lock(), []

    def spoiler(m: str, p: str) -> Spoil | None:
        with lock:
            if done or (m, p) != (method, path):
                return None
            done.append(True)
            return spoil

    return spoiler


def always(method: str, path: str, spoil: Spoil) -> Spoiler:
    return lambda m, p: spoil if (m, p) == (method, path) else None


class FaultProxy:
    def __init__(self, target: str, spoiler: Spoiler) -> None:
        self.target = target.rstrip("/")
        self.spoiler = spoiler
        self.upstream = requests.Session()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.upstream.close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Heroku: a cut body is not an EOF

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                spoil = proxy.spoiler(self.command, self.path)
                if spoil is not None and spoil.status is not None:
                    return self.answer(spoil.status, spoil.headers, spoil.body or b"", False)
                headers = {k: v for k in FORWARDED_HEADERS if (v := self.headers.get(k))}
                resp = proxy.upstream.request(
                    self.command, proxy.target + self.path, data=data, headers=headers, timeout=10
                )
                kept = {k: v for k in ANSWER_HEADERS if (v := resp.headers.get(k))}
                body = resp.content
                if spoil is not None:
                    kept.update(spoil.headers)
                    body = body if spoil.body is None else spoil.body
                return self.answer(resp.status_code, kept, body, spoil is not None and spoil.cut)

            def answer(self, status: int, headers: dict[str, str], body: bytes, cut: bool) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if cut else body)
                if cut:
                    self.close_connection = True

            do_GET = do_POST = do_PATCH = do_DELETE = handle_one

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
