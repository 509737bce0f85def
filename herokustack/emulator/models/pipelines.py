"""Pipelines: `/pipelines`, their couplings to apps (`/pipeline-couplings`,
`/apps/{app}/pipeline-couplings`, `/pipelines/{id}/pipeline-couplings`), the config vars of a
stage (`/pipelines/{id}/stage/{stage}/config-vars`, for the `review` and `test` stages: Heroku
CI and review apps read them), the review-app config (`/pipelines/{id}/review-app-config`) and
the app filter the official CLI lists a pipeline's apps with (`POST /filters/apps`).

Rules kept from Heroku: an app is in at most one pipeline (a second coupling is 422); a stage is
one of `STAGES`; a pipeline's owner is a team the account belongs to or the account itself; a
pipeline's name has Heroku's form (`^[a-z][a-z0-9-]{2,29}$`) and, here, is unique (Heroku allows
two of one name, which the CLI then asks to choose between). Deleting a pipeline uncouples its
apps, as Heroku does (herokustack refuses to ask that while apps are coupled). The review-app
config needs a GitHub repository connected to the pipeline, which is done outside the Platform
API (the Dashboard): the emulator takes any `owner/name` for `repo`, and the config connects it.

`GET /pipelines/{id}/repo` answers the connected repository (`full_name`), as Heroku's
repositories API does on the same host (what the official CLI's `reviewapps:enable` reads);
404 when none. It is not in Heroku's schema. `PUT /pipelines/{id}/repo {"full_name": "acme/web"}`
connects one: emulator-only, for tests (on Heroku, the Dashboard or `pipelines:connect`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from herokustack.emulator import catalog
from herokustack.emulator.family import Call, Endpoint, Family
from herokustack.emulator.models.account import ACCOUNT_EMAIL, ACCOUNT_ID
from herokustack.emulator.models.apps import AppsState
from herokustack.emulator.models.db import (
    ApiError,
    Json,
    check_fields,
    identity_of,
    invalid,
    not_found,
    ref,
    want_bool,
    want_int,
    want_str,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS pipelines (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL,
  owner_id TEXT NOT NULL, owner_type TEXT NOT NULL, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pipeline_couplings (
  id TEXT PRIMARY KEY, app_id TEXT UNIQUE NOT NULL, pipeline_id TEXT NOT NULL,
  stage TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pipeline_config_vars (
  pipeline_id TEXT NOT NULL, stage TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (pipeline_id, stage, name));
CREATE TABLE IF NOT EXISTS review_app_configs (
  pipeline_id TEXT PRIMARY KEY, repo TEXT NOT NULL, automatic_review_apps INTEGER NOT NULL,
  destroy_stale_apps INTEGER NOT NULL, stale_days INTEGER NOT NULL, wait_for_ci INTEGER NOT NULL,
  base_name TEXT, deploy_target TEXT);
CREATE TABLE IF NOT EXISTS pipeline_repos (pipeline_id TEXT PRIMARY KEY, full_name TEXT NOT NULL);
"""
STAGES = ("test", "review", "development", "staging", "production")
CONFIG_STAGES = ("test", "review")  # the stages whose config vars Heroku keeps per pipeline
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{2,29}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
CONFIG_NAME_RE = re.compile(r"^[\w.:\[\]]+$")
# What goes with a deleted pipeline.
PIPELINE_TABLES = (
    "pipeline_couplings",
    "pipeline_config_vars",
    "review_app_configs",
    "pipeline_repos",
)
REVIEW_FIELDS = {
    "automatic_review_apps",
    "destroy_stale_apps",
    "stale_days",
    "deploy_target",
    "wait_for_ci",
    "base_name",
}
GENERATION = {"id": catalog.stable_id("generation", "cedar"), "name": "cedar"}


def _stage(value: Any) -> str:
    if value not in STAGES:
        raise invalid(f"Stage must be one of: {', '.join(STAGES)}.")
    return str(value)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise invalid("Name must start with a letter and contain 3 to 30 lowercase letters, "
                      "digits or dashes.")  # fmt: skip
    return value


class PipelinesState(AppsState):
    # -- pipelines ------------------------------------------------------------------------------

    def pipeline_row(self, c: sqlite3.Connection, ident: str) -> sqlite3.Row:
        row = c.execute("SELECT * FROM pipelines WHERE id = ? OR name = ?", (ident, ident))
        found = row.fetchone()
        if found is None:
            raise not_found("Couldn't find that pipeline.", "pipeline")
        return found

    def _pipeline_json(self, row: sqlite3.Row) -> Json:
        return {
            "id": row["id"],
            "name": row["name"],
            "owner": {"id": row["owner_id"], "type": row["owner_type"]},
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "generation": GENERATION,
        }

    def list_pipelines(self, query: dict[str, str]) -> list[Json]:
        """All pipelines; `?eq[name]=NAME` (what the CLI sends) keeps those of that name."""
        wanted = query.get("eq[name]")
        with self.read() as c:
            rows = c.execute("SELECT * FROM pipelines ORDER BY seq").fetchall()
        return [self._pipeline_json(r) for r in rows if wanted in (None, r["name"])]

    def get_pipeline(self, ident: str) -> Json:
        with self.read() as c:
            return self._pipeline_json(self.pipeline_row(c, ident))

    def create_pipeline(self, body: Json) -> Json:
        check_fields(body, {"name", "owner", "generation"})
        name = _name(body.get("name"))
        with self.tx() as c:
            owner = self._pipeline_owner(c, body.get("owner"))
            if c.execute("SELECT 1 FROM pipelines WHERE name = ?", (name,)).fetchone():
                raise invalid("Name is already taken")
            now, pipeline_id = self.now(), self.new_id()
            c.execute(
                "INSERT INTO pipelines (id, name, owner_id, owner_type, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (pipeline_id, name, *owner, now, now),
            )
            return self._pipeline_json(self.pipeline_row(c, pipeline_id))

    def _pipeline_owner(self, c: sqlite3.Connection, owner: Any) -> tuple[str, str]:
        """(id, type) of a pipeline's owner: the account (the default), or one of its teams."""
        if owner is None:
            return ACCOUNT_ID, "user"
        if not isinstance(owner, dict):
            raise invalid("Invalid type for owner: expected an object.")
        check_fields(owner, {"id", "type"})
        kind, ident = owner.get("type"), owner.get("id")
        if kind == "user" and ident in (ACCOUNT_ID, ACCOUNT_EMAIL):
            return ACCOUNT_ID, "user"
        if kind == "team" and isinstance(ident, str):
            team = self.team_row(c, ident)
            if self.role_in(c, team["id"], ACCOUNT_EMAIL) is None:
                raise not_found("Couldn't find that team.", "team")
            return team["id"], "team"
        raise invalid("Owner must be the account (type user) or one of its teams (type team).")

    def update_pipeline(self, ident: str, body: Json) -> Json:
        check_fields(body, {"name"})
        with self.tx() as c:
            row = self.pipeline_row(c, ident)
            if body.get("name") is not None:
                name = _name(body["name"])
                taken = c.execute(
                    "SELECT 1 FROM pipelines WHERE name = ? AND id != ?", (name, row["id"])
                ).fetchone()
                if taken:
                    raise invalid("Name is already taken")
                c.execute(
                    "UPDATE pipelines SET name = ?, updated_at = ? WHERE id = ?",
                    (name, self.now(), row["id"]),
                )
            return self._pipeline_json(self.pipeline_row(c, row["id"]))

    def delete_pipeline(self, ident: str) -> Json:
        """Heroku uncouples the pipeline's apps; its stage config and review config go with it."""
        with self.tx() as c:
            row = self.pipeline_row(c, ident)
            for table in PIPELINE_TABLES:
                c.execute(f"DELETE FROM {table} WHERE pipeline_id = ?", (row["id"],))
            c.execute("DELETE FROM pipelines WHERE id = ?", (row["id"],))
            return self._pipeline_json(row)

    # -- couplings ------------------------------------------------------------------------------

    def _coupling_json(self, c: sqlite3.Connection, row: sqlite3.Row) -> Json:
        app = self.app_row(c, row["app_id"])
        pipeline = self.pipeline_row(c, row["pipeline_id"])
        return {
            "id": row["id"],
            "app": ref(app),
            "pipeline": ref(pipeline),
            "stage": row["stage"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    def _coupling_row(self, c: sqlite3.Connection, ident: str) -> sqlite3.Row:
        row = None
        if UUID_RE.match(ident):
            row = c.execute("SELECT * FROM pipeline_couplings WHERE id = ?", (ident,)).fetchone()
        if row is None:
            raise not_found("Couldn't find that pipeline coupling.", "pipeline_coupling")
        return row

    def list_couplings(self, pipeline: str | None = None) -> list[Json]:
        with self.read() as c:
            if pipeline is None:
                rows = c.execute("SELECT * FROM pipeline_couplings ORDER BY created_at, id")
            else:
                pipeline_id = self.pipeline_row(c, pipeline)["id"]
                rows = c.execute(
                    "SELECT * FROM pipeline_couplings WHERE pipeline_id = ?"
                    " ORDER BY created_at, id",
                    (pipeline_id,),
                )
            return [self._coupling_json(c, r) for r in rows.fetchall()]

    def app_coupling(self, app_ident: str) -> Json:
        with self.read() as c:
            app = self.app_row(c, app_ident)
            row = c.execute(
                "SELECT * FROM pipeline_couplings WHERE app_id = ?", (app["id"],)
            ).fetchone()
            if row is None:
                raise not_found("Couldn't find that pipeline coupling.", "pipeline_coupling")
            return self._coupling_json(c, row)

    def get_coupling(self, ident: str) -> Json:
        with self.read() as c:
            return self._coupling_json(c, self._coupling_row(c, ident))

    def create_coupling(self, body: Json) -> Json:
        check_fields(body, {"app", "pipeline", "stage"})
        for key in ("app", "pipeline", "stage"):
            if body.get(key) is None:
                raise invalid(f"Missing required param: {key}.")
        stage = _stage(body["stage"])
        with self.tx() as c:
            app = self.app_row(c, identity_of(body["app"], "app"))
            pipeline = self.pipeline_row(c, identity_of(body["pipeline"], "pipeline"))
            taken = c.execute(
                "SELECT 1 FROM pipeline_couplings WHERE app_id = ?", (app["id"],)
            ).fetchone()
            if taken:
                raise invalid("App is already a member of a pipeline.")
            now, coupling_id = self.now(), self.new_id()
            c.execute(
                "INSERT INTO pipeline_couplings VALUES (?, ?, ?, ?, ?, ?)",
                (coupling_id, app["id"], pipeline["id"], stage, now, now),
            )
            return self._coupling_json(c, self._coupling_row(c, coupling_id))

    def update_coupling(self, ident: str, body: Json) -> Json:
        check_fields(body, {"stage"})
        stage = _stage(body.get("stage"))
        with self.tx() as c:
            row = self._coupling_row(c, ident)
            c.execute(
                "UPDATE pipeline_couplings SET stage = ?, updated_at = ? WHERE id = ?",
                (stage, self.now(), row["id"]),
            )
            return self._coupling_json(c, self._coupling_row(c, row["id"]))

    def delete_coupling(self, ident: str) -> Json:
        with self.tx() as c:
            row = self._coupling_row(c, ident)
            answer = self._coupling_json(c, row)
            c.execute("DELETE FROM pipeline_couplings WHERE id = ?", (row["id"],))
            return answer

    def filter_apps(self, body: Json) -> list[Json]:
        """`POST /filters/apps {"in": {"id": [...]}}`: those apps, answered as team apps."""
        check_fields(body, {"in"})
        wanted = body.get("in")
        ids = wanted.get("id") if isinstance(wanted, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise invalid('Filter must be {"in": {"id": [app ids]}}.')
        found = []
        for app_id in dict.fromkeys(ids):
            try:
                found.append(self.get_team_app(app_id))
            except ApiError:
                continue  # Heroku leaves out apps the caller cannot see
        return found

    # -- stage config vars --------------------------------------------------------------------

    def stage_config(self, pipeline: str, stage: str) -> Json:
        stage = self._config_stage(stage)
        with self.read() as c:
            pipeline_id = self.pipeline_row(c, pipeline)["id"]
            rows = c.execute(
                "SELECT name, value FROM pipeline_config_vars WHERE pipeline_id = ? AND stage = ?"
                " ORDER BY name",
                (pipeline_id, stage),
            )
            return {r["name"]: r["value"] for r in rows}

    def update_stage_config(self, pipeline: str, stage: str, body: Json) -> Json:
        stage = self._config_stage(stage)
        for name, value in body.items():
            if not CONFIG_NAME_RE.match(name):
                raise invalid(f"Invalid config var name: {name[:60]!r}.")
            if value is not None and not isinstance(value, str):
                raise invalid(f"Invalid type for {name[:60]}: expected a string or null.")
        with self.tx() as c:
            pipeline_id = self.pipeline_row(c, pipeline)["id"]
            for name, value in body.items():
                c.execute(
                    "DELETE FROM pipeline_config_vars WHERE pipeline_id = ? AND stage = ?"
                    " AND name = ?",
                    (pipeline_id, stage, name),
                )
                if value is not None:
                    c.execute(
                        "INSERT INTO pipeline_config_vars VALUES (?, ?, ?, ?)",
                        (pipeline_id, stage, name, value),
                    )
        return self.stage_config(pipeline, stage)

    @staticmethod
    def _config_stage(stage: str) -> str:
        if stage not in CONFIG_STAGES:
            raise not_found("Couldn't find that stage.", "pipeline_stage")
        return stage

    # -- review-app config --------------------------------------------------------------------

    def _review_json(self, row: sqlite3.Row) -> Json:
        target = json.loads(row["deploy_target"]) if row["deploy_target"] else None
        return {
            "repo": {"id": _repo_id(row["repo"])},
            "automatic_review_apps": bool(row["automatic_review_apps"]),
            "deploy_target": target,
            "destroy_stale_apps": bool(row["destroy_stale_apps"]),
            "stale_days": row["stale_days"],
            "pipeline_id": row["pipeline_id"],
            "wait_for_ci": bool(row["wait_for_ci"]),
            "base_name": row["base_name"],
        }

    def _review_row(self, c: sqlite3.Connection, pipeline: str) -> sqlite3.Row:
        pipeline_id = self.pipeline_row(c, pipeline)["id"]
        row = c.execute(
            "SELECT * FROM review_app_configs WHERE pipeline_id = ?", (pipeline_id,)
        ).fetchone()
        if row is None:
            raise not_found("Couldn't find that review app config.", "review_app_config")
        return row

    def get_review_config(self, pipeline: str) -> Json:
        with self.read() as c:
            return self._review_json(self._review_row(c, pipeline))

    def enable_review_config(self, pipeline: str, body: Json) -> Json:
        check_fields(body, {*REVIEW_FIELDS, "repo", "pipeline"})
        repo = _repo_name(want_str(body, "repo", required=True))
        with self.tx() as c:
            pipeline_id = self.pipeline_row(c, pipeline)["id"]
            c.execute(
                "INSERT OR REPLACE INTO review_app_configs VALUES (?, ?, 0, 0, 5, 0, NULL, NULL)",
                (pipeline_id, repo),
            )
            c.execute("INSERT OR REPLACE INTO pipeline_repos VALUES (?, ?)", (pipeline_id, repo))
            self._set_review(c, pipeline_id, body)
            return self._review_json(self._review_row(c, pipeline_id))

    def update_review_config(self, pipeline: str, body: Json) -> Json:
        check_fields(body, {*REVIEW_FIELDS, "repo", "pipeline"})  # the CLI sends them (null)
        with self.tx() as c:
            row = self._review_row(c, pipeline)
            self._set_review(c, row["pipeline_id"], body)
            return self._review_json(self._review_row(c, row["pipeline_id"]))

    def delete_review_config(self, pipeline: str) -> Json:
        with self.tx() as c:
            row = self._review_row(c, pipeline)
            c.execute("DELETE FROM review_app_configs WHERE pipeline_id = ?", (row["pipeline_id"],))
            return self._review_json(row)

    # -- the connected GitHub repository -------------------------------------------------------

    def get_repo(self, pipeline: str) -> Json:
        with self.read() as c:
            pipeline_id = self.pipeline_row(c, pipeline)["id"]
            row = c.execute(
                "SELECT full_name FROM pipeline_repos WHERE pipeline_id = ?", (pipeline_id,)
            ).fetchone()
        if row is None:
            raise not_found("Couldn't find a repository connected to that pipeline.", "repo")
        return _repo_json(row["full_name"])

    def connect_repo(self, pipeline: str, body: Json) -> Json:
        check_fields(body, {"full_name"})
        name = _repo_name(want_str(body, "full_name", required=True))
        with self.tx() as c:
            pipeline_id = self.pipeline_row(c, pipeline)["id"]
            c.execute("INSERT OR REPLACE INTO pipeline_repos VALUES (?, ?)", (pipeline_id, name))
        return _repo_json(name)

    def _set_review(self, c: sqlite3.Connection, pipeline_id: str, body: Json) -> None:
        sets: dict[str, Any] = {}
        for key in ("automatic_review_apps", "destroy_stale_apps", "wait_for_ci"):
            value = want_bool(body, key)
            if value is not None:
                sets[key] = int(value)
        if body.get("stale_days") is not None:
            days = want_int(body["stale_days"], "stale_days")
            if not 1 <= days <= 30:
                raise invalid("Stale days must be between 1 and 30.")
            sets["stale_days"] = days
        if "base_name" in body:
            sets["base_name"] = want_str(body, "base_name")
        if body.get("deploy_target") is not None:
            sets["deploy_target"] = json.dumps(_deploy_target(body["deploy_target"]))
        if sets:
            assignments = ", ".join(f"{k} = ?" for k in sets)
            c.execute(
                f"UPDATE review_app_configs SET {assignments} WHERE pipeline_id = ?",
                (*sets.values(), pipeline_id),
            )


def _repo_name(value: str | None) -> str:
    if not value or not REPO_RE.match(value):
        raise invalid("Repo must be the full name of a GitHub repository (owner/name).")
    return value


def _repo_json(name: str) -> Json:
    return {"id": _repo_id(name), "full_name": name, "html_url": f"https://github.com/{name}"}


def _repo_id(repo: str) -> int:
    """GitHub's repository ids are integers: one per name, the same every run."""
    return int(catalog.stable_id("repo", repo).replace("-", "")[:8], 16)


def _deploy_target(value: Any) -> Json:
    """A region (`{"id": "us", "type": "region"}`); Private Spaces are not emulated."""
    if not isinstance(value, dict):
        raise invalid("Invalid type for deploy_target: expected an object.")
    check_fields(value, {"id", "type"})
    if value.get("type") != "region" or value.get("id") not in {r.name for r in catalog.REGIONS}:
        raise invalid('Deploy target must be a region: {"id": "us", "type": "region"}.')
    return {"id": value["id"], "type": "region"}


def routes(b: PipelinesState) -> Sequence[Endpoint]:
    one, review = "/pipelines/{pipeline}", "/pipelines/{pipeline}/review-app-config"
    couplings, stage = "/pipeline-couplings", "/pipelines/{pipeline}/stage/{stage}/config-vars"

    def pipe(c: Call) -> str:
        return c.params["pipeline"]

    return (
        Endpoint("/pipelines", "GET", lambda c: b.list_pipelines(c.query), list_field="id"),
        Endpoint("/pipelines", "POST", lambda c: b.create_pipeline(c.body), status=201),
        Endpoint(one, "GET", lambda c: b.get_pipeline(pipe(c))),
        Endpoint(one, "PATCH", lambda c: b.update_pipeline(pipe(c), c.body)),
        Endpoint(one, "DELETE", lambda c: b.delete_pipeline(pipe(c))),
        Endpoint(
            "/pipelines/{pipeline}/pipeline-couplings",
            "GET",
            lambda c: b.list_couplings(pipe(c)),
            list_field="id",
        ),
        Endpoint(couplings, "GET", lambda c: b.list_couplings(), list_field="id"),
        Endpoint(couplings, "POST", lambda c: b.create_coupling(c.body), status=201),
        Endpoint(couplings + "/{coupling}", "GET", lambda c: b.get_coupling(c.params["coupling"])),
        Endpoint(
            couplings + "/{coupling}",
            "PATCH",
            lambda c: b.update_coupling(c.params["coupling"], c.body),
        ),
        Endpoint(
            couplings + "/{coupling}", "DELETE", lambda c: b.delete_coupling(c.params["coupling"])
        ),
        Endpoint(
            "/apps/{app}/pipeline-couplings", "GET", lambda c: b.app_coupling(c.params["app"])
        ),
        Endpoint(stage, "GET", lambda c: b.stage_config(pipe(c), c.params["stage"])),
        Endpoint(
            stage, "PATCH", lambda c: b.update_stage_config(pipe(c), c.params["stage"], c.body)
        ),
        Endpoint(review, "GET", lambda c: b.get_review_config(pipe(c))),
        Endpoint(review, "POST", lambda c: b.enable_review_config(pipe(c), c.body), status=201),
        Endpoint(review, "PATCH", lambda c: b.update_review_config(pipe(c), c.body)),
        Endpoint(review, "DELETE", lambda c: b.delete_review_config(pipe(c))),
        Endpoint(one + "/repo", "GET", lambda c: b.get_repo(pipe(c))),
        Endpoint(one + "/repo", "PUT", lambda c: b.connect_repo(pipe(c), c.body)),  # tests
        Endpoint("/filters/apps", "POST", lambda c: b.filter_apps(c.body), list_field="id"),
    )


FAMILY = Family("pipelines", SCHEMA, routes, app_tables=("pipeline_couplings",))
