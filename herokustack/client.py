"""The Heroku client: reads live state of apps (the "facts", typed in `facts`) and makes the
writes apply needs.

Transport is a `requests.Session` (set up by heroku3: Heroku's Accept header, basic auth) that
has timeouts and urllib3 retries for idempotent methods only (GET/PUT/PATCH/DELETE) on
connection errors and 429/500/502/503/504. A POST that fails ambiguously (a timeout or a 5xx
after it was sent) is never repeated blindly: the caller re-reads state and decides.

What comes back is untrusted. A GET whose body breaks off (truncated, reset, shorter than its
Content-Length) is sent again, up to BODY_ATTEMPTS times; a body over `max_body` bytes (16 MB)
is refused unread; a body that is not JSON, or not the JSON shape Heroku gives, is an ApiError
(`GET apps/x: answer is not JSON (text/html, 1234 bytes)`), never a traceback. `Retry-After`
is obeyed up to `max_retry_after` seconds (default 60, env HEROKUSTACK_MAX_RETRY_AFTER), for
retried requests and for a POST answered 429 alike, and each wait of a second or more is told
on stderr ("Heroku asked to wait 30 s (Retry-After); waiting…").

Every id or name put into a URL path is first checked to have the form Heroku gives it (app
name or UUID, add-on id or name, UUIDs for databases and backup schedules) and then escaped as
one path segment: an id from a plan file or an answer can never reach another URL, such as
`../../OTHER-APP`. A 404 means "does not exist" only when it is Heroku's own answer for that
kind of thing (`{"id": "not_found", "resource": "app", ...}`); Heroku's "requested API
endpoint was not found", a proxy's page, 401 and 403 are errors (the first two naming the URL).

What reading an app costs is told per kind (`read_cost` in herokustack/resources/): today at
most 4 requests (app, formation, config vars, add-ons) plus one per Postgres database (its
backup schedules); a missing app costs one request. Planning many apps reads the apps and
their add-ons from account-wide lists instead (`list_pages`: `GET /apps`, `GET /addons`,
`GET /addon-attachments`, 1000 a page), when those pages cost fewer requests: 2 per app
(config vars, formation) plus one per Postgres database and a few pages. Every request goes
through `gate` (herokustack.ratelimit): never more in flight than Heroku says remain.
Attachment names are derived from each add-on's config vars (Heroku names them
`<ATTACHMENT>_<SUFFIX>`); only for services whose suffixes are unknown is
`GET /apps/{app}/addon-attachments` asked too.
"""

from __future__ import annotations

import email.utils
import json
import netrc
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
import requests.auth
from heroku3.api import Heroku
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from herokustack.errors import HerokustackError
from herokustack.facts import (
    LiveAddon,
    LiveAppInfo,
    LiveProcess,
    LiveSchedule,
)
from herokustack.ratelimit import RateGate
from herokustack.resources.domains import HOSTNAME_PATTERN
from herokustack.stackfile import ADDON_CONFIG_VARS, APP_NAME_PATTERN

DEFAULT_API_URL = "https://api.heroku.com"
DEFAULT_DATA_URL = "https://api.data.heroku.com"
NETRC_HOST = "api.heroku.com"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
POST_ATTEMPTS = 5
BODY_ATTEMPTS = 3  # a GET whose body broke off is sent again (at most retries + 1 times)
ACCOUNT_PAGE = 1000  # items a page of an account-wide list (Heroku's most)
MAX_BODY = 16 * 1024 * 1024  # Heroku's answers are kB; a page holds at most 1000 items
DEFAULT_MAX_RETRY_AFTER = 60.0
MAX_RETRY_AFTER_ENV = "HEROKUSTACK_MAX_RETRY_AFTER"
# Heroku's answer to a path it has no route for (e.g. a wrong --api-url) begins so.
UNKNOWN_ROUTE = "The requested API endpoint was not found"
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
APP_NAME_RE = re.compile(APP_NAME_PATTERN)
ADDON_NAME_RE = re.compile(r"[a-zA-Z][A-Za-z0-9_-]+")  # Heroku's schema: add-on name
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
        *,
        resource: str = "",
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.ambiguous = ambiguous  # the write may or may not have happened
        self.error_id = error_id  # Heroku's error "id", e.g. "not_found"
        self.resource = resource  # the kind of thing a 404 did not find, e.g. "app"
        self.detail = detail  # Heroku's message, redacted
        self.retry_after = retry_after  # seconds, from a Retry-After header

    @property
    def not_found(self) -> bool:
        return self.status == 404

    def missing(self, resource: str) -> bool:
        """Heroku's own 404 saying that the `resource` ("app", "add_on", "pipeline_coupling")
        asked for is not there.

        Heroku names it (`"resource": "app"`); a server that does not is taken at its word only
        for Heroku's message ("Couldn't find that app."). Anything else is no proof.
        """
        if self.status != 404 or self.error_id != "not_found":
            return False
        if self.resource:
            return self.resource == resource
        label = {"add_on": "add-on"}.get(resource, resource.replace("_", " "))
        return self.detail.startswith(f"Couldn't find that {label}.")

    @property
    def data_missing(self) -> bool:
        """A data API 404 in Heroku's error form that is not "no such endpoint".

        The data API does not name what it did not find, and the official CLI reads any of its
        404s as "not there (yet)": this keeps that, but not for a route or a page that is not
        the API's.
        """
        return (
            self.status == 404
            and self.error_id == "not_found"
            and not self.detail.startswith(UNKNOWN_ROUTE)
        )


class InvalidIdError(HerokustackError):
    """An id or name that has not the form Heroku gives it: it is never put into a URL."""


# --- ids in URLs -----------------------------------------------------------------------------

# role -> (patterns, what a valid value is); each value goes into one URL path segment.
ID_FORMS: dict[str, tuple[tuple[re.Pattern[str], ...], str]] = {
    "app name": ((APP_NAME_RE, UUID_RE), "a Heroku app name or id"),
    "add-on id": ((UUID_RE, ADDON_NAME_RE), "a Heroku add-on id or name"),
    "database id": ((UUID_RE,), "an add-on id (UUID)"),
    "backup schedule uuid": ((UUID_RE,), "a UUID"),
    "feature name": ((re.compile(r"[a-z][a-z0-9-]*"),), "an app feature name"),
    "log drain id": ((UUID_RE,), "a log drain id (UUID)"),
    "domain hostname": ((re.compile(HOSTNAME_PATTERN.strip("^$")),), "a domain host name"),
    "webhook id": ((UUID_RE,), "a webhook id (UUID)"),
    "SNI endpoint id": ((UUID_RE,), "an SNI endpoint id (UUID)"),
    "pipeline name": ((re.compile(r"[a-z][a-z0-9-]{2,29}"), UUID_RE), "a pipeline name or id"),
    "pipeline coupling id": ((UUID_RE,), "a pipeline coupling id (UUID)"),
    "team name": ((re.compile(r"[a-z0-9][a-z0-9-]{0,29}"),), "a Heroku Team name"),
}


def path_segment(value: object, role: str) -> str:
    """`value` as one escaped URL path segment, once it is known to have the form of `role`."""
    patterns, form = ID_FORMS[role]
    if not (isinstance(value, str) and any(p.fullmatch(value) for p in patterns)):
        raise InvalidIdError(f"{role} {_shown(value)} is not {form}: it is not sent to Heroku")
    return quote(value, safe="")


def app_path(name: str) -> str:
    """`apps/{name}`, the name checked and escaped."""
    return f"apps/{path_segment(name, 'app name')}"


def _shown(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


# --- Retry-After -----------------------------------------------------------------------------


def max_retry_after_from(environ: Mapping[str, str] = os.environ) -> float:
    """The longest Retry-After obeyed, in seconds: HEROKUSTACK_MAX_RETRY_AFTER, else 60."""
    raw = environ.get(MAX_RETRY_AFTER_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_RETRY_AFTER
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86400:  # NaN fails this too
        raise HerokustackError(
            f"{MAX_RETRY_AFTER_ENV}: not a number of seconds from 0 to 86400: {_shown(raw)}"
        )
    return seconds


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delay or HTTP date); None when none or unreadable."""
    value = (value or "").strip()
    if re.fullmatch(r"[0-9]{1,12}", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def wait_retry_after(asked: float, cap: float, notify: Callable[[str], None] | None) -> None:
    """Sleep what Heroku asked, at most `cap` seconds; a wait asked of 1 s or more is told."""
    wait = min(asked, cap)
    if notify is not None and asked >= 1:
        how = "waiting…" if wait >= asked else f"waiting {wait:g} s ({MAX_RETRY_AFTER_ENV})…"
        notify(f"Heroku asked to wait {asked:.0f} s (Retry-After); {how}")
    time.sleep(wait)


def tell_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _CappedRetry(Retry):
    """urllib3's Retry with Retry-After capped at `max_wait` seconds and each long wait told.

    (urllib3's own `retry_after_max` is not in every urllib3 2, and it tells nothing.)
    """

    def __init__(
        self,
        *args: Any,
        max_wait: float = DEFAULT_MAX_RETRY_AFTER,
        notify: Callable[[str], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_wait = max_wait
        self.notify = notify

    def new(self, **kw: Any) -> Any:
        retry = super().new(**kw)  # urllib3 makes a new Retry for each attempt
        retry.max_wait, retry.notify = self.max_wait, self.notify
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        return retry_after_seconds(response.headers.get("Retry-After"))

    def sleep_for_retry(self, response: Any) -> bool:
        asked = self.get_retry_after(response)
        if not asked:
            return False
        wait_retry_after(asked, self.max_wait, self.notify)
        return True


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
        owner=str((doc.get("owner") or {}).get("email") or ""),
        team=_name(doc.get("team")) or None,
        acm=bool(doc.get("acm")),
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


def parse_window(doc: Mapping[str, Any]) -> str:
    """{"day_of_week": "tuesday", "time_of_day": "14:30"} -> "Tuesdays 14:30" (stack files')."""
    day = _text(doc["day_of_week"]).strip().capitalize()
    time_of_day = _text(doc["time_of_day"]).strip()
    if not day or not time_of_day:
        raise ValueError("empty window")
    return f"{day}s {time_of_day}"


def parse_data_config(doc: Mapping[str, Any]) -> dict[str, Any]:
    """{"log_lock_waits": {"value": true, "desc": ...}, ...} -> {"log_lock_waits": True}."""
    values: dict[str, Any] = {}
    for name, entry in doc.items():
        value = entry["value"] if isinstance(entry, Mapping) else entry
        if not isinstance(value, (bool, int, str)):
            raise TypeError(name)
        values[_text(name)] = value
    return values


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
    timeout: tuple[float, float],
    retries: int,
    backoff: float,
    pool_size: int = 32,
    *,
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
    notify: Callable[[str], None] | None = tell_stderr,
) -> requests.Session:
    """A session with connect/read timeouts and retries of idempotent requests.

    Connection errors (nothing was sent) are retried for every method; read errors and
    429/500/502/503/504 answers only for idempotent ones, honouring Retry-After up to
    `max_retry_after` seconds (and telling `notify` of each wait).
    """
    retry = _CappedRetry(
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
        max_wait=max_retry_after,
        notify=notify,
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


# What breaks off while a body is read, after urllib3 has returned the answer's headers.
BODY_ERRORS = (
    requests.exceptions.ChunkedEncodingError,  # IncompleteRead, shorter than Content-Length
    requests.exceptions.ContentDecodingError,
    requests.exceptions.ConnectionError,  # reset or read timeout mid-body
)


class _TooLarge(Exception):
    pass


class HerokuClient:
    """Reads and writes the Heroku resources herokustack manages.

    `max_retry_after` (seconds; default HEROKUSTACK_MAX_RETRY_AFTER, else 60) caps every wait a
    Retry-After header asks for; `on_wait` is told of each wait (default: a line on stderr).
    `max_body` bounds what one answer may hold.
    """

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
        max_retry_after: float | None = None,
        on_wait: Callable[[str], None] | None = tell_stderr,
        max_body: int = MAX_BODY,
    ) -> None:
        self.url = url.rstrip("/")
        self.data_url = (data or url).rstrip("/")
        self.parallelism = max(1, parallelism)
        self.redact = Redactor()
        self.redact.add(key)
        self._key = key
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_retry_after = (
            max_retry_after_from() if max_retry_after is None else max_retry_after
        )
        self.on_wait = on_wait
        self.max_body = max_body
        # Up to 4 requests of one app at once (its reads, its add-ons), for each app at once.
        self.session = make_session(
            timeout,
            retries,
            backoff,
            pool_size=4 * self.parallelism,
            max_retry_after=self.max_retry_after,
            notify=on_wait,
        )
        # heroku3 sets Heroku's headers (Accept: version 3) on the session; requests go
        # straight through the session so that every answer is seen whole (429's Retry-After).
        self.heroku = Heroku(session=self.session)
        self.heroku._heroku_url = self.url
        self.heroku._api_key = key
        # Basic auth as heroku3 sets it in `authenticate`, without its extra request.
        self.session.auth = ("", key)
        self.session.headers["User-Agent"] = "herokustack"
        # Never more requests in flight than Heroku says remain (see herokustack.ratelimit).
        self.gate = RateGate(self.rate_limit_remaining, on_wait)

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
        """One request, its body read (bounded); errors become ApiError with a redacted message.

        A GET whose body broke off is sent again (urllib3 retries only up to the headers).
        """
        base = self.data_url if data_api else self.url
        attempts = 1 + min(self.retries, BODY_ATTEMPTS - 1) if method == "GET" else 1
        for attempt in range(attempts):
            try:
                return self._send(method, path, body, base, data_api, headers)
            except BODY_ERRORS as exc:
                if attempt == attempts - 1:
                    raise self._error(method, path, base, exc, broke_off=True) from None
                time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        base: str,
        data_api: bool,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        url = f"{base}/{path.lstrip('/')}"
        payload = None if body is None else json.dumps(body)
        # The data API gets the key as the official CLI sends it (Bearer).
        auth = _Bearer(self._key) if data_api else None
        self.gate.acquire()
        remaining = None
        try:
            resp = self.session.request(
                method, url, data=payload, headers=dict(headers or {}), auth=auth, stream=True
            )
            remaining = resp.headers.get("RateLimit-Remaining")
        except requests.RequestException as exc:
            raise self._error(method, path, base, exc) from None
        finally:
            self.gate.release(remaining)
        try:
            self._read_body(resp)
        except _TooLarge:
            limit = f"{self.max_body / 2**20:g} MB" if self.max_body >= 2**20 else "allowed"
            raise ApiError(
                f"{method} {path}: answer is larger than {limit} ({self.max_body} bytes): not read",
                resp.status_code,
            ) from None
        finally:
            resp.close()
        if resp.status_code >= 400:
            raise self._status_error(method, path, resp, base)
        return resp

    def _read_body(self, resp: requests.Response) -> None:
        """Read the body into `resp`, refusing one over `max_body` bytes before holding it."""
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and len(declared) < 20 and int(declared) > self.max_body:
            raise _TooLarge
        chunks, size = [], 0
        for chunk in resp.iter_content(64 * 1024):
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
        resp._content = b"".join(chunks)

    def _error(
        self, method: str, path: str, base: str, exc: Exception, broke_off: bool = False
    ) -> ApiError:
        kind = type(exc).__name__
        if isinstance(exc, requests.exceptions.RetryError):
            kind = "gave up after retries"
        # A write that got no answer may have happened: the caller re-reads before resending.
        what = "the answer broke off" if broke_off else "no answer"
        return ApiError(
            f"{method} {path}: {what} from {_host(base)} ({kind})", None, ambiguous=True
        )

    def _status_error(self, method: str, path: str, resp: requests.Response, base: str) -> ApiError:
        doc = _json_or_none(resp.content)
        if not isinstance(doc, dict):
            doc = {}
        error_id = _text(doc.get("id"))
        resource = _text(doc.get("resource"))
        # Only Heroku's own text may echo a value sent to it: the method and path hold none.
        detail = self.redact(_text(doc.get("message"))[:300])
        shown = detail or error_id
        msg = f"{method} {path}: HTTP {resp.status_code}" + (f": {shown}" if shown else "")
        status = resp.status_code
        if status == 404 and not resource and (not error_id or detail.startswith(UNKNOWN_ROUTE)):
            # Not Heroku saying a thing is missing: a route it does not have, or not Heroku.
            what = f"{UNKNOWN_ROUTE}." if detail else "not a Heroku error answer"
            msg = (
                f"{method} {_shown_url(base, path)}: HTTP 404 ({what}): is {_shown_url(base)} "
                "the Heroku Platform API? (check --api-url)"
            )
        if status == 401:
            msg += " (check HEROKU_API_KEY)"
        return ApiError(
            msg,
            status,
            ambiguous=status >= 500,
            error_id=error_id,
            resource=resource,
            detail=detail,
            retry_after=retry_after_seconds(resp.headers.get("Retry-After")),
        )

    def _json(self, method: str, path: str, resp: requests.Response) -> Any:
        """The answer's JSON; a body that is not JSON is a one-line ApiError."""
        doc = _json_or_none(resp.content)
        if doc is None and resp.content.strip() != b"null":
            raise ApiError(
                f"{method} {path}: answer is not JSON ({_kind(resp)}, {len(resp.content)} bytes)",
                resp.status_code,
            )
        return doc

    def _object(self, method: str, path: str, resp: requests.Response) -> dict[str, Any]:
        doc = self._json(method, path, resp)
        if not isinstance(doc, dict):
            raise ApiError(f"{method} {path}: answer is not a JSON object ({_type(doc)})")
        return doc

    def get(self, path: str, *, data_api: bool = False) -> Any:
        return self._json("GET", path, self.request("GET", path, data_api=data_api))

    def get_object(self, path: str, *, data_api: bool = False) -> dict[str, Any]:
        return self._object("GET", path, self.request("GET", path, data_api=data_api))

    def get_list(self, path: str, *, data_api: bool = False) -> list[Any]:
        """A list of objects, following 206 Partial Content / Next-Range pages (silently)."""
        items: list[Any] = []
        headers: dict[str, str] = {}
        for _ in range(1000):
            page, next_range = self._page(path, headers, data_api)
            items.extend(page)
            if next_range is None:
                return items
            headers = {"Range": next_range}
        return items

    def _page(
        self, path: str, headers: dict[str, str], data_api: bool = False
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a list and the Range of the next (None: it was the last)."""
        resp = self.request("GET", path, data_api=data_api, headers=headers or None)
        page = self._json("GET", path, resp)
        if not isinstance(page, list) or not all(isinstance(i, dict) for i in page):
            raise ApiError(f"GET {path}: answer is not a JSON list of objects ({_type(page)})")
        next_range = resp.headers.get("Next-Range")
        return page, (next_range if resp.status_code == 206 and next_range else None)

    def rate_limit_remaining(self) -> int | None:
        """What Heroku's budget holds now (`GET /account/rate-limits`, which it does not
        count); None when the server does not tell (not sent through the gate)."""
        try:
            resp = self.session.request("GET", f"{self.url}/account/rate-limits", timeout=(5, 10))
            doc = _json_or_none(resp.content) if resp.status_code == 200 else None
        except requests.RequestException:
            return None
        found = doc.get("remaining") if isinstance(doc, dict) else None
        return found if isinstance(found, int) and found >= 0 else None

    @property
    def requests_spent(self) -> int:
        """Requests this client sent (each counted against the budget once)."""
        return self.gate.spent

    def list_pages(
        self, path: str, worth: Callable[[list[Any], int, float], bool]
    ) -> tuple[list[dict[str, Any]], bool]:
        """An account-wide list (`GET /apps`, `/addons`), ACCOUNT_PAGE items a page by id,
        while `worth(items so far, pages read, pages left about)` says reading on costs fewer
        requests than the other way; (items, whether the list is whole).

        Heroku's ids are random UUIDs, sorted: how far the last id of a page is into the
        UUID space tells about how much of the list is read, so the pages left.
        """
        items: list[dict[str, Any]] = []
        headers = {"Range": f"id ..; max={ACCOUNT_PAGE}"}
        for pages in range(1, 1000):
            page, next_range = self._page(path, headers)
            items.extend(page)
            if next_range is None:
                return items, True
            if not worth(items, pages, _pages_left(items, pages)):
                return items, False
            headers = {"Range": next_range}
        return items, False

    def apps_listed(
        self, path: str, wanted: Iterable[str], worth: Callable[[int], bool]
    ) -> dict[str, LiveAppInfo]:
        """The apps of `wanted` found in the list at `path` (`apps`, `teams/{team}/apps`),
        paging on while `worth(pages left about)`, with that many apps still not found."""
        names = set(wanted)

        def on(items: list[dict[str, Any]], pages: int, left: float) -> bool:
            found = sum(1 for i in items if i.get("name") in names)
            return left < len(names) - found and worth(pages)

        docs, _ = self.list_pages(path, on)
        mine = [d for d in docs if d.get("name") in names]
        return {a.name: a for a in _parsed(f"GET {path}", _each(parse_app), mine)}

    def account_addons(self, apps: Sequence[str]) -> dict[str, list[LiveAddon]] | None:
        """The add-ons of each of `apps` (owned or attached), as `list_addons` reads them, from
        two account-wide lists (`GET /addon-attachments`, `GET /addons`); None when paging
        through them would cost more than one request per app."""
        budget = len(apps)

        def worth(items: list[Any], pages: int, left: float) -> bool:
            return pages + left + 1 < budget  # the other list costs a page at least

        # Both lists at once: a run waits for the longer one, not for the two in turn.
        with ThreadPoolExecutor(max_workers=2) as pool:
            lists = [
                pool.submit(self.list_pages, p, worth) for p in ("addon-attachments", "addons")
            ]
            (attachments, whole_a), (addons, whole_b) = (f.result() for f in lists)
        if not (whole_a and whole_b):
            return None
        return _addons_by_app(self, apps, attachments, addons)

    # -- reading -----------------------------------------------------------------------------

    def app_info(self, name: str) -> LiveAppInfo | None:
        """The app, or None when Heroku says there is no such app (its own 404 for an app).

        Any other answer that is not the app (another 404, 401, 403, a page) is an error.
        """
        path = app_path(name)
        try:
            doc = self.get_object(path)
        except ApiError as exc:
            if exc.missing("app"):
                return None
            raise
        return _parsed(f"GET {path}", parse_app, doc)

    def read_formation(self, app: str) -> dict[str, LiveProcess]:
        path = f"{app_path(app)}/formation"
        processes = _parsed(f"GET {path}", _each(parse_process), self.get_list(path))
        return {p.type: p for p in processes}

    def read_config(self, app: str) -> dict[str, str]:
        """The app's config vars; their values are secrets from now on (redacted everywhere)."""
        raw = self.get_object(f"{app_path(app)}/config-vars")
        config = {k: _text(v) for k, v in raw.items() if v is not None}
        self.redact.add(*config.values())
        return config

    def _read_addons(
        self,
        app_path: str,
        docs: list[dict[str, Any]],
        attachments: list[dict[str, Any]] | None = None,
    ) -> list[LiveAddon]:
        """The add-ons `docs` of an app, their attachment names told by their config vars, or
        for a service whose suffixes are unknown by the app's attachments (`attachments`, when
        already read, else `GET /apps/{app}/addon-attachments`)."""
        where = f"GET {app_path}/addons"
        guessed = _parsed(
            where,
            lambda ds: {d["id"]: attachments_from_config(_service(d), _names(d)) for d in ds},
            docs,
        )
        if all(guessed.values()):
            return _parsed(
                where, lambda ds: [parse_addon(d, guessed[d["id"]] or ()) for d in ds], docs
            )
        path = f"{app_path}/addon-attachments"
        found = self.get_list(path) if attachments is None else attachments
        by_addon = _parsed(f"GET {path}", _attachments_by_addon, found)
        return _parsed(
            where, lambda ds: [parse_addon(d, by_addon.get(d["id"], ())) for d in ds], docs
        )

    def read_schedules(self, addon_id: str) -> tuple[LiveSchedule, ...]:
        path = _schedules_path(addon_id)
        try:
            docs = self.get_list(path, data_api=True)
        except ApiError as exc:
            if exc.data_missing:  # the database is not provisioned yet
                return ()
            raise
        return tuple(_parsed(f"GET {path}", _each(parse_schedule), docs))

    def read_window(self, addon_id: str) -> str | None:
        """A data add-on's maintenance window as "Tuesdays 14:30" (UTC), None while provisioning."""
        path = _window_path(addon_id)
        doc = self._data_object(path)
        return None if doc is None else _parsed(f"GET {path}", parse_window, doc)

    def set_window(self, addon_id: str, day_of_week: str, time_of_day: str) -> None:
        body = {"day_of_week": day_of_week, "time_of_day": time_of_day}
        # The same window twice is harmless.
        self.request("POST", _window_path(addon_id), body, data_api=True)

    def read_data_config(self, service: str, addon_id: str) -> dict[str, Any] | None:
        """The settings of a Postgres or Redis add-on (name -> value), None while provisioning."""
        path = _config_path(service, addon_id)
        doc = self._data_object(path)
        return None if doc is None else _parsed(f"GET {path}", parse_data_config, doc)

    def update_data_config(self, service: str, addon_id: str, values: Mapping[str, Any]) -> None:
        self.request("PATCH", _config_path(service, addon_id), dict(values), data_api=True)

    def _data_object(self, path: str) -> dict[str, Any] | None:
        try:
            return self.get_object(path, data_api=True)
        except ApiError as exc:
            if exc.data_missing:  # not provisioned yet (or a plan without it)
                return None
            raise

    def list_addons(self, app: str) -> list[LiveAddon]:
        """The add-ons of an app with their state (used while waiting for provisioning)."""
        path = app_path(app)
        return self._read_addons(path, self.get_list(f"{path}/addons"))

    def find_addon(self, app: str, attachment: str) -> LiveAddon | None:
        """The add-on attached to `app` as `attachment`, read now; None when there is none."""
        return next((a for a in self.list_addons(app) if attachment in a.attachments), None)

    # -- writing -----------------------------------------------------------------------------

    def _write(self, method: str, path: str, body: Any, parse: Callable[[Any], T]) -> T:
        """A write whose answer is a Heroku object, parsed by `parse`."""
        doc = self._object(method, path, self.request(method, path, body))
        return _parsed(f"{method} {path}", parse, doc)

    def create_app(
        self, name: str, region: str, stack: str, team: str | None = None, locked: bool = False
    ) -> LiveAppInfo:
        """A personal app (`POST /apps`), or with `team` one of that team (`POST /teams/apps`)."""
        app_path(name)  # a name that could not be read back is refused before the POST
        body: dict[str, Any] = {"name": name, "region": region, "stack": stack}
        path = "apps"
        if team is not None:
            path, body = "teams/apps", {**body, "team": team, "locked": locked}
        return self._post_once(
            lambda: self._write("POST", path, body, parse_app),
            lambda: self.app_info(name),
        )

    def update_app(self, name: str, **fields: Any) -> LiveAppInfo:
        return self._write("PATCH", app_path(name), fields, parse_app)

    def create_addon(
        self, app: str, plan: str, attachment: str, config: Mapping[str, str]
    ) -> LiveAddon:
        body = {"plan": plan, "attachment": {"name": attachment}, "config": dict(config)}
        path = f"{app_path(app)}/addons"
        return self._post_once(
            lambda: self._write("POST", path, body, lambda d: parse_addon(d, (attachment,))),
            lambda: self.find_addon(app, attachment),
        )

    def upgrade_addon(self, app: str, addon_id: str, plan: str) -> LiveAddon:
        path = f"{app_path(app)}/addons/{path_segment(addon_id, 'add-on id')}"
        return self._write("PATCH", path, {"plan": plan}, parse_addon)

    def destroy_addon(self, app: str, addon_id: str) -> None:
        path = f"{app_path(app)}/addons/{path_segment(addon_id, 'add-on id')}"
        try:
            self.request("DELETE", path)
        except ApiError as exc:
            if not exc.missing("add_on"):  # already gone: a retried DELETE that had succeeded
                raise

    def update_config(self, app: str, changes: Mapping[str, str | None]) -> None:
        self.redact.add(*(v for v in changes.values() if v))
        self.request("PATCH", f"{app_path(app)}/config-vars", dict(changes))

    def scale(self, app: str, updates: Sequence[Mapping[str, Any]]) -> None:
        self.request("PATCH", f"{app_path(app)}/formation", {"updates": list(updates)})

    def schedule_backups(self, addon_id: str, name: str, hour: int, timezone: str) -> None:
        """Create or replace (same name) the daily backup schedule of a database."""
        path = _schedules_path(addon_id)
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
        path = f"{_schedules_path(addon_id)}/{path_segment(uuid, 'backup schedule uuid')}"
        try:
            self.request("DELETE", path, data_api=True)
        except ApiError as exc:
            if not exc.data_missing:
                raise

    def _post_once(self, send: Callable[[], T], existing: Callable[[], T | None]) -> T:
        """Send a POST; after an ambiguous failure, re-read: done if it happened, else resend."""
        for attempt in range(POST_ATTEMPTS):
            last = attempt == POST_ATTEMPTS - 1
            try:
                return send()
            except ApiError as exc:
                if exc.status == 429 and not last:  # refused before any work: wait, resend
                    asked = exc.retry_after
                    if asked is None:
                        asked = min(2.0, 0.5 * (attempt + 1))
                    wait_retry_after(asked, self.max_retry_after, self.on_wait)
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


def _names(doc: Mapping[str, Any]) -> list[str]:
    values = doc.get("config_vars") or []
    if not isinstance(values, list):
        raise TypeError("config_vars is not a list")
    return [_text(v) for v in values]


def _attachments_by_addon(docs: list[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    by_addon: dict[str, list[str]] = {}
    for att in docs:
        addon_id = (att.get("addon") or {}).get("id")
        if addon_id:
            by_addon.setdefault(_text(addon_id), []).append(_text(att["name"]))
    return {k: tuple(v) for k, v in by_addon.items()}


def _pages_left(items: list[dict[str, Any]], pages: int) -> float:
    """About how many pages an id-sorted list has left after `pages` (by its last id's place
    among UUIDs); one when the ids are not UUIDs."""
    last = _text(items[-1].get("id")) if items else ""
    if not UUID_RE.fullmatch(last):
        return 1.0
    share = (int(last.replace("-", ""), 16) + 1) / 2**128
    return max(0.0, pages / share - pages)


def _ref_name(doc: Mapping[str, Any], field: str) -> str:
    ref = doc.get(field)
    return _text(ref.get("name")) if isinstance(ref, dict) else ""


def _addons_by_app(
    client: HerokuClient,
    apps: Sequence[str],
    attachments: list[dict[str, Any]],
    addons: list[dict[str, Any]],
) -> dict[str, list[LiveAddon]]:
    """Per app, what `GET /apps/{app}/addons` (owned or attached, by id) and its attachments
    would have answered, cut out of the account's lists."""
    atts: dict[str, list[dict[str, Any]]] = {a: [] for a in apps}
    attached: dict[str, set[str]] = {}  # add-on id -> the apps of `apps` it is attached to
    for att in attachments:
        app = _ref_name(att, "app")
        if app in atts:
            atts[app].append(att)
            addon = att.get("addon")
            addon_id = _text(addon.get("id")) if isinstance(addon, dict) else ""
            attached.setdefault(addon_id, set()).add(app)
    docs: dict[str, list[dict[str, Any]]] = {a: [] for a in apps}
    for addon in sorted(addons, key=lambda d: _text(d.get("id"))):
        for app in {_ref_name(addon, "app")} | attached.get(_text(addon.get("id")), set()):
            if app in docs:
                docs[app].append(addon)
    return {a: client._read_addons(app_path(a), docs[a], atts[a]) for a in apps}


def _window_path(addon_id: str) -> str:
    return f"data/maintenances/v1/{path_segment(addon_id, 'add-on id')}/window"


def _config_path(service: str, addon_id: str) -> str:
    api = "redis/v0" if service == "heroku-redis" else "postgres/v0"
    return f"{api}/databases/{path_segment(addon_id, 'add-on id')}/config"


def _schedules_path(addon_id: str) -> str:
    return f"client/v11/databases/{path_segment(addon_id, 'database id')}/transfer-schedules"


def _each(parse: Callable[[Any], T]) -> Callable[[list[Any]], list[T]]:
    return lambda docs: [parse(d) for d in docs]


def _parsed(where: str, parse: Callable[[Any], T], doc: Any) -> T:
    """`parse(doc)`, an answer that has not the shape Heroku gives being a one-line ApiError."""
    try:
        return parse(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # Field names only: a value may be a secret (pydantic's message would quote it).
        why = (
            f"no {_shown(exc.args[0])} field"
            if isinstance(exc, KeyError)
            else "a field of the wrong type"
        )
        raise ApiError(f"{where}: answer is not what Heroku answers ({why})") from None


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError too), or nested too deep
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _kind(resp: requests.Response) -> str:
    """The media type of an answer, safe to show (a server may send anything in it)."""
    kind = resp.headers.get("Content-Type", "").split(";", 1)[0].strip()
    kind = "".join(c for c in kind if c.isascii() and c.isprintable())
    return _clip(kind, 60) or "no Content-Type"


def _type(doc: Any) -> str:
    names = {"dict": "an object", "list": "a list", "str": "a string", "NoneType": "null"}
    return names.get(type(doc).__name__, f"a {type(doc).__name__}")


def _shown_url(base: str, path: str = "") -> str:
    """The URL of `path` under `base` without a user:password it may carry."""
    parts = urlsplit(base)
    url = f"{parts.scheme}://{_host(base)}{parts.path}"
    return f"{url}/{path.lstrip('/')}" if path else url


def client_from_options(
    url_option: str | None,
    parallelism: int = 8,
    environ: Mapping[str, str] = os.environ,
    **kwargs: Any,
) -> HerokuClient:
    """A client for the API URL and key the options and environment give."""
    url = api_url(url_option, environ)
    key = api_key(environ)
    kwargs.setdefault("max_retry_after", max_retry_after_from(environ))
    return HerokuClient(url, key, data=data_url(url, environ), parallelism=parallelism, **kwargs)
