"""App webhooks, `/apps/{app}/webhooks`: subscriptions to an app's events, and their (empty)
event and delivery logs, `/apps/{app}/webhook-events` and `/apps/{app}/webhook-deliveries`.

A webhook has a URL (one per app), the entities it is notified of (`include`, from `ENTITIES`)
and a `level` (`notify`: one attempt; `sync`: retried). Its `secret` signs each notification and
its `authorization` is sent as the `Authorization` header: both are kept and never answered (the
schema's app-webhook has neither). Without a secret Heroku makes one up and answers it once, in
the `Heroku-Webhook-Secret` header of the create (what `heroku webhooks:add` prints). Nothing is
ever delivered here, so the event and delivery lists are empty. Bad input is Heroku's 422
`invalid_params`: an unknown level or entity, a URL that is not http(s), a URL taken by another
webhook of the app; an unknown webhook is its 404.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Sequence
from typing import Any

from herokustack.emulator.family import Call, Endpoint, Family, Reply
from herokustack.emulator.models.db import Json, Store, check_fields, invalid, not_found, ref

SCHEMA = """
CREATE TABLE IF NOT EXISTS app_webhooks (
  id TEXT PRIMARY KEY, app_id TEXT NOT NULL, url TEXT NOT NULL, include TEXT NOT NULL,
  level TEXT NOT NULL, secret TEXT NOT NULL, authorization TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (app_id, url));
"""
# The entities an app webhook can be notified of (Heroku's Dev Center, "App Webhooks"); keep in
# step with herokustack/resources/webhooks.py.
ENTITIES = (
    "api:addon-attachment",
    "api:addon",
    "api:app",
    "api:build",
    "api:collaborator",
    "api:domain",
    "api:dyno",
    "api:formation",
    "api:release",
    "api:sni-endpoint",
    "dyno",
)
LEVELS = ("notify", "sync")
FIELDS = {"url", "include", "level", "secret", "authorization"}
URL_RE = re.compile(r"^https?://[^\s/?#]+(?:[/?#]\S*)?$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SECRET_HEADER = "Heroku-Webhook-Secret"


def _url(value: Any) -> str:
    if not isinstance(value, str) or not URL_RE.match(value):
        raise invalid("Url must be a valid http or https URL.")
    return value


def _include(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise invalid("Include must be a non-empty list of entities.")
    for entity in value:
        if entity not in ENTITIES:
            raise invalid(
                f"Include contains an unknown entity: {entity[:60]!r} "
                f"(one of {', '.join(ENTITIES)})."
            )
    return list(dict.fromkeys(value))  # a repeated entity once


def _level(value: Any) -> str:
    if value not in LEVELS:
        raise invalid("Level must be one of: notify, sync.")
    return str(value)


def _optional_text(body: Json, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid(f"Invalid type for {key}: expected a string.")
    return value


class WebhooksState(Store):
    def list_webhooks(self, app_ident: str) -> list[Json]:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            rows = c.execute(
                "SELECT * FROM app_webhooks WHERE app_id = ? ORDER BY created_at, id", (app["id"],)
            )
            return [_webhook(row, app) for row in rows]

    def get_webhook(self, app_ident: str, ident: str) -> Json:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            return _webhook(self._webhook_row(c, app, ident), app)

    def create_webhook(self, app_ident: str, body: Json) -> Reply:
        check_fields(body, FIELDS)
        for key in ("url", "include", "level"):
            if body.get(key) is None:
                raise invalid(f"Missing required param: {key}.")
        url, include, level = _url(body["url"]), _include(body["include"]), _level(body["level"])
        given = _optional_text(body, "secret")
        secret = given or secrets.token_hex(30)
        authorization = _optional_text(body, "authorization")
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            self._url_free(c, app["id"], url)
            now, webhook_id = self.now(), self.new_id()
            c.execute(
                "INSERT INTO app_webhooks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (webhook_id, app["id"], url, json.dumps(include), level, secret, authorization,
                 now, now),
            )  # fmt: skip
            answer = _webhook(self._webhook_row(c, app, webhook_id), app)
        # Heroku tells a secret it made up, once; one the caller chose it does not repeat.
        return Reply(answer, {} if given else {SECRET_HEADER: secret})

    def update_webhook(self, app_ident: str, ident: str, body: Json) -> Json:
        check_fields(body, FIELDS)
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            row = self._webhook_row(c, app, ident)
            fields: dict[str, Any] = {}
            if body.get("url") is not None:
                fields["url"] = _url(body["url"])
                if fields["url"] != row["url"]:
                    self._url_free(c, app["id"], fields["url"])
            if body.get("include") is not None:
                fields["include"] = json.dumps(_include(body["include"]))
            if body.get("level") is not None:
                fields["level"] = _level(body["level"])
            for key in ("secret", "authorization"):
                if body.get(key) is not None:
                    fields[key] = _optional_text(body, key)
            fields["updated_at"] = self.now()
            assignments = ", ".join(f"{key} = ?" for key in fields)
            c.execute(
                f"UPDATE app_webhooks SET {assignments} WHERE id = ?", (*fields.values(), row["id"])
            )
            return _webhook(self._webhook_row(c, app, row["id"]), app)

    def delete_webhook(self, app_ident: str, ident: str) -> Json:
        with self.tx() as c:
            app = self.app_row(c, app_ident)
            row = self._webhook_row(c, app, ident)
            c.execute("DELETE FROM app_webhooks WHERE id = ?", (row["id"],))
            return _webhook(row, app)

    def webhook_secret(self, app_ident: str, url: str) -> tuple[str, str | None] | None:
        """(secret, authorization) of the app's webhook for `url`: for tests, never answered."""
        with self.read() as c:
            app = self.app_row(c, app_ident)
            row = c.execute(
                "SELECT secret, authorization FROM app_webhooks WHERE app_id = ? AND url = ?",
                (app["id"], url),
            ).fetchone()
            return (row["secret"], row["authorization"]) if row else None

    def no_webhook_log(self, app_ident: str) -> list[Json]:
        """Events and deliveries: nothing is ever delivered by the emulator."""
        with self.read() as c:
            self.app_row(c, app_ident)
        return []

    @staticmethod
    def _url_free(c: sqlite3.Connection, app_id: str, url: str) -> None:
        taken = c.execute(
            "SELECT 1 FROM app_webhooks WHERE app_id = ? AND url = ?", (app_id, url)
        ).fetchone()
        if taken:
            raise invalid("Url has already been taken by another webhook of this app.")

    @staticmethod
    def _webhook_row(c: sqlite3.Connection, app: sqlite3.Row, ident: str) -> sqlite3.Row:
        row = None
        if UUID_RE.match(ident):
            row = c.execute(
                "SELECT * FROM app_webhooks WHERE id = ? AND app_id = ?", (ident, app["id"])
            ).fetchone()
        if row is None:
            raise not_found("Couldn't find that webhook.", "app-webhook")
        return row


def _webhook(row: sqlite3.Row, app: sqlite3.Row) -> Json:
    return {
        "id": row["id"],
        "url": row["url"],
        "include": json.loads(row["include"]),
        "level": row["level"],
        "app": ref(app),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def routes(b: WebhooksState) -> Sequence[Endpoint]:
    many, one = "/apps/{app}/webhooks", "/apps/{app}/webhooks/{webhook}"

    def params(c: Call) -> tuple[str, str]:
        return c.params["app"], c.params["webhook"]

    return (
        Endpoint(many, "GET", lambda c: b.list_webhooks(c.params["app"]), list_field="id"),
        Endpoint(many, "POST", lambda c: b.create_webhook(c.params["app"], c.body), status=201),
        Endpoint(one, "GET", lambda c: b.get_webhook(*params(c))),
        Endpoint(one, "PATCH", lambda c: b.update_webhook(*params(c), c.body)),
        Endpoint(one, "DELETE", lambda c: b.delete_webhook(*params(c))),
        Endpoint(
            "/apps/{app}/webhook-events",
            "GET",
            lambda c: b.no_webhook_log(c.params["app"]),
            list_field="id",
        ),
        Endpoint(
            "/apps/{app}/webhook-deliveries",
            "GET",
            lambda c: b.no_webhook_log(c.params["app"]),
            list_field="id",
        ),
    )


FAMILY = Family("webhooks", SCHEMA, routes, app_tables=("app_webhooks",))
