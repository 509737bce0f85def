"""The HTTP layer of the emulator: starlette routes over `models.Backend`.

Each request goes through `Api.handle`: count it, sleep `latency_ms`, maybe inject a fault
(before any state is touched), check the API key, read a size-limited JSON body, call the
backend, then paginate lists the way Heroku does (`Range` / `Next-Range`) and add the
`Request-Id` and `RateLimit-Remaining` headers. Business rules and each family's
routes live in `models/` (one module per resource family).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import math
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herokustack.emulator.family import Call, Endpoint, Handler, Reply
from herokustack.emulator.models import ApiError, Backend, Json

MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT = 30.0  # seconds to send a request body, once its headers have come
DEFAULT_PAGE = 200
MAX_PAGE = 1000
RATE_LIMIT = 4500  # Heroku's budget per hour and account
RATE_LIMITS_PATH = "/account/rate-limits"
RANGE_FIELDS = ("id", "name", "version", "type", "created_at", "updated_at")
# Longer Range headers are refused before parsing: a real one (`version ]1234..; max=1000,
# order=desc`, or an id range) is well under 200 characters.
MAX_RANGE_CHARS = 1024
RANGE_FIELD_RE = re.compile(r"([a-z_]+)\s+(.*)", re.DOTALL)
PAGE_SIZE_RE = re.compile(r"[0-9]{1,4}")


@dataclass
class Settings:
    api_keys: tuple[str, ...] = ("herokustack-local",)
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    seed: int | None = None
    rate_limit: int | None = None  # enforce a budget of this many requests (`--rate-limit`)
    rate_per_minute: float | None = None  # its refill (default: rate_limit / 60, as Heroku)


@dataclass
class Counters:
    """Requests served, in total and per app name (routes under /apps/{app}/ and the data API)."""

    total: int = 0
    per_app: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, app: str | None) -> None:
        with self.lock:
            self.total += 1
            if app:
                self.per_app[app] += 1

    def reset(self) -> None:
        with self.lock:
            self.total = 0
            self.per_app.clear()


class RateBucket:
    """A token bucket of `capacity` requests refilled at `per_minute` (Heroku: 4500, 75/min).

    Enforced (`--rate-limit`), a request that finds it empty is answered Heroku's 429
    `rate_limit` (and takes nothing); `throttled` counts those. Not enforced (the default), it
    is only reported (`RateLimit-Remaining`), and full again once spent; `/account/rate-limits`
    then always answers the whole budget: it never refuses, so it never says it would.
    """

    def __init__(
        self,
        capacity: int = RATE_LIMIT,
        per_minute: float | None = None,
        enforce: bool = False,
    ) -> None:
        self.capacity = float(capacity)
        self.per_minute = capacity / 60 if per_minute is None else per_minute
        self.enforce = enforce
        self.tokens = float(capacity)
        self.stamp = time.monotonic()
        self.throttled = 0
        self.lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.per_minute / 60)
        self.stamp = now

    def take(self) -> int | None:
        """Take one token: what remains, or None when enforced and there was none."""
        with self.lock:
            self._refill()
            if self.enforce and self.tokens < 1:
                self.throttled += 1
                return None
            if self.tokens < 2 and not self.enforce:
                self.tokens = self.capacity
            self.tokens = max(0.0, self.tokens - 1)
            return int(self.tokens)

    def peek(self) -> int:
        """What `GET /account/rate-limits` answers: not enforced, the whole budget, so that a
        run herokustack estimates within it is never refused by a limit nobody enforces."""
        with self.lock:
            self._refill()
            return int(self.tokens) if self.enforce else int(self.capacity)

    def seconds_to_token(self) -> int:
        """Whole seconds until one token is back (Retry-After of a 429)."""
        with self.lock:
            if self.per_minute <= 0:
                return 60
            return max(1, math.ceil((1 - self.tokens) * 60 / self.per_minute))


# Heroku's answer when the account's budget is spent, word for word.
RATE_LIMIT_MESSAGE = (
    "Your account reached the API rate limit\nPlease wait a few minutes before making new requests"
)


def error_response(
    status: int, error_id: str, message: str, resource: str = "", **headers: str
) -> Response:
    # Heroku's 404 for a missing thing names its kind ("resource": "app"); an unknown route not.
    doc = {"id": error_id, "message": message} | ({"resource": resource} if resource else {})
    body = json.dumps(doc)
    return Response(body, status, media_type="application/json", headers=headers)


def _reject_constant(name: str) -> None:
    raise ValueError(f"invalid JSON constant {name}")


def parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError(400, "bad_request", "Request body is not valid JSON.") from exc


def parse_range(header: str | None, default_field: str) -> tuple[str, str, str, int, str]:
    """`id ..; max=N` → (field, start, end, max, order); heroku3's `id ..; ;` means defaults.

    Linear time: a length limit, then `partition` at the first `;` and the first `..` (a
    backtracking pattern took seconds on a 15 KB header, holding up every other request).
    """
    if not header:
        return default_field, "", "", DEFAULT_PAGE, "asc"
    if len(header) > MAX_RANGE_CHARS:
        raise ApiError(400, "bad_request", f"Range header is too long (at most {MAX_RANGE_CHARS}).")
    spec, _, opts = header.partition(";")
    match = RANGE_FIELD_RE.fullmatch(spec.strip())
    if not match or ".." not in match[2]:
        raise ApiError(400, "bad_request", "Invalid Range header.")
    start, _, end = match[2].partition("..")
    options: dict[str, str] = {}
    for part in re.split(r"[,;]", opts):
        if part.strip():
            key, _, value = part.strip().partition("=")
            options[key.strip()] = value.strip()
    unknown = set(options) - {"max", "order"}
    order = options.get("order", "asc")
    size = options.get("max", str(DEFAULT_PAGE))
    if unknown or order not in ("asc", "desc") or not size.isdigit():
        raise ApiError(400, "bad_request", "Invalid Range header.")
    # Only ASCII digits, and few of them: int() of 5,000 digits raises (a 500 before).
    if not PAGE_SIZE_RE.fullmatch(size) or not 1 <= int(size) <= MAX_PAGE:
        raise ApiError(400, "bad_request", f"Range max must be between 1 and {MAX_PAGE}.")
    return match[1], start.strip(), end.strip(), int(size), order


def paginate(
    items: list[Json], header: str | None, default_field: str
) -> tuple[list[Json], dict[str, str]]:
    field_name, start, end, size, order = parse_range(header, default_field)
    if field_name not in RANGE_FIELDS or (items and field_name not in items[0]):
        raise ApiError(400, "bad_request", f"Invalid Range field: {field_name}.")
    numeric = field_name == "version"

    def key(value: Any) -> Any:
        if numeric:
            return int(value) if re.fullmatch(r"-?[0-9]{1,18}", str(value)) else None
        return str(value)

    exclusive = start.startswith("]")
    lo, hi = key(start.lstrip("]")) if start.lstrip("]") else None, key(end) if end else None
    desc = order == "desc"
    ordered = sorted(items, key=lambda i: key(i[field_name]), reverse=desc)

    def wanted(item: Json) -> bool:
        value = key(item[field_name])
        if lo is not None:
            if desc and (value > lo or (exclusive and value == lo)):
                return False
            if not desc and (value < lo or (exclusive and value == lo)):
                return False
        if hi is not None:
            return value >= hi if desc else value <= hi
        return True

    selected = [i for i in ordered if wanted(i)]
    page = selected[:size]
    fields = [f for f in RANGE_FIELDS if items and f in items[0]] or [default_field]
    headers = {"Accept-Ranges": ", ".join(fields)}
    if page:
        headers["Content-Range"] = f"{field_name} {page[0][field_name]}..{page[-1][field_name]}"
    if len(selected) > size:
        order_part = ", order=desc" if desc else ""
        headers["Next-Range"] = f"{field_name} ]{page[-1][field_name]}..; max={size}{order_part}"
    return page, headers


class Api:
    """Route table and request pipeline of one emulator instance."""

    def __init__(self, backend: Backend, settings: Settings) -> None:
        self.backend = backend
        self.settings = settings
        self.counters = Counters()
        limit = settings.rate_limit
        self.rate = (
            RateBucket()
            if limit is None
            else RateBucket(limit, settings.rate_per_minute, enforce=True)
        )
        self._faults = random.Random(settings.seed)
        self._fault_lock = threading.Lock()
        self._fault_counts: Counter[tuple[str, str, str]] = Counter()
        # Called with (method, path, parsed body) for each authenticated request (test hooks).
        self.observers: list[Callable[[str, str, Any], None]] = []

    # --- pipeline -----------------------------------------------------------------------------

    def route(
        self,
        path: str,
        method: str,
        handler: Handler,
        *,
        status: int = 200,
        list_field: str = "",
        public: bool = False,
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self.handle(request, handler, status, list_field, path, public)

        return Route(path, endpoint, methods=[method])

    async def handle(
        self,
        request: Request,
        handler: Handler,
        status: int,
        list_field: str,
        template: str = "",
        public: bool = False,
    ) -> Response:
        request_id = str(uuid.uuid4())
        app = self._app_of(request)
        self.counters.add(app)
        fault = self._fault(request.method, template, app or "")
        if self.settings.latency_ms > 0:
            await asyncio.sleep(self.settings.latency_ms / 1000)
        # Heroku does not count `GET /account/rate-limits` against the budget.
        free = template == RATE_LIMITS_PATH
        remaining = self.rate.peek() if free else self.rate.take()
        try:
            auth = None if public else self._auth(request)
            response = fault or auth or self._accept(request) or self._throttled(remaining)
            if response is None:
                response = await self._serve(request, handler, status, list_field)
        except ApiError as exc:
            response = error_response(exc.status, exc.error_id, exc.message, exc.resource)
        response.headers["Request-Id"] = request_id
        response.headers["RateLimit-Remaining"] = str(remaining or 0)
        return response

    def _throttled(self, remaining: int | None) -> Response | None:
        """Heroku's 429 when the enforced budget is spent (nothing else happens)."""
        if remaining is not None:
            return None
        wait = str(self.rate.seconds_to_token())
        return error_response(429, "rate_limit", RATE_LIMIT_MESSAGE, **{"Retry-After": wait})

    def _fault(self, method: str, template: str, app: str) -> Response | None:
        """Maybe a 429 or 503, decided by `fault_rng`: the same for the same seed and requests."""
        if self.settings.fail_rate <= 0:
            return None
        rng = self.fault_rng(method, template, app)
        if rng.random() >= self.settings.fail_rate:
            return None
        throttle, retry_after = rng.random() < 0.5, rng.choice(("0", "1"))
        if throttle:
            message = "Your account reached the API rate limit. Please wait a few minutes."
            return error_response(429, "rate_limit", message, **{"Retry-After": retry_after})
        message = "The API is temporarily unavailable. Please try again."
        return error_response(503, "service_unavailable", message, **{"Retry-After": retry_after})

    def fault_rng(self, method: str, template: str, app: str) -> random.Random:
        """The random source of one request's fault.

        With a seed, a request's fault depends only on the seed and on which request it is: the
        n-th `METHOD route` for that app (route as declared, `/apps/{app}/addons/{addon}`, since
        ids are new each run). Requests that threads send in another order, or for other apps,
        in between do not shift it, so a run repeats its faults. Without a seed: one shared,
        unseeded source.
        """
        if self.settings.seed is None:
            return self._faults
        with self._fault_lock:
            key = (method, template, app)
            self._fault_counts[key] += 1
            n = self._fault_counts[key]
        # A str seed goes through SHA-512: the same on every run and Python (no hash salt).
        return random.Random(f"{self.settings.seed}|{method}|{template}|{app}|{n}")

    def _auth(self, request: Request) -> Response | None:
        token = token_of(request.headers.get("authorization", ""))
        if token is not None and any(
            hmac.compare_digest(token.encode(), key.encode()) for key in self.settings.api_keys
        ):
            return None
        return error_response(401, "unauthorized", "Invalid credentials provided.")

    @staticmethod
    def _accept(request: Request) -> Response | None:
        """Heroku's 406 for an Accept that asks for another API version or no JSON at all."""
        if request.url.path.startswith("/client/") or acceptable(request.headers.get("accept")):
            return None
        message = "Set the Accept header to application/vnd.heroku+json; version=3 and try again."
        return error_response(406, "not_acceptable", message)

    async def _serve(
        self, request: Request, handler: Handler, status: int, list_field: str
    ) -> Response:
        body: Any = {}
        if request.method in ("POST", "PATCH", "PUT", "DELETE"):
            body = parse_body(await read_limited(request))
            if not isinstance(body, dict):
                raise ApiError(400, "bad_request", "Request body must be a JSON object.")
        for observe in self.observers:
            observe(request.method, request.url.path, body)
        call = Call(
            params=dict(request.path_params),
            body=body,
            include=header_list(request.headers.get("accept-inclusion", "")),
            expand=header_list(request.headers.get("accept-expansion", "")),
            query=dict(request.query_params),
        )
        result = handler(call)
        headers: dict[str, str] = {}
        if isinstance(result, Reply):
            result, headers = result.body, dict(result.headers)
        if list_field:
            result, pages = paginate(result, request.headers.get("range"), list_field)
            headers.update(pages)
            if "Next-Range" in headers:
                status = 206
        return Response(json.dumps(result), status, media_type="application/json", headers=headers)

    def _app_of(self, request: Request) -> str | None:
        """The app a request is about, by name: /apps/{app}/..., or the data API's database."""
        parts = request.url.path.split("/")
        try:
            if len(parts) > 2 and parts[1] == "apps" and parts[2]:
                return self._app_name(parts[2])
            if parts[1:4] == ["client", "v11", "apps"] and len(parts) > 4:
                return self._app_name(parts[4])
            if parts[1:4] == ["client", "v11", "databases"] and len(parts) > 4:
                return self.backend.get_addon(parts[4])["app"]["name"]
        except ApiError:
            return None
        return None

    def _app_name(self, ident: str) -> str:
        try:
            return str(self.backend.get_app(ident)["name"])
        except ApiError:
            return ident

    # --- routes -------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """The generic routes, then every family's, in the backend's registry order."""
        endpoints = [Endpoint(RATE_LIMITS_PATH, "GET", self._rate_limits)]
        for family in self.backend.families:
            endpoints += family.routes(self.backend)
        seen: set[tuple[str, str]] = set()
        for e in endpoints:
            if (e.method, e.path) in seen:
                raise ValueError(f"two routes for {e.method} {e.path}")
            seen.add((e.method, e.path))
        return [
            self.route(
                e.path,
                e.method,
                e.handler,
                status=e.status,
                list_field=e.list_field,
                public=e.public,
            )
            for e in endpoints
        ]

    def _rate_limits(self, call: Call) -> Json:
        return {"remaining": self.rate.peek()}


JSON_TYPES = ("*/*", "application/*", "application/json")
VERSION_3_RE = re.compile(r"^3(\.[A-Za-z0-9_-]+)?$")


def acceptable(accept: str | None) -> bool:
    """Version 3 with any variant (`3.sdk`, `3.cedar-acm`, ...), or plain JSON; not version 2."""
    if not accept or not accept.strip():
        return True
    for media_range in accept.split(","):
        media_type, *params = (p.strip() for p in media_range.split(";"))
        if media_type.lower() == "application/vnd.heroku+json":
            options = dict(p.partition("=")[::2] for p in params)
            version = options.get("version", "3").strip().strip('"')
            if VERSION_3_RE.match(version):
                return True
        elif media_type.lower() in JSON_TYPES:
            return True
    return False


def header_list(value: str) -> frozenset[str]:
    """`addon_service, plan` → {"addon_service", "plan"} (Accept-Inclusion, Accept-Expansion)."""
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def token_of(authorization: str) -> str | None:
    """The API key from `Bearer KEY` (official CLI) or `Basic base64(":KEY")` (heroku3)."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


async def read_limited(request: Request) -> bytes:
    """The body, at most 1 MB, and sent within BODY_TIMEOUT seconds (a trickle holds no one up)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 9 or int(declared) > MAX_BODY_BYTES):
        raise ApiError(413, "bad_request", "Request body is too large (the limit is 1 MB).")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    message = "Request body is too large (the limit is 1 MB)."
                    raise ApiError(413, "bad_request", message)
                chunks.append(chunk)
    except TimeoutError:
        message = f"The request body was not sent within {BODY_TIMEOUT:g} seconds."
        raise ApiError(408, "request_timeout", message) from None
    return b"".join(chunks)


# Heroku's answer, word for word, to a route it does not have, whatever the method (no
# "resource": not a missing app).
UNKNOWN_ROUTE = (
    "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs."
    " `POST`), and did you specify your intended version with the `Accept` header?"
)


def build_app(backend: Backend, settings: Settings) -> tuple[Starlette, Api]:
    api = Api(backend, settings)

    async def http_error(request: Request, exc: Exception) -> Response:
        # Heroku has no 405: a path it serves, asked with another method, is an unknown endpoint.
        response = error_response(404, "not_found", UNKNOWN_ROUTE)
        response.headers["Request-Id"] = str(uuid.uuid4())
        response.headers["RateLimit-Remaining"] = str(api.rate.take() or 0)
        return response

    app = Starlette(routes=api.routes(), exception_handlers={HTTPException: http_error})
    # Heroku answers 404 for `/apps/` (or `/apps/%2F`), not a redirect to `/apps`.
    app.router.redirect_slashes = False
    return app, api


def accepted_keys(values: Sequence[str]) -> tuple[str, ...]:
    keys = tuple(v.strip() for v in values if v and v.strip())
    if not keys:
        raise ValueError("at least one API key is required")
    return keys
