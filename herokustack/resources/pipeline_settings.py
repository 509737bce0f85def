"""What belongs to a pipeline rather than to one app: the `[pipeline]` table, written in one
stack file of the pipeline (where review apps are configured; usually production's).

    [pipeline]                          # name: the file's [app] pipeline, or `name = "acme"`
    [pipeline.review_apps]              # Heroku's review-app config of the pipeline
    repo = "acme/web"                   # the GitHub repository connected to the pipeline
    automatic = true                    # a review app for each pull request
    destroy_stale_after_days = 5        # 1..30; omitted: stale review apps are kept
    wait_for_ci = true
    base_name = "acme-pr"               # review apps are named <base_name>-pr-<number>
    region = "eu"                       # deploy target (us | eu)
    [pipeline.config.review]            # config vars of every review app (stage review)
    DEBUG = "1"
    API_TOKEN = { from_env = "REVIEW_API_TOKEN" }
    [pipeline.config.test]              # of Heroku CI's test runs (stage test)

`destroy = true` (with `name`, in a file whose app is not in that pipeline) deletes the
pipeline, which is refused while an app is still coupled to it (other than those the same plan
uncouples): uncoupling first is an ordinary change of each app's file.

Heroku needs the pipeline connected to the GitHub repository before review apps can be enabled,
which the Platform API cannot do (Dashboard → the pipeline → Settings → GitHub, or
`heroku pipelines:connect`): the plan line that enables them says so, instead of failing at
apply. Only declared config var names are managed; secrets come from the environment
(`from_env`) and are compared by value, shown as `(sensitive)`, hashed in saved plans.

Reads, once per run and only for pipelines a file writes `[pipeline]` for (with the lookup
`GET /pipelines/{name}` that coupling shares): `GET /pipelines/{id}/review-app-config` when
`review_apps` is declared, `GET /pipelines/{id}/stage/{stage}/config-vars` per declared stage,
`GET /pipelines/{id}/pipeline-couplings` with `destroy`. Apply (step 16, after couplings):
`POST` (first time) or `PATCH /pipelines/{id}/review-app-config`, one
`PATCH /pipelines/{id}/stage/{stage}/config-vars` per stage, `DELETE /pipelines/{id}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import Field

from herokustack.resources import pipelines
from herokustack.resources.base import (
    Action,
    Change,
    Kind,
    Loc,
    PlanContext,
    Step,
    Strict,
    secret_hash,
)
from herokustack.resources.config_vars import ConfigField, ConfigVarName, FromEnv

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.stackfile import Stack, StackFile

ConfigStage = Literal["review", "test"]
FACTS = "pipeline_settings"  # LiveState.extra of the file's app, read by `read_settings`
GITHUB_NOTE = (
    "needs the GitHub repository {repo} connected to the pipeline first (Dashboard → pipeline "
    "→ Settings, or heroku pipelines:connect): the Platform API cannot connect it"
)


class ReviewApps(Strict):
    """The pipeline's review-app config."""

    repo: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="The GitHub repository (owner/name) connected to the pipeline.",
    )
    automatic: bool = Field(default=False, description="A review app for each pull request.")
    destroy_stale_after_days: int | None = Field(
        default=None, ge=1, le=30, description="Destroy stale review apps after N days."
    )
    wait_for_ci: bool = Field(default=False, description="Create them once CI passes.")
    base_name: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]{1,20}$",
        description="Prefix of review app names.",
    )
    region: Literal["us", "eu"] | None = Field(default=None, description="Deploy target.")


class PipelineSpec(Strict):
    """Pipeline-wide settings, in one stack file of the pipeline."""

    name: pipelines.PipelineName | None = Field(
        default=None, description="The pipeline (default: this file's [app] pipeline)."
    )
    destroy: bool = Field(default=False, description="Delete the pipeline (refused while apps "
                          "are coupled to it).")  # fmt: skip
    review_apps: ReviewApps | None = Field(default=None, description="Review-app config.")
    config: dict[str, dict[ConfigVarName, ConfigField]] = Field(
        default_factory=dict, description="Config vars of the review and test stages."
    )


def pipeline_named(spec: StackFile) -> str | None:
    settings = spec.pipeline
    if settings is None:
        return None
    if settings.name:
        return settings.name
    return spec.app.pipeline if isinstance(spec.app.pipeline, str) else None


def _review_body(want: ReviewApps) -> dict[str, Any]:
    """The review-app config as Heroku takes it."""
    return {
        "automatic_review_apps": want.automatic,
        "destroy_stale_apps": want.destroy_stale_after_days is not None,
        "stale_days": want.destroy_stale_after_days or 5,
        "wait_for_ci": want.wait_for_ci,
        "base_name": want.base_name,
        "deploy_target": {"id": want.region, "type": "region"} if want.region else None,
    }


def _review_live(doc: Mapping[str, Any]) -> dict[str, Any]:
    target = doc.get("deploy_target")
    region = None
    if isinstance(target, dict) and target.get("type") == "region":
        region = target.get("id")
    destroy = bool(doc.get("destroy_stale_apps"))
    return {
        "automatic_review_apps": bool(doc.get("automatic_review_apps")),
        "destroy_stale_apps": destroy,
        "stale_days": doc.get("stale_days") if destroy else 5,
        "wait_for_ci": bool(doc.get("wait_for_ci")),
        "base_name": doc.get("base_name"),
        "deploy_target": {"id": region, "type": "region"} if region else None,
    }


# --- reading, once per run ---------------------------------------------------------------------


def read_settings(
    client: HerokuClient, stacks: Sequence[Stack], lives: Mapping[str, LiveState]
) -> dict[str, LiveState]:
    """`lives` with, for each file that writes `[pipeline]`, what Heroku has of it."""
    updated = dict(lives)
    for stack in stacks:
        name, settings = pipeline_named(stack.spec), stack.spec.pipeline
        if name is None or settings is None or not lives[stack.name].exists:
            continue
        found = pipelines.find_pipeline(client, name)
        facts: dict[str, Any] = {"id": found["id"] if found else None}
        if found:
            facts.update(_read_parts(client, stack, settings, str(found["id"]), stacks))
        updated[stack.name] = lives[stack.name].with_facts({FACTS: facts})
    return updated


def _read_parts(
    client: HerokuClient, stack: Stack, settings: PipelineSpec, pid: str, stacks: Sequence[Stack]
) -> dict[str, Any]:
    base = pipelines._pipeline_path(pid)
    facts: dict[str, Any] = {"config": {}}
    if settings.review_apps is not None:
        facts["review"] = _optional(client, f"{base}/review-app-config", "review_app_config")
    for stage in settings.config:
        facts["config"][stage] = client.get_object(f"{base}/stage/{stage}/config-vars")
    if settings.destroy:
        name = pipeline_named(stack.spec)
        leaving = {s.name for s in stacks if s.spec.app.pipeline not in (None, name)}
        coupled = [str((c.get("app") or {}).get("name") or (c.get("app") or {}).get("id"))
                   for c in client.get_list(f"{base}/pipeline-couplings")]  # fmt: skip
        facts["coupled"] = [a for a in coupled if a not in leaving]
    return facts


def _optional(client: HerokuClient, path: str, what: str) -> dict[str, Any] | None:
    from herokustack.client import ApiError

    try:
        return _review_live(client.get_object(path))
    except ApiError as exc:
        if exc.missing(what):
            return None
        raise


# --- apply -------------------------------------------------------------------------------------


def _write(run: AppRun, changes: list[Change]) -> None:
    name = changes[0].params["pipeline"]
    if any(c.field == "destroy" for c in changes):
        found = pipelines.find_pipeline(run.client, name)
        if found:
            run.client.request("DELETE", pipelines._pipeline_path(str(found["id"])))
        return
    pid = pipelines._pipeline_id(run, changes[0], name)
    base = pipelines._pipeline_path(pid)
    review = [c for c in changes if c.field == "review_apps"]
    if review:
        method = "POST" if review[0].action == "create" else "PATCH"
        body = dict(review[0].params["body"])
        if method == "POST":
            body["repo"] = review[0].params["repo"]
        run.client.request(method, f"{base}/review-app-config", body)
    by_stage: dict[str, dict[str, str]] = {}
    for change in changes:
        if change.field == "config":
            values = by_stage.setdefault(change.params["stage"], {})
            values[change.params["key"]] = _value(run, change)
    for stage, body in by_stage.items():
        run.client.request("PATCH", f"{base}/stage/{stage}/config-vars", body)


def _value(run: AppRun, change: Change) -> str:
    from herokustack.applier import ApplyError

    if not change.sensitive:
        return str(change.after)
    loc = change.params["loc"]
    entry = run.config.get(loc)
    if entry is None or secret_hash(run.key, loc, entry.value) != change.params["secret_hash"]:
        raise ApplyError(
            f"{change.params['loc']}: the secret's value is not the one planned "
            "(its environment variable changed or is missing)"
        )
    return entry.value


# --- the kind ---------------------------------------------------------------------------------


class PipelineSettings(Kind):
    name = "pipeline_settings"
    resource = "pipeline_settings"
    label = "pipeline"
    read_cost = (
        "per run, for a pipeline a file writes [pipeline] for: GET /pipelines/{name}, then "
        "1 request for review_apps, 1 per stage of config, 1 for destroy"
    )
    section = "pipeline"
    section_model = PipelineSpec
    section_description = PipelineSpec.__doc__ or ""
    expected = {
        "pipeline.name": "a Heroku Pipeline name: 3 to 30 lower-case letters, digits or dashes, "
        "starting with a letter",
        "pipeline.review_apps.repo": "a GitHub repository as owner/name",
        "pipeline.review_apps.base_name": "2 to 21 lower-case letters, digits or dashes, "
        "starting with a letter",
        "pipeline.review_apps.destroy_stale_after_days": "a number of days from 1 to 30",
        "pipeline.config.*.*": 'a string or a table like { from_env = "VAR" }',
        "pipeline.config.*.*.[key]": "a config var name: letters, digits and _, not starting "
        "with a digit",
        "pipeline.review_apps.region": 'one of "us", "eu"',
        "pipeline.config.*": 'a table of config vars, under the stage "review" or "test"',
    }
    choices = {"pipeline.review_apps.region": ("us", "eu")}
    named = frozenset({("pipeline", "config"), ("pipeline", "config", "*")})
    hidden_values = frozenset({"pipeline.config."})  # values may be secrets written in clear
    models_at = {"pipeline": PipelineSpec, "pipeline.review_apps": ReviewApps,
                 "pipeline.config.*.*": FromEnv}  # fmt: skip

    def declared(self, spec: StackFile) -> bool:
        return spec.pipeline is not None

    def rules(self, spec: StackFile) -> list[tuple[Loc, str]]:
        settings = spec.pipeline
        if settings is None:
            return []
        if pipeline_named(spec) is None:
            return [(("pipeline",), "name the pipeline: `name` here, or `pipeline` in [app]")]
        stages = [s for s in settings.config if s not in get_args(ConfigStage)]
        if stages:
            return [(("pipeline", "config", stage), "Heroku keeps config vars for the review "
                     "and test stages only (the others are apps: use their [config])")
                    for stage in stages]  # fmt: skip
        if settings.destroy and spec.app.pipeline == pipeline_named(spec):
            return [(("pipeline", "destroy"), "this app is in the pipeline it destroys: set "
                     "`pipeline = false` in [app]")]  # fmt: skip
        if settings.destroy and (settings.review_apps or settings.config):
            return [(("pipeline", "destroy"), "a pipeline destroyed has no review apps or config")]
        return []

    def unique_values(self, spec: StackFile) -> list[tuple[Loc, str]]:
        name = pipeline_named(spec)
        return [(("pipeline",), f"pipeline {name}")] if name else []

    def resolved_values(self, spec: StackFile) -> list[tuple[Loc, Any]]:
        settings = spec.pipeline
        if settings is None:
            return []
        return [
            (("pipeline", "config", stage, key), value)
            for stage, values in settings.config.items()
            for key, value in values.items()
        ]

    def env_names(self, spec: StackFile) -> list[str]:
        return sorted({v.from_env for _, v in self.resolved_values(spec) if isinstance(v, FromEnv)})

    def plan(self, ctx: PlanContext) -> None:
        settings, name = ctx.spec.pipeline, pipeline_named(ctx.spec)
        if settings is None or name is None:
            return
        facts = ctx.live.extra.get(FACTS) or {"id": None, "config": {}}
        params = {"pipeline": name, "team": ctx.spec.app.team}
        if settings.destroy:
            return self._destroy(ctx, name, facts, params)
        if settings.review_apps is not None:
            self._review(ctx, name, settings.review_apps, facts.get("review"), params)
        for stage, values in settings.config.items():
            live = (facts.get("config") or {}).get(stage) or {}
            for key in values:
                self._config(ctx, name, stage, key, live, params)

    def _destroy(self, ctx: PlanContext, name: str, facts: Mapping[str, Any], params: Any) -> None:
        if facts.get("id") is None:
            return  # no such pipeline: nothing to delete
        coupled = facts.get("coupled") or []
        if coupled:
            note = (f"apps are still coupled to it: {', '.join(coupled)} (set `pipeline = false` "
                    "in their files first)")  # fmt: skip
            ctx.add("refused", self.resource, name, field="destroy", note=note, params=params)
            return
        ctx.add("destroy", self.resource, name, field="destroy", params=params)

    def _review(
        self, ctx: PlanContext, name: str, want: ReviewApps, have: Any, params: Any
    ) -> None:
        body = _review_body(want)
        if have == body:
            return
        shown = _review_text(body)
        more = {**params, "body": body, "repo": want.repo}
        if have is None:
            note = GITHUB_NOTE.format(repo=want.repo)
            ctx.add("create", self.resource, name, field="review_apps", after=shown, note=note,
                    params=more)  # fmt: skip
            return
        ctx.add("update", self.resource, name, field="review_apps", before=_review_text(have),
                after=shown, params=more)  # fmt: skip

    def _config(
        self,
        ctx: PlanContext,
        name: str,
        stage: str,
        key: str,
        live: Mapping[str, str],
        params: Any,
    ) -> None:
        loc = f"pipeline.config.{stage}.{key}"
        entry = ctx.config.get(loc)
        if entry is None or live.get(key) == entry.value:
            return  # optional and unset, or the same
        action: Action = "update" if key in live else "create"
        more = {**params, "stage": stage, "key": key, "loc": loc}
        if entry.sensitive:
            # The keyed hash in params, not `value_hash`: saved plans check that one against a
            # `[config]` entry; `_value` checks this one against the environment at apply.
            more["secret_hash"] = secret_hash(ctx.key, loc, entry.value)
            ctx.add(action, self.resource, name, field="config", sensitive=True, params=more,
                    attachment=f"{stage} {key}")  # fmt: skip
            return
        ctx.add(action, self.resource, name, field="config", before=live.get(key),
                after=entry.value, attachment=f"{stage} {key}", params=more)  # fmt: skip

    def steps(self) -> list[Step]:
        return [Step(16, "pipeline settings", _write)]  # after the couplings (15)

    def what(self, change: Change) -> str:
        if change.field == "config":
            return f"pipeline {change.name} config {change.attachment}"
        if change.field == "review_apps":
            return f"pipeline {change.name} review apps"
        return f"pipeline {change.name}"

    def body(self, change: Change) -> str:
        if change.field == "destroy":
            return ": delete the pipeline"
        if change.sensitive:
            return " = (sensitive)" if change.action == "create" else " (sensitive value changed)"
        if change.field == "config":
            if change.action == "create":
                return f" = {json.dumps(change.after)}"
            return f": {json.dumps(change.before)} → {json.dumps(change.after)}"
        if change.action == "create":
            return f": {change.after}"
        return f": {change.before} → {change.after}"

    def drift_what(self, resource_name: str, field: str | None) -> str:
        return f"pipeline {resource_name}" + (f" {field}" if field else "")

    def parts(self, live: LiveState) -> dict[str, Any]:
        return {}

    def touched_parts(self, change: Change) -> list[str]:
        return []


def _review_text(body: Mapping[str, Any]) -> str:
    words = ["automatic" if body["automatic_review_apps"] else "by hand"]
    if body["destroy_stale_apps"]:
        words.append(f"destroy stale after {body['stale_days']} days")
    if body["wait_for_ci"]:
        words.append("wait for CI")
    if body["base_name"]:
        words.append(f"base name {body['base_name']}")
    if body["deploy_target"]:
        words.append(f"region {body['deploy_target']['id']}")
    return ", ".join(words)


KIND = PipelineSettings()
