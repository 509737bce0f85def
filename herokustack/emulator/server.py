"""Run the emulator in-process: uvicorn in a background thread on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from herokustack.emulator.models import Backend, Json
from herokustack.emulator.responses import Settings, accepted_keys, build_app

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
        self.backend = Backend(data_path, provision_delay=provision_delay, seed=seed)
        settings = Settings(accepted_keys(list(api_keys)), latency_ms, fail_rate, seed)
        self.asgi, self.api = build_app(self.backend, settings)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def api_key(self) -> str:
        return self.api.settings.api_keys[0]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
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

    def env(self) -> dict[str, str]:
        """Environment variables that point heroku3 and the official CLI here."""
        return {
            "HEROKU_API_URL": self.url,
            "HEROKU_HOST": self.url,
            "HEROKU_DATA_HOST": self.host,
            "HEROKU_API_KEY": self.api_key,
        }
