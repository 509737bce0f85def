"""The Heroku client: reads live state of apps (the "facts") and makes the writes apply needs.

Transport is heroku3 over a `requests.Session` that has timeouts and urllib3 retries for
idempotent methods only (GET/PUT/PATCH/DELETE). A POST that fails ambiguously (a timeout or a
5xx after it was sent) is never repeated blindly: the caller re-reads state and decides.

Reading one app costs at most 4 requests (app, formation, config vars, add-ons) plus one per
Postgres database (its backup schedules); a missing app costs one request. Attachment names
are derived from each add-on's config vars (Heroku names them `<ATTACHMENT>_<SUFFIX>`); only
for services whose suffixes are unknown is `GET /apps/{app}/addon-attachments` asked too.
"""

from __future__ import annotations

import json
import netrc
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
import requests.auth
from heroku3.api import Heroku, RateLimitExceeded
from pydantic import BaseModel, ConfigDict, Field
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from herokustack.errors import HerokustackError
from herokustack.stackfile import ADDON_CONFIG_VARS

DEFAULT_API_URL = "https://api.heroku.com"
DEFAULT_DATA_URL = "https://api.data.heroku.com"
NETRC_HOST = "api.heroku.com"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
POSTGRES = "heroku-postgresql"
POST_ATTEMPTS = 5
T = TypeVar("T")


class AuthError(HerokustackError):
    """No API key, or Heroku rejected it."""


class ApiError(HerokustackError):
    """Heroku answered with an error status (or not at all); the message never holds a secret."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        ambiguous: bool = False,
        error_id: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.ambiguous = ambiguous  # the write may or may not have happened
        self.error_id = error_id  # Heroku's error "id", e.g. "not_found"

    @property
    def not_found(self) -> bool:
        return self.status == 404


# --- auth and URLs -------------------------------------------------------------------------


def api_key(environ: Mapping[str, str] = os.environ, netrc_path: Path | None = None) -> str:
    """HEROKU_API_KEY, else the password of the api.heroku.com entry of ~/.netrc."""
    key = environ.get("HEROKU_API_KEY", "").strip()
    if key:
        return _checked_key(key, "HEROKU_API_KEY")
    path = netrc_path or Path(environ.get("NETRC", Path.home() / ".netrc"))
    try:
        entry = netrc.netrc(os.fspath(path)).authenticators(NETRC_HOST)
    except FileNotFoundError:
        entry = None
    except (netrc.NetrcParseError, OSError) as exc:
        raise AuthError(f"cannot read {path}: {getattr(exc, 'msg', exc)}") from None
    if entry and entry[2]:
        return _checked_key(entry[2], f"the {NETRC_HOST} password in {path}")
    raise AuthError(
        "no Heroku API key: set HEROKU_API_KEY, or log in with `heroku login` "
        f"(which writes the {NETRC_HOST} entry of ~/.netrc); or use --local"
    )


def _checked_key(key: str, source: str) -> str:
    # It goes into an HTTP header: anything but printable ASCII would fail deep in http.client.
    if not (key.isascii() and key.isprintable()) or " " in key:
        raise AuthError(
            f"{source} is not an API key: it holds spaces, control or non-ASCII characters"
        )
    return key


def api_url(option: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """--api-url, else HEROKU_API_URL, else HEROKU_HOST (as the official CLI reads it)."""
    source, url = "--api-url", option or ""
    if not url and environ.get("HEROKU_API_URL"):
        source, url = "HEROKU_API_URL", environ["HEROKU_API_URL"]
    if not url and environ.get("HEROKU_HOST"):
        host = environ["HEROKU_HOST"]
        source, url = "HEROKU_HOST", host if host.startswith("http") else f"https://api.{host}"
    url = (url or DEFAULT_API_URL).rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number 0-65535
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise HerokustackError(f"{source}: not an http(s) URL: {url!r}")
    return url


def data_url(platform_url: str, environ: Mapping[str, str] = os.environ) -> str:
    """Where the Postgres data API lives (the official CLI's HEROKU_DATA_HOST rules).

    Against Heroku it is api.data.heroku.com; against any other API URL (the emulator) the same
    server answers both, as when the CLI is given HEROKU_DATA_HOST with the port of HEROKU_HOST.
    """
    parts = urlsplit(platform_url)
    host = environ.get("HEROKU_DATA_HOST") or environ.get("HEROKU_POSTGRESQL_HOST")
    if host:
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}"
    if platform_url == DEFAULT_API_URL:
        return DEFAULT_DATA_URL
    return platform_url


# --- live state ------------------------------------------------------------------------------


class Live(BaseModel):
    model_config = ConfigDict(frozen=True)


class LiveAppInfo(Live):
    name: str
    id: str
    region: str
    stack: str
    build_stack: str
    maintenance: bool


class LiveProcess(Live):
    type: str
    quantity: int
    size: str  # lower case, like stack files ("standard-1x")


class LiveAddon(Live):
    id: str
    name: str
    service: str
    plan: str  # "service:plan"
    state: str
    owner: str  # the app that owns (bills) it; others only have it attached
    attachments: tuple[str, ...] = ()  # attachment names on the app that was read
    config_vars: tuple[str, ...] = ()


class LiveSchedule(Live):
    uuid: str
    name: str  # "DATABASE_URL"
    hour: int
    timezone: str


class LiveState(Live):
    """Everything plan needs to know about one app; `app` is None when it does not exist."""

    name: str
    app: LiveAppInfo | None = None
    formation: dict[str, LiveProcess] = Field(default_factory=dict)
    # Live config values may be secrets: kept out of repr, never rendered or serialised.
    config: dict[str, str] = Field(default_factory=dict, repr=False, exclude=True)
    addons: tuple[LiveAddon, ...] = ()
    schedules: dict[str, tuple[LiveSchedule, ...]] = Field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.app is not None

    def addon_by_attachment(self, attachment: str) -> LiveAddon | None:
        return next((a for a in self.addons if attachment in a.attachments), None)


# --- parsing API objects ---------------------------------------------------------------------


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or "")
    return str(value or "")


def parse_app(doc: Mapping[str, Any]) -> LiveAppInfo:
    stack = _name(doc.get("stack"))
    return LiveAppInfo(
        name=doc["name"],
        id=doc["id"],
        region=_name(doc.get("region")),
        stack=stack,
        build_stack=_name(doc.get("build_stack")) or stack,
        maintenance=bool(doc.get("maintenance")),
    )


def parse_process(doc: Mapping[str, Any]) -> LiveProcess:
    size = doc.get("size") or _name(doc.get("dyno_size"))
    return LiveProcess(type=doc["type"], quantity=int(doc["quantity"]), size=str(size).lower())


def attachments_from_config(service: str, config_vars: Iterable[str]) -> tuple[str, ...] | None:
    """Attachment names from an add-on's config vars, or None when they cannot be told."""
    suffixes = ADDON_CONFIG_VARS.get(service)
    names: list[str] = []
    for var in config_vars:
        found = [var[: -len(s) - 1] for s in suffixes or () if var.endswith(f"_{s}")]
        if not found:
            return None
        names.append(max(found, key=len))
    return tuple(dict.fromkeys(names)) or None


def parse_addon(doc: Mapping[str, Any], attachments: tuple[str, ...] = ()) -> LiveAddon:
    return LiveAddon(
        id=doc["id"],
        name=doc.get("name") or doc["id"],
        service=_service(doc),
        plan=_name(doc.get("plan")),
        state=doc.get("state") or "provisioned",
        owner=_name(doc.get("app")),
        attachments=attachments,
        config_vars=tuple(doc.get("config_vars") or ()),
    )


def parse_schedule(doc: Mapping[str, Any]) -> LiveSchedule:
    return LiveSchedule(
        uuid=str(doc.get("uuid") or doc.get("id") or ""),
        name=str(doc.get("name") or ""),
        hour=int(doc["hour"]),
        timezone=str(doc.get("timezone") or "UTC"),
    )


# --- the client ------------------------------------------------------------------------------


class Redactor:
    """Removes known secrets (the API key, config values) from any text that may be shown."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: str) -> None:
        with self._lock:
            self._secrets.update(v for v in values if v and len(v) >= 4)

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "(redacted)")
        return text


def make_session(
    timeout: tuple[float, float], retries: int, backoff: float, pool_size: int = 32
) -> requests.Session:
    """A session with connect/read timeouts and retries of idempotent requests.

    Connection errors (nothing was sent) are retried for every method; read errors and
    429/502/503/504 answers only for idempotent ones, honouring Retry-After.
    """
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff,
        backoff_max=10,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=IDEMPOTENT,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = _TimeoutSession(timeout)
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _TimeoutSession(requests.Session):
    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


class HerokuClient:
    """Reads and writes the Heroku resources herokustack manages."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        data: str | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        retries: int = 5,
        backoff: float = 0.3,
        parallelism: int = 8,
    ) -> None:
        self.url = url.rstrip("/")
        self.data_url = (data or url).rstrip("/")
        self.parallelism = max(1, parallelism)
        self.redact = Redactor()
        self.redact.add(key)
        self._key = key
        # Up to 4 requests of one app at once (its reads, its add-ons), for each app at once.
        self.session = make_session(timeout, retries, backoff, pool_size=4 * self.parallelism)
        self.heroku = Heroku(session=self.session)
        self.heroku._heroku_url = self.url
        self.heroku._api_key = key
        # Basic auth as heroku3 sets it in `authenticate`, without its extra request.
        self.session.auth = ("", key)
        self.session.headers["User-Agent"] = "herokustack"

    # -- transport ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        data_api: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One request; errors become ApiError with a redacted message."""
        base = self.data_url if data_api else self.url
        url = f"{base}/{path.lstrip('/')}"
        payload = None if body is None else json.dumps(body)
        try:
            if data_api or headers:
                # The data API gets the key as the official CLI sends it (Bearer).
                auth = _Bearer(self._key) if data_api else None
                resp = self.session.request(
                    method, url, data=payload, headers=dict(headers or {}), auth=auth
                )
            else:
                resp = self.heroku._http_resource(method, path.lstrip("/"), data=payload)
        except requests.HTTPError as exc:
            resp = exc.response
            if resp is None:
                raise self._error(method, path, base, exc) from None
        except requests.RequestException as exc:
            raise self._error(method, path, base, exc) from None
        except RateLimitExceeded:
            raise ApiError(f"{method} {path}: Heroku rate limit exceeded", 429) from None
        if resp.status_code >= 400:
            raise self._status_error(method, path, resp)
        return resp

    def _error(self, method: str, path: str, base: str, exc: Exception) -> ApiError:
        kind = type(exc).__name__
        if isinstance(exc, requests.exceptions.RetryError):
            kind = "gave up after retries"
        # A write that got no answer may have happened: the caller re-reads before resending.
        msg = f"{method} {path}: no answer from {_host(base)} ({kind})"
        return ApiError(msg, None, ambiguous=True)

    def _status_error(self, method: str, path: str, resp: requests.Response) -> ApiError:
        try:
            doc = resp.json()
            detail = doc.get("message") or doc.get("id") or ""
            error_id = str(doc.get("id") or "")
        except (ValueError, AttributeError):
            detail = error_id = ""
        # Only Heroku's own text may echo a value sent to it: the method and path hold none.
        detail = self.redact(str(detail)[:300])
        msg = f"{method} {path}: HTTP {resp.status_code}" + (f": {detail}" if detail else "")
        if resp.status_code == 401:
            msg += " (check HEROKU_API_KEY)"
        ambiguous = resp.status_code >= 500
        return ApiError(msg, resp.status_code, ambiguous=ambiguous, error_id=error_id)

    def get(self, path: str, *, data_api: bool = False) -> Any:
        return self.request("GET", path, data_api=data_api).json()

    def get_list(self, path: str, *, data_api: bool = False) -> list[Any]:
        """A list, following 206 Partial Content / Next-Range pages (silently)."""
        items: list[Any] = []
        headers: dict[str, str] = {}
        for _ in range(1000):
            resp = self.request("GET", path, data_api=data_api, headers=headers or None)
            items.extend(resp.json())
            next_range = resp.headers.get("Next-Range")
            if resp.status_code != 206 or not next_range:
                return items
            headers = {"Range": next_range}
        return items

    # -- reading -----------------------------------------------------------------------------

    def read_app(self, name: str) -> LiveState:
        """Live state of one app; `app` None when it does not exist (a planned creation)."""
        app_path = f"apps/{quote(name)}"
        try:
            info = parse_app(self.get(app_path))
        except ApiError as exc:
            if exc.not_found and exc.error_id == "not_found":
                return LiveState(name=name)
            if exc.not_found:  # a 404 without Heroku's error body: not the Platform API
                raise ApiError(
                    f"GET {app_path}: HTTP 404 without Heroku's error body: "
                    f"is {_host(self.url)} the Heroku Platform API? (check --api-url)",
                    404,
                ) from None
            raise
        # The three reads do not depend on each other: in parallel, to cut the wall time.
        with ThreadPoolExecutor(max_workers=3) as pool:
            formation_f = pool.submit(self.get_list, f"{app_path}/formation")
            config_f = pool.submit(self.get, f"{app_path}/config-vars")
            addons_f = pool.submit(self.get_list, f"{app_path}/addons")
            formation = {p.type: p for p in map(parse_process, formation_f.result())}
            raw_config = config_f.result()
            addon_docs = addons_f.result()
        config = {k: str(v) for k, v in raw_config.items() if v is not None}
        self.redact.add(*config.values())
        addons = self._read_addons(app_path, addon_docs)
        schedules = self._read_all_schedules(
            [a for a in addons if a.service == POSTGRES and a.owner == name]
        )
        return LiveState(
            name=name,
            app=info,
            formation=formation,
            config=config,
            addons=tuple(addons),
            schedules=schedules,
        )

    def _read_addons(self, app_path: str, docs: list[dict[str, Any]]) -> list[LiveAddon]:
        guessed = {
            d["id"]: attachments_from_config(_service(d), d.get("config_vars") or ()) for d in docs
        }
        if all(guessed.values()):
            return [parse_addon(d, guessed[d["id"]] or ()) for d in docs]
        by_addon: dict[str, list[str]] = {}
        for att in self.get_list(f"{app_path}/addon-attachments"):
            addon_id = (att.get("addon") or {}).get("id")
            if addon_id:
                by_addon.setdefault(addon_id, []).append(att["name"])
        return [parse_addon(d, tuple(by_addon.get(d["id"], ()))) for d in docs]

    def _read_all_schedules(self, dbs: list[LiveAddon]) -> dict[str, tuple[LiveSchedule, ...]]:
        ready = [db for db in dbs if db.state == "provisioned"]
        if len(ready) <= 1:
            return {db.id: self.read_schedules(db.id) for db in ready}
        with ThreadPoolExecutor(max_workers=min(4, len(ready))) as pool:
            return dict(
                zip(
                    [db.id for db in ready],
                    pool.map(self.read_schedules, [db.id for db in ready]),
                    strict=True,
                )
            )

    def read_schedules(self, addon_id: str) -> tuple[LiveSchedule, ...]:
        path = f"client/v11/databases/{quote(addon_id)}/transfer-schedules"
        try:
            return tuple(parse_schedule(d) for d in self.get_list(path, data_api=True))
        except ApiError as exc:
            if exc.not_found:  # the database is not provisioned yet
                return ()
            raise

    def read_apps(self, names: Sequence[str]) -> dict[str, LiveState]:
        """Live state of many apps, read in parallel (at most `parallelism` at once)."""
        with ThreadPoolExecutor(max_workers=min(self.parallelism, max(1, len(names)))) as pool:
            states = list(pool.map(self.read_app, names))
        return {s.name: s for s in states}

    def list_addons(self, app: str) -> list[LiveAddon]:
        """The add-ons of an app with their state (used while waiting for provisioning)."""
        docs = self.get_list(f"apps/{quote(app)}/addons")
        return self._read_addons(f"apps/{quote(app)}", docs)

    def find_addon(self, app: str, attachment: str) -> LiveAddon | None:
        """The add-on attached to `app` as `attachment`, read now; None when there is none."""
        return next((a for a in self.list_addons(app) if attachment in a.attachments), None)

    # -- writing -----------------------------------------------------------------------------

    def create_app(self, name: str, region: str, stack: str) -> LiveAppInfo:
        body = {"name": name, "region": region, "stack": stack}
        return self._post_once(
            lambda: parse_app(self.request("POST", "apps", body).json()),
            lambda: self._existing_app(name),
        )

    def _existing_app(self, name: str) -> LiveAppInfo | None:
        try:
            return parse_app(self.get(f"apps/{quote(name)}"))
        except ApiError as exc:
            if exc.not_found:
                return None
            raise

    def update_app(self, name: str, **fields: Any) -> LiveAppInfo:
        return parse_app(self.request("PATCH", f"apps/{quote(name)}", fields).json())

    def create_addon(
        self, app: str, plan: str, attachment: str, config: Mapping[str, str]
    ) -> LiveAddon:
        body = {"plan": plan, "attachment": {"name": attachment}, "config": dict(config)}
        path = f"apps/{quote(app)}/addons"

        def create() -> LiveAddon:
            doc = self.request("POST", path, body).json()
            return parse_addon(doc, (attachment,))

        return self._post_once(create, lambda: self.find_addon(app, attachment))

    def upgrade_addon(self, app: str, addon_id: str, plan: str) -> LiveAddon:
        path = f"apps/{quote(app)}/addons/{quote(addon_id)}"
        return parse_addon(self.request("PATCH", path, {"plan": plan}).json())

    def destroy_addon(self, app: str, addon_id: str) -> None:
        try:
            self.request("DELETE", f"apps/{quote(app)}/addons/{quote(addon_id)}")
        except ApiError as exc:
            if not exc.not_found:  # already gone: a retried DELETE that had succeeded
                raise

    def update_config(self, app: str, changes: Mapping[str, str | None]) -> None:
        self.redact.add(*(v for v in changes.values() if v))
        self.request("PATCH", f"apps/{quote(app)}/config-vars", dict(changes))

    def scale(self, app: str, updates: Sequence[Mapping[str, Any]]) -> None:
        self.request("PATCH", f"apps/{quote(app)}/formation", {"updates": list(updates)})

    def schedule_backups(self, addon_id: str, name: str, hour: int, timezone: str) -> None:
        """Create or replace (same name) the daily backup schedule of a database."""
        path = f"client/v11/databases/{quote(addon_id)}/transfer-schedules"
        body = {"hour": f"{hour:02d}", "timezone": timezone, "schedule_name": name}

        def create() -> bool:
            self.request("POST", path, body, data_api=True)
            return True

        def existing() -> bool | None:
            done = any(
                s.name == name and s.hour == hour and s.timezone == timezone
                for s in self.read_schedules(addon_id)
            )
            return True if done else None

        self._post_once(create, existing)

    def unschedule_backups(self, addon_id: str, uuid: str) -> None:
        path = f"client/v11/databases/{quote(addon_id)}/transfer-schedules/{quote(uuid)}"
        try:
            self.request("DELETE", path, data_api=True)
        except ApiError as exc:
            if not exc.not_found:
                raise

    def _post_once(self, send: Callable[[], T], existing: Callable[[], T | None]) -> T:
        """Send a POST; after an ambiguous failure, re-read: done if it happened, else resend."""
        for attempt in range(POST_ATTEMPTS):
            last = attempt == POST_ATTEMPTS - 1
            try:
                return send()
            except ApiError as exc:
                if exc.status == 429 and not last:  # refused before any work: wait, resend
                    time.sleep(min(2.0, 0.5 * (attempt + 1)))
                    continue
                if not exc.ambiguous or last:
                    raise
                found = existing()
                if found is not None:
                    return found
        raise AssertionError("unreachable")


class _Bearer(requests.auth.AuthBase):
    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.key}"
        return request

    def __repr__(self) -> str:
        return "_Bearer(***)"


def _host(url: str) -> str:
    """host[:port] of a URL, never a user:password it may carry."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


def _service(doc: Mapping[str, Any]) -> str:
    return _name(doc.get("addon_service")) or _name(doc.get("plan")).split(":", 1)[0]


def client_from_options(
    url_option: str | None,
    parallelism: int = 8,
    environ: Mapping[str, str] = os.environ,
    **kwargs: Any,
) -> HerokuClient:
    """A client for the API URL and key the options and environment give."""
    url = api_url(url_option, environ)
    key = api_key(environ)
    return HerokuClient(url, key, data=data_url(url, environ), parallelism=parallelism, **kwargs)
