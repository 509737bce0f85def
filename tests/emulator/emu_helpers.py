"""Helpers of the emulator tests: an HTTP client and Heroku's schema checker."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT4

from herokustack.emulator import EmulatorServer
from herokustack.resources.domains import HOSTNAME

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / ".." / "shared" / "heroku-platform-api" / "schema.json"
ACCEPT = "application/vnd.heroku+json; version=3"


def client_for(emu: EmulatorServer, key: str | None = None) -> httpx.Client:
    headers = {"Accept": ACCEPT, "Authorization": f"Bearer {key or emu.api_key}"}
    return httpx.Client(base_url=emu.url, headers=headers, timeout=10)


def new_app(http: httpx.Client, name: str, **body: Any) -> dict[str, Any]:
    response = http.post("/apps", json={"name": name, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


class HerokuSchema:
    """Finds the link of Heroku's hyper-schema for a request and validates bodies against it."""

    def __init__(self, path: Path) -> None:
        self.doc = json.loads(path.read_text())
        self.base = self.doc["id"].rstrip("#")
        self.registry = Registry().with_resource(self.base, DRAFT4.create_resource(self.doc))
        self.links: list[tuple[str, re.Pattern[str], str]] = []
        for name, definition in self.doc["definitions"].items():
            for index, link in enumerate(definition.get("links", [])):
                literals = re.split(r"\{\([^)]*\)\}", link["href"])
                pattern = "[^/]+".join(re.escape(part) for part in literals)
                pointer = f"/definitions/{name}/links/{index}"
                self.links.append((link["method"], re.compile(f"^{pattern}$"), pointer))

    def link(self, method: str, path: str) -> str:
        return self.candidates(method, path)[0]

    def candidates(self, method: str, path: str) -> list[str]:
        path = path.split("?", 1)[0]  # a query string (`?eq[name]=...`) is no part of the href
        matches = [p for m, rx, p in self.links if m == method and rx.match(path)]
        # A literal segment beats a placeholder: prefer the link with the longest literal href.
        matches.sort(key=lambda p: -len(re.sub(r"\{\([^)]*\)\}", "", self._href(p))))
        if not matches:
            raise AssertionError(f"no link in Heroku's schema for {method} {path}")
        return matches

    def _href(self, pointer: str) -> str:
        node: Any = self.doc
        for part in pointer.strip("/").split("/"):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return str(node["href"])

    def _validator(self, pointer: str) -> jsonschema.Draft4Validator:
        return _cached_validator(self, pointer)

    def check_response(self, method: str, path: str, body: Any) -> str:
        pointer = self.link(method, path) + "/targetSchema"
        errors = sorted(self._validator(pointer).iter_errors(body), key=str)
        assert not errors, f"{method} {path}: {errors[0].message} at {list(errors[0].path)}"
        return pointer

    def check_request(self, method: str, path: str, body: Any) -> None:
        """Valid for one link of this method and href (POST releases: create or rollback)."""
        problems = []
        for link in self.candidates(method, path):
            errors = sorted(self._validator(link + "/schema").iter_errors(body), key=str)
            if not errors:
                return
            problems.append(errors[0].message)
        raise AssertionError(f"request {method} {path}: {problems}")


FORMATS = jsonschema.FormatChecker()
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(
        re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", value)
    )


@FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(DATE_TIME.match(value))


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if HOSTNAME.match(value):
        # A domain's `hostname` has format "uri" in Heroku's schema, yet Heroku answers (and
        # the official CLI sends) a bare host name: www.example.com, *.example.com.
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


@FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value))


@functools.cache
def _cached_validator(schema: HerokuSchema, pointer: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(
        {"$ref": f"{schema.base}#{pointer}"}, registry=schema.registry, format_checker=FORMATS
    )
