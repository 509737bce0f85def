"""Run the emulator in-process: uvicorn in a background thread on a loopback port."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from herokustack.emulator.family import Family
from herokustack.emulator.models import Backend, Json
from herokustack.emulator.responses import Settings, accepted_keys, build_app
from herokustack.errors import HerokustackError

DEFAULT_API_KEY = "herokustack-local"
HEADER_TIMEOUT = 10.0  # seconds a connection may take to send a request's headers
KEEP_ALIVE_TIMEOUT = 30  # seconds an idle connection stays open between requests
MAX_CONNECTIONS = 256  # open connections; more close the longest-idle one (see GuardedH11)
# asyncio accepts up to `backlog` connections in a row before any of them can be closed: a
# small backlog keeps a flood from using up file descriptors between two evictions.
BACKLOG = 128
_BUSY_BODY = json.dumps(
    {"id": "service_unavailable", "message": "Too many open connections. Please try again."}
).encode()
BUSY_ANSWER = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    + f"Content-Length: {len(_BUSY_BODY)}\r\n\r\n".encode()
    + _BUSY_BODY
)


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a header-read timeout and a cap on open connections.

    uvicorn alone waits for a request's headers forever, and keeps every connection open: a
    few hundred clients that connect and send nothing (or half a request) use up its file
    descriptors, after which it accepts no one. Here:
    - a connection must send a whole request head within `header_timeout` seconds of
      connecting, or of its first byte after an idle keep-alive wait (which uvicorn's
      `timeout_keep_alive` bounds), else it is closed;
    - past `max_connections` open connections, the one idle longest (waiting for a request,
      never one being served) is closed; if every one is being served, the newcomer gets
      a 503 and is closed.
    So a flood of idle or slow connections delays no one for long. `limit_concurrency` does
    not help: it counts idle connections too and answers 503 to everyone once they pile up.
    Values are set per server by `guarded_protocol`.
    """

    header_timeout = HEADER_TIMEOUT
    max_connections = MAX_CONNECTIONS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._idle_since = self.loop.time()
        self._arm_header_timer()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self._waiting():
            self._arm_header_timer()  # the first byte of a request after a keep-alive wait
        super().data_received(data)
        if not self._waiting():
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = self.loop.time()
        if self._waiting():
            self._cancel_header_timer()  # uvicorn's keep-alive timeout runs until the next byte

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _waiting(self) -> bool:
        """No request in progress: h11 has not seen a whole request head since the last one."""
        return self.conn.their_state is h11.IDLE

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self._waiting():
            self._close()

    def _close(self) -> None:
        self.connections.discard(self)
        self.transport.close()

    def _make_room(self) -> None:
        others = [c for c in self.connections if isinstance(c, GuardedH11) and c is not self]
        idle = [c for c in others if c._waiting()]
        if idle:
            min(idle, key=lambda c: c._idle_since)._close()
        else:
            self.transport.write(BUSY_ANSWER)
            self._close()


def guarded_protocol(header_timeout: float, max_connections: int) -> tuple[type[GuardedH11], int]:
    """`GuardedH11` with these limits, and the listen backlog to use with it.

    Open connections plus two backlogs of accepted ones (about the most a flood holds
    between evictions) stay within the file descriptors the process may open.
    """
    backlog, fds = BACKLOG, _fd_limit()
    if fds is not None:
        max_connections = min(max_connections, max(8, fds // 4))
        backlog = min(backlog, max(8, fds // 4))
    limits = {"header_timeout": header_timeout, "max_connections": max_connections}
    return type("GuardedH11", (GuardedH11,), limits), backlog


def _fd_limit() -> int | None:
    try:
        import resource
    except ImportError:  # Windows: no such limit to respect
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


class EmulatorServer:
    """A local Heroku Platform API + Postgres data API, served over real HTTP.

    `port=0` picks a free port; `url` is known once `start()` returns. `families` adds
    resource families (tables and routes) to this emulator only (`herokustack.emulator.Family`).
    """

    def __init__(
        self,
        data_path: str | None = None,
        latency_ms: float = 0,
        fail_rate: float = 0.0,
        provision_delay: float = 0.0,
        seed: int | None = None,
        api_keys: tuple[str, ...] | list[str] = (DEFAULT_API_KEY,),
        host: str = "127.0.0.1",
        port: int = 0,
        header_timeout: float = HEADER_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        families: Sequence[Family] = (),
        rate_limit: int | None = None,
        rate_per_minute: float | None = None,
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        if latency_ms < 0 or provision_delay < 0:
            raise ValueError("latency_ms and provision_delay must not be negative")
        if header_timeout <= 0 or max_connections < 1:
            raise ValueError("header_timeout and max_connections must be positive")
        if (rate_limit is not None and rate_limit < 1) or (rate_per_minute or 0) < 0:
            raise ValueError("rate_limit must be positive and rate_per_minute not negative")
        self.host = host
        self.port = port
        self.protocol, self.backlog = guarded_protocol(header_timeout, max_connections)
        try:
            self.backend = Backend(
                data_path, provision_delay=provision_delay, seed=seed, families=families
            )
        except sqlite3.Error as exc:
            raise HerokustackError(
                f"{data_path}: not a usable emulator state file ({exc})"
            ) from None
        settings = Settings(
            accepted_keys(list(api_keys)), latency_ms, fail_rate, seed, rate_limit, rate_per_minute
        )
        self.asgi, self.api = build_app(self.backend, settings)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def api_key(self) -> str:
        return self.api.settings.api_keys[0]

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            return self
        if self._stopped:
            raise RuntimeError("a stopped emulator cannot restart: create a new EmulatorServer")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it, Nagle's algorithm holds each answer's
        # body behind its headers until the client's delayed ACK, about 40 ms per request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.asgi,
            http=self.protocol,
            backlog=self.backlog,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        )
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="herokustack-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator could not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        if not self._stopped:
            self._stopped = True
            self.backend.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def deploy(self, app: str, process_types: dict[str, str]) -> Json:
        """Release a slug declaring these process types (what a `git push` would do)."""
        return self.backend.deploy(app, process_types)

    def request_count(self, app: str | None = None) -> int:
        counters = self.api.counters
        with counters.lock:
            return counters.total if app is None else counters.per_app[app]

    def reset_counts(self) -> None:
        self.api.counters.reset()

    def throttled_count(self) -> int:
        """Requests answered 429 because the enforced rate limit (`rate_limit`) was spent."""
        with self.api.rate.lock:
            return self.api.rate.throttled

    def set_rate_remaining(self, remaining: float) -> None:
        """Set what the rate-limit budget holds now (a test hook: another tool spent it)."""
        with self.api.rate.lock:
            self.api.rate.tokens = float(remaining)
            self.api.rate.stamp = time.monotonic()

    @contextmanager
    def observing(self, hook: Callable[[str, str, Any], None]) -> Iterator[None]:
        """Call hook(method, path, body) on each authenticated request during the block.

        A test hook: it may record requests, or raise models.ApiError to refuse one.
        """
        self.api.observers.append(hook)
        try:
            yield
        finally:
            self.api.observers.remove(hook)

    def env(self) -> dict[str, str]:
        """Environment variables that point heroku3 and the official CLI here."""
        return {
            "HEROKU_API_URL": self.url,
            "HEROKU_HOST": self.url,
            "HEROKU_DATA_HOST": self.host,
            "HEROKU_API_KEY": self.api_key,
        }


KEYS_ENV = "HEROKUSTACK_EMULATOR_API_KEYS"


def api_keys_from(options: list[str] | None, environ: dict[str, str]) -> tuple[str, ...]:
    """--api-key values, else the comma-separated env var, else the demo key."""
    keys = [k.strip() for k in options or [] if k.strip()]
    if not keys:
        keys = [k.strip() for k in environ.get(KEYS_ENV, "").split(",") if k.strip()]
    return tuple(keys) or (DEFAULT_API_KEY,)


def banner(emu: EmulatorServer, data_path: str | None) -> list[str]:
    """What `herokustack emulator` prints: the URL and the variables to export (no secret)."""
    key = emu.api_key if emu.api_key == DEFAULT_API_KEY else "<one of your --api-key values>"
    env = {**emu.env(), "HEROKU_API_KEY": key}
    where = data_path or "in memory; use --data FILE to keep it"
    lines = [f"Heroku API emulator listening on {emu.url} (state: {where})", ""]
    lines += ["Point heroku3 and the official heroku CLI at it:"]
    lines += [f"  export {name}={value}" for name, value in env.items()]
    return [*lines, "", "Press Ctrl-C to stop."]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(emu: EmulatorServer, echo: Callable[[str], None]) -> None:
    """Start, print the banner, and serve until Ctrl-C; then stop cleanly."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    # A signal may come as soon as the banner shows (scripts wait for it): same clean stop.
    try:
        try:
            emu.start()
        except OSError as exc:
            message = f"cannot listen on {emu.host}:{emu.port}: {exc.strerror}"
            raise HerokustackError(message) from None
        for line in banner(emu, emu.backend.data_path):
            echo(line)
        while emu.running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        echo("Stopping the emulator.")
    finally:
        emu.stop()
