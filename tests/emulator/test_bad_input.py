"""A corpus of bad input gets Heroku-style 4xx answers and leaves the state file unchanged."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from emu_helpers import client_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herokustack.emulator import EmulatorServer

WRITES = [
    ("POST", "/apps"),
    ("PATCH", "/apps/victim"),
    ("PATCH", "/apps/victim/formation"),
    ("PATCH", "/apps/victim/formation/web"),
    ("PATCH", "/apps/victim/config-vars"),
    ("POST", "/apps/victim/addons"),
    ("PATCH", "/apps/victim/addons/victim-db"),
    ("POST", "/apps/victim/slugs"),
    ("POST", "/apps/victim/releases"),
    ("POST", "/actions/addons/resolve"),
    ("POST", "/actions/addon-attachments/resolve"),
    ("POST", "/client/v11/databases/victim-db/transfer-schedules"),
]
# For each write, bodies of the right shape but wrong types or values.
WRONG = {
    "/apps": st.fixed_dictionaries(
        {"name": st.one_of(st.integers(), st.text().filter(lambda s: s.lower() != s or "_" in s))}
    ),
    "/apps/victim": st.fixed_dictionaries(
        {
            "maintenance": st.one_of(
                st.text(), st.floats(allow_nan=False, allow_infinity=False), st.lists(st.none())
            )
        }
    ),
    "/apps/victim/formation": st.fixed_dictionaries(
        {"updates": st.one_of(st.integers(), st.text(), st.lists(st.integers(), min_size=1))}
    ),
    "/apps/victim/formation/web": st.fixed_dictionaries(
        {"quantity": st.one_of(st.integers(max_value=-1), st.integers(min_value=101), st.text())}
    ),
    "/apps/victim/config-vars": st.dictionaries(
        st.text(min_size=1).filter(lambda k: not k.isascii() or not k.replace("_", "").isalnum()),
        st.text(),
        min_size=1,
    ),
    "/apps/victim/addons": st.fixed_dictionaries(
        {"plan": st.one_of(st.integers(), st.text().filter(lambda s: ":" not in s or len(s) > 60))}
    ),
    "/apps/victim/addons/victim-db": st.fixed_dictionaries(
        {"plan": st.sampled_from(["heroku-redis:mini", "papertrail", "nope:nope", 7])}
    ),
    "/apps/victim/slugs": st.fixed_dictionaries(
        {
            "process_types": st.one_of(
                st.text(), st.dictionaries(st.text(), st.integers(), min_size=1)
            )
        }
    ),
    "/apps/victim/releases": st.fixed_dictionaries(
        {"slug": st.one_of(st.integers(), st.uuids().map(str))}
    ),
    "/actions/addons/resolve": st.fixed_dictionaries({"addon": st.integers()}),
    "/actions/addon-attachments/resolve": st.fixed_dictionaries(
        {"addon_attachment": st.text(alphabet="ÀΩж/.\\%", min_size=1)}
    ),
    "/client/v11/databases/victim-db/transfer-schedules": st.fixed_dictionaries(
        {
            "hour": st.one_of(
                st.integers(min_value=24), st.integers(max_value=-1), st.text(max_size=3)
            ),
            "timezone": st.text(max_size=8),
        }
    ),
}


def not_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return True
    return False


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorServer, Path]]:
    path = tmp_path_factory.mktemp("bad-input") / "state.sqlite"
    with EmulatorServer(data_path=str(path)) as emu, client_for(emu) as http:
        http.post("/apps", json={"name": "victim"}).raise_for_status()
        emu.deploy("victim", {"web": "gunicorn"})
        http.patch("/apps/victim/config-vars", json={"KEEP": "me"}).raise_for_status()
        body = {"plan": "heroku-postgresql:essential-0", "name": "victim-db"}
        http.post("/apps/victim/addons", json=body).raise_for_status()
        yield emu, path


@pytest.fixture(scope="module")
def attack(victim: tuple[EmulatorServer, Path]) -> Iterator[tuple[httpx.Client, Path]]:
    emu, path = victim
    with client_for(emu) as http:
        yield http, path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert set(body) - {"resource"} == {"id", "message"} and body["message"]


SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(
    target=st.sampled_from(WRITES),
    # A blank body means {} (POST /apps without one creates an app, as on Heroku): not here.
    raw=st.binary(min_size=1, max_size=200).filter(lambda r: bool(r.strip()) and not_json(r)),
)
def test_malformed_json(
    attack: tuple[httpx.Client, Path], target: tuple[str, str], raw: bytes
) -> None:
    http, path = attack
    before = digest(path)
    response = http.request(target[0], target[1], content=raw)
    assert response.status_code == 400 and response.json()["id"] == "bad_request"
    assert digest(path) == before


@SLOW
@given(
    target=st.sampled_from(WRITES),
    body=st.one_of(st.lists(st.integers()), st.integers(), st.text(min_size=1), st.booleans()),
)
def test_bodies_that_are_not_objects(
    attack: tuple[httpx.Client, Path], target: tuple[str, str], body: object
) -> None:
    http, path = attack
    before = digest(path)
    assert_refused(http.request(target[0], target[1], json=body))
    assert digest(path) == before


@SLOW
@given(
    target=st.sampled_from([w for w in WRITES if not w[1].endswith("config-vars")]),
    field=st.text(min_size=1).map(lambda s: f"zz_{s}"),
    value=st.one_of(st.none(), st.integers(), st.text()),
)
def test_unknown_fields(
    attack: tuple[httpx.Client, Path], target: tuple[str, str], field: str, value: object
) -> None:
    http, path = attack
    before = digest(path)
    assert_refused(http.request(target[0], target[1], json={field: value}))
    assert digest(path) == before


@SLOW
@given(data=st.data(), target=st.sampled_from(WRITES))
def test_wrong_types_and_values(
    attack: tuple[httpx.Client, Path], data: st.DataObject, target: tuple[str, str]
) -> None:
    http, path = attack
    body = data.draw(WRONG[target[1]])
    before = digest(path)
    assert_refused(http.request(target[0], target[1], json=body))
    assert digest(path) == before


@SLOW
@given(
    name=st.one_of(
        st.text(min_size=1, max_size=40),
        st.sampled_from(
            ["../victim", "..%2Fvictim", "victim/../victim", "%00", "VICTIM", "vîctim", "/"]
        ),
    ).filter(lambda n: n != "victim"),
    method=st.sampled_from(["GET", "PATCH", "DELETE"]),
    suffix=st.sampled_from(["", "/formation", "/config-vars", "/addons/victim-db", "/releases"]),
)
def test_unknown_unicode_and_traversal_names(
    attack: tuple[httpx.Client, Path], name: str, method: str, suffix: str
) -> None:
    http, path = attack
    before = digest(path)
    body = {"updates": []} if suffix == "/formation" else {}
    response = http.request(method, f"/apps/{quote(name, safe='')}{suffix}", json=body)
    assert response.status_code in (404, 405, 422), response.text
    assert digest(path) == before


def test_huge_and_deep_bodies(attack: tuple[httpx.Client, Path]) -> None:
    http, path = attack
    before = digest(path)
    huge = {"KEY": "x" * (2 * 1024 * 1024)}
    assert http.patch("/apps/victim/config-vars", json=huge).status_code == 413
    deep = "[" * 100_000 + "]" * 100_000
    assert_refused(http.post("/apps", content=deep.encode()))
    assert_refused(http.post("/apps", content=b'{"name": NaN}'))
    assert_refused(http.post("/apps", content=b"\xff\xfe{}"))
    assert digest(path) == before
    assert http.get("/apps/victim/config-vars").json()["KEEP"] == "me"
