"""The HTTP layer: auth, headers, Range pagination, body limits, faults, latency, counters."""

from __future__ import annotations

import base64
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from emu_helpers import client_for, new_app
from hypothesis import given, settings
from hypothesis import strategies as st

from herokustack.emulator import EmulatorServer, responses
from herokustack.emulator.models import ApiError
from herokustack.emulator.responses import paginate, parse_range


def test_bearer_and_basic_auth_accepted_others_refused(emu: EmulatorServer) -> None:
    basic = base64.b64encode(f":{emu.api_key}".encode()).decode()
    for header, status in [
        (f"Bearer {emu.api_key}", 200),
        (f"Basic {basic}", 200),
        ("Bearer wrong-key", 401),
        (f"Basic {base64.b64encode(b':wrong').decode()}", 401),
        ("Basic !!not-base64!!", 401),
        ("", 401),
    ]:
        response = httpx.get(f"{emu.url}/account", headers={"Authorization": header})
        assert response.status_code == status, header
        if status == 401:
            assert response.json()["id"] == "unauthorized"


def test_extra_keys_from_the_constructor() -> None:
    with EmulatorServer(api_keys=("first-key", "second-key")) as emu:
        assert emu.api_key == "first-key"
        for key, status in [("first-key", 200), ("second-key", 200), ("herokustack-local", 401)]:
            with client_for(emu, key) as http:
                assert http.get("/account").status_code == status


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("application/vnd.heroku+json; version=3", 200),
        ("application/vnd.heroku+json; version=3.sdk", 200),
        ("application/vnd.heroku+json; version=3.cedar-acm", 200),
        ("application/vnd.heroku+json;version=3.docker-releases", 200),
        ("application/json", 200),
        ("*/*", 200),
        ("application/vnd.heroku+json; version=2", 406),
        ("text/html", 406),
    ],
)
def test_accept_version_3_with_any_variant(http: httpx.Client, accept: str, status: int) -> None:
    response = http.get("/account", headers={"Accept": accept})
    assert response.status_code == status, response.text
    if status == 406:
        assert response.json()["id"] == "not_acceptable"


def test_every_answer_has_request_id_and_rate_limit(http: httpx.Client) -> None:
    ids = set()
    for path in ("/account", "/apps/nope", "/no-such-route"):
        response = http.get(path)
        ids.add(response.headers["Request-Id"])
        assert int(response.headers["RateLimit-Remaining"]) > 0
    assert len(ids) == 3
    remaining = http.get("/account/rate-limits").json()["remaining"]
    assert 0 < remaining <= 4500


@pytest.fixture(scope="module")
def many_apps(emu: EmulatorServer) -> list[str]:
    names = [f"page-app-{i:03d}" for i in range(230)]
    for name in names:
        emu.backend.create_app({"name": name})
    return names


def test_range_pages_through_every_app(http: httpx.Client, many_apps: list[str]) -> None:
    seen: list[str] = []
    header = "id ..; max=100"
    pages = 0
    while True:
        response = http.get("/apps", headers={"Range": header})
        pages += 1
        seen += [a["name"] for a in response.json()]
        assert response.headers["Content-Range"].startswith("id ")
        assert "id" in response.headers["Accept-Ranges"]
        if response.status_code == 200:
            break
        assert response.status_code == 206
        header = response.headers["Next-Range"]
    assert set(many_apps) <= set(seen)
    assert len(seen) == len(set(seen))
    assert pages == -(-len(seen) // 100)


def test_default_page_is_200_and_heroku3_empty_max_means_default(
    http: httpx.Client, many_apps: list[str]
) -> None:
    for headers in ({}, {"Range": "id ..; ;"}):
        response = http.get("/apps", headers=headers)
        assert response.status_code == 206
        assert len(response.json()) == 200
        assert response.headers["Next-Range"].startswith("id ]")


def test_releases_newest_first_with_max(http: httpx.Client) -> None:
    new_app(http, "range-rel")
    for i in range(5):
        http.patch("/apps/range-rel/config-vars", json={"N": str(i)})
    response = http.get(
        "/apps/range-rel/releases", headers={"Range": "version ..; max=3, order=desc"}
    )
    assert response.status_code == 206
    assert [r["version"] for r in response.json()] == [6, 5, 4]
    follow = http.get("/apps/range-rel/releases", headers={"Range": response.headers["Next-Range"]})
    assert [r["version"] for r in follow.json()] == [3, 2, 1]
    assert follow.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "id ..; max=1001",
        "id ..; max=0",
        "nonsense",
        "id ..; max=x",
        "id ..; max=" + "9" * 5000,  # int() of that many digits raises: it was a 500
        "id ..; max=\N{SUPERSCRIPT TWO}",  # a Unicode digit: isdigit() but not int()
        "id " + "." * 15_000,  # took the old pattern 4 s, holding up every request
        "id " + "a.." * 400,  # over the length limit even though well formed
    ],
)
def test_bad_ranges_are_400(http: httpx.Client, header: str) -> None:
    response = http.get("/apps", headers={"Range": header.encode("latin-1")})
    assert response.status_code == 400
    assert response.json()["id"] == "bad_request"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=" .;=,]idmaxorderscv0123456789", max_size=1100))
def test_parse_range_answers_any_header_or_refuses_it_with_400(header: str) -> None:
    try:
        _, start, end, size, order = parse_range(header, "id")
    except ApiError as exc:
        assert exc.status == 400 and exc.error_id == "bad_request"
        return
    assert len(header) <= responses.MAX_RANGE_CHARS
    assert (".." in header or not header) and 1 <= size <= 1000 and order in ("asc", "desc")
    assert start in header and end in header


def test_bodies_over_one_megabyte_are_refused(http: httpx.Client) -> None:
    big = b'{"FOO": "' + b"x" * (1024 * 1024) + b'"}'
    response = http.patch("/apps/anything/config-vars", content=big)
    assert response.status_code == 413
    assert response.json()["id"] == "bad_request"


def test_fault_injection_is_deterministic_and_touches_no_state() -> None:
    def statuses() -> list[int]:
        with EmulatorServer(fail_rate=0.5, seed=7) as emu, client_for(emu) as http:
            codes = [http.post("/apps", json={"name": f"fault-{i}"}).status_code for i in range(30)]
            created = {a["name"] for a in emu.backend.list_apps()}
            assert created == {f"fault-{i}" for i, c in enumerate(codes) if c == 201}
            return codes

    first = statuses()
    assert first == statuses()
    assert {429, 503} <= set(first) and 201 in first


def fault_map(seed: int, apps: list[str]) -> dict[str, list[int]]:
    """Statuses of 15 requests per app, one thread per app: the threads interleave at will."""
    with EmulatorServer(fail_rate=0.3, seed=seed) as emu:
        for app in apps:
            emu.backend.create_app({"name": app})

        def one_app(app: str) -> list[int]:
            with client_for(emu) as http:
                return [
                    http.get(f"/apps/{app}" + ("/config-vars" if i % 2 else "")).status_code
                    for i in range(15)
                ]

        with ThreadPoolExecutor(max_workers=len(apps)) as pool:
            return dict(zip(apps, pool.map(one_app, apps), strict=True))


def test_same_seed_same_requests_same_faults_whatever_the_thread_order() -> None:
    apps = ["seed-a", "seed-b", "seed-c", "seed-d"]
    first = fault_map(11, apps)
    assert first == fault_map(11, apps)
    codes = {c for statuses in first.values() for c in statuses}
    assert {200} < codes <= {200, 429, 503}
    assert fault_map(12, apps) != first


def test_faults_carry_retry_after_and_heroku_ids() -> None:
    with EmulatorServer(fail_rate=1.0, seed=3) as emu, client_for(emu) as http:
        for _ in range(10):
            response = http.get("/account")
            assert response.status_code in (429, 503)
            assert response.headers["Retry-After"] in ("0", "1")
            expected = "rate_limit" if response.status_code == 429 else "service_unavailable"
            assert response.json()["id"] == expected


def test_latency_is_added_to_each_request() -> None:
    with EmulatorServer(latency_ms=150) as emu, client_for(emu) as http:
        started = time.monotonic()
        http.get("/account")
        assert time.monotonic() - started >= 0.15


def test_request_counts_per_app_and_reset(emu: EmulatorServer, http: httpx.Client) -> None:
    app = new_app(http, "count-app")
    addon = http.post("/apps/count-app/addons", json={"plan": "heroku-postgresql"}).json()
    emu.reset_counts()
    http.get("/apps/count-app")
    http.get(f"/apps/{app['id']}/formation")
    http.get(f"/client/v11/databases/{addon['id']}/transfer-schedules")
    http.get("/account")
    assert emu.request_count("count-app") == 3
    assert emu.request_count() == 4
    emu.reset_counts()
    assert emu.request_count() == 0 and emu.request_count("count-app") == 0


@settings(max_examples=60, deadline=None)
@given(
    ids=st.sets(st.uuids().map(str), max_size=60),
    size=st.integers(min_value=1, max_value=25),
    field=st.sampled_from(["id", "version"]),
    desc=st.booleans(),
)
def test_following_next_range_visits_each_item_once_in_order(
    ids: set[str], size: int, field: str, desc: bool
) -> None:
    items = [{"id": i, "version": n + 1} for n, i in enumerate(sorted(ids))]
    header: str | None = f"{field} ..; max={size}" + (", order=desc" if desc else "")
    seen: list[object] = []
    for _ in range(len(items) + 2):
        page, headers = paginate(items, header, "id")
        seen += [item[field] for item in page]
        header = headers.get("Next-Range")
        if header is None:
            break
        assert len(page) == size
    assert seen == sorted((item[field] for item in items), reverse=desc)


@settings(max_examples=50, deadline=None)
@given(
    header=st.one_of(
        st.text(max_size=40),
        st.builds(
            "{} {}..{}; {}".format,
            st.sampled_from(["id", "name", "version", "maintenance", "stack", "zz"]),
            st.text(max_size=8),
            st.text(max_size=8),
            st.text(max_size=12),
        ),
    ),
    path=st.sampled_from(["/apps", "/apps/range-fuzz/releases", "/stacks", "/addons"]),
)
def test_any_range_header_is_answered_without_a_server_error(
    http: httpx.Client, header: str, path: str
) -> None:
    if http.get("/apps/range-fuzz").status_code == 404:
        new_app(http, "range-fuzz")
    try:
        response = http.get(path, headers={"Range": header})
    except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
        return  # not a header an HTTP client can send
    assert response.status_code in (200, 206, 400), (header, response.text)


def closed_by_server(sock: socket.socket, wait: float = 5.0) -> bool:
    """True once the emulator has closed this connection (end of stream), False if it stays open."""
    sock.settimeout(wait)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def read_answer(sock: socket.socket) -> bytes:
    """One whole HTTP answer (head and Content-Length body) from a raw socket."""
    sock.settimeout(5)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
        head, end_of_head, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *([0-9]+)", head)
        if end_of_head and len(body) >= int(length[1] if length else 0):
            break
    return data


def test_idle_and_half_sent_connections_do_not_lock_clients_out() -> None:
    # A few hundred connections that never finish a request used to hold a file descriptor
    # each, for ever: at about 1,000 the emulator accepted no one.
    with EmulatorServer(max_connections=40) as emu, client_for(emu) as http:
        idle = []
        for n in range(300):
            sock = socket.create_connection((emu.host, emu.port))
            if n % 2:
                sock.sendall(b"GET /account HTTP/1.1\r\nHost: x\r\n")
            idle.append(sock)
        try:
            assert http.get("/account").status_code == 200
            assert closed_by_server(idle[0]) and closed_by_server(idle[1])
            assert not closed_by_server(idle[-1], wait=0.05)
        finally:
            for sock in idle:
                sock.close()


def test_a_request_head_not_sent_in_time_closes_the_connection() -> None:
    with EmulatorServer(header_timeout=0.2) as emu:
        with socket.create_connection((emu.host, emu.port)) as slow:
            slow.sendall(b"GET /account HTTP/1.1\r\n")
            assert closed_by_server(slow)
        with socket.create_connection((emu.host, emu.port)) as silent:
            assert closed_by_server(silent)
        # An idle keep-alive connection between two requests is not cut by the header timeout.
        with client_for(emu) as http:
            assert http.get("/account").status_code == 200
            time.sleep(0.4)
            assert http.get("/account").status_code == 200
            assert http.get("/account").http_version == "HTTP/1.1"


def test_a_body_not_sent_in_time_is_408(
    emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(responses, "BODY_TIMEOUT", 0.2)
    with socket.create_connection((emu.host, emu.port)) as sock:
        sock.sendall(
            b"PATCH /apps/anything/config-vars HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {emu.api_key}\r\n".encode()
            + b"Content-Length: 100\r\n\r\n{"
        )
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in answer


def test_when_every_connection_is_busy_a_newcomer_gets_503() -> None:
    with EmulatorServer(max_connections=2, latency_ms=500) as emu:
        busy = [socket.create_connection((emu.host, emu.port)) for _ in range(2)]
        for sock in busy:
            sock.sendall(b"GET /account HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 5
        while emu.request_count() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        with socket.create_connection((emu.host, emu.port)) as late:
            answer = read_answer(late)
        assert answer.startswith(b"HTTP/1.1 503") and b'"service_unavailable"' in answer
        for sock in busy:
            assert read_answer(sock).startswith(b"HTTP/1.1 401")  # served in the end (no key)
            sock.close()
