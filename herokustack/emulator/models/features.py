"""App features, `/apps/{app}/features`: Heroku's list of per-app switches (preboot, ...).

Every app lists every feature of `CATALOG`, disabled unless it was enabled; only an app's
enabled or disabled-by-PATCH features have a row. A name Heroku does not list is its 404
`not_found`. `state` is `general` for features the official CLI's `heroku features` shows,
`beta` for the Heroku Labs ones (`heroku labs`).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.db import Json, Store, check_fields, invalid, not_found

SCHEMA = """
CREATE TABLE IF NOT EXISTS app_features (
  app_id TEXT NOT NULL, name TEXT NOT NULL, enabled INTEGER NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (app_id, name));
"""
DEV_CENTER = "https://devcenter.heroku.com/articles/"
FEEDBACK = "feedback@heroku.com"


@dataclass(frozen=True)
class Feature:
    name: str
    display_name: str
    description: str
    doc: str  # the Dev Center article
    state: str = "general"


CATALOG: tuple[Feature, ...] = (
    Feature("http-end-to-end-continue", "HTTP end-to-end 100-continue",
            "Send 100-continue headers to the app rather than answering them in the router",
            "http-routing#http-end-to-end-continue"),
    Feature("http-session-affinity", "Session affinity",
            "Enable session affinity for all requests to this app", "session-affinity"),
    Feature("log-runtime-metrics", "Log runtime metrics",
            "Emit dyno resource usage information into app logs", "log-runtime-metrics",
            "beta"),
    Feature("preboot", "Preboot", "Provide seamless web dyno deploys", "preboot"),
    Feature("runtime-dyno-metadata", "Dyno metadata",
            "Enable dyno metadata in your application's environment (HEROKU_APP_ID, "
            "HEROKU_RELEASE_VERSION, ...)", "dyno-metadata", "beta"),
    Feature("runtime-heroku-metrics", "Language runtime metrics",
            "Emit language runtime metrics (JVM, Ruby, Node.js, Go) to Heroku Metrics",
            "language-runtime-metrics", "beta"),
    Feature("spaces-dns-discovery", "DNS service discovery",
            "Enable DNS service discovery for apps in Private Spaces",
            "dyno-dns-service-discovery"),
)  # fmt: skip
BY_NAME = {f.name: f for f in CATALOG}


def feature_id(name: str) -> str:
    """One id per feature, the same on every app and every run (Heroku's are fixed too)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"heroku-app-feature:{name}"))


class FeaturesState(Store):
    def list_features(self, app_ident: str) -> list[Json]:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            return [self._feature(c, app, f) for f in CATALOG]

    def get_feature(self, app_ident: str, ident: str) -> Json:
        with self.read() as c:
            return self._feature(c, self.app_row(c, app_ident), self._known(ident))

    def set_feature(self, app_ident: str, ident: str, body: Json) -> Json:
        check_fields(body, {"enabled"})
        enabled = body.get("enabled")
        if not isinstance(enabled, bool):
            raise invalid("Missing required param: enabled (a boolean).")
        feature = self._known(ident)
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            c.execute(
                "INSERT OR REPLACE INTO app_features VALUES (?, ?, ?, ?)",
                (app["id"], feature.name, int(enabled), self.now()),
            )
            return self._feature(c, app, feature)

    @staticmethod
    def _known(ident: str) -> Feature:
        for feature in CATALOG:
            if ident in (feature.name, feature_id(feature.name)):
                return feature
        raise not_found("Couldn't find that feature.", "app-feature")

    @staticmethod
    def _feature(c: sqlite3.Connection, app: sqlite3.Row, feature: Feature) -> Json:
        row = c.execute(
            "SELECT enabled, updated_at FROM app_features WHERE app_id = ? AND name = ?",
            (app["id"], feature.name),
        ).fetchone()
        return {
            "id": feature_id(feature.name),
            "name": feature.name,
            "display_name": feature.display_name,
            "description": feature.description,
            "doc_url": DEV_CENTER + feature.doc,
            "enabled": bool(row["enabled"]) if row else False,
            "state": feature.state,
            "feedback_email": FEEDBACK,
            "created_at": app["created_at"],
            "updated_at": row["updated_at"] if row else app["created_at"],
        }


def routes(b: FeaturesState) -> Sequence[Endpoint]:
    one = "/apps/{app}/features/{feature}"

    def patch(c: Call) -> Json:
        return b.set_feature(c.params["app"], c.params["feature"], c.body)

    return (
        Endpoint("/apps/{app}/features", "GET", lambda c: b.list_features(c.params["app"])),
        Endpoint(one, "GET", lambda c: b.get_feature(c.params["app"], c.params["feature"])),
        Endpoint(one, "PATCH", patch),
    )


FAMILY = Family("features", SCHEMA, routes, app_tables=("app_features",))
