"""Run the emulator in-process: uvicorn in a background thread on a loopback port."""

from __future__ import annotations

import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import uvicorn

from herokustack.emulator.models import Backend, Json
from herokustack.emulator.responses import Settings, accepted_keys, build_app
from herokustack.errors import HerokustackError

DEFAULT_API_KEY = "herokustack-local"


class EmulatorServer:
    """A local Heroku Platform API + Postgres data API, served over real HTTP.

    `port=0` picks a free port; `url` is known once `start()` returns.
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
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        if latency_ms < 0 or provision_delay < 0:
            raise ValueError("latency_ms and provision_delay must not be negative")
        self.host = host
        self.port = port
        try:
            self.backend = Backend(data_path, provision_delay=provision_delay, seed=seed)
        except sqlite3.Error as exc:
            raise HerokustackError(
                f"{data_path}: not a usable emulator state file ({exc})"
            ) from None
        settings = Settings(accepted_keys(list(api_keys)), latency_ms, fail_rate, seed)
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
            self.asgi, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=30
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
