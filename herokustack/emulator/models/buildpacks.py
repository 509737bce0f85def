"""Buildpack installations, `/apps/{app}/buildpack-installations`, and the buildpack registry's
one lookup the official CLI makes, `GET /buildpacks/{namespace}/{name}`.

A PUT replaces the app's whole ordered list. Each entry is a registry name (`heroku/python`),
a `urn:buildpack:` name, or an http(s) URL. As on Heroku, an installation's `name` is the
registry name when there is one, else the URL; `url` is the name for Heroku's own buildpacks,
the registry's archive for the others, and the URL itself for a URL.

The registry (`HEROKU_BUILDPACK_REGISTRY_URL` of the official CLI) is public: no credentials.
It knows every well-formed `namespace/name`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.db import Json, Store, check_fields, invalid

SCHEMA = """
CREATE TABLE IF NOT EXISTS buildpacks (
  app_id TEXT NOT NULL, ordinal INTEGER NOT NULL, url TEXT NOT NULL, name TEXT NOT NULL,
  PRIMARY KEY (app_id, ordinal));
"""
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$", re.IGNORECASE)
BLOB = "https://buildpack-registry.s3.amazonaws.com/buildpacks/{}.tgz"
BLOB_RE = re.compile(
    r"^https://buildpack-registry\.s3\.amazonaws\.com/buildpacks/([\w-]+/[\w-]+)\.tgz$"
)
URN = "urn:buildpack:"


def installation(value: str) -> tuple[str, str]:
    """(url, name) of one `buildpack` of a PUT, or Heroku's 422."""
    value = value.strip().removeprefix(URN)
    if NAME_RE.match(value):
        return registry_url(value), value
    blob = BLOB_RE.match(value)
    if blob:
        return value, blob.group(1)
    if re.match(r"^https?://[^\s/]+", value):
        return value, value
    raise invalid(f"Buildpack {value[:100]!r} is not a buildpack registry name or a URL.")


def registry_url(name: str) -> str:
    return name if name.startswith("heroku/") else BLOB.format(name)


class BuildpacksState(Store):
    def list_buildpacks(self, app_ident: str) -> list[Json]:
        with self.read() as c:
            return self._buildpacks(c, self.app_row(c, app_ident)["id"])

    def set_buildpacks(self, app_ident: str, body: Json) -> list[Json]:
        check_fields(body, {"updates"})
        updates = body.get("updates")
        if not isinstance(updates, list):
            raise invalid("Missing required param: updates (a list of { buildpack }).")
        rows = []
        for update in updates:
            if not isinstance(update, dict) or not isinstance(update.get("buildpack"), str):
                raise invalid("Invalid type for updates: each is { buildpack: name or URL }.")
            check_fields(update, {"buildpack"})
            rows.append(installation(update["buildpack"]))
        with self.tx() as c:
            app_id = self.app_row(c, app_ident)["id"]
            c.execute("DELETE FROM buildpacks WHERE app_id = ?", (app_id,))
            for ordinal, (url, name) in enumerate(rows):
                c.execute(
                    "INSERT INTO buildpacks VALUES (?, ?, ?, ?)", (app_id, ordinal, url, name)
                )
            return self._buildpacks(c, app_id)

    @staticmethod
    def _buildpacks(c: sqlite3.Connection, app_id: str) -> list[Json]:
        sql = "SELECT ordinal, url, name FROM buildpacks WHERE app_id = ? ORDER BY ordinal"
        return [
            {"buildpack": {"url": r["url"], "name": r["name"]}, "ordinal": r["ordinal"]}
            for r in c.execute(sql, (app_id,))
        ]


def registry_entry(call: Call) -> Json:
    """What the registry answers for a buildpack (the CLI reads `blob_url`)."""
    name = f"{call.params['namespace']}/{call.params['name']}"
    if not NAME_RE.match(name):
        raise invalid(f"{name[:100]!r} is not a buildpack registry name.")
    namespace, short = name.split("/")
    return {"namespace": namespace, "name": short, "blob_url": registry_url(name)}


def routes(b: BuildpacksState) -> Sequence[Endpoint]:
    path = "/apps/{app}/buildpack-installations"
    return (
        Endpoint(path, "GET", lambda c: b.list_buildpacks(c.params["app"])),
        Endpoint(path, "PUT", lambda c: b.set_buildpacks(c.params["app"], c.body)),
        Endpoint("/buildpacks/{namespace}/{name}", "GET", registry_entry, public=True),
    )


FAMILY = Family("buildpacks", SCHEMA, routes, app_tables=("buildpacks",))
