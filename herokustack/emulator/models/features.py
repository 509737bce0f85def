"""App features, `/apps/{app}/features`: Heroku's list of per-app switches (preboot, ...),
and the account's, `/account/features` (Heroku Labs' "User Features").

Every app lists every feature of `CATALOG`, disabled unless it was enabled; only an app's
enabled or disabled-by-PATCH features have a row. A name Heroku does not list is its 404
`not_found`. `state` is `general` for features the official CLI's `heroku features` shows,
`beta` for the Heroku Labs ones (`heroku labs`).

The account lists `ACCOUNT_CATALOG`, each at its `default` until a PATCH: two of Heroku's
account features (its list is longer and changes; the descriptions here are ours).
`dashboard-repositories-api` starts on so that the official CLI's `reviewapps:enable` and
`:disable` read the pipeline's repository from the Platform API (`/pipelines/{id}/repo`)
instead of Heroku's GitHub service (kolkrabbi, another host).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from herokustack.emulator import catalog
from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.db import Json, Store, check_fields, invalid, not_found

SCHEMA = """
CREATE TABLE IF NOT EXISTS app_features (
  app_id TEXT NOT NULL, name TEXT NOT NULL, enabled INTEGER NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (app_id, name));
CREATE TABLE IF NOT EXISTS account_features (
  name TEXT PRIMARY KEY, enabled INTEGER NOT NULL, updated_at TEXT NOT NULL);
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
    default: bool = False  # enabled before any PATCH (account features only)


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
ACCOUNT_CATALOG: tuple[Feature, ...] = (
    Feature("dashboard-repositories-api", "Repositories API",
            "Read the GitHub repositories connected to pipelines through the Platform API",
            "github-integration", "beta", default=True),
    Feature("metrics-request-volume", "Request volume metrics",
            "Show the request volume of apps in Heroku Metrics", "metrics", "beta"),
)  # fmt: skip


def feature_id(name: str, kind: str = "app") -> str:
    """One id per feature, the same on every app and every run (Heroku's are fixed too)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"heroku-{kind}-feature:{name}"))


def _enabled(body: Json) -> bool:
    check_fields(body, {"enabled"})
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise invalid("Missing required param: enabled (a boolean).")
    return enabled


def _account_feature(c: sqlite3.Connection, feature: Feature) -> Json:
    row = c.execute(
        "SELECT enabled, updated_at FROM account_features WHERE name = ?", (feature.name,)
    ).fetchone()
    return {
        "id": feature_id(feature.name, "account"),
        "name": feature.name,
        "display_name": feature.display_name,
        "description": feature.description,
        "doc_url": DEV_CENTER + feature.doc,
        "enabled": bool(row["enabled"]) if row else feature.default,
        "state": feature.state,
        "feedback_email": FEEDBACK,
        "created_at": catalog.CATALOG_TIME,
        "updated_at": row["updated_at"] if row else catalog.CATALOG_TIME,
    }


class FeaturesState(Store):
    def list_features(self, app_ident: str) -> list[Json]:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            return [self._feature(c, app, f) for f in CATALOG]

    def get_feature(self, app_ident: str, ident: str) -> Json:
        with self.read() as c:
            return self._feature(c, self.app_row(c, app_ident), self._known(ident))

    def set_feature(self, app_ident: str, ident: str, body: Json) -> Json:
        enabled = _enabled(body)
        feature = self._known(ident)
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            c.execute(
                "INSERT OR REPLACE INTO app_features VALUES (?, ?, ?, ?)",
                (app["id"], feature.name, int(enabled), self.now()),
            )
            return self._feature(c, app, feature)

    @staticmethod
    def _known(ident: str, catalog: Sequence[Feature] = CATALOG, kind: str = "app") -> Feature:
        for feature in catalog:
            if ident in (feature.name, feature_id(feature.name, kind)):
                return feature
        raise not_found("Couldn't find that feature.", f"{kind}-feature")

    # -- the account's ----------------------------------------------------------------------------

    def list_account_features(self) -> list[Json]:
        with self.read() as c:
            return [_account_feature(c, f) for f in ACCOUNT_CATALOG]

    def get_account_feature(self, ident: str) -> Json:
        with self.read() as c:
            return _account_feature(c, self._known(ident, ACCOUNT_CATALOG, "account"))

    def set_account_feature(self, ident: str, body: Json) -> Json:
        enabled = _enabled(body)
        feature = self._known(ident, ACCOUNT_CATALOG, "account")
        with self.tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO account_features VALUES (?, ?, ?)",
                (feature.name, int(enabled), self.now()),
            )
            return _account_feature(c, feature)

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
    one, mine = "/apps/{app}/features/{feature}", "/account/features/{feature}"

    def patch(c: Call) -> Json:
        return b.set_feature(c.params["app"], c.params["feature"], c.body)

    return (
        Endpoint("/apps/{app}/features", "GET", lambda c: b.list_features(c.params["app"])),
        Endpoint(one, "GET", lambda c: b.get_feature(c.params["app"], c.params["feature"])),
        Endpoint(one, "PATCH", patch),
        Endpoint("/account/features", "GET", lambda c: b.list_account_features()),
        Endpoint(mine, "GET", lambda c: b.get_account_feature(c.params["feature"])),
        Endpoint(mine, "PATCH", lambda c: b.set_account_feature(c.params["feature"], c.body)),
    )


FAMILY = Family("features", SCHEMA, routes, app_tables=("app_features",))
