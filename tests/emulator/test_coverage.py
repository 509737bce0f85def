"""docs/emulator-coverage.md is current, and what it calls *not served* answers Heroku's 404.

Served routes are exercised by test_schema.py (it fails when a route is never called); this
module checks the rest of the table: the committed file equals a regeneration, each link it
calls not served is refused as api.heroku.com refuses an endpoint it lacks, and every route
of the emulator is described by a link of Heroku's schema (or is the Postgres data API).
"""

from __future__ import annotations

import ast
import json
import re

import httpx
import pytest
from emu_helpers import ROOT, SCHEMA_PATH, new_app
from hypothesis import given
from hypothesis import strategies as st

from herokustack.emulator import coverage
from herokustack.emulator.responses import UNKNOWN_ROUTE

DOC = ROOT / "docs" / "emulator-coverage.md"
SCHEMA = json.loads(SCHEMA_PATH.read_text()) if SCHEMA_PATH.exists() else {"definitions": {}}
ALL_LINKS = coverage.load_links(SCHEMA, SCHEMA["definitions"]) if SCHEMA["definitions"] else []
ROUTES = coverage.emulator_routes()
ROWS = coverage.coverage(coverage.load_links(SCHEMA), ROUTES) if ALL_LINKS else []


def test_committed_table_is_current() -> None:
    assert ROWS, f"Heroku's schema is missing: {SCHEMA_PATH}"
    fresh = coverage.document(SCHEMA_PATH)
    assert DOC.exists() and DOC.read_text() == fresh, (
        "docs/emulator-coverage.md is stale: run `make coverage-doc`"
        " (python -m herokustack.emulator.coverage > docs/emulator-coverage.md)"
    )


def test_the_named_schema_test_exists() -> None:
    path, _, name = coverage.SCHEMA_TEST.partition("::")
    tree = ast.parse((ROOT / path).read_text())
    assert name in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def _probe_path(link: coverage.Link, app: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = coverage.PLACEHOLDER.sub(lambda m: m.group(1), match.group(0))
        if "%2Fapp%2F" in name:
            return app
        return "~" if "%2Faccount%2F" in name else "probe-x"

    return coverage.PLACEHOLDER.sub(fill, link.href)


@pytest.mark.parametrize(
    "link",
    [r.link for r in ROWS if r.route is None],
    ids=lambda link: f"{link.method} {link.path}",
)
def test_not_served_links_answer_heroku_404(http: httpx.Client, link: coverage.Link) -> None:
    app = "coverage-probe"
    if http.get(f"/apps/{app}").status_code == 404:
        new_app(http, app)
    body = {} if link.method in ("POST", "PATCH", "PUT") else None
    response = http.request(link.method, _probe_path(link, app), json=body)
    assert response.status_code == 404, response.text
    assert response.json() == {"id": "not_found", "message": UNKNOWN_ROUTE}
    assert response.headers["Request-Id"]


def test_every_route_is_a_schema_link_or_the_data_api() -> None:
    strays = [
        f"{m} {t}"
        for m, t in coverage.outside(ALL_LINKS, ROUTES)
        if not t.startswith(("/client/v11/", "/data/", "/postgres/v0/", "/redis/v0/"))
        and t != "/buildpacks/{namespace}/{name}"  # the buildpack registry, not the Platform API
        and t != "/pipelines/{pipeline}/repo"  # Heroku's repositories API (same host, no schema)
    ]
    assert ALL_LINKS and not strays, f"routes no link of Heroku's schema describes: {strays}"


@given(link=st.sampled_from(ALL_LINKS or [coverage.Link("x", "x", "GET", "/x")]))
def test_a_route_serves_the_links_of_its_shape_only(link: coverage.Link) -> None:
    template = coverage.PLACEHOLDER.sub("{p}", link.href)
    assert coverage.serves((link.method, template), link)
    assert coverage.serves((link.method, template.replace("{p}", "~")), link)
    other = "DELETE" if link.method != "DELETE" else "GET"
    assert not coverage.serves((other, template), link)
    assert not coverage.serves((link.method, template + "/more"), link)
    assert not coverage.serves((link.method, "/elsewhere" + template), link)
