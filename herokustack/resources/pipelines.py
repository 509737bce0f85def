"""Heroku Pipelines: `[app] pipeline`, the pipeline an app is coupled into.

    [app]
    name = "acme-staging"
    environment = "staging"      # the stage: production, staging, development or review
    team = "acme"                # a new pipeline is owned by the app's team (else the account)
    pipeline = "acme"            # false: in no pipeline (an existing coupling is removed)

Each app's own file says which pipeline it is in, and its stage is its `environment`: a file
reads on its own (no other file is needed to know where the app is), and stage and
environment can never disagree. Without `pipeline` the coupling is not managed (nor read).

Reads: plan reads `GET /apps/{app}/pipeline-couplings` (1 request; the answer names the
pipeline and the stage) only for apps that declare `pipeline`; drift and import read it for
every app. Once per run, for each pipeline that an app joins (not yet coupled into it),
`GET /pipelines/{name}` tells whether it exists, so that the plan says it is created
(`session.plan_with_lives` calls `find_pipelines`).

Apply (step 15, after the app is created, transferred and locked): a missing pipeline is
created once per run (`POST /pipelines`, owner the app's team, `GET /teams/{team}` for its id,
else the account, `GET /account`), under a lock so that two apps of one pipeline applied in
parallel do not make two; then `POST /pipeline-couplings`. A stage change is
`PATCH /pipeline-couplings/{id}`; a move to another pipeline and `pipeline = false` are
`DELETE /pipeline-couplings/{id}` (then the new coupling). herokustack never deletes a
pipeline: an empty one stays, as after `heroku pipelines:remove` (`heroku pipelines:destroy`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Discriminator, Field, StringConstraints, Tag

from herokustack.resources.base import Change, DriftContext, Kind, PlanContext, Step

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import Stack, StackFile

PIPELINE_PATTERN = r"^[a-z][a-z0-9-]{2,29}$"  # Heroku's schema
PipelineName = Annotated[str, StringConstraints(pattern=PIPELINE_PATTERN)]


def _pipeline_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "@name"
    return "@off" if value is False else None


# The tags ("@name", "@off") appear in error locations; the loader drops them.
PipelineValue = Annotated[
    Annotated[PipelineName, Tag("@name")] | Annotated[Literal[False], Tag("@off")],
    Discriminator(
        _pipeline_kind,
        custom_error_type="pipeline_value",
        custom_error_message="must be a pipeline name or false",
    ),
]
PIPELINE_FIELD: Any = Field(
    default=None,
    description="The Heroku Pipeline the app is in, at the stage of its environment; false: in "
    "no pipeline (a coupling is removed); omitted: not managed.",
)
# An app's stage is its environment; Heroku's `test` stage (CI) has no environment.
STAGE_ORDER = ("review", "development", "staging", "production")
FOUND = "pipelines_found"  # LiveState.extra: pipeline name -> exists (read once per run)
_CREATING = threading.Lock()  # one pipeline made once, whatever the apps applied in parallel


def stage_of(spec: StackFile) -> str:
    return spec.app.environment


def _pipeline_path(name: str) -> str:
    from herokustack.client import path_segment

    return f"pipelines/{path_segment(name, 'pipeline name')}"


def _coupling_path(coupling_id: str) -> str:
    from herokustack.client import path_segment

    return f"pipeline-couplings/{path_segment(coupling_id, 'pipeline coupling id')}"


def read_coupling(client: HerokuClient, app: str) -> dict[str, Any] | None:
    from herokustack.client import ApiError, app_path

    try:
        doc = client.get_object(f"{app_path(app)}/pipeline-couplings")
    except ApiError as exc:
        if exc.missing("pipeline_coupling"):
            return None
        raise
    pipeline = doc.get("pipeline") or {}
    return {
        "id": str(doc.get("id")),
        "pipeline_id": str(pipeline.get("id")),
        "pipeline": str(pipeline.get("name") or pipeline.get("id")),
        "stage": str(doc.get("stage")),
    }


def find_pipeline(client: HerokuClient, name: str) -> dict[str, Any] | None:
    from herokustack.client import ApiError

    try:
        return client.get_object(_pipeline_path(name))
    except ApiError as exc:
        if exc.missing("pipeline"):
            return None
        raise


def find_pipelines(
    client: HerokuClient, stacks: Sequence[Stack], lives: Mapping[str, LiveState]
) -> dict[str, LiveState]:
    """`lives` with, for each app joining a pipeline, whether that pipeline exists: one
    `GET /pipelines/{name}` per pipeline per run, only for pipelines some app joins."""
    joining = {s.name: str(s.spec.app.pipeline) for s in stacks if _joins(s, lives[s.name])}
    found = {name: find_pipeline(client, name) is not None for name in set(joining.values())}
    updated = dict(lives)
    for app, name in joining.items():
        updated[app] = lives[app].with_facts({FOUND: {name: found[name]}})
    return updated


def with_pipelines(
    client: HerokuClient, stacks: Sequence[Stack], lives: Mapping[str, LiveState]
) -> dict[str, LiveState]:
    """What plan and drift read once per run: the pipelines apps join, and the `[pipeline]`
    settings (review apps, stage config vars) of those a file writes."""
    from herokustack.resources import pipeline_settings

    found = find_pipelines(client, stacks, lives)
    return pipeline_settings.read_settings(client, stacks, found)


def _joins(stack: Stack, live: LiveState) -> bool:
    want = stack.spec.app.pipeline
    if not isinstance(want, str):
        return False
    have = KIND.facts(live) if live.exists else None
    return have is None or have["pipeline"] != want


# --- apply ---------------------------------------------------------------------------------


def _owner(run: AppRun, team: str | None) -> dict[str, str]:
    from herokustack.client import path_segment

    if team:
        doc = run.client.get_object(f"teams/{path_segment(team, 'team name')}")
        return {"id": str(doc["id"]), "type": "team"}
    return {"id": str(run.client.get_object("account")["id"]), "type": "user"}


def _pipeline_id(run: AppRun, change: Change, name: str) -> str:
    with _CREATING:
        found = find_pipeline(run.client, name)
        if found is None:
            body = {"name": name, "owner": _owner(run, change.params.get("team"))}
            found = run.client.request("POST", "pipelines", body).json()
            run.note(change, f"created pipeline {name}")
    return str(found["id"])


def _couple(run: AppRun, changes: list[Change]) -> None:
    change = changes[0]
    if change.params.get("coupling_id"):  # leaving the pipeline, or moving to another one
        _uncouple(run, change.params["coupling_id"])
    if change.action == "destroy":
        return
    if change.field == "stage":
        return _restage(run, change)
    after = change.params.get("after") or change.after
    pipeline_id = _pipeline_id(run, change, after["pipeline"])
    body = {"app": run.app, "pipeline": pipeline_id, "stage": after["stage"]}
    run.client.request("POST", "pipeline-couplings", body)


def _uncouple(run: AppRun, coupling_id: str) -> None:
    from herokustack.client import ApiError

    try:
        run.client.request("DELETE", _coupling_path(coupling_id))
    except ApiError as exc:
        # Already gone: its pipeline was deleted meanwhile (the same apply may delete it), or
        # a retried DELETE that had succeeded.
        if not exc.missing("pipeline_coupling"):
            raise


def _restage(run: AppRun, change: Change) -> None:
    path = _coupling_path(change.params["coupling"])
    run.client.request("PATCH", path, {"stage": change.after})


# --- the kind --------------------------------------------------------------------------------


def _text(coupling: Mapping[str, Any] | None) -> str:
    return f"{coupling['pipeline']} ({coupling['stage']})" if coupling else "none"


class Pipelines(Kind):
    name = "pipeline"
    resource = "pipeline"
    label = "pipeline"
    read_cost = (
        "1 request: GET /apps/{app}/pipeline-couplings, only for apps that declare `pipeline`; "
        "GET /pipelines/{name} once per run for each pipeline an app joins"
    )
    expected = {
        "app.pipeline": "a Heroku Pipeline name (3 to 30 lower-case letters, digits or dashes, "
        "starting with a letter), or false"
    }

    def declared(self, spec: StackFile) -> bool:
        return spec.app.pipeline is not None

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        return {self.name: read_coupling(client, app)}

    def plan(self, ctx: PlanContext) -> None:
        want, have = ctx.spec.app.pipeline, self.facts(ctx.live)
        if want is None:
            return
        stage = stage_of(ctx.spec)
        if want is False:
            if have:
                ctx.add("destroy", self.resource, have["pipeline"], before=have["stage"],
                        params={"coupling_id": have["id"]})  # fmt: skip
            return
        if have and have["pipeline"] == want:
            if have["stage"] != stage:
                ctx.add("update", self.resource, want, field="stage", before=have["stage"],
                        after=stage, params={"coupling": have["id"]})  # fmt: skip
            return
        self._join(ctx, want, stage, have)

    def _join(self, ctx: PlanContext, want: str, stage: str, have: Any) -> None:
        found = (ctx.live.extra.get(FOUND) or {}).get(want)
        note = None
        if found is False:
            owner = f"team {ctx.spec.app.team}" if ctx.spec.app.team else "the account"
            note = f"creates pipeline {want} (owner {owner})"
        params: dict[str, Any] = {"team": ctx.spec.app.team}
        after = {"pipeline": want, "stage": stage}
        if have:
            params["coupling_id"] = have["id"]
            ctx.add("update", self.resource, want, field="pipeline", before=_text(have),
                    after=_text(after), note=note, params={**params, "after": after})  # fmt: skip
            return
        ctx.add("create", self.resource, want, after=after, note=note, params=params)

    def steps(self) -> list[Step]:
        return [Step(15, "pipeline coupling", _couple)]  # after create, transfer and lock

    def what(self, change: Change) -> str:
        return f"pipeline {change.name}"

    def body(self, change: Change) -> str:
        if change.action == "create":
            return f": stage {change.after['stage']}"
        if change.action == "destroy":
            return f": the app leaves stage {change.before}"
        return f" {change.field}: {change.before} → {change.after}"

    # -- drift --------------------------------------------------------------------------------

    def drift_item(self, change: Change, ctx: DriftContext) -> dict[str, Any] | None:
        if change.action == "create":
            return {"kind": "missing", "declared": f"stage {change.after['stage']}"}
        if change.action == "destroy":
            return {"kind": "changed", "field": "stage", "live": change.before,
                    "declared": "not in a pipeline"}  # fmt: skip
        return {"kind": "changed", "live": change.before, "declared": change.after}

    def drift_extra(self, ctx: DriftContext, items: list[Any]) -> list[dict[str, Any]]:
        have = self.facts(ctx.live)
        if self.declared(ctx.stack.spec) or not have:
            return []
        return [{"kind": "undeclared", "name": have["pipeline"], "field": "stage",
                 "live": have["stage"], "note": "apply leaves it"}]  # fmt: skip

    def drift_what(self, resource_name: str, field: str | None) -> str:
        return f"pipeline {resource_name}" + (f" {field}" if field else "")

    # -- import -------------------------------------------------------------------------------

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        have = self.facts(builder.live)
        if not have:
            return
        if have["stage"] not in STAGE_ORDER:
            builder.note("app", f"pipeline: coupled into {have['pipeline']} at stage "
                         f"{have['stage']}, which no environment is: not declared")  # fmt: skip
            return
        doc["app"]["pipeline"] = have["pipeline"]
        if builder.options.environment in (None, have["stage"]):
            doc["app"]["environment"] = have["stage"]  # the stage is the environment
        else:
            builder.note("app", f"pipeline: coupled at stage {have['stage']}; with "
                         f"--environment {builder.options.environment}, plan moves it")  # fmt: skip

    # -- saved plans ------------------------------------------------------------------------

    def parts(self, live: LiveState) -> dict[str, Any]:
        if self.name not in live.extra:
            return {}
        have = self.facts(live)
        return {"pipeline": [have["pipeline"], have["stage"]] if have else None}

    def touched_parts(self, change: Change) -> list[str]:
        return ["pipeline"]

    def part_label(self, name: str) -> str:
        return "the app's pipeline coupling"


KIND = Pipelines()
