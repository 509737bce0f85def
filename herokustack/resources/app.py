"""The Heroku app itself: the `[app]` table (name, environment, region, stack).

Reading it is one request (GET /apps/{app}); when Heroku answers that there is no such app,
nothing else is read and every declared thing is planned as created. An app cannot move region
(refused); a new stack takes effect at the next deploy. A new app whose file names a `team` is
created in it (`POST /teams/apps`, locked as declared); an existing app's owner and lock are
the `team` kind's (herokustack/resources/team.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import Field

from herokustack.resources import access, acm, certs, config_vars, maintenance, pipelines
from herokustack.resources import team as team_kinds
from herokustack.resources.base import (
    NEXT_DEPLOY,
    Change,
    ImportProblem,
    Kind,
    PlanContext,
    Step,
    Strict,
)

if TYPE_CHECKING:
    from herokustack.applier import AppRun
    from herokustack.client import HerokuClient
    from herokustack.facts import LiveState
    from herokustack.importer import Builder
    from herokustack.stackfile import Stack, StackFile

Environment = Literal["production", "staging", "review", "development"]
Region = Literal["us", "eu"]

# Heroku stacks and their state as `GET /stacks` reports it ("retired" ones refuse new apps).
# Validation only checks the form `heroku-NN`; judging the state is the job of `check` (HS003).
STACKS: dict[str, str] = {"heroku-20": "retired", "heroku-22": "public", "heroku-24": "public"}
CURRENT_STACK = "heroku-24"

APP_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$"  # Heroku's schema: apply would get a 422
STACK_PATTERN = r"^heroku-[0-9]{2}$"
TEAM_NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,29}")  # safe as one URL path segment


class AppSpec(Strict):
    """The Heroku app itself."""

    name: str = Field(pattern=APP_NAME_PATTERN, description="Heroku app name.")
    environment: Environment = Field(description="Which environment this app is.")
    region: Region = Field(default="us", description="Heroku region; cannot change later.")
    stack: str = Field(
        default=CURRENT_STACK,
        pattern=STACK_PATTERN,
        description="Heroku stack (build image), e.g. heroku-24.",
    )
    team: str | None = team_kinds.TEAM_FIELD
    locked: bool | None = team_kinds.LOCKED_FIELD
    maintenance: bool = maintenance.FIELD
    acm: bool | None = acm.FIELD
    prune_config: bool = config_vars.PRUNE_FIELD
    prune_access: bool = access.PRUNE_FIELD
    prune_certificates: bool = certs.PRUNE_FIELD
    pipeline: pipelines.PipelineValue | None = pipelines.PIPELINE_FIELD


def guess_environment(app_name: str) -> str:
    """staging / review / development when the name says so, else production."""
    words = set(re.split(r"[-_]", app_name))
    if words & {"staging", "stage", "stg"}:
        return "staging"
    if words & {"review", "pr"}:
        return "review"
    if words & {"dev", "development", "sandbox"}:
        return "development"
    return "production"


def _create(run: AppRun, changes: list[Change]) -> None:
    after = changes[0].after
    team_name, locked = after.get("team"), bool(after.get("locked"))
    run.client.create_app(run.app, after["region"], after["stack"], team_name, locked)
    if run.opts.after_create:
        run.opts.after_create(run.app)


def _update(run: AppRun, changes: list[Change]) -> None:
    fields = {c.field: c.after for c in changes if c.field}
    run.client.update_app(run.app, **fields)


class App(Kind):
    name = "app"
    resource = "app"
    label = "app"
    read_cost = "1 request: GET /apps/{app} (a missing app costs only this one)"
    always_read = True
    section = "app"
    section_model = AppSpec
    expected = {
        "app.name": "a Heroku app name: 3 to 30 lower-case letters, digits or dashes, "
        "starting with a letter and not ending with a dash",
        "app.environment": 'one of "production", "staging", "review", "development"',
        "app.region": 'one of "us", "eu"',
        "app.stack": 'a Heroku stack name like "heroku-24"',
    }
    models_at = {"app": AppSpec}
    choices = {"app.environment": get_args(Environment), "app.region": get_args(Region)}

    def read(self, client: HerokuClient, app: str, facts: Mapping[str, Any]) -> dict[str, Any]:
        return {"app": client.app_info(app)}

    def read_many(
        self, client: HerokuClient, apps: Sequence[str], hints: Mapping[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """`GET /apps` (then `GET /teams/{team}/apps` for team apps not in it), 1000 apps a
        page, while fewer pages are left (about) than apps not found; an app in no list is
        read alone (`GET /apps/{app}`: it may be missing, or in a list not read)."""
        found = client.apps_listed("apps", apps, lambda pages: True) if len(apps) > 1 else {}
        by_team: dict[str, list[str]] = {}
        for name in apps:
            if name not in found and hints.get(name):
                by_team.setdefault(str(hints[name]), []).append(name)
        for team_name, names in by_team.items():
            if len(names) > 1 and TEAM_NAME_RE.fullmatch(team_name):
                found |= client.apps_listed(f"teams/{team_name}/apps", names, lambda pages: True)
        return {name: {"app": info} for name, info in found.items()}

    def estimate_many(self, specs: Sequence[StackFile]) -> int | None:
        return None if len(specs) < 2 else -(-len(specs) // 1000)

    def plan(self, ctx: PlanContext) -> None:
        app, live = ctx.spec.app, ctx.live.app
        if live is None:
            after: dict[str, Any] = {"region": app.region, "stack": app.stack}
            if app.team is not None:  # created in the team: POST /teams/apps
                after.update(team=app.team, locked=bool(app.locked))
            ctx.add("create", self.resource, ctx.name, after=after)
            return
        if live.region != app.region:
            note = (
                f"an app cannot move region: create a new app in {app.region!r} and move to it "
                f"(this one stays in {live.region!r})"
            )
            ctx.add("refused", self.resource, ctx.name, field="region", before=live.region,
                    after=app.region, note=note)  # fmt: skip
        if live.build_stack != app.stack:
            ctx.add("update", self.resource, ctx.name, field="build_stack",
                    before=live.build_stack, after=app.stack, note=NEXT_DEPLOY)  # fmt: skip

    def steps(self) -> list[Step]:
        return [
            Step(10, "create app", _create, lambda c: c.action == "create"),
            Step(30, "update app", _update, lambda c: c.action == "update"),
        ]

    def body(self, change: Change) -> str:
        if change.action == "create":
            after = change.after
            text = f": region {after['region']}, stack {after['stack']}"
            if after.get("team"):
                text += f", team {after['team']}" + (", locked" if after.get("locked") else "")
            return text
        return super().body(change)

    def absent_app_drift(self, stack: Stack) -> list[dict[str, Any]]:
        return [{"kind": "missing", "name": stack.name, "note": "the app does not exist on Heroku"}]

    def import_into(self, builder: Builder, doc: dict[str, Any]) -> None:
        info, name = builder.live.app, builder.live.name
        assert info is not None
        if info.region not in get_args(Region):
            raise ImportProblem(
                f"app {name}: region {info.region!r} (a Private Space?) cannot be declared: "
                "stack files support the us and eu regions"
            )
        if not re.fullmatch(STACK_PATTERN, info.build_stack):
            raise ImportProblem(
                f"app {name}: stack {info.build_stack!r} cannot be declared: stack files "
                "support the heroku-NN stacks"
            )
        base_app = builder.base.get("app") or {}
        environment = builder.options.environment or base_app.get("environment")
        if environment is None:
            environment = guess_environment(name)
            builder.note("app", "environment: guessed from the app name (see --environment)")
        doc["app"] = {
            "name": name,
            "environment": environment,
            "region": info.region,
            "stack": info.build_stack,
        }

    def parts(self, live: LiveState) -> dict[str, Any]:
        info = live.app
        return {"app": [info.region, info.stack, info.build_stack]} if info else {}

    def touched_parts(self, change: Change) -> list[str]:
        return ["app"]

    def part_label(self, name: str) -> str:
        return "the app (region, stack)"


KIND = App()
